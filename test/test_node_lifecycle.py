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

"""The lifecycle node over real rclpy: each transition does what it says."""

from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetState
from lingbot_depth_ros.node.lifecycle import LifecycleDepthCompletionNode
from node_harness import examples_fixture, ros_context_fixture  # noqa: F401
from node_harness import frame_msgs, Spinner, unique_namespace, wait_until
from node_harness import Tester as CameraSide
from rclpy.parameter import Parameter

S = 10 ** 9


def call(tester, client, request):
    assert client.wait_for_service(timeout_sec=10.0)
    future = client.call_async(request)
    assert wait_until(future.done, timeout=60.0)
    return future.result()


def test_transitions_load_open_close_and_free(ros_context, examples):
    namespace = unique_namespace()
    node = LifecycleDepthCompletionNode(namespace=namespace, context=ros_context,
                                        parameter_overrides=[Parameter('always_process',
                                                                       value=True)])
    tester = CameraSide(ros_context, namespace)
    spinner = Spinner(ros_context, node, tester.node)
    name = namespace + '/lingbot_depth'
    change = tester.node.create_client(ChangeState, name + '/change_state')
    get = tester.node.create_client(GetState, name + '/get_state')

    def state():
        return call(tester, get, GetState.Request()).current_state.label
    try:
        assert state() == 'unconfigured'
        assert node.backend is None and node.count_publishers(namespace + '/points') == 0
        # configure: the model is loaded, nothing is published or subscribed yet.
        request = ChangeState.Request(transition=Transition(id=Transition.TRANSITION_CONFIGURE))
        assert call(tester, change, request).success
        assert node.backend is not None and node.backend.name == 'classical'
        assert node.count_subscribers(namespace + '/rgb/image') == 0
        # activate: frames go through.
        request = ChangeState.Request(transition=Transition(id=Transition.TRANSITION_ACTIVATE))
        assert call(tester, change, request).success
        assert wait_until(lambda: tester.connected(node))
        rgb, depth_mm, K = examples[0]
        tester.publish(*frame_msgs(rgb, depth_mm, K, 7 * S), node=node)
        assert wait_until(lambda: tester.count('depth') == 1)
        # deactivate: no inputs or outputs, the model stays.
        backend = node.backend
        node.trigger_deactivate()
        assert state() == 'inactive'
        assert wait_until(lambda: node.count_subscribers(namespace + '/rgb/image') == 0
                          and node.count_publishers(namespace + '/depth_refined/image') == 0)
        assert node.backend is backend
        # activate again: quick, same model, frames flow again.
        node.trigger_activate()
        assert state() == 'active'
        assert wait_until(lambda: tester.connected(node))
        tester.publish(*frame_msgs(rgb, depth_mm, K, 8 * S), node=node)
        assert wait_until(lambda: tester.count('depth') == 2)
        assert tester.outputs('depth')[1].header.stamp.sec == 8
        # deactivate + cleanup frees the model.
        node.trigger_deactivate()
        node.trigger_cleanup()
        assert state() == 'unconfigured' and node.backend is None
    finally:
        spinner.stop()
        node.destroy_node()
        tester.destroy()


def test_autostart_configures_and_activates(ros_context):
    node = LifecycleDepthCompletionNode(namespace=unique_namespace(), context=ros_context,
                                        parameter_overrides=[Parameter('autostart',
                                                                       value=True)])
    spinner = Spinner(ros_context, node)
    try:
        assert wait_until(lambda: node.active, timeout=30.0)
        assert node.backend is not None
    finally:
        spinner.stop()
        node.destroy_node()


def test_failed_configure_stays_unconfigured(ros_context):
    node = LifecycleDepthCompletionNode(
        namespace=unique_namespace(), context=ros_context,
        parameter_overrides=[Parameter('model', value='/nonexistent/model.pt')])
    try:
        node.trigger_configure()
        assert not node.active and node.backend is None
    finally:
        node.destroy_node()
