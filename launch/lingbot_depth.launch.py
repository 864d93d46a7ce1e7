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
Start the lingbot_depth node alone.

    ros2 launch lingbot_depth_ros lingbot_depth.launch.py model:=/path/to/model.pt \
        rgb_topic:=/camera/color/image_raw depth_topic:=/camera/depth/image_raw \
        camera_info_topic:=/camera/color/camera_info

model and device, when given, win over params_file; left empty, params_file decides.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare
from lingbot_depth_ros.messages.transport import large_data_environment, PROFILE_FILE
from lingbot_depth_ros.node.params import launch_override_description

PACKAGE = 'lingbot_depth_ros'


def large_data_actions(enabled):
    """
    Return the actions giving the shipped Fast DDS large-data profile to later processes.

    They apply to every process started after them (the node, a camera driver, ros2 bag).

    :param enabled: Substitution of 'true' / 'false'.
    :return: List of SetEnvironmentVariable actions, conditional on enabled.
    """
    profile = PathJoinSubstitution([FindPackageShare(PACKAGE), 'config', PROFILE_FILE])
    condition = IfCondition(enabled)
    return [SetEnvironmentVariable(name, value, condition=condition)
            for name, value in large_data_environment(profile).items()]


def generate_launch_description():
    """Declare the arguments and the node."""
    arguments = [
        DeclareLaunchArgument('namespace', default_value='',
                              description='Namespace of the node and its output topics.'),
        DeclareLaunchArgument(
            'params_file',
            default_value=PathJoinSubstitution([FindPackageShare(PACKAGE), 'config',
                                                'lingbot_depth.yaml']),
            description='Parameter file of the node.'),
        DeclareLaunchArgument('model', default_value='',
                              description=launch_override_description('model')),
        DeclareLaunchArgument('device', default_value='',
                              description=launch_override_description('device')),
        DeclareLaunchArgument('rgb_topic', default_value='rgb/image',
                              description='Colour image topic.'),
        DeclareLaunchArgument('depth_topic', default_value='depth/image',
                              description='Depth image topic, registered to colour.'),
        DeclareLaunchArgument('camera_info_topic', default_value='rgb/camera_info',
                              description='Colour camera_info topic.'),
        DeclareLaunchArgument('large_data_profile', default_value='true',
                              description='Use config/fastdds_large_data.xml and the malloc '
                                          'settings for large messages.'),
        DeclareLaunchArgument('log_level', default_value='info',
                              description='Log level of the node.'),
        DeclareLaunchArgument('lifecycle', default_value='false',
                              description='Run the managed (lifecycle) node: configure loads '
                                          'the model, activate starts the I/O.'),
        DeclareLaunchArgument('autostart', default_value='true',
                              description='With lifecycle: configure and activate at once; '
                                          'false leaves it to a lifecycle manager.'),
        DeclareLaunchArgument('cameras', default_value='',
                              description='Camera namespaces this one process serves with one '
                                          'model, comma-separated (e.g. left,right; each '
                                          'under namespace); empty: the params_file decides '
                                          '(one camera by default).'),
        DeclareLaunchArgument('rviz', default_value='false',
                              description='Also start RViz2 with rviz/lingbot_depth.rviz.'),
    ]
    return LaunchDescription(
        arguments + large_data_actions(LaunchConfiguration('large_data_profile'))
        + [OpaqueFunction(function=launch_node), rviz_node(LaunchConfiguration('rviz'))])


def rviz_node(enabled):
    """
    Return RViz2 with the package's view (colour, refined depth, clouds), if enabled.

    :param enabled: Substitution of 'true' / 'false'.
    :return: the rviz2 Node action.
    """
    view = PathJoinSubstitution([FindPackageShare(PACKAGE), 'rviz', 'lingbot_depth.rviz'])
    return Node(package='rviz2', executable='rviz2', name='rviz2', arguments=['-d', view],
                condition=IfCondition(enabled), output='screen')


def parameter_overrides(context):
    """
    Return the node parameters the launch arguments set: model, device, cameras when given.

    :param context: the launch context.
    :return: dict of parameter name -> value (empty: params_file decides).
    """
    given = {'model': LaunchConfiguration('model').perform(context),
             'device': LaunchConfiguration('device').perform(context)}
    overrides = {name: value for name, value in given.items() if value}
    cameras = LaunchConfiguration('cameras', default='').perform(context)
    if cameras.strip():
        overrides['cameras'] = cameras.replace(',', ' ').split()
    if is_lifecycle(context):
        overrides['autostart'] = LaunchConfiguration('autostart').perform(context) == 'true'
    return overrides


def is_lifecycle(context) -> bool:
    """Return whether the launch asks for the lifecycle node."""
    return LaunchConfiguration('lifecycle', default='false').perform(context).lower() == 'true'


def launch_node(context, *args, **kwargs):
    """Return the node action, with the parameter overrides the arguments ask for."""
    return [Node(
        package=PACKAGE,
        executable='depth_completion_lifecycle_node' if is_lifecycle(context)
        else 'depth_completion_node',
        name='lingbot_depth',
        namespace=LaunchConfiguration('namespace'),
        parameters=[LaunchConfiguration('params_file')] + [
            overrides for overrides in [parameter_overrides(context)] if overrides],
        remappings=[('rgb/image', LaunchConfiguration('rgb_topic')),
                    ('depth/image', LaunchConfiguration('depth_topic')),
                    ('rgb/camera_info', LaunchConfiguration('camera_info_topic'))],
        ros_arguments=['--log-level', LaunchConfiguration('log_level')],
        output='screen',
    )]
