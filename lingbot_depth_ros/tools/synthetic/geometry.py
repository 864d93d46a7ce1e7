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
Vectorised ray casting against the primitives of the synthetic scenes (numpy only).

World frame (right-handed, metres): y up, z into the room, so x points to the left of a
viewer looking along +z; the floor is y = 0. Rays are ``origins + t * dirs`` for
arrays of N rays; directions need not be unit length, so a camera ray built as
``R @ [rx, ry, 1]`` hits at ``t`` equal to the depth (camera z) of the hit.
"""

from dataclasses import dataclass, field
import math
from typing import Dict, List, Optional, Tuple

import numpy as np

# Hits closer than this (in units of t) are ignored, so a secondary ray leaving a surface
# does not hit that surface again through rounding.
T_EPS = 1e-6

# Faces of the room, in the order of Room.face_materials.
FLOOR, CEILING, WALL_X_NEG, WALL_X_POS, WALL_BACK, WALL_FRONT = range(6)


@dataclass(frozen=True)
class Sphere:
    """A sphere; ``material`` is a key of synthetic_materials.MATERIALS."""

    center: Tuple[float, float, float]
    radius: float
    material: str = 'diffuse'
    color: Tuple[float, float, float] = (0.7, 0.7, 0.7)


@dataclass(frozen=True)
class Box:
    """A box rotated by ``yaw`` (radians) about the world y axis."""

    center: Tuple[float, float, float]
    half_size: Tuple[float, float, float]
    yaw: float = 0.0
    material: str = 'diffuse'
    color: Tuple[float, float, float] = (0.7, 0.7, 0.7)


@dataclass(frozen=True)
class Cylinder:
    """A vertical cylinder standing on ``base`` (centre of its bottom cap)."""

    base: Tuple[float, float, float]
    radius: float
    height: float
    material: str = 'diffuse'
    color: Tuple[float, float, float] = (0.7, 0.7, 0.7)


@dataclass(frozen=True)
class Room:
    """The inside of an axis-aligned box: x in [-w/2, w/2], y in [0, h], z in [z0, z1]."""

    width: float = 5.0
    height: float = 2.8
    z_near: float = -1.0
    z_far: float = 6.0
    face_materials: Tuple[str, ...] = ('floor', 'ceiling', 'wall', 'wall', 'wall', 'wall')

    def bounds(self) -> Tuple[np.ndarray, np.ndarray]:
        """Return the (lower, upper) corners of the room as float64 3-vectors."""
        half = self.width / 2.0
        return (np.array([-half, 0.0, self.z_near]), np.array([half, self.height, self.z_far]))


@dataclass
class Scene:
    """A room, the objects in it, a point light, the room's colours and a texture seed."""

    room: Room
    objects: List[object] = field(default_factory=list)
    light: Tuple[float, float, float] = (0.0, 2.6, 2.5)
    texture_seed: int = 0
    room_colors: Dict[str, Tuple[float, float, float]] = field(default_factory=lambda: {
        'floor': (0.55, 0.38, 0.24), 'wall': (0.78, 0.76, 0.7), 'ceiling': (0.9, 0.9, 0.9)})


@dataclass
class Hit:
    """Nearest hits of N rays: ``t`` (inf = none), object index (-1 = room), room face."""

    t: np.ndarray
    obj: np.ndarray
    face: np.ndarray
    normal: np.ndarray


def bounding_sphere(obj) -> Tuple[np.ndarray, float]:
    """
    Return a sphere enclosing a primitive.

    :param obj: a Sphere, Box or Cylinder.
    :return: ``(centre float64 3-vector, radius)``.
    """
    if isinstance(obj, Sphere):
        return np.asarray(obj.center, dtype=np.float64), float(obj.radius)
    if isinstance(obj, Box):
        return np.asarray(obj.center, dtype=np.float64), float(np.linalg.norm(obj.half_size))
    if isinstance(obj, Cylinder):
        centre = np.asarray(obj.base, dtype=np.float64) + [0.0, obj.height / 2.0, 0.0]
        return centre, math.hypot(obj.radius, obj.height / 2.0)
    raise ValueError(f'obj: expected Sphere, Box or Cylinder, got {type(obj).__name__}')


def row_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """
    Return the dot product of each row of ``a`` (N, 3) with ``b`` ((N, 3) or one (3,)).

    :param a: (N, 3).
    :param b: (N, 3), or (3,) shared by all rows.
    :return: (N,).
    """
    if b.ndim == 1:
        # A matrix product with a (3, 1) column is many times faster than with a vector.
        return (a @ b[:, None]).reshape(-1)
    return np.einsum('ij,ij->i', a, b)


def intersect_sphere(center, radius: float, origins: np.ndarray, dirs: np.ndarray,
                     dir_norm2: Optional[np.ndarray] = None,
                     with_normals: bool = True) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """
    Intersect rays with a sphere from outside.

    :param center: sphere centre (3,).
    :param radius: sphere radius.
    :param origins: ray origins (N, 3), or one origin (3,) shared by all rays.
    :param dirs: ray directions (N, 3), any non-zero length.
    :param dir_norm2: squared lengths of ``dirs`` (N,) when already known.
    :param with_normals: compute the normals (else None is returned for them).
    :return: ``(t (N,) with inf for a miss, unit outward normals (N, 3))``.
    """
    oc = origins - np.asarray(center, dtype=np.float64)
    a = row_dot(dirs, dirs) if dir_norm2 is None else dir_norm2
    b = row_dot(dirs, oc)
    c = (oc @ oc if oc.ndim == 1 else row_dot(oc, oc)) - radius * radius
    disc = b * b - a * c
    with np.errstate(invalid='ignore'):
        t = (-b - np.sqrt(disc)) / a
    hit = (disc >= 0.0) & (t > T_EPS)
    t = np.where(hit, t, np.inf)
    if not with_normals:
        return t, None
    normal = (oc + np.where(hit, t, 0.0)[:, None] * dirs) / radius
    return t, normal


def _rotation_y(yaw: float) -> np.ndarray:
    cos, sin = math.cos(yaw), math.sin(yaw)
    return np.array([[cos, 0.0, sin], [0.0, 1.0, 0.0], [-sin, 0.0, cos]])


def intersect_box(box: Box, origins: np.ndarray,
                  dirs: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """
    Intersect rays with a yawed box (slab method in the box frame).

    :param box: the box.
    :param origins: ray origins (N, 3) or one (3,).
    :param dirs: ray directions (N, 3).
    :return: ``(t (N,) with inf for a miss, unit outward normals (N, 3))``.
    """
    rot = _rotation_y(box.yaw)  # world-from-box
    local_o = (origins - np.asarray(box.center)) @ rot  # N, 3 (= rot.T @ o for each row)
    local_d = dirs @ rot  # N, 3
    half = np.asarray(box.half_size, dtype=np.float64)
    with np.errstate(divide='ignore', invalid='ignore'):
        inv = 1.0 / local_d
        t1 = (-half - local_o) * inv  # N, 3
        t2 = (half - local_o) * inv  # N, 3
    t_near_axes = np.fmin(t1, t2)  # fmin: a NaN slab (ray on the slab plane) does not count
    t_near = np.max(t_near_axes, axis=1)
    t_far = np.min(np.fmax(t1, t2), axis=1)
    entering = t_near > T_EPS
    t = np.where(entering, t_near, t_far)
    hit = (t_far >= t_near) & (t > T_EPS)
    t = np.where(hit, t, np.inf)
    axis = np.where(entering, np.argmax(t_near_axes, axis=1),
                    np.argmin(np.fmax(t1, t2), axis=1))
    rows = np.arange(len(t))
    local_n = np.zeros(dirs.shape)
    sign = -np.sign(local_d[rows, axis])
    local_n[rows, axis] = np.where(entering, sign, -sign)
    return t, local_n @ rot.T


def intersect_cylinder(cyl: Cylinder, origins: np.ndarray,
                       dirs: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """
    Intersect rays with a closed vertical cylinder from outside.

    :param cyl: the cylinder.
    :param origins: ray origins (N, 3) or one (3,).
    :param dirs: ray directions (N, 3).
    :return: ``(t (N,) with inf for a miss, unit outward normals (N, 3))``.
    """
    base = np.asarray(cyl.base, dtype=np.float64)
    ox, oy, oz = (origins - base).T
    dx, dy, dz = dirs.T
    r2 = cyl.radius * cyl.radius
    a = dx * dx + dz * dz
    b = ox * dx + oz * dz
    c = ox * ox + oz * oz - r2
    disc = b * b - a * c
    with np.errstate(divide='ignore', invalid='ignore'):
        t_side = (-b - np.sqrt(disc)) / a
        y_side = oy + t_side * dy
        side_ok = (disc >= 0.0) & (t_side > T_EPS) & (y_side >= 0.0) & (y_side <= cyl.height)
        t_side = np.where(side_ok, t_side, np.inf)
        caps = []
        for y_cap in (0.0, cyl.height):
            t_cap = (y_cap - oy) / dy
            px, pz = ox + t_cap * dx, oz + t_cap * dz
            cap_ok = (t_cap > T_EPS) & (px * px + pz * pz <= r2)
            caps.append(np.where(cap_ok, t_cap, np.inf))
    t = np.minimum(t_side, np.minimum(caps[0], caps[1]))
    normal = np.zeros(dirs.shape)
    on_side = np.isfinite(t) & (t == t_side)
    normal[:, 0] = np.where(on_side, (ox + t * dx) / cyl.radius, 0.0)
    normal[:, 2] = np.where(on_side, (oz + t * dz) / cyl.radius, 0.0)
    normal[:, 1] = np.where(on_side, 0.0, np.where(t == caps[1], 1.0, -1.0))
    return t, normal


def intersect_room(room: Room, origins: np.ndarray,
                   dirs: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """
    Intersect rays starting inside the room with its faces.

    :param room: the room.
    :param origins: ray origins (N, 3) or one (3,), inside the room.
    :param dirs: ray directions (N, 3).
    :return: ``(t (N,), face index (N,) int8, unit inward normals (N, 3))``.
    """
    lower, upper = room.bounds()
    with np.errstate(divide='ignore', invalid='ignore'):
        t_axes = np.where(dirs > 0.0, (upper - origins) / dirs, (lower - origins) / dirs)
    t_axes = np.where(dirs == 0.0, np.inf, t_axes)  # N, 3
    axis = np.argmin(t_axes, axis=1)
    rows = np.arange(len(axis))
    t = t_axes[rows, axis]
    positive = dirs[rows, axis] > 0.0
    # Axis 0 -> side walls, 1 -> floor/ceiling, 2 -> front/back wall.
    face_of = np.array([[WALL_X_NEG, WALL_X_POS], [FLOOR, CEILING], [WALL_FRONT, WALL_BACK]])
    face = face_of[axis, positive.astype(np.int64)].astype(np.int8)
    normal = np.zeros(dirs.shape)
    normal[rows, axis] = np.where(positive, -1.0, 1.0)
    return t, face, normal


def intersect_object(obj, origins: np.ndarray,
                     dirs: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """
    Intersect rays with one primitive.

    :param obj: a Sphere, Box or Cylinder.
    :param origins: ray origins (N, 3) or one (3,).
    :param dirs: ray directions (N, 3).
    :return: ``(t (N,) with inf for a miss, unit outward normals (N, 3))``.
    """
    if isinstance(obj, Sphere):
        return intersect_sphere(obj.center, obj.radius, origins, dirs)
    if isinstance(obj, Box):
        return intersect_box(obj, origins, dirs)
    if isinstance(obj, Cylinder):
        return intersect_cylinder(obj, origins, dirs)
    raise ValueError(f'obj: expected Sphere, Box or Cylinder, got {type(obj).__name__}')


def _candidates(obj, origins: np.ndarray, dirs: np.ndarray, dir_norm2: np.ndarray,
                t_limit: np.ndarray) -> np.ndarray:
    """Return indices of the rays that may hit ``obj`` before ``t_limit`` (bounding sphere)."""
    centre, radius = bounding_sphere(obj)
    t, _ = intersect_sphere(centre, radius, origins, dirs, dir_norm2, with_normals=False)
    oc = origins - centre
    inside = (oc @ oc if oc.ndim == 1 else row_dot(oc, oc)) <= radius * radius
    return np.flatnonzero((np.isfinite(t) & (t < t_limit)) | inside)


def intersect_scene(scene: Scene, origins: np.ndarray, dirs: np.ndarray,
                    exclude: Optional[np.ndarray] = None, with_room: bool = True,
                    t_max: Optional[np.ndarray] = None) -> Hit:
    """
    Find the nearest hit of each ray among the room faces and the objects.

    :param scene: the scene.
    :param origins: ray origins (N, 3) float64, or one origin (3,) shared by all rays.
    :param dirs: ray directions (N, 3) float64.
    :param exclude: per-ray object index to ignore (N,) int, -1 for none (secondary rays).
    :param with_room: also intersect the room faces (off for shadow rays: the room is
        convex seen from inside, so it never occludes).
    :param t_max: per-ray upper bound of t (N,); hits beyond it are ignored.
    :return: the Hit.
    """
    n = len(dirs)
    shared_origin = origins.ndim == 1
    dir_norm2 = row_dot(dirs, dirs)
    if with_room:
        t, face, normal = intersect_room(scene.room, origins, dirs)
    else:
        t, face, normal = np.full(n, np.inf), np.full(n, -1, np.int8), np.zeros((n, 3))
    if t_max is not None:
        t = np.where(t <= t_max, t, np.inf)
    obj_index = np.full(n, -1, dtype=np.int32)
    for k, obj in enumerate(scene.objects):
        idx = _candidates(obj, origins, dirs, dir_norm2, t)
        if exclude is not None:
            idx = idx[exclude[idx] != k]
        if idx.size == 0:
            continue
        t_obj, n_obj = intersect_object(obj, origins if shared_origin else origins[idx],
                                        dirs[idx])
        closer = t_obj < t[idx]
        sel = idx[closer]
        t[sel] = t_obj[closer]
        normal[sel] = n_obj[closer]
        obj_index[sel] = k
        face[sel] = -1
    return Hit(t=t, obj=obj_index, face=face, normal=normal)
