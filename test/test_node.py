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
The depth completion node over real DDS: outputs, synchronization, burst, no-subscriber.

The node runs in this process in a background executor, the tester node publishes the
real example frames and collects the outputs. Robustness, parameters, diagnostics and QoS
are in the other test_node_*.py files.
"""

import time

from lingbot_depth_ros.geometry import back_project
from lingbot_depth_ros.messages.conversions import pointcloud2_to_array
from node_harness import examples_fixture, make_node_fixture, ros_context_fixture  # noqa: F401
from node_harness import FRAME_ID, frame_msgs, image_msg, wait_until
import numpy as np
import pytest
from sensor_msgs.msg import PointCloud2

pytestmark = pytest.mark.ros

S = 10 ** 9
MS = 10 ** 6


def depth_array(msg):
    """Return the float32 HxW array of a 32FC1 Image."""
    assert msg.encoding == '32FC1'
    return np.frombuffer(bytes(msg.data), dtype=np.float32).reshape(msg.height, msg.width)


def stamp_ns(msg):
    """Return the header stamp of ``msg`` in nanoseconds."""
    return msg.header.stamp.sec * S + msg.header.stamp.nanosec


def test_outputs_of_real_frames(make_node, examples):
    node, tester = make_node(publish_filled_mask=True, tester_mask=True)
    stamps = [1_000 * S + i * 100 * MS for i in range(3)]
    for i, stamp in enumerate(stamps):
        rgb, depth_mm, K = examples[i]
        tester.publish(*frame_msgs(rgb, depth_mm, K, stamp), node=node)
        assert wait_until(lambda: min(tester.count(k) for k in
                                      ('depth', 'info', 'cloud', 'mask')) == i + 1), \
            'no complete output set for frame %d' % i
    for i, stamp in enumerate(stamps):
        rgb, depth_mm, K = examples[i]
        depth_msg, info, cloud, mask = (tester.outputs(k)[i]
                                        for k in ('depth', 'info', 'cloud', 'mask'))
        for msg in (depth_msg, info, cloud, mask):
            assert stamp_ns(msg) == stamp
            assert msg.header.frame_id == FRAME_ID
        assert (depth_msg.width, depth_msg.height) == (640, 480)
        assert (info.width, info.height) == (640, 480)
        np.testing.assert_allclose(np.reshape(info.k, (3, 3)), K)
        depth = depth_array(depth_msg)
        # NaN marks invalid output: no zero, negative or infinite values.
        finite = np.isfinite(depth)
        assert finite.mean() > 0.9
        assert np.all(depth[finite] > 0)
        assert not np.any(np.isinf(depth))

        points = pointcloud2_to_array(cloud)
        assert points.shape == (480, 640)
        expected = back_project(depth, np.reshape(info.k, (3, 3)))
        for axis, name in enumerate('xyz'):
            np.testing.assert_allclose(points[name], expected[..., axis], rtol=1e-5,
                                       atol=1e-6, equal_nan=True)

        assert mask.encoding == 'mono8'
        filled = np.frombuffer(bytes(mask.data), np.uint8).reshape(480, 640) == 255
        sensor_valid = depth_mm > 0
        assert not np.any(filled & sensor_valid)
        assert np.all(finite[filled])
        assert np.array_equal(filled, ~sensor_valid & finite)
    assert node.stats.frames_out == 3


def test_one_output_set_per_input_and_no_extra(make_node, examples):
    node, tester = make_node()
    rgb, depth_mm, K = examples[0]
    stamps = [2_000 * S + i * 50 * MS for i in range(5)]
    for i, stamp in enumerate(stamps):
        tester.publish(*frame_msgs(rgb, depth_mm, K, stamp))
        assert wait_until(lambda: tester.count('depth') == i + 1)
    time.sleep(0.5)
    for kind in ('depth', 'info', 'cloud'):
        assert [stamp_ns(m) for m in tester.outputs(kind)] == stamps


def test_sync_inside_and_outside_slop(make_node, examples):
    node, tester = make_node(sync_slop=0.02)
    rgb, depth_mm, K = examples[1]
    rgb_msg, _, info = frame_msgs(rgb, depth_mm, K, 3_000 * S)
    tester.publish(info=info, rgb=rgb_msg,
                   depth=image_msg(depth_mm, '16UC1', 3_000 * S + 15 * MS))
    assert wait_until(lambda: tester.count('depth') == 1)
    assert stamp_ns(tester.outputs('depth')[0]) == 3_000 * S

    # 40 ms apart: no pair.
    tester.publish(rgb=image_msg(rgb, 'rgb8', 3_001 * S),
                   depth=image_msg(depth_mm, '16UC1', 3_001 * S + 40 * MS))
    time.sleep(0.3)
    # The next pair moves past the unpaired ones; both are counted as no_match.
    tester.publish(*frame_msgs(rgb, depth_mm, K, 3_002 * S))
    assert wait_until(lambda: tester.count('depth') == 2)
    assert stamp_ns(tester.outputs('depth')[1]) == 3_002 * S
    drops = {kv.key: kv.value for kv in node.publish_diagnostics().status[0].values}
    assert int(drops['dropped_no_match']) == 2


class SlowBackend:
    """Delegate to a real backend after sleeping, to make the node slower than the camera."""

    def __init__(self, backend, delay_s):
        self.backend, self.delay_s = backend, delay_s
        self.name, self.device = 'slow:' + backend.name, backend.device
        self.calls = 0

    def status(self):
        return self.backend.status()

    def complete(self, rgb, depth, K):
        self.calls += 1
        time.sleep(self.delay_s)
        return self.backend.complete(rgb, depth, K)


def test_burst_processes_newest_without_backlog(make_node, examples):
    node, tester = make_node()
    node.backend = SlowBackend(node.backend, 0.1)
    rgb, depth_mm, K = examples[2]
    stamps = [4_000 * S + i * 33 * MS for i in range(50)]
    for stamp in stamps:
        tester.publish(*frame_msgs(rgb, depth_mm, K, stamp))
    last_publish = time.monotonic()
    assert wait_until(lambda: tester.count('depth') and
                      stamp_ns(tester.outputs('depth')[-1]) == stamps[-1], timeout=15.0)
    done = time.monotonic()
    time.sleep(0.6)
    out = [stamp_ns(m) for m in tester.outputs('depth')]
    # Only the newest frame and at most the one in work remain after the burst.
    assert out[-1] == stamps[-1]
    assert out == sorted(set(out))
    assert len(out) < 50
    assert node.backend.calls == len(out)
    # No backlog: the newest frame came out within a few frame times of the last input.
    assert done - last_publish < 5 * 0.1 + 2.0
    # Every image that reached the node is published, counted as a drop (superseded in the
    # mailbox, unmatched in the synchronizer) or still pending: nothing is lost silently.
    # (KEEP_LAST 1 inputs may also lose images in DDS before the node sees them.)
    received = node.stats.inputs()
    with node._sync_lock:
        unmatched = node._sync.counters.get('no_match', 0)
        pending = sum(node._sync.pending)
    superseded = node.stats.drops().get('superseded', 0)
    assert received['rgb'] + received['depth'] == \
        2 * (len(out) + superseded) + unmatched + pending


def test_no_subscriber_means_no_inference(make_node, examples):
    node, tester = make_node(tester_outputs=False)
    rgb, depth_mm, K = examples[0]
    for i in range(3):
        tester.publish(*frame_msgs(rgb, depth_mm, K, 5_000 * S + i * 100 * MS))
        time.sleep(0.1)
    assert wait_until(lambda: node.stats.drops().get('no_subscriber', 0) == 3)
    assert node.stats.frames_out == 0
    from rclpy.parameter import Parameter
    assert node.set_parameters([Parameter('always_process', value=True)])[0].successful
    tester.publish(*frame_msgs(rgb, depth_mm, K, 5_001 * S))
    assert wait_until(lambda: node.stats.frames_out == 1)


def test_generated_frames_are_completed(make_node):
    from lingbot_depth_ros.tools.synthetic.renderer import (frame_to_messages,
                                                            render_sequence)
    node, tester = make_node(publish_filled_mask=True, tester_mask=True)
    frames = render_sequence(seed=3, n_frames=3, width=320, height=240)
    for i, frame in enumerate(frames):
        rgb_msg, depth_msg, info = frame_to_messages(frame)
        tester.publish(rgb_msg, depth_msg, info, node=node)
        assert wait_until(lambda: tester.count('mask') == i + 1 and tester.count('cloud') == i + 1)
    for frame, depth_msg, mask_msg, cloud in zip(frames, *(tester.outputs(k) for k in
                                                           ('depth', 'mask', 'cloud'))):
        assert stamp_ns(depth_msg) == frame.stamp_ns
        assert (depth_msg.width, depth_msg.height) == (320, 240)
        depth = depth_array(depth_msg)
        filled = np.frombuffer(bytes(mask_msg.data), np.uint8).reshape(240, 320) == 255
        # The sensor's holes are filled where the backend has an answer.
        assert np.array_equal(filled, ~frame.sensor_valid & np.isfinite(depth))
        assert np.isfinite(depth).sum() > frame.sensor_valid.sum()
        expected = back_project(depth, frame.K)
        np.testing.assert_allclose(pointcloud2_to_array(cloud)['z'], expected[..., 2],
                                   equal_nan=True)


def test_filtered_cloud_in_target_frame(make_node, examples):
    from lingbot_depth_ros.points import rigid_transform
    translation, rotation = [0.1, -0.2, 0.5], [-0.5, 0.5, -0.5, 0.5]
    node, tester = make_node(publish_filtered_cloud=True, target_frame='base_link',
                             transform_source='static', static_translation=translation,
                             static_rotation=rotation, crop_box=[0.0, -1.0, -1.0, 2.0, 1.0, 2.0],
                             voxel_size=0.02, always_process=True)
    received = []
    tester.node.create_subscription(PointCloud2, 'points_filtered', received.append, 10)
    rgb, depth_mm, K = examples[0]
    tester.publish(*frame_msgs(rgb, depth_mm, K, 5 * S), node=node)
    assert wait_until(lambda: received and tester.count('depth') == 1)
    cloud, depth_msg = received[0], tester.outputs('depth')[0]
    assert cloud.header.frame_id == 'base_link' and stamp_ns(cloud) == 5 * S
    got = pointcloud2_to_array(cloud)
    got = np.stack([got['x'], got['y'], got['z']], -1).reshape(-1, 3)
    # Independent reference: back-project the published depth, transform, crop, voxelise.
    points = back_project(depth_array(depth_msg), K).reshape(-1, 3)
    points = points[np.isfinite(points[:, 2])].astype(np.float64)
    matrix = rigid_transform(translation, rotation)
    # The published points are float32: round as they do before binning.
    points = (points @ matrix[:3, :3].T + matrix[:3, 3]).astype(np.float32).astype(np.float64)
    inside = np.all((points >= [0, -1, -1]) & (points <= [2, 1, 2]), axis=1)
    cells = {}
    for point in points[inside]:
        cells.setdefault(tuple(np.floor(point / 0.02).astype(int)), []).append(point)
    expected = {cell: np.mean(v, axis=0) for cell, v in cells.items()}
    assert len(got) == len(expected) > 100
    # A centroid lies in its own voxel: match them by cell.
    for centroid in got:
        cell = tuple(np.floor(centroid.astype(np.float64) / 0.02).astype(int))
        np.testing.assert_allclose(centroid, expected[cell], atol=1e-5)


def test_filtered_cloud_without_a_transform_is_skipped_and_counted(make_node, examples):
    node, tester = make_node(publish_filtered_cloud=True, target_frame='base_link',
                             transform_source='tf', always_process=True)
    received = []
    tester.node.create_subscription(PointCloud2, 'points_filtered', received.append, 10)
    rgb, depth_mm, K = examples[0]
    tester.publish(*frame_msgs(rgb, depth_mm, K, 6 * S), node=node)
    assert wait_until(lambda: tester.count('depth') == 1)
    time.sleep(0.3)
    assert received == []
    assert node.stats.drops().get('filtered_cloud_no_transform') == 1
    assert 'points_filtered: skipped' in node.stats.warning


def test_temporal_filter_averages_a_static_scene(make_node, examples):
    from rclpy.parameter import Parameter
    node, tester = make_node(temporal_filter=True, temporal_alpha=0.5, temporal_change=0.05)
    rgb, depth_mm, K = examples[0]
    nearer = np.where(depth_mm > 0, (depth_mm * 1.02).astype(np.uint16), 0)  # 2 %: gated in
    tester.publish(*frame_msgs(rgb, depth_mm, K, 9 * S), node=node)
    assert wait_until(lambda: tester.count('depth') == 1)
    tester.publish(*frame_msgs(rgb, nearer, K, 9 * S + 100 * MS), node=node)
    assert wait_until(lambda: tester.count('depth') == 2)
    first, second = (depth_array(m) for m in tester.outputs('depth'))
    measured = depth_mm > 0
    expected = first[measured] + 0.5 * (nearer[measured] / 1000.0 - first[measured])
    np.testing.assert_allclose(second[measured], expected, rtol=1e-5)
    assert node.set_parameters([Parameter('temporal_filter', value=False)])[0].successful
    tester.publish(*frame_msgs(rgb, depth_mm, K, 10 * S), node=node)
    assert wait_until(lambda: tester.count('depth') == 3)
    np.testing.assert_allclose(depth_array(tester.outputs('depth')[2])[measured],
                               depth_mm[measured] / 1000.0, rtol=1e-6)
