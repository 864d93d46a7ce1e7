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
The ``camera_completion_node``: capture and depth completion in one process.

A camera source (``sources``: pyrealsense2 or pyorbbecsdk2) delivers colour and depth
already aligned by the SDK; a capture thread turns each frame into the messages a driver
would publish (``messages.camera``) and hands them straight to the depth completion node's
mailbox, so colour and depth never cross DDS before completion. Everything after that is
``DepthCompletionNode``'s: the same worker, frame path, outputs, parameters and
diagnostics. With ``publish_raw`` the raw colour, depth (16UC1 mm) and camera_info are also
published on the driver's topic names. A camera that stops delivering (unplugged) is
reopened every RECONNECT_PERIOD_S until it is back.
"""

import sys
import threading
import time
from typing import Dict, Optional

from lingbot_depth_ros.messages.camera import frame_messages
from lingbot_depth_ros.messages.conversions import depth_to_image
from lingbot_depth_ros.messages.topics import TOPIC_PRESETS
from lingbot_depth_ros.node import node as completion, qos
from lingbot_depth_ros.node.camera_params import declare_camera_parameters
from lingbot_depth_ros.sources.base import CameraSource, create_source, SourceError
from lingbot_depth_ros.sync import MatchedFrame
from sensor_msgs.msg import CameraInfo, Image

READ_TIMEOUT_S = 0.5
# Without a frame for this long the camera is taken as gone and reopened.
RECONNECT_AFTER_S = 2.0
RECONNECT_PERIOD_S = 1.0


class CameraCompletionNode(completion.DepthCompletionNode):
    """Depth completion fed by a camera SDK in the same process; see README.md."""

    def __init__(self, source: Optional[CameraSource] = None, **node_options):
        """
        Start the node and its camera.

        :param source: a CameraSource to use instead of the one the ``camera``, ``serial``
            and ``profile`` parameters describe (tests, benchmarks, a custom camera); it is
            opened here and closed with the node.
        :param node_options: Passed to rclpy Node (e.g. parameter_overrides, namespace).
        :raises SourceError: when the camera cannot be opened (one-line reason).
        :raises ModelLoadError: when the backend cannot be created.
        """
        self._source = source
        self._capture_thread: Optional[threading.Thread] = None
        self._stop = threading.Event()
        self.frames_captured = 0
        super().__init__(**node_options)

    def _open(self) -> None:
        if self.config.camera_namespaces:
            self.destroy_node()
            raise ValueError('cameras: the camera node serves the one camera it opens; run '
                             'depth_completion_node with cameras for several')
        super()._open()

    def _start_inputs(self) -> None:
        self._inputs = None
        camera = declare_camera_parameters(self)
        if self._source is None:
            self._source = create_source(camera['camera'], camera['serial'], camera['profile'],
                                         frame_id=camera['frame_id'])
        self._raw = None
        if camera['publish_raw']:
            topics = TOPIC_PRESETS[camera['camera']]
            raw_qos = qos.sensor_qos(self.config.output_reliability)
            self._raw = (self.create_publisher(Image, topics.rgb, raw_qos),
                         self.create_publisher(Image, topics.depth, raw_qos),
                         self.create_publisher(CameraInfo, topics.info, raw_qos))
        self._source.open()
        self.get_logger().info('camera %s open at %s' % (
            getattr(self._source, 'name', '') or camera['camera'],
            getattr(self._source, 'profile', camera['profile'])))
        self._capture_thread = threading.Thread(target=self._capture, name='camera_capture',
                                                daemon=True)
        self._capture_thread.start()

    @property
    def input_reliability(self) -> Dict[str, str]:
        """Return no subscriptions: the inputs come from the camera in process."""
        return {}

    def publishes_raw(self) -> bool:
        """Return whether the raw camera topics are published."""
        return self._raw is not None

    # Capture ------------------------------------------------------------------------------
    def _capture(self) -> None:
        last_frame = time.monotonic()
        while not self._stop.is_set():
            try:
                frame = self._source.read(timeout_s=READ_TIMEOUT_S)
            except Exception as error:  # noqa: B902 - an SDK error must not stop the node
                self.warn('camera_read', 'camera: read failed: %s: %s'
                          % (type(error).__name__, error))
                frame = None
            if frame is None:
                if time.monotonic() - last_frame > RECONNECT_AFTER_S:
                    last_frame = self._reconnect(last_frame)
                continue
            last_frame = time.monotonic()
            try:
                self.hand_over(frame)
            except Exception as error:  # noqa: B902 - a bad frame must not stop the capture
                if not self.context.ok():
                    return
                self.stats.record_drop('bad_rgb')
                self.warn('camera_frame', 'camera: frame dropped: %s: %s'
                          % (type(error).__name__, error))

    def _reconnect(self, last_frame: float) -> float:
        self.warn('camera_gone', 'camera: no frame for %.1f s: reopening it'
                  % (time.monotonic() - last_frame))
        try:
            self._source.reconnect()
        except (SourceError, RuntimeError) as error:
            self.warn('camera_reopen', 'camera: cannot reopen yet: %s' % error)
            self._stop.wait(RECONNECT_PERIOD_S)
            return last_frame
        self.get_logger().info('camera: reopened')
        return time.monotonic()

    def hand_over(self, frame) -> None:
        """
        Turn a CameraFrame into messages and give them to the worker (the capture thread).

        :param frame: a sources.base.CameraFrame.
        """
        received_ns = time.monotonic_ns()
        # 32FC1 metres: exact for any depth units and independent of depth_scale.
        rgb, depth, info = frame_messages(frame.rgb, frame.depth, frame.K, frame.stamp_ns,
                                          frame.frame_id, depth_encoding='32FC1')
        for kind in ('rgb', 'depth', 'camera_info'):
            self.stats.record_input(kind)
        self.frames_captured += 1
        if self._raw is not None:
            raw_depth, _ = depth_to_image(frame.depth, depth.header, encoding='16UC1')
            for publisher, msg in zip(self._raw, (rgb, raw_depth, info)):
                self._publish(publisher, msg)
        self._deliver([MatchedFrame(rgb=rgb, depth=depth, info=info, stamp_ns=frame.stamp_ns,
                                    received_ns=received_ns)])

    def destroy_node(self) -> None:
        """Stop the capture thread, close the camera, then destroy the node."""
        self._stop.set()
        if self._capture_thread is not None and self._capture_thread.is_alive():
            self._capture_thread.join(timeout=5.0)
        if self._source is not None:
            self._source.close()
        super().destroy_node()


def main(args: Optional[list] = None) -> int:
    """
    Run the camera node until shutdown.

    :param args: Command line (ROS arguments), default sys.argv.
    :return: 0 after a normal shutdown, 1 when the node or its camera could not start.
    """
    return completion.main(args, node_class=CameraCompletionNode,
                           start_errors=(SourceError, ValueError))


if __name__ == '__main__':
    sys.exit(main())
