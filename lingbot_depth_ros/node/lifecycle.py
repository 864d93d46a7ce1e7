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
The managed (lifecycle) variant of the depth completion node.

Transitions (REP-2002 / rclpy.lifecycle): configure loads and warms the backend;
activate creates the outputs, starts the worker and subscribes to the inputs; deactivate
stops them without unloading the model, so activation is quick again; cleanup frees the
model (and the GPU memory it held); shutdown does both. With ``autostart`` the node
configures and activates itself at start-up, for launches without a lifecycle manager.
"""

import gc
import sys

from lingbot_depth_ros.node.node import DepthCompletionNode, main, NODE_NAME
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.lifecycle import LifecycleNode, State, TransitionCallbackReturn


class LifecycleDepthCompletionNode(DepthCompletionNode, LifecycleNode):
    """DepthCompletionNode whose model and I/O follow the lifecycle transitions."""

    def __init__(self, **node_options):
        """
        Declare the parameters only; nothing is loaded or subscribed until configure.

        :param node_options: Passed to rclpy (parameter_overrides, namespace, ...).
        """
        # Skip DepthCompletionNode.__init__ (it would load and open at once).
        LifecycleNode.__init__(self, NODE_NAME, **node_options)
        self._init_state()
        self._active = False
        self._declare()
        self.declare_parameter('autostart', False, ParameterDescriptor(
            description='Configure and activate at start-up (no lifecycle manager).',
            read_only=True))
        if self.get_parameter('autostart').value:
            self._autostart = self.create_timer(0.0, self._start_once)

    def _start_once(self) -> None:
        self.destroy_timer(self._autostart)
        if self.trigger_configure() == TransitionCallbackReturn.SUCCESS:
            self.trigger_activate()

    @property
    def active(self) -> bool:
        """Return whether the node is in the active state."""
        return self._active

    def on_configure(self, state: State) -> TransitionCallbackReturn:
        """Load and warm up the backend."""
        try:
            self._load_backend()
        except Exception as error:  # noqa: B902 - a failed load is a failed transition
            self.get_logger().error('configure failed: %s' % str(error).splitlines()[0])
            self.backend = None
            return TransitionCallbackReturn.FAILURE
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        """Create the outputs, start the worker, subscribe to the inputs."""
        self._open()
        self._active = True
        return super().on_activate(state)

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        """Stop inputs, worker and outputs; keep the model loaded."""
        self._active = False
        self._close()
        return super().on_deactivate(state)

    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        """Free the model."""
        self._unload()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        """Stop everything and free the model."""
        if self._active:
            self._active = False
            self._close()
        self._unload()
        return TransitionCallbackReturn.SUCCESS

    def _unload(self) -> None:
        if self.backend is not None:
            self.backend.release_memory()
            self.backend = None
            gc.collect()  # drop the weights now, not at the next collection


def lifecycle_main(args=None) -> int:
    """Run the lifecycle node (entry point ``depth_completion_lifecycle_node``)."""
    return main(args, node_class=LifecycleDepthCompletionNode)


if __name__ == '__main__':
    sys.exit(lifecycle_main())
