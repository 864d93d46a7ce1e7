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

"""Batching with padded depth tokens, static-shape mode and monocular input."""

import json

from lingbot_depth_ros.model import build_random_model
from lingbot_depth_ros.model.layers import Attention
from lingbot_depth_ros.tools.evaluation.data import read_capture
import numpy as np
import pytest
import torch

TOKENS = 1200  # 30x40 grid on 240x320: example 6 loses depth tokens, example 0 none


def load_example(examples_dir, index):
    """Return (image (3, 240, 320) in [0, 1], depth (240, 320) metres) of an example."""
    _, rgb, depth, _ = read_capture(examples_dir / str(index))
    rgb, depth = rgb[::2, ::2], depth[::2, ::2]
    image = torch.from_numpy(rgb.astype(np.float32) / 255).permute(2, 0, 1)
    return image, torch.from_numpy(depth.astype(np.float32) / 1000)


@pytest.fixture(scope='module')
def tiny():
    """Return the tiny random model."""
    return build_random_model('tiny')


@pytest.fixture(scope='module')
def batch(examples_dir):
    """Return a batch of two real frames whose depth-token counts differ."""
    frames = [load_example(examples_dir, i) for i in (0, 6)]
    image = torch.stack([f[0] for f in frames])
    depth = torch.stack([f[1] for f in frames])
    depth[1, 100:200, 150:300] = 0  # a large hole: many more tokens drop in sample 1
    return image, depth


def assert_outputs_close(a, b, rtol=1e-5, atol=1e-6):
    """Forward outputs agree to float32 rounding."""
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=rtol, atol=atol, msg=key)


def test_batch_has_unequal_token_counts(tiny, batch):
    """The fixture really exercises padding (otherwise the tests below prove nothing)."""
    prepared = tiny.preprocess(batch[0], TOKENS, batch[1])
    counts = prepared.depth_keep.sum(dim=1).tolist()
    assert counts[0] == 1200 and counts[1] < 1100
    tokens, key_mask = tiny.encoder.backbone.prepare_tokens(
        prepared.image, prepared.depth, prepared.depth_keep)
    assert tokens.shape[1] == 1 + 1200 + counts[0]
    assert key_mask is not None and key_mask.sum(dim=1).tolist() == [1 + 1200 + c
                                                                     for c in counts]


def test_batch_equals_single(tiny, batch):
    """Each sample of a padded batch gets the result it gets alone."""
    image, depth = batch
    with torch.inference_mode():
        together = tiny(image, TOKENS, depth)
        for i in range(2):
            alone = tiny(image[i:i + 1], TOKENS, depth[i:i + 1])
            assert_outputs_close({k: v[i:i + 1] for k, v in together.items()}, alone)


def test_static_shapes_equal_token_dropping(tiny, batch):
    """Keeping every depth position and masking dropped ones equals removing them."""
    image, depth = batch
    with torch.inference_mode():
        dropped = tiny(image, TOKENS, depth)
        static = tiny(image, TOKENS, depth, static_shapes=True)
        prepared = tiny.preprocess(image, TOKENS, depth)
        tokens, key_mask = tiny.encoder.backbone.prepare_tokens(
            prepared.image, prepared.depth, prepared.depth_keep, static_shapes=True)
    assert_outputs_close(dropped, static)
    assert tokens.shape[1] == 1 + 2 * 1200  # fixed length whatever the holes
    assert torch.equal(key_mask[:, 1201:], prepared.depth_keep)


def test_fully_padded_sample_stays_finite(tiny, batch):
    """A sample without any depth token beside one with all: no NaN from padded rows."""
    image, depth = batch
    depth = depth.clone()
    depth[1] = 0
    with torch.inference_mode():
        together = tiny(image, TOKENS, depth)
        alone = tiny(image[1:], TOKENS, depth[1:])
    assert all(torch.isfinite(v).all() for v in together.values())
    assert_outputs_close({k: v[1:] for k, v in together.items()}, alone)


def test_monocular_none_equals_zero_depth(tiny, batch):
    """depth_in=None (monocular) is exactly the release's all-zero depth map."""
    image = batch[0][:1]
    with torch.inference_mode():
        none = tiny.infer(image, None, num_tokens=300, use_fp16=False)
        zeros = tiny.infer(image, torch.zeros(1, 240, 320), num_tokens=300, use_fp16=False)
    assert none.keys() == zeros.keys()
    for key in none:
        assert torch.equal(none[key], zeros[key]), key


def test_masked_keys_contribute_nothing():
    """Attention over [real, masked garbage] tokens equals attention over the real ones."""
    torch.manual_seed(0)
    attention = Attention(128, 2).eval()
    real = torch.randn(2, 37, 128)
    garbage = 50 * torch.randn(2, 11, 128)
    key_mask = torch.cat([torch.ones(2, 37, dtype=torch.bool),
                          torch.zeros(2, 11, dtype=torch.bool)], dim=1)
    with torch.inference_mode():
        padded = attention(torch.cat([real, garbage], dim=1), key_mask)
        plain = attention(real)
    torch.testing.assert_close(padded[:, :37], plain, rtol=1e-5, atol=1e-6)
    assert torch.isfinite(padded).all()


def test_static_shapes_match_golden_token_dropping(golden_dir):
    """Static-shape mode reproduces the release's dropping on the corrupted-depth case."""
    meta = json.loads((golden_dir / 'vits_a.json').read_text())
    model = build_random_model(meta['model_config'], static_shapes=True)
    data = np.load(golden_dir / meta['cases']['g_infer_baddepth']['file'])
    assert data['depth_token_keep'].sum() < 300  # tokens really are dropped
    with torch.inference_mode():
        out = model.infer(torch.from_numpy(data['image']), torch.from_numpy(data['depth']),
                          num_tokens=300, use_fp16=False)
    mask = out['mask'].numpy()
    assert (mask != data['out_mask']).mean() <= 0.0005
    both = mask & data['out_mask']
    np.testing.assert_allclose(out['depth'].numpy()[both], data['out_depth'][both],
                               rtol=1e-4, atol=1e-6)
