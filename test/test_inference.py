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

"""NetworkBackend: the engine reproduces the network's own infer() and applies its options."""

import math

from lingbot_depth_ros.backends.base import OutOfMemory
from lingbot_depth_ros.backends.factory import BackendSettings, create_backend
from lingbot_depth_ros.backends.network import NetworkBackend, resolve_device
from lingbot_depth_ros.geometry import normalize_intrinsics
from lingbot_depth_ros.model.random_weights import build_random_model
from lingbot_depth_ros.tools.evaluation.data import read_capture
import numpy as np
import pytest
import torch

TOKENS = 300


def load_example(examples_dir, index=6, step=2):
    """Return (rgb uint8, depth metres float32, K pixel) of a real capture, decimated."""
    _, rgb, depth_mm, K = read_capture(examples_dir / str(index))
    rgb = rgb[::step, ::step].copy()
    depth = (depth_mm[::step, ::step] / 1000.0).astype(np.float32)
    K[:2] /= step  # decimation by an integer step keeps the normalised matrix
    return rgb, depth, K


@pytest.fixture(scope='module')
def tiny_model():
    return build_random_model('tiny')


@pytest.fixture(scope='module')
def frame(examples_dir):
    return load_example(examples_dir)


def reference_infer(model, rgb, depth, K, apply_mask=True):
    """Run the release-compatible infer() in fp32; return (depth with NaN for inf, mask)."""
    height, width = rgb.shape[:2]
    image = torch.from_numpy(rgb).permute(2, 0, 1).float() / 255.0
    depth_in = None if depth is None else torch.from_numpy(depth)
    intrinsics = torch.from_numpy(normalize_intrinsics(K, width, height)).float()
    out = model.infer(image, depth_in=depth_in, num_tokens=TOKENS, use_fp16=False,
                      intrinsics=intrinsics, apply_mask=apply_mask)
    predicted = out['depth'].numpy()
    return np.where(np.isfinite(predicted), predicted, np.nan), out['mask'].numpy()


def test_output_matches_release_infer(tiny_model, frame):
    rgb, depth, K = frame
    engine = NetworkBackend(tiny_model, device='cpu', num_tokens=TOKENS, warmup=False,
                            keep_valid_input=False)
    result = engine.complete(rgb, depth, K)
    expected, mask = reference_infer(tiny_model, rgb, depth, K)
    assert result.depth.dtype == np.float32 and result.depth.shape == depth.shape
    np.testing.assert_array_equal(np.isnan(result.depth), ~mask)
    np.testing.assert_allclose(result.depth[mask], expected[mask], rtol=1e-6, atol=0)
    valid = np.isfinite(depth) & (depth > 0)
    np.testing.assert_array_equal(result.valid_input, valid)
    np.testing.assert_array_equal(result.filled, ~valid & mask)
    for stage in ('upload', 'preprocess', 'encoder', 'decoder', 'postprocess', 'total'):
        assert result.timings[stage] >= 0.0
    assert result.timings['forward'] <= result.timings['total']


def test_monocular_equals_all_zero_depth(tiny_model, frame):
    rgb, _, K = frame
    engine = NetworkBackend(tiny_model, device='cpu', num_tokens=TOKENS, warmup=False,
                            apply_mask=False)
    result = engine.complete(rgb, None, K)
    expected, _ = reference_infer(tiny_model, rgb, np.zeros(rgb.shape[:2], np.float32), K,
                                  apply_mask=False)
    assert not result.valid_input.any()
    np.testing.assert_allclose(result.depth, expected, rtol=1e-6)


def test_keep_valid_input_keeps_every_measurement_by_default(tiny_model, frame):
    rgb, depth, K = frame
    engine = NetworkBackend(tiny_model, device='cpu', num_tokens=TOKENS, warmup=False,
                            apply_mask=False)
    refined = NetworkBackend(tiny_model, device='cpu', num_tokens=TOKENS, warmup=False,
                             apply_mask=False, keep_valid_input=False)
    result, estimate = engine.complete(rgb, depth, K), refined.complete(rgb, depth, K)
    kept = result.valid_input
    assert kept.any() and (~kept).any()
    np.testing.assert_array_equal(result.depth[kept], depth[kept])
    np.testing.assert_array_equal(result.depth[~kept], estimate.depth[~kept])
    assert not np.array_equal(estimate.depth[kept], depth[kept])


def test_bf16_close_to_fp32(tiny_model, frame):
    rgb, depth, K = frame
    fp32 = NetworkBackend(tiny_model, device='cpu', num_tokens=TOKENS, warmup=False,
                          apply_mask=False, keep_valid_input=False).complete(rgb, depth, K)
    bf16 = NetworkBackend(tiny_model, device='cpu', num_tokens=TOKENS, warmup=False,
                          apply_mask=False, keep_valid_input=False,
                          precision='bf16').complete(rgb, depth, K)
    log_error = np.abs(np.log(bf16.depth) - np.log(fp32.depth))
    assert np.isfinite(log_error).all()
    assert 0 < np.mean(log_error) < 0.1  # rounds differently, but the same prediction


def test_buffers_reused_and_results_not_aliased(tiny_model, frame):
    rgb, depth, K = frame
    engine = NetworkBackend(tiny_model, device='cpu', num_tokens=TOKENS, warmup=False,
                            apply_mask=False)
    first = engine.complete(rgb, depth, K)
    buffers = engine._buffers
    kept = first.depth.copy()
    engine.complete(255 - rgb, depth[::-1].copy(), K)
    assert engine._buffers is buffers
    np.testing.assert_array_equal(first.depth, kept)
    engine.complete(rgb[:200], depth[:200], K)
    assert engine._buffers is not buffers and engine._buffers.size == (200, rgb.shape[1])


def test_warmup_runs_at_construction(tiny_model):
    engine = NetworkBackend(tiny_model, device='cpu', num_tokens=TOKENS, warmup_size=(64, 96))
    assert engine._buffers is not None and engine._buffers.size == (64, 96)


def test_token_budget_from_resolution_level(tiny_model):
    engine = NetworkBackend(tiny_model, device='cpu', resolution_level=0, warmup=False)
    assert engine.token_budget() == 1200
    engine = NetworkBackend(tiny_model, device='cpu', resolution_level=9, warmup=False)
    assert engine.token_budget() == 3600


@pytest.mark.parametrize('kwargs, field', [
    ({'precision': 'fp64'}, 'precision'),
    ({'num_tokens': 0}, 'num_tokens'),
    ({'resolution_level': 12}, 'resolution_level'),
    ({'device': 'tpu'}, 'device'),
    ({'device': 'mps'}, 'device'),
])
def test_bad_options_raise(tiny_model, kwargs, field):
    with pytest.raises(ValueError, match=field):
        NetworkBackend(tiny_model, warmup=False, **kwargs)


@pytest.mark.parametrize('error', [
    torch.cuda.OutOfMemoryError('CUDA out of memory. Tried to allocate 2.00 GiB'),
    RuntimeError('CUDA error: out of memory')])
def test_out_of_memory_becomes_one_error_after_freeing_buffers(tiny_model, frame, error):
    engine = NetworkBackend(tiny_model, device='cpu', num_tokens=TOKENS, warmup=False)
    engine.complete(*frame)
    assert engine._buffers is not None

    def out_of_memory(*args):
        raise error

    engine.predict = out_of_memory
    with pytest.raises(OutOfMemory, match='out of memory'):
        engine.complete(*frame)
    assert engine._buffers is None
    engine.predict = lambda *args: (_ for _ in ()).throw(RuntimeError('shape mismatch'))
    with pytest.raises(RuntimeError, match='shape mismatch'):
        engine.complete(*frame)


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the no-CUDA error')
def test_cuda_requested_without_cuda():
    with pytest.raises(ValueError, match='CUDA is not available'):
        resolve_device('cuda')


@pytest.mark.parametrize('change, field', [
    (lambda rgb, depth, K: (rgb.astype(np.float32), depth, K), 'rgb'),
    (lambda rgb, depth, K: (rgb, depth[:10], K), 'depth'),
    (lambda rgb, depth, K: (rgb, depth, np.zeros((3, 3))), 'K'),
    (lambda rgb, depth, K: (rgb, depth, np.full((3, 3), math.nan)), 'K'),
])
def test_bad_frames_raise(tiny_model, frame, change, field):
    engine = NetworkBackend(tiny_model, device='cpu', num_tokens=TOKENS, warmup=False)
    with pytest.raises(ValueError, match=field):
        engine.complete(*change(*frame))


@pytest.mark.parametrize('settings, message', [
    ({'backend': 'magic'}, 'backend: expected one of auto, network, classical'),
    ({'backend': 'network'}, 'backend: network needs a model'),
    ({'backend': 'classical', 'model': 'random:tiny'}, "model: 'random:tiny' selects a network"),
    ({'device': 'mps'}, 'device: expected auto'),
    ({'device': 'xpu:0'}, 'device: expected auto'),
    ({'device': 'cuda:x'}, 'device: expected auto'),
    ({'precision': 'fp64'}, 'precision: expected one of fp32, fp16, bf16'),
    ({'resolution_level': 10}, 'resolution_level'),
    ({'num_tokens': -1}, 'num_tokens'),
])
def test_backend_settings_reject_what_cannot_load(settings, message):
    with pytest.raises(ValueError, match=message):
        BackendSettings(**settings)


def test_factory_builds_the_network_without_a_fallback_warning(caplog):
    settings = BackendSettings(model='random:tiny', device='cpu', num_tokens=TOKENS,
                               warmup_sizes=((32, 48),))
    assert settings.kind == 'network'
    backend = create_backend(settings)
    assert isinstance(backend, NetworkBackend)
    assert (backend.name, backend.device, backend.keep_valid_input) == (
        'network:random:tiny', 'cpu', True)
    assert backend.status() == {}  # no GPU memory to report on the CPU
    assert 'CLASSICAL' not in caplog.text
    # Random weights are for tests and demos: the user is told loudly.
    assert 'Model random:tiny has RANDOM weights' in caplog.text


def test_factory_falls_back_to_classical_loudly(caplog):
    settings = BackendSettings(keep_valid_input=False)
    assert settings.kind == 'classical'
    backend = create_backend(settings)
    assert (backend.name, backend.device, backend.keep_valid_input) == (
        'classical', 'cpu', False)
    assert 'CLASSICAL' in caplog.text
    caplog.clear()
    create_backend(BackendSettings(backend='classical'))
    assert 'CLASSICAL' not in caplog.text  # asked for by name: no warning


def test_compiled_engine_matches_eager(tiny_model, frame):
    rgb, depth, K = frame[0][::4, ::4].copy(), frame[1][::4, ::4].copy(), frame[2].copy()
    K[:2] /= 4  # a small frame keeps the compile quick
    eager = NetworkBackend(tiny_model, device='cpu', num_tokens=48, warmup=False,
                           apply_mask=False).complete(rgb, depth, K)
    engine = NetworkBackend(build_random_model('tiny'), device='cpu', num_tokens=48,
                            warmup=False, apply_mask=False, compile_model=True)
    assert engine.model.static_shapes
    compiled = engine.complete(rgb, depth, K)
    np.testing.assert_allclose(compiled.depth, eager.depth, rtol=1e-4, atol=1e-5)
