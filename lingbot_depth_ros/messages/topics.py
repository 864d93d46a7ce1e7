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
Topic names of the cameras the package has presets for.

The launch files, the offline tools' topic detection and the demo use these, so a driver
renaming its topics is changed here once.
"""

from dataclasses import dataclass
from typing import Dict


@dataclass(frozen=True)
class TopicSet:
    """The colour image, registered depth image and colour camera_info topics of a camera."""

    rgb: str
    depth: str
    info: str

    def relative_to(self, prefix: str) -> 'TopicSet':
        """
        Return the topics with ``prefix`` removed (the part a driver's namespace does not set).

        :param prefix: leading part of every topic, e.g. ``'/camera/camera'``.
        :return: TopicSet of the remaining names, each starting with '/'.
        :raises ValueError: when a topic is not under ``prefix``.
        """
        names = (self.rgb, self.depth, self.info)
        if not all(name.startswith(prefix + '/') for name in names):
            raise ValueError(f'not every topic of {self} is under {prefix!r}')
        return TopicSet(*(name[len(prefix):] for name in names))


# The driver defaults: realsense2_camera 4.55+ (/<camera_namespace>/<camera_name>/...,
# depth aligned to colour) and orbbec_camera (/<camera_name>/..., depth_registration).
REALSENSE_TOPICS = TopicSet('/camera/camera/color/image_raw',
                            '/camera/camera/aligned_depth_to_color/image_raw',
                            '/camera/camera/color/camera_info')
ORBBEC_TOPICS = TopicSet('/camera/color/image_raw', '/camera/depth/image_raw',
                         '/camera/color/camera_info')

# In the order the offline tools try them when detecting a bag's camera.
TOPIC_PRESETS: Dict[str, TopicSet] = {'realsense': REALSENSE_TOPICS, 'orbbec': ORBBEC_TOPICS}
