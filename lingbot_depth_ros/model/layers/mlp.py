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

"""Feed-forward layers of the DINOv2 blocks: GELU MLP and fused SwiGLU (ViT-g)."""

import torch
from torch import nn
import torch.nn.functional as F


class Mlp(nn.Module):
    """Two-layer MLP with exact (erf) GELU, attribute names ``fc1`` / ``fc2``."""

    def __init__(self, in_features: int, hidden_features: int, bias: bool = True):
        """
        Build the two linear layers.

        :param in_features: token width.
        :param hidden_features: hidden width (4x the token width in DINOv2).
        :param bias: whether both layers have biases.
        """
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features, bias=bias)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_features, in_features, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """
        Apply fc1, GELU, fc2.

        :param x: tokens (..., C).
        :return: tokens (..., C).
        """
        return self.fc2(self.act(self.fc1(x)))


def swiglu_hidden_features(hidden_features: int) -> int:
    """
    Return DINOv2's SwiGLU hidden width: two thirds of the MLP width, rounded up to 8.

    :param hidden_features: the plain MLP hidden width (mlp_ratio x width).
    :return: the SwiGLU hidden width (4096 for ViT-g's 6144).
    """
    return (int(hidden_features * 2 / 3) + 7) // 8 * 8


class SwiGLUFFN(nn.Module):
    """SwiGLU feed-forward (DINOv2 ViT-g), attribute names ``w12`` / ``w3``."""

    def __init__(self, in_features: int, hidden_features: int, bias: bool = True):
        """
        Build the fused gate/value projection and the output projection.

        :param in_features: token width.
        :param hidden_features: plain MLP hidden width; reduced by
            :func:`swiglu_hidden_features` as in DINOv2.
        :param bias: whether both layers have biases.
        """
        super().__init__()
        hidden = swiglu_hidden_features(hidden_features)
        self.w12 = nn.Linear(in_features, 2 * hidden, bias=bias)
        self.w3 = nn.Linear(hidden, in_features, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """
        Apply silu(x W1) * (x W2), then W3.

        :param x: tokens (..., C).
        :return: tokens (..., C).
        """
        gate, value = self.w12(x).chunk(2, dim=-1)  # ..., hidden each
        return self.w3(F.silu(gate) * value)
