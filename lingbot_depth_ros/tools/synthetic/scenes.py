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

"""Random indoor scene layouts and camera paths, deterministic by seed (numpy only)."""

import math
from typing import List

from lingbot_depth_ros.tools.synthetic.geometry import Box, Cylinder, Room, Scene, Sphere
import numpy as np

# Materials every scene contains at least once, so each has the sensor's hard cases.
REQUIRED_MATERIALS = ('glass', 'glass', 'mirror', 'metal', 'black')

# Objects stand at least this far in front of the camera path (z of the path <= 0.5 m).
OBJECT_Z_MIN = 1.6

# Objects are placed within this angle (radians) either side of the first camera's heading.
HALF_SPREAD = 0.45


def look_at(position, target, up=(0.0, 1.0, 0.0)) -> np.ndarray:
    """
    Return the world-from-camera-optical pose of a camera looking at a point.

    Optical frame: x right in the image, y down, z along the viewing direction.

    :param position: camera centre in the world (3,).
    :param target: point to look at (3,), not straight above or below the camera.
    :param up: world up direction.
    :return: float64 4x4 transform with a proper rotation.
    """
    position = np.asarray(position, dtype=np.float64)
    forward = np.asarray(target, dtype=np.float64) - position
    right = np.cross(forward, np.asarray(up, dtype=np.float64))
    if np.linalg.norm(forward) == 0.0 or np.linalg.norm(right) < 1e-9:
        raise ValueError(f'target: expected a point off the vertical through the camera, '
                         f'got {tuple(target)} from {tuple(position)}')
    forward /= np.linalg.norm(forward)
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = right, down, forward, position
    return pose


def _color(rng: np.random.Generator, material: str):
    if material == 'glass':
        return (0.75, 0.9, 0.92)
    if material == 'mirror':
        return (0.85, 0.85, 0.85)
    if material == 'metal':
        grey = rng.uniform(0.55, 0.8)
        return (grey, grey * rng.uniform(0.9, 1.0), grey * rng.uniform(0.8, 1.0))
    if material == 'black':
        return (0.025, 0.025, 0.03)
    hue = rng.uniform(0.0, 2.0 * math.pi)
    base = 0.45 + 0.3 * np.cos(hue + np.array([0.0, 2.1, 4.2]))
    return tuple(float(c) for c in np.clip(base * rng.uniform(0.7, 1.2), 0.08, 0.95))


def _shape(rng: np.random.Generator, material: str, x: float, z: float):
    """Return a primitive of ``material`` standing on the floor at (x, z) and its footprint."""
    color = _color(rng, material)
    if material == 'mirror':
        half = (rng.uniform(0.3, 0.5), rng.uniform(0.55, 0.9), 0.02)
        box = Box((x, half[1], z), half, rng.uniform(-0.5, 0.5), material, color)
        return box, half[0]
    kinds = ('sphere', 'cylinder') if material in ('glass', 'metal') else (
        'box', 'cylinder', 'sphere', 'box')
    kind = kinds[rng.integers(len(kinds))]
    if kind == 'sphere':
        radius = rng.uniform(0.15, 0.4)
        return Sphere((x, radius, z), radius, material, color), radius
    if kind == 'cylinder':
        radius = rng.uniform(0.1, 0.3)
        return Cylinder((x, 0.0, z), radius, rng.uniform(0.3, 1.3), material, color), radius
    half = (rng.uniform(0.15, 0.45), rng.uniform(0.1, 0.6), rng.uniform(0.15, 0.4))
    box = Box((x, half[1], z), half, rng.uniform(-math.pi, math.pi), material, color)
    return box, math.hypot(half[0], half[2])


def make_scene(seed: int) -> Scene:
    """
    Build the random room and objects of scene ``seed``.

    :param seed: any non-negative integer; the same seed always gives the same scene.
    :return: the scene.
    """
    if seed < 0:
        raise ValueError(f'seed: expected >= 0, got {seed}')
    rng = np.random.default_rng([seed, 7919])
    room = Room(width=rng.uniform(4.0, 6.0), height=rng.uniform(2.6, 3.0), z_near=-0.6,
                z_far=rng.uniform(5.5, 7.5))
    materials = list(REQUIRED_MATERIALS) + ['diffuse'] * int(rng.integers(3, 7))
    rng.shuffle(materials)
    # Place objects where the first camera of the path sees them (a cone around its axis).
    start = camera_poses(seed, 1)[0]
    centre, forward = start[:3, 3], start[:3, 2]
    heading = math.atan2(forward[0], forward[2])
    objects, footprints = [], []
    for material in materials:
        for _ in range(100):
            # Mirrors stand at the back, clear and shiny things in front, so none hides
            # the others completely.
            near, far = OBJECT_Z_MIN, room.z_far - 0.4 - centre[2]
            split = near + 0.55 * (far - near)
            if material == 'mirror':
                near = split
            elif material in ('glass', 'metal'):
                far = split
            distance = rng.uniform(near, far)
            bearing = heading + rng.uniform(-1.0, 1.0) * HALF_SPREAD
            x = centre[0] + distance * math.sin(bearing)
            z = centre[2] + distance * math.cos(bearing)
            obj, radius = _shape(rng, material, x, z)
            inside = (radius < room.width / 2 - abs(x) - 0.05) and z + radius < room.z_far - 0.05
            if inside and all(
                    math.hypot(x - fx, z - fz) > radius + fr + 0.05
                    for fx, fz, fr in footprints):
                objects.append(obj)
                footprints.append((x, z, radius))
                break
    wall = _color(rng, 'diffuse')
    colors = {'floor': tuple(np.array((0.55, 0.38, 0.24)) * rng.uniform(0.7, 1.2)),
              'wall': tuple(0.55 + 0.4 * np.asarray(wall)), 'ceiling': (0.9, 0.9, 0.88)}
    light = (rng.uniform(-1.0, 1.0), room.height - 0.15, rng.uniform(2.0, 4.0))
    return Scene(room=room, objects=objects, light=light, texture_seed=seed,
                 room_colors=colors)


def camera_poses(seed: int, n_frames: int) -> List[np.ndarray]:
    """
    Return a short smooth camera path (dolly forward and sideways, slow pan) of scene seed.

    :param seed: scene seed.
    :param n_frames: number of poses (>= 1).
    :return: list of float64 4x4 world-from-camera-optical poses.
    """
    if n_frames < 1:
        raise ValueError(f'n_frames: expected >= 1, got {n_frames}')
    rng = np.random.default_rng([seed, 104729])
    start = np.array([rng.uniform(-0.4, 0.4), rng.uniform(1.2, 1.5), 0.0])
    target = np.array([rng.uniform(-0.5, 0.5), rng.uniform(0.4, 0.8), rng.uniform(3.0, 4.0)])
    travel = np.array([rng.choice([-1.0, 1.0]) * rng.uniform(0.2, 0.4), 0.0,
                       rng.uniform(0.2, 0.5)])
    pan = np.array([rng.uniform(-0.5, 0.5), 0.0, 0.0])
    poses = []
    for i in range(n_frames):
        s = i / max(n_frames - 1, 1)
        ease = 0.5 - 0.5 * math.cos(math.pi * s)  # starts and stops smoothly
        poses.append(look_at(start + ease * travel, target + ease * pan))
    return poses
