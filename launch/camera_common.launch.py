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

The including file passes params_file and its driver's three topics:

    IncludeLaunchDescription(PythonLaunchDescriptionSource('.../camera_common.launch.py'),
                             launch_arguments={'params_file': ..., 'driver_rgb_topic': ...,
                                               'driver_depth_topic': ...,
                                               'driver_camera_info_topic': ...})
"""

import shutil

from ament_index_python.packages import get_package_share_directory, PackageNotFoundError
from launch import LaunchDescription
from launch.actions import (DeclareLaunchArgument, ExecuteProcess, IncludeLaunchDescription,
                            OpaqueFunction, SetEnvironmentVariable)
from launch.conditions import IfCondition
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.substitutions import FindPackageShare
from lingbot_depth_ros.messages.transport import large_data_environment, PROFILE_FILE
from lingbot_depth_ros.node.params import launch_override_description

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
        DeclareLaunchArgument('model', default_value='',
                              description=launch_override_description('model')),
        DeclareLaunchArgument('device', default_value='',
                              description=launch_override_description('device')),
        DeclareLaunchArgument('record', default_value='false',
                              description='Also run ros2 bag record -s mcap of the inputs '
                                          'and the refined depth (needs rosbag2).'),
        DeclareLaunchArgument('record_points', default_value='false',
                              description='Also record the points cloud (about 300 MB/s '
                                          'at 640x480 and 30 Hz).'),
        DeclareLaunchArgument('large_data_profile', default_value='true'),
        DeclareLaunchArgument('rviz', default_value='false',
                              description='Also start RViz2 with rviz/lingbot_depth.rviz.'),
        # The including file passes its driver's names; rgb_topic:=... etc. given on the
        # command line are set before these declarations and so win over them.
        DeclareLaunchArgument('driver_rgb_topic', description="The driver's colour topic."),
        DeclareLaunchArgument('driver_depth_topic',
                              description="The driver's depth topic, registered to colour."),
        DeclareLaunchArgument('driver_camera_info_topic',
                              description="The driver's colour camera_info topic."),
        DeclareLaunchArgument('rgb_topic', default_value=LaunchConfiguration('driver_rgb_topic'),
                              description="Colour image topic (default: the driver's)."),
        DeclareLaunchArgument('depth_topic',
                              default_value=LaunchConfiguration('driver_depth_topic'),
                              description='Depth image topic, registered to colour (default: '
                                          "the driver's)."),
        DeclareLaunchArgument('camera_info_topic',
                              default_value=LaunchConfiguration('driver_camera_info_topic'),
                              description="Colour camera_info topic (default: the driver's)."),
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
            'rviz': LaunchConfiguration('rviz'),
        }.items())
    recorder = OpaqueFunction(function=record,
                              condition=IfCondition(LaunchConfiguration('record')))
    return LaunchDescription(arguments + environment + [node, recorder])


def absolute(namespace, name):
    """
    Return the absolute topic name of ``name`` in ``namespace``.

    :param namespace: e.g. 'camera', '/camera' or ''.
    :param name: a relative name, e.g. 'depth_refined/image', or an absolute one.
    :return: e.g. '/camera/depth_refined/image'.
    """
    if name.startswith('/'):
        return name
    return '/' + '/'.join(part for part in (namespace.strip('/'), name) if part)


def rosbag2_available():
    """Return True when `ros2 bag` can run here: the ros2 command and the ros2bag verb."""
    if shutil.which('ros2') is None:
        return False
    try:
        get_package_share_directory('ros2bag')
        return True
    except (PackageNotFoundError, OSError):
        return False


def record(context, *args, **kwargs):
    """Return the recorder of the inputs and outputs, or stop the launch if it cannot run."""
    if not rosbag2_available():
        raise RuntimeError(
            'record:=true needs rosbag2 (ros2 bag): install ros-$ROS_DISTRO-rosbag2 and '
            'ros-$ROS_DISTRO-rosbag2-storage-mcap, or launch with record:=false')
    namespace = LaunchConfiguration('namespace').perform(context)
    inputs = (LaunchConfiguration('rgb_topic'), LaunchConfiguration('depth_topic'),
              LaunchConfiguration('camera_info_topic'))
    topics = [absolute('', topic.perform(context)) for topic in inputs]
    outputs = ['depth_refined/image', 'depth_refined/camera_info']
    if LaunchConfiguration('record_points').perform(context).lower() == 'true':
        outputs.append('points')
    topics += [absolute(namespace, name) for name in outputs]
    return [ExecuteProcess(cmd=['ros2', 'bag', 'record', '-s', 'mcap'] + topics,
                           output='screen')]
