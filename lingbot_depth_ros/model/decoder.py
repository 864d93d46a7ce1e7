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

"""ConvStack decoder (neck and heads) and the view-plane UV maps fed to it."""

from typing import Dict, List, Optional, Sequence, Union

import torch
from torch import nn

from .layers import Resampler, ResidualConvBlock

NUM_LEVELS = 5


def _per_level(value, name: str, count: int) -> list:
    """
    Expand a scalar config entry to one value per level, or check a list's length.

    :param value: scalar, None, or a list.
    :param name: config field, for errors.
    :param count: expected number of levels.
    :return: list of ``count`` values.
    """
    if isinstance(value, (list, tuple)):
        if len(value) != count:
            raise ValueError(f'{name}: expected {count} entries, got {len(value)}')
        return list(value)
    return [value] * count


class ConvStack(nn.Module):
    """
    Multi-level conv decoder of MoGe v2 / LingBot-Depth.

    Level i: ``x = input_block_i(in_i)`` (level 0) or ``x += input_block_i(in_i)``;
    ``x = res_blocks_i(x)``; ``out_i = output_block_i(x)``; then ``x = resampler_i(x)``
    (x2) before the next level. A None ``dim_in`` / ``dim_out`` entry means identity.
    """

    def __init__(self, dim_in: Union[int, None, Sequence[Optional[int]]],
                 dim_res_blocks: Sequence[int],
                 dim_out: Union[int, None, Sequence[Optional[int]]],
                 resamplers: Sequence[str], dim_times_res_block_hidden: int = 1,
                 num_res_blocks: Union[int, Sequence[int]] = 1,
                 res_block_in_norm: str = 'layer_norm',
                 res_block_hidden_norm: str = 'group_norm', activation: str = 'relu'):
        """
        Build the stack; argument names and defaults equal the released config keys.

        :param dim_in: input channels per level (None: no input conv).
        :param dim_res_blocks: working channels per level.
        :param dim_out: output channels per level (None: no output conv).
        :param resamplers: one resampler kind per level transition (a list; a bare
            string is rejected as the release cannot run it).
        :param dim_times_res_block_hidden: hidden width factor of the residual blocks.
        :param num_res_blocks: residual blocks per level (int or list).
        :param res_block_in_norm: norm before the first conv of each residual block.
        :param res_block_hidden_norm: norm before the second conv.
        :param activation: activation of the residual blocks.
        """
        super().__init__()
        levels = len(dim_res_blocks)
        if isinstance(resamplers, str) or not isinstance(resamplers, (list, tuple)):
            raise ValueError(f'resamplers: expected a list of {levels - 1} names, got '
                             f'{resamplers!r} (the release iterates a string by character)')
        dims_in = _per_level(dim_in, 'dim_in', levels)
        dims_out = _per_level(dim_out, 'dim_out', levels)
        counts = _per_level(num_res_blocks, 'num_res_blocks', levels)
        if len(resamplers) != levels - 1:
            raise ValueError(
                f'resamplers: expected {levels - 1} entries, got {len(resamplers)}')
        self.input_blocks = nn.ModuleList(
            nn.Identity() if d is None else nn.Conv2d(d, c, kernel_size=1)
            for d, c in zip(dims_in, dim_res_blocks))
        self.resamplers = nn.ModuleList(
            Resampler(c_prev, c_next, kind)
            for c_prev, c_next, kind in zip(dim_res_blocks[:-1], dim_res_blocks[1:], resamplers))
        self.res_blocks = nn.ModuleList(
            nn.Sequential(*(
                ResidualConvBlock(c, dim_times_res_block_hidden * c, activation,
                                  res_block_in_norm, res_block_hidden_norm)
                for _ in range(count)))
            for c, count in zip(dim_res_blocks, counts))
        self.output_blocks = nn.ModuleList(
            nn.Identity() if d is None else nn.Conv2d(c, d, kernel_size=1)
            for d, c in zip(dims_out, dim_res_blocks))
        self.out_channels = [c if d is None else d for d, c in zip(dims_out, dim_res_blocks)]

    def forward(self, features: List[Optional[torch.Tensor]]) -> List[torch.Tensor]:
        """
        Decode the per-level inputs.

        :param features: one tensor (B, dim_in_i, h*2^i, w*2^i) per level (None: no input).
        :return: one output per level (B, out_i, h*2^i, w*2^i).
        """
        outputs = []
        x = None
        last = len(self.res_blocks) - 1
        for level, feature in enumerate(features):
            if feature is not None:
                feature = self.input_blocks[level](feature)
                if x is None:
                    x = feature
                elif torch.is_grad_enabled():
                    x = x + feature
                else:  # x is the resampler's fresh output
                    x = x.add_(feature)
            x = self.res_blocks[level](x)
            outputs.append(self.output_blocks[level](x))
            if level < last:
                x = self.resamplers[level](x)
        return outputs


def view_plane_uv(width: int, height: int, aspect_ratio: float,
                  dtype: torch.dtype = torch.float32,
                  device: Union[str, torch.device] = 'cpu') -> torch.Tensor:
    """
    Return the (2, height, width) UV map of a diagonal-normalised image plane.

    u at column j is span_x * (2j + 1 - w) / w and v at row i is span_y * (2i + 1 - h) / h,
    with span_x = a / sqrt(1 + a^2), span_y = 1 / sqrt(1 + a^2) for aspect ratio a.

    :param width: columns.
    :param height: rows.
    :param aspect_ratio: width / height of the input image (not of this level).
    :param dtype: result dtype.
    :param device: result device.
    :return: (2, height, width); channel 0 is u, channel 1 is v.
    """
    span_x = aspect_ratio / (1 + aspect_ratio ** 2) ** 0.5
    span_y = 1 / (1 + aspect_ratio ** 2) ** 0.5
    end_u = span_x * (width - 1) / width
    end_v = span_y * (height - 1) / height
    u = torch.linspace(-end_u, end_u, width, dtype=dtype, device=device)  # W
    v = torch.linspace(-end_v, end_v, height, dtype=dtype, device=device)  # H
    return torch.stack([u[None, :].expand(height, width), v[:, None].expand(height, width)])


class UVCache:
    """Memo of the five UV maps per (grid, aspect ratio, dtype, device)."""

    def __init__(self, max_entries: int = 8):
        """
        Create an empty cache.

        :param max_entries: entries kept before the cache is cleared.
        """
        self.max_entries = max_entries
        self._maps: Dict[tuple, List[torch.Tensor]] = {}

    def get(self, grid_h: int, grid_w: int, aspect_ratio: float, dtype: torch.dtype,
            device: torch.device) -> List[torch.Tensor]:
        """
        Return the UV maps of levels 0..4, each (1, 2, h*2^l, w*2^l).

        :param grid_h: token rows.
        :param grid_w: token columns.
        :param aspect_ratio: input width / height.
        :param dtype: map dtype.
        :param device: map device.
        :return: list of five maps.
        """
        key = (grid_h, grid_w, aspect_ratio, dtype, torch.device(device))
        maps = self._maps.get(key)
        if maps is None:
            maps = [view_plane_uv(grid_w << lvl, grid_h << lvl, aspect_ratio, dtype,
                                  device)[None] for lvl in range(NUM_LEVELS)]
            if torch.compiler.is_compiling():
                return maps  # traced placeholders must not outlive the trace
            if len(self._maps) >= self.max_entries:
                self._maps.clear()
            self._maps[key] = maps
        return maps
