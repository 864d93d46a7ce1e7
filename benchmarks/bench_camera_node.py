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
Latency from colour capture to published refined depth: in-process camera node vs DDS.

Frames of a real capture (test/data/examples/0, 640x480) are injected into a pyrealsense2
software_device at 30 Hz, each stamped with the host time of its injection. Two set-ups,
each in its own processes, the classical backend, the Fast DDS large-data profile:

* camera node: ``camera_completion_node`` (the software camera in its process) captures,
  completes and publishes ``depth_refined/image``;
* driver + node: a driver process captures the same way and publishes colour, depth and
  camera_info over DDS (as realsense2_camera does), ``depth_completion_node`` in another
  process completes and publishes.

A subscriber process (this one) takes receive time minus stamp for every refined depth and
prints p50 / p99 of each. Needs pyrealsense2 with libusb-1.0.

    python benchmarks/bench_camera_node.py [--seconds 10]
"""

import argparse
import os
from pathlib import Path
import subprocess
import sys
import threading
import time

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lingbot_depth_ros.messages.topics import REALSENSE_TOPICS  # noqa: E402
from lingbot_depth_ros.messages.transport import (large_data_environment,  # noqa: E402
                                                  large_data_profile)
import numpy as np  # noqa: E402

FPS = 30


def _camera(args):
    from lingbot_depth_ros.sources.base import Profile
    from lingbot_depth_ros.sources.realsense import RealSenseSource
    from lingbot_depth_ros.sources.software import SoftwareCamera
    from lingbot_depth_ros.tools.evaluation.data import read_capture
    capture = read_capture(ROOT / 'test' / 'data' / 'examples' / '0')
    height, width = capture.depth_mm.shape
    camera = SoftwareCamera(capture.K, width, height, fps=FPS)
    source = RealSenseSource(profile=Profile(width, height, FPS),
                             device_factory=lambda: camera.device)

    def inject(stop):
        period = 1.0 / FPS
        next_t = time.monotonic()
        while not stop.is_set():
            camera.inject(capture.rgb, capture.depth_mm, time.time_ns() / 1e6)
            next_t += period
            time.sleep(max(0.0, next_t - time.monotonic()))
    return source, inject


def role_camera_node(args):
    """Run camera_completion_node with an injected software camera."""
    import rclpy
    from lingbot_depth_ros.node.camera_node import CameraCompletionNode
    from rclpy.parameter import Parameter
    source, inject = _camera(args)
    rclpy.init()
    node = CameraCompletionNode(source=source, namespace='/bench', parameter_overrides=[
        Parameter('backend', value='classical')])
    stop = threading.Event()
    threading.Thread(target=inject, args=(stop,), daemon=True).start()
    try:
        rclpy.spin(node)
    except KeyboardInterrupt:
        pass
    stop.set()
    node.destroy_node()


def role_driver(args):
    """Capture from the software camera and publish like a camera driver."""
    import rclpy
    from lingbot_depth_ros.messages.camera import frame_messages
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CameraInfo, Image
    source, inject = _camera(args)
    rclpy.init()
    node = rclpy.create_node('driver')
    qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
    pubs = [node.create_publisher(Image, REALSENSE_TOPICS.rgb, qos),
            node.create_publisher(Image, REALSENSE_TOPICS.depth, qos),
            node.create_publisher(CameraInfo, REALSENSE_TOPICS.info, qos)]
    stop = threading.Event()
    source.open()
    threading.Thread(target=inject, args=(stop,), daemon=True).start()
    try:
        while True:
            frame = source.read(1.0)
            if frame is not None:
                for pub, msg in zip(pubs, frame_messages(frame.rgb, frame.depth, frame.K,
                                                         frame.stamp_ns, frame.frame_id)):
                    pub.publish(msg)
    except KeyboardInterrupt:
        pass
    stop.set()
    source.close()


def measure(commands, seconds, env):
    """Start the processes, collect refined-depth latencies for ``seconds``; return ms."""
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image
    procs = [subprocess.Popen(c, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for c in commands]
    node = rclpy.create_node('bench_subscriber')
    latencies = []
    node.create_subscription(
        Image, '/bench/depth_refined/image',
        lambda m: latencies.append(time.time_ns() - (m.header.stamp.sec * 10 ** 9
                                                     + m.header.stamp.nanosec)),
        QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))
    deadline = time.monotonic() + 60.0
    while not latencies and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.1)
    latencies.clear()  # discovery and warm-up
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        rclpy.spin_once(node, timeout_sec=0.1)
    for proc in procs:
        proc.send_signal(2)
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    node.destroy_node()
    return np.array(latencies) / 1e6


def main():
    """Run both set-ups and print their latencies."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--seconds', type=float, default=10.0)
    parser.add_argument('--role', choices=('camera-node', 'driver'), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == 'camera-node':
        return role_camera_node(args)
    if args.role == 'driver':
        return role_driver(args)
    env = dict(os.environ, PYTHONPATH=str(ROOT), ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST',
               **large_data_environment(large_data_profile()))
    os.environ.update(env)
    import rclpy
    rclpy.init()
    me = [sys.executable, __file__]
    node = [sys.executable, '-m', 'lingbot_depth_ros.node.node', '--ros-args', '-r',
            '__ns:=/bench', '-p', 'backend:=classical', '-r',
            f'rgb/image:={REALSENSE_TOPICS.rgb}', '-r', f'depth/image:={REALSENSE_TOPICS.depth}',
            '-r', f'rgb/camera_info:={REALSENSE_TOPICS.info}']
    results = {
        'camera node (capture + completion in one process)':
            measure([me + ['--role', 'camera-node']], args.seconds, env),
        'driver -> DDS -> depth_completion_node':
            measure([me + ['--role', 'driver'], node], args.seconds, env),
    }
    rclpy.shutdown()
    print(f'# colour capture -> refined depth received, 640x480 at {FPS} Hz, classical, '
          f'{args.seconds:.0f} s each')
    for name, ms in results.items():
        if len(ms) == 0:
            print(f'{name}: no output received')
            continue
        print(f'{name}: p50 {np.percentile(ms, 50):.1f} ms, p99 {np.percentile(ms, 99):.1f} '
              f'ms, {len(ms)} frames ({len(ms) / args.seconds:.1f}/s)')


if __name__ == '__main__':
    sys.exit(main())
