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

"""The lingbot-depth command line: subcommands, exit codes and messages."""

import os
from pathlib import Path
import subprocess
import sys

from lingbot_depth_ros.tools.bag import messages as bag_msgs
from lingbot_depth_ros.tools.bag.storage import TOPIC_PRESETS
from lingbot_depth_ros.tools.cli import main
import pytest
from rosbags.rosbag2 import Reader
from test_bag import read_bag, write_bag

ROOT = Path(__file__).resolve().parents[1]
REALSENSE = TOPIC_PRESETS['realsense']


def run(argv, capsys):
    """Run the command in-process; return (exit code, stdout, stderr)."""
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize('argv', [[], ['refine-bag'], ['synth-bag'], ['evaluate']])
def test_help_exits_zero(capsys, argv):
    code, out, _ = run(argv + ['--help'], capsys)
    assert code == 0
    assert out.startswith('usage: lingbot-depth')


def test_top_level_help_lists_the_subcommands(capsys):
    _, out, _ = run(['--help'], capsys)
    for command in ('refine-bag', 'synth-bag', 'evaluate'):
        assert command in out


@pytest.mark.parametrize('argv, message', [
    ([], 'the following arguments are required: COMMAND'),
    (['refine-bag', 'in'], 'the following arguments are required: output'),
    (['refine-bag', 'in', 'out', '--max-frames', '0'], 'expected an integer >= 1'),
    (['refine-bag', 'in', 'out', '--storage', 'rosbag1'], "invalid choice: 'rosbag1'"),
    (['refine-bag', 'in', 'out', '--backend', 'network'], 'backend: network needs a model'),
    (['refine-bag', 'in', 'out', '--model', 'random:tiny', '--backend', 'classical'],
     'cannot be used with backend classical'),
    (['synth-bag', 'out', '--fps', '0'], '--fps: expected a finite number > 0'),
    (['no-such-command'], 'invalid choice'),
])
def test_usage_errors_exit_two(tmp_path, capsys, argv, message):
    code, _, err = run(argv, capsys)
    assert code == 2
    assert message in err
    # Nothing was read or written.
    assert not (Path('out').exists() or (tmp_path / 'out').exists())


def test_refine_bag_end_to_end(tmp_path, capsys):
    write_bag(tmp_path / 'in', n=3)
    code, _, err = run(['refine-bag', tmp_path / 'in', tmp_path / 'out', '--points',
                        '--storage', 'sqlite3', '--no-progress'], capsys)
    assert code == 0, err
    assert 'done: 3 frames refined' in err
    assert list((tmp_path / 'out').glob('*.db3'))
    out = read_bag(tmp_path / 'out')
    assert {t: len(v) for t, v in out.items() if t.startswith('/lingbot_depth')} == {
        '/lingbot_depth/depth_refined/image': 3, '/lingbot_depth/depth_refined/camera_info': 3,
        '/lingbot_depth/points': 3}


def test_failures_exit_one_with_a_one_line_reason(tmp_path, capsys):
    code, _, err = run(['refine-bag', tmp_path / 'missing', tmp_path / 'out'], capsys)
    assert code == 1
    assert err.splitlines() == [f'lingbot-depth refine-bag: error: input bag '
                                f'{tmp_path / "missing"} does not exist']

    write_bag(tmp_path / 'in', n=2, topics=TOPIC_PRESETS['orbbec'])
    code, _, err = run(['refine-bag', tmp_path / 'in', tmp_path / 'out',
                        '--depth-topic', '/camera/depth/points'], capsys)
    lines = err.splitlines()
    assert code == 1
    assert lines[0].startswith('lingbot-depth refine-bag: error: missing topics: ')
    assert '/camera/depth/points' in lines[0]
    assert lines[1] == 'available topics:'
    assert '  /camera/depth/image_raw    sensor_msgs/msg/Image  (2 msgs)' in lines[2:]

    # No colour/depth pair within a zero slop (depth lags colour by 3 ms).
    code, _, err = run(['refine-bag', tmp_path / 'in', tmp_path / 'out', '--slop', '0',
                        '--no-progress'], capsys)
    assert code == 1
    assert 'error: no colour/depth pair matched' in err.splitlines()[-1]

    code, _, err = run(['refine-bag', tmp_path / 'in', tmp_path / 'out'], capsys)
    assert code == 1
    assert err.splitlines()[-1].endswith('exists; pass --force to replace it')
    code, _, err = run(['refine-bag', tmp_path / 'in', tmp_path / 'out', '--force',
                        '--no-progress'], capsys)
    assert code == 0, err


def test_synth_bag_writes_a_realsense_bag_that_refines(tmp_path, capsys):
    bag = tmp_path / 'synth'
    code, _, err = run(['synth-bag', bag, '--frames', 2, '--width', 80, '--height', 60,
                        '--seed', 3], capsys)
    assert code == 0, err
    with Reader(bag) as reader:
        assert {t: (i.msgtype, i.msgcount) for t, i in reader.topics.items()} == {
            REALSENSE.rgb: (bag_msgs.IMAGE, 2), REALSENSE.depth: (bag_msgs.IMAGE, 2),
            REALSENSE.info: (bag_msgs.CAMERA_INFO, 2)}
    code, _, err = run(['refine-bag', bag, tmp_path / 'out', '--no-progress'], capsys)
    assert code == 0, err
    assert 'done: 2 frames refined' in err

    code, _, err = run(['synth-bag', bag, '--frames', 1, '--width', 80, '--height', 60],
                       capsys)
    assert code == 1 and 'exists; pass --force' in err
    code, _, err = run(['synth-bag', bag, '--frames', 1, '--width', 80, '--height', 60,
                        '--force'], capsys)
    assert code == 0, err
    with Reader(bag) as reader:
        assert reader.message_count == 3


def test_evaluate_is_mounted(tmp_path, capsys):
    code, out, _ = run(['evaluate', '--help'], capsys)
    assert code == 0 and '--protocol' in out
    code, _, err = run(['evaluate', '--num-samples', 1, '--width', 32, '--height', 24,
                        '--protocol', 'blocks', '--level', 'easy', '--output', tmp_path / 'ev'],
                       capsys)
    assert code == 0, err
    assert 'classical' in (tmp_path / 'ev' / 'results.md').read_text()
    code, _, err = run(['evaluate', '--num-samples', 0], capsys)
    assert code == 2 and '--num-samples' in err


def test_module_entry_point_returns_the_exit_code(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = [sys.executable, '-m', 'lingbot_depth_ros.tools.cli']
    version = subprocess.run(command + ['--version'], env=env, capture_output=True, text=True,
                             timeout=120)
    assert version.returncode == 0 and version.stdout.startswith('lingbot-depth ')
    failed = subprocess.run(command + ['refine-bag', str(tmp_path / 'nope'),
                                       str(tmp_path / 'out')],
                            env=env, capture_output=True, text=True, timeout=120)
    assert failed.returncode == 1
    assert failed.stderr.strip().endswith('does not exist')


def test_classical_refine_bag_imports_neither_torch_nor_evaluation(tmp_path):
    write_bag(tmp_path / 'in', n=1)
    script = ('import sys\n'
              'from lingbot_depth_ros.tools.cli import main\n'
              'code = main(sys.argv[1:])\n'
              'print(code, "torch" in sys.modules,\n'
              '      "lingbot_depth_ros.tools.evaluation.evaluate" in sys.modules)')
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, '-c', script, 'refine-bag', str(tmp_path / 'in'),
                           str(tmp_path / 'out'), '--no-progress'],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ['0', 'False', 'False'], done.stderr


def test_network_backend_with_random_weights(tmp_path, capsys):
    pytest.importorskip('torch')
    write_bag(tmp_path / 'in', n=2)
    code, _, err = run(['refine-bag', tmp_path / 'in', tmp_path / 'out', '--model',
                        'random:tiny', '--device', 'cpu', '--resolution-level', 0,
                        '--max-frames', 1, '--no-progress'], capsys)
    assert code == 0, err
    assert 'backend network:random:tiny' in err
    image = read_bag(tmp_path / 'out')['/lingbot_depth/depth_refined/image']
    assert len(image) == 1
