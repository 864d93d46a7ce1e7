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

"""One frame path: the live node and ``lingbot-depth refine-bag`` give the same depth."""

import argparse

from lingbot_depth_ros.node.params import NodeConfig
from lingbot_depth_ros.tools import cli
from lingbot_depth_ros.tools.bag import messages as bag_msgs
from lingbot_depth_ros.tools.bag.storage import TOPIC_PRESETS
from lingbot_depth_ros.tools.options import (add_backend_arguments, add_frame_arguments,
                                             backend_settings, frame_settings)
from node_harness import examples_fixture, make_node_fixture, ros_context_fixture  # noqa: F401
from node_harness import frame_msgs, wait_until
import numpy as np
import pytest
from rosbags.rosbag2 import Reader, Writer

pytestmark = pytest.mark.ros

STAMP_NS = 1_700_000_000_123_456_789


def default_cli_args(argv=()):
    parser = argparse.ArgumentParser()
    add_backend_arguments(parser)
    add_frame_arguments(parser)
    return parser.parse_args(list(argv))


def test_node_and_tools_share_their_defaults():
    node = NodeConfig()
    args = default_cli_args()
    assert node.backend_settings() == backend_settings(args)
    assert node.frame_settings() == frame_settings(args)
    # A depth completion node keeps what the sensor measured unless asked to refine it.
    assert node.backend_settings().keep_valid_input


def write_bag(path, messages):
    store, topics = bag_msgs.typestore(), TOPIC_PRESETS['realsense']
    with Writer(path, version=9) as bag:
        for topic, msg in zip((topics.rgb, topics.depth, topics.info), messages):
            typename = bag_msgs.ros_type_name(msg)
            conn = bag.add_connection(topic, typename, typestore=store)
            bag.write(conn, STAMP_NS, store.serialize_cdr(bag_msgs.to_rosbags(msg), typename))


def refined_depth_of_bag(path):
    store = bag_msgs.typestore()
    with Reader(path) as reader:
        conns = [c for c in reader.connections if c.topic == '/lingbot_depth/depth_refined/image']
        (conn, _, raw), = list(reader.messages(connections=conns))
        msg = store.deserialize_cdr(raw, conn.msgtype)
    return msg, np.frombuffer(msg.data.tobytes(), np.float32).reshape(msg.height, msg.width)


@pytest.mark.parametrize('example', [3, 6])
def test_node_and_refine_bag_give_bit_identical_depth(make_node, examples_dir, tmp_path,
                                                      example):
    from node_harness import load_example
    rgb, depth_mm, K = load_example(examples_dir, example)
    messages = frame_msgs(rgb, depth_mm, K, STAMP_NS)

    write_bag(tmp_path / 'in', messages)
    assert cli.main(['refine-bag', str(tmp_path / 'in'), str(tmp_path / 'out'),
                     '--no-progress']) == 0
    bag_msg, bag_depth = refined_depth_of_bag(tmp_path / 'out')

    node, tester = make_node()
    tester.publish(*messages, node=node)
    assert wait_until(lambda: tester.count('depth') == 1)
    node_msg = tester.outputs('depth')[0]
    node_depth = np.frombuffer(bytes(node_msg.data), np.float32).reshape(480, 640)

    assert (bag_msg.encoding, bag_msg.header.stamp.sec, bag_msg.header.stamp.nanosec) == (
        node_msg.encoding, node_msg.header.stamp.sec, node_msg.header.stamp.nanosec)
    assert bag_depth.tobytes() == node_depth.tobytes()
    # With the default settings the sensor's measurements pass through unchanged.
    measured = depth_mm > 0
    np.testing.assert_array_equal(node_depth[measured],
                                  (depth_mm[measured] * np.float32(0.001)).astype(np.float32))
    assert np.isfinite(node_depth).all()
