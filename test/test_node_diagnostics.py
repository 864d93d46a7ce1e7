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

"""The node's /diagnostics: content, rates, latencies, drops, levels; NodeStats on its own."""

import re

from diagnostic_msgs.msg import DiagnosticStatus
from lingbot_depth_ros.node.diagnostics import diagnostic_status, NodeStats, WarningThrottle
from node_harness import examples_fixture, make_node_fixture, ros_context_fixture  # noqa: F401
from node_harness import frame_msgs, wait_until
import pytest

pytestmark = pytest.mark.ros

MS = 10 ** 6


def values_of(status):
    """Return the key/values of a DiagnosticStatus as a dict."""
    return {kv.key: kv.value for kv in status.values}


def test_diagnostics_content_after_frames(make_node, examples):
    node, tester = make_node(diagnostics_period=0.2)
    rgb, depth_mm, K = examples[0]
    for i in range(3):
        stamp = tester.node.get_clock().now().nanoseconds
        tester.publish(*frame_msgs(rgb, depth_mm, K, stamp), node=node)
        assert wait_until(lambda: tester.count('depth') == i + 1)
    assert wait_until(lambda: any(values_of(s).get('frames_published') == '3'
                                  for s in tester.outputs('diagnostics')))
    status = [s for s in tester.outputs('diagnostics')
              if values_of(s).get('frames_published') == '3'][0]
    values = values_of(status)
    assert status.name == node.get_fully_qualified_name().lstrip('/') + ': depth completion'
    assert status.level == DiagnosticStatus.OK
    assert status.hardware_id == values['device'] == 'cpu'
    assert values['backend'] == node.backend.name
    assert values['precision'] == 'fp32' and values['model'] == '' and values['mode'] == \
        'completion'
    assert values['input_reliability_rgb'] == 'reliable'
    for key in ('latency_stamp_to_publish', 'latency_receive_to_publish', 'forward',
                'overhead', 'overhead_in_backend'):
        p50, p99 = float(values[key + '_p50_ms']), float(values[key + '_p99_ms'])
        assert 0.0 <= p50 <= p99 < 5000.0, key
    # Stamps are the tester's clock at publish time: the latency covers transport and work.
    assert float(values['latency_stamp_to_publish_p50_ms']) >= \
        float(values['latency_receive_to_publish_p50_ms'])
    assert int(values['dropped_total']) == 0
    rates = [float(values_of(s)['input_rate_rgb_hz']) for s in tester.outputs('diagnostics')]
    assert max(rates) > 0.0
    assert float(values['seconds_since_input']) < 2.0


def test_warn_when_no_input_for_two_seconds(make_node):
    node, tester = make_node(diagnostics_period=0.25)
    assert wait_until(lambda: any(s.level == DiagnosticStatus.WARN
                                  for s in tester.outputs('diagnostics')), timeout=10.0)
    status = [s for s in tester.outputs('diagnostics') if s.level == DiagnosticStatus.WARN][0]
    assert status.message.startswith('no input for')
    # Formatted with two decimals: 2.004 s reads 2.00.
    assert float(values_of(status)['seconds_since_input']) >= 2.0


def test_warn_while_frames_wait_for_camera_info(make_node, examples):
    node, tester = make_node()
    rgb, depth_mm, K = examples[0]
    for i in range(3):
        stamp = (2_000 + i) * 10 ** 9
        rgb_msg, depth_msg, _ = frame_msgs(rgb, depth_mm, K, stamp)
        tester.publish(rgb=rgb_msg, depth=depth_msg)
        assert wait_until(lambda: node.stats.inputs().get('depth', 0) > i)
    status = node.publish_diagnostics().status[0]
    assert status.level == DiagnosticStatus.WARN
    assert re.fullmatch(r'no camera_info received on /\S+/rgb/camera_info: [1-3] frame pairs '
                        r'held', status.message), status.message


def test_warn_when_every_frame_is_dropped(make_node, examples):
    node, tester = make_node()
    rgb, depth_mm, K = examples[0]
    node.publish_diagnostics()
    for i in range(3):
        rgb_msg, depth_msg, info = frame_msgs(rgb, depth_mm, K, (3_000 + i) * 10 ** 9)
        depth_msg.encoding = '8UC3'  # not a depth encoding: every frame is dropped
        tester.publish(rgb_msg, depth_msg, info, node=node)
        assert wait_until(lambda: node.stats.drops().get('bad_depth', 0) == i + 1)
    status = node.publish_diagnostics().status[0]
    assert status.level == DiagnosticStatus.WARN
    assert status.message == 'no output: every frame dropped (bad_depth 3)'
    # A period in which frames are published again is OK.
    tester.publish(*frame_msgs(rgb, depth_mm, K, 3_010 * 10 ** 9), node=node)
    assert wait_until(lambda: tester.count('depth') == 1)
    assert node.publish_diagnostics().status[0].level == DiagnosticStatus.OK


class FakeClock:
    """Monotonic clock the test moves by hand (nanoseconds)."""

    def __init__(self):
        self.now = 0

    def __call__(self):
        return self.now


def test_stats_rates_percentiles_and_levels():
    clock = FakeClock()
    stats = NodeStats(clock=clock)
    for i in range(10):
        clock.now += 100 * MS
        stats.record_input('rgb')
        stats.record_input('depth')
        stats.record_output(stamp_to_publish_s=0.010 * (i + 1), receive_to_publish_s=0.005,
                            forward_s=0.004, overhead_s=0.001)
    stats.record_drop('superseded', 2)
    snapshot = stats.snapshot(extra_drops={'no_match': 1})
    assert snapshot.input_rates_hz['rgb'] == pytest.approx(10.0)
    assert snapshot.input_rates_hz['camera_info'] == 0.0
    assert snapshot.output_rate_hz == pytest.approx(10.0)
    assert snapshot.stamp_to_publish_ms['p50'] == pytest.approx(55.0)
    assert snapshot.stamp_to_publish_ms['p99'] == pytest.approx(99.1)
    assert snapshot.drops == {'superseded': 2, 'no_match': 1}
    status = diagnostic_status(snapshot, 'n: depth completion', 'cpu', {'device': 'cpu'})
    assert status.level == DiagnosticStatus.OK
    values = values_of(status)
    assert values['dropped_total'] == '3' and values['output_rate_hz'] == '10.00'

    # Rates cover only the new period; silence over 2 s warns; a model error wins.
    clock.now += 3000 * MS
    later = stats.snapshot()
    assert later.input_rates_hz['rgb'] == 0.0
    assert diagnostic_status(later, 'n', 'cpu', {}).level == DiagnosticStatus.WARN
    stats.error = 'model failure: boom'
    status = diagnostic_status(stats.snapshot(), 'n', 'cpu', {})
    assert status.level == DiagnosticStatus.ERROR and status.message == 'model failure: boom'


def test_warning_throttle():
    clock = FakeClock()
    throttle = WarningThrottle(period_s=5.0, clock=clock)
    assert throttle.allow('a')
    assert not throttle.allow('a')
    assert throttle.allow('b')
    clock.now += 5 * 10 ** 9
    assert throttle.allow('a')
    assert throttle.allow('once', once=True)
    clock.now += 60 * 10 ** 9
    assert not throttle.allow('once', once=True)
