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

import os
from pathlib import Path

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
