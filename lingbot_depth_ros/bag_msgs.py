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
Messages of the bag tools: ``rosbags`` message objects <-> numpy, through ``msg_conversions``.

A bag read with ``rosbags`` yields its own dataclass messages, not rclpy ones. Their field
names are the same, so the decoders of ``msg_conversions`` read them as they are (duck
typing) and a bag's depth is decoded exactly as the node decodes a live topic. The outputs
are built by ``msg_conversions`` too, as rclpy messages, and turned into ``rosbags`` objects
by :func:`to_rosbags` (payloads shared, not copied), which rosbags serializes to the same
CDR bytes as rclpy does, only faster.
"""

import array
import dataclasses
import functools

from builtin_interfaces.msg import Time
from lingbot_depth_ros import msg_conversions
import numpy as np
from rosbags.typesys import get_typestore, Stores
from std_msgs.msg import Header

IMAGE = 'sensor_msgs/msg/Image'
COMPRESSED_IMAGE = 'sensor_msgs/msg/CompressedImage'
CAMERA_INFO = 'sensor_msgs/msg/CameraInfo'
POINT_CLOUD2 = 'sensor_msgs/msg/PointCloud2'


@functools.lru_cache(maxsize=1)
def typestore():
    """
    Return the rosbags typestore used to (de)serialize messages.

    :return: the ROS 2 Jazzy store; its sensor_msgs definitions and type hashes are the
        same as Humble's and Kilted's.
    """
    return get_typestore(Stores.ROS2_JAZZY)


def ros_type_name(msg) -> str:
    """
    Return the ROS type name of an rclpy message.

    :param msg: an rclpy message, e.g. a ``sensor_msgs.msg.Image``.
    :return: e.g. ``'sensor_msgs/msg/Image'``.
    """
    package = type(msg).__module__.split('.')[0]
    return f'{package}/msg/{type(msg).__name__}'


def to_rosbags(msg):
    """
    Convert an rclpy message to the equal ``rosbags`` message object.

    :param msg: an rclpy message whose type the typestore knows.
    :return: the rosbags message; primitive arrays share memory with ``msg``'s.
    :raises ValueError: for a message type the typestore does not know.
    """
    typename = ros_type_name(msg)
    cls = typestore().types.get(typename)
    if cls is None:
        raise ValueError(f'msg: expected a standard ROS 2 message, got type {typename}')
    values = {}
    for name in msg.get_fields_and_field_types():
        value = getattr(msg, name)
        if hasattr(value, 'get_fields_and_field_types'):
            value = to_rosbags(value)
        elif isinstance(value, array.array):
            value = np.frombuffer(value, dtype=value.typecode)
        elif isinstance(value, (bytes, bytearray)):
            value = np.frombuffer(value, dtype=np.uint8)
        elif isinstance(value, list) and value and hasattr(value[0], 'get_fields_and_field_types'):
            value = [to_rosbags(item) for item in value]
        elif isinstance(value, list):
            value = np.asarray(value)
        values[name] = value
    return cls(**values)


def rclpy_header(header) -> Header:
    """
    Return a std_msgs/Header (rclpy) equal to a header of any kind.

    :param header: an object with ``stamp.sec``, ``stamp.nanosec`` and ``frame_id``.
    :return: the rclpy Header.
    """
    return Header(stamp=Time(sec=int(header.stamp.sec), nanosec=int(header.stamp.nanosec)),
                  frame_id=str(header.frame_id))


def make_header(stamp_ns: int, frame_id: str) -> Header:
    """
    Build a std_msgs/Header (rclpy) from a stamp in nanoseconds.

    :param stamp_ns: stamp in integer nanoseconds (>= 0).
    :param frame_id: the frame name.
    :return: the Header.
    """
    if stamp_ns < 0:
        raise ValueError(f'stamp_ns: expected >= 0, got {stamp_ns}')
    sec, nanosec = divmod(int(stamp_ns), 1_000_000_000)
    return Header(stamp=Time(sec=sec, nanosec=nanosec), frame_id=frame_id)


def rgb_from_msg(msg) -> np.ndarray:
    """
    Decode a colour Image or CompressedImage to RGB.

    :param msg: rosbags (or rclpy) sensor_msgs Image in an encoding
        ``msg_conversions.rgb_from_image`` reads, or a CompressedImage OpenCV decodes.
    :return: uint8 HxWx3 RGB.
    :raises ValueError: for another encoding or undecodable data.
    """
    if not hasattr(msg, 'format'):
        return msg_conversions.rgb_from_image(msg)
    import cv2  # only compressed colour streams need it
    buffer = np.frombuffer(memoryview(msg.data), dtype=np.uint8)
    bgr = cv2.imdecode(buffer, cv2.IMREAD_COLOR) if buffer.size else None
    if bgr is None:
        raise ValueError(f'data: expected an image OpenCV can decode (format {msg.format!r}), '
                         f'got {buffer.size} undecodable bytes')
    return np.ascontiguousarray(bgr[:, :, ::-1])


def depth_from_msg(msg, depth_scale: float = 0.001):
    """
    Decode a depth Image to metres (``msg_conversions.depth_from_image``).

    :param msg: rosbags (or rclpy) Image in 16UC1 / mono16 or 32FC1.
    :param depth_scale: metres per unit of integer depth.
    :return: ``(depth_m float32 HxW with 0 where invalid, valid bool HxW)``.
    """
    return msg_conversions.depth_from_image(msg, depth_scale)


def intrinsics_from_info(info, width: int, height: int) -> np.ndarray:
    """
    Read the pixel intrinsics of a CameraInfo at an image size.

    :param info: rosbags (or rclpy) CameraInfo.
    :param width: width of the image the intrinsics are for.
    :param height: its height.
    :return: float64 3x3 K, rescaled when the image is a uniformly scaled calibration size.
    :raises ValueError: as ``msg_conversions.camera_info_to_model``.
    """
    return msg_conversions.camera_info_to_model(info, int(width), int(height)).K


def depth_image_msg(depth_m: np.ndarray, header, encoding: str = '32FC1'):
    """
    Encode metric depth as a rosbags Image (``msg_conversions.depth_to_image``).

    :param depth_m: float HxW metres; 0, NaN, inf and negative values are invalid.
    :param header: the header (rosbags or rclpy).
    :param encoding: ``'32FC1'`` (metres, NaN holes) or ``'16UC1'`` (millimetres, 0 holes).
    :return: ``(rosbags Image, number of pixels clipped to 65535 mm)``.
    """
    image, clipped = msg_conversions.depth_to_image(depth_m, rclpy_header(header), encoding)
    return to_rosbags(image), clipped


def camera_info_msg(info, header, width: int, height: int):
    """
    Copy a CameraInfo for an image with another header and possibly another size.

    :param info: rosbags CameraInfo.
    :param header: rosbags header of the image the copy describes.
    :param width: that image's width.
    :param height: that image's height.
    :return: a rosbags CameraInfo: the input with ``header`` when the size is the same,
        else rescaled by ``msg_conversions.camera_info_at_size``.
    """
    if (int(width), int(height)) == (int(info.width), int(info.height)):
        return dataclasses.replace(info, header=header)
    return to_rosbags(msg_conversions.camera_info_at_size(info, int(width), int(height),
                                                          rclpy_header(header)))


def pointcloud_msg(depth_m: np.ndarray, K: np.ndarray, header, rgb=None, decimation: int = 1):
    """
    Back-project depth into a rosbags PointCloud2 in depth_image_proc's layout.

    :param depth_m: float HxW metres, NaN / 0 where invalid.
    :param K: float64 3x3 pixel intrinsics of ``depth_m``.
    :param header: the header (the optical frame of the image).
    :param rgb: optional uint8 HxWx3 colour, adds the packed ``rgb`` field.
    :param decimation: keep every n-th row and column.
    :return: the organized cloud of ``pointcloud.depth_to_pointcloud2``.
    """
    cloud = msg_conversions.depth_to_pointcloud2(depth_m, K, rclpy_header(header), rgb=rgb,
                                                 decimation=decimation)
    return to_rosbags(cloud)
