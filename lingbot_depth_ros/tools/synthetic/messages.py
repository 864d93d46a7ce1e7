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

"""ROS messages of synthetic frames (needs sensor_msgs; ``synthetic`` imports it lazily)."""

from lingbot_depth_ros.messages.buffers import header_from_ns
from lingbot_depth_ros.messages.camera import camera_info
from lingbot_depth_ros.messages.conversions import depth_to_image, rgb_to_image
from std_msgs.msg import Header

__all__ = ['camera_info', 'frame_messages']


def frame_messages(frame, frame_id: str):
    """
    Return a synthetic frame as (Image rgb8, Image 16UC1 millimetres, CameraInfo).

    :param frame: a synthetic.SyntheticFrame.
    :param frame_id: header frame id of all three (the depth is aligned to the colour).
    :return: the three messages, sharing stamp and frame id.
    """
    header = header_from_ns(frame.stamp_ns, frame_id)
    rgb = rgb_to_image(frame.rgb, header)
    depth, _ = depth_to_image(frame.depth_sensor, header, encoding='16UC1')
    info_header = Header(stamp=header.stamp, frame_id=frame_id)
    info = camera_info(frame.K, frame.width, frame.height, info_header)
    return rgb, depth, info
