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

"""Pre-norm transformer block of DINOv2 (attention and FFN, both with LayerScale)."""

from typing import Optional

import torch
from torch import nn

from .attention import Attention
from .layer_scale import LayerScale
from .mlp import Mlp, SwiGLUFFN


class Block(nn.Module):
    """``x += ls1(attn(norm1(x))); x += ls2(mlp(norm2(x)))`` with LayerNorm eps 1e-6."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0,
                 ffn_layer: str = 'mlp', init_values: float = 1.0):
        """
        Build the block.

        :param dim: token width.
        :param num_heads: attention heads.
        :param mlp_ratio: FFN hidden width over token width.
        :param ffn_layer: 'mlp' (GELU MLP) or 'swiglu' (fused SwiGLU, ViT-g).
        :param init_values: LayerScale initial value.
        """
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads)
        self.ls1 = LayerScale(dim, init_values)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        if ffn_layer == 'mlp':
            self.mlp = Mlp(dim, hidden)
        elif ffn_layer == 'swiglu':
            self.mlp = SwiGLUFFN(dim, hidden)
        else:
            raise ValueError(f"ffn_layer: expected 'mlp' or 'swiglu', got {ffn_layer!r}")
        self.ls2 = LayerScale(dim, init_values)

    def forward(self, x: torch.Tensor, key_mask: Optional[torch.Tensor] = None,
                num_queries: Optional[int] = None) -> torch.Tensor:
        """
        Run the block.

        :param x: tokens (B, N, C).
        :param key_mask: bool (B, N), True where a token may be attended to.
        :param num_queries: when given, compute only the first ``num_queries`` outputs
            (used for the last block, whose trailing depth tokens nobody reads).
        :return: tokens (B, num_queries or N, C).
        """
        attn = self.attn(self.norm1(x), key_mask, num_queries)  # B, Q, C
        if num_queries is not None:
            x = x[:, :num_queries]  # B, Q, C
        x = x + self.ls1(attn)
        return x + self.ls2(self.mlp(self.norm2(x)))
