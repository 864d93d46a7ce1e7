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
The node's amodal input and outputs: masks paired with frames by stamp, completed apart.

A segmenter's mask of a frame arrives after the frame (inference takes time) or, from a
bag, before it. Every matched frame the node receives is kept for ``HISTORY_S`` seconds of
stamps (at most ``HISTORY_FRAMES``), every mask for as long waiting for its frame; a mask
pairs with the frame of the same stamp (within ``sync_slop``); several masks of one frame
(several objects) each pair with it. Ages are measured against the newest frame's stamp,
never a mask's, so a mask with a stamp far ahead cannot empty the history; a frame older
than the newest one (a bag loop, a clock reset: the synchronizer reset itself) starts the
history afresh. Pairs run on a worker of their own, one backend call at a time with the
main worker (``backend_lock``), so the regular outputs are the same with or without masks.
What cannot be paired or decoded is counted under ``amodal_*`` drop reasons and warned
(throttled), naming the problem.
"""

import collections
import queue
import threading
from typing import Optional

from lingbot_depth_ros.backends.amodal import split_amodal_mask
from lingbot_depth_ros.messages.conversions import image_to_array
from lingbot_depth_ros.messages.frame import cloud_output, decode_frame, depth_outputs
from lingbot_depth_ros.node import qos
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image, PointCloud2

HISTORY_S = 2.0
HISTORY_FRAMES = 60
WAITING_MASKS = 8
QUEUED_PAIRS = 2


def _stamp_ns(msg) -> int:
    return msg.header.stamp.sec * 10 ** 9 + msg.header.stamp.nanosec


class AmodalChannel:
    """The ``amodal_mask`` subscription, its pairing, its worker and its two outputs."""

    def __init__(self, node):
        """
        Subscribe and create the outputs (called when the node opens its I/O).

        :param node: the DepthCompletionNode (config, stats, warn, backend, backend_lock).
        """
        self.node = node
        self._frames = collections.OrderedDict()  # stamp ns -> sync.MatchedFrame
        self._masks = collections.deque()  # (stamp ns, Image) waiting for their frame
        self._newest = None  # stamp ns of the newest frame received
        self._lock = threading.Lock()
        self._pairs: queue.Queue = queue.Queue(maxsize=QUEUED_PAIRS)
        self.published = 0
        out_qos = qos.sensor_qos(node.config.output_reliability)
        self.pub_depth = node.create_publisher(Image, 'depth_amodal/image', out_qos)
        self.pub_points = node.create_publisher(PointCloud2, 'points_amodal', out_qos)
        self.topic = node.resolve_topic_name('amodal_mask')
        # Best effort with a short history takes masks from any publisher, reliable or not.
        self.subscription = node.create_subscription(
            Image, 'amodal_mask', self._on_mask,
            QoSProfile(depth=WAITING_MASKS, reliability=ReliabilityPolicy.BEST_EFFORT))
        self._worker = threading.Thread(target=self._work, name='lingbot_depth_amodal',
                                        daemon=True)
        self._worker.start()

    @property
    def waiting(self) -> int:
        """Return the number of masks waiting for their frame."""
        with self._lock:
            return len(self._masks)

    # Pairing (callback threads) -----------------------------------------------------------
    def add_frames(self, frames) -> None:
        """
        Remember matched frames and pair the masks that waited for them.

        :param frames: sync.MatchedFrame list, as delivered by the synchronizer.
        """
        with self._lock:
            for frame in frames:
                if self._newest is not None and frame.stamp_ns < self._newest:
                    self._restart(frame.stamp_ns)
                self._newest = frame.stamp_ns
                self._frames[frame.stamp_ns] = frame
            pairs = self._pair_waiting()
            self._expire()
        for pair in pairs:
            self._queue(*pair)

    def _on_mask(self, msg: Image) -> None:
        self.node.stats.record_input('amodal_mask')
        stamp = _stamp_ns(msg)
        with self._lock:
            frame = self._match(stamp)
            if frame is None:
                self._masks.append((stamp, msg))
                while len(self._masks) > WAITING_MASKS:
                    self._masks.popleft()
                    self._drop('amodal_no_frame', 'too many masks waiting for their frames')
            self._expire()
        if frame is not None:
            self._queue(frame, msg)

    def _match(self, stamp: int):
        slop = int(self.node.config.sync_slop * 1e9)
        best = min(self._frames, key=lambda s: abs(s - stamp), default=None)
        if best is None or abs(best - stamp) > slop:
            return None
        return self._frames[best]

    def _pair_waiting(self) -> list:
        pairs, waiting = [], collections.deque()
        for stamp, mask in self._masks:
            frame = self._match(stamp)
            if frame is None:
                waiting.append((stamp, mask))
            else:
                pairs.append((frame, mask))
        self._masks = waiting
        return pairs

    def _restart(self, stamp: int) -> None:
        # Stamps went back (bag loop, clock reset): the old frames can never pair again, and
        # masks stamped beyond the history of the new timeline belong to the old one.
        self._frames.clear()
        limit = stamp + int(HISTORY_S * 1e9)
        old = sum(1 for m in self._masks if m[0] > limit)
        self._masks = collections.deque(m for m in self._masks if m[0] <= limit)
        for _ in range(old):
            self._drop('amodal_no_frame', 'stamps jumped backwards (bag loop or clock '
                       'reset): mask of the old timeline dropped')

    def _expire(self) -> None:
        if self._newest is None:
            return
        horizon = self._newest - int(HISTORY_S * 1e9)
        for stamp in [s for s in self._frames if s < horizon]:
            del self._frames[stamp]
        while len(self._frames) > HISTORY_FRAMES:
            self._frames.popitem(last=False)
        for stamp, _ in [m for m in self._masks if m[0] < horizon]:
            self._drop('amodal_no_frame', 'no frame with its stamp %d.%09d within %.1f s'
                       % (stamp // 10 ** 9, stamp % 10 ** 9, HISTORY_S))
        self._masks = collections.deque(m for m in self._masks if m[0] >= horizon)

    def _queue(self, frame, mask: Image) -> None:
        try:
            self._pairs.put_nowait((frame, mask))
        except queue.Full:
            self._drop('amodal_superseded', 'the amodal worker is busy: mask skipped')

    def _drop(self, reason: str, text: str) -> None:
        self.node.stats.record_drop(reason)
        self.node.warn(reason, '%s: %s' % (self.topic, text))

    # Work (the amodal worker) -------------------------------------------------------------
    def _work(self) -> None:
        while True:
            pair = self._pairs.get()
            if pair is None:
                return
            try:
                self.process(*pair)
            except Exception as error:  # noqa: B902 - the node never dies on a mask
                if not self.node.context.ok():
                    return
                self._drop('amodal_error', 'amodal completion failed: %s: %s'
                           % (type(error).__name__, error))

    def process(self, frame, mask_msg: Image) -> bool:
        """
        Complete one frame with its mask and publish the amodal outputs.

        :param frame: the sync.MatchedFrame.
        :param mask_msg: its mono8 amodal mask.
        :return: True when published.
        """
        node = self.node
        decoded = decode_frame(frame.rgb, frame.depth, frame.info, node._frame_settings,
                               node._topics)
        mask = self._mask_array(mask_msg, decoded.rgb.shape[:2])
        if mask is None:
            return False
        with node.backend_lock:
            result = node.backend.complete_amodal(decoded.rgb, decoded.depth, decoded.K, mask)
        depth, _ = node._frame_settings.depth_range.invalid_to_nan(result.depth)
        image, _, _ = depth_outputs(decoded, depth, '32FC1')
        node._publish(self.pub_depth, image)
        node._publish(self.pub_points, cloud_output(decoded, depth, node.config.cloud_rgb,
                                                    organized=False))
        self.published += 1
        return True

    def _mask_array(self, msg: Image, shape) -> Optional[object]:
        if msg.encoding != 'mono8':
            self._drop('amodal_bad_mask', 'expected a mono8 mask, got encoding %r'
                       % msg.encoding)
            return None
        try:
            mask = image_to_array(msg)
            split_amodal_mask(mask, shape)
        except ValueError as error:
            self._drop('amodal_bad_mask', str(error))
            return None
        return mask

    def close(self) -> None:
        """Stop the worker and remove the subscription and publishers."""
        # Pairs not started yet are dropped to make room for the stop (never blocks, even
        # when the worker is gone); the pair in hand finishes, joined below.
        while True:
            try:
                self._pairs.put_nowait(None)
                break
            except queue.Full:
                try:
                    self._pairs.get_nowait()
                except queue.Empty:
                    pass
        self._worker.join(timeout=10.0)
        node = self.node
        node.destroy_subscription(self.subscription)
        node.destroy_publisher(self.pub_depth)
        node.destroy_publisher(self.pub_points)
