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

"""The onnxruntime and TensorRT backends, CUDA graphs and warm-up sizes of the torch engine."""

import cv2
from lingbot_depth_ros.backends.base import Backend
from lingbot_depth_ros.backends.factory import (BackendSettings, create_backend, format_sizes,
                                                parse_sizes)
from lingbot_depth_ros.backends.graphs import StaticForward
from lingbot_depth_ros.backends.network import NetworkBackend
from lingbot_depth_ros.model import build_random_model
from lingbot_depth_ros.model.export import FrameShape, relative_difference
from lingbot_depth_ros.tools.evaluation.data import read_capture
import numpy as np
import pytest
import torch

HEIGHT, WIDTH, TOKENS = 120, 160, 300  # conftest.TINY_EXPORT
CUDA = torch.cuda.is_available()
NO_CUDA = 'needs a CUDA GPU (none here): unmeasured on this machine'


@pytest.fixture(scope='module')
def frame(examples_dir):
    """Return a real capture at the exported size: (rgb, depth metres with holes, K)."""
    _, rgb, depth_mm, K = read_capture(examples_dir / '6')
    scale = WIDTH / rgb.shape[1]
    K = K.copy()
    K[:2] *= scale
    rgb = cv2.resize(rgb, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)
    depth = cv2.resize(depth_mm, (WIDTH, HEIGHT), interpolation=cv2.INTER_NEAREST)
    depth = depth.astype(np.float32) / 1000.0
    assert (depth == 0).any() and (depth > 0).any()
    return rgb, depth, K


@pytest.fixture(scope='module')
def tiny_model():
    return build_random_model('tiny')


@pytest.fixture(scope='module')
def eager(tiny_model):
    return NetworkBackend(tiny_model, device='cpu', num_tokens=TOKENS, warmup=False)


@pytest.fixture(scope='module')
def onnx_backend(tiny_onnx):
    from lingbot_depth_ros.backends.onnx import OnnxRuntimeBackend
    return OnnxRuntimeBackend(tiny_onnx, device='cpu', num_threads=2)


@pytest.mark.parametrize('mode', ['completion', 'monocular'])
def test_onnxruntime_backend_equals_torch_engine(onnx_backend, eager, frame, mode):
    rgb, depth, K = frame
    depth = depth if mode == 'completion' else None
    ours, expected = onnx_backend.complete(rgb, depth, K), eager.complete(rgb, depth, K)
    assert isinstance(onnx_backend, Backend)
    np.testing.assert_array_equal(np.isnan(ours.depth), np.isnan(expected.depth))
    assert relative_difference(ours.depth, expected.depth) <= 1e-4
    np.testing.assert_array_equal(ours.filled, expected.filled)
    np.testing.assert_array_equal(ours.valid_input, expected.valid_input)
    assert ours.timings['forward'] == ours.timings['network'] > 0
    assert onnx_backend.name == 'onnxruntime:tiny.onnx' and onnx_backend.device == 'cpu'
    assert onnx_backend.status()['exported_size'] == '120x160'


def test_onnxruntime_backend_rejects_what_it_cannot_run(onnx_backend, tiny_onnx, frame,
                                                        tmp_path):
    from lingbot_depth_ros.backends.onnx import OnnxRuntimeBackend
    rgb, depth, K = frame
    with pytest.raises(ValueError, match='expected 120x160 frames.*got 60x80'):
        onnx_backend.complete(rgb[::2, ::2].copy(), depth[::2, ::2].copy(), K)
    with pytest.raises(ValueError, match='exported with 300 tokens, got 1200'):
        OnnxRuntimeBackend(tiny_onnx, device='cpu', num_tokens=1200, warmup=False)
    with pytest.raises(ValueError, match='does not exist'):
        OnnxRuntimeBackend(tmp_path / 'missing.onnx', warmup=False)
    if 'CUDAExecutionProvider' not in __import__('onnxruntime').get_available_providers():
        with pytest.raises(ValueError, match='no CUDAExecutionProvider'):
            OnnxRuntimeBackend(tiny_onnx, device='cuda', warmup=False)


def test_onnx_file_without_export_metadata_is_refused(tmp_path):
    from lingbot_depth_ros.backends.onnx import OnnxRuntimeBackend
    import onnx
    from onnx import helper, TensorProto
    graph = helper.make_graph(
        [helper.make_node('Identity', ['image'], ['predicted_depth'])], 'plain',
        [helper.make_tensor_value_info('image', TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info('predicted_depth', TensorProto.FLOAT, [1])])
    onnx.save(helper.make_model(graph), tmp_path / 'plain.onnx')
    with pytest.raises(ValueError, match='no lingbot_depth.height'):
        OnnxRuntimeBackend(tmp_path / 'plain.onnx', device='cpu', warmup=False)


def test_factory_picks_the_backend_from_the_file(tiny_onnx):
    settings = BackendSettings(model=str(tiny_onnx), device='cpu', warmup_sizes=())
    assert settings.kind == 'onnxruntime'
    assert create_backend(settings).name == 'onnxruntime:tiny.onnx'
    assert BackendSettings(model='x.engine').kind == 'tensorrt'
    assert BackendSettings(model='random:tiny').kind == 'network'


@pytest.mark.parametrize('kwargs, message', [
    ({'model': 'x.onnx', 'precision': 'bf16'}, 'onnxruntime backend runs the float32'),
    ({'model': 'x.onnx', 'backend': 'network'}, 'is an exported network; use backend onnx'),
    ({'model': 'x.onnx', 'backend': 'tensorrt'}, 'backend tensorrt needs a .engine'),
    ({'model': 'random:tiny', 'backend': 'onnxruntime'}, 'needs a .onnx file'),
    ({'model': 'x.onnx', 'warmup_sizes': ((0, 640),)}, 'warmup_sizes: expected'),
])
def test_settings_reject_mismatched_backends(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BackendSettings(**kwargs)


def test_warmup_sizes_parse_and_print():
    assert parse_sizes('480x640, 720x1280') == ((480, 640), (720, 1280))
    assert parse_sizes('') == ()
    assert format_sizes(parse_sizes('480x640 240x320')) == '480x640,240x320'
    for bad in ('640', '480x0', '480x640x3', 'ax640', '99999x1'):
        with pytest.raises(ValueError, match='warmup_sizes: expected HEIGHTxWIDTH'):
            parse_sizes(bad)


def test_torch_engine_warms_up_every_configured_size(tiny_model):
    seen = []

    class Recording(NetworkBackend):
        def predict(self, rgb, depth, timings):
            seen.append(rgb.shape[:2])
            return super().predict(rgb, depth, timings)

    Recording(tiny_model, device='cpu', num_tokens=48, warmup_sizes=((32, 48), (40, 64)))
    assert seen == [(32, 48), (40, 64)]


@pytest.mark.parametrize('monocular', [False, True])
def test_static_forward_equals_the_engine_on_cpu(tiny_model, eager, frame, monocular):
    """The fixed-shape forward that CUDA graphs capture gives the eager engine's depth."""
    rgb, depth, K = frame
    depth = None if monocular else depth
    static = StaticForward(tiny_model, FrameShape(HEIGHT, WIDTH, TOKENS), torch.device('cpu'),
                           lambda cache: torch.autocast('cpu', enabled=False))
    assert not static.captured
    image = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255.0
    with torch.inference_mode():
        outputs = static.run(image, None if depth is None else torch.from_numpy(depth)[None])
    expected = eager.complete(rgb, depth, K)
    holes = ~expected.valid_input  # where the engine outputs the prediction, or NaN
    np.testing.assert_array_equal(outputs[1][0].numpy()[holes] > 0.5,
                                  np.isfinite(expected.depth[holes]))
    filled = holes & np.isfinite(expected.depth)
    assert filled.any()
    predicted = outputs[0][0].numpy()
    assert relative_difference(predicted[filled], expected.depth[filled]) <= 1e-5


@pytest.mark.skipif(not CUDA, reason=NO_CUDA)
@pytest.mark.parametrize('precision', ['fp32', 'bf16'])
def test_cuda_graphs_equal_eager(tiny_model, frame, precision):
    rgb, depth, K = frame
    runs = {graphs: NetworkBackend(tiny_model, device='cuda', precision=precision,
                                   num_tokens=TOKENS, cuda_graphs=graphs,
                                   warmup_sizes=((HEIGHT, WIDTH),))
            for graphs in (True, False)}
    assert runs[True].status()['cuda_graphs'] == 'on' and runs[True]._graphs
    for depth_in in (depth, None):
        graphed, plain = (runs[g].complete(rgb, depth_in, K).depth for g in (True, False))
        both = np.isfinite(graphed) & np.isfinite(plain)
        assert both.mean() > 0.9
        limit = 1e-4 if precision == 'fp32' else 2e-2
        assert np.median(np.abs(graphed[both] - plain[both]) / plain[both]) <= limit


@pytest.mark.skipif(not CUDA, reason=NO_CUDA)
def test_tensorrt_engine_close_to_eager(tiny_model, eager, frame, tmp_path):
    pytest.importorskip('tensorrt', reason='the TensorRT wheel is not installed')
    from lingbot_depth_ros.backends.tensorrt import TensorRTBackend
    from lingbot_depth_ros.model.engine_build import build_tensorrt_engine
    path = tmp_path / 'tiny.engine'
    build_tensorrt_engine(tiny_model, path, FrameShape(HEIGHT, WIDTH, TOKENS), 'fp16')
    backend = create_backend(BackendSettings(model=str(path)))
    assert isinstance(backend, TensorRTBackend)
    rgb, depth, K = frame
    ours, expected = backend.complete(rgb, depth, K), eager.complete(rgb, depth, K)
    both = np.isfinite(ours.depth) & np.isfinite(expected.depth)
    assert both.mean() > 0.9
    relative = np.abs(ours.depth[both] - expected.depth[both]) / expected.depth[both]
    assert np.mean(relative) <= 1e-2


def test_tensorrt_backend_says_why_it_cannot_run_here(tmp_path):
    if CUDA:
        pytest.skip('CUDA is present: the missing-GPU message does not apply')
    from lingbot_depth_ros.backends.tensorrt import TensorRTBackend
    with pytest.raises(RuntimeError, match='tensorrt: '):
        TensorRTBackend(tmp_path / 'x.engine')


def test_refine_bag_and_evaluate_take_an_onnx_file(tiny_onnx, tmp_path, capsys):
    from lingbot_depth_ros.tools.cli import main
    size = ['--width', str(WIDTH), '--height', str(HEIGHT)]
    assert main(['synth-bag', str(tmp_path / 'in'), '--frames', '2'] + size) == 0
    assert main(['refine-bag', str(tmp_path / 'in'), str(tmp_path / 'out'), '--model',
                 str(tiny_onnx), '--device', 'cpu', '--no-progress']) == 0
    err = capsys.readouterr().err
    assert 'backend onnxruntime:tiny.onnx' in err and 'done: 2 frames refined' in err
    assert main(['evaluate', '--model', str(tiny_onnx), '--device', 'cpu', '--num-samples',
                 '1', '--protocol', 'natural', '--no-png', '--output',
                 str(tmp_path / 'eval')] + size) == 0
    assert 'onnxruntime:tiny.onnx' in (tmp_path / 'eval' / 'results.md').read_text()


def test_onnxruntime_allocation_failure_is_out_of_memory(tiny_onnx, frame, monkeypatch):
    """An allocation failure skips the frame although onnxruntime's errors share no base."""
    from lingbot_depth_ros.backends.base import OutOfMemory
    from lingbot_depth_ros.backends.onnx import OnnxRuntimeBackend

    class OrtFail(Exception):
        pass

    backend = OnnxRuntimeBackend(tiny_onnx, device='cpu', warmup=False)
    failure = OrtFail('Failed to allocate memory for requested buffer of size 123')
    monkeypatch.setattr(backend.session, 'run', lambda *args: (_ for _ in ()).throw(failure))
    with pytest.raises(OutOfMemory, match='Failed to allocate'):
        backend.complete(*frame)
    monkeypatch.setattr(backend.session, 'run', lambda *args: (_ for _ in ()).throw(
        OrtFail('Invalid input name')))
    with pytest.raises(RuntimeError, match='onnxruntime: Invalid input name'):
        backend.complete(*frame)
