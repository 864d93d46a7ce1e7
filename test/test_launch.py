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
Static checks of the launch files (they run without the ROS 2 launch packages).

Parsed with ``ast``: declared arguments, every LaunchConfiguration declared, the config files
and launch files they name exist, the Fast DDS environment, the driver arguments, recording.
A camera launch file is checked together with camera_common.launch.py, which it includes.
test_launch_files.py and test_launch_node.py run them for real where launch is installed.
"""

import ast
from pathlib import Path

from lingbot_depth_ros.messages.transport import large_data_environment, PROFILE_FILE
import pytest

ROOT = Path(__file__).resolve().parents[1]
LAUNCH = ROOT / 'launch'
COMMON_ARGS = {'namespace', 'params_file', 'model', 'device', 'large_data_profile'}
REQUIRED_ARGS = {
    'lingbot_depth.launch.py': COMMON_ARGS | {'rgb_topic', 'depth_topic', 'camera_info_topic'},
    'realsense.launch.py': COMMON_ARGS | {'launch_camera', 'record'},
    'orbbec.launch.py': COMMON_ARGS | {'launch_camera', 'record', 'orbbec_launch'},
    'camera_completion.launch.py': COMMON_ARGS | {'camera', 'serial', 'profile', 'publish_raw'},
}
CAMERA_COMMON = 'camera_common.launch.py'
CAMERA_FILES = ('realsense.launch.py', 'orbbec.launch.py')


def calls(tree, name):
    """Return every call of a function or class called ``name`` in ``tree``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.id if isinstance(func, ast.Name) else getattr(func, 'attr', None)
            if called == name:
                found.append(node)
    return found


def first_string(call):
    """Return the first positional argument of ``call`` when it is a string literal."""
    if call.args and isinstance(call.args[0], ast.Constant):
        return call.args[0].value
    return None


def keyword(call, name):
    """Return the keyword argument ``name`` of ``call`` (an ast node) or None."""
    return next((k.value for k in call.keywords if k.arg == name), None)


def string_dicts(tree):
    """Return every dict literal with string keys and string values as a Python dict."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict) and node.keys and all(
                isinstance(k, ast.Constant) for k in node.keys):
            found.append({k.value: v.value if isinstance(v, ast.Constant) else None
                          for k, v in zip(node.keys, node.values)})
    return found


def parse(name):
    """Return the ast tree of launch/``name``."""
    path = LAUNCH / name
    return ast.parse(path.read_text(), filename=str(path))


@pytest.fixture(scope='module', params=sorted(REQUIRED_ARGS))
def launch_file(request):
    """Yield (name, ast trees): the launch file's, then camera_common's for a camera file."""
    parts = [request.param] + ([CAMERA_COMMON] if request.param in CAMERA_FILES else [])
    return request.param, [parse(part) for part in parts]


def test_defines_generate_launch_description(launch_file):
    _, trees = launch_file
    for tree in trees:
        functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        assert 'generate_launch_description' in functions


def test_declares_the_required_arguments(launch_file):
    name, trees = launch_file
    declared = set()
    for tree in trees:
        in_file = [first_string(c) for c in calls(tree, 'DeclareLaunchArgument')]
        assert len(in_file) == len(set(in_file)), 'an argument is declared twice'
        declared.update(in_file)
    assert REQUIRED_ARGS[name] <= declared


def test_every_launch_configuration_is_declared(launch_file):
    _, trees = launch_file
    for tree in trees:
        declared = {first_string(c) for c in calls(tree, 'DeclareLaunchArgument')}
        used = {first_string(c) for c in calls(tree, 'LaunchConfiguration')}
        assert used - declared == set()


def test_named_config_and_launch_files_exist(launch_file):
    _, trees = launch_file
    named = [n.value for tree in trees for n in ast.walk(tree) if isinstance(n, ast.Constant)
             and isinstance(n.value, str) and n.value.endswith(('.yaml', '.xml', '.launch.py'))]
    for value in named:
        if value.endswith('.launch.py') and value != 'gemini_330_series.launch.py':
            assert (LAUNCH / value).is_file(), value
        elif not value.endswith('.launch.py'):
            assert (ROOT / 'config' / value).is_file(), value
    assert any(v.endswith('.yaml') for v in named), 'no parameter file named'


def test_large_data_environment_can_be_turned_off(launch_file):
    """Each launch file sets messages.transport's variables, each under a condition."""
    _, trees = launch_file
    setting = [tree for tree in trees if calls(tree, 'SetEnvironmentVariable')]
    assert setting
    for tree in setting:
        assert all(keyword(c, 'condition') is not None
                   for c in calls(tree, 'SetEnvironmentVariable'))
        assert len(calls(tree, 'large_data_environment')) == 1
        paths = [c.args[0].elts[-2:] for c in calls(tree, 'PathJoinSubstitution')]
        assert any(isinstance(name, ast.Name) and name.id == 'PROFILE_FILE'
                   and folder.value == 'config' for folder, name in paths)
    assert (ROOT / 'config' / PROFILE_FILE).is_file()


@pytest.mark.parametrize('name, package, driver_args', [
    ('realsense.launch.py', 'realsense2_camera',
     {'align_depth.enable': 'true', 'enable_sync': 'true'}),
    ('orbbec.launch.py', 'orbbec_camera', {'depth_registration': 'true'}),
])
def test_camera_driver_include_and_recording(name, package, driver_args):
    source = (LAUNCH / name).read_text()
    tree = ast.parse(source)
    common = parse(CAMERA_COMMON)
    assert any(driver_args.items() <= d.items() for d in string_dicts(tree))
    constants = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}
    assert package in constants
    # The include is conditional on launch_camera and fails naming the package to install.
    opaque = calls(tree, 'OpaqueFunction')
    assert len(opaque) == 1 and keyword(opaque[0], 'condition') is not None
    assert 'PackageNotFoundError' in source and 'not installed' in source
    # camera_common comes before the driver, so that its environment reaches the driver.
    (description,) = calls(tree, 'LaunchDescription')
    order = [c.func.id for c in description.args[0].elts if isinstance(c, ast.Call)]
    assert order.index('IncludeLaunchDescription') < order.index('OpaqueFunction')
    assert CAMERA_COMMON in constants
    (record,) = calls(common, 'ExecuteProcess')
    cmd = keyword(record, 'cmd')
    cmd = cmd.left if isinstance(cmd, ast.BinOp) else cmd  # the fixed part + the topics
    command = [e.value for e in cmd.elts if isinstance(e, ast.Constant)]
    assert command == ['ros2', 'bag', 'record', '-s', 'mcap']
    # The recorder is made at launch time, only with record:=true.
    (recorder,) = [c for c in calls(common, 'OpaqueFunction')
                   if keyword(c, 'function').id == 'record']
    assert keyword(recorder, 'condition') is not None
    # The node comes from lingbot_depth.launch.py, with this camera's preset.
    assert 'lingbot_depth.launch.py' in {n.value for n in ast.walk(common)
                                         if isinstance(n, ast.Constant)}
    assert name.replace('.launch.py', '.yaml') in constants


def test_orbbec_default_launch_file():
    tree = ast.parse((LAUNCH / 'orbbec.launch.py').read_text())
    (argument,) = [c for c in calls(tree, 'DeclareLaunchArgument')
                   if first_string(c) == 'orbbec_launch']
    assert keyword(argument, 'default_value').value == 'gemini_330_series.launch.py'


def test_node_launch_runs_the_installed_executable():
    tree = ast.parse((LAUNCH / 'lingbot_depth.launch.py').read_text())
    (node,) = [c for c in calls(tree, 'Node') if keyword(c, 'name').value == 'lingbot_depth']
    # depth_completion_node, or the lifecycle variant with lifecycle:=true.
    executable = keyword(node, 'executable')
    assert (executable.body.value, executable.orelse.value) == (
        'depth_completion_lifecycle_node', 'depth_completion_node')
    remapped = {e.elts[0].value for e in keyword(node, 'remappings').elts}
    assert remapped == {'rgb/image', 'depth/image', 'rgb/camera_info'}
    setup = (ROOT / 'setup.py').read_text()
    assert "'depth_completion_node = lingbot_depth_ros.node.node:main'" in setup
    assert ("'depth_completion_lifecycle_node = lingbot_depth_ros.node.lifecycle:"
            "lifecycle_main'") in setup
    assert "glob('launch/*.launch.py')" in setup and "glob('config/*.xml')" in setup


@pytest.mark.parametrize('distro, legacy', [('humble', True), ('jazzy', True),
                                            ('kilted', False), ('', False)])
def test_fast_dds_profile_variable_follows_the_distro(distro, legacy):
    environment = large_data_environment('/p.xml', distro)
    assert environment['FASTDDS_DEFAULT_PROFILES_FILE'] == '/p.xml'
    # Fast DDS 3 warns in every process about the old name: set it only where it is read.
    assert ('FASTRTPS_DEFAULT_PROFILES_FILE' in environment) == legacy
