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

"""The amodal guidance input: zero-initialised, strict checkpoints, the backend's amodal path."""

from lingbot_depth_ros.backends.amodal import (align_to_visible, encode_amodal_mask, HIDDEN,
                                               VISIBLE)
from lingbot_depth_ros.backends.network import NetworkBackend
from lingbot_depth_ros.model import get_config, MDMModel
from lingbot_depth_ros.model.checkpoint import CheckpointError, read_checkpoint, save_checkpoint
from lingbot_depth_ros.model.random_weights import build_random_model
from lingbot_depth_ros.training.amodal import add_amodal_guidance
import numpy as np
import pytest
import torch

K = np.array([[120.0, 0.0, 79.5], [0.0, 120.0, 59.5], [0.0, 0.0, 1.0]])


def _frame(seed=0):
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    depth = rng.uniform(0.8, 3.0, (120, 160)).astype(np.float32)
    depth[:25] = 0.0
    amodal = np.zeros((120, 160), dtype=bool)
    amodal[40:100, 30:110] = True
    visible = amodal.copy()
    visible[40:70, 30:80] = False
    return rgb, depth, amodal, visible


def _inputs(seed=0):
    rgb, depth, amodal, visible = _frame(seed)
    image = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255.0
    mask = torch.from_numpy(amodal)[None].float()
    seen = torch.from_numpy(np.where(visible, depth, 0.0).astype(np.float32))[None]
    return image, torch.from_numpy(depth)[None], mask, seen


def test_zero_initialised_guidance_leaves_the_base_model_unchanged():
    base = build_random_model('tiny')
    amodal = add_amodal_guidance(base)
    assert amodal.has_amodal_guidance and not base.has_amodal_guidance
    assert amodal.model_config['encoder']['amodal_guidance'] is True
    image, depth, mask, seen = _inputs()
    with torch.no_grad():
        expected = base(image, 120, depth)
        plain = amodal(image, 120, depth)
        guided = amodal(image, 120, depth, amodal_mask=mask, amodal_depth=seen)
    for name in ('depth_reg', 'mask'):
        assert torch.equal(expected[name], plain[name])
        assert torch.equal(expected[name], guided[name])


def test_trained_guidance_changes_the_output_only_when_a_mask_is_given():
    base = build_random_model('tiny')
    amodal = add_amodal_guidance(base)
    with torch.no_grad():
        amodal.encoder.backbone.amodal_patch_embed.proj.weight.normal_(0.0, 0.05)
    image, depth, mask, seen = _inputs()
    with torch.no_grad():
        expected = base(image, 120, depth)['depth_reg']
        plain = amodal(image, 120, depth)['depth_reg']
        guided = amodal(image, 120, depth, amodal_mask=mask, amodal_depth=seen)['depth_reg']
    assert torch.equal(expected, plain)
    assert (guided - expected).abs().max() > 1e-4


def test_a_model_without_guidance_rejects_a_mask():
    model = build_random_model('tiny')
    image, depth, mask, seen = _inputs()
    with pytest.raises(ValueError, match='no amodal guidance input'):
        model(image, 120, depth, amodal_mask=mask, amodal_depth=seen)


def test_the_flag_must_be_a_bool():
    config = get_config('tiny')
    config['encoder']['amodal_guidance'] = 'yes'
    with pytest.raises(ValueError, match='encoder.amodal_guidance: expected true or false'):
        MDMModel(**config)


def test_checkpoints_carry_the_flag_and_load_strictly(tmp_path):
    base = build_random_model('tiny')
    amodal = add_amodal_guidance(base)
    with torch.no_grad():
        amodal.encoder.backbone.amodal_patch_embed.proj.bias.fill_(0.25)
    path = save_checkpoint(amodal, tmp_path / 'model.pt')
    config, state = read_checkpoint(path)
    assert config['encoder']['amodal_guidance'] is True
    assert 'encoder.backbone.amodal_patch_embed.proj.weight' in state
    loaded = MDMModel.from_pretrained(path)
    assert loaded.has_amodal_guidance
    assert torch.equal(loaded.encoder.backbone.amodal_patch_embed.proj.bias,
                       amodal.encoder.backbone.amodal_patch_embed.proj.bias)
    # The base checkpoint has neither the flag nor the keys: it loads as before.
    base_path = save_checkpoint(base, tmp_path / 'base.pt')
    assert not MDMModel.from_pretrained(base_path).has_amodal_guidance
    # The flag without the weights is an error naming the missing keys.
    torch.save({'model_config': config, 'model': read_checkpoint(base_path)[1]},
               tmp_path / 'broken.pt')
    with pytest.raises(CheckpointError, match='amodal_patch_embed.proj.weight'):
        MDMModel.from_pretrained(tmp_path / 'broken.pt')


def test_add_guidance_refuses_a_model_that_has_it():
    amodal = add_amodal_guidance(build_random_model('tiny'))
    with pytest.raises(ValueError, match='already has'):
        add_amodal_guidance(amodal)


def test_backend_amodal_output_is_nan_outside_the_mask_and_keeps_visible_readings():
    backend = NetworkBackend('random:tiny_amodal', device='cpu', warmup=False)
    assert backend.supports_amodal
    rgb, depth, amodal, visible = _frame()
    result = backend.complete_amodal(rgb, depth, K, encode_amodal_mask(amodal, visible))
    assert np.isnan(result.depth[~amodal]).all()
    assert np.isfinite(result.depth[amodal]).all()
    np.testing.assert_array_equal(result.depth[visible], depth[visible])
    np.testing.assert_array_equal(result.hidden, amodal & ~visible)
    assert result.timings['total'] >= result.timings['forward'] > 0.0


def test_backend_amodal_equals_the_model_forward():
    backend = NetworkBackend('random:tiny_amodal', device='cpu', warmup=False,
                             keep_valid_input=False, num_tokens=120)
    backend.align_amodal = False
    with torch.no_grad():
        backend.model.encoder.backbone.amodal_patch_embed.proj.weight.normal_(0.0, 0.05)
    rgb, depth, amodal, visible = _frame(1)
    mask = np.where(amodal, HIDDEN, 0).astype(np.uint8)
    mask[visible] = VISIBLE
    result = backend.complete_amodal(rgb, depth, K, mask)
    image, depth_t, mask_t, seen = _inputs(1)
    with torch.no_grad():
        expected = backend.model(image, 120, depth_t, amodal_mask=mask_t,
                                 amodal_depth=seen)['depth_reg'][0].numpy()
    np.testing.assert_allclose(result.depth[amodal], expected[amodal], rtol=1e-5)
    # Aligned (the default): the same prediction scaled to the visible readings.
    backend.align_amodal = True
    aligned = backend.complete_amodal(rgb, depth, K, mask)
    seen = visible & (depth > 0)
    scale = np.median(depth[seen] / expected[seen])
    assert aligned.scale == pytest.approx(scale, rel=1e-5)
    np.testing.assert_allclose(aligned.depth[amodal], scale * expected[amodal], rtol=1e-4)


def test_align_to_visible_is_the_median_ratio_of_readings():
    predicted = np.full((4, 4), 2.0, np.float32)
    depth = np.zeros((4, 4), np.float32)
    depth[0, :3] = [2.2, 2.2, 9.0]  # one background pixel inside the mask: outvoted
    visible = np.zeros((4, 4), bool)
    visible[0] = True
    assert align_to_visible(predicted, depth, visible) == pytest.approx(1.1)
    assert align_to_visible(predicted, None, visible) == 1.0
    assert align_to_visible(predicted, depth, np.zeros((4, 4), bool)) == 1.0


def test_backend_without_guidance_names_the_problem():
    backend = NetworkBackend('random:tiny', device='cpu', warmup=False)
    rgb, depth, amodal, visible = _frame()
    assert not backend.supports_amodal
    with pytest.raises(ValueError, match='has no amodal guidance input'):
        backend.complete_amodal(rgb, depth, K, encode_amodal_mask(amodal, visible))
    with pytest.raises(ValueError, match='amodal_mask: expected shape'):
        NetworkBackend('random:tiny_amodal', device='cpu', warmup=False).complete_amodal(
            rgb, depth, K, np.zeros((10, 10), np.uint8))


def test_infer_writes_the_amodal_depth_beside_the_refined_one(tmp_path, capsys):
    import cv2

    from lingbot_depth_ros.tools.cli import main
    from lingbot_depth_ros.tools.synthetic.amodal import render_amodal

    scene = render_amodal(4, 160, 120)
    frame = scene.frame
    cv2.imwrite(str(tmp_path / 'rgb.png'), cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR))
    np.save(tmp_path / 'depth.npy', frame.depth_sensor)
    np.savetxt(tmp_path / 'K.txt', frame.K)
    cv2.imwrite(str(tmp_path / 'mask.png'), scene.mask_image())
    args = ['infer', '--rgb', str(tmp_path / 'rgb.png'), '--depth', str(tmp_path / 'depth.npy'),
            '--intrinsics', str(tmp_path / 'K.txt'), '--model', 'random:tiny_amodal',
            '--num-tokens', '48', '--device', 'cpu', '--amodal-mask', str(tmp_path / 'mask.png'),
            '--output', str(tmp_path / 'out.npy')]
    assert main(args) == 0
    assert 'hidden); wrote' in capsys.readouterr().out
    amodal = np.load(tmp_path / 'out_amodal.npy')
    assert np.isnan(amodal[~scene.amodal]).all()
    backend = NetworkBackend('random:tiny_amodal', device='cpu', warmup=False, num_tokens=48)
    expected = backend.complete_amodal(frame.rgb, frame.depth_sensor, frame.K,
                                       scene.mask_image()).depth
    np.testing.assert_allclose(amodal, expected, rtol=1e-5, equal_nan=True)
    # A plain model, or a mask of another size, is a clear error.
    plain = args[:args.index('--model') + 1] + ['random:tiny'] + args[args.index('--model') + 2:]
    assert main(plain + ['--force']) == 1
    assert 'has no amodal guidance input' in capsys.readouterr().err
    np.save(tmp_path / 'small.npy', np.zeros((10, 10), np.uint8))
    args[args.index('--amodal-mask') + 1] = str(tmp_path / 'small.npy')
    assert main(args + ['--force']) == 1
    assert 'amodal_mask: expected shape (120, 160)' in capsys.readouterr().err
