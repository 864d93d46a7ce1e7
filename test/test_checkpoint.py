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

import json

from lingbot_depth_ros.model import (build_random_model, CheckpointError, load_model, MDMModel,
                                     read_checkpoint, save_checkpoint)
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
    """Dicts of tensors with equal keys and bit-identical values."""
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


@pytest.mark.parametrize('name', ['model.pt', 'weights.safetensors'])
def test_round_trip_identical_outputs(tiny, sample, tmp_path, name):
    """Saved files load back through from_pretrained with identical outputs."""
    path = save_checkpoint(tiny, tmp_path / name)
    loaded = MDMModel.from_pretrained(str(path))
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
