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

"""Classical backend: completeness, edge awareness, accuracy against nearest fill."""

import warnings

from lingbot_depth_ros.backends.classical import (ClassicalBackend, directional_nearest,
                                                  nearest_valid_index, NearestFillBackend)
from lingbot_depth_ros.geometry import DepthRange
from lingbot_depth_ros.messages.conversions import depth_to_image
from lingbot_depth_ros.messages.frame import limit_output
from lingbot_depth_ros.tools.synthetic import renderer as synthetic
import numpy as np
import pytest
from scipy import ndimage

K = np.array([[500.0, 0.0, 31.5], [0.0, 500.0, 23.5], [0.0, 0.0, 1.0]])


@pytest.fixture(scope='module')
def frames():
    """Return the first views of four synthetic scenes at full 640x480 resolution."""
    return [synthetic.render_frame(seed) for seed in (0, 1, 2, 3)]


def hole_errors(completer, frames):
    """Return the completion errors on all hole pixels of the frames, concatenated."""
    errors = []
    for frame in frames:
        result = completer.complete(frame.rgb, frame.depth_sensor, frame.K)
        holes = ~result.valid_input & np.isfinite(frame.depth_gt)
        errors.append(result.depth[holes] - frame.depth_gt[holes])
    return np.concatenate(errors)


def test_no_hole_is_left_inside_the_valid_range(frames):
    # The frame path limits the input to the range before the backend sees it.
    completer, depth_range = ClassicalBackend(), DepthRange(0.5, 5.0)
    for frame in frames:
        sensor = np.where(depth_range.valid(frame.depth_sensor), frame.depth_sensor, 0.0)
        result = limit_output(completer.complete(frame.rgb, sensor, frame.K), depth_range)
        assert np.isfinite(result.depth).all()
        assert result.depth.min() >= 0.5 and result.depth.max() <= 5.0
        in_range = (frame.depth_sensor >= 0.5) & (frame.depth_sensor <= 5.0)
        np.testing.assert_array_equal(result.valid_input, in_range)
        np.testing.assert_array_equal(result.filled, ~in_range)
        # Valid measurements pass through unchanged.
        np.testing.assert_array_equal(result.depth[in_range], frame.depth_sensor[in_range])
        assert result.depth.dtype == np.float32
        assert result.timings['total'] > 0.0


def test_beats_nearest_valid_fill_on_hole_pixels(frames):
    classical = hole_errors(ClassicalBackend(), frames)
    nearest = hole_errors(NearestFillBackend(), frames)
    assert classical.size == nearest.size > 100_000
    errors = {'classical': classical, 'nearest': nearest}
    rmse = {name: np.sqrt(np.mean(e ** 2)) for name, e in errors.items()}
    mae = {name: np.mean(np.abs(e)) for name, e in errors.items()}
    assert rmse['classical'] < 0.95 * rmse['nearest'], rmse
    assert mae['classical'] < 0.95 * mae['nearest'], mae


def step_scene(band=6):
    """
    Return rgb, depth of a depth edge: background 4 m (grey) left, foreground 2 m (red).

    A hole band lies on the background side of the edge, as a projector shadow leaves it.
    """
    rgb = np.full((48, 64, 3), 120, dtype=np.uint8)
    rgb[:, 32:] = (200, 30, 30)
    depth = np.full((48, 64), 4.0, dtype=np.float32)
    depth[:, 32:] = 2.0
    depth[:, 32 - band:32] = 0.0
    return rgb, depth


def test_shadow_band_takes_the_depth_of_the_surface_with_its_colour():
    rgb, depth = step_scene()
    holes = depth == 0.0
    classical = ClassicalBackend().complete(rgb, depth, K).depth
    nearest = NearestFillBackend().complete(rgb, depth, K).depth
    np.testing.assert_allclose(classical[holes], 4.0, atol=0.05)
    # Nearest fill puts the foreground on half of the band.
    assert np.sum(np.abs(nearest[holes] - 2.0) < 1e-6) == holes.sum() // 2


def test_holes_in_a_sloped_plane_are_interpolated_not_copied():
    cols = np.arange(64, dtype=np.float32)
    depth = np.tile(1.0 + 0.02 * cols, (48, 1)).astype(np.float32)
    truth = depth.copy()
    depth[10:30, 20:45] = np.nan
    depth[40:44, 5:9] = -1.0
    rgb = np.full((48, 64, 3), 90, dtype=np.uint8)
    result = ClassicalBackend().complete(rgb, depth, K)
    nearest = NearestFillBackend().complete(rgb, depth, K)
    assert result.filled.sum() == 20 * 25 + 4 * 4
    np.testing.assert_array_equal(result.filled, nearest.filled)
    error = np.abs(result.depth - truth)[result.filled]
    error_nearest = np.abs(nearest.depth - truth)[nearest.filled]
    # The slope continues into the hole: a blend of both sides, not the closest border.
    assert error.mean() < 0.5 * error_nearest.mean()
    assert error.max() < 0.5 * error_nearest.max()
    assert np.all(result.depth[result.filled] >= 1.0)
    assert np.all(result.depth[result.filled] <= 1.0 + 0.02 * 63)


def test_without_keep_valid_input_the_measurements_are_smoothed():
    rng = np.random.default_rng(0)
    truth = np.full((48, 64), 2.0, dtype=np.float32)
    noisy = truth + rng.normal(0.0, 0.01, truth.shape).astype(np.float32)
    noisy[20:25, 20:25] = 0.0
    rgb = np.full((48, 64, 3), 90, dtype=np.uint8)
    kept = ClassicalBackend(keep_valid_input=True).complete(rgb, noisy, K)
    smoothed = ClassicalBackend(keep_valid_input=False).complete(rgb, noisy, K)
    valid = kept.valid_input
    np.testing.assert_array_equal(kept.depth[valid], noisy[valid])
    error_kept = np.std(kept.depth[valid] - 2.0)
    error_smoothed = np.std(smoothed.depth[valid] - 2.0)
    assert error_smoothed < 0.5 * error_kept
    assert np.isfinite(smoothed.depth).all()


@pytest.mark.parametrize('completer', [ClassicalBackend(), NearestFillBackend()])
def test_nothing_to_fill_from_gives_nan(completer):
    rgb = np.zeros((8, 10, 3), dtype=np.uint8)
    for depth in (None, np.zeros((8, 10), dtype=np.float32)):
        result = completer.complete(rgb, depth, K)
        assert np.isnan(result.depth).all()
        assert not result.filled.any() and not result.valid_input.any()


def test_bad_inputs_raise_value_error_naming_the_argument():
    completer = ClassicalBackend()
    rgb = np.zeros((8, 10, 3), dtype=np.uint8)
    depth = np.ones((8, 10), dtype=np.float32)
    with pytest.raises(ValueError, match='rgb'):
        completer.complete(rgb.astype(np.float32), depth, K)
    with pytest.raises(ValueError, match='depth'):
        completer.complete(rgb, depth[:, :5], K)
    with pytest.raises(ValueError, match='depth'):
        completer.complete(rgb, (depth * 1000).astype(np.uint16), K)
    with pytest.raises(ValueError, match='K'):
        completer.complete(rgb, depth, np.eye(2))
    with pytest.raises(ValueError, match='color_sigma'):
        ClassicalBackend(color_sigma=0.0)


def test_nearest_valid_index_matches_the_exact_distance_transform():
    rng = np.random.default_rng(3)
    valid = rng.random((60, 80)) < 0.05
    index, distance = nearest_valid_index(valid)
    assert valid.reshape(-1)[index].all()
    rows, cols = np.divmod(index, 80)
    grid_rows, grid_cols = np.mgrid[0:60, 0:80]
    found = np.hypot(rows - grid_rows.ravel(), cols - grid_cols.ravel())
    exact = ndimage.distance_transform_edt(~valid).ravel()
    # OpenCV's 5x5 mask is within a pixel of the Euclidean distance.
    assert np.all(found <= exact + 1.0)
    np.testing.assert_allclose(distance, found, atol=1.0)


def test_directional_nearest_finds_the_closest_valid_index_each_way():
    valid = np.array([[False, True, False, False, True, False]])
    np.testing.assert_array_equal(directional_nearest(valid, 1, True), [[-1, 1, 1, 1, 4, 4]])
    np.testing.assert_array_equal(directional_nearest(valid, 1, False), [[1, 1, 4, 4, 4, 6]])
    np.testing.assert_array_equal(directional_nearest(valid.T, 0, False).T,
                                  [[1, 1, 4, 4, 4, 6]])


def test_absurd_float_depths_give_no_numpy_warnings():
    rgb = np.zeros((48, 64, 3), np.uint8)
    depth = np.full((48, 64), 3.4e38, np.float32)
    depth[:10], depth[20:30] = 1.5, 0.0
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # an overflow warning fails the test
        for backend in (ClassicalBackend(), ClassicalBackend(keep_valid_input=False),
                        NearestFillBackend()):
            result = backend.complete(rgb, depth, K)
            assert np.isfinite(result.depth[:10]).all()
        image, clipped = depth_to_image(result.depth, None, '16UC1')
        assert clipped == np.count_nonzero(result.depth > 65.535)
