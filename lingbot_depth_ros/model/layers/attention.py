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

"""Multi-head self-attention of the DINOv2 blocks, on PyTorch's fused SDPA kernel."""

from typing import Optional

import torch
from torch import nn
import torch.nn.functional as F


class Attention(nn.Module):
    """
    Fused-qkv multi-head self-attention with an optional key-padding mask.

    Attribute names follow the released checkpoints (``qkv``, ``proj``). The softmax
    scale is ``head_dim ** -0.5`` (1/8 for the 64-wide heads of every DINOv2 size).
    """

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True,
                 proj_bias: bool = True):
        """
        Build the projections.

        :param dim: token width.
        :param num_heads: number of heads; must divide ``dim``.
        :param qkv_bias: whether the fused qkv projection has a bias.
        :param proj_bias: whether the output projection has a bias.
        """
        super().__init__()
        if dim % num_heads != 0:
            raise ValueError(
                f'num_heads: expected a divisor of dim={dim}, got {num_heads}')
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim, bias=proj_bias)

    def forward(self, x: torch.Tensor, key_mask: Optional[torch.Tensor] = None,
                num_queries: Optional[int] = None) -> torch.Tensor:
        """
        Attend every token (or the first ``num_queries``) to the unmasked tokens.

        :param x: tokens, shape (B, N, C).
        :param key_mask: bool (B, N), True for tokens that may be attended to; None
            attends to all. Masked keys get weight exactly zero; the first token of
            every sequence must stay unmasked so that no query row is fully masked.
        :param num_queries: when given, only the first ``num_queries`` tokens are used
            as queries (the rest are still keys and values).
        :return: attention output, shape (B, num_queries or N, C).
        """
        qkv = self.qkv(x).unflatten(-1, (3, self.num_heads, self.head_dim))  # B, N, 3, H, d
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # B, H, N, d each
        if num_queries is not None:
            q = q[:, :, :num_queries]  # B, H, Q, d
        attn_mask = None if key_mask is None else key_mask[:, None, None, :]  # B, 1, 1, N
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)  # B, H, Q, d
        out = out.transpose(1, 2).flatten(2)  # B, Q, C
        return self.proj(out)
