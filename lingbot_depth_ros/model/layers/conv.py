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

"""3x3 convolution with replicate padding, as every ConvStack convolution uses."""

import torch
from torch import nn
import torch.nn.functional as F


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
