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

"""The node with the network backend (tiny random-weight model) over real DDS."""

import cv2
from lingbot_depth_ros.geometry import back_project
from lingbot_depth_ros.messages.conversions import pointcloud2_to_array
from node_harness import examples_fixture, make_node_fixture, ros_context_fixture  # noqa: F401
from node_harness import frame_msgs, wait_until
import numpy as np
import pytest
from rclpy.parameter import Parameter

pytestmark = pytest.mark.ros

S = 10 ** 9


def small_frame(rgb, depth_mm, K, width=160, height=120):
    """Return the frame at a smaller size, so that the CPU forward stays short."""
    scale = width / rgb.shape[1]
    K = K.copy()
    K[:2] *= scale
    return (cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA),
            cv2.resize(depth_mm, (width, height), interpolation=cv2.INTER_NEAREST), K)


def test_tiny_network_completes_frames(make_node, examples):
    pytest.importorskip('torch')
    pytest.importorskip('lingbot_depth_ros.backends.network')
    node, tester = make_node(model='random:tiny', device='cpu', resolution_level=0,
                             num_threads=2)
    assert node.backend.name == 'network:random:tiny'
    rgb, depth_mm, K = small_frame(*examples[1])
    for i, mode in enumerate(('completion', 'monocular')):
        assert node.set_parameters([Parameter('mode', value=mode)])[0].successful
        tester.publish(*frame_msgs(rgb, depth_mm, K, (60_000 + i) * S), node=node)
        assert wait_until(lambda: tester.count('cloud') == i + 1, timeout=120.0)
    for i in range(2):
        depth_msg, info, cloud = (tester.outputs(k)[i] for k in ('depth', 'info', 'cloud'))
        assert depth_msg.header.stamp.sec == info.header.stamp.sec == 60_000 + i
        assert (depth_msg.width, depth_msg.height) == (160, 120)
        depth = np.frombuffer(bytes(depth_msg.data), np.float32).reshape(120, 160)
        assert np.isfinite(depth).any()
        expected = back_project(depth, np.reshape(info.k, (3, 3)))
        points = pointcloud2_to_array(cloud)
        np.testing.assert_allclose(points['z'], expected[..., 2], equal_nan=True)
    values = {kv.key: kv.value for kv in node.publish_diagnostics().status[0].values}
    assert values['backend'] == 'network:random:tiny' and values['device'] == 'cpu'
    assert float(values['forward_p50_ms']) > 0.0
