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
Point sets for grasping (numpy only): rigid transforms, crop boxes, voxel grids.

Points are (N, 3) float arrays in metres; colours, when present, travel with them as
(N, 3) uint8 rows. Quaternions are ROS order (x, y, z, w), as in geometry_msgs.
"""

from typing import Optional, Sequence, Tuple

import numpy as np


def rotation_matrix(quaternion_xyzw: Sequence[float]) -> np.ndarray:
    """
    Return the 3x3 rotation of a unit quaternion.

    :param quaternion_xyzw: (x, y, z, w); normalised here, must not be zero.
    :return: float64 3x3 rotation matrix.
    """
    from transforms3d.quaternions import quat2mat  # w-first, as transforms3d wants it

    q = np.asarray(quaternion_xyzw, dtype=np.float64)
    if q.shape != (4,) or not np.all(np.isfinite(q)):
        raise ValueError(f'quaternion: expected 4 finite numbers (x, y, z, w), '
                         f'got {list(np.ravel(q))}')
    norm = np.linalg.norm(q)
    if norm < 1e-9:
        raise ValueError('quaternion: expected a non-zero quaternion, got all zeros')
    x, y, z, w = q / norm
    return quat2mat([w, x, y, z])


def rigid_transform(translation: Sequence[float], quaternion_xyzw: Sequence[float]
                    ) -> np.ndarray:
    """
    Return the 4x4 transform target <- source of a translation and rotation.

    :param translation: (x, y, z) of the source frame's origin in the target frame.
    :param quaternion_xyzw: orientation of the source frame in the target frame.
    :return: float64 4x4 homogeneous matrix.
    """
    t = np.asarray(translation, dtype=np.float64)
    if t.shape != (3,) or not np.all(np.isfinite(t)):
        raise ValueError(f'translation: expected 3 finite numbers, got {list(np.ravel(t))}')
    matrix = np.eye(4)
    matrix[:3, :3] = rotation_matrix(quaternion_xyzw)
    matrix[:3, 3] = t
    return matrix


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """
    Apply a 4x4 rigid transform to points.

    :param points: (N, 3) points (NaN rows stay NaN).
    :param matrix: 4x4 transform target <- source.
    :return: float32 (N, 3) points in the target frame.
    """
    points = np.asarray(points)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f'points: expected (N, 3), got {points.shape}')
    out = points.astype(np.float64) @ matrix[:3, :3].T + matrix[:3, 3]
    return out.astype(np.float32)


def crop_box(points: np.ndarray, low: Sequence[float], high: Sequence[float]) -> np.ndarray:
    """
    Return which points lie inside an axis-aligned box (bounds included).

    :param points: (N, 3) points.
    :param low: (x, y, z) lower corner.
    :param high: (x, y, z) upper corner, each >= the lower one.
    :return: bool (N,); NaN points are outside.
    """
    low, high = np.asarray(low, np.float64), np.asarray(high, np.float64)
    if low.shape != (3,) or high.shape != (3,) or np.any(low > high):
        raise ValueError(f'crop box: expected low <= high, 3 values each, got {list(low)} '
                         f'and {list(high)}')
    return np.all((points >= low) & (points <= high), axis=1)


def voxel_downsample(points: np.ndarray, voxel_size: float,
                     colors: Optional[np.ndarray] = None
                     ) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """
    Replace the points of each voxel by their centroid (and mean colour).

    Voxels are cubes of ``voxel_size`` aligned to the frame's origin; the output is sorted
    by voxel index, one point per occupied voxel. NaN points are dropped.

    :param points: (N, 3) points.
    :param voxel_size: edge length in metres, > 0.
    :param colors: optional (N, 3) uint8 colours.
    :return: ((M, 3) float32 centroids, (M, 3) uint8 mean colours or None).
    """
    if not voxel_size > 0 or not np.isfinite(voxel_size):
        raise ValueError(f'voxel_size: expected a finite size > 0 m, got {voxel_size}')
    finite = np.all(np.isfinite(points), axis=1)
    points = np.asarray(points, np.float64)[finite]
    colors = None if colors is None else np.asarray(colors)[finite]
    if len(points) == 0:
        return np.zeros((0, 3), np.float32), None if colors is None else \
            np.zeros((0, 3), np.uint8)
    cells = np.floor(points / voxel_size).astype(np.int64)
    _, inverse, counts = np.unique(cells, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    sums = np.zeros((len(counts), 3))
    np.add.at(sums, inverse, points)
    centroids = (sums / counts[:, None]).astype(np.float32)
    if colors is None:
        return centroids, None
    color_sums = np.zeros((len(counts), 3))
    np.add.at(color_sums, inverse, colors.astype(np.float64))
    return centroids, np.round(color_sums / counts[:, None]).astype(np.uint8)
