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
A cloud subscriber that stops reading (SIGSTOP): the node's depth output rate; prints figures.

The node runs in its own process (its main(), classical backend) with Fast DDS writers
asynchronous or synchronous (RMW_FASTRTPS_PUBLICATION_MODE); a reader process subscribes to
``points`` and is frozen; this process feeds the example frames at 30 Hz and counts the
refined depth it receives, live and then frozen. Run it with and without the Fast DDS
profile of the launch files (FASTDDS_DEFAULT_PROFILES_FILE=config/fastdds_large_data.xml).

    python benchmarks/bench_frozen_subscriber.py --seconds 5
"""

import argparse
import os
from pathlib import Path
import signal
import subprocess
import sys
import threading
import time

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'test'))

from node_harness import frame_msgs, load_example, qos_profile  # noqa: E402, I100
import rclpy  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image  # noqa: E402

EXAMPLES = ROOT / 'test' / 'data' / 'examples'
READER = """
import sys, rclpy
from sensor_msgs.msg import PointCloud2
from rclpy.qos import QoSProfile
rclpy.init()
node = rclpy.create_node('frozen_reader')
node.create_subscription(PointCloud2, sys.argv[1] + '/points', lambda m: None, QoSProfile(depth=1))
rclpy.spin(node)
"""


def feed(node, publishers, frames, seconds, rate_hz):
    """Publish frames at ``rate_hz`` for ``seconds``."""
    sent, start = 0, time.monotonic()
    while time.monotonic() - start < seconds:
        msgs = frame_msgs(*frames[sent % len(frames)], node.get_clock().now().nanoseconds)
        for publisher, msg in zip(publishers, msgs):
            publisher.publish(msg)
        sent += 1
        time.sleep(max(0.0, start + sent / rate_hz - time.monotonic()))


def measure(mode, seconds, rate_hz, frames):
    """Return (live Hz, frozen Hz) of the depth output with the node's writers in ``mode``."""
    namespace = '/frozen_%d_%s' % (os.getpid(), mode.lower())
    env = dict(os.environ, RMW_FASTRTPS_PUBLICATION_MODE=mode)
    node_process = subprocess.Popen([sys.executable, '-m', 'lingbot_depth_ros.node.node',
                                     '--ros-args', '-r', '__ns:=' + namespace],
                                    env=env, stderr=subprocess.DEVNULL)
    reader = subprocess.Popen([sys.executable, '-c', READER, namespace])
    tester = rclpy.create_node('camera', namespace=namespace)
    received, running = [], [True]
    publishers = [tester.create_publisher(Image, 'rgb/image', qos_profile()),
                  tester.create_publisher(Image, 'depth/image', qos_profile()),
                  tester.create_publisher(CameraInfo, 'rgb/camera_info', qos_profile())]
    tester.create_subscription(Image, 'depth_refined/image', lambda m: received.append(1),
                               qos_profile(depth=1))
    executor = SingleThreadedExecutor()
    executor.add_node(tester)
    spinner = threading.Thread(target=lambda: [executor.spin_once(timeout_sec=0.02)
                                               for _ in iter(lambda: running[0], False)])
    spinner.start()
    try:
        deadline = time.monotonic() + 60
        while not (tester.count_subscribers(namespace + '/points')
                   and all(p.get_subscription_count() for p in publishers)):
            if time.monotonic() > deadline:
                raise RuntimeError('node and reader did not start')
            time.sleep(0.1)
        feed(tester, publishers, frames, 2.0, rate_hz)
        rates = []
        for frozen in (False, True):
            if frozen:
                os.kill(reader.pid, signal.SIGSTOP)
                feed(tester, publishers, frames, 3.0, rate_hz)
            before = len(received)
            feed(tester, publishers, frames, seconds, rate_hz)
            rates.append((len(received) - before) / seconds)
        return tuple(rates)
    finally:
        running[0] = False
        spinner.join()
        os.kill(reader.pid, signal.SIGCONT)
        for process in (reader, node_process):
            process.send_signal(signal.SIGINT)
            process.wait(timeout=20)
        tester.destroy_node()


def main():
    """Measure both publication modes and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--seconds', type=float, default=5.0, help='measuring time per phase')
    parser.add_argument('--rate', type=float, default=30.0, help='camera rate in Hz')
    args = parser.parse_args()
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    rclpy.init()
    frames = [load_example(EXAMPLES, i) for i in range(3)]
    print('camera %.0f Hz, 640x480, classical backend, cloud reader frozen with SIGSTOP'
          % args.rate)
    for mode in ('ASYNCHRONOUS', 'SYNCHRONOUS'):
        live, frozen = measure(mode, args.seconds, args.rate, frames)
        print('%-12s depth output %5.1f Hz with the reader live, %5.1f Hz frozen (%.0f %%)'
              % (mode, live, frozen, 100.0 * frozen / max(live, 1e-9)), flush=True)
    rclpy.shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
