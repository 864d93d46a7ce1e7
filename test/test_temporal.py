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

"""Temporal filter and the flicker metric."""

from lingbot_depth_ros.temporal import TemporalFilter
from lingbot_depth_ros.tools.evaluation.flicker import (flicker, sequence_flicker, sequence_frames,
                                                        warp_depth)
import numpy as np
import pytest

K = np.array([[100.0, 0, 31.5], [0, 100.0, 23.5], [0, 0, 1]])


def test_static_noise_is_averaged_and_changes_pass_at_once():
    rng = np.random.default_rng(0)
    truth = np.full((48, 64), 2.0, np.float32)
    filt = TemporalFilter(alpha=0.2, change_threshold=0.03)
    outputs = [filt.update(truth + rng.normal(0, 0.01, truth.shape).astype(np.float32))
               for _ in range(30)]
    raw_std = 0.01
    assert np.std(outputs[-1] - truth) < 0.5 * raw_std
    # A box appears in part of the view: those pixels take the new depth at once.
    moved = truth.copy()
    moved[:10, :10] = 1.0
    out = filt.update(moved)
    assert np.allclose(out[:10, :10], 1.0)
    assert filt.resets == 0


def test_large_motion_resets_and_holes_stay_holes():
    filt = TemporalFilter()
    filt.update(np.full((8, 8), 2.0, np.float32))
    shifted = np.full((8, 8), 3.0, np.float32)
    shifted[0, 0] = np.nan
    out = filt.update(shifted)
    assert filt.resets == 1 and np.isnan(out[0, 0]) and np.allclose(out[1:, 1:], 3.0)
    with pytest.raises(ValueError, match='alpha'):
        TemporalFilter(alpha=0.0)


def test_warp_with_identity_and_with_a_known_translation():
    depth = np.full((48, 64), 2.0, np.float32)
    depth[0, 0] = np.nan
    same = warp_depth(depth, K, np.eye(4))
    assert np.isnan(same[0, 0]) and np.allclose(same[1:, 1:], 2.0)
    # Camera moved 0.5 m forward: a fronto-parallel wall is 0.5 m closer.
    forward = np.eye(4)
    forward[2, 3] = -0.5
    closer = warp_depth(depth, K, forward)
    assert np.allclose(closer[np.isfinite(closer)], 1.5)


def test_flicker_of_a_static_sequence_is_the_sensor_noise():
    frames = sequence_frames(11, 4, static=True, width=160, height=120)
    sensor = [np.where(f.depth_sensor > 0, f.depth_sensor, np.nan) for f in frames]
    # Identity warps: the metric is the plain mean |change| of valid readings.
    expected = np.nanmean(np.concatenate([np.abs(sensor[t] - sensor[t - 1]).ravel()
                                          for t in range(1, 4)]))
    measured = sequence_flicker(frames, None)
    assert measured == pytest.approx(expected, rel=1e-3)
    assert 0.0 < measured < 0.05
    filtered = sequence_flicker(frames, None, TemporalFilter(alpha=0.3))
    assert filtered < 0.8 * measured
    gts = [f.depth_gt for f in frames]
    assert flicker(gts, gts, [f.pose for f in frames], frames[0].K) == 0.0
