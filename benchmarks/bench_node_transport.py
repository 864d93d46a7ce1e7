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
The node's outputs between two processes over Fast DDS: latency and loss; prints figures.

A sender publishes what the node publishes for a 640x480 frame, the 32FC1 depth image
(1.2 MB) and the organized XYZRGB cloud (4.9 MB), at 30 Hz; a receiver in another process
measures stamp -> receive latency and counts what arrives. Each reliability (both ends) runs
with Fast DDS defaults, with config/fastdds_large_data.xml, and with the profile plus the glibc
malloc settings the launch files set. The figures behind the README's Fast DDS section.

    python benchmarks/bench_node_transport.py --duration 10
"""

import argparse
import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import time

from lingbot_depth_ros.messages.transport import large_data_environment, large_data_profile

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / 'test' / 'data' / 'examples' / '0'
LARGE_DATA_ENV = large_data_environment(large_data_profile())
SETUPS = {
    'defaults': {},
    'profile': {k: v for k, v in LARGE_DATA_ENV.items() if not k.startswith('MALLOC_')},
    'profile+malloc': LARGE_DATA_ENV,
}
TOPICS = ('depth', 'cloud')


def _qos(reliability):
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
    policy = {'reliable': ReliabilityPolicy.RELIABLE,
              'best_effort': ReliabilityPolicy.BEST_EFFORT}[reliability]
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1, reliability=policy)


def _sender(args):
    """Publish the depth image and cloud of one real frame at ``args.rate`` Hz."""
    import numpy as np
    import rclpy
    from sensor_msgs.msg import Image, PointCloud2
    from std_msgs.msg import Header

    from lingbot_depth_ros.messages.conversions import (depth_to_image,
                                                        depth_to_pointcloud2)
    from lingbot_depth_ros.tools.evaluation.data import read_capture

    rclpy.init()
    node = rclpy.create_node('sender')
    pub_depth = node.create_publisher(Image, 'transport/depth', _qos(args.reliability))
    pub_cloud = node.create_publisher(PointCloud2, 'transport/cloud', _qos(args.reliability))
    _, rgb, depth_mm, K = read_capture(EXAMPLE)
    depth = depth_mm / 1000.0
    header = Header(frame_id='camera_color_optical_frame')
    image, _ = depth_to_image(depth.astype(np.float32), header)
    cloud = depth_to_pointcloud2(depth.astype(np.float32), K, header, rgb=rgb)
    while pub_cloud.get_subscription_count() == 0 or pub_depth.get_subscription_count() == 0:
        time.sleep(0.05)
    time.sleep(0.5)
    period, sent = 1.0 / args.rate, 0
    next_time = time.monotonic()
    end = next_time + args.duration
    while time.monotonic() < end:
        stamp = node.get_clock().now().to_msg()
        image.header.stamp = cloud.header.stamp = stamp
        pub_depth.publish(image)
        pub_cloud.publish(cloud)
        sent += 1
        next_time += period
        time.sleep(max(0.0, next_time - time.monotonic()))
    print(json.dumps({'sent': sent, 'bytes': {'depth': len(image.data),
                                              'cloud': len(cloud.data)}}), flush=True)
    node.destroy_node()
    rclpy.shutdown()


def _receiver(args):
    """Record stamp -> receive latency in ms per topic until SIGTERM; print JSON."""
    import rclpy
    from sensor_msgs.msg import Image, PointCloud2

    rclpy.init()
    node = rclpy.create_node('receiver')
    latency = {topic: [] for topic in TOPICS}

    def on_message(topic, msg):
        stamp = msg.header.stamp.sec * 10 ** 9 + msg.header.stamp.nanosec
        latency[topic].append((time.time_ns() - stamp) / 1e6)

    subs = [node.create_subscription(Image, 'transport/depth',
                                     lambda m: on_message('depth', m), _qos(args.reliability)),
            node.create_subscription(PointCloud2, 'transport/cloud',
                                     lambda m: on_message('cloud', m), _qos(args.reliability))]
    stop = {'now': False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    announced = False
    while not stop['now']:
        rclpy.spin_once(node, timeout_sec=0.05)
        if not announced and all(s.get_publisher_count() > 0 for s in subs):
            print('subscribed', flush=True)
            announced = True
    print(json.dumps(latency), flush=True)
    node.destroy_node()
    rclpy.shutdown()


def measure(args, setup, reliability):
    """Run one sender / receiver pair; return (sent, sizes, latency lists)."""
    env = {k: v for k, v in os.environ.items() if k not in LARGE_DATA_ENV}
    env.update(SETUPS[setup])
    env.setdefault('ROS_DOMAIN_ID', str(150 + os.getpid() % 80))
    env.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    me = [sys.executable, str(Path(__file__).resolve())]
    common = ['--reliability', reliability, '--rate', str(args.rate),
              '--duration', str(args.duration)]
    receiver = subprocess.Popen(me + ['rx'] + common, env=env, stdout=subprocess.PIPE,
                                text=True)
    sender = subprocess.Popen(me + ['tx'] + common, env=env, stdout=subprocess.PIPE, text=True)
    try:
        sent = json.loads(sender.communicate(timeout=args.duration + 60)[0])
        time.sleep(0.5)
    finally:
        receiver.send_signal(signal.SIGTERM)
        output = receiver.communicate(timeout=30)[0]
    latency = json.loads(output.strip().splitlines()[-1])
    return sent, latency


def main():
    """Parse arguments; run every setup and reliability, or one side of a run."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('role', nargs='?', default='bench', choices=('bench', 'tx', 'rx'))
    parser.add_argument('--reliability', default='reliable')
    parser.add_argument('--rate', type=float, default=30.0)
    parser.add_argument('--duration', type=float, default=10.0)
    parser.add_argument('--setups', default=','.join(SETUPS))
    args = parser.parse_args()
    if args.role == 'tx':
        return _sender(args)
    if args.role == 'rx':
        return _receiver(args)
    import numpy as np
    print('bench_node_transport: %.0f Hz for %.0f s between two processes, %d CPU cores'
          % (args.rate, args.duration, os.cpu_count()))
    columns = ('setup', 'reliability', 'topic', 'size', 'median', 'p99', 'lost')
    print('%-15s %-12s %-6s %9s %9s %9s %7s' % columns)
    for setup in args.setups.split(','):
        for reliability in ('reliable', 'best_effort'):
            sent, latency = measure(args, setup, reliability)
            for topic in TOPICS:
                values = latency[topic]
                p50, p99 = (np.percentile(values, [50, 99]) if values
                            else (float('nan'), float('nan')))
                lost = 100.0 * (1.0 - len(values) / sent['sent'])
                print('%-15s %-12s %-6s %7.2fMB %6.1f ms %6.1f ms %6.1f%%'
                      % (setup, reliability, topic, sent['bytes'][topic] / 1e6, p50, p99,
                         lost))


if __name__ == '__main__':
    sys.exit(main())
