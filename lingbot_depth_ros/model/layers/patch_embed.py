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

"""Patch embedding: a stride-``patch_size`` convolution that turns an image into tokens."""

import torch
from torch import nn


class PatchEmbed(nn.Module):
    """Cut (B, C, H, W) into non-overlapping patches and project each to a token."""

    def __init__(self, patch_size: int, in_chans: int, embed_dim: int):
        """
        Build the projection (attribute ``proj``, as in the checkpoints).

        :param patch_size: patch side in pixels (14 for DINOv2).
        :param in_chans: input channels (3 for RGB, 1 for depth).
        :param embed_dim: token width.
        """
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """
        Embed the patches, row-major.

        :param x: input (B, C, H, W) with H and W multiples of ``patch_size``.
        :return: tokens (B, H/p * W/p, embed_dim).
        """
        if x.shape[-2] % self.patch_size or x.shape[-1] % self.patch_size:
            raise ValueError(
                f'input size: expected multiples of {self.patch_size}, '
                f'got {tuple(x.shape[-2:])}')
        return self.proj(x).flatten(2).transpose(1, 2)  # B, N, D
