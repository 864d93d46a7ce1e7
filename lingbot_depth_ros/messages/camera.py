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
Messages of a camera frame held as arrays: what a driver publishes, made in process.

The camera node, ``lingbot-depth capture`` and the synthetic data build their colour, depth
and camera_info messages here, and the frame path (``messages.frame``) decodes them as it
decodes a driver's.
"""

from typing import Tuple

from lingbot_depth_ros.messages.buffers import header_from_ns
from lingbot_depth_ros.messages.conversions import depth_to_image, rgb_to_image
import numpy as np
from sensor_msgs.msg import CameraInfo, Image
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
    K = np.asarray(K, dtype=np.float64)
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


def frame_messages(rgb: np.ndarray, depth_m: np.ndarray, K, stamp_ns: int, frame_id: str,
                   depth_encoding: str = '16UC1') -> Tuple[Image, Image, CameraInfo]:
    """
    Return one RGB-D frame as the (colour, depth, camera_info) messages of a driver.

    :param rgb: uint8 HxWx3 colour.
    :param depth_m: float HxW metres registered to colour, 0 or NaN where none.
    :param K: 3x3 colour intrinsics.
    :param stamp_ns: the frame's stamp (ns since the epoch).
    :param frame_id: the colour optical frame (all three messages).
    :param depth_encoding: '16UC1' millimetres (as the RealSense and Orbbec drivers publish)
        or '32FC1' metres (exact for any depth units).
    :return: rgb8 Image, depth Image, CameraInfo sharing stamp and frame id.
    """
    header = header_from_ns(int(stamp_ns), frame_id)
    height, width = np.shape(depth_m)
    depth, _ = depth_to_image(np.asarray(depth_m), header, encoding=depth_encoding)
    info = camera_info(K, width, height, header_from_ns(int(stamp_ns), frame_id))
    return rgb_to_image(rgb, header), depth, info
