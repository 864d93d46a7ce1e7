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
Temporal smoothing of depth for static scenes (numpy only).

Each pixel's output is an exponential moving average of its depth while the depth stays
within ``change_threshold`` (relative) of the running value; a pixel that changes more
(something moved there) takes the new depth at once. When more than ``reset_fraction`` of
the pixels change, the camera moved: the filter restarts from the new frame instead of
averaging across views. A pixel without depth stays without depth: nothing is invented.
"""

import numpy as np


class TemporalFilter:
    """Exponential smoothing gated by the per-pixel change, reset on large motion."""

    def __init__(self, alpha: float = 0.3, change_threshold: float = 0.03,
                 reset_fraction: float = 0.3):
        """
        Configure the filter.

        :param alpha: weight of the new frame (1: no smoothing), in (0, 1].
        :param change_threshold: relative depth change beyond which a pixel restarts.
        :param reset_fraction: share of changed pixels beyond which the whole frame restarts.
        """
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f'alpha: expected 0 < alpha <= 1, got {alpha}')
        if not change_threshold > 0.0:
            raise ValueError(f'change_threshold: expected > 0, got {change_threshold}')
        if not 0.0 < reset_fraction <= 1.0:
            raise ValueError(f'reset_fraction: expected 0 < fraction <= 1, got {reset_fraction}')
        self.alpha = float(alpha)
        self.change_threshold = float(change_threshold)
        self.reset_fraction = float(reset_fraction)
        self.state = None
        self.resets = 0

    @property
    def settings(self) -> tuple:
        """Return (alpha, change_threshold)."""
        return self.alpha, self.change_threshold

    def reset(self) -> None:
        """Forget the running average (e.g. after a stamp jump)."""
        self.state = None

    def update(self, depth: np.ndarray) -> np.ndarray:
        """
        Filter one frame.

        :param depth: float32 HxW metres, NaN (or <= 0) where there is no depth.
        :return: float32 HxW filtered depth; NaN exactly where ``depth`` has none.
        """
        depth = np.asarray(depth, dtype=np.float32)
        valid = np.isfinite(depth) & (depth > 0)
        out = np.where(valid, depth, np.float32(np.nan))
        if self.state is None or self.state.shape != depth.shape:
            self.state = out
            return out.copy()
        previous = self.state
        both = valid & np.isfinite(previous)
        with np.errstate(invalid='ignore'):
            changed = both & (np.abs(depth - previous) > self.change_threshold * depth)
        if both.any() and changed.sum() > self.reset_fraction * both.sum():
            self.resets += 1
            self.state = out
            return out.copy()
        smooth = both & ~changed
        out[smooth] = previous[smooth] + self.alpha * (depth[smooth] - previous[smooth])
        self.state = out
        return out.copy()
