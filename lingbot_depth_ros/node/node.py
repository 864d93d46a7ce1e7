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
The ``lingbot_depth`` node: RGB-D in, completed depth, camera_info and point cloud out.

Subscription callbacks only pair messages (sync.FrameSynchronizer) and leave the newest pair
in a single-slot Mailbox; one worker thread converts, completes and publishes it (the work on
one frame is ``frame_work.FrameWork``'s). With ``cameras`` the node serves several cameras,
each through a node of its own (``multi_camera``).
"""

import sys
import threading
import time
from typing import Dict, Optional

from diagnostic_msgs.msg import DiagnosticArray
from lingbot_depth_ros.messages.frame import InputTopics
from lingbot_depth_ros.node import qos
from lingbot_depth_ros.node.diagnostics import node_diagnostics, NodeStats, WarningThrottle
from lingbot_depth_ros.node.frame_work import FrameWork, WARN_PERIOD_S
from lingbot_depth_ros.node.grasp_cloud import TargetTransforms
from lingbot_depth_ros.node.params import declare_parameters, NodeConfig
from lingbot_depth_ros.node.pipeline import check_amodal, load_backend, run_backend
from lingbot_depth_ros.sync import FrameSynchronizer, Mailbox, STAMP_JUMP_BACK
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image, PointCloud2

NODE_NAME = 'lingbot_depth'
INPUTS = {
    'rgb': ('rgb/image', Image),
    'depth': ('depth/image', Image),
    'camera_info': ('rgb/camera_info', CameraInfo),
}
# Seconds between looks at the publishers of the inputs (input_reliability: auto).
QOS_CHECK_PERIOD_S = 0.5
# Unpaired messages kept per stream, and pairs held until the first camera_info: enough for
# a depth stream lagging colour by a few frames; the node only ever processes the newest.
PENDING_FRAMES = 10


class DepthCompletionNode(FrameWork, Node):
    """RGB-D depth completion node; see README.md for topics and parameters."""

    def __init__(self, **node_options):
        """
        Declare parameters, load the backend, and start subscriptions and the worker.

        :param node_options: Passed to rclpy Node (e.g. parameter_overrides, namespace).
        :raises ModelLoadError: when the backend cannot be created.
        """
        super().__init__(NODE_NAME, **node_options)
        self._init_state()
        try:
            self._declare()
            self._load_backend()
        except Exception:
            # Leave nothing registered in the context of a node that could not start.
            self.destroy_node()
            raise
        self._open()

    # Phases (the lifecycle variant runs them as transitions) -------------------------------
    def _init_state(self) -> None:
        self._mailbox = Mailbox()
        self._worker: Optional[threading.Thread] = None
        self.stats = NodeStats()
        self._throttle = WarningThrottle(WARN_PERIOD_S)
        self.backend = None
        self._inputs = None
        self._sync = None
        self._temporal = None
        self._timers = []
        self._publishers_open = []
        self._cameras = None
        self._amodal = None
        # One backend call at a time: the frame worker and the amodal worker share it.
        self.backend_lock = threading.Lock()

    def _declare(self) -> None:
        self.config: NodeConfig = declare_parameters(self, self._on_config_change)
        self._frame_settings = self.config.frame_settings()

    def _load_backend(self) -> None:
        self.backend = load_backend(self.config, self.get_logger())
        if self.config.amodal:
            check_amodal(self.config, self.backend)
        self.get_logger().info('backend %s ready on %s' % (self.backend.name,
                                                           self.backend.device))

    def _open(self) -> None:
        """Create the outputs, start the worker, subscribe to the inputs."""
        if self.config.camera_namespaces:
            from lingbot_depth_ros.node.multi_camera import CameraGroup
            self._cameras = CameraGroup(self)  # one node per camera, this one's model
            return
        self._sync = FrameSynchronizer(slop_s=self.config.sync_slop, max_pending=PENDING_FRAMES)
        self._sync_lock = threading.Lock()
        out_qos = qos.sensor_qos(self.config.output_reliability)
        self._pub_depth = self.create_publisher(Image, 'depth_refined/image', out_qos)
        self._pub_info = self.create_publisher(CameraInfo, 'depth_refined/camera_info', out_qos)
        self._pub_cloud = self.create_publisher(PointCloud2, 'points', out_qos)
        self._pub_filtered = self.create_publisher(PointCloud2, 'points_filtered', out_qos)
        self._transforms = TargetTransforms(self)
        self._pub_confidence = None
        if self.config.publish_confidence:
            self._pub_confidence = self.create_publisher(Image, 'depth_refined/confidence',
                                                         out_qos)
        self._pub_mask = None
        if self.config.publish_filled_mask:
            self._pub_mask = self.create_publisher(Image, 'depth_refined/filled_mask', out_qos)
        self._pub_diag = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self._publishers_open = [p for p in (
            self._pub_depth, self._pub_info, self._pub_cloud, self._pub_filtered,
            self._pub_confidence, self._pub_mask, self._pub_diag) if p is not None]

        self._topics = InputTopics(*(self.resolve_topic_name(INPUTS[k][0])
                                     for k in ('rgb', 'depth', 'camera_info')))
        self._mailbox = Mailbox()
        self._worker = threading.Thread(target=self._work, name='lingbot_depth_worker',
                                        daemon=True)
        self._worker.start()
        try:
            self._start_inputs()
        except Exception:
            self.destroy_node()
            raise
        if self.config.amodal:
            from lingbot_depth_ros.node.amodal import AmodalChannel
            self._amodal = AmodalChannel(self)
        self._timers.append(self.create_timer(self.config.diagnostics_period,
                                              self.publish_diagnostics))

    def _close(self) -> None:
        """Stop the inputs, the worker and the outputs; the backend stays loaded."""
        if self._amodal is not None:
            self._amodal.close()
            self._amodal = None
        if self._cameras is not None:
            self._cameras.close()
            self._cameras = None
        if self._inputs is not None:
            self._inputs.close()
            self._inputs = None
        for timer in self._timers:
            self.destroy_timer(timer)
        self._timers = []
        self._stop_worker()
        for publisher in self._publishers_open:
            self.destroy_publisher(publisher)
        self._publishers_open = []

    def _stop_worker(self) -> None:
        self._mailbox.close()
        if self._worker is not None and self._worker.is_alive() \
                and threading.current_thread() is not self._worker:
            self._worker.join(timeout=10.0)
        self._worker = None

    def _start_inputs(self) -> None:
        """Subscribe to the inputs (the camera node captures them instead)."""
        self._inputs = qos.InputSubscriptions(
            self, {kind: (topic, msg_type, callback) for (kind, (topic, msg_type)), callback
                   in zip(INPUTS.items(), (self._on_rgb, self._on_depth, self._on_info))},
            self.config.input_reliability, on_incompatible=lambda topic: self.warn(
                'qos:' + topic, '%s: a publisher has incompatible QoS (input_reliability=%s)'
                % (topic, self.config.input_reliability)))
        if self.config.input_reliability == qos.AUTO:
            self._timers.append(self.create_timer(QOS_CHECK_PERIOD_S, self._inputs.update))

    @property
    def input_reliability(self) -> Dict[str, str]:
        """Return the reliability each input is subscribed with, by input kind."""
        return {} if self._inputs is None else self._inputs.reliability

    # Configuration ------------------------------------------------------------------------
    def _on_config_change(self, config: NodeConfig) -> None:
        # The settings first: a frame being processed reads config, then settings.
        self._frame_settings = config.frame_settings()
        self.config = config
        if self._sync is not None:  # a lifecycle node is not synchronising before activate
            self._sync.slop_s = config.sync_slop

    def warn(self, key: str, text: str, once: bool = False) -> None:
        """
        Log a warning unless the same key was logged within WARN_PERIOD_S (or ever, if once).

        :param key: Identifies problem and topic.
        :param text: The message, naming topic and problem.
        :param once: Log only the first occurrence.
        """
        self.stats.warning = text
        if self._throttle.allow(key, once=once):
            self.get_logger().warning(text)

    # Inputs -------------------------------------------------------------------------------
    def _on_rgb(self, msg: Image) -> None:
        self.stats.record_input('rgb')
        self._hand_over(self._sync.add_rgb, msg, self._topics.rgb)

    def _on_depth(self, msg: Image) -> None:
        self.stats.record_input('depth')
        self._hand_over(self._sync.add_depth, msg, self._topics.depth)

    def _on_info(self, msg: CameraInfo) -> None:
        self.stats.record_input('camera_info')
        with self._sync_lock:
            frames = self._sync.add_info(msg)
        self._deliver(frames)

    def _hand_over(self, add, msg, topic: str) -> None:
        with self._sync_lock:
            jumps = self._sync.counters[STAMP_JUMP_BACK]
            frames = add(msg)
            jumped = self._sync.counters[STAMP_JUMP_BACK] > jumps
            waiting = self._sync.info is None
        if jumped:
            self._temporal = None  # a bag loop or clock reset: do not average across it
            self.warn('stamp_jump:' + topic, '%s: stamp jumped backwards (bag loop or clock '
                      'reset): synchronizer reset' % topic)
        if waiting:
            self.warn('no_camera_info', '%s: no camera_info received yet, holding frames'
                      % self._topics.info)
        self._deliver(frames)

    def has_consumers(self) -> bool:
        """Return True when some output has a subscriber or always_process is set."""
        if self.config.always_process:
            return True
        publishers = [self._pub_depth, self._pub_info, self._pub_cloud, self._pub_mask,
                      self._pub_filtered, self._pub_confidence]
        return any(p is not None and p.get_subscription_count() > 0 for p in publishers)

    def _deliver(self, frames) -> None:
        if not frames:
            return
        if self._amodal is not None:
            self._amodal.add_frames(frames)
        if not self.has_consumers():
            self.stats.record_drop('no_subscriber', len(frames))
            return
        self.stats.record_drop('superseded', len(frames) - 1)
        if self._mailbox.put(frames[-1]):
            self.stats.record_drop('superseded')

    # Worker -------------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            frame = self._mailbox.get()
            if frame is None:
                return
            try:
                self.process(frame)
            except Exception as error:  # noqa: B902 - the node never dies on a frame
                if not self.context.ok():
                    return  # the context went away under the frame: shutting down
                self.stats.record_drop('internal_error')
                self.get_logger().error('frame %d.%09d failed: %s: %s' % (
                    frame.stamp_ns // 10 ** 9, frame.stamp_ns % 10 ** 9,
                    type(error).__name__, error), throttle_duration_sec=WARN_PERIOD_S)

    def process(self, frame) -> bool:
        """
        Complete and publish one matched frame (called by the worker thread).

        :param frame: sync.MatchedFrame.
        :return: True when outputs were published.
        """
        start = time.perf_counter()
        ready = self.prepare(frame)
        if ready is None:
            return False
        try:
            with self.backend_lock:
                result, complete_s, forward_s = run_backend(self.backend, ready[0], ready[2])
        except Exception as error:  # noqa: B902 - a failing backend must not stop the node
            return self.backend_failed(error)
        return self.finish(frame, ready, result, start, complete_s, forward_s)

    # Diagnostics --------------------------------------------------------------------------
    def publish_diagnostics(self) -> DiagnosticArray:
        """Publish (and return) the DiagnosticArray of the period since the last one."""
        array = node_diagnostics(self)
        self._publish(self._pub_diag, array)
        return array

    def child_nodes(self) -> list:
        """Return the nodes of the cameras this node serves (``cameras``), to be spun too."""
        return [] if self._cameras is None else list(self._cameras.channels)

    def destroy_node(self) -> None:
        """Stop the worker thread (and the camera nodes), then destroy the node."""
        if getattr(self, '_cameras', None) is not None:
            self._cameras.close()
            self._cameras = None
        if getattr(self, '_amodal', None) is not None:
            self._amodal.close()
            self._amodal = None
        self._stop_worker()
        super().destroy_node()


def main(args: Optional[list] = None, node_class=None, start_errors: tuple = ()) -> int:
    """
    Run the node until shutdown (see ``entry.run_node``).

    :param args: Command line (ROS arguments), default sys.argv.
    :param node_class: The node to run (default DepthCompletionNode).
    :param start_errors: Further exception types that mean the node could not start.
    :return: Exit code: 0 after a normal shutdown, 1 when the node could not start, 130
        when interrupted while starting (loading the model).
    """
    from lingbot_depth_ros.node.entry import run_node
    return run_node(args, node_class or DepthCompletionNode, NODE_NAME, start_errors)


if __name__ == '__main__':
    sys.exit(main())
