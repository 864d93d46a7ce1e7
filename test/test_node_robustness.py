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
The node never dies on a message: each bad input is dropped or handled, counted, and warned.

One node serves the module; every test sends its bad frame, checks what happened, then sends
a good frame and checks that the node still publishes.
"""

import itertools
import time

import cv2
from diagnostic_msgs.msg import DiagnosticStatus
from lingbot_depth_ros.backends.base import OutOfMemory
from node_harness import camera_info_msg, frame_msgs, image_msg, NodeRig, wait_until
from node_harness import examples_fixture, make_node_fixture, ros_context_fixture  # noqa: F401
import numpy as np
import pytest

pytestmark = pytest.mark.ros

S = 10 ** 9
_STAMPS = itertools.count(10_000)


def next_stamp():
    """Return a stamp later than every earlier one of this module."""
    return next(_STAMPS) * S


def stamp_ns(msg):
    """Return the header stamp of ``msg`` in nanoseconds."""
    return msg.header.stamp.sec * S + msg.header.stamp.nanosec


@pytest.fixture(scope='module')
def rig(ros_context):
    """One node (filled mask on) and its tester for the whole module."""
    rig = NodeRig(ros_context, {'mask': True}, publish_filled_mask=True)
    yield rig
    rig.destroy()


def stamps_out(rig):
    """Return the stamps of the depth outputs received so far."""
    return [stamp_ns(m) for m in rig.tester.outputs('depth')]


def send_good_frame(rig, examples):
    """Send a valid frame and wait for its output set; return its stamp."""
    rgb, depth_mm, K = examples[0]
    stamp = next_stamp()
    rig.tester.publish(*frame_msgs(rgb, depth_mm, K, stamp), node=rig.node)
    assert wait_until(lambda: stamp in stamps_out(rig)), 'node stopped publishing'
    return stamp


def send(rig, rgb=None, depth=None, info=None):
    """Publish one frame's messages, camera_info first and received before the images."""
    rig.tester.publish(rgb=rgb, depth=depth, info=info, node=rig.node if info else None)


def _bad_rgb_encoding(rgb, depth_mm, K, stamp):
    rgb_msg, depth_msg, info = frame_msgs(rgb, depth_mm, K, stamp)
    rgb_msg.encoding = 'yuv422'
    return rgb_msg, depth_msg, info


def _bad_depth_encoding(rgb, depth_mm, K, stamp):
    rgb_msg, _, info = frame_msgs(rgb, depth_mm, K, stamp)
    return rgb_msg, image_msg(rgb, 'rgb8', stamp), info


def _short_depth_data(rgb, depth_mm, K, stamp):
    rgb_msg, depth_msg, info = frame_msgs(rgb, depth_mm, K, stamp)
    depth_msg.data = bytes(depth_msg.data)[:-depth_msg.step // 2]
    return rgb_msg, depth_msg, info


def _long_rgb_data(rgb, depth_mm, K, stamp):
    rgb_msg, depth_msg, info = frame_msgs(rgb, depth_mm, K, stamp)
    rgb_msg.data = bytes(rgb_msg.data) + bytes(7)
    return rgb_msg, depth_msg, info


def _zero_focal_length(rgb, depth_mm, K, stamp):
    K = K.copy()
    K[0, 0] = 0.0
    return frame_msgs(rgb, depth_mm, K, stamp)


def _nan_intrinsics(rgb, depth_mm, K, stamp):
    K = K.copy()
    K[1, 1] = np.nan
    return frame_msgs(rgb, depth_mm, K, stamp)


def _other_aspect_depth(rgb, depth_mm, K, stamp):
    rgb_msg, _, info = frame_msgs(rgb, depth_mm, K, stamp)
    return rgb_msg, image_msg(depth_mm[:320, :320], '16UC1', stamp), info


def _tiny_focal_length_at_full_size(rgb, depth_mm, K, stamp):
    # fx = 5e-324 for a 1280x960 calibration: scaled to 640x480 it underflows to 0.
    rgb_msg, depth_msg, _ = frame_msgs(rgb, depth_mm, K, stamp)
    K_full = K.copy()
    K_full[:2] *= 2.0
    K_full[0, 0] = 5e-324
    return rgb_msg, depth_msg, camera_info_msg(K_full, 1280, 960, stamp)


def _huge_focal_length_at_half_size(rgb, depth_mm, K, stamp):
    # fx = 1.7e308 for a 320x240 calibration: scaled to 640x480 it overflows to inf.
    rgb_msg, depth_msg, _ = frame_msgs(rgb, depth_mm, K, stamp)
    K_half = K.copy()
    K_half[:2] /= 2.0
    K_half[0, 0] = 1.7e308
    return rgb_msg, depth_msg, camera_info_msg(K_half, 320, 240, stamp)


def _one_pixel_high_image(rgb, depth_mm, K, stamp):
    line = np.zeros((1, 40000, 3), np.uint8)
    K_line = np.array([[500.0, 0.0, 20000.0], [0.0, 500.0, 0.5], [0.0, 0.0, 1.0]])
    return frame_msgs(line, np.full((1, 40000), 1000, np.uint16), K_line, stamp)


@pytest.mark.parametrize('make_bad, reason', [
    (_tiny_focal_length_at_full_size, 'bad_camera_info'),
    (_huge_focal_length_at_half_size, 'bad_camera_info'),
    (_one_pixel_high_image, 'bad_rgb'),
    (_bad_rgb_encoding, 'bad_rgb'),
    (_long_rgb_data, 'bad_rgb'),
    (_bad_depth_encoding, 'bad_depth'),
    (_short_depth_data, 'bad_depth'),
    (_zero_focal_length, 'bad_camera_info'),
    (_nan_intrinsics, 'bad_camera_info'),
    (_other_aspect_depth, 'size_mismatch'),
])
def test_bad_frame_is_dropped_counted_and_warned(rig, examples, make_bad, reason):
    before = rig.node.stats.drops().get(reason, 0)
    stamp = next_stamp()
    rgb_msg, depth_msg, info = make_bad(*examples[0], stamp)
    send(rig, rgb_msg, depth_msg, info)
    assert wait_until(lambda: rig.node.stats.drops().get(reason, 0) == before + 1)
    assert rig.node.stats.warning is not None
    # The warning names the input topic with the problem.
    assert '/rgb/' in rig.node.stats.warning or '/depth/' in rig.node.stats.warning
    # A bad input is not a model failure: diagnostics never go to ERROR for it.
    assert rig.node.stats.error is None
    assert rig.node.stats.drops().get('backend_error', 0) == 0
    send_good_frame(rig, examples)
    assert stamp not in stamps_out(rig)


def test_depth_of_same_aspect_is_resized_to_colour(rig, examples):
    rgb, depth_mm, K = examples[1]
    stamp = next_stamp()
    small = cv2.resize(depth_mm, (320, 240), interpolation=cv2.INTER_NEAREST)
    rgb_msg, _, info = frame_msgs(rgb, depth_mm, K, stamp)
    send(rig, rgb_msg, image_msg(small, '16UC1', stamp), info)
    assert wait_until(lambda: stamp in stamps_out(rig))
    out = rig.tester.outputs('depth')[stamps_out(rig).index(stamp)]
    assert (out.width, out.height) == (640, 480)
    assert 'resizing depth' in rig.node.stats.warning


def test_nan_inf_negative_depth_are_invalid_input(rig, examples):
    rgb, depth_mm, K = examples[0]
    depth = depth_mm.astype(np.float32) / 1000.0
    depth[100:140, 100:140] = np.nan
    depth[200:240, 200:240] = np.inf
    depth[300:340, 300:340] = -1.0
    stamp = next_stamp()
    rgb_msg, _, info = frame_msgs(rgb, depth_mm, K, stamp)
    send(rig, rgb_msg, image_msg(depth, '32FC1', stamp), info)
    assert wait_until(lambda: stamp in [stamp_ns(m) for m in rig.tester.outputs('mask')])
    index = [stamp_ns(m) for m in rig.tester.outputs('mask')].index(stamp)
    mask_msg = rig.tester.outputs('mask')[index]
    filled = np.frombuffer(bytes(mask_msg.data), np.uint8).reshape(480, 640) == 255
    out_msg = rig.tester.outputs('depth')[stamps_out(rig).index(stamp)]
    out = np.frombuffer(bytes(out_msg.data), np.float32).reshape(480, 640)
    for rows, cols in ((slice(100, 140), slice(100, 140)), (slice(200, 240), slice(200, 240)),
                       (slice(300, 340), slice(300, 340))):
        # Treated as holes: filled where the output is finite, never copied through.
        assert np.array_equal(filled[rows, cols], np.isfinite(out[rows, cols]))
        assert filled[rows, cols].any()
    assert not np.any(np.isinf(out))
    assert np.all(out[np.isfinite(out)] > 0)


def test_all_invalid_depth_runs_monocular(rig, examples):
    rgb, depth_mm, K = examples[0]
    stamp = next_stamp()
    send(rig, *frame_msgs(rgb, np.zeros_like(depth_mm), K, stamp))
    assert wait_until(lambda: stamp in stamps_out(rig))
    assert 'monocular' in rig.node.stats.warning


def test_differing_frame_ids_warn_once_and_process(rig, examples, capfd):
    rgb, depth_mm, K = examples[0]
    for _ in range(2):
        stamp = next_stamp()
        rgb_msg, _, info = frame_msgs(rgb, depth_mm, K, stamp)
        depth_msg = image_msg(depth_mm, '16UC1', stamp, frame_id='camera_depth_optical_frame')
        send(rig, rgb_msg, depth_msg, info)
        assert wait_until(lambda: stamp in stamps_out(rig))
    assert 'registered' in rig.node.stats.warning
    out = rig.tester.outputs('depth')[-1]
    assert out.header.frame_id == rgb_msg.header.frame_id
    assert capfd.readouterr().err.count('is the depth registered') == 1


def test_stamps_going_backwards_reset_sync(rig, examples):
    rgb, depth_mm, K = examples[0]
    later = next_stamp() + 1000 * S
    send(rig, *frame_msgs(rgb, depth_mm, K, later))
    assert wait_until(lambda: later in stamps_out(rig))
    earlier = later - 500 * S
    send(rig, *frame_msgs(rgb, depth_mm, K, earlier))
    assert wait_until(lambda: earlier in stamps_out(rig))
    values = {kv.key: kv.value for kv in rig.node.publish_diagnostics().status[0].values}
    assert int(values['dropped_stamp_jump_back']) >= 1


def test_publish_failure_is_counted_and_node_continues(make_node, examples):
    node, tester = make_node(always_process=True)
    node.destroy_publisher(node._pub_cloud)
    rgb, depth_mm, K = examples[0]
    for i in range(2):
        tester.publish(*frame_msgs(rgb, depth_mm, K, (20_000 + i) * S), node=node)
        assert wait_until(lambda: tester.count('depth') == i + 1)
    # the cloud is published after the depth reaches the tester: wait for its failure too
    assert wait_until(lambda: node.stats.drops().get('publish_error') == 2)
    assert wait_until(lambda: tester.count('info') == 2)
    assert tester.count('cloud') == 0


def test_no_camera_info_holds_frames_and_warns(make_node, examples):
    node, tester = make_node()
    rgb, depth_mm, K = examples[0]
    rgb_msg, depth_msg, info = frame_msgs(rgb, depth_mm, K, 30_000 * S)
    tester.publish(rgb=rgb_msg, depth=depth_msg)
    assert wait_until(lambda: node.stats.inputs().get('depth', 0) == 1
                      and node.stats.inputs().get('rgb', 0) == 1)
    values = {kv.key: kv.value for kv in node.publish_diagnostics().status[0].values}
    assert values['pairs_waiting_for_camera_info'] == '1'
    assert 'no camera_info' in node.stats.warning and 'rgb/camera_info' in node.stats.warning
    assert tester.count('depth') == 0
    tester.publish(info=info)
    assert wait_until(lambda: tester.count('depth') == 1)
    assert stamp_ns(tester.outputs('depth')[0]) == 30_000 * S


class FailingBackend:
    """A backend that raises a given error, counting calls."""

    name = 'failing'
    device = 'cpu'

    def __init__(self, error):
        self.error = error
        self.calls = 0

    def complete(self, rgb, depth, K):
        self.calls += 1
        raise self.error

    def release_memory(self):
        pass

    def status(self):
        return {}


def test_out_of_gpu_memory_skips_frame_and_continues(rig, examples):
    backend = rig.node.backend
    try:
        failing = FailingBackend(OutOfMemory('CUDA out of memory. Tried to allocate 2.00 GiB'))
        rig.node.backend = failing
        before = rig.node.stats.drops().get('out_of_memory', 0)
        stamp = next_stamp()
        send(rig, *frame_msgs(*examples[0], stamp))
        assert wait_until(lambda: rig.node.stats.drops().get('out_of_memory', 0) == before + 1)
        assert stamp not in stamps_out(rig)
        assert 'out of GPU memory' in rig.node.stats.warning
        # Not a model failure: diagnostics stay below ERROR.
        assert rig.node.publish_diagnostics().status[0].level != DiagnosticStatus.ERROR
    finally:
        rig.node.backend = backend
    send_good_frame(rig, examples)


def test_model_failure_sets_error_until_a_frame_succeeds(rig, examples):
    backend = rig.node.backend
    rig.node.backend = FailingBackend(ValueError('weights are corrupt'))
    try:
        send(rig, *frame_msgs(*examples[0], next_stamp()))
        assert wait_until(lambda: rig.node.stats.error is not None)
        status = rig.node.publish_diagnostics().status[0]
        assert status.level == DiagnosticStatus.ERROR
        assert 'weights are corrupt' in status.message
    finally:
        rig.node.backend = backend
    send_good_frame(rig, examples)
    assert rig.node.publish_diagnostics().status[0].level != DiagnosticStatus.ERROR


def test_camera_info_at_another_resolution_is_rescaled(rig, examples):
    rgb, depth_mm, K = examples[0]
    stamp = next_stamp()
    rgb_msg, depth_msg, _ = frame_msgs(rgb, depth_mm, K, stamp)
    K_full = K.copy()
    K_full[:2] *= 2.0
    send(rig, rgb_msg, depth_msg, camera_info_msg(K_full, 1280, 960, stamp))
    assert wait_until(lambda: stamp in [stamp_ns(m) for m in rig.tester.outputs('info')])
    info = [m for m in rig.tester.outputs('info') if stamp_ns(m) == stamp][0]
    assert (info.width, info.height) == (640, 480)
    np.testing.assert_allclose(np.reshape(info.k, (3, 3)), K, rtol=1e-9)


def test_stamps_jumping_back_warn_once_per_period(make_node, examples):
    from rcl_interfaces.msg import Log
    node, tester = make_node()
    lines = []
    tester.node.create_subscription(
        Log, '/rosout', lambda msg: lines.append(msg.msg) if 'stamp jumped' in msg.msg else None,
        50)
    assert wait_until(lambda: any(
        info.node_namespace == node.get_namespace() and info.node_name == node.get_name()
        for info in tester.node.get_publishers_info_by_topic('/rosout')))
    time.sleep(0.5)  # the node's /rosout writer has matched this reader too
    rgb, depth_mm, K = examples[0]
    for i in range(20):  # a bag looping every frame: each colour stamp goes back
        tester.publish(*frame_msgs(rgb, depth_mm, K, (1000 - i) * S)[:2])
        time.sleep(0.01)
    assert wait_until(lambda: node._sync.counters['stamp_jump_back'] >= 10)
    time.sleep(0.5)
    # One line per topic and warning period (5 s), not one per message.
    assert 1 <= len(lines) <= 2, lines
