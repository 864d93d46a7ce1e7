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

"""
``lingbot-depth evaluate --protocol amodal``: the depth of objects' hidden parts.

On the amodal synthetic scenes (``synthetic.amodal``, seeds from ``--seed``: training
uses seeds from 100000), every predictor gets the colour image, the sensor depth and the
object's mono8 amodal mask (255 visible, 128 hidden), and is scored against the object's
depth without the occluders on the hidden part (and on the whole object). Predictors:

* ``nearest visible`` - each hidden pixel takes the reading of the nearest visible,
  measured pixel of the object;
* ``plane fit`` - a least-squares plane through the visible part's 3D points, each hidden
  pixel's ray intersected with it (the median visible depth where the fit is degenerate);
* plain completion backends (classical, ``--baseline-model``) with the hidden part removed
  from their input (``CompletionAsAmodal``);
* ``--model``: its amodal path when it has the guidance input, else as a plain completion.
"""

import csv
import time
from typing import Dict, List, Optional, Sequence

from lingbot_depth_ros.backends.amodal import (AmodalResult, CompletionAsAmodal, split_amodal_mask,
                                               supports_amodal)
from lingbot_depth_ros.backends.base import check_inputs, measured
from lingbot_depth_ros.geometry import pixel_rays
from lingbot_depth_ros.tools.evaluation.metrics import MetricSums
import numpy as np
from scipy import ndimage

MIN_PLANE_POINTS = 3


class _VisibleBaseline:
    """A baseline that extends the object's measured visible readings to its extent."""

    device = 'cpu'
    supports_amodal = True

    def complete_amodal(self, rgb: np.ndarray, depth: Optional[np.ndarray], K: np.ndarray,
                        amodal_mask: np.ndarray) -> AmodalResult:
        """
        Predict the object's depth from its visible readings alone.

        :param rgb: uint8 HxWx3 (only its size is used).
        :param depth: float32 HxW metres or None.
        :param K: 3x3 pixel intrinsics.
        :param amodal_mask: mono8 HxW amodal mask.
        :return: the AmodalResult (NaN everywhere when nothing visible is measured).
        """
        start = time.perf_counter()
        rgb, depth, K = check_inputs(rgb, depth, K)
        amodal, visible = split_amodal_mask(amodal_mask, rgb.shape[:2])
        seen = visible & measured(depth, rgb.shape[:2])
        out = np.full(amodal.shape, np.nan, dtype=np.float32)
        if seen.any():
            self.fill(out, depth, K, amodal, seen)
        return AmodalResult(out, amodal, amodal & ~visible,
                            {'total': time.perf_counter() - start})

    def fill(self, out: np.ndarray, depth: np.ndarray, K: np.ndarray, amodal: np.ndarray,
             seen: np.ndarray) -> None:
        """
        Write the object's depth into ``out`` (NaN elsewhere).

        :param out: float32 HxW, all NaN.
        :param depth: float32 HxW readings.
        :param K: 3x3 pixel intrinsics.
        :param amodal: bool HxW, the object's extent.
        :param seen: bool HxW, its visible pixels with a reading (at least one).
        """
        raise NotImplementedError


class NearestVisibleFill(_VisibleBaseline):
    """Baseline: the object's visible depth extended to its hidden part by nearest fill."""

    name = 'nearest visible'

    def fill(self, out, depth, K, amodal, seen) -> None:
        """Give each pixel of the extent the reading of its nearest measured visible pixel."""
        _, (rows, cols) = ndimage.distance_transform_edt(~seen, return_indices=True)
        out[amodal] = depth[rows[amodal], cols[amodal]]


def fit_plane(points: np.ndarray) -> Optional[np.ndarray]:
    """
    Fit a plane n . p = d to 3D points by least squares (total, through the centroid).

    :param points: (N, 3).
    :return: (nx, ny, nz, d) with a unit normal, or None for fewer than 3 points or
        (nearly) collinear ones.
    """
    if len(points) < MIN_PLANE_POINTS:
        return None
    centroid = points.mean(axis=0)
    _, singular, vt = np.linalg.svd(points - centroid, full_matrices=False)
    if singular[1] <= 1e-9 * max(singular[0], 1e-12):
        return None
    normal = vt[-1]
    return np.append(normal, normal @ centroid)


class PlaneFitVisible(_VisibleBaseline):
    """Baseline: a plane through the object's visible 3D points, extended to the hidden part."""

    name = 'plane fit'

    def fill(self, out, depth, K, amodal, seen) -> None:
        """
        Intersect each pixel ray of the extent with the visible part's plane.

        Rays parallel to the plane or meeting it behind the camera, and a degenerate fit,
        take the median visible reading instead; visible readings are kept.
        """
        rx, ry = pixel_rays(K, out.shape[1], out.shape[0])
        rays = np.stack([rx, ry, np.ones_like(rx)], axis=-1).astype(np.float64)  # H, W, 3
        z = depth[seen].astype(np.float64)
        plane = fit_plane(rays[seen] * z[:, None])
        values = np.full(int(amodal.sum()), float(np.median(z)))
        if plane is not None:
            # A ray p = z * (x, y, 1) meets n . p = d at z = d / (n . (x, y, 1)).
            denominator = rays[amodal] @ plane[:3]
            with np.errstate(divide='ignore', invalid='ignore'):
                on_plane = plane[3] / denominator
            good = np.isfinite(on_plane) & (on_plane > 0) & (np.abs(denominator) > 1e-6)
            values[good] = on_plane[good]
        out[amodal] = values
        out[seen] = depth[seen]


def as_amodal(backend):
    """
    Return a predictor for the amodal protocol.

    :param backend: a backend with ``complete_amodal`` or any plain completion backend.
    :return: the backend itself, or it wrapped in :class:`CompletionAsAmodal`.
    """
    return backend if supports_amodal(backend) else CompletionAsAmodal(backend)


def evaluate_amodal(frames, predictors: Sequence, log=None) -> List[Dict[str, object]]:
    """
    Run every predictor on every amodal frame; return one summary row per predictor.

    Baselines give nothing where no visible pixel of the object is measured; pooled over
    the pixels each one covers, their RMSE would skip the hardest objects. The ``common``
    figures are over the hidden pixels every predictor covers: the fair comparison.

    :param frames: iterable of :class:`..synthetic.amodal.AmodalFrame`.
    :param predictors: objects with ``name`` and ``complete_amodal``.
    :param log: callable taking a line (None: silent).
    :return: rows {'predictor', 'hidden_rmse', 'hidden_mae', 'hidden_absrel',
        'hidden_coverage', 'common_rmse', 'common_absrel', 'object_rmse', 'object_absrel',
        'ms_per_frame', 'frames'}.
    """
    names = [p.name for p in predictors]
    sums = {name: (MetricSums(), MetricSums(), MetricSums()) for name in names}
    times = dict.fromkeys(names, 0.0)
    count = 0
    for frame in frames:
        count += 1
        image = frame.frame
        mask = frame.mask_image()
        if log:
            log(f'evaluate: amodal scene {image.seed}, hidden share {frame.hidden_fraction:.2f}')
        depths = {}
        for predictor in predictors:
            start = time.perf_counter()
            result = predictor.complete_amodal(image.rgb, image.depth_sensor, image.K, mask)
            times[predictor.name] += time.perf_counter() - start
            depths[predictor.name] = result.depth
        common = frame.hidden.copy()
        for depth in depths.values():
            common &= np.isfinite(depth) & (depth > 0)
        for name, depth in depths.items():
            hidden_sums, common_sums, object_sums = sums[name]
            hidden_sums.add(depth, frame.target_depth, frame.hidden)
            common_sums.add(depth, frame.target_depth, common)
            object_sums.add(depth, frame.target_depth, frame.amodal)
    rows = []
    for name in names:
        hidden, common, whole = (s.result() for s in sums[name])
        rows.append({'predictor': name, 'hidden_rmse': hidden['rmse'],
                     'hidden_mae': hidden['mae'], 'hidden_absrel': hidden['absrel'],
                     'hidden_coverage': hidden['coverage'], 'common_rmse': common['rmse'],
                     'common_absrel': common['absrel'], 'object_rmse': whole['rmse'],
                     'object_absrel': whole['absrel'],
                     'ms_per_frame': 1000.0 * times[name] / max(count, 1), 'frames': count})
    return rows


def amodal_table(rows: Sequence[Dict[str, object]], model: Optional[str] = None,
                 baselines: Sequence[str] = ()) -> str:
    """
    Format the amodal rows as Markdown, with the model's change against the best baseline.

    :param rows: output of :func:`evaluate_amodal`.
    :param model: the name of the row compared with the baselines (None: no comparison).
    :param baselines: names of the baseline rows.
    :return: the table and, with a model, one line comparing it with the best baseline.
    """
    lines = ['## Amodal depth: the hidden part of objects', '',
             'RMSE / AbsRel over the hidden pixels each predictor covers, and ("common") over '
             'those every predictor covers; object: the whole amodal extent.', '',
             '| predictor | hidden RMSE [m] | hidden AbsRel | hidden MAE [m] | hidden coverage '
             '| common RMSE [m] | common AbsRel | object RMSE [m] | ms / frame |',
             '|---|---:|---:|---:|---:|---:|---:|---:|---:|']
    for row in rows:
        lines.append(f"| {row['predictor']} | {row['hidden_rmse']:.4f} | "
                     f"{row['hidden_absrel']:.4f} | {row['hidden_mae']:.4f} | "
                     f"{row['hidden_coverage']:.3f} | {row['common_rmse']:.4f} | "
                     f"{row['common_absrel']:.4f} | {row['object_rmse']:.4f} | "
                     f"{row['ms_per_frame']:.1f} |")
    by_name = {row['predictor']: row for row in rows}
    scored = [by_name[name] for name in baselines if name in by_name
              and np.isfinite(by_name[name]['common_rmse'])]
    if model in by_name and scored:
        best = min(scored, key=lambda row: row['common_rmse'])
        change = by_name[model]['common_rmse'] / best['common_rmse'] - 1.0
        lines += ['', f"Best baseline: {best['predictor']} ({best['common_rmse']:.4f} m on "
                  f"the common hidden pixels); {model}: {by_name[model]['common_rmse']:.4f} m, "
                  f'{100 * change:+.1f}% hidden-part RMSE.']
    return '\n'.join(lines) + '\n'


def run_amodal_protocol(network, baseline, seed: int, count: int, width: int, height: int,
                        output, log=None) -> str:
    """
    Evaluate the amodal protocol and write ``results.md`` / ``results.csv`` in ``output``.

    :param network: BackendSettings of ``--model`` or None.
    :param baseline: BackendSettings of ``--baseline-model`` or None.
    :param seed: first amodal scene.
    :param count: number of scenes.
    :param width: image width.
    :param height: image height.
    :param output: output folder (created).
    :param log: callable taking a line.
    :return: the Markdown written.
    """
    from pathlib import Path

    from lingbot_depth_ros.backends.classical import ClassicalBackend
    from lingbot_depth_ros.backends.factory import create_backend
    from lingbot_depth_ros.tools.synthetic.amodal import render_amodal

    predictors = [NearestVisibleFill(), PlaneFitVisible(), as_amodal(ClassicalBackend())]
    if baseline is not None:
        predictors.append(as_amodal(create_backend(baseline)))
    model = None
    if network is not None:
        predictors.append(as_amodal(create_backend(network)))
        model = predictors[-1].name
    baselines = [p.name for p in predictors if p.name != model]
    frames = (render_amodal(s, width, height) for s in range(seed, seed + count))
    rows = evaluate_amodal(frames, predictors, log)
    table = amodal_table(rows, model, baselines)
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    header = (f'# Amodal depth evaluation\n\nData: {count} amodal synthetic scenes (seeds from '
              f"{seed}, {width}x{height}); metrics against the object's depth without its "
              'occluders, on its hidden part and on the whole object.\n\n')
    (output / 'results.md').write_text(header + table)
    with open(output / 'results.csv', 'w', newline='') as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return table
