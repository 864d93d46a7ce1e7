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
from lingbot_depth_ros.messages.conversions import depth_to_image, rgb_to_image
from sensor_msgs.msg import CameraInfo
from std_msgs.msg import Header


def camera_info(K, width: int, height: int, header: Header) -> CameraInfo:
    """
    Return the CameraInfo of an undistorted pinhole camera (plumb_bob, D = 0).

    :param K: 3x3 pixel intrinsics.
    :param width: image width in pixels.
    :param height: image height in pixels.
    :param header: header of the message.
    :return: the CameraInfo with K, R = identity and P = [K | 0].
    """
    info = CameraInfo()
    info.header = header
    info.width, info.height = int(width), int(height)
    info.distortion_model = 'plumb_bob'
    info.d = [0.0] * 5
    info.k = [float(v) for v in K.ravel()]
    info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    info.p = [float(K[0, 0]), 0.0, float(K[0, 2]), 0.0,
              0.0, float(K[1, 1]), float(K[1, 2]), 0.0,
              0.0, 0.0, 1.0, 0.0]
    return info


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
