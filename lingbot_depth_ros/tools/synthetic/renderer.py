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
Procedural indoor RGB-D scenes with ground truth and realistic sensor failures.

A scene (``make_scene(seed)``) is a room with textured walls and floor and a few boxes,
cylinders and spheres, some of them glass, mirror, polished metal or black. It is rendered
by vectorised numpy ray casting (``render_view``) into a :class:`SyntheticFrame`: colour,
ground-truth depth, pixel intrinsics, a material map and the depth a structured-light
sensor would measure (see ``synthetic_sensor``). Everything is deterministic by seed.
``render_sequence`` moves the camera along a short smooth path; ``frame_to_messages``
turns a frame into ROS messages (imported only then, so this module works without ROS).
"""

from dataclasses import dataclass, field
import math
from typing import Iterator, List, Optional, Tuple

from lingbot_depth_ros.tools.synthetic.geometry import (Box, Cylinder, intersect_scene, Room,
                                                        Scene, Sphere)
from lingbot_depth_ros.tools.synthetic.materials import (albedo, highlight, lambert,
                                                         material_table, MATERIALS, noise_table,
                                                         TRANSMITTANCE)
from lingbot_depth_ros.tools.synthetic.scenes import camera_poses, look_at, make_scene
from lingbot_depth_ros.tools.synthetic.sensor import (outside_projector_view, projector_shadow,
                                                      SensorModel, simulate_sensor)
import numpy as np

__all__ = ['Box', 'Cylinder', 'Room', 'Scene', 'SensorModel', 'Sphere', 'SyntheticFrame',
           'camera_poses', 'frame_to_messages', 'intrinsics', 'look_at', 'make_scene',
           'render_frame', 'render_sequence', 'render_view', 'iter_sequence']

DEFAULT_FRAME_ID = 'camera_color_optical_frame'


@dataclass
class SyntheticFrame:
    """
    One rendered RGB-D frame with its ground truth.

    :ivar rgb: uint8 HxWx3 colour image.
    :ivar depth_gt: float32 HxW ground-truth depth (camera z) in metres, NaN where no hit.
    :ivar depth_sensor: float32 HxW simulated sensor depth in metres, 0 where no return.
    :ivar K: float64 3x3 pixel intrinsics (colour and depth share them: depth is aligned).
    :ivar material: uint8 HxW material ids (synthetic_materials.MATERIALS).
    :ivar failure: uint8 HxW sensor failure codes (synthetic_sensor.FAIL_*).
    :ivar pose: float64 4x4 world-from-camera-optical transform.
    :ivar stamp_ns: capture time in nanoseconds.
    :ivar index: frame index in its sequence.
    :ivar seed: scene seed.
    """

    rgb: np.ndarray
    depth_gt: np.ndarray
    depth_sensor: np.ndarray
    K: np.ndarray
    material: np.ndarray
    failure: np.ndarray
    pose: np.ndarray = field(default_factory=lambda: np.eye(4))
    stamp_ns: int = 0
    index: int = 0
    seed: int = 0

    @property
    def width(self) -> int:
        """Return the image width in pixels."""
        return self.rgb.shape[1]

    @property
    def height(self) -> int:
        """Return the image height in pixels."""
        return self.rgb.shape[0]

    @property
    def sensor_valid(self) -> np.ndarray:
        """Return the pixels where the sensor measured a depth."""
        return self.depth_sensor > 0.0

    @property
    def depth_sensor_mm(self) -> np.ndarray:
        """Return the sensor depth as uint16 millimetres (0 = no return)."""
        return np.clip(np.round(self.depth_sensor * 1000.0), 0, 65535).astype(np.uint16)


def intrinsics(width: int = 640, height: int = 480, hfov_deg: float = 69.0) -> np.ndarray:
    """
    Return pinhole intrinsics with square pixels and the principal point at the centre.

    :param width: image width in pixels.
    :param height: image height in pixels.
    :param hfov_deg: horizontal field of view in degrees (0 < hfov < 180).
    :return: float64 3x3 K.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f'width, height: expected positive, got {width}x{height}')
    if not 0.0 < hfov_deg < 180.0:
        raise ValueError(f'hfov_deg: expected in (0, 180), got {hfov_deg}')
    focal = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
    return np.array([[focal, 0.0, (width - 1) / 2.0],
                     [0.0, focal, (height - 1) / 2.0],
                     [0.0, 0.0, 1.0]])


def _camera_rays(K: np.ndarray, width: int, height: int, rotation: np.ndarray) -> np.ndarray:
    """Return world ray directions with unit camera z, so ray t equals depth (H*W, 3)."""
    u = (np.arange(width) - K[0, 2]) / K[0, 0]
    v = (np.arange(height) - K[1, 2]) / K[1, 1]
    rays = np.empty((height, width, 3))
    rays[..., 0] = u[None, :]
    rays[..., 1] = v[:, None]
    rays[..., 2] = 1.0
    return rays.reshape(-1, 3) @ np.ascontiguousarray(rotation.T)


def _surface(scene: Scene, hit):
    """Return per-ray material ids, texture names, base colours and object list of a Hit."""
    n = len(hit.t)
    ids = np.zeros(n, dtype=np.uint8)
    colors = np.zeros((n, 3))
    groups = []  # (ray indices, material, object index or -1)
    for face, name in enumerate(scene.room.face_materials):
        idx = np.flatnonzero((hit.obj < 0) & (hit.face == face))
        groups.append((idx, MATERIALS[name], -1))
    for k, obj in enumerate(scene.objects):
        groups.append((np.flatnonzero(hit.obj == k), MATERIALS[obj.material], k))
    for idx, material, k in groups:
        ids[idx] = material.material_id
        if k >= 0:
            colors[idx] = scene.objects[k].color
        else:
            colors[idx] = scene.room_colors[material.name]
    return ids, colors, groups


def _shade(scene: Scene, origins, dirs, hit, table, secondary: bool):
    """Return linear RGB (N, 3) of ray hits; shiny and clear surfaces trace one more ray."""
    points = origins + np.where(np.isfinite(hit.t), hit.t, 0.0)[:, None] * dirs
    normals = hit.normal
    facing = np.einsum('ij,ij->i', normals, dirs) > 0.0
    normals = np.where(facing[:, None], -normals, normals)
    ids, colors, groups = _surface(scene, hit)
    light = np.asarray(scene.light)
    rgb = np.zeros((len(hit.t), 3))
    for idx, material, k in groups:
        if idx.size == 0:
            continue
        p, n, d = points[idx], normals[idx], dirs[idx]
        base = albedo(material.texture, colors[idx], p, n, table)
        diffuse = base * lambert(p, n, light)[:, None]
        if material.kind == 'diffuse' or not secondary:
            rgb[idx] = diffuse
            continue
        if material.kind == 'glass':
            next_dirs = d
        else:
            next_dirs = d - 2.0 * np.einsum('ij,ij->i', d, n)[:, None] * n
        next_hit = intersect_scene(scene, p, next_dirs, exclude=np.full(idx.size, k))
        seen = _shade(scene, p, next_dirs, next_hit, table, secondary=False)[0]
        share = TRANSMITTANCE[material.kind]
        if material.kind == 'metal':
            seen = seen * base
        spec = highlight(p, n, d, light)[:, None]
        rgb[idx] = share * seen + (1.0 - share) * diffuse + 0.9 * spec
    return rgb, ids, points, normals, colors


def render_view(scene: Scene, pose: np.ndarray, K: np.ndarray, width: int, height: int,
                sensor: Optional[SensorModel] = None, rng: Optional[np.random.Generator] = None,
                stamp_ns: int = 0, index: int = 0, seed: int = 0) -> SyntheticFrame:
    """
    Render one frame of a scene seen from a camera pose.

    :param scene: the scene.
    :param pose: float64 4x4 world-from-camera-optical transform (see :func:`look_at`).
    :param K: float64 3x3 pixel intrinsics.
    :param width: image width in pixels.
    :param height: image height in pixels.
    :param sensor: sensor model; the default :class:`SensorModel` when None.
    :param rng: source of the sensor and image noise; seeded from ``(seed, index)`` when None.
    :param stamp_ns: stamp stored in the frame.
    :param index: index stored in the frame.
    :param seed: seed stored in the frame.
    :return: the frame.
    """
    pose = np.asarray(pose, dtype=np.float64)
    K = np.asarray(K, dtype=np.float64)
    if pose.shape != (4, 4):
        raise ValueError(f'pose: expected a 4x4 matrix, got shape {pose.shape}')
    if K.shape != (3, 3) or K[0, 0] <= 0 or K[1, 1] <= 0:
        raise ValueError(f'K: expected 3x3 with positive focal lengths, got {K.tolist()}')
    sensor = sensor or SensorModel()
    rng = rng if rng is not None else np.random.default_rng([seed, index])
    rotation, centre = pose[:3, :3], pose[:3, 3]
    dirs = _camera_rays(K, width, height, rotation)
    origins = centre.copy()  # one origin shared by all camera rays
    hit = intersect_scene(scene, origins, dirs)
    table = noise_table(scene.texture_seed)
    linear, ids, points, normals, base_colors = _shade(scene, origins, dirs, hit, table,
                                                       secondary=True)

    depth_gt = np.where(np.isfinite(hit.t), hit.t, np.nan).reshape(height, width)
    cos_incidence = np.abs(np.einsum('ij,ij->i', normals, dirs)) / np.linalg.norm(dirs, axis=1)
    reflectance = material_table('ir_reflectance')[ids]
    # Lighter paint returns more of the IR pattern too (the texture detail does not matter).
    paint = np.clip(0.4 + base_colors.mean(axis=1), 0.4, 1.0)
    signal = (reflectance * cos_incidence * paint).reshape(height, width)
    returns = material_table('sensor_return')[ids].reshape(height, width)
    projector = centre + rotation[:, 0] * sensor.baseline_m
    candidates = np.flatnonzero((returns > 0.0).ravel() & np.isfinite(hit.t))
    shadow = np.zeros(height * width, dtype=bool)
    shadow[candidates] = projector_shadow(scene, projector, points[candidates])
    shadow = shadow.reshape(height, width) | outside_projector_view(depth_gt, K,
                                                                    sensor.baseline_m)
    depth_sensor, failure = simulate_sensor(depth_gt, returns, signal, shadow, sensor, rng)

    encoded = np.clip(linear, 0.0, 1.0) ** (1.0 / 2.2)
    encoded = encoded.reshape(height, width, 3) + rng.normal(0.0, 1.5 / 255.0,
                                                             (height, width, 3))
    rgb = np.clip(np.round(encoded * 255.0), 0, 255).astype(np.uint8)
    return SyntheticFrame(rgb=rgb, depth_gt=depth_gt.astype(np.float32),
                          depth_sensor=depth_sensor, K=K.copy(),
                          material=ids.reshape(height, width), failure=failure,
                          pose=pose.copy(), stamp_ns=int(stamp_ns), index=index, seed=seed)


def iter_sequence(seed: int = 0, n_frames: int = 10, width: int = 640, height: int = 480,
                  fps: float = 15.0, sensor: Optional[SensorModel] = None,
                  start_ns: int = 1_700_000_000_000_000_000) -> Iterator[SyntheticFrame]:
    """
    Render the frames of a short camera path through scene ``seed`` one at a time.

    :param seed: scene seed.
    :param n_frames: number of frames (>= 1).
    :param width: image width in pixels.
    :param height: image height in pixels.
    :param fps: frame rate that sets the stamps.
    :param sensor: sensor model; the default when None.
    :param start_ns: stamp of the first frame in nanoseconds.
    :return: iterator of frames, stamps ``start_ns + i / fps``.
    """
    if n_frames < 1:
        raise ValueError(f'n_frames: expected >= 1, got {n_frames}')
    if not fps > 0.0:
        raise ValueError(f'fps: expected > 0, got {fps}')
    scene = make_scene(seed)
    K = intrinsics(width, height)
    for i, pose in enumerate(camera_poses(seed, n_frames)):
        stamp = start_ns + int(round(i * 1e9 / fps))
        yield render_view(scene, pose, K, width, height, sensor=sensor, stamp_ns=stamp,
                          index=i, seed=seed)


def render_sequence(seed: int = 0, n_frames: int = 10, width: int = 640, height: int = 480,
                    fps: float = 15.0, sensor: Optional[SensorModel] = None,
                    start_ns: int = 1_700_000_000_000_000_000) -> List[SyntheticFrame]:
    """
    Render a short camera path through scene ``seed`` (see :func:`iter_sequence`).

    :return: list of ``n_frames`` frames.
    """
    return list(iter_sequence(seed, n_frames, width, height, fps, sensor, start_ns))


def render_frame(seed: int = 0, width: int = 640, height: int = 480,
                 sensor: Optional[SensorModel] = None) -> SyntheticFrame:
    """
    Render the first view of scene ``seed``.

    :param seed: scene seed.
    :param width: image width in pixels.
    :param height: image height in pixels.
    :param sensor: sensor model; the default when None.
    :return: the frame.
    """
    return next(iter_sequence(seed, 1, width, height, sensor=sensor))


def frame_to_messages(frame: SyntheticFrame,
                      frame_id: str = DEFAULT_FRAME_ID) -> Tuple[object, object, object]:
    """
    Return a frame as ROS messages: (Image rgb8, Image 16UC1 millimetres, CameraInfo).

    The depth is aligned to the colour image, so all three share the stamp, frame id and
    intrinsics (plumb_bob, zero distortion). Needs sensor_msgs; imported only here.

    :param frame: the frame.
    :param frame_id: header frame id.
    :return: the three messages.
    """
    from lingbot_depth_ros.tools.synthetic.messages import frame_messages
    return frame_messages(frame, frame_id)
