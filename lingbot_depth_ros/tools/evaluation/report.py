# Copyright 2026 lingbot_depth_ros contributors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""Evaluation outputs: Markdown table, CSV and per-sample comparison images."""

import csv
import math
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import cv2
from lingbot_depth_ros.tools.evaluation.metrics import MEASURED, METRIC_TITLES, METRICS
import numpy as np

CSV_COLUMNS = ('protocol', 'level', 'sample', 'backend', 'region') + METRICS + (
    'pixels', 'time_ms')

# Frames wider than this are shown at half size in the comparison images.
PANEL_MAX_WIDTH = 320
# Rows of the colour bar under each panel: the colour ramp above, its range below.
BAR_HEIGHT = 28


def _format(metric: str, value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '—'
    if metric in ('delta_1_25', 'delta_1_05', 'coverage'):
        return f'{100.0 * value:.1f}%'
    if metric == 'time_ms':
        return f'{value:.1f}'
    return f'{value:.3f}'


def markdown_tables(rows: Sequence[Dict[str, object]]) -> str:
    """
    Return one Markdown table per protocol and level from the summary rows.

    :param rows: result rows (``CSV_COLUMNS`` keys) of sample ``'ALL'``.
    :return: the Markdown text.
    """
    groups: Dict[Tuple[str, str], List[Dict[str, object]]] = {}
    for row in rows:
        groups.setdefault((row['protocol'], row['level']), []).append(row)
    header = ('| backend | region | ' + ' | '.join(METRIC_TITLES[m] for m in METRICS)
              + ' | ms/frame |')
    rule = '|---|---|' + '---:|' * (len(METRICS) + 1)
    parts = []
    for (protocol, level), group in groups.items():
        title = protocol if not level else f'{protocol}, level {level}'
        parts += [f'### {title}', '', header, rule]
        for row in group:
            cells = [_format(m, row[m]) for m in METRICS] + [_format('time_ms', row['time_ms'])]
            parts.append(f'| {row["backend"]} | {row["region"]} | ' + ' | '.join(cells) + ' |')
        parts.append('')
    return '\n'.join(parts)


def write_csv(rows: Sequence[Dict[str, object]], path) -> None:
    """
    Write result rows as CSV (columns ``CSV_COLUMNS``; NaN as an empty cell).

    :param rows: result rows.
    :param path: output file.
    """
    with open(path, 'w', newline='') as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({key: '' if isinstance(row[key], float) and math.isnan(row[key])
                             else row[key] for key in CSV_COLUMNS})


def colorize(values: np.ndarray, low: float, high: float, colormap: int) -> np.ndarray:
    """
    Map values to colours (BGR uint8); NaN and values <= 0 (no depth) are black.

    :param values: float (H, W).
    :param low: value at the start of the colour map.
    :param high: value at its end (> low).
    :param colormap: an OpenCV colour map, e.g. ``cv2.COLORMAP_TURBO``.
    :return: uint8 (H, W, 3) BGR.
    """
    with np.errstate(invalid='ignore'):
        scaled = np.clip((values - low) / max(high - low, 1e-9), 0.0, 1.0)
        missing = ~np.isfinite(values)
    image = cv2.applyColorMap(np.nan_to_num(scaled * 255.0).astype(np.uint8), colormap)
    image[missing] = 0
    return image


def _label(image: np.ndarray, text: str) -> np.ndarray:
    # One white text on a dark box: an outline drawn as a second, thicker text lands offset
    # from the first under OpenCV 5's antialiased fonts and reads as doubled.
    (width, height), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
    cv2.rectangle(image, (2, 2), (10 + width, 10 + height + baseline), (0, 0, 0), cv2.FILLED)
    cv2.putText(image, text, (6, 6 + height), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255),
                1, cv2.LINE_AA)
    return image


def colour_bar(width: int, low: float, high: float, colormap: int,
               unit: str = 'm') -> np.ndarray:
    """
    Return a horizontal colour bar with its range written at both ends.

    :param width: pixels.
    :param low: value at the left end.
    :param high: value at the right end.
    :param colormap: the panel's OpenCV colour map.
    :param unit: unit written after the values.
    :return: uint8 (BAR_HEIGHT, width, 3) BGR.
    """
    ramp = np.tile(np.linspace(low, high, width, dtype=np.float64), (BAR_HEIGHT, 1))
    bar = colorize(ramp, low, high, colormap)
    bar[BAR_HEIGHT // 2:] = 0
    for text, right in ((f'{low:.2f} {unit}', False), (f'{high:.2f} {unit}', True)):
        (size, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.4, 1)
        x = width - size - 4 if right else 4
        cv2.putText(bar, text, (x, BAR_HEIGHT - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    (255, 255, 255), 1, cv2.LINE_AA)
    return bar


def comparison_image(rgb: np.ndarray, depth_in: np.ndarray, gt: np.ndarray,
                     predictions: Sequence[Tuple[str, np.ndarray]],
                     title: str = '', input_name: str = 'input') -> np.ndarray:
    """
    Build the comparison figure: one row per backend, rgb | input | prediction | |error|.

    Depth panels share one colour scale (ground truth 2nd-98th percentile); the error
    panels share one scale up to the 95th percentile of all errors (at least 5 cm). Each
    panel has a colour bar with its range in metres underneath.

    :param rgb: uint8 (H, W, 3) colour.
    :param depth_in: float (H, W) input depth (0 / NaN = hole).
    :param gt: float (H, W) ground truth (NaN = unknown).
    :param predictions: (backend name, float (H, W) depth) pairs.
    :param title: text on the first panel.
    :param input_name: name of the input depth panel (e.g. 'sensor').
    :return: uint8 BGR image.
    """
    known = gt[MEASURED.valid(gt)]
    low, high = (np.percentile(known, [2, 98]) if known.size else (0.0, 1.0))
    errors = [np.abs(p - gt) for _, p in predictions]
    finite = np.concatenate([e[np.isfinite(e)] for e in errors]) if errors else np.zeros(0)
    error_max = max(0.05, float(np.percentile(finite, 95))) if finite.size else 0.05
    shown_input = np.where(np.asarray(depth_in) > 0, depth_in, np.nan)
    bgr = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)
    scale = 0.5 if rgb.shape[1] > PANEL_MAX_WIDTH else 1.0

    def panel(image: np.ndarray, text: str, bar=None) -> np.ndarray:
        if scale != 1.0:
            # Nearest keeps hole borders and error speckles crisp.
            image = cv2.resize(image, None, fx=scale, fy=scale,
                               interpolation=cv2.INTER_NEAREST)
        width = image.shape[1]
        strip = (np.zeros((BAR_HEIGHT, width, 3), np.uint8) if bar is None
                 else colour_bar(width, *bar))
        return np.concatenate([_label(image, text), strip], axis=0)

    depth_bar = (low, high, cv2.COLORMAP_TURBO)
    rows = []
    for (name, prediction), error in zip(predictions, errors):
        panels = [panel(bgr.copy(), title or 'rgb'),
                  panel(colorize(shown_input, low, high, cv2.COLORMAP_TURBO), input_name,
                        depth_bar),
                  panel(colorize(prediction, low, high, cv2.COLORMAP_TURBO), name, depth_bar),
                  panel(colorize(error, 0.0, error_max, cv2.COLORMAP_INFERNO), '|error|',
                        (0.0, error_max, cv2.COLORMAP_INFERNO))]
        rows.append(np.concatenate(panels, axis=1))
    return np.concatenate(rows, axis=0) if rows else panel(bgr, title or 'rgb')


def write_image(image: np.ndarray, path) -> Path:
    """
    Write a BGR image as PNG, creating the folder.

    :param image: uint8 BGR.
    :param path: output file.
    :return: the path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), image):
        raise OSError(f'{path}: could not write the image')
    return path
