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
Running a depth completion node (or a variant) as a process: start-up errors, spinning.

The node and the nodes of its cameras (``cameras``: one node per camera namespace) spin
in one executor; a node that cannot start exits with one fatal line.
"""

from typing import Optional

from lingbot_depth_ros.node.pipeline import ModelLoadError
import rclpy
from rclpy.exceptions import InvalidParameterValueException
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor

# Exit code after Ctrl-C during start-up (128 + SIGINT, as a shell reports it).
EXIT_INTERRUPTED = 130


def run_node(args: Optional[list], node_class, name: str, start_errors: tuple = ()) -> int:
    """
    Create a node and spin it (and its camera nodes) until shutdown.

    :param args: Command line (ROS arguments), default sys.argv.
    :param node_class: The node class, constructed without arguments.
    :param name: The node's name, for the start-up error line.
    :param start_errors: Further exception types that mean the node could not start.
    :return: Exit code: 0 after a normal shutdown, 1 when the node could not start, 130
        when interrupted while starting (loading the model).
    """
    rclpy.init(args=args)
    try:
        node = node_class()
    except (ModelLoadError, InvalidParameterValueException) + tuple(start_errors) as error:
        rclpy.logging.get_logger(name).fatal(str(error).splitlines()[0])
        rclpy.try_shutdown()
        return 1
    except KeyboardInterrupt:
        rclpy.logging.get_logger(name).info('interrupted while starting')
        rclpy.try_shutdown()
        return EXIT_INTERRUPTED
    executor = SingleThreadedExecutor()
    try:
        executor.add_node(node)
        # Camera nodes made before spinning; those made later (a lifecycle node's
        # activate) add themselves to node.executor.
        for child in node.child_nodes():
            executor.add_node(child)
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        executor.shutdown(timeout_sec=1.0)
        rclpy.try_shutdown()
    return 0
