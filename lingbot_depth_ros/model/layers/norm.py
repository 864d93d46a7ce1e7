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

"""Normalisation layers of the ConvStack residual blocks."""

import torch
from torch import nn
import torch.nn.functional as F

NORMS = ('layer_norm', 'group_norm', 'instance_norm', 'none')


class GroupNorm(nn.GroupNorm):
    """
    ``nn.GroupNorm`` (same parameters) that stays float32-accurate on channels-last input.

    PyTorch's channels-last GroupNorm kernel accumulates its statistics in a way that
    loses ~1e-4 relative precision over the ~30M values of a full-resolution decoder
    level; this path computes them with the contiguous kernel on the flat NHWC memory
    (one group) or ``var_mean`` (several groups) and applies the affine per channel.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """
        Normalise.

        :param x: (B, C, H, W) in any memory format.
        :return: normalised tensor in the memory format of ``x``.
        """
        if x.dim() == 4 and torch.compiler.is_compiling():
            return self.staged_forward(x)
        if x.dim() != 4 or x.is_contiguous() or \
                not x.is_contiguous(memory_format=torch.channels_last):
            return super().forward(x)
        batch, channels, height, width = x.shape
        nhwc = x.permute(0, 2, 3, 1)  # B, H, W, C (contiguous)
        if self.num_groups == 1:
            y = F.group_norm(nhwc.reshape(batch, 1, -1), 1, eps=self.eps)  # B, 1, HWC
        else:
            grouped = nhwc.reshape(batch, height * width, self.num_groups, -1)  # B, HW, G, C/G
            var, mean = torch.var_mean(grouped, dim=(1, 3), correction=0, keepdim=True)
            y = (grouped - mean) * torch.rsqrt(var + self.eps)  # B, HW, G, C/G
        y = y.view(batch, height, width, channels)  # B, H, W, C
        if self.affine:  # per-channel affine along the contiguous last axis
            if torch.is_grad_enabled():
                y = torch.addcmul(self.bias, y, self.weight)  # B, H, W, C
            else:  # y is a temporary: overwrite it instead of allocating another
                torch.addcmul(self.bias, y, self.weight, out=y)
        return y.permute(0, 3, 1, 2)  # B, C, H, W (channels-last memory)

    def staged_forward(self, x: torch.Tensor) -> torch.Tensor:
        """
        Normalise with statistics reduced one axis at a time (what traced graphs run).

        Exported graphs would otherwise reduce a whole group in one ReduceMean, which
        onnxruntime sums sequentially in float32: 2e-3 relative error over the ~10M values
        of a full-resolution level. Reducing W, then H, then the channels keeps every sum
        short (1e-6).

        :param x: (B, C, H, W).
        :return: the normalised (B, C, H, W).
        """
        batch, channels, height, width = x.shape
        grouped = x.reshape(batch, self.num_groups, channels // self.num_groups, height, width)
        mean = grouped.mean(4, keepdim=True).mean(3, keepdim=True).mean(2, keepdim=True)
        centred = grouped - mean
        var = (centred * centred).mean(4, keepdim=True).mean(3, keepdim=True).mean(
            2, keepdim=True)
        y = (centred * torch.rsqrt(var + self.eps)).reshape(batch, channels, height, width)
        if self.affine:
            y = y * self.weight[:, None, None] + self.bias[:, None, None]
        return y


def make_norm(kind: str, channels: int) -> nn.Module:
    """
    Return the normalisation layer named by a ConvStack config.

    :param kind: 'layer_norm' (GroupNorm, 1 group), 'group_norm' (channels // 32
        groups), 'instance_norm' (no affine) or 'none'.
    :param channels: channels to normalise.
    :return: the module (``nn.Identity`` for 'none').
    """
    if kind == 'layer_norm':
        return GroupNorm(1, channels)
    if kind == 'group_norm':
        groups = channels // 32
        if groups < 1 or channels % groups:
            raise ValueError(
                f'group_norm: expected >= 32 channels divisible into channels // 32 '
                f'groups, got {channels} channels')
        return GroupNorm(groups, channels)
    if kind == 'instance_norm':
        # Per-sample, per-channel, no affine and no buffers: the same state dict as
        # nn.InstanceNorm2d, with the accurate channels-last path.
        return GroupNorm(channels, channels, affine=False)
    if kind == 'none':
        return nn.Identity()
    raise ValueError(f'norm: expected one of {NORMS}, got {kind!r}')
