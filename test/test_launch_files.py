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
The launch files under the ROS 2 launch packages: they import, build, and start the node.

Skipped where ``launch`` / ``launch_ros`` are not installed (a pip-only environment);
test_launch.py checks the same files statically everywhere.
"""

import importlib.util
import json
import os
from pathlib import Path
import threading
import time

from lingbot_depth_ros.messages.topics import TOPIC_PRESETS, TopicSet
from lingbot_depth_ros.messages.transport import large_data_environment, PROFILE_FILE
import pytest
import yaml

# launch.actions, not launch: the repository's launch/ folder imports as an empty namespace
# package when the ROS 2 launch package is missing.
pytest.importorskip(
    'launch.actions', reason='the ROS 2 launch package is not installed (pip-only ROS); '
    'test_launch.py checks the launch files statically')
pytest.importorskip('launch_ros', reason='launch_ros is not installed (pip-only ROS)')
pytest.importorskip('ament_index_python', reason='ament_index_python is not installed')

from ament_index_python.packages import get_package_share_directory  # noqa: E402, I100
from ament_index_python.packages import PackageNotFoundError  # noqa: E402
import launch  # noqa: E402
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription  # noqa: E402
from launch.actions import RegisterEventHandler, Shutdown, TimerAction  # noqa: E402
from launch.event_handlers import OnProcessStart  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402
from launch.utilities import normalize_to_list_of_substitutions  # noqa: E402
from launch.utilities import perform_substitutions  # noqa: E402
from launch_ros.actions import Node  # noqa: E402
import rclpy  # noqa: E402
from rclpy.context import Context  # noqa: E402

pytestmark = pytest.mark.ros

LAUNCH = Path(__file__).resolve().parents[1] / 'launch'
FILES = ('lingbot_depth.launch.py', 'realsense.launch.py', 'orbbec.launch.py',
         'camera_common.launch.py', 'camera_completion.launch.py')
CAMERAS = [('realsense.launch.py', 'realsense', 'realsense2_camera', 'rs_launch.py'),
           ('orbbec.launch.py', 'orbbec', 'orbbec_camera', 'gemini_330_series.launch.py')]
# Stands in for a camera driver: one long-running process.
FAKE_DRIVER = """
from launch import LaunchDescription
from launch.actions import ExecuteProcess


def generate_launch_description():
    return LaunchDescription([ExecuteProcess(cmd=['sleep', '60'], name='fake_driver')])
"""


@pytest.fixture(autouse=True)
def restore_environ():
    """Undo the SetEnvironmentVariable actions an in-process launch applies to os.environ."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def load_module(name):
    """Import a launch file as a module."""
    spec = importlib.util.spec_from_file_location(name.replace('.', '_'), LAUNCH / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def installed(package):
    """Return True when ``package`` is in the ament index (False without an index)."""
    try:
        get_package_share_directory(package)
        return True
    except (PackageNotFoundError, OSError):  # OSError: AMENT_PREFIX_PATH is unset
        return False


def test_installed_is_false_without_an_ament_prefix_path(monkeypatch):
    monkeypatch.delenv('AMENT_PREFIX_PATH', raising=False)
    assert not installed('lingbot_depth_ros')


@pytest.mark.parametrize('name', FILES)
def test_launch_file_builds_its_description(name):
    description = load_module(name).generate_launch_description()
    assert isinstance(description, launch.LaunchDescription)
    names = {a.name for a in description.get_launch_arguments()}
    assert {'namespace', 'params_file', 'model', 'device', 'large_data_profile'} <= names


@pytest.mark.parametrize('name, package', [('realsense.launch.py', 'realsense2_camera'),
                                           ('orbbec.launch.py', 'orbbec_camera')])
def test_missing_driver_fails_naming_the_package(name, package):
    if installed(package):
        pytest.skip('%s is installed here' % package)
    context = launch.LaunchContext()
    context.launch_configurations.update(
        {'camera_namespace': 'camera', 'camera_name': 'camera',
         'orbbec_launch': 'gemini_330_series.launch.py'})
    with pytest.raises(RuntimeError, match="'%s' is not installed" % package):
        load_module(name).include_driver(context)


@pytest.mark.parametrize('name', ['realsense.launch.py', 'orbbec.launch.py'])
def test_camera_launch_without_camera_starts_the_node(name):
    if not installed('lingbot_depth_ros'):
        pytest.skip('lingbot_depth_ros is not installed in the ament index (colcon build)')
    namespace = 'launch_test_%s' % name.split('.')[0]
    service = launch.LaunchService()
    service.include_launch_description(launch.LaunchDescription([IncludeLaunchDescription(
        PythonLaunchDescriptionSource(str(LAUNCH / name)),
        launch_arguments={'launch_camera': 'false', 'record': 'false',
                          'namespace': namespace}.items())]))
    found = threading.Event()

    def observe():
        # launch needs the main thread (signal handlers, asyncio loop): watch from here.
        context = Context()
        rclpy.init(context=context)
        observer = rclpy.create_node('launch_observer', context=context)
        try:
            deadline = time.monotonic() + 60.0
            while time.monotonic() < deadline:
                if ('lingbot_depth', '/' + namespace) in \
                        observer.get_node_names_and_namespaces():
                    found.set()
                    break
                time.sleep(0.2)
        finally:
            observer.destroy_node()
            rclpy.try_shutdown(context=context)
            service.shutdown()

    watcher = threading.Thread(target=observe, daemon=True)
    watcher.start()
    service.run()
    watcher.join(timeout=30.0)
    assert found.is_set(), 'the node did not come up'


@pytest.mark.parametrize('name, preset, package, driver_launch', CAMERAS)
def test_camera_topics_default_to_the_preset(name, preset, package, driver_launch):
    """With the default driver arguments, the node and recorder get the preset's topics."""
    assert included_topics(name, {}) == TOPIC_PRESETS[preset]
    # Arguments given on the command line win over the driver's names.
    given = {'rgb_topic': '/my/rgb', 'depth_topic': '/my/depth', 'camera_info_topic': '/my/info'}
    assert included_topics(name, given) == TopicSet('/my/rgb', '/my/depth', '/my/info')


def included_topics(name, arguments):
    """Return the topics the node gets from a camera launch file with ``arguments``."""
    context = launch.LaunchContext()
    context.launch_configurations.update(arguments)

    def declare(description):
        for entity in description.entities:
            # params_file's default needs the package in the ament index; it is no topic.
            if isinstance(entity, DeclareLaunchArgument) and entity.name != 'params_file':
                entity.execute(context)

    def perform(value):
        return perform_substitutions(context, normalize_to_list_of_substitutions(value))
    description = load_module(name).generate_launch_description()
    declare(description)
    (common,) = [e for e in description.entities if isinstance(e, IncludeLaunchDescription)]
    # What the include does: its arguments become launch configurations, then the included
    # file's declarations run.
    context.launch_configurations.update(
        {perform(k): perform(v) for k, v in common.launch_arguments if k != 'params_file'})
    declare(load_module('camera_common.launch.py').generate_launch_description())
    given = context.launch_configurations
    return TopicSet(perform(given['rgb_topic']), perform(given['depth_topic']),
                    perform(given['camera_info_topic']))


def test_record_without_rosbag2_stops_with_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv('PATH', str(tmp_path))  # no ros2 command here
    common = load_module('camera_common.launch.py')
    assert not common.rosbag2_available()
    with pytest.raises(RuntimeError, match=r'record:=true needs rosbag2 \(ros2 bag\)'):
        common.record(launch.LaunchContext())


def test_recorded_topics_are_absolute():
    common = load_module('camera_common.launch.py')
    assert common.absolute('camera', 'depth_refined/image') == '/camera/depth_refined/image'
    assert common.absolute('/camera/', 'points') == '/camera/points'
    assert common.absolute('', 'points') == '/points'
    assert common.absolute('camera', '/camera/color/image_raw') == '/camera/color/image_raw'


@pytest.mark.parametrize('model, device, expected', [
    ('', '', {}),
    ('/m/model.pt', '', {'model': '/m/model.pt'}),
    ('', 'cuda:1', {'device': 'cuda:1'}),
])
def test_empty_model_and_device_keep_the_params_file(model, device, expected):
    context = launch.LaunchContext()
    context.launch_configurations.update({'model': model, 'device': device})
    assert load_module('lingbot_depth.launch.py').parameter_overrides(context) == expected


def test_cameras_argument_serves_several_cameras_in_one_process():
    context = launch.LaunchContext()
    context.launch_configurations.update({'model': '', 'device': '',
                                          'cameras': 'left, right'})
    overrides = load_module('lingbot_depth.launch.py').parameter_overrides(context)
    assert overrides == {'cameras': ['left', 'right']}


@pytest.mark.parametrize('large_data', ['true', 'false'])
@pytest.mark.parametrize('name, preset, package, driver_launch', CAMERAS)
def test_camera_launch_processes(name, preset, package, driver_launch, large_data, tmp_path,
                                 monkeypatch):
    """Driver, node and recorder get the large-data environment, or none of it; the topics."""
    if not installed('lingbot_depth_ros'):
        pytest.skip('lingbot_depth_ros is not installed in the ament index (colcon build)')
    share = tmp_path / 'share'
    (share / 'ament_index' / 'resource_index' / 'packages').mkdir(parents=True)
    (share / 'ament_index' / 'resource_index' / 'packages' / package).write_text('')
    (share / 'ament_index' / 'resource_index' / 'packages' / 'ros2bag').write_text('')
    (share / 'ros2bag').mkdir()
    (share / package / 'launch').mkdir(parents=True)
    (share / package / 'launch' / driver_launch).write_text(FAKE_DRIVER)
    # A ros2 that records nothing: the recorder's command and environment are what counts.
    (tmp_path / 'bin').mkdir()
    (tmp_path / 'bin' / 'ros2').write_text('#!/bin/sh\nexec sleep 60\n')
    (tmp_path / 'bin' / 'ros2').chmod(0o755)
    monkeypatch.setenv('AMENT_PREFIX_PATH',
                       os.pathsep.join([str(tmp_path), os.environ['AMENT_PREFIX_PATH']]))
    monkeypatch.setenv('PATH', os.pathsep.join([str(tmp_path / 'bin'), os.environ['PATH']]))
    for variable in large_data_environment(''):
        monkeypatch.delenv(variable, raising=False)
    started = {}

    def on_start(event, context):
        if isinstance(event.action, Node):
            started['node'] = event
        elif event.process_name.startswith('fake_driver'):
            started['driver'] = event
        else:
            started['recorder'] = event
        return [Shutdown(reason='all started')] if len(started) == 3 else None

    namespace = 'launch_env_%s_%s' % (preset, large_data)
    service = launch.LaunchService()
    service.include_launch_description(launch.LaunchDescription([
        RegisterEventHandler(OnProcessStart(on_start=on_start)),
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(str(LAUNCH / name)),
            launch_arguments={'record': 'true', 'large_data_profile': large_data,
                              'namespace': namespace}.items()),
        TimerAction(period=60.0, actions=[Shutdown(reason='timeout')]),
    ]))
    service.run()
    assert set(started) == {'driver', 'node', 'recorder'}
    profile = os.path.join(get_package_share_directory('lingbot_depth_ros'), 'config',
                           PROFILE_FILE)
    expected = large_data_environment(profile) if large_data == 'true' else {}
    for kind, event in started.items():
        given = {k: v for k, v in event.env.items() if k in large_data_environment('')}
        assert given == expected, kind
    topics = TOPIC_PRESETS[preset]
    assert {'rgb/image:=' + topics.rgb, 'depth/image:=' + topics.depth,
            'rgb/camera_info:=' + topics.info} <= set(started['node'].cmd)
    # Absolute names; the cloud (about 300 MB/s) only with record_points:=true.
    assert started['recorder'].cmd[1:] == [
        'bag', 'record', '-s', 'mcap', topics.rgb, topics.depth, topics.info,
        '/' + namespace + '/depth_refined/image', '/' + namespace + '/depth_refined/camera_info']


def test_rviz_is_an_opt_in_node_with_the_shipped_views():
    description = load_module('lingbot_depth.launch.py').generate_launch_description()
    rviz = [e for e in description.entities if isinstance(e, Node)
            and e.node_executable == 'rviz2']
    assert len(rviz) == 1
    context = launch.LaunchContext()
    context.launch_configurations['rviz'] = 'false'
    assert not rviz[0].condition.evaluate(context)
    context.launch_configurations['rviz'] = 'true'
    assert rviz[0].condition.evaluate(context)
    view = yaml.safe_load((LAUNCH.parent / 'rviz' / 'lingbot_depth.rviz').read_text())
    topics = {d['Topic']['Value'] for d in view['Visualization Manager']['Displays']
              if 'Topic' in d}
    assert {'/camera/depth_refined/image', '/camera/points',
            '/camera/points_filtered'} <= topics
    layout = json.loads((LAUNCH.parent / 'rviz' / 'lingbot_depth.foxglove.json').read_text())
    assert '/camera/points_filtered' in layout['configById']['3D!grasp']['topics']


@pytest.mark.parametrize('autostart', ['true', 'false'])
def test_lifecycle_option_runs_the_managed_node(autostart):
    module = load_module('lingbot_depth.launch.py')
    context = launch.LaunchContext()
    context.launch_configurations.update({'model': '', 'device': '', 'lifecycle': 'true',
                                          'autostart': autostart, 'namespace': '',
                                          'params_file': 'p.yaml', 'rgb_topic': 'a',
                                          'depth_topic': 'b', 'camera_info_topic': 'c',
                                          'log_level': 'info'})
    assert module.parameter_overrides(context) == {'autostart': autostart == 'true'}
    node = module.launch_node(context)[0]
    assert node.node_executable == 'depth_completion_lifecycle_node'
    context.launch_configurations['lifecycle'] = 'false'
    assert module.launch_node(context)[0].node_executable == 'depth_completion_node'
