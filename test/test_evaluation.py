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

"""Evaluation: metrics by hand, block masking, outputs on tiny synthetic and folder data."""

import argparse
import csv
import math

import cv2
from lingbot_depth_ros.tools.evaluation import evaluate as evaluation
from lingbot_depth_ros.tools.evaluation.data import (folder_samples, read_capture, read_captures,
                                                     synthetic_samples, write_folder_dataset)
from lingbot_depth_ros.tools.evaluation.metrics import (block_mask, corrupt_depth, depth_metrics,
                                                        LEVELS, levels_markdown, MetricSums)
from lingbot_depth_ros.tools.evaluation.report import BAR_HEIGHT, colour_bar, comparison_image
import numpy as np
import pytest

WIDTH, HEIGHT = 96, 72


def test_metrics_equal_hand_computed_values():
    pred = np.array([[1.0, 2.0], [np.nan, 4.0]])
    gt = np.array([[1.0, 2.5], [3.0, np.nan]])
    # Evaluated: the three pixels with ground truth; covered: the two with a prediction.
    # Errors 0 and -0.5: RMSE sqrt(0.25 / 2), MAE 0.25, AbsRel (0 + 0.5 / 2.5) / 2.
    # Ratios 1 and 1.25 (not < 1.25), plus one missing pixel that counts as a miss.
    metrics = depth_metrics(pred, gt)
    assert metrics['pixels'] == 3
    assert metrics['rmse'] == pytest.approx(math.sqrt(0.125))
    assert metrics['mae'] == pytest.approx(0.25)
    assert metrics['absrel'] == pytest.approx(0.1)
    assert metrics['delta_1_25'] == pytest.approx(1 / 3)
    assert metrics['delta_1_05'] == pytest.approx(1 / 3)
    assert metrics['coverage'] == pytest.approx(2 / 3)


def test_metrics_on_a_region_and_delta_thresholds():
    gt = np.array([[2.0, 2.0, 2.0, 2.0]])
    pred = np.array([[2.0, 2.08, 2.4, 1.0]])  # ratios 1, 1.04, 1.2, 2
    region = np.array([[False, True, True, True]])
    metrics = depth_metrics(pred, gt, region)
    assert metrics['pixels'] == 3
    assert metrics['delta_1_05'] == pytest.approx(1 / 3)
    assert metrics['delta_1_25'] == pytest.approx(2 / 3)
    assert metrics['mae'] == pytest.approx((0.08 + 0.4 + 1.0) / 3)
    assert metrics['rmse'] == pytest.approx(math.sqrt((0.08 ** 2 + 0.4 ** 2 + 1.0) / 3))
    assert metrics['absrel'] == pytest.approx((0.04 + 0.2 + 0.5) / 3)


def test_metrics_without_output_or_ground_truth():
    gt = np.array([[1.0, 2.0]])
    empty = depth_metrics(np.full((1, 2), np.nan), gt)
    assert empty['coverage'] == 0.0 and empty['delta_1_25'] == 0.0
    assert math.isnan(empty['rmse']) and math.isnan(empty['mae'])
    none = depth_metrics(gt, np.full((1, 2), np.nan))
    assert none['pixels'] == 0 and math.isnan(none['delta_1_25'])
    with pytest.raises(ValueError, match='pred'):
        depth_metrics(np.ones((2, 2)), gt)


def test_pooled_sums_equal_metrics_of_the_concatenated_pixels():
    rng = np.random.default_rng(1)
    gts = [rng.uniform(0.5, 5.0, (4, 5)) for _ in range(3)]
    preds = [g * rng.uniform(0.9, 1.3, g.shape) for g in gts]
    preds[1][0, :] = np.nan
    pooled = MetricSums()
    for pred, gt in zip(preds, gts):
        pooled.merge(MetricSums().add(pred, gt))
    joined = depth_metrics(np.concatenate(preds), np.concatenate(gts))
    for name, value in pooled.result().items():
        assert value == pytest.approx(joined[name])


def test_block_masks_cover_the_level_ratio_deterministically():
    for level in LEVELS.values():
        mask = block_mask((480, 640), level, np.random.default_rng(5))
        assert level.mask_ratio <= mask.mean() < level.mask_ratio + 0.06
        again = block_mask((480, 640), level, np.random.default_rng(5))
        np.testing.assert_array_equal(mask, again)


def test_corruption_noise_matches_the_level_table():
    gt = np.full((240, 320), 2.0)
    gt[:10] = np.nan
    level = LEVELS['hard']
    depth, mask = corrupt_depth(gt, level, np.random.default_rng(2))
    kept = depth > 0
    assert not kept[mask].any() and not kept[:10].any()
    assert kept[~mask & np.isfinite(gt)].mean() > 0.999
    millimetres = depth[kept].astype(np.float64) * 1000.0
    np.testing.assert_allclose(millimetres, np.round(millimetres), atol=1e-3)
    expected = math.sqrt(level.gaussian_sigma_m ** 2 + level.shot_quantum_m * 2.0)
    assert np.std(depth[kept]) == pytest.approx(expected, rel=0.1)
    assert abs(np.mean(depth[kept]) - 2.0) < 0.002


def test_the_level_table_in_the_docstring_is_the_generated_one():
    table = levels_markdown()
    assert table in evaluation.__doc__
    assert [line.split('|')[1].strip() for line in table.splitlines()[2:]] == list(LEVELS)


def parse(argv):
    """Parse evaluate arguments as the CLI does."""
    parser = argparse.ArgumentParser()
    evaluation.add_evaluate_arguments(parser)
    return parser.parse_args(argv)


def read_rows(path):
    """Return the rows of a results CSV."""
    with open(path, newline='') as handle:
        return list(csv.DictReader(handle))


def test_evaluate_writes_table_csv_and_images_on_two_tiny_samples(tmp_path, capsys):
    out = tmp_path / 'out'
    code = evaluation.run_evaluate(parse([
        '--num-samples', '2', '--width', str(WIDTH), '--height', str(HEIGHT),
        '--level', 'easy', '--output', str(out), '--seed', '3']))
    assert code == 0
    markdown = (out / 'results.md').read_text()
    assert '### natural' in markdown and '### blocks, level easy' in markdown
    assert '| classical | holes |' in markdown and '| nearest | all |' in markdown
    assert markdown.split('\n\n', 2)[2] in capsys.readouterr().out

    rows = read_rows(out / 'results.csv')
    # 2 samples x 2 cases (natural, easy) x 3 backends x 2 regions, plus pooled rows.
    assert len([r for r in rows if r['sample'] != 'ALL']) == 24
    assert len([r for r in rows if r['sample'] == 'ALL']) == 12
    assert {r['sample'] for r in rows} == {'ALL', 'synthetic_3', 'synthetic_4'}
    sensor_holes = [r for r in rows if r['backend'] == 'sensor' and r['region'] == 'holes']
    assert all(r['rmse'] == '' and float(r['coverage']) == 0.0 for r in sensor_holes)
    classical = [r for r in rows if r['backend'] == 'classical']
    assert all(float(r['coverage']) == 1.0 for r in classical)

    images = sorted(p.name for p in (out / 'samples').glob('*.png'))
    assert images == ['blocks_easy_synthetic_3.png', 'blocks_easy_synthetic_4.png',
                      'natural_synthetic_3.png', 'natural_synthetic_4.png']
    figure = cv2.imread(str(out / 'samples' / images[0]))
    # One row per filling backend (nearest, classical); rgb | input | prediction | error.
    assert figure.shape == (2 * (HEIGHT + BAR_HEIGHT), 4 * WIDTH, 3)


def test_pooled_rows_agree_with_metrics_recomputed_from_the_samples(tmp_path):
    out = tmp_path / 'out'
    assert evaluation.run_evaluate(parse([
        '--num-samples', '1', '--width', str(WIDTH), '--height', str(HEIGHT),
        '--protocol', 'natural', '--output', str(out), '--no-png'])) == 0
    assert not (out / 'samples').exists()
    rows = read_rows(out / 'results.csv')
    sample = next(synthetic_samples(1, 0, WIDTH, HEIGHT))
    expected = depth_metrics(np.where(sample.sensor > 0, sample.sensor, np.nan), sample.gt)
    sensor_all = next(r for r in rows if r['sample'] == 'ALL' and r['backend'] == 'sensor'
                      and r['region'] == 'all')
    assert float(sensor_all['rmse']) == pytest.approx(expected['rmse'])
    assert float(sensor_all['coverage']) == pytest.approx(expected['coverage'])


def test_folder_dataset_round_trip_and_evaluation(tmp_path):
    samples = list(synthetic_samples(2, 7, WIDTH, HEIGHT))
    root = tmp_path / 'data'
    assert write_folder_dataset(samples, root) == 2
    loaded = list(folder_samples(root))
    assert [s.name for s in loaded] == [s.name for s in samples]
    for original, again in zip(samples, loaded):
        np.testing.assert_array_equal(again.rgb, original.rgb)
        np.testing.assert_allclose(again.gt, original.gt, atol=0.0006)
        np.testing.assert_array_equal(again.sensor > 0, original.sensor > 0)
        np.testing.assert_allclose(again.K, original.K)
    out = tmp_path / 'out'
    assert evaluation.run_evaluate(parse(['--data', str(root), '--level', 'medium',
                                          '--output', str(out), '--no-png'])) == 0
    rows = read_rows(out / 'results.csv')
    assert {r['protocol'] for r in rows} == {'natural', 'blocks'}
    assert {r['sample'] for r in rows} == {'ALL', 'synthetic_7', 'synthetic_8'}


def test_usage_errors_exit_with_2(tmp_path, capsys):
    assert evaluation.run_evaluate(parse(['--data', str(tmp_path / 'missing')])) == 2
    assert '--data' in capsys.readouterr().err
    assert evaluation.run_evaluate(parse(['--num-samples', '0'])) == 2
    root = tmp_path / 'no_sensor'
    write_folder_dataset(list(synthetic_samples(1, 0, WIDTH, HEIGHT)), root)
    for path in (root / 'depth').iterdir():
        path.unlink()
    (root / 'depth').rmdir()
    assert evaluation.run_evaluate(parse(['--data', str(root), '--protocol', 'natural'])) == 2
    assert 'depth/' in capsys.readouterr().err


def test_network_backend_is_evaluated_beside_the_baselines(tmp_path):
    pytest.importorskip('torch')
    out = tmp_path / 'out'
    assert evaluation.run_evaluate(parse([
        '--num-samples', '1', '--width', str(WIDTH), '--height', str(HEIGHT),
        '--protocol', 'natural', '--model', 'random:tiny', '--device', 'cpu',
        '--num-tokens', '100', '--output', str(out)])) == 0
    rows = read_rows(out / 'results.csv')
    assert {r['backend'] for r in rows} == {'sensor', 'nearest', 'classical',
                                            'network:random:tiny'}
    figure = cv2.imread(str(out / 'samples' / 'natural_synthetic_0.png'))
    assert figure.shape == (3 * (HEIGHT + BAR_HEIGHT), 4 * WIDTH, 3)


def test_read_capture_reads_the_example_layout(examples_dir, tmp_path):
    captures = read_captures(examples_dir)
    assert [c.name for c in captures] == [str(i) for i in range(8)]
    name, rgb, depth_mm, K = captures[0]
    assert rgb.shape == (480, 640, 3) and rgb.dtype == np.uint8
    assert depth_mm.shape == (480, 640) and depth_mm.dtype == np.uint16
    np.testing.assert_array_equal(K, np.loadtxt(examples_dir / '0' / 'intrinsics.txt'))
    assert read_captures(tmp_path / 'absent') == []
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ValueError, match='raw_depth.png'):
        read_capture(tmp_path / 'empty')


def test_comparison_image_has_a_colour_bar_under_every_depth_panel():
    rng = np.random.default_rng(1)
    gt = rng.uniform(1.0, 3.0, (40, 60))
    sensor = np.where(rng.random(gt.shape) < 0.2, 0.0, gt)
    image = comparison_image(np.zeros((40, 60, 3), np.uint8), sensor, gt, [('net', gt + 0.1)],
                             input_name='sensor')
    assert image.shape == (40 + BAR_HEIGHT, 4 * 60, 3)
    low, high = np.percentile(gt, [2, 98])
    bar = colour_bar(60, low, high, cv2.COLORMAP_TURBO)
    for panel in (1, 2):  # sensor and prediction share the depth scale
        np.testing.assert_array_equal(image[40:, panel * 60:(panel + 1) * 60], bar)
    assert image[40:, :60].max() == 0  # no bar under the colour image
    assert image[40 + BAR_HEIGHT // 2:, 180:].max() == 255  # the error range is written
