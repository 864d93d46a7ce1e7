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
Helpers of the node tests: RGB-D frames as messages, a background executor, a tester node.

Run as a script it is the camera side in another process: it publishes the real example
frames at full size with the requested reliability (used by the cross-process QoS test and
the node benchmark).
"""

import argparse
import itertools
import os
from pathlib import Path
import threading
import time

from conftest import DATA
from diagnostic_msgs.msg import DiagnosticArray
from lingbot_depth_ros.tools.evaluation.data import read_capture
import numpy as np
import pytest
import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image, PointCloud2

FRAME_ID = 'camera_color_optical_frame'
EXAMPLES = DATA / 'examples'


def load_example(examples_dir, index):
    """Return (rgb uint8 HxWx3, depth uint16 mm HxW, K 3x3) of example ``index``."""
    _, rgb, depth, K = read_capture(Path(examples_dir) / str(index))
    return rgb, depth, K


def stamp_of(stamp_ns):
    """Return a builtin_interfaces/Time for integer nanoseconds."""
    stamp = Image().header.stamp
    stamp.sec, stamp.nanosec = divmod(int(stamp_ns), 10 ** 9)
    return stamp


def image_msg(array, encoding, stamp_ns, frame_id=FRAME_ID):
    """Build an Image holding ``array`` (packed rows, host byte order)."""
    array = np.ascontiguousarray(array)
    msg = Image(encoding=encoding, height=array.shape[0], width=array.shape[1])
    msg.header.stamp = stamp_of(stamp_ns)
    msg.header.frame_id = frame_id
    msg.step = array.strides[0]
    msg.data = array.tobytes()
    return msg


def camera_info_msg(K, width, height, stamp_ns, frame_id=FRAME_ID):
    """Build a pinhole CameraInfo with intrinsics ``K``."""
    K = np.asarray(K, dtype=np.float64)
    msg = CameraInfo(width=width, height=height, distortion_model='plumb_bob')
    msg.header.stamp = stamp_of(stamp_ns)
    msg.header.frame_id = frame_id
    msg.d = [0.0] * 5
    msg.k = K.ravel().tolist()
    msg.r = np.eye(3).ravel().tolist()
    msg.p = np.hstack([K, np.zeros((3, 1))]).ravel().tolist()
    return msg


def frame_msgs(rgb, depth_mm, K, stamp_ns, frame_id=FRAME_ID):
    """Return (rgb8 Image, 16UC1 Image, CameraInfo) of one frame, all with ``stamp_ns``."""
    height, width = rgb.shape[:2]
    return (image_msg(rgb, 'rgb8', stamp_ns, frame_id),
            image_msg(depth_mm.astype(np.uint16), '16UC1', stamp_ns, frame_id),
            camera_info_msg(K, width, height, stamp_ns, frame_id))


def qos_profile(reliability='reliable', depth=10):
    """Return a KEEP_LAST profile of the given reliability name."""
    policy = {'reliable': ReliabilityPolicy.RELIABLE,
              'best_effort': ReliabilityPolicy.BEST_EFFORT}[reliability]
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth, reliability=policy)


def wait_until(predicate, timeout=10.0, period=0.02):
    """Poll ``predicate`` until it is true or ``timeout`` seconds passed; return its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(period)


class Spinner:
    """Spin nodes in a background thread until stop()."""

    def __init__(self, context, *nodes):
        """Start spinning ``nodes`` with a SingleThreadedExecutor in ``context``."""
        self.executor = SingleThreadedExecutor(context=context)
        for node in nodes:
            self.executor.add_node(node)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self):
        while not self._stop.is_set():
            self.executor.spin_once(timeout_sec=0.02)

    def stop(self):
        """Stop the thread and the executor."""
        self._stop.set()
        self._thread.join(timeout=5.0)
        self.executor.shutdown()


class Tester:
    """Camera side (publishers) and consumer side (subscribers) around the node under test."""

    def __init__(self, context, namespace, reliability='reliable', outputs=True, mask=False):
        """
        Create publishers on the node's inputs and subscribers on its outputs.

        ``reliability`` None creates no input publishers; ``outputs`` False no output
        subscribers; the /diagnostics subscriber is always there.
        """
        self.node = rclpy.create_node('tester', namespace=namespace, context=context)
        self.reliability = reliability
        self.inputs = []
        if reliability is not None:
            qos = qos_profile(reliability)
            self.inputs = [self.node.create_publisher(Image, 'rgb/image', qos),
                           self.node.create_publisher(Image, 'depth/image', qos),
                           self.node.create_publisher(CameraInfo, 'rgb/camera_info', qos)]
        self.lock = threading.Lock()
        self.received = {'depth': [], 'info': [], 'cloud': [], 'mask': [], 'diagnostics': []}
        topics = []
        if outputs:
            topics += [('depth', Image, 'depth_refined/image'),
                       ('info', CameraInfo, 'depth_refined/camera_info'),
                       ('cloud', PointCloud2, 'points')]
        if mask:
            topics.append(('mask', Image, 'depth_refined/filled_mask'))
        self.subs = [self.node.create_subscription(
            msg_type, topic, lambda msg, k=kind: self._store(k, msg), qos_profile('reliable'))
            for kind, msg_type, topic in topics]
        self.node.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics,
                                      qos_profile('reliable'))
        self._diag_prefix = namespace.strip('/') + '/'

    def _on_diagnostics(self, msg):
        for status in msg.status:
            if status.name.startswith(self._diag_prefix):
                self._store('diagnostics', status)

    def _store(self, kind, msg):
        with self.lock:
            self.received[kind].append(msg)

    def outputs(self, kind):
        """Return a copy of the messages received on output ``kind``."""
        with self.lock:
            return list(self.received[kind])

    def count(self, kind='depth'):
        """Return how many messages arrived on output ``kind``."""
        with self.lock:
            return len(self.received[kind])

    def publish(self, rgb=None, depth=None, info=None, node=None):
        """
        Publish the given input messages.

        With ``node``, wait until it received the camera_info before sending the images: the
        topics are independent, so an image could otherwise overtake a changed camera_info.
        """
        pub_rgb, pub_depth, pub_info = self.inputs
        if info is not None:
            before = node.stats.inputs().get('camera_info', 0) if node is not None else 0
            pub_info.publish(info)
            if node is not None:
                wait_until(lambda: node.stats.inputs().get('camera_info', 0) > before)
        if rgb is not None:
            pub_rgb.publish(rgb)
        if depth is not None:
            pub_depth.publish(depth)

    def connected(self, node):
        """Return True when the node under test and this tester see each other's endpoints."""
        outputs = all(s.get_publisher_count() > 0 for s in self.subs)
        # A reliable subscription never matches a best-effort publisher.
        incompatible = (node.config.input_reliability == 'reliable'
                        and self.reliability == 'best_effort')
        inputs = incompatible or all(p.get_subscription_count() > 0 for p in self.inputs)
        settled = all(node.input_reliability.get(k) == r for k, r in self._expected(node))
        return outputs and inputs and settled

    def _expected(self, node):
        if node.config.input_reliability != 'auto' or self.reliability is None:
            return []
        return [(k, self.reliability) for k in ('rgb', 'depth', 'camera_info')]

    def destroy(self):
        """Destroy the tester node."""
        self.node.destroy_node()


_NAMESPACES = itertools.count()


@pytest.fixture(scope='module', name='ros_context')
def ros_context_fixture():
    """Yield an initialised rclpy Context of its own for one test module."""
    context = Context()
    rclpy.init(context=context)
    yield context
    rclpy.try_shutdown(context=context)


@pytest.fixture(scope='module', name='examples')
def examples_fixture(examples_dir):
    """Return three real frames (rgb, depth mm, K)."""
    return [load_example(examples_dir, i) for i in range(3)]


def unique_namespace():
    """Return a namespace no other node of this run uses."""
    return '/n%d_%d' % (os.getpid(), next(_NAMESPACES))


class NodeRig:
    """A node under test and its tester in one namespace, spinning in the background."""

    def __init__(self, context, tester_args=None, **parameters):
        """
        Start the node with ``parameters`` and a Tester, and wait until they are connected.

        :param context: rclpy Context.
        :param tester_args: Keyword arguments of Tester (reliability, outputs, mask).
        :param parameters: Node parameters.
        """
        from lingbot_depth_ros.node.node import DepthCompletionNode
        namespace = unique_namespace()
        self.node = DepthCompletionNode(
            namespace=namespace, context=context,
            parameter_overrides=[Parameter(k, value=v) for k, v in parameters.items()])
        self.tester = Tester(context, namespace, **(tester_args or {}))
        self.spinner = Spinner(context, self.node, self.tester.node)
        if not wait_until(lambda: self.tester.connected(self.node), timeout=10.0):
            self.destroy()
            raise AssertionError('node and tester did not discover each other')

    def destroy(self):
        """Stop spinning and destroy both nodes."""
        self.spinner.stop()
        self.node.destroy_node()
        self.tester.destroy()


@pytest.fixture(name='make_node')
def make_node_fixture(ros_context):
    """
    Return a factory: make(**parameters) -> (node, tester), both spinning and connected.

    Keyword arguments starting with ``tester_`` go to Tester (reliability, outputs, mask);
    the others are node parameters. Everything is destroyed after the test.
    """
    rigs = []

    def make(**kwargs):
        tester_args = {k[len('tester_'):]: kwargs.pop(k) for k in list(kwargs)
                       if k.startswith('tester_')}
        rigs.append(NodeRig(ros_context, tester_args, **kwargs))
        return rigs[-1].node, rigs[-1].tester

    yield make
    for rig in rigs:
        rig.destroy()


def _publish_examples(args):
    rclpy.init()
    node = rclpy.create_node('camera', namespace=args.namespace)
    qos = qos_profile(args.reliability, depth=1)
    pubs = (node.create_publisher(Image, 'rgb/image', qos),
            node.create_publisher(Image, 'depth/image', qos),
            node.create_publisher(CameraInfo, 'rgb/camera_info', qos))
    frames = [load_example(args.examples, i) for i in range(8)]
    period = 1.0 / args.rate
    next_time = time.monotonic()
    end = next_time + args.duration
    sent = 0
    while time.monotonic() < end:
        rgb, depth, K = frames[sent % len(frames)]
        msgs = frame_msgs(rgb, depth, K, node.get_clock().now().nanoseconds)
        for pub, msg in zip(pubs, msgs):
            pub.publish(msg)
        sent += 1
        next_time += period
        time.sleep(max(0.0, next_time - time.monotonic()))
    print('sent %d' % sent, flush=True)
    node.destroy_node()
    rclpy.shutdown()


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description='Publish the example RGB-D frames.')
    parser.add_argument('--namespace', default='/')
    parser.add_argument('--reliability', choices=('reliable', 'best_effort'),
                        default='reliable')
    parser.add_argument('--rate', type=float, default=10.0)
    parser.add_argument('--duration', type=float, default=5.0)
    parser.add_argument('--examples', default=str(EXAMPLES))
    _publish_examples(parser.parse_args())
