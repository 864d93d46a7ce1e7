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
The camera -> target_frame transform of the filtered cloud: tf2_ros or static parameters.

tf2_ros is not on PyPI: when it cannot be imported, ``transform_source: tf`` yields no
transform (counted and warned) rather than a guessed one; ``static`` needs no tf.
"""

from typing import Optional, Tuple

from lingbot_depth_ros.points import rigid_transform
import numpy as np

try:
    import tf2_ros
except ImportError:  # pip installs have no tf2_ros; colcon workspaces do
    tf2_ros = None


class TargetTransforms:
    """Look up target <- camera transforms for the node's filtered cloud."""

    def __init__(self, node):
        """
        Listen to /tf when tf2_ros is importable.

        :param node: the rclpy node (the TransformListener subscribes through it).
        """
        self._buffer = None
        self._listener = None
        if tf2_ros is not None:
            self._buffer = tf2_ros.Buffer()
            self._listener = tf2_ros.TransformListener(self._buffer, node)

    @property
    def has_tf(self) -> bool:
        """Return whether tf2_ros is available."""
        return self._buffer is not None

    def lookup(self, target: str, source: str, stamp, static: Optional[np.ndarray]
               ) -> Tuple[Optional[np.ndarray], str]:
        """
        Return the 4x4 target <- source transform at ``stamp``, or None and why.

        :param target: target frame ('' or the source itself: identity).
        :param source: the cloud's frame (the camera optical frame).
        :param stamp: builtin_interfaces/Time of the frame.
        :param static: the static transform (transform_source static) or None (tf).
        :return: (matrix or None, reason when None).
        """
        if not target or target == source:
            return np.eye(4), ''
        if static is not None:
            return static, ''
        if self._buffer is None:
            return None, ('tf2_ros is not importable here: set transform_source to static '
                          'with static_translation / static_rotation, or run in a ROS 2 '
                          'workspace that has tf2_ros')
        import rclpy.time
        try:
            msg = self._buffer.lookup_transform(target, source, rclpy.time.Time.from_msg(stamp))
        except Exception as error:  # noqa: B902 - tf2 raises several unrelated exceptions
            return None, f'no transform {source} -> {target} at the frame stamp: {error}'
        t, q = msg.transform.translation, msg.transform.rotation
        return rigid_transform((t.x, t.y, t.z), (q.x, q.y, q.z, q.w)), ''
