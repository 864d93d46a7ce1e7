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

"""Reproduce every golden fixture of the released network (test/data/golden), one test each."""

import json

from lingbot_depth_ros.model import build_random_model, weights_sha256
import numpy as np
import pytest
import torch

VITS_CASES = ['a_forward', 'b_infer_fp32', 'c_infer_bf16', 'd_infer_monocular',
              'e_infer_batch2', 'f_infer_nomask', 'g_infer_baddepth', 'h_infer_reslevel0',
              'i_infer_n500']
CASES = ([('vits_a', c) for c in VITS_CASES] + [('vits_b', c) for c in VITS_CASES]
         + [('vitl_moge2like', c) for c in ('a_forward', 'b_infer_fp32', 'c_infer_bf16')])
MAX_MASK_FLIPS = 0.0005  # README: at most 0.05 % of boolean mask pixels may differ


@pytest.fixture(scope='module')
def golden_model(golden_dir):
    """Return a getter that builds each config's random-weight model once per module."""
    built = {}

    def get(name):
        if name not in built:
            meta = json.loads((golden_dir / f'{name}.json').read_text())
            built[name] = (meta, build_random_model(meta['model_config']))
        return built[name]
    return get


def assert_close(actual, expected, rtol, atol, what):
    """Assert |a - b| <= atol + rtol |b| elementwise, reporting the worst pixel."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, what
    excess = np.abs(actual - expected) - (atol + rtol * np.abs(expected))
    worst = np.unravel_index(np.argmax(excess), excess.shape) if excess.size else None
    assert excess.size == 0 or excess[worst] <= 0, (
        f'{what}: {actual[worst]} vs {expected[worst]} at {worst}')


def load_case(golden_dir, meta, case_id):
    """Load a fixture's inputs as tensors plus the raw arrays."""
    case = meta['cases'][case_id]
    data = dict(np.load(golden_dir / case['file']))
    inputs = {k: torch.from_numpy(data[k]) for k in ('image', 'depth', 'intrinsics')
              if k in data}
    return case, data, inputs


def check_tokens(model, case, data, inputs):
    """Token grid and kept depth tokens must be exact."""
    enable = case['extra_kwargs'].get('enable_depth_mask', True)
    prepared = model.preprocess(inputs['image'], case['num_tokens_effective'],
                                inputs['depth'], enable_depth_mask=enable)
    assert prepared.grid == tuple(int(v) for v in data['token_grid'])
    np.testing.assert_array_equal(prepared.depth_keep.numpy(), data['depth_token_keep'])
    return prepared


def check_forward(model, case, data, inputs, prepared):
    """Compare forward() outputs and the intermediate encoder arrays."""
    tol = case['suggested_tolerance']
    features, cls_token = model.encoder(prepared)
    assert_close(features, data['enc_features'], what='enc_features', **tol['enc_features'])
    assert_close(cls_token, data['cls_token'], what='cls_token', **tol['cls_token'])
    for name, ours in (('backbone_image_in', prepared.image),
                       ('backbone_depth_in', prepared.depth)):
        if name in data:
            assert_close(ours, data[name], what=name, **tol[name])
    out = model(inputs['image'], num_tokens=case['num_tokens_arg'], depth=inputs['depth'])
    assert_close(out['depth_reg'], data['out_depth_reg'], what='depth_reg',
                 **tol['out_depth_reg'])
    if 'out_mask' in data:
        assert_close(out['mask'], data['out_mask'], what='mask probability',
                     **tol['out_mask (probability, forward)'])
    else:
        assert 'mask' not in out


def run_infer(model, case, inputs, use_fp16):
    """Call infer() exactly as the fixture's recorded call did."""
    return model.infer(inputs['image'], depth_in=inputs['depth'],
                       num_tokens=case['num_tokens_arg'], use_fp16=use_fp16,
                       intrinsics=inputs['intrinsics'], **case['extra_kwargs'])


def check_infer_fp32(model, case, data, inputs):
    """Compare infer() in float32: mask flips bounded, values where both masks hold."""
    tol = case['suggested_tolerance']
    out = run_infer(model, case, inputs, use_fp16=False)
    depth = out['depth'].numpy()
    if 'out_mask' in data:
        mask = out['mask'].numpy()
        assert (mask != data['out_mask']).mean() <= MAX_MASK_FLIPS
        assert np.all(np.isposinf(depth[~mask])) and np.all(np.isfinite(depth[mask]))
        both = mask & data['out_mask']
    else:
        assert 'mask' not in out and np.all(np.isfinite(depth))
        both = np.ones(depth.shape, bool)
    assert_close(depth[both], data['out_depth'][both], what='depth', **tol['out_depth'])
    if 'out_points' in data:
        points = out['points'].numpy()
        assert np.all(np.isposinf(points[~both & ~np.isfinite(depth)]))
        assert_close(points[both], data['out_points'][both], what='points',
                     **tol['out_points'])


def check_infer_bf16(model, case, data, inputs, log_space):
    """Statistical acceptance of bfloat16 autocast (README, c_infer_bf16)."""
    out = run_infer(model, case, inputs, use_fp16=True)
    ours, ref = out['depth'].numpy().astype(np.float64), data['out_depth'].astype(np.float64)
    finite = np.isfinite(ours) & np.isfinite(ref)
    assert finite.mean() > 0.05
    if log_space:
        diff, mean_max, p99_max = np.abs(np.log(ours[finite]) - np.log(ref[finite])), 0.05, 0.2
    else:
        diff, mean_max, p99_max = np.abs(ours[finite] - ref[finite]), 0.1, 0.4
    assert diff.mean() <= mean_max and np.percentile(diff, 99) <= p99_max
    if 'out_mask' in data:
        assert (out['mask'].numpy() == data['out_mask']).mean() >= 0.98
    if 'out_points' in data:
        z, z_ref = out['points'].numpy()[..., 2], data['out_points'][..., 2]
        both = np.isfinite(z) & np.isfinite(z_ref)
        assert np.abs(np.log(z[both]) - np.log(z_ref[both])).mean() <= mean_max


@pytest.mark.parametrize('config_name,case_id', CASES, ids=[f'{c}__{i}' for c, i in CASES])
def test_golden_case(golden_model, golden_dir, config_name, case_id):
    """Each fixture file: exact token grid / kept tokens, outputs within README tolerances."""
    meta, model = golden_model(config_name)
    case, data, inputs = load_case(golden_dir, meta, case_id)
    with torch.inference_mode():
        prepared = check_tokens(model, case, data, inputs)
        if case['kind'] == 'forward':
            check_forward(model, case, data, inputs, prepared)
        elif case['kind'] == 'infer':
            check_infer_fp32(model, case, data, inputs)
        else:
            check_infer_bf16(model, case, data, inputs,
                             log_space=meta['model_config']['remap_depth_out'] == 'exp')


@pytest.mark.parametrize('config_name', ['vits_a', 'vits_b', 'vitl_moge2like'])
def test_weight_rule_reproduces_manifest(golden_model, config_name):
    """Keys, shapes and order match the manifest; sums, first values and SHA-256 match."""
    meta, model = golden_model(config_name)
    state = model.state_dict()
    manifest = meta['manifest']
    assert [e['key'] for e in manifest] == list(state)
    buffers = {name for name, _ in model.named_buffers()}
    for entry in manifest:
        tensor = state[entry['key']]
        assert list(tensor.shape) == entry['shape'], entry['key']
        assert entry['is_buffer'] == (entry['key'] in buffers), entry['key']
        if entry['is_buffer']:
            continue
        values = tensor.numpy().ravel()
        assert values[:3].tolist() == entry['first3'], entry['key']
        np.testing.assert_allclose(values.sum(dtype=np.float64), entry['sum_f64'],
                                   rtol=1e-9, atol=1e-9, err_msg=entry['key'])
    assert weights_sha256(model) == meta['weights_sha256']['value']
    assert sum(p.numel() for p in model.parameters()) == meta['num_parameters']
