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
The training forward pass and the losses of masked depth modeling.

Depth: L1 in metres at pixels with a valid target (the paper's loss). Mask head: binary
cross-entropy against the target's validity, on the logits (the inference path returns
probabilities, whose log is numerically poor near 0 and 1).
"""

from typing import Dict, Optional

import torch
import torch.nn.functional as F


def training_forward(model, image: torch.Tensor, depth: Optional[torch.Tensor],
                     num_tokens: int, amodal_mask: Optional[torch.Tensor] = None,
                     amodal_depth: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
    """
    Run the network as inference does, but return the mask head's logits.

    :param model: an MDMModel.
    :param image: RGB in [0, 1], (B, 3, H, W).
    :param depth: masked input depth in metres (B, H, W), or None (monocular).
    :param num_tokens: token budget.
    :param amodal_mask: (B, H, W) object extents for models with amodal guidance.
    :param amodal_depth: (B, H, W) the objects' visible readings (metres, 0 elsewhere).
    :return: {'depth': (B, H, W) metres, 'mask_logits': (B, H, W) when the model has a
        mask head}.
    """
    prepared = model.preprocess(image, num_tokens, depth, amodal_mask=amodal_mask,
                                amodal_depth=amodal_depth)
    features, cls_token = model.encoder(prepared)
    heads = model.decode(features, cls_token, prepared.aspect_ratio)
    size = tuple(image.shape[-2:])
    out = {}
    for name, value in heads.items():
        if tuple(value.shape[-2:]) != size:
            value = F.interpolate(value, size, mode='bilinear', align_corners=False)
        out[name] = value[:, 0].float()  # B, H, W
    raw = out.pop('depth')
    result = {'depth': raw.exp() if model.remap_depth_out == 'exp' else raw}
    if 'mask' in out:
        result['mask_logits'] = out['mask']
    return result


def masked_l1(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """
    Return the mean absolute error over the weighted pixels.

    :param pred: (B, H, W) metres.
    :param target: (B, H, W) metres.
    :param weight: (B, H, W) float, 0 where a pixel is not supervised.
    :return: scalar; 0 (with a gradient path) when no pixel is supervised.
    """
    total = weight.sum()
    # Invalid targets may hold anything: keep them out of the graph, not just weighted 0.
    error = torch.where(weight > 0, (pred - target).abs(), torch.zeros_like(pred))
    return (error * weight).sum() / total.clamp(min=1.0)


def depth_losses(outputs: Dict[str, torch.Tensor], target: torch.Tensor,
                 target_valid: torch.Tensor, mask_weight: float = 0.1
                 ) -> Dict[str, torch.Tensor]:
    """
    Return the training losses.

    :param outputs: :func:`training_forward` output.
    :param target: (B, H, W) metres.
    :param target_valid: (B, H, W) float 0/1.
    :param mask_weight: weight of the mask head's BCE in the total.
    :return: {'loss', 'l1', 'mask_bce' (when the model has a mask head)}.
    """
    l1 = masked_l1(outputs['depth'], target, target_valid)
    losses = {'l1': l1, 'loss': l1}
    if 'mask_logits' in outputs:
        bce = F.binary_cross_entropy_with_logits(outputs['mask_logits'], target_valid)
        losses['mask_bce'] = bce
        losses['loss'] = l1 + mask_weight * bce
    return losses
