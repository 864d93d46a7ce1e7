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

"""ONNX export: exportable configs, onnxruntime against eager on the golden inputs, the CLI."""

import json

from lingbot_depth_ros.model import build_random_model
from lingbot_depth_ros.model.export import (export_onnx, ExportError, FrameShape,
                                            relative_difference, run_onnxruntime,
                                            StaticFrameNetwork)
from lingbot_depth_ros.tools.cli import main
import numpy as np
import pytest
import torch

onnxruntime = pytest.importorskip('onnxruntime', reason='the onnx extra is not installed')

RTOL = 1e-4
GOLDEN_SHAPE = FrameShape(240, 320, 300)  # the golden fixtures' frames and budget


def golden_inputs(golden_dir, case):
    """Return the (image, depth) tensors of a golden vits_a case."""
    data = np.load(golden_dir / f'vits_a__{case}.npz')
    return torch.from_numpy(data['image']), torch.from_numpy(data['depth']), data


@pytest.fixture(scope='module')
def vits_a_onnx(golden_dir, tmp_path_factory):
    """Export vits_a at the golden size, checked on the golden frame with holes."""
    meta = json.loads((golden_dir / 'vits_a.json').read_text())
    model = build_random_model(meta['model_config'])
    image, depth, _ = golden_inputs(golden_dir, 'a_forward')
    rgb = (image[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    path = tmp_path_factory.mktemp('export') / 'vits_a.onnx'
    report = export_onnx(model, path, GOLDEN_SHAPE, check_frame=(rgb, depth[0].numpy()))
    return model, path, report


def eager(model, image, depth):
    """Return the release-compatible forward's (depth_reg, mask) (dynamic shapes)."""
    with torch.inference_mode():
        out = model(image, GOLDEN_SHAPE.num_tokens, depth)
    return out['depth_reg'].numpy(), out['mask'].numpy()


def assert_matches_eager(actual, expected):
    assert relative_difference(actual[0], expected[0]) <= RTOL
    assert np.max(np.abs(actual[1] - expected[1])) <= RTOL


def test_export_checks_and_records_the_frame_shape(vits_a_onnx):
    _, path, report = vits_a_onnx
    assert report.depth_rel_diff <= RTOL and report.mask_abs_diff <= RTOL
    session = onnxruntime.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    meta = session.get_modelmeta().custom_metadata_map
    assert (meta['lingbot_depth.height'], meta['lingbot_depth.width'],
            meta['lingbot_depth.num_tokens'], meta['lingbot_depth.grid']) == (
        '240', '320', '300', '15x20')
    assert [i.name for i in session.get_inputs()] == ['image', 'depth']
    assert [o.name for o in session.get_outputs()] == ['predicted_depth', 'mask_probability']


@pytest.mark.parametrize('case', ['a_forward', 'g_infer_baddepth'])
def test_onnxruntime_equals_eager_on_golden_inputs(vits_a_onnx, golden_dir, case):
    """Holes (a) and NaN / inf / negative readings (g) give eager's output."""
    model, path, _ = vits_a_onnx
    image, depth, _ = golden_inputs(golden_dir, case)
    actual = run_onnxruntime(path, image.numpy(), depth.numpy())
    assert_matches_eager(actual, eager(model, image, depth))


def test_onnxruntime_reproduces_the_golden_fixture(vits_a_onnx, golden_dir):
    _, path, _ = vits_a_onnx
    image, depth, data = golden_inputs(golden_dir, 'a_forward')
    actual = run_onnxruntime(path, image.numpy(), depth.numpy())[0]
    np.testing.assert_allclose(actual, data['out_depth_reg'], rtol=RTOL, atol=1e-6)


def test_all_hole_depth_equals_monocular(vits_a_onnx, golden_dir):
    """A zero depth input is the monocular network: eager with depth=None."""
    model, path, _ = vits_a_onnx
    image, _, _ = golden_inputs(golden_dir, 'd_infer_monocular')
    zeros = np.zeros((1, 240, 320), np.float32)
    actual = run_onnxruntime(path, image.numpy(), zeros)
    assert_matches_eager(actual, eager(model, image, None))


def test_batch_is_dynamic(vits_a_onnx, golden_dir):
    """Two frames with different hole patterns in one batch: each gets its own result."""
    model, path, _ = vits_a_onnx
    frames = [golden_inputs(golden_dir, c)[:2] for c in ('a_forward', 'g_infer_baddepth')]
    image = torch.cat([f[0] for f in frames])
    depth = torch.cat([f[1] for f in frames])
    actual = run_onnxruntime(path, image.numpy(), depth.numpy())
    assert actual[0].shape == (2, 240, 320)
    for i, (one_image, one_depth) in enumerate(frames):
        assert_matches_eager([a[i:i + 1] for a in actual], eager(model, one_image, one_depth))


def test_static_frame_network_equals_forward(golden_dir):
    """The fixed-shape network (what is exported and graph-captured) is forward()."""
    model = build_random_model('tiny')
    image, depth, _ = golden_inputs(golden_dir, 'g_infer_baddepth')
    with torch.inference_mode():
        static = StaticFrameNetwork(model, GOLDEN_SHAPE)(image, depth)
        expected = model(image, GOLDEN_SHAPE.num_tokens, depth)
    torch.testing.assert_close(static[0], expected['depth_reg'], rtol=1e-5, atol=0)
    torch.testing.assert_close(static[1], expected['mask'], rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match='expected 240x320 frames'):
        StaticFrameNetwork(model, GOLDEN_SHAPE)(image[..., :200], depth[..., :200])


def test_export_that_disagrees_is_removed(tmp_path):
    """A check that fails (here: an impossible tolerance) leaves no file behind."""
    model = build_random_model('tiny')
    rgb = np.random.default_rng(0).integers(0, 255, (60, 80, 3), dtype=np.uint8)
    depth = np.full((60, 80), 2.0, np.float32)
    path = tmp_path / 'tiny.onnx'
    with pytest.raises(ExportError, match='disagrees with eager'):
        export_onnx(model, path, FrameShape(60, 80, 48), check_frame=(rgb, depth), rtol=0.0)
    assert not path.exists()


@pytest.mark.parametrize('kwargs, message', [
    ({'opset': 16}, 'opset: expected >= 17'),
    ({'precision': 'int8'}, 'precision: expected one of'),
])
def test_export_rejects_bad_options(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        export_onnx(build_random_model('tiny'), tmp_path / 'x.onnx', FrameShape(60, 80, 48),
                    **kwargs)


def test_frame_shape_is_checked():
    with pytest.raises(ValueError, match='height: expected a positive integer'):
        FrameShape(0, 640, 1200)
    with pytest.raises(ValueError, match='num_tokens'):
        FrameShape(480, 640, 0)


def test_cli_exports_tiny_on_a_real_capture(tmp_path, examples_dir, capsys):
    path = tmp_path / 'tiny.onnx'
    argv = ['export', '--model', 'random:tiny', '--height', '120', '--width', '160',
            '--num-tokens', '300', '--output', str(path), '--check-frame',
            str(examples_dir / '1')]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert 'onnxruntime vs eager on the check frame' in err and path.is_file()
    assert main(argv) == 2  # exists without --force
    assert 'use --force' in capsys.readouterr().err


@pytest.mark.parametrize('argv, code, message', [
    (['--precision', 'fp16'], 2, 'onnx exports are float32'),
    (['--num-tokens', '-3'], 2, '--num-tokens: expected >= 0'),
    (['--format', 'tensorrt'], 1, 'tensorrt'),
])
def test_cli_export_errors(tmp_path, capsys, argv, code, message):
    if '--format' in argv and torch.cuda.is_available():
        pytest.skip('a CUDA machine may have TensorRT: the error case is for machines without')
    base = ['export', '--model', 'random:tiny', '--output', str(tmp_path / 'x.onnx')]
    assert main(base + argv) == code
    assert message in capsys.readouterr().err
    assert not (tmp_path / 'x.onnx').exists()
