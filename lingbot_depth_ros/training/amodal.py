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
Amodal fine-tuning: the depth of an object's hidden part, from its amodal mask.

After Amodal Depth Anything: a guidance embedding (mask, visible depth) is added to the
RGB patch tokens, zero-initialised so the completion model starts unchanged
(:func:`add_amodal_guidance`); training supervises the whole object, visible and hidden
part (better than the hidden part alone in that paper), plus the rest of the scene as
plain completion so that the model keeps doing it. Depth is metric, not relative.

A sample's target is the scene's ground truth outside the object and the object's own
surface (occluders removed) inside its amodal mask. A quarter of the samples (by default)
get a binary mask: every measured pixel inside it counts as visible, occluders included,
as when a user's segmenter gives no visibility.
"""

import copy
from dataclasses import dataclass
from typing import Dict, Sequence, Tuple

import numpy as np
import torch

from .augment import AugmentSettings, geometric, photometric
from .datasets import clean_depth, MaskedDepthDataset
from .losses import depth_losses, masked_l1
from .masking import masked_input_depth, MaskSettings, natural_patch_mask

GUIDANCE_KEYS = ('encoder.backbone.amodal_patch_embed.proj.weight',
                 'encoder.backbone.amodal_patch_embed.proj.bias')


def add_amodal_guidance(model):
    """
    Return a copy of a completion model with the zero-initialised amodal guidance input.

    Every weight of ``model`` is copied strictly; only the two guidance keys are new.

    :param model: an MDMModel without guidance.
    :return: a new MDMModel (CPU, eval mode) whose outputs equal ``model``'s.
    :raises ValueError: when the model already has guidance.
    """
    from lingbot_depth_ros.model import MDMModel

    if model.has_amodal_guidance:
        raise ValueError('model: expected a completion model without amodal guidance, '
                         'got one that already has it (fine-tune it directly)')
    config = copy.deepcopy(model.model_config)
    config['encoder']['amodal_guidance'] = True
    guided = MDMModel(**config)
    state = {k: v.detach().to('cpu', torch.float32) for k, v in model.state_dict().items()}
    result = guided.load_state_dict(state, strict=False)
    if result.unexpected_keys or sorted(result.missing_keys) != sorted(GUIDANCE_KEYS):
        raise ValueError(f'model: expected only {GUIDANCE_KEYS} to be new, got missing '
                         f'{result.missing_keys}, unexpected {result.unexpected_keys}')
    return guided.eval()


@dataclass
class AmodalSample:
    """
    One frame with an object's amodal ground truth.

    :ivar rgb: uint8 (H, W, 3), occluders in view.
    :ivar sensor: float32 (H, W) sensor depth in metres (0 / NaN invalid).
    :ivar gt: float32 (H, W) ground truth of the scene as seen (NaN unknown).
    :ivar K: float64 3x3 pixel intrinsics.
    :ivar amodal: bool (H, W), the object's full extent.
    :ivar visible: bool (H, W), the part of it the camera sees.
    :ivar target_depth: float32 (H, W) the object's depth without occluders, NaN outside
        ``amodal``.
    """

    rgb: np.ndarray
    sensor: np.ndarray
    gt: np.ndarray
    K: np.ndarray
    amodal: np.ndarray
    visible: np.ndarray
    target_depth: np.ndarray


class AmodalDataset(MaskedDepthDataset):
    """Turn a source of :class:`AmodalSample` into guided, masked training tensors."""

    def __init__(self, source: Sequence[AmodalSample], crop_size: Tuple[int, int],
                 masks: MaskSettings = MaskSettings(),
                 augment: AugmentSettings = AugmentSettings(), seed: int = 0,
                 binary_fraction: float = 0.25):
        """
        Wrap a source.

        :param source: sequence of samples.
        :param crop_size: (height, width), multiples of 14.
        :param masks: patch masking of the input depth (as for completion).
        :param augment: augmentation settings.
        :param seed: base seed of every draw.
        :param binary_fraction: share of samples whose mask says nothing about visibility.
        """
        if not 0.0 <= binary_fraction <= 1.0:
            raise ValueError(f'binary_fraction: expected 0..1, got {binary_fraction}')
        super().__init__(source, crop_size, masks, augment, seed)
        self.binary_fraction = float(binary_fraction)

    def __getitem__(self, index: int) -> Dict[str, torch.Tensor]:
        """
        Build one training example.

        :param index: sample index.
        :return: the keys of :class:`.datasets.MaskedDepthDataset` ('target' = the scene
            outside the object, the object's own surface inside) plus 'amodal_mask' and
            'amodal_depth' (the guidance: extent, visible part's reading) and 'object'
            and 'hidden' (float 0/1), all (H, W).
        """
        rng = np.random.default_rng([self.seed, self.epoch, int(index), 1])
        sample = self.source[index]
        sensor = clean_depth(sample.sensor)
        target = np.where(sample.amodal, clean_depth(sample.target_depth),
                          clean_depth(sample.gt)).astype(np.float32)
        maps = (sensor, target, sample.amodal.astype(np.float32),
                sample.visible.astype(np.float32))
        rgb, maps, K = geometric(sample.rgb, maps, sample.K, self.crop_size, rng, self.augment)
        sensor, target, amodal, visible = maps
        amodal, visible = amodal > 0.5, visible > 0.5
        rgb = photometric(rgb, rng, self.augment)
        if rng.random() < self.binary_fraction:
            visible = amodal
        guide = np.where(visible & (sensor > 0.0), sensor, 0.0).astype(np.float32)
        mask = natural_patch_mask(sensor > 0.0, rng, self.masks)
        depth = masked_input_depth(sensor, mask, rng, self.masks.noise_std)
        height, width = self.crop_size
        normalised = K.copy()
        normalised[0] /= width
        normalised[1] /= height

        def tensor(array):
            return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))

        return {
            'image': torch.from_numpy(rgb).permute(2, 0, 1).float().div_(255.0),
            'depth': torch.from_numpy(depth),
            'target': tensor(target),
            'target_valid': tensor(target > 0.0),
            'sensor': torch.from_numpy(sensor),
            'patch_mask': torch.from_numpy(mask),
            'intrinsics': torch.from_numpy(normalised.astype(np.float32)),
            'amodal_mask': tensor(amodal),
            'amodal_depth': torch.from_numpy(guide),
            'object': tensor(amodal & (target > 0.0)),
            'hidden': tensor(amodal & ~visible & (target > 0.0)),
        }


def amodal_losses(outputs: Dict[str, torch.Tensor], batch: Dict[str, torch.Tensor],
                  object_weight: float = 1.0, mask_weight: float = 0.1
                  ) -> Dict[str, torch.Tensor]:
    """
    Return the amodal training losses: completion everywhere plus the whole object.

    :param outputs: ``training_forward`` output.
    :param batch: a batch of :class:`AmodalDataset`.
    :param object_weight: weight of the L1 over the object's pixels (visible and hidden).
    :param mask_weight: weight of the mask head's BCE.
    :return: {'loss', 'l1', 'mask_bce', 'object_l1', 'hidden_l1' (logged, not in 'loss')}.
    """
    losses = depth_losses(outputs, batch['target'], batch['target_valid'], mask_weight)
    object_l1 = masked_l1(outputs['depth'], batch['target'], batch['object'])
    losses['object_l1'] = object_l1
    losses['loss'] = losses['loss'] + object_weight * object_l1
    with torch.no_grad():
        losses['hidden_l1'] = masked_l1(outputs['depth'], batch['target'], batch['hidden'])
    return losses
