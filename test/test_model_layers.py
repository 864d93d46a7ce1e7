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

"""Decoder layers: channels-last paths agree with the reference PyTorch modules."""

from lingbot_depth_ros.model import build_random_model
from lingbot_depth_ros.model.layers import (ACTIVATIONS, GroupNorm, make_norm, PixelShuffle,
                                            ReplicateConv2d, ResidualConvBlock)
import pytest
import torch
from torch import nn
import torch.nn.functional as F

CL = torch.channels_last


def randn(*shape, seed=0):
    """Return a deterministic normal tensor."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize('groups,channels', [(1, 32), (2, 64), (16, 16)])
def test_group_norm_channels_last_is_float32_accurate(groups, channels):
    """Statistics over ~2M values stay at float32 rounding, as in the NCHW kernel."""
    x = (3 * randn(1, channels, 256, 256 * 32 // channels) + 1).contiguous(memory_format=CL)
    norm = GroupNorm(groups, channels)
    with torch.no_grad():
        norm.weight.copy_(1 + randn(channels, seed=1) / 10)
        norm.bias.copy_(randn(channels, seed=2) / 10)
        expected = F.group_norm(x.double(), groups, norm.weight.double(), norm.bias.double(),
                                norm.eps)
        ours = norm(x)
    assert ours.is_contiguous(memory_format=CL)
    assert (ours.double() - expected).abs().max() < 2e-6


def test_instance_norm_matches_torch():
    """'instance_norm' has InstanceNorm2d's (empty) state dict and results."""
    norm = make_norm('instance_norm', 8)
    x = randn(2, 8, 20, 30)
    assert not norm.state_dict()
    reference = nn.InstanceNorm2d(8)(x)
    torch.testing.assert_close(norm(x), reference)
    torch.testing.assert_close(norm(x.contiguous(memory_format=CL)), reference)


def test_pixel_shuffle_keeps_channels_last():
    """Same values as F.pixel_shuffle, channels-last memory kept."""
    x = randn(2, 12, 5, 7)
    out = PixelShuffle(2)(x.contiguous(memory_format=CL))
    assert torch.equal(out, F.pixel_shuffle(x, 2)) and out.is_contiguous(memory_format=CL)


def test_replicate_conv_equals_conv2d_replicate():
    """Same parameters and results as nn.Conv2d(padding_mode='replicate')."""
    ours = ReplicateConv2d(4, 6)
    reference = nn.Conv2d(4, 6, 3, padding=1, padding_mode='replicate')
    reference.load_state_dict(ours.state_dict())
    x = randn(1, 4, 9, 11)
    assert torch.equal(ours(x), reference(x))


@pytest.mark.parametrize('activation', ACTIVATIONS)
@pytest.mark.parametrize('norm', ['none', 'layer_norm'])
def test_residual_block_layouts_agree_and_input_is_kept(activation, norm):
    """NCHW and channels-last agree; in-place activations never touch the input."""
    block = ResidualConvBlock(32, 64, activation, norm, 'group_norm').eval()
    x = randn(1, 32, 24, 40)
    original = x.clone()
    with torch.inference_mode():
        plain = block(x)
        last = block(x.contiguous(memory_format=CL))
    assert torch.equal(x, original)
    torch.testing.assert_close(last, plain, rtol=1e-5, atol=1e-5)


def test_decoder_layouts_agree():
    """vits_b (pixel shuffle, bilinear, nearest, no norms) decodes alike in both layouts."""
    model = build_random_model('vits_b')
    features, cls_token = randn(1, 384, 6, 8), randn(1, 384, seed=1)
    with torch.inference_mode():
        model.decoder_channels_last = True
        last = model.decode(features, cls_token, 4 / 3)
        model.decoder_channels_last = False
        plain = model.decode(features, cls_token, 4 / 3)
    torch.testing.assert_close(last['depth'], plain['depth'], rtol=1e-5, atol=1e-5)
