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

"""The node's executable: start-up failures exit non-zero with one clear line; Ctrl-C exits 0."""

import os
import signal
import subprocess
import sys
import time

from node_harness import unique_namespace
import pytest

pytestmark = pytest.mark.ros


def node_command(*ros_args):
    """Return the command line running the node's main() with ROS arguments."""
    return [sys.executable, '-m', 'lingbot_depth_ros.node.node', '--ros-args',
            '-r', '__ns:=' + unique_namespace(), *ros_args]


def error_lines(stderr):
    """Return the stderr lines logged at ERROR or FATAL level."""
    return [line for line in stderr.splitlines() if '[FATAL]' in line or '[ERROR]' in line]


def test_model_that_fails_to_load_exits_non_zero_with_one_line():
    result = subprocess.run(node_command('-p', 'model:=/nonexistent/lingbot/model.pt'),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    (line,) = error_lines(result.stderr)
    assert "cannot load model '/nonexistent/lingbot/model.pt'" in line
    assert 'Traceback' not in result.stderr


def test_invalid_parameter_exits_non_zero_naming_it():
    result = subprocess.run(node_command('-p', 'output_encoding:=mono8'),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    (line,) = error_lines(result.stderr)
    assert 'output_encoding: expected one of 32FC1, 16UC1' in line


def test_runs_until_interrupted_and_exits_zero():
    process = subprocess.Popen(node_command(), stderr=subprocess.PIPE)
    try:
        os.set_blocking(process.stderr.fileno(), False)
        seen = ''
        deadline = time.monotonic() + 60
        while 'backend classical ready' not in seen and time.monotonic() < deadline:
            seen += (process.stderr.read() or b'').decode(errors='replace')
            assert process.poll() is None, seen
            time.sleep(0.1)
        assert 'backend classical ready' in seen
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()


def test_ctrl_c_while_the_model_loads_exits_quietly():
    # Random ViT-L weights take seconds to build: long enough to interrupt the start-up.
    process = subprocess.Popen(node_command('-p', 'model:=random:vitl_moge2like',
                                            '-p', 'num_tokens:=64'),
                               stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(4.0)
        assert process.poll() is None, process.stderr.read()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 130
        stderr = process.stderr.read()
        assert 'Traceback' not in stderr and 'KeyboardInterrupt' not in stderr, stderr
        assert 'interrupted while starting' in stderr
    finally:
        if process.poll() is None:
            process.kill()
