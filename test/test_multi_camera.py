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

"""Several cameras, one model: batched completion and one process serving two cameras."""

import signal
import subprocess
import sys
import threading
import time

import cv2
from lingbot_depth_ros.node.multi_camera import BatchMailbox
from lingbot_depth_ros.node.params import check_cameras
from lingbot_depth_ros.sync import MatchedFrame
from node_harness import examples_fixture, ros_context_fixture  # noqa: F401
from node_harness import frame_msgs, qos_profile, Spinner, unique_namespace, wait_until
from node_harness import Tester as Consumer
import numpy as np
import pytest
import rclpy
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.parameter import Parameter
from sensor_msgs.msg import CameraInfo, Image

S = 10 ** 9
CAMERAS = ('left', 'right')


def small_frame(rgb, depth_mm, K, width=160, height=120):
    """Return the frame at a smaller size, so that the CPU forward stays short."""
    K = K.copy()
    K[:2] *= width / rgb.shape[1]
    return (cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA),
            cv2.resize(depth_mm, (width, height), interpolation=cv2.INTER_NEAREST), K)


@pytest.fixture(scope='module', name='tiny_backend')
def tiny_backend_fixture():
    pytest.importorskip('torch')
    from lingbot_depth_ros.backends.network import NetworkBackend
    return NetworkBackend('random:tiny', device='cpu', resolution_level=0, warmup=False)


def test_batched_completion_equals_each_frame_alone(tiny_backend, examples):
    frames = []
    for index, (rgb, depth_mm, K) in enumerate(examples):
        rgb, depth_mm, K = small_frame(rgb, depth_mm, K)
        depth = depth_mm.astype(np.float32) / 1000.0
        # Different hole patterns give different depth-token counts in one batch; the
        # third frame is monocular (no depth at all).
        depth[: 20 * index] = 0.0
        frames.append((rgb, None if index == 2 else depth, K))
    alone = [tiny_backend.complete(*frame) for frame in frames]
    batched = tiny_backend.complete_batch(frames)
    assert len({r.timings['forward'] for r in batched}) == 1  # one forward for the three
    for one, many in zip(alone, batched):
        np.testing.assert_allclose(many.confidence, one.confidence, atol=1e-5)
        decided = np.abs(one.confidence - tiny_backend.min_confidence) > 1e-4
        np.testing.assert_array_equal(np.isnan(many.depth)[decided],
                                      np.isnan(one.depth)[decided])
        both = np.isfinite(many.depth) & np.isfinite(one.depth)
        np.testing.assert_allclose(many.depth[both], one.depth[both], rtol=1e-4)
        np.testing.assert_array_equal(many.valid_input, one.valid_input)


def test_frames_of_different_sizes_run_one_after_another(tiny_backend, examples):
    rgb, depth_mm, K = examples[0]
    frames = [small_frame(rgb, depth_mm, K), small_frame(rgb, depth_mm, K, 80, 60)]
    frames = [(c, d.astype(np.float32) / 1000.0, k) for c, d, k in frames]
    results = tiny_backend.complete_batch(frames)
    assert [r.depth.shape for r in results] == [(120, 160), (60, 80)]
    for result, frame in zip(results, frames):
        np.testing.assert_allclose(result.depth, tiny_backend.complete(*frame).depth,
                                   rtol=1e-5, equal_nan=True)


def test_batch_mailbox_keeps_the_newest_per_camera():
    mailbox = BatchMailbox()
    assert not mailbox.put('left', 1)
    assert mailbox.put('left', 2)  # superseded
    assert not mailbox.put('right', 3)
    assert mailbox.take_all() == [('left', 2), ('right', 3)]
    assert mailbox.take_all(timeout=0.01) == []
    taken = []
    worker = threading.Thread(target=lambda: taken.append(mailbox.take_all()))
    worker.start()
    time.sleep(0.05)
    mailbox.close()
    worker.join(timeout=5.0)
    assert taken == [None]


def test_cameras_parameter_is_checked():
    check_cameras([''])
    check_cameras(['left', 'right', 'arm/wrist'])
    for bad in ([], ['left', 'left'], ['', 'right'], ['/abs'], ['1st'], ['a b']):
        with pytest.raises(ValueError, match='cameras: expected'):
            check_cameras(bad)


class TwoCameras:
    """A node serving two cameras, a tester per camera namespace, spinning."""

    def __init__(self, context, **parameters):
        from lingbot_depth_ros.node.node import DepthCompletionNode
        self.namespace = unique_namespace()
        parameters['cameras'] = list(CAMERAS)
        self.node = DepthCompletionNode(
            namespace=self.namespace, context=context,
            parameter_overrides=[Parameter(k, value=v) for k, v in parameters.items()])
        self.channels = self.node.child_nodes()
        self.testers = [Consumer(context, self.namespace + '/' + camera) for camera in CAMERAS]
        self.spinner = Spinner(context, self.node, *self.channels,
                               *(t.node for t in self.testers))
        pairs = list(zip(self.testers, self.channels))
        if not wait_until(lambda: all(t.connected(c) for t, c in pairs)):
            self.destroy()
            raise AssertionError('camera nodes and testers did not discover each other')

    def destroy(self):
        self.spinner.stop()
        self.node.destroy_node()
        for tester in self.testers:
            tester.destroy()


@pytest.fixture(name='two_cameras')
def two_cameras_fixture(ros_context):
    rigs = []

    def make(**parameters):
        rigs.append(TwoCameras(ros_context, **parameters))
        return rigs[-1]

    yield make
    for rig in rigs:
        rig.destroy()


def test_one_process_serves_two_cameras_over_dds(two_cameras, examples):
    rig = two_cameras(num_threads=2)
    assert [c.get_fully_qualified_name() for c in rig.channels] == [
        rig.namespace + '/left/lingbot_depth', rig.namespace + '/right/lingbot_depth']
    assert all(c.backend is rig.node.backend for c in rig.channels)
    for i in range(3):
        for camera, tester, (rgb, depth_mm, K) in zip(CAMERAS, rig.testers, examples):
            stamp = (100_000 + 10 * i + CAMERAS.index(camera)) * S
            tester.publish(*frame_msgs(rgb, depth_mm, K, stamp, frame_id=camera + '_optical'))
        assert wait_until(lambda: all(t.count('cloud') == i + 1 for t in rig.testers),
                          timeout=30.0)
    for index, (camera, tester) in enumerate(zip(CAMERAS, rig.testers)):
        for kind in ('depth', 'info', 'cloud'):
            msgs = tester.outputs(kind)
            assert [m.header.stamp.sec for m in msgs] == [100_000 + 10 * i + index
                                                          for i in range(3)]
            assert {m.header.frame_id for m in msgs} == {camera + '_optical'}
        depth = np.frombuffer(bytes(tester.outputs('depth')[0].data), np.float32)
        sensor = examples[index][1].astype(np.float32).ravel() / 1000.0
        measured = sensor > 0
        np.testing.assert_allclose(depth[measured], sensor[measured], rtol=1e-6)  # kept
    # A runtime change on the main node reaches every camera's node.
    assert rig.node.set_parameters([Parameter('cloud_decimation', value=2)])[0].successful
    assert [c.config.cloud_decimation for c in rig.channels] == [2, 2]
    statuses = {}
    for tester in rig.testers:
        assert wait_until(lambda: tester.count('diagnostics') > 0, timeout=5.0)
        status = tester.outputs('diagnostics')[-1]
        statuses[status.name] = {kv.key: kv.value for kv in status.values}
    assert sorted(statuses) == ['%s/%s/lingbot_depth: depth completion'
                                % (rig.namespace.strip('/'), c) for c in CAMERAS]
    for values in statuses.values():  # three rounds of two cameras: one or two per batch
        sizes = dict(item.split('x') for item in values['batches'].split())
        assert sum(int(size) * int(n) for size, n in sizes.items()) == 6


def test_frames_of_two_cameras_complete_in_one_batch(two_cameras, examples, tiny_backend):
    rig = two_cameras(model='random:tiny', device='cpu', resolution_level=0,
                      warmup_sizes='', num_threads=2, min_confidence=0.0)
    group = rig.node._cameras
    items = []
    for index, (camera, channel) in enumerate(zip(CAMERAS, rig.channels)):
        rgb, depth_mm, K = small_frame(*examples[index])
        rgb_msg, depth_msg, info = frame_msgs(rgb, depth_mm, K, (200_000 + index) * S,
                                              frame_id=camera + '_optical')
        items.append((channel, MatchedFrame(rgb_msg, depth_msg, info, (200_000 + index) * S,
                                            time.monotonic_ns())))
    assert group.process(items) == 2
    assert group.batches == {2: 1}
    tiny_backend.min_confidence = 0.0
    for index, tester in enumerate(rig.testers):
        assert wait_until(lambda: tester.count('depth') == 1, timeout=10.0)
        msg = tester.outputs('depth')[0]
        assert msg.header.stamp.sec == 200_000 + index
        assert msg.header.frame_id == CAMERAS[index] + '_optical'
        rgb, depth_mm, K = small_frame(*examples[index])
        alone = tiny_backend.complete(rgb, depth_mm.astype(np.float32) / 1000.0, K).depth
        depth = np.frombuffer(bytes(msg.data), np.float32).reshape(120, 160)
        np.testing.assert_allclose(depth, alone, rtol=1e-4)


def test_lifecycle_node_opens_and_closes_its_cameras(ros_context, examples):
    from lingbot_depth_ros.node.lifecycle import LifecycleDepthCompletionNode
    namespace = unique_namespace()
    node = LifecycleDepthCompletionNode(
        namespace=namespace, context=ros_context,
        parameter_overrides=[Parameter('cameras', value=list(CAMERAS)),
                             Parameter('use_sim_time', value=True)])
    testers = [Consumer(ros_context, namespace + '/' + camera) for camera in CAMERAS]
    spinner = Spinner(ros_context, node, *(t.node for t in testers))
    try:
        assert node.child_nodes() == []
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        channels = node.child_nodes()
        assert [c.get_namespace() for c in channels] == [namespace + '/' + c for c in CAMERAS]
        assert all(c.get_parameter('use_sim_time').value for c in channels)  # the main clock
        # The camera nodes were added to the spinning executor: frames go through.
        assert wait_until(lambda: all(t.connected(c) for t, c in zip(testers, channels)))
        rgb, depth_mm, K = examples[0]
        for index, tester in enumerate(testers):
            tester.publish(*frame_msgs(rgb, depth_mm, K, (300_000 + index) * S))
        assert wait_until(lambda: all(t.count('depth') == 1 for t in testers), timeout=30.0)
        assert node.trigger_deactivate() == TransitionCallbackReturn.SUCCESS
        assert node.child_nodes() == [] and node.backend is not None
        assert wait_until(lambda: testers[0].subs[0].get_publisher_count() == 0)
    finally:
        spinner.stop()
        node.destroy_node()
        for tester in testers:
            tester.destroy()


def test_the_executable_serves_cameras_with_process_remaps(ros_context, examples, tmp_path):
    """depth_completion_node with cameras in its own process; one input remapped by -r."""
    namespace = unique_namespace()
    command = [sys.executable, '-m', 'lingbot_depth_ros.node.node', '--ros-args',
               '-r', '__ns:=' + namespace, '-p', 'cameras:=[left, right]',
               '-r', 'left/rgb/image:=%s/left_colour' % namespace]
    log = (tmp_path / 'node.log').open('wb')
    process = subprocess.Popen(command, stdout=log, stderr=log)
    node = rclpy.create_node('camera_side', context=ros_context)
    inputs = {camera: [node.create_publisher(
        msg_type, topic % (namespace, camera), qos_profile('reliable'))
        for msg_type, topic in ((Image, '%s/%s/rgb/image'), (Image, '%s/%s/depth/image'),
                                (CameraInfo, '%s/%s/rgb/camera_info'))] for camera in CAMERAS}
    inputs['left'][0] = node.create_publisher(Image, namespace + '/left_colour',
                                              qos_profile('reliable'))
    received = {camera: [] for camera in CAMERAS}
    outputs = [node.create_subscription(
        Image, '%s/%s/depth_refined/image' % (namespace, camera), received[camera].append,
        qos_profile('reliable')) for camera in CAMERAS]
    spinner = Spinner(ros_context, node)
    try:
        assert wait_until(lambda: all(s.get_publisher_count() for s in outputs) and all(
            p.get_subscription_count() for pubs in inputs.values() for p in pubs),
            timeout=60.0), (tmp_path / 'node.log').read_text()
        rgb, depth_mm, K = examples[0]
        for _ in range(30):  # the node subscribes reliable once it sees our publishers
            for index, camera in enumerate(CAMERAS):
                msgs = frame_msgs(rgb, depth_mm, K, (400_000 + index) * S, camera + '_optical')
                inputs[camera][2].publish(msgs[2])
                inputs[camera][0].publish(msgs[0])
                inputs[camera][1].publish(msgs[1])
            if wait_until(lambda: all(received.values()), timeout=1.0):
                break
        for index, camera in enumerate(CAMERAS):
            header = received[camera][0].header
            assert header.stamp.sec == 400_000 + index
            assert header.frame_id == camera + '_optical'
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        spinner.stop()
        node.destroy_node()
        if process.poll() is None:
            process.kill()
        log.close()


def test_the_camera_node_refuses_cameras(ros_context):
    from lingbot_depth_ros.node.camera_node import CameraCompletionNode

    class NeverOpened:
        closed = False

        def close(self):
            self.closed = True

    source = NeverOpened()
    with pytest.raises(ValueError, match='cameras: the camera node serves the one camera'):
        CameraCompletionNode(source=source, namespace=unique_namespace(), context=ros_context,
                             parameter_overrides=[Parameter('cameras', value=['a', 'b'])])
    assert source.closed
