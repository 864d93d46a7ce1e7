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

"""Read a bag's colour / depth / camera_info frames, paired and decoded as refine-bag does."""

from typing import Dict, Iterator

from lingbot_depth_ros.messages.frame import DecodedFrame, FrameRejected
from lingbot_depth_ros.sync import FrameSynchronizer
from lingbot_depth_ros.tools.bag import messages as bag_msgs
from lingbot_depth_ros.tools.bag import storage as bag_io
from lingbot_depth_ros.tools.bag.refine import decode_bag_frame, open_checked, RefineOptions


def bag_frames(source, options: RefineOptions = RefineOptions(), every: int = 1,
               skipped: Dict[str, int] = None) -> Iterator[DecodedFrame]:
    """
    Yield the decoded frames of a bag in log order.

    :param source: rosbag2 directory or file.
    :param options: topics, decoding rules, ``max_frames`` (refine-bag's options).
    :param every: keep every n-th paired frame (consecutive video frames are near copies).
    :param skipped: dict counting undecodable frames by reason (filled in place).
    :return: iterator of frames.
    """
    if every < 1:
        raise ValueError(f'every: expected an int >= 1, got {every}')
    skipped = {} if skipped is None else skipped
    with open_checked(source, options) as reader:
        available = {t: info.msgtype for t, info in reader.topics.items()}
        topics = bag_io.detect_topics(available, options.rgb_topic, options.depth_topic,
                                      options.info_topic)
        bag_io.check_topic_types(available, topics)
        store = bag_msgs.typestore()
        log_ns = [0]
        sync = FrameSynchronizer(slop_s=options.slop_s, clock=lambda: log_ns[0])
        adders = {topics.rgb: sync.add_rgb, topics.depth: sync.add_depth,
                  topics.info: sync.add_info}
        paired = kept = 0
        for conn, timestamp, raw in reader.messages():
            add = adders.get(conn.topic)
            if add is None:
                continue
            log_ns[0] = timestamp
            for frame in add(store.deserialize_cdr(raw, conn.msgtype)):
                paired += 1
                if (paired - 1) % every:
                    continue
                try:
                    yield decode_bag_frame(frame.rgb, frame.depth, frame.info, topics,
                                           options.frame)
                except FrameRejected as rejected:
                    skipped[rejected.reason] = skipped.get(rejected.reason, 0) + 1
                    continue
                kept += 1
                if options.max_frames is not None and kept >= options.max_frames:
                    return
