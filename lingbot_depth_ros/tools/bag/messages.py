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
import functools

import numpy as np
from rosbags.typesys import get_typestore, Stores

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
