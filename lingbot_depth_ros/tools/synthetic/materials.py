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
Materials of the synthetic scenes: colour textures, shading and infrared behaviour.

Each material says how it looks (albedo texture, specular reflection, transparency) and how
an active-stereo / structured-light depth sensor sees it: ``ir_reflectance`` is the share of
the projected pattern sent back diffusely (too little -> no return, as on black surfaces),
``sensor_return`` the probability that the sensor gets a depth at all (0 for glass and
mirrors, whose pattern is transmitted or reflected away, low for polished metal).
"""

from dataclasses import dataclass
from typing import Dict

import numpy as np


@dataclass(frozen=True)
class Material:
    """Appearance and infrared behaviour of one material class."""

    name: str
    material_id: int
    kind: str
    texture: str
    ir_reflectance: float
    sensor_return: float


MATERIALS: Dict[str, Material] = {m.name: m for m in (
    Material('none', 0, 'none', 'plain', 0.0, 0.0),
    Material('floor', 1, 'diffuse', 'planks', 0.55, 1.0),
    Material('wall', 2, 'diffuse', 'plaster', 0.8, 1.0),
    Material('ceiling', 3, 'diffuse', 'plain', 0.85, 1.0),
    Material('diffuse', 4, 'diffuse', 'noise', 0.7, 1.0),
    Material('glass', 5, 'glass', 'plain', 0.0, 0.0),
    Material('mirror', 6, 'mirror', 'plain', 0.0, 0.0),
    Material('metal', 7, 'metal', 'brushed', 0.3, 0.15),
    Material('black', 8, 'diffuse', 'noise', 0.02, 1.0),
)}

# Share of the transmitted / reflected scene in the colour of see-through and shiny surfaces.
TRANSMITTANCE = {'glass': 0.72, 'mirror': 0.88, 'metal': 0.5}

AMBIENT = 0.28
DIFFUSE = 0.85
SHININESS = 60.0


def material_table(field: str) -> np.ndarray:
    """
    Return one per-material field as an array indexed by material id.

    :param field: 'ir_reflectance' or 'sensor_return'.
    :return: float64 array of length len(MATERIALS).
    """
    if field not in ('ir_reflectance', 'sensor_return'):
        raise ValueError(f"field: expected 'ir_reflectance' or 'sensor_return', got {field!r}")
    table = np.zeros(len(MATERIALS))
    for material in MATERIALS.values():
        table[material.material_id] = getattr(material, field)
    return table


def noise_table(seed: int, size: int = 64) -> np.ndarray:
    """
    Return a tileable table of smooth-able random values for value noise.

    :param seed: random seed.
    :param size: side of the square table.
    :return: float64 (size, size) in [0, 1).
    """
    return np.random.default_rng(seed).random((size, size))


def value_noise(table: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """
    Sample bilinear value noise at continuous coordinates (one lattice cell per unit).

    :param table: noise table from :func:`noise_table`.
    :param u: first coordinate (N,).
    :param v: second coordinate (N,).
    :return: noise in [0, 1) (N,).
    """
    size = table.shape[0]
    u0, v0 = np.floor(u), np.floor(v)
    fu, fv = u - u0, v - v0
    fu, fv = fu * fu * (3.0 - 2.0 * fu), fv * fv * (3.0 - 2.0 * fv)  # smoothstep: no grid seams
    i0, j0 = u0.astype(np.int64) % size, v0.astype(np.int64) % size
    i1, j1 = (i0 + 1) % size, (j0 + 1) % size
    top = table[j0, i0] * (1.0 - fu) + table[j0, i1] * fu
    bottom = table[j1, i0] * (1.0 - fu) + table[j1, i1] * fu
    return top * (1.0 - fv) + bottom * fv


def _fractal(table: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return (0.6 * value_noise(table, u, v) + 0.3 * value_noise(table, 2.1 * u + 7.3, 2.1 * v)
            + 0.1 * value_noise(table, 4.3 * u, 4.3 * v + 3.1))


def albedo(texture: str, color: np.ndarray, points: np.ndarray, normals: np.ndarray,
           table: np.ndarray) -> np.ndarray:
    """
    Return the diffuse colour of surface points.

    :param texture: 'plain', 'planks', 'plaster', 'noise' or 'brushed'.
    :param color: base colour (N, 3) or (3,) in [0, 1].
    :param points: world points (N, 3).
    :param normals: unit normals (N, 3).
    :param table: noise table.
    :return: albedo (N, 3) in [0, 1].
    """
    x, y, z = points.T
    color = np.broadcast_to(np.asarray(color, dtype=np.float64), points.shape)
    if texture == 'plain':
        return color.copy()
    if texture == 'planks':
        plank = np.floor(x / 0.18)
        tint = value_noise(table, plank * 5.3, plank * 1.7)
        grain = _fractal(table, x * 40.0, z * 2.5 + plank * 13.0)
        seam = (np.abs(x / 0.18 - np.round(x / 0.18)) < 0.03).astype(np.float64)
        scale = (0.7 + 0.35 * tint) * (0.8 + 0.3 * grain) * (1.0 - 0.45 * seam)
        return np.clip(color * scale[:, None], 0.0, 1.0)
    if texture == 'plaster':
        # Horizontal coordinate along the wall: x on front/back walls, z on side walls.
        along = np.where(np.abs(normals[:, 0]) > 0.5, z, x)
        grain = _fractal(table, along * 6.0, y * 6.0)
        baseboard = (y < 0.1).astype(np.float64)
        scale = (0.88 + 0.2 * grain) * (1.0 - 0.6 * baseboard)
        return np.clip(color * scale[:, None], 0.0, 1.0)
    if texture == 'noise':
        grain = _fractal(table, (x + z) * 8.0, y * 8.0 + 11.0)
        return np.clip(color * (0.75 + 0.4 * grain)[:, None], 0.0, 1.0)
    if texture == 'brushed':
        grain = value_noise(table, y * 90.0, (x - z) * 2.0)
        return np.clip(color * (0.85 + 0.25 * grain)[:, None], 0.0, 1.0)
    raise ValueError(f'texture: expected plain, planks, plaster, noise or brushed, '
                     f'got {texture!r}')


def lambert(points: np.ndarray, normals: np.ndarray, light: np.ndarray) -> np.ndarray:
    """
    Return diffuse irradiance from one point light plus ambient light.

    :param points: world points (N, 3).
    :param normals: unit normals (N, 3), facing the viewer.
    :param light: light position (3,).
    :return: irradiance (N,).
    """
    to_light = np.asarray(light) - points
    dist2 = np.einsum('ij,ij->i', to_light, to_light)
    cos = np.einsum('ij,ij->i', normals, to_light) / np.sqrt(dist2)
    return AMBIENT + DIFFUSE * np.clip(cos, 0.0, None) / (1.0 + 0.04 * dist2)


def highlight(points: np.ndarray, normals: np.ndarray, view_dirs: np.ndarray,
              light: np.ndarray) -> np.ndarray:
    """
    Return the Blinn-Phong specular highlight of a point light.

    :param points: world points (N, 3).
    :param normals: unit normals (N, 3).
    :param view_dirs: directions of the incoming rays (N, 3), any length.
    :param light: light position (3,).
    :return: highlight intensity (N,) in [0, 1].
    """
    to_light = np.asarray(light) - points
    to_light /= np.linalg.norm(to_light, axis=1, keepdims=True)
    to_eye = -view_dirs / np.linalg.norm(view_dirs, axis=1, keepdims=True)
    half = to_light + to_eye
    half /= np.maximum(np.linalg.norm(half, axis=1, keepdims=True), 1e-12)
    return np.clip(np.einsum('ij,ij->i', normals, half), 0.0, 1.0) ** SHININESS
