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

"""make demo end to end: synthetic frames -> node process over DDS -> bag, PNG, PLY, summary."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

FRAMES = 3


@pytest.fixture(scope='module')
def demo_output(tmp_path_factory):
    output = tmp_path_factory.mktemp('demo') / 'demo_output'
    env = dict(os.environ)
    env.pop('LINGBOT_DEPTH_MODEL', None)  # the default: the bundled trained network
    result = subprocess.run(
        [sys.executable, '-m', 'lingbot_depth_ros.tools.demo.run', '--frames', str(FRAMES),
         '--output', str(output)], env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    return output, result.stdout


def test_demo_prints_where_everything_is(demo_output):
    output, stdout = demo_output
    assert f'Frames refined: {FRAMES} of {FRAMES}' in stdout
    assert str(output) in stdout
    for name in ('summary.md', 'summary.json', 'cloud.ply', 'node.log'):
        assert (output / name).is_file(), name
    assert list(output.glob('comparison_*.png'))


def test_demo_summary_shows_holes_filled(demo_output):
    output, _ = demo_output
    summary = json.loads((output / 'summary.json').read_text())
    assert summary['frames_refined'] == FRAMES
    assert summary['coverage_refined'] > summary['coverage_sensor']
    assert summary['hole_pixels'] > 0 and summary['holes_filled'] > 0.9
    assert 0 < summary['rmse_holes_refined_m'] < 5.0
    assert summary['latency_depth_ms_p50'] > 0
    assert summary['backend'] == 'network bundled:vitt4-synthetic'
    # The classical backend ran on the same frames for the side-by-side table.
    assert summary['classical_holes_filled'] > 0.9
    assert 0 < summary['classical_rmse_holes_refined_m'] < 5.0


def test_demo_table_sets_network_beside_classical_and_sensor(demo_output):
    output, stdout = demo_output
    table = (output / 'summary.md').read_text()
    assert '| | sensor | classical backend | node (network bundled:vitt4-synthetic) |' in table
    assert table in stdout.replace('\r', '')


def test_demo_ply_is_readable(demo_output):
    output, _ = demo_output
    data = (output / 'cloud.ply').read_bytes()
    header, _, body = data.partition(b'end_header\n')
    count = int(header.split(b'element vertex ')[1].split(b'\n')[0])
    vertices = np.frombuffer(body, dtype=[('x', '<f4'), ('y', '<f4'), ('z', '<f4'),
                                          ('r', 'u1'), ('g', 'u1'), ('b', 'u1')])
    assert len(vertices) == count > 0
    assert np.isfinite(vertices['z']).all() and (vertices['z'] > 0).all()


def test_demo_bag_holds_inputs_and_outputs(demo_output):
    from rosbags.rosbag2 import Reader
    output, _ = demo_output
    with Reader(output / 'demo_bag') as reader:
        counts = {c.topic: c.msgcount for c in reader.connections}
    for topic in ('/camera/camera/color/image_raw', '/depth_refined/image', '/points',
                  '/depth_refined/camera_info', '/depth_refined/filled_mask'):
        assert counts.get(topic, 0) >= FRAMES, (topic, counts)
