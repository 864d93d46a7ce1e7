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

NORMS = ('layer_norm', 'group_norm', 'instance_norm', 'none')
ACTIVATIONS = ('relu', 'leaky_relu', 'silu', 'elu')
RESAMPLERS = ('conv_transpose', 'pixel_shuffle', 'bilinear', 'nearest')


def conv3x3(in_channels: int, out_channels: int) -> nn.Conv2d:
    """
    Return a 3x3 convolution with replicate padding, as every decoder conv uses.

    :param in_channels: input channels.
    :param out_channels: output channels.
    :return: the convolution module.
    """
    return nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1,
                     padding_mode='replicate')


def make_norm(kind: str, channels: int) -> nn.Module:
    """
    Return the normalisation layer named by a ConvStack config.

    :param kind: 'layer_norm' (GroupNorm, 1 group), 'group_norm' (channels // 32
        groups), 'instance_norm' (no affine) or 'none'.
    :param channels: channels to normalise.
    :return: the module (``nn.Identity`` for 'none').
    """
    if kind == 'layer_norm':
        return nn.GroupNorm(1, channels)
    if kind == 'group_norm':
        groups = channels // 32
        if groups < 1 or channels % groups:
            raise ValueError(
                f'group_norm: expected >= 32 channels divisible into channels // 32 '
                f'groups, got {channels} channels')
        return nn.GroupNorm(groups, channels)
    if kind == 'instance_norm':
        return nn.InstanceNorm2d(channels)
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
        return x + self.layers(x)


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
            layers = [conv3x3(in_channels, 4 * out_channels), nn.PixelShuffle(2),
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
