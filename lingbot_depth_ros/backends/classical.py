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
Classical CPU depth completion: colour-guided, edge-aware hole filling (no weights, no torch).

Each hole pixel looks for the nearest valid measurement in its row to the left and right and
in its column above and below (four running maxima / minima of the valid pixel indices, so
the search is a handful of whole-image numpy passes whatever the hole size), plus the
nearest one in any direction (OpenCV's labelled distance transform). The five candidates
are blended with weights

* ``1 / distance``: across a hole in a plane the row / column pairs interpolate linearly
  between the hole's borders instead of copying the closest one;
* colour similarity between the hole pixel and the candidate (a joint-bilateral range
  term on the median-filtered RGB image): a shadow band beside a depth edge has the
  colour of the background it lies on, so it takes the background's depth, not the
  foreground's;
* a support prior (``vertical_bias``): the surface below a hole (the floor or table an
  object stands on) is a better guess than the one above it.

A second pass fills the rare pixels whose row and column held no measurement at all, so
every pixel is filled whenever the frame has one valid measurement; every fill is a convex
blend of valid measurements, so it stays inside the input's depth range. With
``keep_valid_input=False`` the result is also smoothed by OpenCV's bilateral filter.
"""

import time
from typing import Dict, Optional, Tuple

import cv2
from lingbot_depth_ros.backends.base import (check_inputs, CompletionResult, finalize_depth,
                                             measured, stage_timer)
import numpy as np
from scipy import ndimage

# Keeps a candidate whose colour matches badly from vanishing entirely, so a hole pixel
# unlike all its candidates still gets the plain spatial blend.
COLOR_FLOOR = 3e-3

# Weight of the nearest valid pixel (any direction) beside the four row / column ones.
NEAREST_WEIGHT = 2.0

# (axis, search backwards?) of the left, right, upper and lower candidates.
_DIRECTIONS = ((1, True), (1, False), (0, True), (0, False))


def directional_nearest(valid: np.ndarray, axis: int, backwards: bool) -> np.ndarray:
    """
    Return, per pixel, the index of the nearest valid pixel in one direction.

    :param valid: bool (H, W), at most 32767 pixels along ``axis``.
    :param axis: 1 searches along rows (column indices returned), 0 along columns.
    :param backwards: search towards lower indices (left / up) instead of higher ones.
    :return: int16 (H, W) indices along ``axis``; -1 (backwards) or the axis length
        (forwards) where there is none. A valid pixel returns its own index.
    """
    if axis not in (0, 1):
        raise ValueError(f'axis: expected 0 or 1, got {axis}')
    length = valid.shape[axis]
    if length > np.iinfo(np.int16).max:
        raise ValueError(f'valid: expected at most 32767 pixels along axis {axis}, '
                         f'got {length}')
    shape = (1, length) if axis == 1 else (length, 1)
    position = np.arange(length, dtype=np.int16).reshape(shape)
    if backwards:
        return np.maximum.accumulate(np.where(valid, position, np.int16(-1)), axis=axis)
    flip = (slice(None), slice(None, None, -1)) if axis == 1 else (slice(None, None, -1),)
    marked = np.where(valid, position, np.int16(length))[flip]
    return np.minimum.accumulate(marked, axis=axis)[flip]


def nearest_valid_index(valid: np.ndarray,
                        pixels: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
    """
    Return the flat index of (about) the nearest valid pixel and its distance.

    OpenCV's labelled distance transform (5x5 mask, within a pixel of Euclidean) labels
    the valid pixels 1, 2, ... in raster order, so label k is the k-th valid pixel.

    :param valid: bool (H, W) with at least one True.
    :param pixels: flat indices of the pixels asked about (None: all, in raster order).
    :return: ``(index int64 (N,), distance float32 (N,))``; a valid pixel points at itself
        with distance 0.
    """
    distance, labels = cv2.distanceTransformWithLabels(
        (~valid).view(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
    labels, distance = labels.reshape(-1), distance.reshape(-1)
    if pixels is not None:
        labels, distance = np.take(labels, pixels), np.take(distance, pixels)
    valid_index = np.flatnonzero(valid.reshape(-1))
    return np.take(valid_index, labels - 1), distance


def _color_similarity(planes, hole_color, source: np.ndarray,
                      inv_two_var: np.float32) -> np.ndarray:
    """Return exp(-|colour(hole) - colour(source)|^2 / 2 sigma^2) per hole (N,)."""
    distance2 = np.zeros(source.size, dtype=np.float32)
    for plane, color in zip(planes, hole_color):
        diff = np.take(plane, source).astype(np.float32) - color
        distance2 += diff * diff
    return np.exp(distance2 * inv_two_var)


def _fill_pass(depth: np.ndarray, valid: np.ndarray, planes, color_sigma: float,
               vertical_bias: float) -> np.ndarray:
    """Fill the holes from their candidates in place; return the updated valid mask."""
    height, width = depth.shape
    holes = np.flatnonzero(~valid)
    rows, cols = np.divmod(holes, width)
    flat_depth = depth.reshape(-1)
    # One flat uint8 plane per colour channel, so every colour gather is a 1-D take.
    planes = [plane.reshape(-1) for plane in planes]
    hole_color = [np.take(plane, holes).astype(np.float32) for plane in planes]
    sigma = 255.0 * color_sigma  # colour_sigma is on [0, 1] colour, planes on [0, 255]
    inv_two_var = np.float32(-0.5 / (sigma * sigma))
    weight_sum = np.zeros(holes.size, dtype=np.float32)
    depth_sum = np.zeros(holes.size, dtype=np.float32)
    bias = {(1, True): 1.0, (1, False): 1.0, (0, True): 1.0 / vertical_bias,
            (0, False): vertical_bias}
    for axis, backwards in _DIRECTIONS:
        index = np.take(directional_nearest(valid, axis, backwards), holes).astype(np.int64)
        length = width if axis == 1 else height
        found = (index >= 0) & (index < length)
        index = np.clip(index, 0, length - 1)
        if axis == 1:
            source, distance = rows * width + index, np.abs(index - cols)
        else:
            source, distance = index * width + cols, np.abs(index - rows)
        similarity = _color_similarity(planes, hole_color, source, inv_two_var)
        similarity += np.float32(COLOR_FLOOR)
        # A candidate that was not found gets weight 0 through a zero numerator.
        numerator = np.where(found, np.float32(bias[axis, backwards]), np.float32(0.0))
        weight = similarity * (numerator / np.maximum(distance, 1).astype(np.float32))
        weight_sum += weight
        depth_sum += weight * np.take(flat_depth, source)
    # Fifth candidate: the nearest valid pixel in any direction, for holes whose row and
    # column run far before meeting a measurement (large or irregular holes). It counts
    # only as far as its colour matches (no floor): the four above guarantee a fill.
    source, distance = nearest_valid_index(valid, holes)
    weight = _color_similarity(planes, hole_color, source, inv_two_var)
    weight *= np.float32(NEAREST_WEIGHT) / np.maximum(distance, 1.0)
    weight_sum += weight
    depth_sum += weight * np.take(flat_depth, source)
    reached = weight_sum > 0.0
    filled_at = holes[reached]
    flat_depth[filled_at] = depth_sum[reached] / weight_sum[reached]
    new_valid = valid.copy()
    new_valid.reshape(-1)[filled_at] = True
    return new_valid


def guided_fill(depth: np.ndarray, valid: np.ndarray, rgb: np.ndarray,
                color_sigma: float = 0.05, vertical_bias: float = 3.0,
                guide_median: int = 3) -> np.ndarray:
    """
    Fill every invalid pixel from the valid ones, guided by the colour image.

    :param depth: float (H, W) depth; values under ``~valid`` are ignored.
    :param valid: bool (H, W) usable measurements.
    :param rgb: uint8 (H, W, 3) colour image aligned with the depth.
    :param color_sigma: colour distance scale on [0, 1] RGB (smaller trusts colour more).
    :param vertical_bias: weight of the candidate below over the one above (>= 1 favours
        supporting surfaces; 1 is neutral).
    :param guide_median: median filter size (odd, 1 = none) applied to the guide against
        image noise; a median keeps colour edges sharp, so a pixel beside an edge keeps
        its own colour.
    :return: float32 (H, W); all pixels finite when ``valid`` has any True, else NaN.
    """
    if color_sigma <= 0.0:
        raise ValueError(f'color_sigma: expected > 0, got {color_sigma}')
    if vertical_bias <= 0.0:
        raise ValueError(f'vertical_bias: expected > 0, got {vertical_bias}')
    if guide_median < 1 or guide_median % 2 == 0:
        raise ValueError(f'guide_median: expected an odd size >= 1, got {guide_median}')
    out = np.where(valid, depth, 0.0).astype(np.float32)
    if not valid.any():
        return np.full(depth.shape, np.nan, dtype=np.float32)
    if valid.all():
        return out
    if guide_median > 1:
        rgb = cv2.medianBlur(np.ascontiguousarray(rgb), guide_median)
    planes = cv2.split(np.ascontiguousarray(rgb))
    # Absurd float depths (near 3.4e38) overflow the weighted sums: those fills become
    # inf and then NaN in finalize_depth, quietly, instead of warning on every frame.
    with np.errstate(over='ignore', invalid='ignore'):
        reached = _fill_pass(out, valid, planes, color_sigma, vertical_bias)
        if not reached.all():
            # Rows and columns that had a measurement are full now: this pass reaches all.
            _fill_pass(out, reached, planes, color_sigma, vertical_bias)
    return out


def nearest_fill(depth: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """
    Fill every invalid pixel with the value of the nearest valid pixel (Euclidean).

    :param depth: float (H, W) depth.
    :param valid: bool (H, W) usable measurements.
    :return: float32 (H, W); NaN everywhere when nothing is valid.
    """
    if not valid.any():
        return np.full(depth.shape, np.nan, dtype=np.float32)
    rows, cols = ndimage.distance_transform_edt(~valid, return_distances=False,
                                                return_indices=True)
    return depth[rows, cols].astype(np.float32)


class CpuBackend:
    """What the CPU backends share of the Backend protocol: no device memory to manage."""

    device = 'cpu'

    def release_memory(self) -> None:
        """Do nothing: a CPU backend holds no device cache."""

    def status(self) -> Dict[str, str]:
        """Return no extra diagnostics."""
        return {}


class ClassicalBackend(CpuBackend):
    """Colour-guided hole filling on the CPU (the backend when no network is configured)."""

    name = 'classical'

    def __init__(self, keep_valid_input: bool = True, color_sigma: float = 0.05,
                 vertical_bias: float = 3.0, guide_median: int = 3,
                 denoise_sigma_m: float = 0.03):
        """
        Configure the filler.

        :param keep_valid_input: output the measured depth unchanged where it was valid;
            otherwise the whole result is smoothed by a bilateral filter.
        :param color_sigma: colour distance scale (see :func:`guided_fill`).
        :param vertical_bias: support prior (see :func:`guided_fill`).
        :param guide_median: guide median filter size (see :func:`guided_fill`).
        :param denoise_sigma_m: range sigma in metres of the bilateral smoothing used when
            ``keep_valid_input`` is False.
        """
        if color_sigma <= 0.0:
            raise ValueError(f'color_sigma: expected > 0, got {color_sigma}')
        if vertical_bias <= 0.0:
            raise ValueError(f'vertical_bias: expected > 0, got {vertical_bias}')
        if denoise_sigma_m <= 0.0:
            raise ValueError(f'denoise_sigma_m: expected > 0, got {denoise_sigma_m}')
        self.keep_valid_input = bool(keep_valid_input)
        self.color_sigma = float(color_sigma)
        self.vertical_bias = float(vertical_bias)
        if guide_median < 1 or guide_median % 2 == 0:
            raise ValueError(f'guide_median: expected an odd size >= 1, got {guide_median}')
        self.guide_median = int(guide_median)
        self.denoise_sigma_m = float(denoise_sigma_m)

    def complete(self, rgb: np.ndarray, depth, K: np.ndarray) -> CompletionResult:
        """
        Fill the holes of a depth image.

        :param rgb: uint8 HxWx3 colour image.
        :param depth: float32 HxW metres (0 / NaN / inf = no measurement) or None; without
            any measurement there is nothing to fill from and the output is all NaN.
        :param K: 3x3 pixel intrinsics (validated; the fill works in image space).
        :return: the CompletionResult.
        """
        start = time.perf_counter()
        timings = {}
        rgb, depth, K = check_inputs(rgb, depth, K)
        valid = measured(depth, rgb.shape[:2])
        with stage_timer(timings, 'fill'):
            if depth is None:
                prediction = np.full(rgb.shape[:2], np.nan, dtype=np.float32)
            else:
                prediction = guided_fill(depth, valid, rgb, self.color_sigma,
                                         self.vertical_bias, self.guide_median)
        if not self.keep_valid_input and valid.any():
            with stage_timer(timings, 'denoise'):
                prediction = cv2.bilateralFilter(prediction, 5, self.denoise_sigma_m, 2.0)
        if valid.any():
            # Blends of measurements lie between them up to float32 rounding; keep them
            # there, so a user's depth range never cuts a fill at its edge.
            measurements = depth[valid]
            np.clip(prediction, measurements.min(), measurements.max(), out=prediction)
        out, filled = finalize_depth(prediction, depth, valid, self.keep_valid_input)
        timings['total'] = time.perf_counter() - start
        return CompletionResult(depth=out, filled=filled, valid_input=valid, timings=timings)


class NearestFillBackend(CpuBackend):
    """Nearest-valid-pixel fill: the simplest baseline evaluations report."""

    name = 'nearest'

    def complete(self, rgb: np.ndarray, depth, K: np.ndarray) -> CompletionResult:
        """
        Fill each hole with its nearest valid measurement.

        :param rgb: uint8 HxWx3 colour image (only its size is used).
        :param depth: float32 HxW metres or None (then the output is all NaN).
        :param K: 3x3 pixel intrinsics (validated only).
        :return: the CompletionResult.
        """
        start = time.perf_counter()
        rgb, depth, K = check_inputs(rgb, depth, K)
        valid = measured(depth, rgb.shape[:2])
        if depth is None:
            prediction = np.full(rgb.shape[:2], np.nan, dtype=np.float32)
        else:
            prediction = nearest_fill(depth, valid)
        out, filled = finalize_depth(prediction, depth, valid, True)
        return CompletionResult(depth=out, filled=filled, valid_input=valid,
                                timings={'total': time.perf_counter() - start})
