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

"""x2 upsampling between ConvStack levels."""

import torch
from torch import nn

from .conv import conv3x3

RESAMPLERS = ('conv_transpose', 'pixel_shuffle', 'bilinear', 'nearest')


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
