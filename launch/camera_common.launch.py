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
The camera-independent part of realsense.launch.py and orbbec.launch.py.

Included by them after their own arguments and before their driver: the node's and the
recorder's arguments, the Fast DDS large-data environment, the node (lingbot_depth.launch.py)
on the camera's topics, and the optional ``ros2 bag record`` of inputs and outputs.
An include is not scoped, so the environment set here also applies to the driver the
including file starts afterwards.

The including file passes params_file and the three topics:

    IncludeLaunchDescription(PythonLaunchDescriptionSource('.../camera_common.launch.py'),
                             launch_arguments={'params_file': ..., 'rgb_topic': ...,
                                               'depth_topic': ..., 'camera_info_topic': ...})
"""

from launch import LaunchDescription
from launch.actions import (DeclareLaunchArgument, ExecuteProcess, IncludeLaunchDescription,
                            SetEnvironmentVariable)
from launch.conditions import IfCondition
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.substitutions import FindPackageShare
from lingbot_depth_ros.messages.transport import large_data_environment, PROFILE_FILE

PACKAGE = 'lingbot_depth_ros'


def generate_launch_description():
    """Declare the common arguments, the environment, the node and the optional recorder."""
    rgb_topic = LaunchConfiguration('rgb_topic')
    depth_topic = LaunchConfiguration('depth_topic')
    info_topic = LaunchConfiguration('camera_info_topic')
    namespace = LaunchConfiguration('namespace')
    share = FindPackageShare(PACKAGE)
    profile = PathJoinSubstitution([share, 'config', PROFILE_FILE])
    large_data = IfCondition(LaunchConfiguration('large_data_profile'))
    arguments = [
        DeclareLaunchArgument('namespace', default_value='camera',
                              description='Namespace of the node and its output topics.'),
        DeclareLaunchArgument('params_file', description='Parameter file of the node.'),
        DeclareLaunchArgument('model', default_value=''),
        DeclareLaunchArgument('device', default_value='auto'),
        DeclareLaunchArgument('record', default_value='false',
                              description='Also run ros2 bag record -s mcap of inputs and '
                                          'outputs.'),
        DeclareLaunchArgument('large_data_profile', default_value='true'),
        DeclareLaunchArgument('rgb_topic', description='Colour image topic of the driver.'),
        DeclareLaunchArgument('depth_topic',
                              description='Depth image topic of the driver, registered to '
                                          'colour.'),
        DeclareLaunchArgument('camera_info_topic',
                              description='Colour camera_info topic of the driver.'),
    ]
    environment = [SetEnvironmentVariable(name, value, condition=large_data)
                   for name, value in large_data_environment(profile).items()]
    node = IncludeLaunchDescription(
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
        }.items())
    recorder = ExecuteProcess(
        cmd=['ros2', 'bag', 'record', '-s', 'mcap', rgb_topic, depth_topic, info_topic,
             [namespace, '/depth_refined/image'], [namespace, '/depth_refined/camera_info'],
             [namespace, '/points']],
        output='screen', condition=IfCondition(LaunchConfiguration('record')))
    return LaunchDescription(arguments + environment + [node, recorder])
