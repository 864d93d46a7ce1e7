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
Start the camera_completion_node: camera SDK capture and depth completion in one process.

    ros2 launch lingbot_depth_ros camera_completion.launch.py camera:=realsense \
        profile:=640x480x30 model:=/path/to/model.pt

No camera driver is started: the node opens the camera itself (pyrealsense2 or
pyorbbecsdk2), so colour and depth never cross DDS before completion. publish_raw:=true
also publishes the camera's images on the driver's topic names. model and device, when
given, win over params_file.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare
from lingbot_depth_ros.messages.transport import large_data_environment, PROFILE_FILE
from lingbot_depth_ros.node.camera_params import CAMERA_PARAMETERS
from lingbot_depth_ros.node.params import launch_override_description

PACKAGE = 'lingbot_depth_ros'


def generate_launch_description():
    """Declare the arguments and the node."""
    specs = {spec.name: spec for spec in CAMERA_PARAMETERS}
    arguments = [
        DeclareLaunchArgument('namespace', default_value='',
                              description='Namespace of the node and its output topics.'),
        DeclareLaunchArgument(
            'params_file',
            default_value=PathJoinSubstitution([FindPackageShare(PACKAGE), 'config',
                                                'lingbot_depth.yaml']),
            description='Parameter file of the node (the depth completion parameters).'),
        DeclareLaunchArgument('model', default_value='',
                              description=launch_override_description('model')),
        DeclareLaunchArgument('device', default_value='',
                              description=launch_override_description('device')),
        DeclareLaunchArgument('log_level', default_value='info',
                              description='Log level of the node.'),
        DeclareLaunchArgument('large_data_profile', default_value='true',
                              description='Use config/fastdds_large_data.xml and the malloc '
                                          'settings for large messages (outputs, raw images).'),
        DeclareLaunchArgument('camera', default_value='realsense',
                              description=specs['camera'].description),
        DeclareLaunchArgument('serial', default_value='',
                              description=specs['serial'].description),
        DeclareLaunchArgument('profile', default_value='640x480x30',
                              description=specs['profile'].description),
        DeclareLaunchArgument('publish_raw', default_value='false',
                              description=specs['publish_raw'].description),
    ]
    profile = PathJoinSubstitution([FindPackageShare(PACKAGE), 'config', PROFILE_FILE])
    transport = [SetEnvironmentVariable(name, value, condition=IfCondition(
        LaunchConfiguration('large_data_profile')))
        for name, value in large_data_environment(profile).items()]
    return LaunchDescription(arguments + transport + [OpaqueFunction(function=launch_node)])


def launch_node(context, *args, **kwargs):
    """Return the node action with the camera arguments and the model/device overrides."""
    overrides = {'model': LaunchConfiguration('model').perform(context),
                 'device': LaunchConfiguration('device').perform(context)}
    overrides = {name: value for name, value in overrides.items() if value}
    overrides.update(camera=LaunchConfiguration('camera').perform(context),
                     serial=LaunchConfiguration('serial').perform(context),
                     profile=LaunchConfiguration('profile').perform(context),
                     publish_raw=LaunchConfiguration('publish_raw').perform(context).lower()
                     == 'true')
    return [Node(
        package=PACKAGE,
        executable='camera_completion_node',
        name='lingbot_depth',
        namespace=LaunchConfiguration('namespace'),
        parameters=[LaunchConfiguration('params_file'), overrides],
        ros_arguments=['--log-level', LaunchConfiguration('log_level')],
        output='screen',
    )]
