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
enable_sync:=true (equal stamps); the node uses config/realsense.yaml.
"""

import os

from ament_index_python.packages import get_package_share_directory, PackageNotFoundError
from launch import LaunchDescription
from launch.actions import (DeclareLaunchArgument, ExecuteProcess, IncludeLaunchDescription,
                            OpaqueFunction, SetEnvironmentVariable)
from launch.conditions import IfCondition
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.substitutions import FindPackageShare

PACKAGE = 'lingbot_depth_ros'
DRIVER_PACKAGE = 'realsense2_camera'
DRIVER_LAUNCH = 'rs_launch.py'


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
    """Declare the arguments, the driver, the node and the optional recorder."""
    camera = ['/', LaunchConfiguration('camera_namespace'), '/',
              LaunchConfiguration('camera_name')]
    rgb_topic = camera + ['/color/image_raw']
    depth_topic = camera + ['/aligned_depth_to_color/image_raw']
    info_topic = camera + ['/color/camera_info']
    namespace = LaunchConfiguration('namespace')
    share = FindPackageShare(PACKAGE)
    profile = PathJoinSubstitution([share, 'config', 'fastdds_large_data.xml'])
    large_data = IfCondition(LaunchConfiguration('large_data_profile'))
    return LaunchDescription([
        DeclareLaunchArgument('launch_camera', default_value='true',
                              description='Start the RealSense driver (false: attach to a '
                                          'running one).'),
        DeclareLaunchArgument('camera_namespace', default_value='camera'),
        DeclareLaunchArgument('camera_name', default_value='camera'),
        DeclareLaunchArgument('namespace', default_value='camera',
                              description='Namespace of the node and its output topics.'),
        DeclareLaunchArgument(
            'params_file',
            default_value=PathJoinSubstitution([share, 'config', 'realsense.yaml'])),
        DeclareLaunchArgument('model', default_value=''),
        DeclareLaunchArgument('device', default_value='auto'),
        DeclareLaunchArgument('record', default_value='false',
                              description='Also run ros2 bag record -s mcap of inputs and '
                                          'outputs.'),
        DeclareLaunchArgument('large_data_profile', default_value='true'),
        SetEnvironmentVariable('FASTDDS_DEFAULT_PROFILES_FILE', profile, condition=large_data),
        SetEnvironmentVariable('FASTRTPS_DEFAULT_PROFILES_FILE', profile, condition=large_data),
        SetEnvironmentVariable('MALLOC_MMAP_THRESHOLD_', '268435456', condition=large_data),
        SetEnvironmentVariable('MALLOC_TRIM_THRESHOLD_', '1073741824', condition=large_data),
        OpaqueFunction(function=include_driver,
                       condition=IfCondition(LaunchConfiguration('launch_camera'))),
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(
                PathJoinSubstitution([share, 'launch', 'lingbot_depth.launch.py'])),
            launch_arguments={
                'namespace': namespace,
                'params_file': LaunchConfiguration('params_file'),
                'model': LaunchConfiguration('model'),
                'device': LaunchConfiguration('device'),
                'rgb_topic': rgb_topic,
                'depth_topic': depth_topic,
                'camera_info_topic': info_topic,
                'large_data_profile': LaunchConfiguration('large_data_profile'),
            }.items()),
        ExecuteProcess(
            cmd=['ros2', 'bag', 'record', '-s', 'mcap', rgb_topic, depth_topic, info_topic,
                 [namespace, '/depth_refined/image'], [namespace, '/depth_refined/camera_info'],
                 [namespace, '/points']],
            output='screen', condition=IfCondition(LaunchConfiguration('record'))),
    ])
