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
launch_testing of lingbot_depth.launch.py: the node starts, publishes /diagnostics, exits 0.

Skipped where launch_testing is not installed (a pip-only environment).
"""

from pathlib import Path
import unittest

import pytest

launch_testing = pytest.importorskip(
    'launch_testing', reason='launch_testing is not installed (pip-only ROS); '
    'test_launch.py checks the launch files statically')
pytest.importorskip('launch_ros', reason='launch_ros is not installed (pip-only ROS)')

from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402, I100
from launch import LaunchDescription  # noqa: E402
from launch.actions import IncludeLaunchDescription  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402
import launch_testing.actions  # noqa: E402
import launch_testing.asserts  # noqa: E402
import rclpy  # noqa: E402

LAUNCH = Path(__file__).resolve().parents[1] / 'launch'
NAMESPACE = 'launch_testing_lingbot'


@pytest.mark.launch_test
def generate_test_description():
    """Launch the node alone (classical backend) in a namespace of its own."""
    return LaunchDescription([
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(str(LAUNCH / 'lingbot_depth.launch.py')),
            launch_arguments={'namespace': NAMESPACE}.items()),
        launch_testing.actions.ReadyToTest(),
    ])


class TestNodeStarts(unittest.TestCase):
    """While the launch runs."""

    def test_backend_ready_and_diagnostics(self, proc_output):
        """The node logs its backend and publishes its DiagnosticStatus."""
        proc_output.assertWaitFor('backend classical ready', timeout=60.0, stream='stderr')
        rclpy.init()
        node = rclpy.create_node('launch_testing_observer')
        received = []
        node.create_subscription(
            DiagnosticArray, '/diagnostics',
            lambda msg: received.extend(s for s in msg.status if s.name.startswith(NAMESPACE)),
            10)
        try:
            for _ in range(100):
                rclpy.spin_once(node, timeout_sec=0.1)
                if received:
                    break
            self.assertTrue(received, 'no /diagnostics from the launched node')
        finally:
            node.destroy_node()
            rclpy.shutdown()


@launch_testing.post_shutdown_test()
class TestNodeExits(unittest.TestCase):
    """After the launch is shut down."""

    def test_exit_code(self, proc_info):
        """The node exits cleanly on SIGINT."""
        launch_testing.asserts.assertExitCodes(proc_info)
