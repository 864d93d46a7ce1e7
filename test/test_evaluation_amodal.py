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

"""The amodal protocol: its baselines on hand-computed cases, and the command end to end."""

from lingbot_depth_ros.backends.amodal import (CompletionAsAmodal, encode_amodal_mask, HIDDEN,
                                               VISIBLE)
from lingbot_depth_ros.backends.base import CompletionResult
from lingbot_depth_ros.tools.cli import main
from lingbot_depth_ros.tools.evaluation.amodal import (amodal_table, as_amodal, fit_plane,
                                                       NearestVisibleFill, PlaneFitVisible)
import numpy as np
import pytest

K = np.array([[100.0, 0.0, 40.0], [0.0, 100.0, 30.0], [0.0, 0.0, 1.0]])
RGB = np.zeros((60, 80, 3), np.uint8)


def _tilted_plane():
    """Return depth of the plane z = 2 + 0.5 x (camera frame) seen by K, 60x80."""
    rows, cols = np.mgrid[0:60, 0:80]
    x = (cols - K[0, 2]) / K[0, 0]
    # z = 2 + 0.5 * (x z)  =>  z = 2 / (1 - 0.5 x)
    return (2.0 / (1.0 - 0.5 * x)).astype(np.float32)


def test_plane_fit_recovers_a_partly_hidden_tilted_plane():
    truth = _tilted_plane()
    amodal = np.zeros((60, 80), bool)
    amodal[10:50, 10:70] = True
    visible = amodal.copy()
    visible[:, 35:70] = False
    depth = np.where(visible, truth, 1.0).astype(np.float32)  # an occluder at 1 m
    mask = encode_amodal_mask(amodal, visible)
    result = PlaneFitVisible().complete_amodal(RGB, depth, K, mask)
    np.testing.assert_allclose(result.depth[amodal], truth[amodal], rtol=1e-4)
    assert np.isnan(result.depth[~amodal]).all()
    np.testing.assert_array_equal(result.hidden, amodal & ~visible)


def test_fit_plane_rejects_collinear_points():
    line = np.stack([np.arange(5.0), np.zeros(5), np.ones(5)], axis=1)
    assert fit_plane(line) is None
    assert fit_plane(line[:2]) is None


def test_nearest_visible_fill_on_a_small_grid():
    depth = np.zeros((60, 80), np.float32)
    mask = np.zeros((60, 80), np.uint8)
    mask[0, 0:5] = [VISIBLE, HIDDEN, HIDDEN, HIDDEN, VISIBLE]
    depth[0, 0], depth[0, 4] = 1.0, 2.0
    depth[0, 1:4] = 0.5  # the occluder's readings: never used
    result = NearestVisibleFill().complete_amodal(RGB, depth, K, mask)
    np.testing.assert_allclose(result.depth[0, [0, 1, 3, 4]], [1.0, 1.0, 2.0, 2.0])
    assert result.depth[0, 2] in (1.0, 2.0)  # as far from both: either is right
    assert np.isnan(result.depth[1:]).all() and np.isnan(result.depth[0, 5:]).all()


def test_nothing_visible_gives_no_output():
    mask = np.full((60, 80), HIDDEN, np.uint8)
    for predictor in (NearestVisibleFill(), PlaneFitVisible()):
        result = predictor.complete_amodal(RGB, np.ones((60, 80), np.float32), K, mask)
        assert np.isnan(result.depth).all()


class _Recorder:
    """A plain completion backend that records its input and returns 3 m everywhere."""

    name = 'recorder'
    device = 'cpu'

    def complete(self, rgb, depth, K):
        self.depth = depth.copy()
        out = np.full(rgb.shape[:2], 3.0, np.float32)
        valid = depth > 0
        return CompletionResult(out, ~valid, valid)


def test_a_plain_backend_gets_the_hidden_part_as_holes():
    recorder = _Recorder()
    wrapped = as_amodal(recorder)
    assert isinstance(wrapped, CompletionAsAmodal)
    amodal = np.zeros((60, 80), bool)
    amodal[10:50, 10:70] = True
    visible = amodal.copy()
    visible[:, 35:] = False
    depth = np.full((60, 80), 1.5, np.float32)
    result = wrapped.complete_amodal(RGB, depth, K, encode_amodal_mask(amodal, visible))
    np.testing.assert_array_equal(recorder.depth == 0, amodal & ~visible)
    np.testing.assert_allclose(result.depth[amodal], 3.0)
    assert np.isnan(result.depth[~amodal]).all()


def test_table_compares_the_model_with_the_best_baseline():
    rows = [{'predictor': name, 'hidden_rmse': 1.0, 'hidden_absrel': 0.1, 'hidden_mae': 0.1,
             'hidden_coverage': 1.0, 'common_rmse': rmse, 'common_absrel': 0.1,
             'object_rmse': 0.1, 'ms_per_frame': 1.0}
            for name, rmse in (('a', 0.2), ('b', 0.1), ('net', 0.06))]
    table = amodal_table(rows, 'net', ['a', 'b'])
    assert ('Best baseline: b (0.1000 m on the common hidden pixels); net: 0.0600 m, -40.0% '
            'hidden-part RMSE.') in table


def test_common_pixels_leave_out_what_one_predictor_misses():
    from lingbot_depth_ros.tools.evaluation.amodal import evaluate_amodal
    from lingbot_depth_ros.tools.synthetic.amodal import render_amodal

    frame = render_amodal(1, 160, 120)
    split = int(np.median(np.nonzero(frame.hidden)[1]))

    class Half:
        # Exact on the left half of the hidden part, nothing on the right.
        name, device, supports_amodal = 'half', 'cpu', True

        def complete_amodal(self, rgb, depth, K, mask):
            out = frame.target_depth.copy()
            out[:, split:] = np.nan
            return type('R', (), {'depth': out})()

    class Off:
        name, device, supports_amodal = 'off', 'cpu', True

        def complete_amodal(self, rgb, depth, K, mask):
            return type('R', (), {'depth': frame.target_depth + 0.1})()

    rows = {r['predictor']: r for r in evaluate_amodal([frame], [Half(), Off()])}
    assert rows['half']['common_rmse'] == 0.0 and rows['half']['hidden_coverage'] < 1.0
    assert rows['off']['common_rmse'] == pytest.approx(0.1, abs=1e-5)
    assert rows['off']['hidden_coverage'] == 1.0


def test_evaluate_amodal_protocol_end_to_end(tmp_path, capsys):
    out = tmp_path / 'eval'
    code = main(['evaluate', '--protocol', 'amodal', '--num-samples', '2', '--width', '160',
                 '--height', '120', '--model', 'random:tiny_amodal', '--num-tokens', '48',
                 '--output', str(out)])
    assert code == 0
    text = (out / 'results.md').read_text()
    for name in ('nearest visible', 'plane fit', 'classical (no guidance)',
                 'network:random:tiny_amodal'):
        assert f'| {name} |' in text
    assert 'Best baseline:' in text
    lines = (out / 'results.csv').read_text().splitlines()
    assert lines[0].startswith('predictor,hidden_rmse') and len(lines) == 5
    assert main(['evaluate', '--protocol', 'amodal', '--data', str(tmp_path),
                 '--output', str(out)]) == 2
    assert 'runs on synthetic amodal scenes' in capsys.readouterr().err
