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

"""Checkpoint loading and saving: round trips and every error case."""

import hashlib
import json
import logging

from lingbot_depth_ros.model import (build_random_model, CheckpointError, load_model, MDMModel,
                                     read_checkpoint, save_checkpoint)
from lingbot_depth_ros.model.checkpoint import verify_checksum
import pytest
import torch

GRID_TOKENS = 48


@pytest.fixture(scope='module')
def tiny():
    """Return the tiny random model (built once)."""
    return build_random_model('tiny')


@pytest.fixture(scope='module')
def sample():
    """Return a small RGB-D input with holes."""
    gen = torch.Generator().manual_seed(0)
    image = torch.rand(1, 3, 60, 80, generator=gen)
    depth = 0.5 + 3 * torch.rand(1, 60, 80, generator=gen)
    depth[:, :20, :30] = 0
    return image, depth


def outputs(model, sample):
    """Run infer in fp32 on the sample."""
    image, depth = sample
    return model.infer(image, depth, num_tokens=GRID_TOKENS, use_fp16=False)


def assert_same(a, b):
    """
    Dicts of tensors with equal keys and equal values up to float rounding.

    Two model instances with bit-identical weights can take different oneDNN kernels
    (memory alignment), which differ in the last bits; seen in full test runs only.
    """
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=1e-4, atol=1e-6, msg=key)


@pytest.mark.parametrize('name', ['model.pt', 'weights.safetensors'])
def test_round_trip_identical_outputs(tiny, sample, tmp_path, name):
    """Saved files load back through from_pretrained with identical outputs."""
    path = save_checkpoint(tiny, tmp_path / name)
    loaded = MDMModel.from_pretrained(str(path))
    # The weights come back bit for bit; the outputs to float rounding (see assert_same).
    original, restored = tiny.state_dict(), loaded.state_dict()
    assert original.keys() == restored.keys()
    assert all(torch.equal(original[k], restored[k]) for k in original)
    assert_same(outputs(tiny, sample), outputs(loaded, sample))
    assert loaded.model_config == tiny.model_config


def test_model_pt_is_the_released_format(tiny, tmp_path):
    """model.pt is {'model_config': dict, 'model': state_dict}, loadable weights_only."""
    save_checkpoint(tiny, tmp_path / 'model.pt')
    content = torch.load(tmp_path / 'model.pt', weights_only=True)
    assert set(content) == {'model_config', 'model'}
    assert content['model'].keys() == tiny.state_dict().keys()
    assert MDMModel(**content['model_config']) is not None


def test_released_golden_config_round_trip(tmp_path, sample):
    """A golden config (with the mask head) round-trips through a directory spec."""
    model = build_random_model('vits_a')
    save_checkpoint(model, tmp_path / 'model.pt')
    assert_same(outputs(model, sample), outputs(load_model(str(tmp_path)), sample))


def test_directory_and_safetensors_config_sources(tiny, sample, tmp_path):
    """A directory prefers model.pt; safetensors finds x.json, config.json or metadata."""
    save_checkpoint(tiny, tmp_path / 'model.safetensors')
    expected = outputs(tiny, sample)
    assert_same(expected, outputs(load_model(str(tmp_path)), sample))
    (tmp_path / 'model.json').rename(tmp_path / 'config.json')
    assert_same(expected, outputs(load_model(str(tmp_path / 'model.safetensors')), sample))
    (tmp_path / 'config.json').unlink()
    assert_same(expected, outputs(load_model(str(tmp_path / 'model.safetensors')), sample))


def test_legacy_torch_save_format_loads(tiny, sample, tmp_path):
    """Pre-zip torch.save files still load."""
    torch.save({'model_config': tiny.model_config, 'model': tiny.state_dict()},
               tmp_path / 'old.pt', _use_new_zipfile_serialization=False)
    assert_same(outputs(tiny, sample), outputs(load_model(str(tmp_path / 'old.pt')), sample))


def test_half_precision_weights_load_as_float32(tiny, tmp_path):
    """Weights stored in fp16 load into float32 parameters, as the release's copy does."""
    state = {k: v.half() for k, v in tiny.state_dict().items()}
    torch.save({'model_config': tiny.model_config, 'model': state}, tmp_path / 'h.pt')
    model = load_model(str(tmp_path / 'h.pt'))
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_missing_file_and_empty_directory(tmp_path):
    """Missing paths and directories without a model file raise FileNotFoundError."""
    with pytest.raises(FileNotFoundError, match='no such file'):
        load_model(str(tmp_path / 'absent.pt'))
    with pytest.raises(FileNotFoundError, match='holds none of'):
        load_model(str(tmp_path))


def test_not_a_checkpoint(tmp_path):
    """A text file, an empty file and a plain tensor are rejected clearly."""
    (tmp_path / 'notes.pt').write_text('hello, this is not a checkpoint\n')
    with pytest.raises(CheckpointError, match='not a PyTorch checkpoint'):
        load_model(str(tmp_path / 'notes.pt'))
    (tmp_path / 'empty.pt').write_bytes(b'')
    with pytest.raises(CheckpointError, match='empty file'):
        load_model(str(tmp_path / 'empty.pt'))
    torch.save(torch.zeros(3), tmp_path / 'tensor.pt')
    with pytest.raises(CheckpointError, match='not a released-format checkpoint'):
        load_model(str(tmp_path / 'tensor.pt'))


def test_bare_state_dict_is_rejected(tiny, tmp_path):
    """A state dict without model_config cannot be built and says so."""
    torch.save(tiny.state_dict(), tmp_path / 'bare.pt')
    with pytest.raises(CheckpointError, match="expected a dict with 'model_config'"):
        load_model(str(tmp_path / 'bare.pt'))


@pytest.mark.parametrize('name', ['model.pt', 'model.safetensors'])
def test_truncated_file(tiny, tmp_path, name):
    """A file cut short (interrupted download) is reported as truncated or corrupt."""
    path = save_checkpoint(tiny, tmp_path / name)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match='truncated or corrupt'):
        load_model(str(path))


class Payload:
    """An arbitrary class: must never be unpickled."""


def test_arbitrary_objects_are_not_unpickled(tiny, tmp_path):
    """weights_only loading refuses pickled objects instead of executing them."""
    torch.save({'model_config': tiny.model_config, 'model': tiny.state_dict(),
                'extra': Payload()}, tmp_path / 'evil.pt')
    with pytest.raises(CheckpointError, match='refusing to unpickle'):
        load_model(str(tmp_path / 'evil.pt'))


def test_unknown_backbone(tiny, tmp_path):
    """A config naming an unknown backbone fails with the list of known ones."""
    config = json.loads(json.dumps(tiny.model_config))
    config['encoder']['backbone'] = 'dinov2_vitx14'
    torch.save({'model_config': config, 'model': tiny.state_dict()}, tmp_path / 'x.pt')
    with pytest.raises(CheckpointError, match='encoder.backbone: expected one of .*vitx14'):
        load_model(str(tmp_path / 'x.pt'))


def test_config_weight_mismatch_lists_all_differences(tiny, tmp_path):
    """Missing, unexpected and mis-shaped keys are listed with counts in one error."""
    state = dict(tiny.state_dict())
    del state['neck.input_blocks.1.weight']
    state['neck.extra.weight'] = torch.zeros(1)
    state['depth_head.output_blocks.4.bias'] = torch.zeros(2)
    torch.save({'model_config': tiny.model_config, 'model': state}, tmp_path / 'm.pt')
    with pytest.raises(CheckpointError) as info:
        load_model(str(tmp_path / 'm.pt'))
    message = str(info.value)
    assert '1 missing, 1 unexpected, 1 mis-shaped' in message
    assert 'neck.input_blocks.1.weight' in message and 'neck.extra.weight' in message
    assert 'depth_head.output_blocks.4.bias (2,) != (1,)' in message


def test_weights_of_another_config(tmp_path):
    """ViT-S weights under the tiny config: counts plus the first few keys of each kind."""
    state = build_random_model('vits_b').state_dict()
    config = build_random_model('tiny').model_config
    torch.save({'model_config': config, 'model': state}, tmp_path / 'm.pt')
    with pytest.raises(CheckpointError, match=r'mis-shaped \(\d+\): .* and \d+ more'):
        load_model(str(tmp_path / 'm.pt'))


def _fake_hf_cache(cache, repo_id, source):
    """Lay out a Hugging Face hub cache holding model.pt of one repo."""
    repo_dir = cache / ('models--' + repo_id.replace('/', '--'))
    commit = 'a' * 40
    snapshot = repo_dir / 'snapshots' / commit
    snapshot.mkdir(parents=True)
    (repo_dir / 'refs').mkdir()
    (repo_dir / 'refs' / 'main').write_text(commit)
    (snapshot / 'model.pt').write_bytes(source.read_bytes())


def test_hf_repo_offline_cached_and_not_cached(tiny, sample, tmp_path, monkeypatch):
    """Repo ids resolve through the cache offline; an uncached one explains the fix."""
    pytest.importorskip('huggingface_hub')
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    cache = tmp_path / 'hub'
    save_checkpoint(tiny, tmp_path / 'model.pt')
    _fake_hf_cache(cache, 'someone/tiny-depth', tmp_path / 'model.pt')
    model = load_model('someone/tiny-depth', cache_dir=str(cache))
    assert_same(outputs(tiny, sample), outputs(model, sample))
    with pytest.raises(CheckpointError, match='HF_HUB_OFFLINE .* not cached.*Fix'):
        load_model('robbyant/lingbot-depth-postrain-dc-vitl14-v0.5', cache_dir=str(cache))


def test_random_specs():
    """random:<config> builds deterministic models; unknown names are rejected."""
    a, b = load_model('random:tiny'), load_model('random:tiny')
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                 b.state_dict().values()))
    with pytest.raises(ValueError, match="config: expected one of .*'nope'"):
        load_model('random:nope')


def test_read_checkpoint_returns_config_and_state(tiny, tmp_path):
    """read_checkpoint exposes the raw (config, state_dict) pair."""
    save_checkpoint(tiny, tmp_path / 'model.pt')
    config, state = read_checkpoint(tmp_path / 'model.pt')
    assert config == tiny.model_config and state.keys() == tiny.state_dict().keys()


def _flip_bytes(path, offset, count=4096):
    data = bytearray(path.read_bytes())
    data[offset:offset + count] = bytes(b ^ 0xFF for b in data[offset:offset + count])
    path.write_bytes(bytes(data))


def test_sha256_beside_the_file_catches_flipped_bytes(tiny, tmp_path):
    path = save_checkpoint(tiny, tmp_path / 'model.pt')
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    (tmp_path / 'model.pt.sha256').write_text(f'{digest}  model.pt\n')
    load_model(str(path))  # matches: loads
    _flip_bytes(path, path.stat().st_size // 2)
    with pytest.raises(CheckpointError, match='sha256 .* differs from the expected ' + digest):
        load_model(str(path))
    (tmp_path / 'model.pt.sha256').write_text('not-a-digest\n')
    with pytest.raises(CheckpointError, match='expected a sha256 hex digest'):
        load_model(str(path))


def test_hugging_face_cache_blobs_are_verified(tiny, tmp_path):
    source = save_checkpoint(tiny, tmp_path / 'source.pt')
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    blob = tmp_path / 'blobs' / digest
    blob.parent.mkdir()
    blob.write_bytes(source.read_bytes())
    link = tmp_path / 'snapshot' / 'model.pt'
    link.parent.mkdir()
    link.symlink_to(blob)
    assert verify_checksum(link) == digest
    _flip_bytes(blob, 1000)
    with pytest.raises(CheckpointError, match='corrupt or incomplete'):
        load_model(str(link))


def test_git_lfs_pointer_is_named(tmp_path):
    pointer = ('version https://git-lfs.github.com/spec/v1\noid sha256:' + '0' * 64
               + '\nsize 1288490188\n')
    for name in ('model.pt', 'model.safetensors'):
        (tmp_path / name).write_text(pointer)
        with pytest.raises(CheckpointError, match='git-LFS pointer file .*git lfs pull'):
            read_checkpoint(tmp_path / name)


def test_published_key_variants_load_with_a_note(tiny, sample, tmp_path, caplog):
    state = {k.replace('encoder.backbone.depth_patch_embed.',
                       'encoder.backbone.depth_mask_patch_embed.'): v
             for k, v in tiny.state_dict().items()}
    state['normal_head.proj.weight'] = torch.zeros(3, 4)
    state['scale_head.proj.weight'] = torch.zeros(1, 4)
    torch.save({'model_config': tiny.model_config, 'model': state}, tmp_path / 'model.pt')
    with caplog.at_level(logging.INFO, logger='lingbot_depth_ros.model.checkpoint'):
        loaded = load_model(str(tmp_path / 'model.pt'))
    assert_same(outputs(tiny, sample), outputs(loaded, sample))  # not a random depth embedding
    assert 'as depth_patch_embed.*' in caplog.text
    assert 'skipped 1 normal_head.* weights' in caplog.text
    assert 'skipped 1 scale_head.* weights' in caplog.text


def test_v05_release_configuration_builds_with_the_released_layout():
    """dinov2_vitl14, 1 intermediate layer, dim_out 1024, norm-free residual blocks, ReLU."""
    stack = {'dim_res_blocks': [1024, 256, 128, 64, 32], 'num_res_blocks': [0, 1, 1, 1, 0],
             'res_block_in_norm': 'none', 'res_block_hidden_norm': 'none',
             'activation': 'relu',
             'resamplers': ['conv_transpose', 'conv_transpose', 'conv_transpose', 'bilinear']}
    config = {
        'encoder': {'backbone': 'dinov2_vitl14', 'intermediate_layers': 1, 'dim_out': 1024,
                    'img_depth_fuse_mode': 'cat_token', 'depth_emb_mode': 'conv_1c'},
        'neck': dict(stack, dim_in=[1026, 2, 2, 2, 2], dim_out=None,
                     num_res_blocks=[0, 2, 2, 2, 0]),
        'depth_head': dict(stack, dim_in=[1024, 256, 128, 64, 32],
                           dim_out=[None, None, None, None, 1]),
        'mask_head': dict(stack, dim_in=[1024, 256, 128, 64, 32],
                          dim_out=[None, None, None, None, 1]),
        'remap_depth_in': 'log', 'remap_depth_out': 'exp', 'num_tokens_range': [1200, 3600],
    }
    with torch.device('meta'):
        model = MDMModel(**config)
    keys = model.state_dict()
    assert keys['encoder.backbone.depth_patch_embed.proj.weight'].shape == (1024, 1, 14, 14)
    assert len(model.encoder.backbone.blocks) == 24
    assert not any('norm' in k for k in keys if k.startswith(('neck.', 'depth_head.')))
    assert model.model_config['encoder']['intermediate_layers'] == 1
