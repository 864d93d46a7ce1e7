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

"""Messages built by msg_conversions cross real DDS (publisher -> subscriber) unchanged."""

import time

from lingbot_depth_ros.messages import conversions as mc
import numpy as np
import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image, PointCloud2
from std_msgs.msg import Header

pytestmark = pytest.mark.ros

QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE,
                 durability=DurabilityPolicy.TRANSIENT_LOCAL)
TIMEOUT_S = 20.0


@pytest.fixture
def ros_node():
    """Yield (node, executor) in a private rclpy context."""
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node('msg_io_transport_test', context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    try:
        yield node, executor
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=context)


def exchange(ros_node, message_type, topic, messages):
    """Publish messages on a topic and return what a subscriber in the same process receives."""
    node, executor = ros_node
    received = []
    node.create_subscription(message_type, topic, received.append, QOS)
    publisher = node.create_publisher(message_type, topic, QOS)
    deadline = time.monotonic() + TIMEOUT_S
    while publisher.get_subscription_count() == 0 and time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.05)
    for msg in messages:
        publisher.publish(msg)
    while len(received) < len(messages) and time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.05)
    assert len(received) == len(messages), 'received %d of %d on %s within %.0f s' % (
        len(received), len(messages), topic, TIMEOUT_S)
    return received


def stamped(frame):
    """Return a header with a distinctive stamp."""
    msg = Header(frame_id=frame)
    msg.stamp.sec, msg.stamp.nanosec = 1712345678, 987654321
    return msg


def assert_same_message(sent, got, scalar_fields):
    """Compare header, the listed fields and every payload byte."""
    assert got.header == sent.header
    for name in scalar_fields:
        assert getattr(got, name) == getattr(sent, name), name
    assert bytes(got.data) == bytes(sent.data)


def test_images_survive_dds_transport(ros_node):
    rng = np.random.default_rng(7)
    rgb = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    depth = rng.uniform(0.2, 9.0, (48, 64)).astype(np.float32)
    depth[::7, ::5] = 0.0
    raw_mm = rng.integers(0, 65536, (48, 64), dtype=np.uint16)
    # A big-endian 16UC1 image with 6 bytes of row padding, as some drivers publish.
    padded = Image(header=stamped('padded'), height=48, width=64, encoding='16UC1',
                   is_bigendian=True, step=134,
                   data=b''.join(row.astype('>u2').tobytes() + b'\xaa' * 6 for row in raw_mm))
    sent = [mc.rgb_to_image(rgb, stamped('rgb')),
            mc.depth_to_image(depth, stamped('depth32'))[0],
            mc.depth_to_image(depth, stamped('depth16'), encoding='16UC1')[0],
            mc.mask_to_image(depth > 1.0, stamped('mask')),
            padded]
    got = exchange(ros_node, Image, 'msg_io_test/images', sent)
    for before, after in zip(sent, got):
        assert_same_message(before, after,
                            ('height', 'width', 'encoding', 'is_bigendian', 'step'))
    np.testing.assert_array_equal(mc.rgb_from_image(got[0]), rgb)
    np.testing.assert_array_equal(mc.depth_from_image(got[1])[0], np.where(depth > 0, depth, 0))
    np.testing.assert_allclose(mc.depth_from_image(got[2])[0], depth, atol=0.0005)
    np.testing.assert_array_equal(mc.image_to_array(got[3]), np.where(depth > 1.0, 255, 0))
    np.testing.assert_array_equal(mc.image_to_array(got[4]), raw_mm)


def test_pointcloud_survives_dds_transport(ros_node):
    rng = np.random.default_rng(11)
    height, width = 480, 640
    depth = rng.uniform(0.3, 8.0, (height, width)).astype(np.float32)
    depth[rng.random(depth.shape) < 0.1] = np.nan
    rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    K = np.array([[525.0, 0.0, 319.5], [0.0, 525.0, 239.5], [0.0, 0.0, 1.0]])
    sent = [mc.depth_to_pointcloud2(depth, K, stamped('camera_color_optical_frame'), rgb=rgb),
            mc.depth_to_pointcloud2(depth, K, stamped('xyz'), decimation=4, organized=False)]
    got = exchange(ros_node, PointCloud2, 'msg_io_test/points', sent)
    for before, after in zip(sent, got):
        assert_same_message(before, after, ('height', 'width', 'fields', 'is_bigendian',
                                            'point_step', 'row_step', 'is_dense'))
    # Decode what arrived with a dtype built from its own fields and compare to the formula.
    cloud = got[0]
    dtype = np.dtype({'names': [f.name for f in cloud.fields],
                      'formats': ['<f4'] * len(cloud.fields),
                      'offsets': [f.offset for f in cloud.fields], 'itemsize': cloud.point_step})
    points = np.frombuffer(bytes(cloud.data), dtype).reshape(height, width)
    v, u = np.mgrid[0:height, 0:width]
    valid = np.isfinite(depth)
    np.testing.assert_allclose(points['x'][valid], ((u - 319.5) * depth / 525.0)[valid],
                               rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(points['y'][valid], ((v - 239.5) * depth / 525.0)[valid],
                               rtol=1e-6, atol=1e-7)
    assert np.isnan(points['z'][~valid]).all()
    colour = points['rgb'].view(np.uint32)
    np.testing.assert_array_equal(colour >> 16, rgb[..., 0])
    np.testing.assert_array_equal((colour >> 8) & 0xFF, rgb[..., 1])
    np.testing.assert_array_equal(colour & 0xFF, rgb[..., 2])
