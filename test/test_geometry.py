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

"""Depth units, intrinsics, rays and back-projection in lingbot_depth_ros.geometry."""

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from lingbot_depth_ros import geometry
from lingbot_depth_ros.geometry import DepthRange
import numpy as np
import pytest

K = np.array([[500.0, 0.0, 319.5], [0.0, 480.0, 241.25], [0.0, 0.0, 1.0]])


def analytic_points(depth, K):
    """Back-project in float64 straight from the pinhole formula."""
    height, width = depth.shape
    v, u = np.mgrid[0:height, 0:width].astype(np.float64)
    z = depth.astype(np.float64)
    return np.stack([(u - K[0, 2]) * z / K[0, 0], (v - K[1, 2]) * z / K[1, 1], z], axis=-1)


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.uint16, hnp.array_shapes(min_dims=2, max_dims=2, max_side=16)),
       st.sampled_from([0.001, 0.0001, 0.00025, 1.0]))
def test_integer_depth_is_scaled_and_zero_is_invalid(raw, scale):
    depth_m, valid = geometry.depth_to_meters(raw, scale)
    assert depth_m.dtype == np.float32 and valid.dtype == bool
    np.testing.assert_array_equal(valid, raw != 0)
    np.testing.assert_allclose(depth_m, raw.astype(np.float64) * scale, rtol=2e-7)
    assert np.all(depth_m[~valid] == 0)


def test_signed_integer_depth_rejects_negative_values():
    raw = np.array([[-5, 0, 7]], dtype=np.int16)
    depth_m, valid = geometry.depth_to_meters(raw, 0.5)
    np.testing.assert_array_equal(valid, [[False, False, True]])
    np.testing.assert_array_equal(depth_m, [[0.0, 0.0, 3.5]])


@pytest.mark.parametrize('dtype', [np.float32, np.float64, np.float16])
def test_float_depth_is_metres_and_non_finite_or_non_positive_is_invalid(dtype):
    raw = np.array([[1.25, 0.0, np.nan], [np.inf, -np.inf, -2.0]], dtype=dtype)
    depth_m, valid = geometry.depth_to_meters(raw, depth_scale=1000.0)
    assert depth_m.dtype == np.float32
    np.testing.assert_array_equal(valid, [[True, False, False], [False, False, False]])
    np.testing.assert_array_equal(depth_m, [[1.25, 0, 0], [0, 0, 0]])


@pytest.mark.parametrize('depth, scale, field', [
    (np.zeros((2, 2, 1), np.uint16), 0.001, 'depth'),
    (np.zeros((0, 3), np.uint16), 0.001, 'depth'),
    ([[1, 2]], 0.001, 'depth'),
    (np.zeros((2, 2), bool), 0.001, 'depth.dtype'),
    (np.ones((2, 2), np.uint16), 0.0, 'depth_scale'),
    (np.ones((2, 2), np.uint16), float('nan'), 'depth_scale'),
])
def test_depth_to_meters_rejects_malformed_input(depth, scale, field):
    with pytest.raises(ValueError, match=field):
        geometry.depth_to_meters(depth, scale)


def test_scale_and_normalize_intrinsics():
    scaled = geometry.scale_intrinsics(K, 0.5, 0.25)
    np.testing.assert_allclose(scaled, [[250, 0, 159.75], [0, 120, 60.3125], [0, 0, 1]])
    assert scaled.dtype == np.float64
    normalized = geometry.normalize_intrinsics(K, 640, 480)
    np.testing.assert_allclose(normalized[0], K[0] / 640)
    np.testing.assert_allclose(normalized[1], K[1] / 480)
    np.testing.assert_array_equal(normalized[2], [0, 0, 1])


@pytest.mark.parametrize('bad_K, field', [
    (np.eye(2), 'K'),
    (np.diag([0.0, 1.0, 1.0]), 'fx'),
    (np.diag([1.0, -2.0, 1.0]), 'fy'),
    (np.diag([np.nan, 1.0, 1.0]), 'finite'),
])
def test_bad_intrinsics_raise(bad_K, field):
    with pytest.raises(ValueError, match=field):
        geometry.scale_intrinsics(bad_K, 1.0, 1.0)
    with pytest.raises(ValueError, match=field):
        geometry.back_project(np.ones((2, 2), np.float32), bad_K)


def test_bad_scale_and_size_raise():
    with pytest.raises(ValueError, match='sx'):
        geometry.scale_intrinsics(K, 0.0, 1.0)
    with pytest.raises(ValueError, match='width'):
        geometry.normalize_intrinsics(K, 0, 480)
    with pytest.raises(ValueError, match='height'):
        geometry.pixel_rays(K, 640, 2.5)


def test_pixel_rays_follow_the_pinhole_formula_and_are_cached_read_only():
    rx, ry = geometry.pixel_rays(K, 7, 5)
    assert rx.shape == ry.shape == (5, 7) and rx.dtype == ry.dtype == np.float32
    np.testing.assert_allclose(rx[3], (np.arange(7) - 319.5) / 500.0, rtol=1e-6)
    np.testing.assert_allclose(ry[:, 2], (np.arange(5) - 241.25) / 480.0, rtol=1e-6)
    again = geometry.pixel_rays(K.copy(), 7, 5)
    assert again[0] is rx and again[1] is ry
    with pytest.raises(ValueError):
        rx[0, 0] = 1.0
    other = geometry.pixel_rays(geometry.scale_intrinsics(K, 2.0, 2.0), 7, 5)[0]
    assert not np.array_equal(other, rx)


def test_back_project_matches_the_analytic_formula_and_marks_invalid_points_nan():
    rng = np.random.default_rng(3)
    depth = rng.uniform(0.2, 9.0, (12, 17)).astype(np.float32)
    depth[0, 0], depth[1, 1], depth[2, 2], depth[3, 3] = 0.0, np.nan, np.inf, -1.0
    points = geometry.back_project(depth, K)
    assert points.shape == (12, 17, 3) and points.dtype == np.float32
    invalid = np.zeros(depth.shape, bool)
    invalid[[0, 1, 2, 3], [0, 1, 2, 3]] = True
    assert np.isnan(points[invalid]).all()
    assert np.isfinite(points[~invalid]).all()
    np.testing.assert_allclose(points[~invalid], analytic_points(depth, K)[~invalid],
                               rtol=1e-6, atol=1e-7)


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.float32, hnp.array_shapes(min_dims=2, max_dims=2, max_side=12),
                  elements=st.floats(0, 100, width=32)),
       st.integers(1, 20), st.integers(1, 20))
def test_nearest_resize_only_copies_input_values(depth, width, height):
    resized = geometry.resize_depth_nearest(depth, width, height)
    assert resized.shape == (height, width) and resized.dtype == depth.dtype
    rows = np.arange(height) * depth.shape[0] // height
    cols = np.arange(width) * depth.shape[1] // width
    np.testing.assert_array_equal(resized, depth[np.ix_(rows, cols)])


def test_nearest_resize_by_integer_factor_is_consistent_with_scaled_intrinsics():
    depth = np.random.default_rng(5).uniform(0.5, 4.0, (48, 64)).astype(np.float32)
    half = geometry.resize_depth_nearest(depth, 32, 24)
    np.testing.assert_array_equal(half, depth[::2, ::2])
    np.testing.assert_allclose(geometry.back_project(half, geometry.scale_intrinsics(K, 0.5, 0.5)),
                               geometry.back_project(depth, K)[::2, ::2], rtol=1e-5, atol=1e-6)
    double = geometry.resize_depth_nearest(depth, 128, 96)
    np.testing.assert_array_equal(double[::2, ::2], depth)
    np.testing.assert_array_equal(double[1::2, 1::2], depth)
    assert geometry.resize_depth_nearest(depth, 64, 48) is depth


def test_nearest_resize_rejects_malformed_input():
    with pytest.raises(ValueError, match='width'):
        geometry.resize_depth_nearest(np.ones((4, 4)), 0, 4)
    with pytest.raises(ValueError, match='depth'):
        geometry.resize_depth_nearest(np.ones((4, 4, 3)), 2, 2)


def test_depth_range_is_the_one_validity_rule():
    depth = np.array([[0.0, -1.0, np.nan, np.inf], [0.3, 0.5, 5.0, 5.5]], dtype=np.float32)
    np.testing.assert_array_equal(DepthRange().valid(depth),
                                  [[False, False, False, False], [True, True, True, True]])
    limited = DepthRange(0.5, 5.0)
    np.testing.assert_array_equal(limited.valid(depth),
                                  [[False, False, False, False], [False, True, True, False]])
    out, valid = limited.invalid_to_nan(depth)
    np.testing.assert_array_equal(np.isnan(out), ~valid)
    np.testing.assert_array_equal(out[valid], [0.5, 5.0])
    assert np.isnan(depth[0, 2]) and depth[1, 0] == np.float32(0.3)  # input untouched
    same = np.ones((2, 2), np.float32)
    assert limited.invalid_to_nan(same)[0] is same  # nothing to change: no copy


@pytest.mark.parametrize('lo, hi, message', [
    (-0.1, 1.0, 'min_depth: expected a finite value >= 0'),
    (np.inf, np.inf, 'min_depth: expected a finite value >= 0'),
    (2.0, 1.0, r'max_depth: expected a value > min_depth \(2.0\), got 1.0'),
    (0.0, np.nan, 'max_depth'),
])
def test_depth_range_rejects_bad_limits(lo, hi, message):
    with pytest.raises(ValueError, match=message):
        DepthRange(lo, hi)
