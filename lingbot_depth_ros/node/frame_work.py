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
The work on one frame after pairing: decode, backend failures, outputs.

:class:`FrameWork` is a part of ``DepthCompletionNode`` (it uses the node's config, stats,
publishers and transforms), kept apart so that the multi-camera worker (``multi_camera``)
can decode each camera's frame, complete them together and let each camera's node publish
its own outputs, with the single-camera worker doing exactly the same per frame.
"""

import time

from lingbot_depth_ros.backends.base import OutOfMemory
from lingbot_depth_ros.messages.frame import (cloud_output, confidence_output, decode_frame,
                                              depth_outputs, FrameRejected, grasp_cloud_output,
                                              mask_output)
from lingbot_depth_ros.node.params import NodeConfig
from lingbot_depth_ros.temporal import TemporalFilter

WARN_PERIOD_S = 5.0


class FrameWork:
    """Decode, failure handling and publishing of one frame; mixed into the node."""

    def prepare(self, frame):
        """
        Decode a matched frame with the parameters of this moment.

        :param frame: sync.MatchedFrame.
        :return: ``(DecodedFrame, NodeConfig, FrameSettings)``, or None when rejected
            (counted and warned).
        """
        config, settings = self.config, self._frame_settings
        try:
            decoded = decode_frame(frame.rgb, frame.depth, frame.info, settings, self._topics)
        except FrameRejected as rejected:
            self.stats.record_drop(rejected.reason)
            self.warn(rejected.reason + ':' + rejected.topic, str(rejected))
            return None
        for notice in decoded.notices:
            self.warn(notice.key, notice.text, once=notice.once)
        return decoded, config, settings

    def backend_failed(self, error: Exception) -> bool:
        """Count and report a backend failure on a frame (the node goes on); return False."""
        if isinstance(error, OutOfMemory):
            self.stats.record_drop('out_of_memory')
            self.warn('out_of_memory', 'out of GPU memory, frame skipped: %s' % error)
            return False
        self.stats.record_drop('backend_error')
        self.stats.error = 'model failure: %s: %s' % (type(error).__name__, error)
        self.get_logger().error(self.stats.error, throttle_duration_sec=WARN_PERIOD_S)
        return False

    def finish(self, frame, ready, result, start: float, complete_s: float,
               forward_s: float) -> bool:
        """
        Publish the outputs of a completed frame and record its timings.

        :param frame: the sync.MatchedFrame.
        :param ready: what :meth:`prepare` returned for it.
        :param result: the backend's CompletionResult, limited to the depth range.
        :param start: time.perf_counter() when the frame's work began.
        :param complete_s: seconds in the backend; ``forward_s`` of them the forward.
        :return: True when every output was published.
        """
        decoded, config, _ = ready
        self.stats.error = None
        if config.temporal_filter:
            result.depth = self._temporal_for(config).update(result.depth)
        # Depth and camera_info first: the cloud costs a few ms more to build and send.
        depth_image, info, clipped = depth_outputs(decoded, result.depth,
                                                   config.output_encoding)
        if clipped:
            self.warn('clipped', 'depth_refined/image: %d pixels beyond 65.535 m clipped in '
                      '16UC1' % clipped)
        published = self._publish(self._pub_depth, depth_image)
        published &= self._publish(self._pub_info, info)
        now_ns = self.get_clock().now().nanoseconds
        published_ns = time.monotonic_ns()
        if config.publish_cloud and self._wanted(self._pub_cloud, config):
            published &= self._publish(self._pub_cloud, cloud_output(
                decoded, result.depth, config.cloud_rgb, config.cloud_decimation,
                config.cloud_organized))
        if config.publish_filtered_cloud and self._wanted(self._pub_filtered, config):
            published &= self._publish_filtered(decoded, result.depth, config)
        if self._pub_confidence is not None and result.confidence is not None and \
                self._wanted(self._pub_confidence, config):
            published &= self._publish(self._pub_confidence,
                                       confidence_output(decoded, result.confidence))
        if self._pub_mask is not None and self._wanted(self._pub_mask, config):
            published &= self._publish(self._pub_mask, mask_output(decoded, result.filled))
        self.stats.record_output(
            stamp_to_publish_s=(now_ns - frame.stamp_ns) / 1e9,
            receive_to_publish_s=(published_ns - frame.received_ns) / 1e9,
            forward_s=forward_s, overhead_s=time.perf_counter() - start - forward_s,
            backend_other_s=complete_s - forward_s)
        return published

    def _temporal_for(self, config: NodeConfig) -> TemporalFilter:
        wanted = (config.temporal_alpha, config.temporal_change)
        if self._temporal is None or self._temporal.settings != wanted:
            self._temporal = TemporalFilter(*wanted)
        return self._temporal

    def _publish_filtered(self, decoded, depth, config: NodeConfig) -> bool:
        settings, static = config.grasp_cloud()
        matrix, reason = self._transforms.lookup(config.target_frame, decoded.header.frame_id,
                                                 decoded.header.stamp, static)
        if matrix is None:
            self.stats.record_drop('filtered_cloud_no_transform')
            self.warn('transform:' + config.target_frame, 'points_filtered: skipped: ' + reason)
            return True  # the frame's other outputs went out
        return self._publish(self._pub_filtered, grasp_cloud_output(
            decoded, depth, matrix, config.target_frame or decoded.header.frame_id, settings))

    @staticmethod
    def _wanted(publisher, config: NodeConfig) -> bool:
        return config.always_process or publisher.get_subscription_count() > 0

    def _publish(self, publisher, msg) -> bool:
        try:
            publisher.publish(msg)
            return True
        except (RuntimeError, OSError) as error:
            if not self.context.ok():
                return False  # shutting down (Ctrl-C): nothing to report

            # rclpy raises RCLError (a RuntimeError) for large reliable messages under load.
            self.stats.record_drop('publish_error')
            self.warn('publish:' + publisher.topic_name, '%s: publish failed: %s'
                      % (publisher.topic_name, error))
            return False
