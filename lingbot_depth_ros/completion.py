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
Result type and shared helpers of the depth-completion backends (numpy only).

Every backend (the network engine in ``inference.py``, the classical one in
``classical.py``) implements ``complete(rgb, depth, K) -> CompletionResult`` and uses the
helpers here, so that validity, range clamping and the ``filled`` mask mean the same thing
whichever backend produced a frame.
"""

import contextlib
from dataclasses import dataclass, field
import math
import time
from typing import Dict, Iterator, Optional, Tuple

import numpy as np


@dataclass
class CompletionResult:
    """
    Output of one completion call.

    :ivar depth: float32 HxW metres, NaN where the backend gives no output.
    :ivar filled: bool HxW, pixels without a valid input measurement that now have a
        finite depth.
    :ivar valid_input: bool HxW, pixels whose input depth was a valid measurement.
    :ivar points: float32 HxWx3 camera-frame points (metres) or None when not computed.
    :ivar timings: seconds per stage, e.g. ``{'fill': 0.004, 'total': 0.006}``.
    """

    depth: np.ndarray
    filled: np.ndarray
    valid_input: np.ndarray
    points: Optional[np.ndarray] = None
    timings: Dict[str, float] = field(default_factory=dict)

    @property
    def coverage(self) -> float:
        """Return the fraction of pixels with a finite output depth."""
        if self.depth.size == 0:
            return 0.0
        return float(np.count_nonzero(np.isfinite(self.depth))) / self.depth.size


def check_range(min_depth: float, max_depth: float) -> Tuple[float, float]:
    """
    Validate a depth range.

    :param min_depth: smallest accepted depth in metres (>= 0).
    :param max_depth: largest accepted depth in metres (> min_depth, may be inf).
    :return: ``(min_depth, max_depth)`` as floats.
    :raises ValueError: when the range is negative, NaN or empty.
    """
    lo, hi = float(min_depth), float(max_depth)
    if math.isnan(lo) or lo < 0.0 or math.isinf(lo):
        raise ValueError(f'min_depth: expected a finite value >= 0, got {min_depth!r}')
    if math.isnan(hi) or hi <= lo:
        raise ValueError(f'max_depth: expected a value > min_depth ({lo}), got {max_depth!r}')
    return lo, hi


def check_inputs(rgb: np.ndarray, depth: Optional[np.ndarray],
                 K: np.ndarray) -> Tuple[np.ndarray, Optional[np.ndarray], np.ndarray]:
    """
    Validate the arguments of ``complete``.

    :param rgb: uint8 HxWx3 colour image.
    :param depth: float HxW depth in metres (same H, W) or None for none.
    :param K: 3x3 pixel intrinsics with positive finite focal lengths.
    :return: ``(rgb, depth as float32 or None, K as float64)``.
    :raises ValueError: naming the argument, the expected and the actual value.
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f'rgb: expected uint8 HxWx3, got {rgb.dtype} {rgb.shape}')
    if rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ValueError(f'rgb: expected a non-empty image, got shape {rgb.shape}')
    if depth is not None:
        depth = np.asarray(depth)
        if depth.shape != rgb.shape[:2]:
            raise ValueError(f'depth: expected shape {rgb.shape[:2]} (the rgb size), '
                             f'got {depth.shape}')
        if not np.issubdtype(depth.dtype, np.floating):
            raise ValueError(f'depth: expected float metres, got dtype {depth.dtype}')
        depth = depth.astype(np.float32, copy=False)
    K = np.asarray(K, dtype=np.float64)
    if K.shape != (3, 3):
        raise ValueError(f'K: expected a 3x3 matrix, got shape {K.shape}')
    if not np.all(np.isfinite(K)) or K[0, 0] <= 0 or K[1, 1] <= 0:
        raise ValueError(f'K: expected finite positive focal lengths, got fx={K[0, 0]}, '
                         f'fy={K[1, 1]}')
    return rgb, depth, K


def valid_depth_mask(depth: Optional[np.ndarray], shape: Optional[Tuple[int, int]] = None,
                     min_depth: float = 0.0, max_depth: float = math.inf) -> np.ndarray:
    """
    Return the pixels holding a usable depth measurement.

    A measurement is usable when it is finite, strictly positive and inside
    ``[min_depth, max_depth]``.

    :param depth: float HxW metres, or None (then nothing is valid).
    :param shape: (H, W) of the result when ``depth`` is None.
    :param min_depth: smallest usable depth in metres.
    :param max_depth: largest usable depth in metres.
    :return: bool HxW.
    """
    if depth is None:
        if shape is None:
            raise ValueError('shape: expected (H, W) when depth is None, got None')
        return np.zeros(shape, dtype=bool)
    with np.errstate(invalid='ignore'):
        valid = np.isfinite(depth) & (depth > 0.0)
        if min_depth > 0.0:
            valid &= depth >= min_depth
        if math.isfinite(max_depth):
            valid &= depth <= max_depth
    return valid


def finalize_depth(prediction: np.ndarray, depth: Optional[np.ndarray], valid_input: np.ndarray,
                   keep_valid_input: bool = False, min_depth: float = 0.0,
                   max_depth: float = math.inf) -> Tuple[np.ndarray, np.ndarray]:
    """
    Apply the common output rules of every backend.

    Valid input measurements replace the prediction when ``keep_valid_input``; then every
    value that is not finite, not positive or outside ``[min_depth, max_depth]`` becomes
    NaN.

    :param prediction: float HxW predicted depth in metres (not modified).
    :param depth: float HxW input depth in metres, or None.
    :param valid_input: bool HxW, the usable input measurements.
    :param keep_valid_input: copy valid input measurements into the output.
    :param min_depth: smallest output depth in metres.
    :param max_depth: largest output depth in metres.
    :return: ``(depth float32 HxW with NaN holes, filled bool HxW)``.
    """
    out = np.array(prediction, dtype=np.float32, copy=True)
    if out.shape != valid_input.shape:
        raise ValueError(f'prediction: expected shape {valid_input.shape}, got {out.shape}')
    if keep_valid_input and depth is not None:
        np.copyto(out, depth, where=valid_input)
    with np.errstate(invalid='ignore'):
        bad = ~np.isfinite(out) | (out <= 0.0)
        if min_depth > 0.0:
            bad |= out < min_depth
        if math.isfinite(max_depth):
            bad |= out > max_depth
    out[bad] = np.nan
    filled = ~valid_input & ~bad
    return out, filled


@contextlib.contextmanager
def stage_timer(timings: Dict[str, float], stage: str) -> Iterator[None]:
    """
    Add the wall time of the enclosed block to ``timings[stage]`` (seconds).

    :param timings: the dict to update.
    :param stage: the key, e.g. ``'preprocess'``.
    """
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - start
