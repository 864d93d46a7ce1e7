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

"""Residual 3x3 conv block of the ConvStack (MoGe v2 layout)."""

import torch
from torch import nn

from .activation import activate_, make_activation
from .conv import conv3x3
from .norm import make_norm


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
        h = act(h) if h is x else activate_(act, h)
        h = norm_hidden(conv_in(h))
        h = conv_out(activate_(act_hidden, h))
        return h.add_(x)
