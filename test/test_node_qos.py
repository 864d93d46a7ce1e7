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

"""
Input QoS: ``auto`` follows the publishers, across processes, with full-size images.

The camera side runs in another process (test/node_harness.py as a script) publishing the
real 640x480 frames reliable or best effort; the node must subscribe to match and receive.
"""

import json
import os
from pathlib import Path
import subprocess
import sys

from lingbot_depth_ros.messages.transport import large_data_environment, large_data_profile
from lingbot_depth_ros.node import qos
from node_harness import examples_fixture, make_node_fixture, ros_context_fixture  # noqa: F401
from node_harness import frame_msgs, wait_until
import pytest
from rclpy.qos import ReliabilityPolicy

pytestmark = pytest.mark.ros

HARNESS = Path(__file__).resolve().parent / 'node_harness.py'


def test_choose_reliability():
    reliable, best_effort = ReliabilityPolicy.RELIABLE, ReliabilityPolicy.BEST_EFFORT
    assert qos.choose_reliability('auto', []) == 'best_effort'
    assert qos.choose_reliability('auto', [reliable, reliable]) == 'reliable'
    assert qos.choose_reliability('auto', [reliable, best_effort]) == 'best_effort'
    assert qos.choose_reliability('reliable', [best_effort]) == 'reliable'
    assert qos.choose_reliability('best_effort', [reliable]) == 'best_effort'
    with pytest.raises(ValueError, match='input_reliability: expected one of'):
        qos.choose_reliability('sensor_data', [])


def test_sensor_qos_profile():
    profile = qos.sensor_qos('best_effort')
    assert profile.depth == 1 and profile.reliability == ReliabilityPolicy.BEST_EFFORT
    assert qos.policy_name(qos.reliability_policy('reliable')) == 'reliable'
    with pytest.raises(ValueError, match='depth'):
        qos.sensor_qos('reliable', depth=0)
    with pytest.raises(ValueError, match='reliability'):
        qos.sensor_qos('keep_last')


@pytest.mark.parametrize('reliability', ['reliable', 'best_effort'])
def test_auto_matches_a_publisher_in_another_process(make_node, capfd, reliability,
                                                     examples_dir):
    node, tester = make_node(tester_reliability=None)
    namespace = node.get_namespace()
    camera = subprocess.Popen(
        [sys.executable, str(HARNESS), '--namespace', namespace, '--reliability', reliability,
         '--rate', '5', '--duration', '15', '--examples', str(examples_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert wait_until(lambda: all(node.input_reliability[k] == reliability
                                      for k in ('rgb', 'depth', 'camera_info')),
                          timeout=15.0), node.input_reliability
        # Best effort loses many full-size images between processes (see README.md, node QoS), so
        # one complete frame proves the match there.
        wanted = 3 if reliability == 'reliable' else 1
        assert wait_until(lambda: tester.count('depth') >= wanted, timeout=15.0), \
            'only %d frames from a %s publisher' % (tester.count('depth'), reliability)
    finally:
        camera.terminate()
        camera.wait(timeout=10)
    depth = tester.outputs('depth')[0]
    assert (depth.width, depth.height) == (640, 480)
    err = capfd.readouterr().err
    # Logged once per topic when the subscription follows the new publisher.
    assert err.count('rgb/image: subscribing %s' % reliability) == 1


def test_forced_reliable_against_best_effort_publisher_warns(make_node, examples):
    node, tester = make_node(input_reliability='reliable', tester_reliability='best_effort')
    assert node.input_reliability == dict.fromkeys(('rgb', 'depth', 'camera_info'), 'reliable')
    assert wait_until(lambda: node.stats.warning is not None
                      and 'incompatible QoS' in node.stats.warning)
    tester.publish(*frame_msgs(*examples[0], 50_000 * 10 ** 9))
    assert not wait_until(lambda: tester.count('depth') > 0, timeout=0.5)


SEGMENT_SIZES = """
import json, os, time
import rclpy
before = set(os.listdir('/dev/shm'))
rclpy.init()
node = rclpy.create_node('segment_probe')
time.sleep(0.3)
new = set(os.listdir('/dev/shm')) - before
print(json.dumps([os.path.getsize('/dev/shm/' + f) for f in new if not f.endswith('_el')]))
"""


@pytest.mark.skipif(not Path('/dev/shm').is_dir(), reason='no /dev/shm on this system')
@pytest.mark.parametrize('profile', [False, True])
def test_large_data_profile_applies(profile):
    """The launch files' environment: the XML parses and gives a 16 MB shared-memory segment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(('FASTDDS_', 'FASTRTPS_'))}
    if profile:
        env.update(large_data_environment(large_data_profile()))
    result = subprocess.run([sys.executable, '-c', SEGMENT_SIZES], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert 'XMLPARSER' not in result.stderr and 'Error' not in result.stderr
    largest = max(json.loads(result.stdout.strip().splitlines()[-1]))
    if profile:
        assert largest >= 16 * 2 ** 20
    else:
        # Fast DDS's default segment is 512 KB, too small for one 640x480 image.
        assert largest < 2 ** 20
