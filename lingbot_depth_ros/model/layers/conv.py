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

"""Convolutional building blocks of the ConvStack decoder (MoGe v2 layout)."""

import torch
from torch import nn
import torch.nn.functional as F

NORMS = ('layer_norm', 'group_norm', 'instance_norm', 'none')
ACTIVATIONS = ('relu', 'leaky_relu', 'silu', 'elu')
RESAMPLERS = ('conv_transpose', 'pixel_shuffle', 'bilinear', 'nearest')


class ReplicateConv2d(nn.Conv2d):
    """
    3x3 convolution with 1-pixel replicate padding (``nn.Conv2d`` parameters).

    Eager mode pads with ``F.pad``; under ``torch.compile`` the padding is built from
    edge slices instead, which works around an inductor failure (PyTorch 2.13) on
    replicate padding after a pixel shuffle.
    """

    def __init__(self, in_channels: int, out_channels: int):
        """
        Build the convolution.

        :param in_channels: input channels.
        :param out_channels: output channels.
        """
        super().__init__(in_channels, out_channels, kernel_size=3, padding=1,
                         padding_mode='replicate')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """
        Pad by edge replication and convolve.

        :param x: (B, C_in, H, W).
        :return: (B, C_out, H, W).
        """
        if torch.compiler.is_compiling():
            x = torch.cat([x[..., :1, :], x, x[..., -1:, :]], dim=-2)  # B, C, H+2, W
            x = torch.cat([x[..., :1], x, x[..., -1:]], dim=-1)  # B, C, H+2, W+2
        else:
            x = F.pad(x, (1, 1, 1, 1), mode='replicate')  # B, C, H+2, W+2
        return F.conv2d(x, self.weight, self.bias)


def conv3x3(in_channels: int, out_channels: int) -> nn.Conv2d:
    """
    Return a 3x3 convolution with replicate padding, as every decoder conv uses.

    :param in_channels: input channels.
    :param out_channels: output channels.
    :return: the convolution module.
    """
    return ReplicateConv2d(in_channels, out_channels)


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


def make_activation(kind: str) -> nn.Module:
    """
    Return the activation named by a ConvStack config.

    :param kind: 'relu', 'leaky_relu' (slope 0.2), 'silu' or 'elu'.
    :return: the module.
    """
    if kind == 'relu':
        return nn.ReLU()
    if kind == 'leaky_relu':
        return nn.LeakyReLU(negative_slope=0.2)
    if kind == 'silu':
        return nn.SiLU()
    if kind == 'elu':
        return nn.ELU()
    raise ValueError(f'activation: expected one of {ACTIVATIONS}, got {kind!r}')


def _act_(act: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """
    Apply an activation in place (x must be a temporary nobody else reads).

    :param act: activation module from :func:`make_activation`.
    :param x: tensor to overwrite.
    :return: ``x``.
    """
    if isinstance(act, nn.ReLU):
        return x.relu_()
    if isinstance(act, nn.LeakyReLU):
        return F.leaky_relu_(x, act.negative_slope)
    if isinstance(act, nn.SiLU):
        return F.silu(x, inplace=True)
    if isinstance(act, nn.ELU):
        return F.elu_(x, act.alpha)
    return act(x)


class ResidualConvBlock(nn.Module):
    """
    ``x + conv(act(norm(conv(act(norm(x))))))`` with 3x3 replicate-padded convs.

    ``layers`` indices 0..5 are (in-norm, act, conv, hidden-norm, act, conv), which is
    the checkpoint layout (norms of type 'none' have no weights).
    """

    def __init__(self, channels: int, hidden_channels: int, activation: str = 'relu',
                 in_norm: str = 'layer_norm', hidden_norm: str = 'group_norm'):
        """
        Build the block.

        :param channels: input and output channels.
        :param hidden_channels: channels between the two convs.
        :param activation: activation name, see :func:`make_activation`.
        :param in_norm: norm before the first conv, see :func:`make_norm`.
        :param hidden_norm: norm before the second conv.
        """
        super().__init__()
        self.layers = nn.Sequential(
            make_norm(in_norm, channels),
            make_activation(activation),
            conv3x3(channels, hidden_channels),
            make_norm(hidden_norm, hidden_channels),
            make_activation(activation),
            conv3x3(hidden_channels, channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """
        Apply the residual branch and add the input.

        :param x: features (B, C, H, W).
        :return: features (B, C, H, W).
        """
        norm_in, act, conv_in, norm_hidden, act_hidden, conv_out = self.layers
        # Activations run in place on fresh norm outputs; never on x itself.
        h = norm_in(x)
        h = act(h) if h is x else _act_(act, h)
        h = norm_hidden(conv_in(h))
        h = conv_out(_act_(act_hidden, h))
        return h.add_(x)


class PixelShuffle(nn.PixelShuffle):
    """
    ``nn.PixelShuffle`` that keeps channels-last input channels-last.

    The stock op returns NCHW (one more reorder before the next convolution), and
    inductor cannot compile it on channels-last input in PyTorch 2.13.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """
        Move blocks of r*r channels into r x r pixel blocks.

        :param x: (B, C r^2, H, W).
        :return: (B, C, H r, W r), out[b, c, h r + i, w r + j] = x[b, c r^2 + i r + j, h, w].
        """
        if x.dim() != 4 or x.is_contiguous() or \
                not x.is_contiguous(memory_format=torch.channels_last):
            return super().forward(x)
        r = self.upscale_factor
        batch, channels, height, width = x.shape
        blocks = x.view(batch, channels // (r * r), r, r, height, width)  # B, C, i, j, H, W
        nhwc = blocks.permute(0, 4, 2, 5, 3, 1).reshape(
            batch, height * r, width * r, channels // (r * r))  # B, H r, W r, C
        return nhwc.permute(0, 3, 1, 2)  # B, C, H r, W r (channels-last memory)


class Resampler(nn.Sequential):
    """
    x2 upsampling between ConvStack levels; the Sequential indices match checkpoints.

    * 'conv_transpose': ConvTranspose2d(k=2, s=2), then 3x3 conv.
    * 'pixel_shuffle': 3x3 conv to 4x channels, PixelShuffle(2), 3x3 conv.
    * 'bilinear' / 'nearest': x2 interpolation (half-pixel centres), then 3x3 conv.
    """

    def __init__(self, in_channels: int, out_channels: int, kind: str):
        """
        Build the resampler.

        :param in_channels: channels of the coarser level.
        :param out_channels: channels of the finer level.
        :param kind: one of :data:`RESAMPLERS`.
        """
        if kind == 'conv_transpose':
            layers = [nn.ConvTranspose2d(in_channels, out_channels, kernel_size=2, stride=2),
                      conv3x3(out_channels, out_channels)]
        elif kind == 'pixel_shuffle':
            layers = [conv3x3(in_channels, 4 * out_channels), PixelShuffle(2),
                      conv3x3(out_channels, out_channels)]
        elif kind == 'bilinear':
            layers = [nn.Upsample(scale_factor=2, mode='bilinear', align_corners=False),
                      conv3x3(in_channels, out_channels)]
        elif kind == 'nearest':
            layers = [nn.Upsample(scale_factor=2, mode='nearest'),
                      conv3x3(in_channels, out_channels)]
        else:
            raise ValueError(f'resampler: expected one of {RESAMPLERS}, got {kind!r}')
        super().__init__(*layers)
