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

"""Config validation, backbone variants, preprocessing semantics and the 1.000 m flag."""

import copy
import math

from lingbot_depth_ros.model import (build_random_model, get_config, MDMModel,
                                     num_tokens_for_level, token_grid, validate_model_config)
from lingbot_depth_ros.model.decoder import view_plane_uv
from lingbot_depth_ros.model.preprocess import depth_token_keep, remap_depth, resize_depth
import numpy as np
import pytest
import torch


def edited(name, edit):
    """Return a copy of a named config changed by ``edit(config)``."""
    config = get_config(name)
    edit(config)
    return config


REJECTED = [
    ('resamplers as one string', edited('vits_a', lambda c: c['neck'].update(
        resamplers='conv_transpose')), 'neck.resamplers: .*string'),
    ('dim_out != width', edited('vits_a', lambda c: c['encoder'].update(dim_out=256)),
     'encoder.dim_out: expected the dinov2_vits14 width 384'),
    ('group_norm < 32 channels', edited('tiny', lambda c: c['depth_head'].update(
        res_block_in_norm='group_norm', num_res_blocks=1)),
     'depth_head.res_block_in_norm: group_norm .* level 2 has 16'),
    ('unknown backbone', edited('vits_a', lambda c: c['encoder'].update(backbone='vit_x')),
     'encoder.backbone: expected one of'),
    ('unknown resampler', edited('vits_a', lambda c: c['depth_head'].update(
        resamplers=['avg_pool'] * 4)), 'depth_head.resamplers'),
    ('neck dim_in', edited('vits_a', lambda c: c['neck'].update(dim_in=[384, 2, 2, 2, 2])),
     r'neck.dim_in\[0\]: receives 386'),
    ('head dim_in', edited('vits_a', lambda c: c['mask_head'].update(
        dim_in=[64, 64, 32, 32, 16])), r'mask_head.dim_in\[4\]: receives 32'),
    ('two-channel depth', edited('vits_a', lambda c: c['depth_head'].update(
        dim_out=[None, None, None, None, 2])), r'depth_head.dim_out\[-1\]'),
    ('block out of range', edited('vits_b', lambda c: c['encoder'].update(
        intermediate_layers=[2, 5, 12])), 'intermediate_layers'),
    ('no depth head', edited('vits_a', lambda c: c.update(depth_head=None)), 'depth_head'),
    ('remap', edited('vits_a', lambda c: c.update(remap_depth_in='sqrt')), 'remap_depth_in'),
    ('fuse mode', edited('vits_a', lambda c: c['encoder'].update(img_depth_fuse_mode='add')),
     'img_depth_fuse_mode'),
    ('four levels', edited('vits_a', lambda c: c['neck'].update(
        dim_res_blocks=[64, 64, 32, 32])), 'neck.dim_res_blocks'),
]


@pytest.mark.parametrize('config,message', [r[1:] for r in REJECTED],
                         ids=[r[0] for r in REJECTED])
def test_unrunnable_configs_are_rejected_at_construction(config, message):
    """Configs the release accepts but cannot run fail early with a clear ValueError."""
    with pytest.raises(ValueError, match=message):
        validate_model_config(config)
    with pytest.raises(ValueError, match=message), torch.device('meta'):
        MDMModel(**config)


def test_golden_and_tiny_configs_are_valid():
    """Every shipped config passes validation."""
    for name in ('vits_a', 'vits_b', 'vitl_moge2like', 'tiny'):
        validate_model_config(get_config(name))


def test_ignored_release_keys_warn():
    """normal_head / scale_head / remap_output are accepted (and unused) as in the release."""
    config = get_config('tiny')
    config['remap_output'] = 'exp'
    with pytest.warns(UserWarning, match='remap_output'), torch.device('meta'):
        model = MDMModel(**config)
    assert model.model_config['remap_output'] == 'exp'


def test_unknown_config_entries_are_named_not_ignored():
    config = get_config('tiny')
    config['depth_head_v2'] = {}
    config['remap_output'] = 'exp'
    with pytest.raises(ValueError, match=r"model_config: unknown entries \['depth_head_v2'\]"):
        MDMModel(**config)


def test_register_and_giant_backbones_have_release_layout():
    """_reg backbones carry 4 register tokens; ViT-g uses the fused SwiGLU FFN."""
    config = get_config('vits_a')
    config['encoder']['backbone'] = 'dinov2_vits14_reg'
    with torch.device('meta'):
        model = MDMModel(**config)
    keys = list(model.state_dict())
    assert keys[keys.index('encoder.backbone.pos_embed') + 1] == \
        'encoder.backbone.register_tokens'
    assert model.state_dict()['encoder.backbone.register_tokens'].shape == (1, 4, 384)
    config['encoder'].update(backbone='dinov2_vitg14', dim_out=1536)
    config['neck']['dim_in'][0] = 1538
    with torch.device('meta'):
        state = MDMModel(**config).state_dict()
    assert state['encoder.backbone.blocks.39.mlp.w12.weight'].shape == (8192, 1536)
    assert state['encoder.backbone.blocks.39.mlp.w3.weight'].shape == (1536, 4096)


def test_register_backbone_runs_and_uses_registers():
    """A _reg model runs; its register tokens influence the output."""
    config = get_config('tiny')
    config['encoder']['backbone'] = 'test_vitt14'
    model = build_random_model(config)
    image, depth = torch.rand(1, 3, 56, 70), torch.full((1, 56, 70), 2.0)
    with torch.inference_mode():
        out = model(image, 20, depth)
    assert torch.isfinite(out['depth_reg']).all()
    reg = get_config('vits_a')
    reg['encoder']['backbone'] = 'dinov2_vits14_reg'
    model = build_random_model(reg)
    with torch.inference_mode():
        first = model(image, 20, depth)['depth_reg']
        model.encoder.backbone.register_tokens.mul_(3)
        second = model(image, 20, depth)['depth_reg']
    assert torch.isfinite(first).all() and not torch.equal(first, second)


def test_token_grid_and_levels():
    """Grids round half-to-even and rarely hold N tokens; levels map linearly."""
    assert token_grid(300, 240, 320) == (15, 20)
    assert token_grid(500, 240, 320) == (19, 26)
    assert token_grid(3600, 480, 640) == (52, 69)
    assert token_grid(torch.tensor(1200), 240, 320) == (30, 40)
    assert num_tokens_for_level([1200, 3600], 9) == 3600
    assert num_tokens_for_level([1200, 3600], 0) == 1200
    assert num_tokens_for_level([1200, 3600], 4) == int(1200 + 4 / 9 * 2400)
    with pytest.raises(ValueError, match='num_tokens'):
        token_grid(0, 240, 320)


def test_uv_map_formula():
    """UV maps follow u = span_x (2j + 1 - w) / w, v = span_y (2i + 1 - h) / h (README)."""
    aspect, width, height = 4 / 3, 20, 15
    uv = view_plane_uv(width, height, aspect).double().numpy()
    span_x, span_y = aspect / math.sqrt(1 + aspect ** 2), 1 / math.sqrt(1 + aspect ** 2)
    u = span_x * (2 * np.arange(width) + 1 - width) / width
    v = span_y * (2 * np.arange(height) + 1 - height) / height
    np.testing.assert_allclose(uv[0], np.broadcast_to(u, (height, width)), atol=1e-6)
    np.testing.assert_allclose(uv[1], np.broadcast_to(v[:, None], (height, width)), atol=1e-6)


def test_depth_resize_is_legacy_float32_nearest():
    """Column 609 of a 320 -> 812 resize reads source 239 (float32 index), not 240."""
    depth = torch.arange(320, dtype=torch.float32).expand(1, 1, 14, 320)
    resized = resize_depth(depth, (1, 58))  # 58 * 14 = 812 columns
    assert resized[0, 0, 0, 609].item() == 239
    assert resized[0, 0, 0, 0].item() == 0 and resized[0, 0, 0, 811].item() == 319


def test_depth_cleaning_and_log_remap():
    """NaN/inf/negative/<=0.01 m become holes; log maps 1.000 m onto the hole code."""
    raw = torch.tensor([float('nan'), float('inf'), -float('inf'), -0.5, 0.005, 0.01, 1.0,
                        2.0, 300.0]).view(1, 1, 1, 9)
    log, valid = remap_depth(raw, 'log')
    assert valid.flatten().tolist() == [False] * 6 + [True] * 3
    assert log.flatten()[:7].tolist() == [0.0] * 7  # ln(1.0) == 0 == hole code
    assert log.flatten()[7].item() == pytest.approx(math.log(2.0))
    linear, _ = remap_depth(raw, 'linear')
    assert linear.flatten().tolist() == [0.0] * 6 + [1.0, 2.0, 300.0]


def test_keep_rule_in_linear_mode():
    """Linear mode: a patch counts only with some 0.01 < depth <= 200 m pixel."""
    depth = torch.zeros(1, 1, 14, 42)
    depth[..., :14] = 300.0  # only beyond 200 m -> dropped
    depth[..., 0, 20] = 150.0  # one usable pixel keeps the whole patch
    remapped, _ = remap_depth(depth, 'linear')
    assert depth_token_keep(remapped).tolist() == [[False, True, False]]


@pytest.fixture(scope='module')
def unit_depth_input():
    """Return a frame whose left third reads exactly 1.000 m and the rest 2 m."""
    image = torch.rand(1, 3, 42, 42, generator=torch.Generator().manual_seed(1))
    depth = torch.full((1, 42, 42), 2.0)
    depth[:, :, :14] = 1.0
    return image, depth


def test_unit_depth_is_a_hole_by_default(unit_depth_input):
    """Release behaviour: patches holding only 1.000 m readings lose their depth token."""
    model = build_random_model('tiny')
    image, depth = unit_depth_input
    keep = model.preprocess(image, 9, depth).depth_keep.view(3, 3)
    assert not keep[:, 0].any() and keep[:, 1:].all()
    zero = depth.clone()
    zero[:, :, :14] = 0  # indistinguishable from a real hole
    with torch.inference_mode():
        assert torch.equal(model(image, 9, depth)['depth_reg'], model(image, 9, zero)['depth_reg'])


def test_fix_unit_depth_hole_keeps_them(unit_depth_input):
    """The opt-in flag keeps 1.000 m tokens (model option or per call) and changes output."""
    image, depth = unit_depth_input
    fixed = build_random_model('tiny', fix_unit_depth_hole=True)
    assert fixed.preprocess(image, 9, depth).depth_keep.all()
    plain = build_random_model('tiny')
    assert plain.preprocess(image, 9, depth, fix_unit_depth_hole=True).depth_keep.all()
    with torch.inference_mode():
        assert not torch.equal(fixed(image, 9, depth)['depth_reg'],
                               plain(image, 9, depth)['depth_reg'])
    assert 'fix_unit_depth_hole' not in fixed.model_config  # runtime option, not saved


def test_model_config_is_a_copy():
    """Mutating the config passed in does not alter the model's recorded config."""
    config = get_config('tiny')
    with torch.device('meta'):
        model = MDMModel(**config)
    before = copy.deepcopy(model.model_config)
    config['neck']['dim_res_blocks'][0] = 7
    assert model.model_config == before


def test_cached_position_encoding_follows_new_weights():
    """Loading other weights after a forward invalidates the per-grid caches."""
    image, depth = torch.rand(1, 3, 56, 70), torch.full((1, 56, 70), 2.0)
    model = build_random_model('tiny')
    other = build_random_model('tiny')
    with torch.no_grad():
        other.encoder.backbone.pos_embed.mul_(-1)
    with torch.inference_mode():
        model(image, 20, depth)  # fills the caches
        expected = other(image, 20, depth)['depth_reg']
    model.load_state_dict(other.state_dict())
    with torch.inference_mode():
        assert torch.equal(model(image, 20, depth)['depth_reg'], expected)
