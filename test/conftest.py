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

"""Shared test fixtures: the repository's test data and an isolated DDS domain per run."""

import atexit
import os
from pathlib import Path
import shutil
import sys
import tempfile

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The eight example captures (Apache-2.0, see data/examples/README.md) and the golden
# fixtures of the released network travel with the repository.
DATA = ROOT / 'test' / 'data'

# Keep this run's DDS traffic on this host and in a domain of its own, so parallel runs
# (two checkouts, CI beside a developer) never see each other's topics.
os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
os.environ.setdefault('RMW_IMPLEMENTATION', 'rmw_fastrtps_cpp')
os.environ.setdefault('ROS_DOMAIN_ID', str(1 + os.getpid() % 100))


def ament_prefix_for_checkout():
    """
    Make the package findable through the ament index, as ``colcon build`` would install it.

    A pip (editable) install registers nothing in the ament index, yet the launch files and
    their tests find the package's share directory and its executable through it. This makes
    a temporary prefix with the index marker, share/lingbot_depth_ros/{launch, config,
    package.xml} linked to this checkout and lib/lingbot_depth_ros/depth_completion_node
    running this interpreter, and puts it first on AMENT_PREFIX_PATH. Nothing is done where
    the package is already indexed (a sourced colcon workspace).

    :return: the prefix, or None when none was needed.
    """
    try:
        from ament_index_python.packages import get_package_share_directory
        get_package_share_directory('lingbot_depth_ros')
        return None
    except ImportError:
        return None  # no ament_index_python: nothing reads the index
    except (LookupError, OSError, ValueError):
        pass  # not indexed, or AMENT_PREFIX_PATH unset
    prefix = Path(tempfile.mkdtemp(prefix='lingbot_depth_ament_'))
    atexit.register(shutil.rmtree, prefix, True)
    index = prefix / 'share' / 'ament_index' / 'resource_index' / 'packages'
    index.mkdir(parents=True)
    (index / 'lingbot_depth_ros').write_text('')
    share = prefix / 'share' / 'lingbot_depth_ros'
    for name in ('launch', 'config', 'package.xml'):
        (share / name).parent.mkdir(parents=True, exist_ok=True)
        (share / name).symlink_to(ROOT / name)
    lib = prefix / 'lib' / 'lingbot_depth_ros'
    lib.mkdir(parents=True)
    node = lib / 'depth_completion_node'
    node.write_text('#!/bin/sh\nexec "%s" -m lingbot_depth_ros.node.node "$@"\n'
                    % sys.executable)
    node.chmod(0o755)
    previous = os.environ.get('AMENT_PREFIX_PATH')
    os.environ['AMENT_PREFIX_PATH'] = os.pathsep.join(filter(None, [str(prefix), previous]))
    return prefix


AMENT_PREFIX = ament_prefix_for_checkout()


@pytest.fixture(scope='session')
def golden_dir():
    """Return test/data/golden: fixtures recorded from the released network."""
    return _data('golden')


@pytest.fixture(scope='session')
def examples_dir():
    """Return test/data/examples (eight real 640x480 RGB-D captures)."""
    return _data('examples')


def _data(name):
    folder = DATA / name
    if not folder.is_dir():
        raise FileNotFoundError(f'{folder}: the test data is part of the repository; '
                                'is this a partial checkout?')
    return folder


# Size and token budget of the exported tiny network shared by the backend and node tests.
TINY_EXPORT = (120, 160, 300)


@pytest.fixture(scope='session')
def tiny_onnx(tmp_path_factory):
    """Return the path of the tiny random-weight network exported as ONNX (120x160, 300)."""
    pytest.importorskip('onnxruntime', reason='the onnx extra is not installed')
    from lingbot_depth_ros.model import build_random_model
    from lingbot_depth_ros.model.export import export_onnx, FrameShape
    path = tmp_path_factory.mktemp('tiny_onnx') / 'tiny.onnx'
    export_onnx(build_random_model('tiny'), path, FrameShape(*TINY_EXPORT))
    return path
