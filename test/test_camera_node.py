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
camera_completion_node over real DDS, fed by a pyrealsense2 software_device.

Frames of a real capture (test/data/examples/0) are injected into a software RealSense; the
node captures, completes and publishes them, and a subscriber in the same DDS domain must
receive outputs with the injected stamps and the depth the frame path computes for the same
messages. Without libusb-1.0 (pyrealsense2 cannot load) the tests skip with that reason.
"""

import os
from pathlib import Path
import subprocess
import sys
import time

from lingbot_depth_ros.backends.factory import BackendSettings, create_backend
from lingbot_depth_ros.messages.camera import frame_messages
from lingbot_depth_ros.messages.conversions import depth_from_image
from lingbot_depth_ros.messages.frame import decode_frame, FrameSettings, limit_output
from lingbot_depth_ros.messages.topics import REALSENSE_TOPICS
from lingbot_depth_ros.sources.base import Profile, SdkMissing
import node_harness as harness
from node_harness import (load_example, qos_profile, ros_context_fixture, Spinner,
                          unique_namespace, wait_until)
import numpy as np
import pytest
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image

ROOT = Path(__file__).resolve().parents[1]
__all__ = ['ros_context_fixture']


def _software_camera(K, width, height):
    from lingbot_depth_ros.sources import realsense
    try:
        realsense.import_sdk()
    except SdkMissing as error:
        pytest.skip(str(error))
    from lingbot_depth_ros.sources.software import SoftwareCamera
    camera = SoftwareCamera(K, width, height)
    source = realsense.RealSenseSource(profile=Profile(width, height, 30),
                                       device_factory=lambda: camera.device)
    return camera, source


@pytest.fixture(name='rig')
def rig_fixture(ros_context, examples_dir):
    """Yield a factory: make(**parameters) -> (camera, node, tester), all cleaned up after."""
    made = []

    def make(**parameters):
        from lingbot_depth_ros.node.camera_node import CameraCompletionNode
        rgb, depth, K = load_example(examples_dir, 0)
        camera, source = _software_camera(K, rgb.shape[1], rgb.shape[0])
        namespace = unique_namespace()
        node = CameraCompletionNode(
            source=source, namespace=namespace, context=ros_context,
            parameter_overrides=[Parameter(k, value=v) for k, v in parameters.items()])
        tester = harness.Tester(ros_context, namespace, reliability=None)
        spinner = Spinner(ros_context, node, tester.node)
        made.append((spinner, node, tester))
        assert wait_until(lambda: all(s.get_publisher_count() > 0 for s in tester.subs))
        return camera, node, tester

    yield make
    for spinner, node, tester in made:
        spinner.stop()
        node.destroy_node()
        tester.destroy()


def _expected_depth(rgb, depth_m, K, stamp_ns):
    # The frame path the depth completion node runs, on the messages of the same frame.
    messages = frame_messages(rgb, depth_m, K, stamp_ns, 'camera_color_optical_frame',
                              depth_encoding='32FC1')
    settings = FrameSettings()
    decoded = decode_frame(*messages, settings)
    backend = create_backend(BackendSettings(backend='classical'))
    return limit_output(backend.complete(decoded.rgb, decoded.depth, decoded.K),
                        settings.depth_range).depth


def test_camera_node_publishes_completed_depth_with_the_injected_stamps(rig, examples_dir):
    camera, node, tester = rig(backend='classical', publish_raw=True)
    assert node.publishes_raw()
    raw = []
    tester.node.create_subscription(Image, REALSENSE_TOPICS.depth, raw.append,
                                    qos_profile('reliable'))
    assert wait_until(lambda: tester.node.count_publishers(REALSENSE_TOPICS.depth) > 0)
    rgb, depth_mm, K = load_example(examples_dir, 0)
    stamps = []
    for index in range(3):
        stamp_ms = round(time.time() * 1000.0, 3) + index
        camera.inject(rgb, depth_mm, stamp_ms)
        stamps.append(int(round(stamp_ms * 1e6)))
        assert wait_until(lambda: tester.count('depth') > index and tester.count('cloud') > index,
                          timeout=10.0), 'no output for injected frame %d' % index
    outputs = tester.outputs('depth')
    got = [o.header.stamp.sec * 10 ** 9 + o.header.stamp.nanosec for o in outputs]
    assert got == stamps
    assert {o.header.frame_id for o in outputs} == {'camera_color_optical_frame'}
    infos = tester.outputs('info')
    np.testing.assert_allclose(np.reshape(infos[-1].k, (3, 3)), K)
    depth_m = depth_mm.astype(np.float32) * np.float32(0.001)
    refined, _ = depth_from_image(outputs[-1])
    expected = _expected_depth(rgb, depth_m, K, stamps[-1])
    np.testing.assert_array_equal(np.nan_to_num(refined), np.nan_to_num(expected))
    # The raw depth on the driver's topic is the injected image, 16UC1 millimetres.
    assert wait_until(lambda: len(raw) >= 3)
    assert raw[-1].encoding == '16UC1'
    np.testing.assert_array_equal(
        np.frombuffer(bytes(raw[-1].data), np.uint16).reshape(depth_mm.shape), depth_mm)


def test_camera_node_without_a_camera_exits_with_one_line(tmp_path):
    try:
        from lingbot_depth_ros.sources import realsense
        realsense.import_sdk()
        import pyrealsense2 as rs
        if len(rs.context().query_devices()):
            pytest.skip('a RealSense camera is connected')
    except SdkMissing:
        pass  # the node must then say that the SDK is missing
    env = dict(os.environ, PYTHONPATH=str(ROOT), ROS_LOG_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, '-m', 'lingbot_depth_ros.node.camera_node',
                           '--ros-args', '-p', 'camera:=realsense', '-p', 'serial:=0123'],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert 'no RealSense camera' in done.stderr or 'libusb' in done.stderr, done.stderr
