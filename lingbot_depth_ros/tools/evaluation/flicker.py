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
Flicker of depth video: how much the output changes between frames where the world did not.

The previous output is warped into the current view with the known camera motion (forward
projection with a z-buffer), and the mean absolute difference to the current output is
taken over static surfaces: pixels where the ground truth, warped the same way, agrees with
the current ground truth within 1 cm (so disocclusions and edges do not count).
"""

from typing import List, Optional, Sequence

from lingbot_depth_ros.geometry import back_project
import numpy as np

CONSISTENT_M = 0.01


def warp_depth(depth: np.ndarray, K: np.ndarray, current_from_previous: np.ndarray
               ) -> np.ndarray:
    """
    Warp a depth map into another view of the same camera (nearest pixel, z-buffer).

    :param depth: float32 HxW metres of the previous view (NaN: none).
    :param K: 3x3 intrinsics.
    :param current_from_previous: 4x4 transform of points from the previous camera frame to
        the current one.
    :return: float32 HxW depth seen from the current view, NaN where nothing lands.
    """
    height, width = depth.shape
    points = back_project(np.nan_to_num(depth, nan=0.0), K).reshape(-1, 3)
    points = points[np.isfinite(points[:, 2])].astype(np.float64)
    points = points @ current_from_previous[:3, :3].T + current_from_previous[:3, 3]
    points = points[points[:, 2] > 1e-6]
    u = np.round(K[0, 0] * points[:, 0] / points[:, 2] + K[0, 2]).astype(np.int64)
    v = np.round(K[1, 1] * points[:, 1] / points[:, 2] + K[1, 2]).astype(np.int64)
    inside = (u >= 0) & (u < width) & (v >= 0) & (v < height)
    index, z = v[inside] * width + u[inside], points[inside, 2]
    out = np.full(height * width, np.inf)
    np.minimum.at(out, index, z)  # the nearest surface wins
    out[np.isinf(out)] = np.nan
    return out.reshape(height, width).astype(np.float32)


def flicker(outputs: Sequence[np.ndarray], gts: Sequence[np.ndarray],
            poses: Sequence[np.ndarray], K: np.ndarray) -> float:
    """
    Return the mean absolute frame-to-frame change on static surfaces, in metres.

    :param outputs: per-frame float32 HxW depth (NaN: none).
    :param gts: per-frame ground truth.
    :param poses: per-frame 4x4 world-from-camera poses.
    :param K: 3x3 intrinsics shared by the frames.
    :return: the pooled mean over consecutive pairs; NaN without any comparable pixel.
    """
    total, count = 0.0, 0
    for t in range(1, len(outputs)):
        relative = np.linalg.inv(poses[t]) @ poses[t - 1]
        gt_warped = warp_depth(gts[t - 1], K, relative)
        static = np.abs(gt_warped - gts[t]) < CONSISTENT_M  # NaN compares False
        warped = warp_depth(outputs[t - 1], K, relative)
        change = np.abs(warped - outputs[t])[static]
        change = change[np.isfinite(change)]
        total += float(change.sum())
        count += change.size
    return total / count if count else float('nan')


def sequence_frames(seed: int, n_frames: int, static: bool = False, width: int = 640,
                    height: int = 480) -> List:
    """
    Render a synthetic sequence: the camera path of scene ``seed``, or its first pose held.

    :param seed: scene seed.
    :param n_frames: frames.
    :param static: hold the first pose (only the sensor and image noise change).
    :param width: image width.
    :param height: image height.
    :return: list of SyntheticFrame.
    """
    from lingbot_depth_ros.tools.synthetic import renderer
    from lingbot_depth_ros.tools.synthetic.scenes import camera_poses, make_scene

    scene, K = make_scene(seed), renderer.intrinsics(width, height)
    poses = camera_poses(seed, n_frames)
    if static:
        poses = [poses[0]] * n_frames
    return [renderer.render_view(scene, pose, K, width, height, index=i, seed=seed)
            for i, pose in enumerate(poses)]


def sequence_flicker(frames, backend, temporal_filter: Optional[object] = None) -> float:
    """
    Run a backend over a sequence (optionally with a temporal filter) and measure flicker.

    :param frames: SyntheticFrames of one sequence.
    :param backend: object with ``complete(rgb, depth, K)``, or None for the raw sensor.
    :param temporal_filter: a TemporalFilter (fresh) or None.
    :return: flicker in metres.
    """
    outputs = []
    for frame in frames:
        if backend is None:
            depth = np.where(frame.depth_sensor > 0, frame.depth_sensor, np.nan)
        else:
            depth = backend.complete(frame.rgb, frame.depth_sensor, frame.K).depth
        if temporal_filter is not None:
            depth = temporal_filter.update(depth)
        outputs.append(depth.astype(np.float32))
    return flicker(outputs, [f.depth_gt for f in frames], [f.pose for f in frames],
                   frames[0].K)
