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
from sensor_msgs.msg import Image

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


def test_onnxruntime_backend_through_the_node(make_node, examples, tiny_onnx):
    """An exported .onnx file runs in the node (backend chosen from the suffix) over DDS."""
    from lingbot_depth_ros.backends.onnx import OnnxRuntimeBackend
    node, tester = make_node(model=str(tiny_onnx), device='cpu', num_threads=2)
    assert node.backend.name == 'onnxruntime:tiny.onnx'
    rgb, depth_mm, K = small_frame(*examples[2])
    reference = OnnxRuntimeBackend(tiny_onnx, device='cpu', warmup=False)
    for i, mode in enumerate(('completion', 'monocular')):
        assert node.set_parameters([Parameter('mode', value=mode)])[0].successful
        tester.publish(*frame_msgs(rgb, depth_mm, K, (70_000 + i) * S), node=node)
        assert wait_until(lambda: tester.count('depth') == i + 1, timeout=60.0)
        depth_msg = tester.outputs('depth')[i]
        assert depth_msg.header.stamp.sec == 70_000 + i
        depth = np.frombuffer(bytes(depth_msg.data), np.float32).reshape(120, 160)
        sensor = depth_mm.astype(np.float32) / 1000.0 if mode == 'completion' else None
        expected = reference.complete(rgb, sensor, K).depth
        # Thread counts differ (node: 2), so float32 sums may round differently.
        np.testing.assert_allclose(depth, expected, rtol=1e-5, equal_nan=True)
    values = {kv.key: kv.value for kv in node.publish_diagnostics().status[0].values}
    assert values['backend'] == 'onnxruntime:tiny.onnx'
    assert values['execution_provider'] == 'CPUExecutionProvider'


def test_wrong_frame_size_for_an_exported_network_is_reported(make_node, examples, tiny_onnx):
    """A frame the .onnx was not exported for is dropped with a reason; the node keeps going."""
    node, tester = make_node(model=str(tiny_onnx), device='cpu', num_threads=2)
    rgb, depth_mm, K = small_frame(*examples[0], width=80, height=60)
    tester.publish(*frame_msgs(rgb, depth_mm, K, 80_000 * S), node=node)
    assert wait_until(lambda: node.stats.drops().get('backend_error', 0) == 1, timeout=30.0)
    assert 'expected 120x160 frames' in node.stats.error
    rgb, depth_mm, K = small_frame(*examples[0])
    tester.publish(*frame_msgs(rgb, depth_mm, K, 80_001 * S), node=node)
    assert wait_until(lambda: tester.count('depth') == 1, timeout=30.0)


def test_confidence_output_and_min_confidence(make_node, examples):
    pytest.importorskip('torch')
    from lingbot_depth_ros.backends.factory import BackendSettings, create_backend
    rgb, depth_mm, K = small_frame(*examples[1])
    node, tester = make_node(model='random:tiny', device='cpu', resolution_level=0,
                             num_threads=2, publish_confidence=True, min_confidence=0.0,
                             keep_valid_input=False)
    received = []
    tester.node.create_subscription(Image, 'depth_refined/confidence', received.append, 10)
    tester.publish(*frame_msgs(rgb, depth_mm, K, 70_000 * S), node=node)
    assert wait_until(lambda: received and tester.count('depth') == 1, timeout=120.0)
    confidence_msg, depth_msg = received[0], tester.outputs('depth')[0]
    assert confidence_msg.encoding == '32FC1'
    assert confidence_msg.header.stamp.sec == depth_msg.header.stamp.sec == 70_000
    confidence = np.frombuffer(bytes(confidence_msg.data), np.float32).reshape(120, 160)
    depth = np.frombuffer(bytes(depth_msg.data), np.float32).reshape(120, 160)
    assert np.all((confidence >= 0) & (confidence <= 1))
    assert np.isfinite(depth).all()  # min_confidence 0 keeps every pixel
    # The same frame through the factory: the threshold NaNs exactly the pixels below it.
    threshold = float(np.median(confidence))
    backend = create_backend(BackendSettings(model='random:tiny', device='cpu',
                                             resolution_level=0, keep_valid_input=False,
                                             min_confidence=threshold, warmup_sizes=()))
    result = backend.complete(rgb, depth_mm.astype(np.float32) / 1000.0, K)
    np.testing.assert_allclose(result.confidence, confidence, atol=1e-6)
    np.testing.assert_array_equal(np.isnan(result.depth), result.confidence < threshold)
