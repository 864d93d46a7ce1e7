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

"""Grasp-ready cloud maths: transforms, crop box, voxel grid (hand-computed cases)."""

from lingbot_depth_ros.points import (crop_box, rigid_transform, rotation_matrix, transform_points,
                                      voxel_downsample)
import numpy as np
import pytest


def test_quaternion_rotations_in_ros_order():
    # 90 degrees about z: x -> y.
    half = np.sqrt(0.5)
    R = rotation_matrix([0, 0, half, half])
    assert np.allclose(R @ [1, 0, 0], [0, 1, 0])
    assert np.allclose(rotation_matrix([0, 0, 0, 2.0]), np.eye(3))  # normalised
    with pytest.raises(ValueError, match='non-zero'):
        rotation_matrix([0, 0, 0, 0])
    with pytest.raises(ValueError, match='4 finite'):
        rotation_matrix([0, 0, 1])


def test_transform_of_points_is_rotation_then_translation():
    half = np.sqrt(0.5)
    # A camera optical frame (z forward) looking along base x: the usual mounting.
    matrix = rigid_transform([0.1, 0.0, 0.5], [-0.5, 0.5, -0.5, 0.5])
    points = np.array([[0.0, 0.0, 2.0], [1.0, 0.0, 1.0], [np.nan, np.nan, np.nan]])
    out = transform_points(points, matrix)
    # Optical z (forward) -> base x, optical x (right) -> base -y.
    assert np.allclose(out[0], [2.1, 0.0, 0.5], atol=1e-6)
    assert np.allclose(out[1], [1.1, -1.0, 0.5], atol=1e-6)
    assert np.isnan(out[2]).all()
    assert half > 0


def test_crop_box_includes_bounds_and_drops_nan():
    points = np.array([[0, 0, 0], [1, 1, 1], [1.01, 0, 0], [np.nan, 0, 0]], np.float32)
    assert crop_box(points, [0, 0, 0], [1, 1, 1]).tolist() == [True, True, False, False]
    with pytest.raises(ValueError, match='low <= high'):
        crop_box(points, [1, 0, 0], [0, 1, 1])


def test_voxel_centroids_and_colours_by_hand():
    points = np.array([[0.01, 0.01, 0.01], [0.03, 0.03, 0.03],   # voxel (0, 0, 0)
                       [0.11, 0.0, 0.0],                         # voxel (1, 0, 0)
                       [-0.01, 0.0, 0.0],                        # voxel (-1, 0, 0)
                       [np.nan, 0, 0]])
    colors = np.array([[0, 0, 0], [100, 50, 10], [255, 255, 255], [1, 2, 3], [9, 9, 9]],
                      np.uint8)
    centroids, mean_colors = voxel_downsample(points, 0.1, colors)
    order = np.lexsort(centroids.T[::-1])
    expected = np.array([[-0.01, 0, 0], [0.02, 0.02, 0.02], [0.11, 0, 0]])
    assert np.allclose(centroids[order], expected, atol=1e-6)
    assert mean_colors[order].tolist() == [[1, 2, 3], [50, 25, 5], [255, 255, 255]]
    empty, none = voxel_downsample(np.zeros((0, 3)), 0.05)
    assert empty.shape == (0, 3) and none is None
    with pytest.raises(ValueError, match='voxel_size'):
        voxel_downsample(points, 0.0)
