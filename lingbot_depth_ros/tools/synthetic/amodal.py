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
Amodal ground truth: an object partly hidden by occluders, and its full depth.

A scene of :func:`make_amodal_scene` is a synthetic room (``scenes.make_scene``) with a
graspable target object at table height (it floats: no table is drawn) 1-2 m from the
camera and 1-3 occluders between them, placed so that a varied share of the target is
hidden. Rays cast once through the whole scene and
once through it without the occluders give the target's visible part, its amodal mask
(everything of it an occluder hides included) and its depth there. Deterministic by seed;
training scenes use seeds from ``tools.train.sources.TRAIN_SEED`` on, evaluation seeds 0
upwards.
"""

from dataclasses import dataclass, replace
import math
from typing import List, Optional, Sequence, Tuple

from lingbot_depth_ros.backends.amodal import encode_amodal_mask
from lingbot_depth_ros.tools.synthetic.geometry import (bounding_sphere, Box, Cylinder,
                                                        intersect_scene, Scene, Sphere)
from lingbot_depth_ros.tools.synthetic.renderer import (_camera_rays, intrinsics, render_view,
                                                        SyntheticFrame)
from lingbot_depth_ros.tools.synthetic.scenes import _color, camera_poses, make_scene
from lingbot_depth_ros.tools.synthetic.sensor import SensorModel
import numpy as np

HIDDEN_RANGE = (0.15, 0.7)  # share of the target's amodal area the occluders hide
CHECK_SIZE = (96, 72)  # (width, height) of the placement check's ray cast
ATTEMPTS = 40


@dataclass
class AmodalFrame:
    """
    A rendered frame with the amodal ground truth of one target object.

    :ivar frame: the whole scene as the camera sees it (occluders in view).
    :ivar amodal: bool HxW, where the target is hit once the occluders are removed.
    :ivar visible: bool HxW, where the target is hit in the whole scene.
    :ivar target_depth: float32 HxW, the target's depth without occluders, NaN outside
        ``amodal``.
    :ivar target: index of the target in ``frame``'s scene objects.
    :ivar occluders: indices of the occluders.
    """

    frame: SyntheticFrame
    amodal: np.ndarray
    visible: np.ndarray
    target_depth: np.ndarray
    target: int
    occluders: Tuple[int, ...]

    @property
    def hidden(self) -> np.ndarray:
        """Return the part of the target that the occluders hide."""
        return self.amodal & ~self.visible

    @property
    def hidden_fraction(self) -> float:
        """Return the hidden share of the target's amodal area."""
        return float(self.hidden.sum()) / max(int(self.amodal.sum()), 1)

    def mask_image(self) -> np.ndarray:
        """Return the mono8 amodal mask (255 visible, 128 hidden, 0 outside)."""
        return encode_amodal_mask(self.amodal, self.visible)


def amodal_ground_truth(scene: Scene, target: int, occluders: Sequence[int], pose: np.ndarray,
                        K: np.ndarray, width: int, height: int
                        ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """
    Cast the camera's rays with and without the occluders.

    :param scene: the whole scene.
    :param target: index of the target object in ``scene.objects``.
    :param occluders: indices of the objects to remove.
    :param pose: float64 4x4 world-from-camera-optical transform.
    :param K: float64 3x3 pixel intrinsics.
    :param width: image width in pixels.
    :param height: image height in pixels.
    :return: (amodal bool HxW, visible bool HxW, target depth float32 HxW NaN outside).
    """
    count = len(scene.objects)
    if not 0 <= target < count:
        raise ValueError(f'target: expected an object index in 0..{count - 1}, got {target}')
    if target in occluders or any(not 0 <= k < count for k in occluders):
        raise ValueError(f'occluders: expected object indices other than the target '
                         f'{target}, got {list(occluders)}')
    pose = np.asarray(pose, dtype=np.float64)
    dirs = _camera_rays(np.asarray(K, dtype=np.float64), width, height, pose[:3, :3])
    centre = pose[:3, 3].copy()
    visible = intersect_scene(scene, centre, dirs).obj == target
    kept = [k for k in range(count) if k not in set(occluders)]
    bare = replace(scene, objects=[scene.objects[k] for k in kept])
    hit = intersect_scene(bare, centre, dirs)
    amodal = hit.obj == kept.index(target)
    depth = np.where(amodal, hit.t, np.nan).astype(np.float32)
    shape = (height, width)
    return amodal.reshape(shape), visible.reshape(shape), depth.reshape(shape)


def _primitive(rng: np.random.Generator, centre, scale: float, material: str):
    """Return a box, cylinder or sphere centred at ``centre``, about ``2 scale`` wide."""
    x, y, z = centre
    color = _color(rng, material)
    kind = rng.choice(['box', 'cylinder', 'sphere'], p=[0.45, 0.35, 0.2])
    if kind == 'sphere':
        radius = scale * rng.uniform(0.8, 1.1)
        return Sphere((x, y, z), radius, material, color)
    if kind == 'cylinder':
        radius, length = scale * rng.uniform(0.5, 0.9), scale * rng.uniform(1.0, 3.0)
        return Cylinder((x, y - length / 2.0, z), radius, length, material, color)
    half = (scale * rng.uniform(0.6, 1.0), scale * rng.uniform(0.5, 1.5),
            scale * rng.uniform(0.5, 1.0))
    return Box((x, y, z), half, rng.uniform(-math.pi, math.pi), material, color)


def _clear_of(obj, points: np.ndarray, margin: float) -> bool:
    """Tell whether an object's bounding circle (xz) keeps ``margin`` from every point."""
    centre, radius = bounding_sphere(obj)
    return bool(np.all(np.hypot(points[:, 0] - centre[0], points[:, 1] - centre[2])
                       > radius + margin))


def _attempt(rng: np.random.Generator, base: Scene, pose: np.ndarray):
    """Draw a target and occluders; return (scene, target index, occluder indices)."""
    position, forward, right = pose[:3, 3], pose[:3, 2], pose[:3, 0]
    # Aim within the central part of the view, at 1-2 m: the target is in the image and
    # covers a few of the network's patches.
    aim = forward + rng.uniform(-0.25, 0.25) * right + rng.uniform(-0.15, 0.15) * pose[:3, 1]
    centre = position + rng.uniform(1.0, 2.0) * aim / np.linalg.norm(aim)
    tx, tz = centre[0], centre[2]
    material = rng.choice(['diffuse', 'black', 'metal'], p=[0.8, 0.1, 0.1])
    target = _primitive(rng, centre, rng.uniform(0.1, 0.22), material)
    # The path from the camera to the target stays free of the room's own objects, so
    # only the occluders placed here hide it.
    path = np.stack([np.linspace(position[0], tx, 12), np.linspace(position[2], tz, 12)], 1)
    objects = [o for o in base.objects if _clear_of(o, path, 0.35)]
    occluders = []
    for _ in range(int(rng.integers(1, 4))):
        share = rng.uniform(0.4, 0.8)
        offset = rng.uniform(-0.2, 0.2) * right + rng.uniform(-0.15, 0.15) * pose[:3, 1]
        kind = rng.choice(['diffuse', 'glass', 'metal', 'black'], p=[0.7, 0.1, 0.1, 0.1])
        occluders.append(_primitive(rng, position + share * (centre - position) + offset,
                                    rng.uniform(0.04, 0.14), kind))
    scene = replace(base, objects=objects + [target] + occluders)
    first = len(objects) + 1
    return scene, len(objects), tuple(range(first, first + len(occluders)))


def make_amodal_scene(seed: int) -> Tuple[Scene, int, Tuple[int, ...], np.ndarray]:
    """
    Build amodal scene ``seed``: a target hidden in part (``HIDDEN_RANGE``) by occluders.

    Placements are drawn until the target lies wholly inside the image and the hidden
    share is in range (checked on a coarse ray cast); the last draw is kept if none is.

    :param seed: any non-negative integer.
    :return: (scene, target index, occluder indices, camera pose float64 4x4).
    """
    if seed < 0:
        raise ValueError(f'seed: expected >= 0, got {seed}')
    base = make_scene(seed)
    pose = camera_poses(seed, 1)[0]
    rng = np.random.default_rng([seed, 31337])
    width, height = CHECK_SIZE
    K = intrinsics(width, height)
    best = None
    for _ in range(ATTEMPTS):
        scene, target, occluders = _attempt(rng, base, pose)
        amodal, visible, _ = amodal_ground_truth(scene, target, occluders, pose, K, width,
                                                 height)
        area = int(amodal.sum())
        border = amodal[0].any() or amodal[-1].any() or amodal[:, 0].any() or amodal[:, -1].any()
        if area < 12 or border:
            continue
        share = float((amodal & ~visible).sum()) / area
        best = (scene, target, occluders, pose)
        if HIDDEN_RANGE[0] <= share <= HIDDEN_RANGE[1]:
            return best
    if best is None:
        raise RuntimeError(f'amodal scene {seed}: no placement put the target in view')
    return best


def render_amodal(seed: int, width: int = 640, height: int = 480,
                  sensor: Optional[SensorModel] = None) -> AmodalFrame:
    """
    Render amodal scene ``seed`` with its ground truth.

    :param seed: scene seed.
    :param width: image width in pixels.
    :param height: image height in pixels.
    :param sensor: sensor model; the default when None.
    :return: the AmodalFrame.
    """
    scene, target, occluders, pose = make_amodal_scene(seed)
    K = intrinsics(width, height)
    frame = render_view(scene, pose, K, width, height, sensor=sensor, seed=seed)
    amodal, visible, depth = amodal_ground_truth(scene, target, occluders, pose, K, width,
                                                 height)
    return AmodalFrame(frame, amodal, visible, depth, target, occluders)


def hidden_fractions(seeds: Sequence[int]) -> List[float]:
    """
    Return the hidden share of each scene's target (placement check resolution).

    :param seeds: scene seeds.
    :return: one fraction per seed.
    """
    out = []
    width, height = CHECK_SIZE
    K = intrinsics(width, height)
    for seed in seeds:
        scene, target, occluders, pose = make_amodal_scene(seed)
        amodal, visible, _ = amodal_ground_truth(scene, target, occluders, pose, K, width,
                                                 height)
        out.append(float((amodal & ~visible).sum()) / max(int(amodal.sum()), 1))
    return out
