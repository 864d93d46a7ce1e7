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

"""Shared test fixtures: paths to ../shared and an isolated DDS domain per test run."""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / 'shared'

# Keep this run's DDS traffic on this host and in a domain of its own, so parallel runs
# (two checkouts, CI beside a developer) never see each other's topics.
os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
os.environ.setdefault('RMW_IMPLEMENTATION', 'rmw_fastrtps_cpp')
os.environ.setdefault('ROS_DOMAIN_ID', str(1 + os.getpid() % 100))


@pytest.fixture(scope='session')
def shared_dir():
    """Return ../shared beside the repo root, skipping when it is absent."""
    if not SHARED.is_dir():
        pytest.skip('../shared is not beside the repository root')
    return SHARED


@pytest.fixture(scope='session')
def golden_dir(shared_dir):
    """Return ../shared/golden."""
    return shared_dir / 'golden'


@pytest.fixture(scope='session')
def examples_dir(shared_dir):
    """Return ../shared/examples (eight real 640x480 RGB-D captures)."""
    return shared_dir / 'examples'
