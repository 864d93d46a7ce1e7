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
The completion-backend protocol, its result type and the helpers every backend shares.

Every backend (the network engine in ``inference.py``, the classical one in
``classical.py``) implements :class:`Backend` and uses the helpers here, so that validity,
keeping measurements and the ``filled`` mask mean the same thing whichever backend
produced a frame. Backends see depth already limited to the user's range (holes are 0) and
return every finite positive prediction: the depth range has one owner, the frame path
(``frame_decoding``), which applies it to the input and to the output.
"""

import contextlib
from dataclasses import dataclass, field
import time
from typing import Dict, Iterator, Optional, Protocol, runtime_checkable, Tuple

from lingbot_depth_ros.geometry import DepthRange
import numpy as np

# Finite and > 0: what a backend treats as a measurement (the user's range is applied before).
MEASURED = DepthRange()


@dataclass
class CompletionResult:
    """
    Output of one completion call.

    :ivar depth: float32 HxW metres, NaN where the backend gives no output.
    :ivar filled: bool HxW, pixels without a valid input measurement that now have a
        finite depth.
    :ivar valid_input: bool HxW, pixels whose input depth was a valid measurement.
    :ivar timings: seconds per stage, e.g. ``{'fill': 0.004, 'total': 0.006}``.
    :ivar confidence: float32 HxW mask-head probability in [0, 1] that the depth is valid,
        or None (backends without a mask head, the classical one).
    """

    depth: np.ndarray
    filled: np.ndarray
    valid_input: np.ndarray
    timings: Dict[str, float] = field(default_factory=dict)
    confidence: Optional[np.ndarray] = None


class OutOfMemory(RuntimeError):
    """The backend's device ran out of memory on this frame; its caches are already freed."""


@runtime_checkable
class Backend(Protocol):
    """What the node and the offline tools need of a completion backend."""

    #: Shown in logs and diagnostics, e.g. ``'classical'`` or ``'network:model.pt'``.
    name: str
    #: Where it computes, e.g. ``'cpu'`` or ``'cuda:0'``.
    device: str

    def complete(self, rgb: np.ndarray, depth: Optional[np.ndarray],
                 K: np.ndarray) -> CompletionResult:
        """
        Complete one frame.

        :param rgb: uint8 HxWx3 RGB.
        :param depth: float32 HxW metres, 0 / NaN where there is no measurement, or None
            (monocular: no depth at all).
        :param K: 3x3 pixel intrinsics of the colour camera.
        :return: the CompletionResult at the colour size.
        :raises OutOfMemory: when the device ran out of memory (the frame is lost, the
            backend stays usable).
        """

    def release_memory(self) -> None:
        """Free cached buffers (after an out-of-memory error or before idling)."""

    def status(self) -> Dict[str, str]:
        """Return key/values for the diagnostics, e.g. GPU memory in use."""


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


def measured(depth: Optional[np.ndarray], shape: Tuple[int, int]) -> np.ndarray:
    """
    Return the pixels of a backend's input that hold a measurement.

    :param depth: float HxW metres, or None (then nothing is measured).
    :param shape: (H, W) of the frame.
    :return: bool HxW.
    """
    if depth is None:
        return np.zeros(shape, dtype=bool)
    return MEASURED.valid(depth)


def finalize_depth(prediction: np.ndarray, depth: Optional[np.ndarray], valid_input: np.ndarray,
                   keep_valid_input: bool) -> Tuple[np.ndarray, np.ndarray]:
    """
    Apply the common output rules of every backend.

    Valid input measurements replace the prediction when ``keep_valid_input``; then every
    value that is not finite or not positive becomes NaN.

    :param prediction: float HxW predicted depth in metres (not modified).
    :param depth: float HxW input depth in metres, or None.
    :param valid_input: bool HxW, the usable input measurements.
    :param keep_valid_input: copy valid input measurements into the output.
    :return: ``(depth float32 HxW with NaN holes, filled bool HxW)``.
    """
    out = np.array(prediction, dtype=np.float32, copy=True)
    if out.shape != valid_input.shape:
        raise ValueError(f'prediction: expected shape {valid_input.shape}, got {out.shape}')
    if keep_valid_input and depth is not None:
        np.copyto(out, depth, where=valid_input)
    good = MEASURED.valid(out)
    out[~good] = np.nan
    return out, ~valid_input & good


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
