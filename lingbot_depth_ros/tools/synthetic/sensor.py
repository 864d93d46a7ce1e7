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
Simulated active-stereo / structured-light depth sensor (numpy only).

The failures follow the physics the LingBot-Depth paper describes for consumer RGB-D
cameras:

* no return on transparent and mirror-like surfaces (the pattern is transmitted or
  reflected away), few returns on polished metal;
* no return where too little of the pattern comes back: very dark surfaces, grazing angles;
* shadow bands beside depth discontinuities: the projector (or second imager) sits
  ``baseline_m`` to the camera's +x, so background points it cannot see (hidden behind a
  foreground edge, on the left of that edge in the image) get no depth; likewise a band at
  the left image border outside the projector's view;
* dropout beyond the working range, nothing below the minimum range;
* Gaussian noise growing with depth squared (stereo triangulation), shot noise growing as
  the returned signal weakens, random speckle dropout, quantization to millimetres.
"""

from dataclasses import dataclass

from lingbot_depth_ros.tools.synthetic.geometry import intersect_scene, Scene
import numpy as np

# Failure codes of the per-pixel failure map, in order of precedence.
FAIL_NONE, FAIL_MATERIAL, FAIL_RANGE, FAIL_SHADOW, FAIL_DARK, FAIL_SPECKLE = range(6)

# Shadow rays stop this fraction short of the point they test, so the surface that holds
# the point does not shadow it through rounding.
SHADOW_T_MARGIN = 1e-3


@dataclass(frozen=True)
class SensorModel:
    """
    Parameters of the simulated depth sensor (defaults resemble a RealSense D435).

    :ivar baseline_m: projector / second imager offset along the camera's +x axis.
    :ivar min_range_m: no depth closer than this.
    :ivar max_range_m: no depth beyond this.
    :ivar range_falloff_m: dropout probability ramps from 0 to 1 over this distance before
        ``max_range_m``.
    :ivar dark_threshold: returned signal (IR reflectance x cos incidence) below which the
        sensor gets nothing.
    :ivar sigma_const_m: constant part of the Gaussian noise.
    :ivar sigma_quadratic: Gaussian noise per squared metre of depth (stereo error ~ z^2).
    :ivar shot_coeff: shot noise sigma is ``shot_coeff * z / sqrt(signal)``.
    :ivar speckle_rate: probability of a random dropout on a good pixel.
    :ivar quantization_m: output depth step.
    """

    baseline_m: float = 0.05
    min_range_m: float = 0.2
    max_range_m: float = 7.0
    range_falloff_m: float = 1.5
    dark_threshold: float = 0.06
    sigma_const_m: float = 0.001
    sigma_quadratic: float = 0.001
    shot_coeff: float = 0.0005
    speckle_rate: float = 0.002
    quantization_m: float = 0.001


def projector_shadow(scene: Scene, projector: np.ndarray, points: np.ndarray) -> np.ndarray:
    """
    Return which points the projector cannot see because an object is in the way.

    :param scene: the scene.
    :param projector: projector position in the world (3,).
    :param points: world points (N, 3).
    :return: bool (N,), True where the straight path from the projector is blocked.
    """
    origin = np.asarray(projector, dtype=np.float64)
    dirs = points - origin
    t_max = np.full(len(points), 1.0 - SHADOW_T_MARGIN)
    hit = intersect_scene(scene, origin, dirs, with_room=False, t_max=t_max)
    return np.isfinite(hit.t) & (hit.t < t_max)


def outside_projector_view(depth: np.ndarray, K: np.ndarray, baseline_m: float) -> np.ndarray:
    """
    Return the pixels whose surface point falls outside the projector's image.

    The projector has the camera's intrinsics and sits ``baseline_m`` along +x, so a point
    at pixel column u and depth z lands at column ``u - fx * baseline_m / z`` there.

    :param depth: depth in metres (H, W); non-finite entries are never outside.
    :param K: 3x3 pixel intrinsics.
    :param baseline_m: projector offset along the camera's +x axis.
    :return: bool (H, W).
    """
    height, width = depth.shape
    u = np.arange(width, dtype=np.float64)[None, :]
    with np.errstate(divide='ignore', invalid='ignore'):
        u_projector = u - K[0, 0] * baseline_m / depth
    return np.isfinite(depth) & ((u_projector < -0.5) | (u_projector > width - 0.5))


def simulate_sensor(depth_gt: np.ndarray, sensor_return: np.ndarray, signal: np.ndarray,
                    shadow: np.ndarray, model: SensorModel, rng: np.random.Generator):
    """
    Turn ground-truth depth into sensor depth with physically placed failures.

    :param depth_gt: ground-truth depth in metres (H, W), NaN where nothing was hit.
    :param sensor_return: per-pixel probability that the material returns a depth (H, W).
    :param signal: returned IR signal, reflectance x cos incidence (H, W).
    :param shadow: pixels the projector cannot see (H, W) bool.
    :param model: sensor parameters.
    :param rng: random generator (the only source of randomness).
    :return: ``(depth float32 (H, W) metres with 0 where no return, failure uint8 (H, W))``.
    """
    shape = depth_gt.shape
    z = np.nan_to_num(depth_gt, nan=0.0, posinf=0.0)
    failure = np.full(shape, FAIL_NONE, dtype=np.uint8)

    def fail(where: np.ndarray, code: int) -> None:
        failure[where & (failure == FAIL_NONE)] = code

    fail(~np.isfinite(depth_gt), FAIL_RANGE)
    fail(rng.random(shape) >= sensor_return, FAIL_MATERIAL)
    start = model.max_range_m - model.range_falloff_m
    p_far = np.clip((z - start) / max(model.range_falloff_m, 1e-9), 0.0, 1.0)
    fail((z < model.min_range_m) | (rng.random(shape) < p_far), FAIL_RANGE)
    fail(shadow, FAIL_SHADOW)
    fail(signal < model.dark_threshold, FAIL_DARK)
    fail(rng.random(shape) < model.speckle_rate, FAIL_SPECKLE)

    strength = np.maximum(signal, model.dark_threshold)
    sigma = (model.sigma_const_m + model.sigma_quadratic * z * z
             + model.shot_coeff * z / np.sqrt(strength))
    noisy = z + sigma * rng.standard_normal(shape)
    if model.quantization_m > 0.0:
        noisy = np.round(noisy / model.quantization_m) * model.quantization_m
    depth = np.where((failure == FAIL_NONE) & (noisy > 0.0), noisy, 0.0).astype(np.float32)
    return depth, failure
