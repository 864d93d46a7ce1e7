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
Training augmentations: geometric ones keep RGB, depth and intrinsics consistent.

Geometric: random resized crop (depth resized nearest, so a hole stays a hole and no
depth is invented between surfaces) and horizontal flip. Photometric, RGB only: colour
jitter, JPEG re-encoding, motion blur, shot noise — the image degradations of a robot's
camera that must not change the predicted geometry.
"""

from dataclasses import dataclass
from typing import Optional, Tuple

import cv2
import numpy as np


@dataclass(frozen=True)
class AugmentSettings:
    """
    Strength of each augmentation (0 or False disables it).

    :ivar crop_scale: range of the crop's area as a share of the image.
    :ivar crop_ratio: range of the crop's aspect ratio relative to the output's.
    :ivar hflip: flip horizontally with probability 0.5.
    :ivar jitter: colour jitter strength (brightness, contrast, saturation).
    :ivar jpeg_probability: chance of JPEG re-encoding at quality 30..90.
    :ivar blur_probability: chance of a linear motion blur of 3..9 px.
    :ivar shot_noise_probability: chance of Poisson shot noise.
    """

    crop_scale: Tuple[float, float] = (0.25, 1.0)
    crop_ratio: Tuple[float, float] = (0.8, 1.25)
    hflip: bool = True
    jitter: float = 0.3
    jpeg_probability: float = 0.3
    blur_probability: float = 0.2
    shot_noise_probability: float = 0.2

    def __post_init__(self):
        """Reject ranges no crop can honour."""
        for name in ('crop_scale', 'crop_ratio'):
            low, high = getattr(self, name)
            if not 0.0 < low <= high or (name == 'crop_scale' and high > 1.0):
                raise ValueError(f'{name}: expected 0 < low <= high'
                                 f"{' <= 1' if name == 'crop_scale' else ''}, "
                                 f'got {getattr(self, name)}')


NONE = AugmentSettings(crop_scale=(1.0, 1.0), crop_ratio=(1.0, 1.0), hflip=False, jitter=0.0,
                       jpeg_probability=0.0, blur_probability=0.0, shot_noise_probability=0.0)


def crop_box(image_size: Tuple[int, int], output_size: Tuple[int, int],
             rng: np.random.Generator, settings: AugmentSettings) -> Tuple[int, int, int, int]:
    """
    Draw a crop (x0, y0, width, height) inside the image.

    :param image_size: (height, width) of the image.
    :param output_size: (height, width) the crop is resized to.
    :param rng: random generator.
    :param settings: crop scale and aspect ranges.
    :return: (x0, y0, width, height) in pixels.
    """
    height, width = image_size
    out_h, out_w = output_size
    area = height * width * rng.uniform(*settings.crop_scale)
    aspect = out_w / out_h * rng.uniform(*settings.crop_ratio)
    crop_w = int(round(min(width, np.sqrt(area * aspect))))
    crop_h = int(round(min(height, crop_w / aspect)))
    crop_w, crop_h = max(crop_w, 1), max(crop_h, 1)
    x0 = int(rng.integers(0, width - crop_w + 1))
    y0 = int(rng.integers(0, height - crop_h + 1))
    return x0, y0, crop_w, crop_h


def crop_intrinsics(K: np.ndarray, box: Tuple[int, int, int, int],
                    output_size: Tuple[int, int]) -> np.ndarray:
    """
    Return the intrinsics of a crop resized to ``output_size`` (half-pixel centres).

    :param K: 3x3 pixel intrinsics of the image.
    :param box: (x0, y0, width, height) of the crop.
    :param output_size: (height, width) after the resize.
    :return: 3x3 intrinsics of the output.
    """
    x0, y0, crop_w, crop_h = box
    sx, sy = output_size[1] / crop_w, output_size[0] / crop_h
    out = np.array(K, dtype=np.float64, copy=True)
    out[0, 0] *= sx
    out[1, 1] *= sy
    out[0, 2] = (K[0, 2] - x0 + 0.5) * sx - 0.5
    out[1, 2] = (K[1, 2] - y0 + 0.5) * sy - 0.5
    return out


def flip_intrinsics(K: np.ndarray, width: int) -> np.ndarray:
    """
    Return the intrinsics of a horizontally flipped image.

    :param K: 3x3 pixel intrinsics.
    :param width: image width.
    :return: 3x3 intrinsics; cx mirrored about the image centre.
    """
    out = np.array(K, dtype=np.float64, copy=True)
    out[0, 2] = width - 1 - K[0, 2]
    return out


def geometric(rgb: np.ndarray, depths: Tuple[Optional[np.ndarray], ...], K: np.ndarray,
              output_size: Tuple[int, int], rng: np.random.Generator,
              settings: AugmentSettings):
    """
    Crop, resize and maybe flip an RGB-D sample consistently.

    :param rgb: uint8 (H, W, 3).
    :param depths: depth maps (H, W) to transform alike (None entries pass through).
    :param K: 3x3 intrinsics.
    :param output_size: (height, width) of the output.
    :param rng: random generator.
    :param settings: augmentation settings.
    :return: (rgb, depths, K) at ``output_size``.
    """
    box = crop_box(rgb.shape[:2], output_size, rng, settings)
    x0, y0, crop_w, crop_h = box
    size = (output_size[1], output_size[0])
    rgb = cv2.resize(rgb[y0:y0 + crop_h, x0:x0 + crop_w], size, interpolation=cv2.INTER_AREA
                     if crop_w > size[0] else cv2.INTER_LINEAR)
    depths = tuple(None if d is None else cv2.resize(
        np.ascontiguousarray(d[y0:y0 + crop_h, x0:x0 + crop_w]), size,
        interpolation=cv2.INTER_NEAREST) for d in depths)
    K = crop_intrinsics(K, box, output_size)
    if settings.hflip and rng.random() < 0.5:
        rgb = np.ascontiguousarray(rgb[:, ::-1])
        depths = tuple(None if d is None else np.ascontiguousarray(d[:, ::-1])
                       for d in depths)
        K = flip_intrinsics(K, output_size[1])
    return rgb, depths, K


def photometric(rgb: np.ndarray, rng: np.random.Generator,
                settings: AugmentSettings) -> np.ndarray:
    """
    Degrade the colour image as a robot camera would (geometry unchanged).

    :param rgb: uint8 (H, W, 3).
    :param rng: random generator.
    :param settings: augmentation settings.
    :return: uint8 (H, W, 3).
    """
    image = rgb.astype(np.float32)
    if settings.jitter:
        strength = settings.jitter
        image *= rng.uniform(1 - strength, 1 + strength)  # brightness
        mean = image.mean()
        image = (image - mean) * rng.uniform(1 - strength, 1 + strength) + mean  # contrast
        grey = image.mean(axis=2, keepdims=True)
        image = (image - grey) * rng.uniform(1 - strength, 1 + strength) + grey  # saturation
    if rng.random() < settings.shot_noise_probability:
        photons = rng.uniform(20.0, 200.0)  # photons at full scale: lower is darker, noisier
        image = rng.poisson(np.clip(image, 0, 255) / 255.0 * photons) / photons * 255.0
    if rng.random() < settings.blur_probability:
        length = int(rng.integers(3, 10))
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2] = 1.0 / length
        centre = (length / 2 - 0.5, length / 2 - 0.5)
        rotation = cv2.getRotationMatrix2D(centre, float(rng.uniform(0, 180)), 1.0)
        kernel = cv2.warpAffine(kernel, rotation, (length, length))
        image = cv2.filter2D(image, -1, kernel / max(kernel.sum(), 1e-6))
    out = np.clip(image, 0, 255).astype(np.uint8)
    if rng.random() < settings.jpeg_probability:
        quality = int(rng.integers(30, 91))
        ok, data = cv2.imencode('.jpg', out, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            out = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    return out
