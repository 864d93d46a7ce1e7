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

"""Per-channel residual scaling (LayerScale) of the DINOv2 blocks."""

import torch
from torch import nn


class LayerScale(nn.Module):
    """Multiply tokens by a learned per-channel ``gamma``."""

    def __init__(self, dim: int, init_values: float = 1.0):
        """
        Create ``gamma``.

        :param dim: token width.
        :param init_values: initial value of every channel.
        """
        super().__init__()
        self.gamma = nn.Parameter(torch.full((dim,), float(init_values)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """
        Scale the tokens.

        :param x: tokens (..., C).
        :return: ``x * gamma``.
        """
        return x * self.gamma
