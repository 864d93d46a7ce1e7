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
Several cameras served by one process and one model (the ``cameras`` parameter).

Each camera namespace gets a :class:`CameraChannel`: a node of its own
(``<namespace>/<camera>/lingbot_depth``) with the process's parameters, and its own
subscriptions, pairing, outputs, temporal filter and diagnostics, sharing the process's
backend. Instead of a worker per camera, each channel leaves its newest pair in one
:class:`BatchMailbox`; one worker takes the newest pair of every camera that has one and,
when several are ready, completes them in one batched forward
(``NetworkEngine.complete_batch``; the network masks each frame's padded depth tokens, so
each result is that frame's alone). Each channel then publishes its own outputs with its
own stamp and frame id.

Channel nodes ignore the process's global ROS arguments (a ``__ns`` / ``__node`` remap
would give every channel the same name); their topics are resolved through the main node
instead, so ``-r left/rgb/image:=/cam_left/color/image_raw`` on the process remaps camera
``left``'s input as it would for a single node.
"""

import array
import threading
import time
from typing import Dict, List, Optional, Tuple

from diagnostic_msgs.msg import KeyValue
from lingbot_depth_ros.node.diagnostics import node_diagnostics
from lingbot_depth_ros.node.node import DepthCompletionNode, INPUTS
from lingbot_depth_ros.node.params import PARAMETERS
from lingbot_depth_ros.node.pipeline import run_backend_batch
from rclpy.parameter import Parameter

# Parameters a change of on the main node is passed on to every camera node.
RUNTIME = frozenset(spec.name for spec in PARAMETERS if spec.runtime)
# Every topic a channel subscribes or publishes under its namespace (absolute ones, such as
# /diagnostics and /tf, need no resolving).
CHANNEL_TOPICS = tuple(topic for topic, _ in INPUTS.values()) + (
    'depth_refined/image', 'depth_refined/camera_info', 'points', 'points_filtered',
    'depth_refined/confidence', 'depth_refined/filled_mask')


def _plain(value):
    """Return a parameter value as rclpy accepts it back (arrays as lists)."""
    return list(value) if isinstance(value, array.array) else value


class BatchMailbox:
    """Newest item per key, handed over to one worker all at once."""

    def __init__(self):
        """Create an empty, open mailbox."""
        self._cond = threading.Condition()
        self._items: Dict[object, object] = {}
        self._closed = False

    def put(self, key, item) -> bool:
        """
        Leave ``item`` as the newest of ``key``.

        :param key: the producer (a camera).
        :param item: any object.
        :return: True when it replaced an item of the same key never taken (superseded).
        """
        with self._cond:
            superseded = key in self._items
            self._items[key] = item
            self._cond.notify()
            return superseded

    def take_all(self, timeout: Optional[float] = None) -> Optional[List[Tuple[object, object]]]:
        """
        Wait for at least one item and take every key's newest.

        :param timeout: seconds to wait at most (None: until an item or close()).
        :return: ``[(key, item), ...]`` in the order the keys first arrived; [] on
            timeout; None after close().
        """
        with self._cond:
            self._cond.wait_for(lambda: self._items or self._closed, timeout)
            if self._closed:
                return None
            items, self._items = list(self._items.items()), {}
            return items

    def close(self) -> None:
        """Wake the worker and make every later take_all return None."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class CameraChannel(DepthCompletionNode):
    """One camera of a multi-camera node: its own I/O, the group's model and worker."""

    def __init__(self, group: 'CameraGroup', **node_options):
        """
        Start the camera's node.

        :param group: the CameraGroup that owns the backend and the worker.
        :param node_options: rclpy Node options (namespace, context, parameters, cli_args).
        """
        self._group = group
        super().__init__(**node_options)

    def _load_backend(self) -> None:
        self.backend = self._group.backend  # one model for every camera

    def _work(self) -> None:
        return  # the group's worker completes this camera's frames

    def publish_diagnostics(self):
        """Publish (and return) this camera's status, with the batches run so far."""
        array = node_diagnostics(self)
        array.status[0].values.append(KeyValue(key='batches', value=self._group.batches_text()))
        self._publish(self._pub_diag, array)
        return array

    def _deliver(self, frames) -> None:
        if not frames:
            return
        if not self.has_consumers():
            self.stats.record_drop('no_subscriber', len(frames))
            return
        self.stats.record_drop('superseded', len(frames) - 1)
        if self._group.mailbox.put(self, frames[-1]):
            self.stats.record_drop('superseded')


class CameraGroup:
    """The camera nodes of a multi-camera node and the worker that batches their frames."""

    def __init__(self, parent: DepthCompletionNode):
        """
        Create one CameraChannel per name in ``cameras`` and start the worker.

        :param parent: the node that declared ``cameras`` and loaded the backend.
        """
        self.parent = parent
        self.backend = parent.backend
        self.mailbox = BatchMailbox()
        self.batches: Dict[int, int] = {}  # batch size -> batches run
        self.channels: List[CameraChannel] = []
        values = [Parameter(spec.name, value=_plain(parent.get_parameter(spec.name).value))
                  for spec in PARAMETERS if spec.name != 'cameras']
        values.append(Parameter('cameras', value=['']))
        # Not a node parameter of ours, but the camera nodes must keep the main node's clock.
        values.append(Parameter('use_sim_time', value=parent.get_parameter('use_sim_time').value))
        base = parent.get_namespace().rstrip('/')
        try:
            for camera in parent.config.camera_namespaces:
                remaps = ['--ros-args']
                for topic in CHANNEL_TOPICS:
                    remaps += ['-r', '%s:=%s' % (topic, parent.resolve_topic_name(
                        camera + '/' + topic))]
                self.channels.append(CameraChannel(
                    self, namespace=base + '/' + camera,
                    context=parent.context, parameter_overrides=values,
                    use_global_arguments=False, cli_args=remaps))
        except Exception:
            self.close()
            raise
        # A runtime change on the main node applies to every camera (set one camera's own
        # node to change only that one).
        parent.add_post_set_parameters_callback(self._forward_parameters)
        self._forwarding = True
        self._worker = threading.Thread(target=self._work, name='lingbot_depth_cameras',
                                        daemon=True)
        self._worker.start()
        executor = parent.executor
        if executor is not None:  # created while spinning (lifecycle activate)
            for channel in self.channels:
                executor.add_node(channel)
        parent.get_logger().info('serving %d cameras with one %s model: %s' % (
            len(self.channels), self.backend.name,
            ', '.join(c.get_fully_qualified_name() for c in self.channels)))

    def batches_text(self) -> str:
        """Return the batches run so far by size, e.g. '1x3 2x40' (3 single, 40 pairs)."""
        counts = dict(self.batches)  # one copy (atomic in CPython) while the worker counts
        return ' '.join('%dx%d' % (size, count) for size, count in sorted(counts.items()))

    def _forward_parameters(self, parameters) -> None:
        forwarded = [Parameter(p.name, value=_plain(p.value)) for p in parameters
                     if p.name in RUNTIME]
        for channel in list(self.channels):
            for result in channel.set_parameters(forwarded) if forwarded else ():
                if not result.successful:
                    channel.get_logger().warning('parameter not taken: ' + result.reason)

    def _work(self) -> None:
        while True:
            items = self.mailbox.take_all()
            if items is None:
                return
            try:
                self.process(items)
            except Exception as error:  # noqa: B902 - the node never dies on a frame
                if not self.parent.context.ok():
                    return
                for channel, _ in items:
                    channel.stats.record_drop('internal_error')
                self.parent.get_logger().error('frames failed: %s: %s' % (
                    type(error).__name__, error), throttle_duration_sec=5.0)

    def process(self, items) -> int:
        """
        Complete the newest frame of several cameras together and publish each one's outputs.

        :param items: ``[(CameraChannel, sync.MatchedFrame), ...]``.
        :return: the number of frames whose outputs were all published.
        """
        start = time.perf_counter()
        ready = []
        for channel, frame in items:
            prepared = channel.prepare(frame)
            if prepared is not None:
                ready.append((channel, frame, prepared))
        if not ready:
            return 0
        try:
            outputs = run_backend_batch(self.backend, [(p[0], p[2]) for _, _, p in ready])
        except Exception as error:  # noqa: B902 - a failing backend must not stop the node
            for channel, _, _ in ready:
                channel.backend_failed(error)
            return 0
        self.batches[len(ready)] = self.batches.get(len(ready), 0) + 1
        published = 0
        for (channel, frame, prepared), (result, complete_s, forward_s) in zip(ready, outputs):
            published += bool(channel.finish(frame, prepared, result, start, complete_s,
                                             forward_s))
        return published

    def close(self) -> None:
        """Stop the worker, then remove and destroy the camera nodes."""
        if getattr(self, '_forwarding', False):
            self.parent.remove_post_set_parameters_callback(self._forward_parameters)
            self._forwarding = False
        self.mailbox.close()
        worker = getattr(self, '_worker', None)
        if worker is not None and worker.is_alive() and \
                threading.current_thread() is not worker:
            worker.join(timeout=10.0)
        executor = self.parent.executor
        for channel in self.channels:
            if executor is not None:
                executor.remove_node(channel)
            channel.destroy_node()
        self.channels = []
