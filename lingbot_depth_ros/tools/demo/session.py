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
The demo's ROS side: a camera that plays synthetic frames and a recorder of everything.

One rclpy node publishes colour, depth and camera_info on the RealSense driver's topic
names, subscribes to the completion node's outputs, and records both directions into an
mcap bag (serialized CDR, written with ``rosbags``) when the session closes.
"""

from dataclasses import astuple
import statistics
import threading
import time
from typing import Dict, List, Tuple

from lingbot_depth_ros.messages.topics import REALSENSE_TOPICS
from lingbot_depth_ros.tools.bag.messages import ros_type_name, typestore
from lingbot_depth_ros.tools.bag.storage import BAG_VERSION, storage_plugin
from lingbot_depth_ros.tools.synthetic import renderer as synthetic
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.serialization import serialize_message
from rosbags.rosbag2 import Writer
from sensor_msgs.msg import CameraInfo, Image, PointCloud2

INPUT_TOPICS = REALSENSE_TOPICS
OUTPUT_TOPICS = {'depth': ('/depth_refined/image', Image),
                 'info': ('/depth_refined/camera_info', CameraInfo),
                 'points': ('/points', PointCloud2),
                 'mask': ('/depth_refined/filled_mask', Image)}
REPUBLISH_AFTER_S = 5.0  # a frame sent before the node's QoS settled is sent again


def _percentile(values: List[float], q: float) -> float:
    if not values:
        return float('nan')
    return float(statistics.quantiles(values, n=100)[q - 1]) if len(values) > 1 else values[0]


class DemoSession:
    """Publish frames to the completion node, collect and record its outputs."""

    def __init__(self, bag_path, timeout_s: float = 60.0):
        """
        Create the rclpy context, node, publishers and subscriptions.

        :param bag_path: the bag directory written on close (must not exist).
        :param timeout_s: how long to wait for the node, and for each frame's outputs.
        """
        self.bag_path = bag_path
        self.timeout_s = timeout_s
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node('lingbot_depth_demo', context=self.context)
        qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10,
                         reliability=ReliabilityPolicy.RELIABLE)
        self.publishers = [self.node.create_publisher(kind, topic, qos) for kind, topic in
                           zip((Image, Image, CameraInfo), astuple(INPUT_TOPICS))]
        self.received: Dict[int, Dict[str, object]] = {}
        self.latencies: Dict[str, List[float]] = {'depth': [], 'points': []}
        self.records: List[Tuple[str, str, bytes, int]] = []
        self._stamp_to_frame: Dict[int, int] = {}
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        for key, (topic, kind) in OUTPUT_TOPICS.items():
            self.node.create_subscription(kind, topic, self._receiver(key, topic), qos)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._spinner = threading.Thread(target=self.executor.spin, daemon=True)
        self._spinner.start()
        self._play_started = None
        self._play_ended = None

    def _receiver(self, key: str, topic: str):
        def receive(msg) -> None:
            now_ns = time.time_ns()
            stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
            with self._lock:
                self.records.append((topic, ros_type_name(msg), serialize_message(msg), now_ns))
                frame_stamp = self._stamp_to_frame.get(stamp)
                if frame_stamp is None:
                    return
                self.received.setdefault(frame_stamp, {})[key] = msg
                if key in self.latencies:
                    self.latencies[key].append((now_ns - stamp) / 1e6)
                self._arrived.notify_all()
        return receive

    def wait_for_node(self, process) -> None:
        """
        Wait until the node subscribes to the inputs and publishes the outputs.

        :param process: the node's ``subprocess.Popen``, to notice an early exit.
        :raises RuntimeError: the node exited or did not come up within the timeout.
        """
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f'the node exited with code {process.returncode} '
                                   '(see node.log)')
            ready = all(self.node.count_subscribers(t) > 0
                        for t in astuple(INPUT_TOPICS)) and all(
                self.node.count_publishers(t) > 0 for t, _ in OUTPUT_TOPICS.values())
            if ready:
                return
            time.sleep(0.1)
        raise RuntimeError(f'the node did not come up within {self.timeout_s:.0f} s')

    def play(self, frame: synthetic.SyntheticFrame) -> bool:
        """
        Publish one frame stamped now and wait for its depth and cloud.

        :param frame: the synthetic frame.
        :return: whether every output arrived within the timeout.
        """
        messages = synthetic.frame_to_messages(frame)
        stamp = self.node.get_clock().now().to_msg()
        stamp_ns = stamp.sec * 1_000_000_000 + stamp.nanosec
        for msg in messages:
            msg.header.stamp = stamp
        # camera_info first: the node holds a pair until it has one
        sends = list(reversed(list(zip(self.publishers, messages))))
        with self._lock:
            self._stamp_to_frame[stamp_ns] = frame.stamp_ns
        if self._play_started is None:
            self._play_started = time.monotonic()
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            now_ns = time.time_ns()
            for publisher, msg in sends:
                publisher.publish(msg)
                with self._lock:
                    self.records.append((publisher.topic_name, ros_type_name(msg),
                                         serialize_message(msg), now_ns))
            with self._lock:
                done = self._arrived.wait_for(
                    lambda: {'depth', 'info', 'points', 'mask'} <= set(
                        self.received.get(frame.stamp_ns, {})),
                    timeout=min(REPUBLISH_AFTER_S, max(0.0, deadline - time.monotonic())))
            if done:
                self._play_ended = time.monotonic()
                return True
        return False

    def statistics(self) -> Dict[str, float]:
        """Return frames/s of the lock-step playback and latency percentiles (ms)."""
        with self._lock:
            count = len(self.received)
            depth, cloud = list(self.latencies['depth']), list(self.latencies['points'])
        elapsed = (self._play_ended or 0.0) - (self._play_started or 0.0)
        return {'frames_per_s': count / elapsed if elapsed > 0 else float('nan'),
                'latency_depth_ms_p50': _percentile(depth, 50),
                'latency_depth_ms_max': max(depth) if depth else float('nan'),
                'latency_cloud_ms_p50': _percentile(cloud, 50)}

    def write_bag(self) -> int:
        """
        Write every recorded message into the mcap bag.

        :return: the number of messages written.
        """
        store = typestore()
        with self._lock:
            records = sorted(self.records, key=lambda r: r[3])
        with Writer(self.bag_path, version=BAG_VERSION,
                    storage_plugin=storage_plugin('mcap')) as bag:
            connections = {}
            for topic, type_name, data, log_ns in records:
                if topic not in connections:
                    connections[topic] = bag.add_connection(topic, type_name, typestore=store)
                bag.write(connections[topic], log_ns, data)
        return len(records)

    def close(self) -> None:
        """Stop spinning, write the bag, and shut the context down."""
        self.executor.shutdown(timeout_sec=2.0)
        self._spinner.join(timeout=5.0)
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)
        self.write_bag()

    def __enter__(self):
        """Return the session."""
        return self

    def __exit__(self, *exc):
        """Close the session (writes the bag)."""
        self.close()
        return False
