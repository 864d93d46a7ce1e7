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
``lingbot-depth play``, ``infer`` and ``capture`` (issue 12): use without the ros2 CLI.

play -> depth_completion_node -> outputs over real DDS must equal ``refine-bag`` on the same
bag; infer on an example capture must equal the frame path; capture from a software
RealSense must record the injected frames and their refined depth.
"""

import threading
import time

from lingbot_depth_ros.backends.factory import BackendSettings, create_backend
from lingbot_depth_ros.messages.camera import frame_messages
from lingbot_depth_ros.messages.conversions import depth_from_image
from lingbot_depth_ros.messages.frame import decode_frame, FrameSettings, limit_output
from lingbot_depth_ros.messages.topics import REALSENSE_TOPICS
from lingbot_depth_ros.sources.base import Profile, SdkMissing
from lingbot_depth_ros.tools import cli
from lingbot_depth_ros.tools.bag import messages as bag_msgs
from lingbot_depth_ros.tools.evaluation.data import read_capture
import node_harness as harness
from node_harness import ros_context_fixture, Spinner, unique_namespace, wait_until
import numpy as np
import pytest
from rclpy.parameter import Parameter
from rosbags.rosbag2 import Reader

__all__ = ['ros_context_fixture']


def _refined(bag, topic='/lingbot_depth/depth_refined/image'):
    store = bag_msgs.typestore()
    out = {}
    with Reader(bag) as reader:
        conns = [c for c in reader.connections if c.topic == topic]
        for conn, _, raw in reader.messages(connections=conns):
            msg = store.deserialize_cdr(raw, conn.msgtype)
            out[msg.header.stamp.sec * 10 ** 9 + msg.header.stamp.nanosec] = \
                depth_from_image(msg)[0]
    return out


def test_play_into_the_node_equals_refine_bag(ros_context, tmp_path):
    from lingbot_depth_ros.node.node import DepthCompletionNode
    from lingbot_depth_ros.tools.play import play_bag
    bag, refined = tmp_path / 'in', tmp_path / 'refined'
    assert cli.main(['synth-bag', str(bag), '--frames', '4', '--width', '160', '--height',
                     '120']) == 0
    assert cli.main(['refine-bag', str(bag), str(refined), '--backend', 'classical',
                     '--no-progress']) == 0
    expected = _refined(refined)
    namespace = unique_namespace()
    remaps = ['--ros-args'] + [arg for name, topic in (
        ('rgb/image', REALSENSE_TOPICS.rgb), ('depth/image', REALSENSE_TOPICS.depth),
        ('rgb/camera_info', REALSENSE_TOPICS.info))
        for arg in ('-r', f'{name}:={namespace}{topic}')]
    node = DepthCompletionNode(namespace=namespace, context=ros_context, cli_args=remaps,
                               parameter_overrides=[Parameter('backend', value='classical')])
    tester = harness.Tester(ros_context, namespace, reliability=None)
    spinner = Spinner(ros_context, node, tester.node)
    try:
        assert wait_until(lambda: all(s.get_publisher_count() > 0 for s in tester.subs))
        # Slower than recorded (4 frames at 15 Hz in about 1 s): the node takes every frame.
        published = play_bag(bag, rate=0.25, namespace=namespace, wait_subscribers=1)
        assert published == 12
        assert wait_until(lambda: tester.count('depth') >= len(expected), timeout=10.0)
    finally:
        spinner.stop()
        node.destroy_node()
        tester.destroy()
    got = {o.header.stamp.sec * 10 ** 9 + o.header.stamp.nanosec: depth_from_image(o)[0]
           for o in tester.outputs('depth')}
    assert sorted(got) == sorted(expected)
    for stamp, depth in expected.items():
        np.testing.assert_array_equal(got[stamp], depth)


def test_play_rejects_a_bag_without_camera_topics(tmp_path, capsys):
    assert cli.main(['play', str(tmp_path / 'missing')]) == 1
    assert 'does not exist' in capsys.readouterr().err


def test_infer_on_an_example_capture(examples_dir, tmp_path, capsys):
    folder = examples_dir / '0'
    args = ['infer', '--rgb', str(folder / 'rgb.png'), '--depth', str(folder / 'raw_depth.png'),
            '--intrinsics', str(folder / 'intrinsics.txt'), '--backend', 'classical']
    assert cli.main(args + ['--output', str(tmp_path / 'd.npy')]) == 0
    assert 'classical backend, 640x480' in capsys.readouterr().out
    capture = read_capture(folder)
    depth_m = capture.depth_mm.astype(np.float32) * np.float32(0.001)
    settings = FrameSettings()
    frame = decode_frame(*frame_messages(capture.rgb, depth_m, capture.K, 0, 'f', '32FC1'),
                         settings)
    backend = create_backend(BackendSettings(backend='classical'))
    expected = limit_output(backend.complete(frame.rgb, frame.depth, frame.K),
                            settings.depth_range).depth
    np.testing.assert_array_equal(np.load(tmp_path / 'd.npy'), expected)
    # camera_info YAML instead of intrinsics.txt; PNG and PLY outputs.
    K = capture.K
    (tmp_path / 'info.yaml').write_text('image_width: 640\nimage_height: 480\ncamera_matrix:\n'
                                        '  rows: 3\n  cols: 3\n  data: [%s]\n'
                                        % ', '.join(repr(float(v)) for v in K.ravel()))
    args[args.index('--intrinsics'):args.index('--intrinsics') + 2] = [
        '--camera-info', str(tmp_path / 'info.yaml')]
    assert cli.main(args + ['--output', str(tmp_path / 'd.png')]) == 0
    import cv2
    png = cv2.imread(str(tmp_path / 'd.png'), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(png, np.round(np.nan_to_num(expected) * 1000).astype(np.uint16))
    assert cli.main(args + ['--output', str(tmp_path / 'c.ply')]) == 0
    header = (tmp_path / 'c.ply').read_bytes()[:200].decode('ascii', 'replace')
    assert 'element vertex %d' % np.isfinite(expected).sum() in header
    assert cli.main(args + ['--output', str(tmp_path / 'd.txt')]) == 1
    assert 'expected a .png, .npy or .ply file' in capsys.readouterr().err


def test_capture_records_raw_and_refined_frames(examples_dir, tmp_path):
    from lingbot_depth_ros.sources import realsense
    try:
        realsense.import_sdk()
    except SdkMissing as error:
        pytest.skip(str(error))
    from lingbot_depth_ros.sources.software import SoftwareCamera
    from lingbot_depth_ros.tools.capture import capture
    capture_data = read_capture(examples_dir / '1')
    height, width = capture_data.depth_mm.shape
    camera = SoftwareCamera(capture_data.K, width, height)
    source = realsense.RealSenseSource(profile=Profile(width, height, 30),
                                       device_factory=lambda: camera.device)
    stamps = [1.7e12 + 33.0 * i for i in range(3)]

    def inject():
        for stamp in stamps:
            time.sleep(0.3)
            camera.inject(capture_data.rgb, capture_data.depth_mm, stamp)

    feeder = threading.Thread(target=inject)
    with source:
        feeder.start()
        count = capture(source, create_backend(BackendSettings(backend='classical')),
                        tmp_path / 'bag', FrameSettings(), frames=3)
    feeder.join()
    assert count == 3
    raw = _refined(tmp_path / 'bag', REALSENSE_TOPICS.depth)
    assert sorted(raw) == [int(round(s * 1e6)) for s in stamps]
    for depth in raw.values():
        # 16UC1 millimetres as the driver records them: the injected image.
        np.testing.assert_array_equal(np.round(np.nan_to_num(depth) * 1000.0).astype(np.uint16),
                                      capture_data.depth_mm)
    refined = _refined(tmp_path / 'bag')
    assert sorted(refined) == sorted(raw)
    assert all(np.isfinite(d).mean() > 0.99 for d in refined.values())


def test_evaluate_accepts_the_capture_folder_layout(examples_dir, tmp_path, capsys):
    out = tmp_path / 'ev'
    assert cli.main(['evaluate', '--data', str(examples_dir), '--num-samples', '1', '--level',
                     'easy', '--no-png', '--output', str(out)]) == 0
    text = (out / 'results.md').read_text()
    assert 'classical' in text and 'blocks' in text
    assert cli.main(['evaluate', '--data', str(examples_dir / '0'), '--protocol', 'natural',
                     '--output', str(out)]) == 2
    assert 'holds captures whose only depth is the sensor' in capsys.readouterr().err
