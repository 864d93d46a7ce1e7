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
Fast hand-over of large byte payloads to rclpy messages.

rclpy keeps ``uint8[]`` fields as ``array.array('B')``. Its setter converts anything else
element by element (a numpy array: ~50 ms per MB) and, when field checking is on
(``ROS_PYTHON_CHECK_FIELDS=1``), also validates every byte of a ``bytes`` value. An
``array.array('B')`` is the one value every generated setter accepts cheaply: with field
checking on it is stored as is, without it is copied once with memcpy. So payloads are written
straight into a fresh ``array.array`` through a numpy view, and messages that carry them are
created with field checking on, which makes the hand-over zero-copy.
"""

import array

from builtin_interfaces.msg import Time
from lingbot_depth_ros.sync import NS_PER_S
import numpy as np
from std_msgs.msg import Header

_ZERO_BYTE = array.array('B', [0])


def new_message(message_type, **fields):
    """
    Create a message whose setters keep ``array.array`` payloads without copying.

    :param message_type: a generated rclpy message class, e.g. ``sensor_msgs.msg.Image``.
    :param fields: field values assigned after construction.
    :return: the message instance.
    """
    try:
        # Generated code since Jazzy: with check_fields an array.array('B') is stored as is.
        message = message_type(check_fields=True)
    except (AssertionError, TypeError):
        # Older generators (Humble) have no check_fields and store array.array as is anyway.
        message = message_type()
    for name, value in fields.items():
        setattr(message, name, value)
    return message


def zeroed_bytes(nbytes):
    """
    Allocate a zero-filled ``array.array('B')`` of ``nbytes`` bytes.

    :param nbytes: payload size in bytes.
    :return: the array; repeating a one-byte array is a single memset, several times faster
        than ``array.array('B', bytes(nbytes))``, which zero-fills and then copies.
    """
    return _ZERO_BYTE * int(nbytes)


def writable_view(payload, dtype=np.uint8):
    """
    Return a writable 1-D numpy view of an ``array.array`` payload.

    :param payload: ``array.array('B')`` from :func:`zeroed_bytes`.
    :param dtype: element type of the view.
    :return: the view; writes through it fill the payload in place.
    """
    return np.frombuffer(payload, dtype=dtype)


def payload_from_array(values):
    """
    Copy a numpy array's bytes into a new ``array.array('B')`` with a single memcpy.

    :param values: any numpy array (made C-contiguous first if it is not).
    :return: ``array.array('B')`` holding ``values.tobytes()``.
    """
    payload = array.array('B')
    payload.frombytes(memoryview(np.ascontiguousarray(values)).cast('B'))
    return payload


def copy_header(header):
    """
    Return a new std_msgs/Header equal to ``header``, so messages never share one.

    :param header: std_msgs/Header or None.
    :return: the copy, or a default Header for None.
    :raises ValueError: when ``header`` is neither.
    """
    if header is None:
        return Header()
    if not isinstance(header, Header):
        raise ValueError('header: expected std_msgs/Header or None, got %s'
                         % type(header).__name__)
    copied = Header(frame_id=header.frame_id)
    copied.stamp.sec = header.stamp.sec
    copied.stamp.nanosec = header.stamp.nanosec
    return copied


def header_from_ns(stamp_ns, frame_id):
    """
    Build a std_msgs/Header from a stamp in integer nanoseconds.

    :param stamp_ns: stamp in nanoseconds (>= 0).
    :param frame_id: the frame name.
    :return: the Header.
    :raises ValueError: for a negative stamp.
    """
    if stamp_ns < 0:
        raise ValueError('stamp_ns: expected >= 0, got %r' % (stamp_ns,))
    sec, nanosec = divmod(int(stamp_ns), NS_PER_S)
    return Header(stamp=Time(sec=sec, nanosec=nanosec), frame_id=str(frame_id))
