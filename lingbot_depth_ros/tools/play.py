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
``lingbot-depth play``: publish a bag's colour, depth and camera_info, without ``ros2 bag``.

The messages are published as recorded (the serialized bytes, so stamps, frame ids and
encodings are the bag's) on the bag's topic names (optionally under ``--namespace``), paced
by their log times at ``--rate`` times real time (0: as fast as the subscribers take them),
``--loop`` starting over at the end. It feeds ``depth_completion_node`` from a recording on
machines that have the pip set-up only.
"""

import argparse
import itertools
import time
from typing import Optional

from lingbot_depth_ros.tools.bag import storage as bag_io
from lingbot_depth_ros.tools.bag.refine import open_checked, RefineOptions

# Seconds to wait for subscribers before the first message (a node starting beside play).
DISCOVERY_S = 2.0


def add_play_arguments(parser: argparse.ArgumentParser) -> None:
    """
    Add the ``play`` options to a parser.

    :param parser: the subcommand's parser.
    """
    parser.add_argument('bag', help='rosbag2 directory (or .mcap / .db3 file)')
    parser.add_argument('--rate', type=float, default=1.0, metavar='R',
                        help='playback speed relative to the recording; 0: as fast as '
                        'possible (default: 1)')
    parser.add_argument('--loop', action='store_true', help='start over at the end')
    parser.add_argument('--namespace', default='', metavar='NS',
                        help='prefix of the published topic names (default: none)')
    parser.add_argument('--wait-subscribers', type=int, default=0, metavar='N',
                        help='wait until each topic has N subscribers before playing')
    topics = parser.add_argument_group('topics (default: RealSense or Orbbec names, '
                                       'auto-detected)')
    topics.add_argument('--rgb-topic', metavar='TOPIC', help='colour image topic')
    topics.add_argument('--depth-topic', metavar='TOPIC', help='depth image topic')
    topics.add_argument('--info-topic', metavar='TOPIC', help='camera_info topic')


def play_bag(path, rate: float = 1.0, loop: bool = False, namespace: str = '',
             wait_subscribers: int = 0, options: Optional[RefineOptions] = None,
             stop=None) -> int:
    """
    Publish the colour, depth and camera_info messages of a bag.

    :param path: the bag.
    :param rate: speed relative to the recording (0: no pacing).
    :param loop: start over at the end (until ``stop`` is set or Ctrl-C).
    :param namespace: prefix of the topic names.
    :param wait_subscribers: wait until every topic has this many subscribers.
    :param options: topic choices (``rgb_topic``, ``depth_topic``, ``info_topic``).
    :param stop: a ``threading.Event`` that ends the playback.
    :return: number of messages published.
    :raises storage.BagError: for a bag without the topics.
    """
    # rclpy only here: `lingbot-depth --help` and the other commands start without it.
    import rclpy
    from rclpy.context import Context
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CameraInfo, CompressedImage, Image

    types = {'sensor_msgs/msg/Image': Image, 'sensor_msgs/msg/CompressedImage': CompressedImage,
             'sensor_msgs/msg/CameraInfo': CameraInfo}
    if not rate >= 0:
        raise ValueError(f'rate: expected a number >= 0, got {rate}')
    options = options or RefineOptions()
    context = Context()
    rclpy.init(context=context)
    try:
        with open_checked(path, options) as reader:
            available = {t: info.msgtype for t, info in reader.topics.items()}
            topics = bag_io.detect_topics(available, options.rgb_topic, options.depth_topic,
                                          options.info_topic)
            bag_io.check_topic_types(available, topics)
            node = rclpy.create_node('lingbot_depth_play', context=context)
            qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=5,
                             reliability=ReliabilityPolicy.RELIABLE)
            prefix = namespace.rstrip('/')
            publishers = {t: node.create_publisher(types[available[t]], prefix + t, qos)
                          for t in (topics.rgb, topics.depth, topics.info)}
            deadline = time.monotonic() + (3600.0 if wait_subscribers else DISCOVERY_S)
            while time.monotonic() < deadline and not (stop and stop.is_set()) and any(
                    p.get_subscription_count() < max(1, wait_subscribers)
                    for p in publishers.values()):
                time.sleep(0.02)
            conns = [c for c in reader.connections if c.topic in publishers]
            count = 0
            for _ in itertools.count() if loop else range(1):
                start_wall = first_log = None
                for conn, log_ns, raw in reader.messages(connections=conns):
                    if stop is not None and stop.is_set():
                        return count
                    if rate > 0:
                        if first_log is None:
                            start_wall, first_log = time.monotonic(), log_ns
                        delay = start_wall + (log_ns - first_log) / 1e9 / rate - \
                            time.monotonic()
                        if delay > 0:
                            time.sleep(delay)
                    publishers[conn.topic].publish(bytes(raw))
                    count += 1
            node.destroy_node()
            return count
    finally:
        rclpy.try_shutdown(context=context)


def run_play(args: argparse.Namespace) -> int:
    """
    Run ``play``.

    :param args: parsed arguments.
    :return: the exit code.
    """
    options = RefineOptions(rgb_topic=args.rgb_topic, depth_topic=args.depth_topic,
                            info_topic=args.info_topic)
    count = play_bag(args.bag, args.rate, args.loop, args.namespace, args.wait_subscribers,
                     options)
    bag_io.log(f'play: published {count} messages from {args.bag}')
    return 0
