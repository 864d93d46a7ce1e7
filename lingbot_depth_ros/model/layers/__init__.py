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

"""Layers of the LingBot-Depth network; attribute names equal checkpoint keys."""

from .activation import activate_, ACTIVATIONS, make_activation
from .attention import Attention
from .block import Block
from .conv import conv3x3, ReplicateConv2d
from .layer_scale import LayerScale
from .mlp import Mlp, SwiGLUFFN
from .norm import GroupNorm, make_norm, NORMS
from .patch_embed import PatchEmbed
from .resampler import PixelShuffle, Resampler, RESAMPLERS
from .residual_block import ResidualConvBlock

__all__ = [
    'ACTIVATIONS', 'Attention', 'Block', 'GroupNorm', 'LayerScale', 'Mlp', 'NORMS',
    'PatchEmbed', 'PixelShuffle', 'RESAMPLERS', 'ReplicateConv2d', 'Resampler',
    'ResidualConvBlock', 'SwiGLUFFN', 'activate_', 'conv3x3', 'make_activation', 'make_norm',
]
