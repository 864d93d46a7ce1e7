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

"""The node's amodal input and outputs over real DDS, with a random-weight amodal model."""

import subprocess
import sys
import time

from lingbot_depth_ros.backends.amodal import encode_amodal_mask
from lingbot_depth_ros.messages.conversions import pointcloud2_to_array
from node_harness import examples_fixture, make_node_fixture, ros_context_fixture  # noqa: F401
from node_harness import (frame_msgs, image_msg, load_example, qos_profile,
                          unique_namespace, wait_until)
import numpy as np
import pytest
from sensor_msgs.msg import Image, PointCloud2
from test_camera_node import rig_fixture  # noqa: F401
from test_node_network import small_frame

pytestmark = pytest.mark.ros

S = 10 ** 9
PARAMS = {'model': 'random:tiny_amodal', 'amodal': True, 'device': 'cpu', 'num_tokens': 48,
          'warmup_sizes': '', 'num_threads': 2}


class AmodalSide:
    """The segmenter (mask publisher) and the consumer of the amodal outputs."""

    def __init__(self, tester):
        node = tester.node
        self.received = {'depth': [], 'points': []}
        self.masks = node.create_publisher(Image, 'amodal_mask', qos_profile('reliable'))
        node.create_subscription(Image, 'depth_amodal/image',
                                 lambda m: self.received['depth'].append(m),
                                 qos_profile('reliable'))
        node.create_subscription(PointCloud2, 'points_amodal',
                                 lambda m: self.received['points'].append(m),
                                 qos_profile('reliable'))

    def count(self):
        return len(self.received['depth'])


def _mask(shape):
    amodal = np.zeros(shape, bool)
    amodal[30:90, 40:120] = True
    visible = amodal.copy()
    visible[30:60, 40:90] = False
    return encode_amodal_mask(amodal, visible), amodal


def test_amodal_outputs_only_for_frames_with_a_mask(make_node, examples):
    node, tester = make_node(**PARAMS)
    side = AmodalSide(tester)
    assert wait_until(lambda: side.masks.get_subscription_count() > 0, timeout=10.0)
    rgb, depth_mm, K = small_frame(*examples[0])
    mask, amodal = _mask(rgb.shape[:2])
    # Frames without masks: the regular outputs only.
    for i in range(2):
        tester.publish(*frame_msgs(rgb, depth_mm, K, (80_000 + i) * S), node=node)
        assert wait_until(lambda: tester.count('depth') == i + 1, timeout=60.0)
    time.sleep(0.5)
    assert side.count() == 0
    # A mask for the first frame, after it: one amodal output with that frame's stamp.
    side.masks.publish(image_msg(mask, 'mono8', 80_000 * S))
    assert wait_until(lambda: len(side.received['points']) == 1, timeout=60.0)
    depth_msg, cloud = side.received['depth'][0], side.received['points'][0]
    for msg in (depth_msg, cloud):
        assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == (80_000, 0)
        assert msg.header.frame_id == tester.outputs('depth')[0].header.frame_id
    assert depth_msg.encoding == '32FC1'
    depth = np.frombuffer(bytes(depth_msg.data), np.float32).reshape(rgb.shape[:2])
    assert np.isnan(depth[~amodal]).all()
    assert np.isfinite(depth[amodal]).all()
    points = pointcloud2_to_array(cloud)
    assert len(points) == amodal.sum()
    np.testing.assert_allclose(np.sort(points['z']), np.sort(depth[amodal]), rtol=1e-6)
    # A mask that arrives before its frame is paired when the frame comes.
    side.masks.publish(image_msg(mask, 'mono8', 80_005 * S))
    assert wait_until(lambda: node.stats.inputs().get('amodal_mask', 0) == 2, timeout=10.0)
    tester.publish(*frame_msgs(rgb, depth_mm, K, 80_005 * S), node=node)
    assert wait_until(lambda: side.count() == 2, timeout=60.0)
    assert side.received['depth'][1].header.stamp.sec == 80_005
    assert wait_until(lambda: tester.count('depth') == 3, timeout=60.0)
    # The regular outputs of one image are the same with or without a mask.
    regular = tester.outputs('depth')
    assert bytes(regular[2].data) == bytes(regular[0].data) == bytes(regular[1].data)
    assert side.count() == 2


def test_pairing_survives_bag_loops_future_masks_and_several_objects(make_node, examples):
    node, tester = make_node(**PARAMS)
    side = AmodalSide(tester)
    assert wait_until(lambda: side.masks.get_subscription_count() > 0, timeout=10.0)
    rgb, depth_mm, K = small_frame(*examples[2])
    mask, amodal = _mask(rgb.shape[:2])
    tester.publish(*frame_msgs(rgb, depth_mm, K, 82_000 * S), node=node)
    assert wait_until(lambda: tester.count('depth') == 1, timeout=60.0)
    # A mask stamped far ahead (a segmenter on another clock) waits: the history stays.
    side.masks.publish(image_msg(mask, 'mono8', 99_000 * S))
    side.masks.publish(image_msg(mask, 'mono8', 82_000 * S))
    assert wait_until(lambda: side.count() == 1, timeout=60.0)
    # The bag loops: stamps go back; late and early masks of the new loop still pair,
    # and two masks of one frame (two objects) each give an output.
    tester.publish(*frame_msgs(rgb, depth_mm, K, 100 * S), node=node)
    assert wait_until(lambda: tester.count('depth') == 2, timeout=60.0)
    side.masks.publish(image_msg(mask, 'mono8', 100 * S))
    assert wait_until(lambda: side.count() == 2, timeout=60.0)
    for _ in range(2):
        side.masks.publish(image_msg(mask, 'mono8', 101 * S))
    assert wait_until(lambda: node.stats.inputs().get('amodal_mask', 0) == 5, timeout=10.0)
    tester.publish(*frame_msgs(rgb, depth_mm, K, 101 * S), node=node)
    assert wait_until(lambda: side.count() == 4, timeout=60.0)
    stamps = [m.header.stamp.sec for m in side.received['depth']]
    assert stamps == [82_000, 100, 101, 101]
    # The mask of the old timeline was dropped when the stamps went back.
    assert node.stats.drops().get('amodal_no_frame', 0) == 1


def test_bad_masks_are_counted_and_warned_not_fatal(make_node, examples):
    node, tester = make_node(**PARAMS)
    side = AmodalSide(tester)
    assert wait_until(lambda: side.masks.get_subscription_count() > 0, timeout=10.0)
    rgb, depth_mm, K = small_frame(*examples[1])
    tester.publish(*frame_msgs(rgb, depth_mm, K, 81_000 * S), node=node)
    assert wait_until(lambda: tester.count('depth') == 1, timeout=60.0)
    side.masks.publish(image_msg(np.zeros((10, 10), np.uint8), 'mono8', 81_000 * S))
    side.masks.publish(image_msg(np.zeros((120, 160), np.uint16), 'mono16', 81_000 * S))
    assert wait_until(lambda: node.stats.drops().get('amodal_bad_mask', 0) == 2, timeout=30.0)
    assert 'amodal_mask' in node.stats.warning
    # A mask whose frame never comes expires once newer stamps pass.
    side.masks.publish(image_msg(_mask((120, 160))[0], 'mono8', 81_001 * S))
    tester.publish(*frame_msgs(rgb, depth_mm, K, 81_010 * S), node=node)
    assert wait_until(lambda: node.stats.drops().get('amodal_no_frame', 0) == 1, timeout=30.0)
    assert side.count() == 0
    values = {kv.key: kv.value for kv in node.publish_diagnostics().status[0].values}
    assert values['amodal_published'] == '0'
    assert values['amodal_masks_received'] == '3'
    assert values['amodal_masks_waiting'] == '0'
    assert values['dropped_amodal_bad_mask'] == '2'


def test_a_model_without_guidance_stops_the_node_with_one_line():
    command = [sys.executable, '-m', 'lingbot_depth_ros.node.node', '--ros-args', '-r',
               '__ns:=' + unique_namespace(), '-p', 'model:=random:tiny', '-p', 'amodal:=true',
               '-p', "warmup_sizes:=''"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if '[FATAL]' in line]
    assert len(errors) == 1
    assert "model 'random:tiny'" in errors[0] and 'no amodal guidance input' in errors[0]


def test_refused_where_it_cannot_work(ros_context):
    """A model without guidance fails configure; several cameras are refused at start-up."""
    from lingbot_depth_ros.node.pipeline import ModelLoadError
    from lingbot_depth_ros.node.lifecycle import LifecycleDepthCompletionNode
    from lingbot_depth_ros.node.node import DepthCompletionNode
    from rclpy.lifecycle import TransitionCallbackReturn
    from rclpy.parameter import Parameter

    plain = dict(PARAMS, model='random:tiny')
    node = LifecycleDepthCompletionNode(
        namespace=unique_namespace(), context=ros_context,
        parameter_overrides=[Parameter(k, value=v) for k, v in plain.items()])
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
        assert node.backend is None
    finally:
        node.destroy_node()
    with pytest.raises(ModelLoadError, match='amodal: serves one camera'):
        DepthCompletionNode(namespace=unique_namespace(), context=ros_context,
                            parameter_overrides=[Parameter(k, value=v) for k, v in
                                                 dict(PARAMS, cameras=['a', 'b']).items()])


def test_lifecycle_opens_and_closes_the_amodal_io(ros_context):
    from lingbot_depth_ros.node.lifecycle import LifecycleDepthCompletionNode
    from node_harness import Spinner
    from rclpy.parameter import Parameter

    namespace = unique_namespace()
    node = LifecycleDepthCompletionNode(
        namespace=namespace, context=ros_context,
        parameter_overrides=[Parameter(k, value=v) for k, v in PARAMS.items()])
    spinner = Spinner(ros_context, node)
    try:
        node.trigger_configure()
        assert node.backend.supports_amodal
        assert node.count_subscribers(namespace + '/amodal_mask') == 0
        node.trigger_activate()
        assert wait_until(lambda: node.count_subscribers(namespace + '/amodal_mask') == 1
                          and node.count_publishers(namespace + '/points_amodal') == 1)
        node.trigger_deactivate()
        assert wait_until(lambda: node.count_subscribers(namespace + '/amodal_mask') == 0
                          and node.count_publishers(namespace + '/depth_amodal/image') == 0)
        # Active again: a fresh channel (its worker restarted), then closed again.
        node.trigger_activate()
        assert wait_until(lambda: node.count_subscribers(namespace + '/amodal_mask') == 1)
        assert node._amodal._worker.is_alive()
        node.trigger_deactivate()
        assert node._amodal is None
        node.trigger_cleanup()
    finally:
        spinner.stop()
        node.destroy_node()


def test_the_camera_node_pairs_masks_with_its_captured_frames(rig, examples_dir):
    """camera_completion_node shares the node's I/O: amodal works on captured frames."""
    camera, node, tester = rig(**PARAMS)
    side = AmodalSide(tester)
    assert wait_until(lambda: side.masks.get_subscription_count() > 0, timeout=10.0)
    rgb, depth_mm, _ = load_example(examples_dir, 0)
    camera.inject(rgb, depth_mm, round(time.time() * 1000.0, 3))
    assert wait_until(lambda: tester.count('depth') == 1, timeout=60.0)
    header = tester.outputs('depth')[0].header
    mask, amodal = _mask(rgb.shape[:2])
    side.masks.publish(image_msg(mask, 'mono8', header.stamp.sec * S + header.stamp.nanosec))
    assert wait_until(lambda: len(side.received['points']) == 1, timeout=60.0)
    out = side.received['depth'][0]
    assert (out.header.stamp, out.header.frame_id) == (header.stamp, header.frame_id)
    depth = np.frombuffer(bytes(out.data), np.float32).reshape(rgb.shape[:2])
    assert np.isnan(depth[~amodal]).all() and np.isfinite(depth[amodal]).all()
