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
Starting weights of a training run: from scratch, or a DINOv2 backbone file a user has.

(Starting from any ``model.pt`` is :func:`lingbot_depth_ros.model.load_model`.)
"""

from pathlib import Path
from typing import Dict, List

from lingbot_depth_ros.model.checkpoint import CheckpointError
import torch
from torch import nn

# The encoder's training-only parameters: never in a forward pass, so never trained.
UNUSED_PARAMETERS = ('encoder.backbone.mask_token', 'encoder.mask_token_mae')


def init_from_scratch(model: nn.Module, seed: int = 0) -> nn.Module:
    """
    Initialise a model's weights as a ViT is trained from scratch.

    Linear layers and position embeddings: truncated normal (std 0.02), biases 0;
    convolutions keep PyTorch's default (Kaiming uniform); LayerScale stays at 1.

    :param model: an MDMModel.
    :param seed: seed of the draw.
    :return: the model.
    """
    generator = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for name, module in model.named_modules():
            if isinstance(module, nn.Linear):
                _trunc_normal(module.weight, generator)
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
                module.reset_parameters()
        backbone = model.encoder.backbone
        for parameter in (backbone.pos_embed, backbone.cls_token):
            _trunc_normal(parameter, generator)
    return model


def _trunc_normal(tensor: torch.Tensor, generator: torch.Generator, std: float = 0.02):
    values = torch.randn(tensor.shape, generator=generator) * std
    tensor.copy_(values.clamp_(-2 * std, 2 * std))


def read_backbone_state(path) -> Dict[str, torch.Tensor]:
    """
    Read a DINOv2 backbone state dict (e.g. ``dinov2_vits14_pretrain.pth``).

    :param path: a ``torch.save`` state dict (possibly under 'model' / 'state_dict') or
        a .safetensors file.
    :return: the state dict with DINOv2 key names.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'backbone weights: no such file {path}')
    if path.suffix == '.safetensors':
        from safetensors.torch import load_file
        return load_file(str(path))
    state = torch.load(path, map_location='cpu', weights_only=True)
    for key in ('model', 'state_dict', 'teacher'):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise CheckpointError(f'{path}: expected a state dict, got {type(state).__name__}')
    return state


def load_backbone_weights(model: nn.Module, state: Dict[str, torch.Tensor]) -> List[str]:
    """
    Copy DINOv2 weights into the encoder's RGB backbone, strictly.

    Every backbone key must be present with its shape, except those DINOv2 does not
    have: the depth patch embedding (the second modality, trained from scratch) and
    LayerScale of backbones trained without it. Extra keys (heads) are an error unless
    they belong to a DINOv2 training head ('head.', 'dino_head.', 'ibot_head.').

    :param model: an MDMModel.
    :param state: DINOv2 state dict (keys like 'blocks.0.attn.qkv.weight').
    :return: the backbone keys left at their initial value.
    """
    state = {k[len('backbone.'):] if k.startswith('backbone.') else k: v
             for k, v in state.items()}
    state = {k: v for k, v in state.items()
             if not k.startswith(('head.', 'dino_head.', 'ibot_head.'))}
    target = model.encoder.backbone.state_dict()
    own_only = [k for k in target if k not in state]
    allowed = [k for k in own_only if k.startswith('depth_patch_embed.') or '.ls' in k]
    problems = [f'missing: {k}' for k in own_only if k not in allowed]
    problems += [f'unexpected: {k}' for k in state if k not in target]
    problems += [f'shape of {k}: checkpoint {tuple(v.shape)}, model {tuple(target[k].shape)}'
                 for k, v in state.items() if k in target and v.shape != target[k].shape]
    if problems:
        raise CheckpointError('backbone weights do not fit encoder.backbone:\n  '
                              + '\n  '.join(problems))
    model.encoder.backbone.load_state_dict(state, strict=False)
    return allowed


def freeze_unused(model: nn.Module) -> List[str]:
    """
    Stop gradients on parameters no forward pass uses (DDP requires every trained one).

    :param model: an MDMModel.
    :return: the names frozen.
    """
    frozen = []
    for name, parameter in model.named_parameters():
        if name in UNUSED_PARAMETERS:
            parameter.requires_grad_(False)
            frozen.append(name)
    return frozen
