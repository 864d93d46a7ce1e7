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
Masked depth modeling masks on the 14-px patch grid, as the LingBot-Depth paper states them.

The sensor's own failures are the masks ("natural masks"): a patch without any valid
reading is always masked; a patch mixing valid and invalid readings is masked with
probability 0.75; fully valid patches are then masked at random until a ratio drawn from
[0.6, 0.9] is reached. A natural hole is never unmasked to meet the ratio. Depth without
holes falls back to random patch masking at the drawn ratio; a small fraction of samples
is masked completely and trains the monocular mode.
"""

from dataclasses import dataclass
from typing import Tuple

import numpy as np

PATCH = 14


@dataclass(frozen=True)
class MaskSettings:
    """
    Parameters of the patch masking.

    :ivar ratio_range: masked fraction of all patches, drawn uniformly per sample.
    :ivar mixed_probability: chance that a patch with some invalid readings is masked.
    :ivar monocular_fraction: chance that a sample is masked completely.
    :ivar noise_std: relative Gaussian noise on the input depth (sigma = std * depth).
    """

    ratio_range: Tuple[float, float] = (0.6, 0.9)
    mixed_probability: float = 0.75
    monocular_fraction: float = 0.05
    noise_std: float = 0.01

    def __post_init__(self):
        """Reject settings the masking cannot honour."""
        low, high = self.ratio_range
        if not 0.0 <= low <= high <= 1.0:
            raise ValueError(f'ratio_range: expected 0 <= low <= high <= 1, '
                             f'got {self.ratio_range}')
        for name in ('mixed_probability', 'monocular_fraction'):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f'{name}: expected a probability in [0, 1], got {value}')
        if not self.noise_std >= 0.0:
            raise ValueError(f'noise_std: expected >= 0, got {self.noise_std}')


def patch_valid_fraction(valid: np.ndarray, patch: int = PATCH) -> np.ndarray:
    """
    Return the fraction of valid readings in each patch.

    :param valid: bool (H, W) with H and W multiples of ``patch``.
    :param patch: patch size in pixels.
    :return: float (H / patch, W / patch) in [0, 1].
    """
    if valid.ndim != 2 or valid.shape[0] % patch or valid.shape[1] % patch:
        raise ValueError(f'valid: expected (H, W) multiples of {patch}, got {valid.shape}')
    rows, cols = valid.shape[0] // patch, valid.shape[1] // patch
    return valid.reshape(rows, patch, cols, patch).mean(axis=(1, 3))


def natural_patch_mask(valid: np.ndarray, rng: np.random.Generator,
                       settings: MaskSettings = MaskSettings(),
                       patch: int = PATCH) -> np.ndarray:
    """
    Draw the masked patches of one sample.

    :param valid: bool (H, W) validity of the sensor depth, H and W multiples of ``patch``.
    :param rng: the sample's random generator.
    :param settings: ratios and probabilities.
    :param patch: patch size in pixels.
    :return: bool (H / patch, W / patch), True where the depth patch is masked.
    """
    fraction = patch_valid_fraction(valid, patch)
    if rng.random() < settings.monocular_fraction:
        return np.ones(fraction.shape, dtype=bool)
    empty = fraction == 0.0
    mixed = (fraction > 0.0) & (fraction < 1.0)
    masked = empty | (mixed & (rng.random(fraction.shape) < settings.mixed_probability))
    ratio = rng.uniform(*settings.ratio_range)
    wanted = int(round(ratio * fraction.size))
    # Without natural holes the ratio alone decides; with them, fully valid patches
    # (then the unmasked mixed ones) fill the gap, and natural holes are never undone.
    candidates = np.flatnonzero(~masked & (fraction == 1.0))
    extra = max(0, wanted - int(masked.sum()))
    if extra > candidates.size:
        leftover = np.flatnonzero(~masked & mixed)
        candidates = np.concatenate([rng.permutation(candidates), rng.permutation(leftover)])
        chosen = candidates[:extra]
    else:
        chosen = rng.choice(candidates, size=extra, replace=False)
    flat = masked.reshape(-1).copy()
    flat[chosen] = True
    return flat.reshape(fraction.shape)


def expand_patch_mask(mask: np.ndarray, patch: int = PATCH) -> np.ndarray:
    """
    Expand a patch mask to pixels.

    :param mask: bool (rows, cols).
    :param patch: patch size in pixels.
    :return: bool (rows * patch, cols * patch).
    """
    return np.repeat(np.repeat(mask, patch, axis=0), patch, axis=1)


def masked_input_depth(depth: np.ndarray, mask: np.ndarray, rng: np.random.Generator,
                       noise_std: float, patch: int = PATCH) -> np.ndarray:
    """
    Return the depth the network sees: masked patches zeroed, noise on the rest.

    A zeroed patch carries no usable reading, so the model drops its depth token.

    :param depth: float32 (H, W) metres, 0 where invalid.
    :param mask: bool (H / patch, W / patch) from :func:`natural_patch_mask`.
    :param rng: the sample's random generator.
    :param noise_std: relative Gaussian noise (sigma = noise_std * depth).
    :param patch: patch size in pixels.
    :return: float32 (H, W).
    """
    keep = ~expand_patch_mask(mask, patch) & (depth > 0.0)
    noisy = depth * (1.0 + noise_std * rng.standard_normal(depth.shape)) if noise_std \
        else depth
    return np.where(keep, np.maximum(noisy, 0.0), 0.0).astype(np.float32)
