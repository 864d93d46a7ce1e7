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
Amodal completion: the depth of an object's hidden part, given its amodal mask.

An amodal mask is a mono8 image at the colour size: 0 outside the object's full extent
(including what occluders hide), ``VISIBLE`` (255) where the camera sees the object and
any other non-zero value (e.g. ``HIDDEN``, 128) where the object is hidden. A binary mask
(only 0 and 255) says nothing about visibility: every pixel of it counts as visible, so
the observed depth of an occluder inside it is given to the network as the object's.

Backends that can run the amodal network say so with ``supports_amodal``; the others can
still be compared through :class:`CompletionAsAmodal`, which treats the hidden part as
holes of the input and asks the plain completion for them.
"""

from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

from lingbot_depth_ros.backends.base import check_inputs, MEASURED, measured
import numpy as np

VISIBLE = 255  # mask value: the object, seen by the camera
HIDDEN = 128  # mask value used for the object's hidden part (any of 1..254 means hidden)


@dataclass
class AmodalResult:
    """
    Output of one amodal completion call.

    :ivar depth: float32 HxW metres of the object's surface (hidden part included), NaN
        outside the amodal mask.
    :ivar amodal: bool HxW, the object's full extent.
    :ivar hidden: bool HxW, the part of it the mask marks as hidden.
    :ivar timings: seconds per stage.
    :ivar scale: factor applied to the network's object depth to match the visible part's
        readings (see :func:`align_to_visible`; 1.0 when nothing was aligned).
    """

    depth: np.ndarray
    amodal: np.ndarray
    hidden: np.ndarray
    timings: Dict[str, float] = field(default_factory=dict)
    scale: float = 1.0


def split_amodal_mask(mask: np.ndarray, shape: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray]:
    """
    Split a mono8 amodal mask into the object's extent and its visible part.

    :param mask: uint8 (H, W) as described in the module docstring (bool is accepted: all
        of it visible).
    :param shape: (H, W) of the colour image it belongs to.
    :return: (amodal bool HxW, visible bool HxW).
    :raises ValueError: for another shape or dtype.
    """
    mask = np.asarray(mask)
    if mask.shape != tuple(shape):
        raise ValueError(f'amodal_mask: expected shape {tuple(shape)} (the rgb size), '
                         f'got {mask.shape}')
    if mask.dtype == np.bool_:
        return mask.copy(), mask.copy()
    if mask.dtype != np.uint8:
        raise ValueError(f'amodal_mask: expected uint8 (mono8) or bool, got {mask.dtype}')
    amodal = mask > 0
    return amodal, mask == VISIBLE


def encode_amodal_mask(amodal: np.ndarray, visible: Optional[np.ndarray] = None) -> np.ndarray:
    """
    Return the mono8 mask of an object's extent and visible part (the inverse of split).

    :param amodal: bool HxW, the full extent.
    :param visible: bool HxW, the visible part (None: all of it visible).
    :return: uint8 HxW with 0, HIDDEN and VISIBLE.
    """
    amodal = np.asarray(amodal, dtype=bool)
    visible = amodal if visible is None else np.asarray(visible, dtype=bool) & amodal
    out = np.where(amodal, HIDDEN, 0).astype(np.uint8)
    out[visible] = VISIBLE
    return out


def visible_depth(depth: Optional[np.ndarray], visible: np.ndarray) -> np.ndarray:
    """
    Return the observed depth of the object's visible part, 0 elsewhere.

    :param depth: float32 HxW metres (0 / NaN holes), or None.
    :param visible: bool HxW.
    :return: float32 HxW.
    """
    out = np.zeros(visible.shape, dtype=np.float32)
    if depth is not None:
        keep = visible & measured(depth, visible.shape)
        out[keep] = depth[keep]
    return out


def align_to_visible(predicted: np.ndarray, depth: Optional[np.ndarray],
                     visible: np.ndarray) -> float:
    """
    Return the scale that makes a prediction agree with the object's visible readings.

    The median of reading / prediction over the visible, measured pixels: robust to the
    few pixels a mask puts on the background. Amodal Depth Anything aligns its relative
    depth to the observed depth the same way; a metric network still errs by a few percent
    of scale on one object, and the readings of its visible part are the best evidence of
    where it is.

    :param predicted: float HxW network depth in metres.
    :param depth: float HxW readings (0 / NaN none), or None.
    :param visible: bool HxW, the object's visible part.
    :return: the scale (1.0 when no visible pixel has both a reading and a prediction).
    """
    if depth is None:
        return 1.0
    both = visible & measured(depth, visible.shape) & MEASURED.valid(predicted)
    if not both.any():
        return 1.0
    return float(np.median(depth[both] / predicted[both]))


def supports_amodal(backend) -> bool:
    """
    Tell whether a backend runs the amodal network (``complete_amodal``).

    :param backend: any Backend.
    :return: True when it has an amodal guidance input.
    """
    return bool(getattr(backend, 'supports_amodal', False))


class CompletionAsAmodal:
    """
    A plain completion backend used for amodal depth: the hidden part becomes holes.

    What a completion model without guidance can do: it fills the hidden part from the
    colour (which shows the occluder) and the depth around it.
    """

    supports_amodal = True

    def __init__(self, backend):
        """:param backend: any Backend."""
        self.backend = backend
        self.name = f'{backend.name} (no guidance)'
        self.device = backend.device

    def complete_amodal(self, rgb: np.ndarray, depth: Optional[np.ndarray], K: np.ndarray,
                        amodal_mask: np.ndarray) -> AmodalResult:
        """
        Complete the frame with the mask's hidden part removed from the input.

        :param rgb: uint8 HxWx3.
        :param depth: float32 HxW metres or None.
        :param K: 3x3 pixel intrinsics.
        :param amodal_mask: mono8 HxW (see the module docstring).
        :return: the AmodalResult.
        """
        rgb, depth, K = check_inputs(rgb, depth, K)
        amodal, visible = split_amodal_mask(amodal_mask, rgb.shape[:2])
        hidden = amodal & ~visible
        if depth is not None:
            depth = np.where(hidden, 0.0, depth).astype(np.float32)
        result = self.backend.complete(rgb, depth, K)
        out = np.where(amodal, result.depth, np.nan).astype(np.float32)
        return AmodalResult(depth=out, amodal=amodal, hidden=hidden, timings=result.timings)
