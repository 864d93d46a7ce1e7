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
Training samples: any RGB-D source turned into masked network inputs and targets.

A source is any sequence (``len`` and ``[i]``) of :class:`RGBDSample`. The tools provide
the synthetic renderer, folder datasets and rosbag2 recordings as sources; this module
only crops, augments, masks and converts, so training never depends on where frames come
from. Samples without ground truth are self-supervised: the sensor's valid readings are
the target, and the masked ones are what the network must reconstruct.

Every draw comes from a generator seeded by (seed, epoch, index): a sample is the same
whichever worker or process loads it, so runs and resumed runs are reproducible.
"""

from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch

from .augment import AugmentSettings, geometric, photometric
from .masking import masked_input_depth, MaskSettings, natural_patch_mask, PATCH


@dataclass
class RGBDSample:
    """
    One RGB-D frame of a training source.

    :ivar rgb: uint8 (H, W, 3).
    :ivar sensor: float32 (H, W) sensor depth in metres, 0 or NaN where invalid.
    :ivar gt: float32 (H, W) ground truth in metres (NaN / 0 unknown), or None for
        self-supervised data (the sensor is the target).
    :ivar K: float64 3x3 pixel intrinsics.
    """

    rgb: np.ndarray
    sensor: np.ndarray
    gt: Optional[np.ndarray]
    K: np.ndarray


def clean_depth(depth: np.ndarray) -> np.ndarray:
    """
    Return depth with every non-finite or non-positive value set to 0 (the hole code).

    :param depth: (H, W) metres.
    :return: float32 (H, W).
    """
    depth = np.asarray(depth, dtype=np.float32)
    return np.where(np.isfinite(depth) & (depth > 0.0), depth, 0.0).astype(np.float32)


def check_crop_size(size: Tuple[int, int]) -> Tuple[int, int]:
    """
    Check a training crop size: the model sees it unresized, so it must fit the patches.

    :param size: (height, width) in pixels.
    :return: the size as a tuple.
    """
    height, width = (int(s) for s in size)
    if height <= 0 or width <= 0 or height % PATCH or width % PATCH:
        raise ValueError(f'crop size: expected positive multiples of {PATCH} px, '
                         f'got {height}x{width}')
    return height, width


class MaskedDepthDataset(torch.utils.data.Dataset):
    """Turn a source of :class:`RGBDSample` into masked training tensors."""

    def __init__(self, source: Sequence[RGBDSample], crop_size: Tuple[int, int],
                 masks: MaskSettings = MaskSettings(),
                 augment: AugmentSettings = AugmentSettings(), seed: int = 0):
        """
        Wrap a source.

        :param source: sequence of samples.
        :param crop_size: (height, width) of every training input, multiples of 14.
        :param masks: patch masking settings.
        :param augment: augmentation settings.
        :param seed: base seed of every draw.
        """
        if len(source) == 0:
            raise ValueError('training source: expected at least one sample, got none')
        self.source = source
        self.crop_size = check_crop_size(crop_size)
        self.masks = masks
        self.augment = augment
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch, so each epoch draws new crops and masks."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        """Return the number of source samples."""
        return len(self.source)

    @property
    def num_tokens(self) -> int:
        """Return the token budget whose grid is exactly the crop's patch grid."""
        return (self.crop_size[0] // PATCH) * (self.crop_size[1] // PATCH)

    def __getitem__(self, index: int) -> Dict[str, torch.Tensor]:
        """
        Build one training example.

        :param index: sample index.
        :return: {'image' (3, H, W) float [0, 1], 'depth' (H, W) masked noisy input,
            'target' (H, W) metres (0 = no supervision), 'target_valid' (H, W) float,
            'sensor' (H, W) clean sensor depth, 'patch_mask' (h, w) bool,
            'intrinsics' (3, 3) normalised}.
        """
        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        sample = self.source[index]
        sensor = clean_depth(sample.sensor)
        gt = None if sample.gt is None else clean_depth(sample.gt)
        rgb, (sensor, gt), K = geometric(sample.rgb, (sensor, gt), sample.K,
                                         self.crop_size, rng, self.augment)
        rgb = photometric(rgb, rng, self.augment)
        mask = natural_patch_mask(sensor > 0.0, rng, self.masks)
        depth = masked_input_depth(sensor, mask, rng, self.masks.noise_std)
        target = sensor if gt is None else gt
        height, width = self.crop_size
        normalised = K.copy()
        normalised[0] /= width
        normalised[1] /= height
        return {
            'image': torch.from_numpy(rgb).permute(2, 0, 1).float().div_(255.0),
            'depth': torch.from_numpy(depth),
            'target': torch.from_numpy(target),
            'target_valid': torch.from_numpy((target > 0.0).astype(np.float32)),
            'sensor': torch.from_numpy(sensor),
            'patch_mask': torch.from_numpy(mask),
            'intrinsics': torch.from_numpy(normalised.astype(np.float32)),
        }
