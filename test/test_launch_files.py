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
from pathlib import Path
import threading
import time

import pytest

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
from launch.actions import IncludeLaunchDescription  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402
import rclpy  # noqa: E402
from rclpy.context import Context  # noqa: E402

pytestmark = pytest.mark.ros

LAUNCH = Path(__file__).resolve().parents[1] / 'launch'
FILES = ('lingbot_depth.launch.py', 'realsense.launch.py', 'orbbec.launch.py')


def load_module(name):
    """Import a launch file as a module."""
    spec = importlib.util.spec_from_file_location(name.replace('.', '_'), LAUNCH / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def installed(package):
    """Return True when ``package`` is in the ament index."""
    try:
        get_package_share_directory(package)
        return True
    except PackageNotFoundError:
        return False


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
    runner = threading.Thread(target=service.run, daemon=True)
    runner.start()
    context = Context()
    rclpy.init(context=context)
    observer = rclpy.create_node('launch_observer', context=context)
    try:
        deadline = time.monotonic() + 60.0
        found = False
        while not found and time.monotonic() < deadline:
            found = ('lingbot_depth', '/' + namespace) in \
                observer.get_node_names_and_namespaces()
            time.sleep(0.2)
        assert found, 'the node did not come up'
    finally:
        observer.destroy_node()
        rclpy.try_shutdown(context=context)
        service.shutdown()
        runner.join(timeout=30.0)
