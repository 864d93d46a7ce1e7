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
Intel RealSense camera (realsense2_camera 4.55+) plus the lingbot_depth node.

    ros2 launch lingbot_depth_ros realsense.launch.py model:=/path/to/model.pt
    ros2 launch lingbot_depth_ros realsense.launch.py launch_camera:=false   # driver running
    ros2 launch lingbot_depth_ros realsense.launch.py record:=true           # also ros2 bag

The driver is started with align_depth.enable:=true (depth registered to colour) and
enable_sync:=true (equal stamps); the node uses config/realsense.yaml. The node, the recorder
and the Fast DDS environment come from camera_common.launch.py.
"""

import os

from ament_index_python.packages import get_package_share_directory, PackageNotFoundError
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription, OpaqueFunction
from launch.conditions import IfCondition
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.substitutions import FindPackageShare
from lingbot_depth_ros.messages.topics import REALSENSE_TOPICS

PACKAGE = 'lingbot_depth_ros'
DRIVER_PACKAGE = 'realsense2_camera'
DRIVER_LAUNCH = 'rs_launch.py'
# The sibling file rather than a package lookup: this file and its common part come from the
# same tree (the source tree when the tests load them), also where no ament index has them.
COMMON = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'camera_common.launch.py')
# The preset is the driver's naming under its default /<camera_namespace>/<camera_name>.
TOPICS = REALSENSE_TOPICS.relative_to('/camera/camera')


def include_driver(context, *args, **kwargs):
    """Include the driver's launch file, or fail naming the package to install."""
    try:
        share = get_package_share_directory(DRIVER_PACKAGE)
    except PackageNotFoundError:
        raise RuntimeError(
            "camera driver package '%s' is not installed: install it (e.g. apt install "
            'ros-$ROS_DISTRO-%s) or attach to a running driver with launch_camera:=false'
            % (DRIVER_PACKAGE, DRIVER_PACKAGE.replace('_', '-'))) from None
    return [IncludeLaunchDescription(
        PythonLaunchDescriptionSource(os.path.join(share, 'launch', DRIVER_LAUNCH)),
        launch_arguments={
            'camera_namespace': LaunchConfiguration('camera_namespace'),
            'camera_name': LaunchConfiguration('camera_name'),
            'align_depth.enable': 'true',
            'enable_sync': 'true',
        }.items())]


def generate_launch_description():
    """Declare the driver's arguments; include the common part, then the driver."""
    camera = ['/', LaunchConfiguration('camera_namespace'), '/',
              LaunchConfiguration('camera_name')]
    return LaunchDescription([
        DeclareLaunchArgument('launch_camera', default_value='true',
                              description='Start the RealSense driver (false: attach to a '
                                          'running one).'),
        DeclareLaunchArgument('camera_namespace', default_value='camera'),
        DeclareLaunchArgument('camera_name', default_value='camera'),
        DeclareLaunchArgument(
            'params_file',
            default_value=PathJoinSubstitution([FindPackageShare(PACKAGE), 'config',
                                                'realsense.yaml'])),
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(COMMON),
            launch_arguments={
                'params_file': LaunchConfiguration('params_file'),
                'driver_rgb_topic': camera + [TOPICS.rgb],
                'driver_depth_topic': camera + [TOPICS.depth],
                'driver_camera_info_topic': camera + [TOPICS.info],
            }.items()),
        # After camera_common.launch.py, so that the driver gets its Fast DDS environment.
        OpaqueFunction(function=include_driver,
                       condition=IfCondition(LaunchConfiguration('launch_camera'))),
    ])
