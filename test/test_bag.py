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

"""refine-bag (lingbot_depth_ros.tools.bag.refine) on small rosbag2 files the tests write."""

import os
from pathlib import Path
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import cv2
from lingbot_depth_ros.backends.classical import ClassicalBackend
from lingbot_depth_ros.messages import conversions as msg_conversions
from lingbot_depth_ros.messages.buffers import header_from_ns
from lingbot_depth_ros.tools.bag import messages as bag_msgs
from lingbot_depth_ros.tools.bag import storage as bag_io
from lingbot_depth_ros.tools.bag.refine import refine_bag, RefineOptions
from lingbot_depth_ros.tools.bag.storage import BagError, TOPIC_PRESETS, TopicSet
from lingbot_depth_ros.tools.synthetic import messages as synthetic_messages
import numpy as np
import pytest
from rosbags.rosbag2 import Reader, Writer

ROOT = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 32, 24
K = np.array([[28.0, 0.0, 15.5], [0.0, 28.0, 11.5], [0.0, 0.0, 1.0]])
T0 = 1_700_000_000_000_000_000
PERIOD = 100_000_000
REALSENSE = TOPIC_PRESETS['realsense']
STRING = 'std_msgs/msg/String'


def scene(index):
    """Return (rgb, depth metres with a hole and a sensor dropout) of frame ``index``."""
    cols = np.arange(WIDTH, dtype=np.float32)[None, :]
    rows = np.arange(HEIGHT, dtype=np.float32)[:, None]
    # A slanted plane, a bright square on it with no depth return (glass), a dropout column.
    depth = 1.0 + 0.01 * cols + 0.005 * rows + 0.01 * index
    rgb = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    rgb[..., 0] = (cols * 7).astype(np.uint8)
    rgb[..., 1] = (rows * 9).astype(np.uint8)
    rgb[8:14, 10:18] = 250
    depth[8:14, 10:18] = 0.0
    depth[:, 2] = 0.0
    return rgb, depth.astype(np.float32)


def write_bag(path, n=6, storage='mcap', topics=REALSENSE, depth_encoding='16UC1',
              depth_lag_ns=3_000_000, log_delay_ns=7_000_000, rgb_compressed=False,
              chatter=True, depth_size=(WIDTH, HEIGHT), info_frames=None):
    """
    Write a camera bag as a driver plus ros2 bag record would.

    Depth stamps lag the colour stamps by ``depth_lag_ns`` (within the default slop) and
    every log time is the stamp plus ``log_delay_ns`` plus a per-topic offset, so header
    stamps and log times differ. A std_msgs/String topic interleaves unrelated traffic.
    ``depth_encoding`` 'rgb8' puts the colour image on the depth topic; ``info_frames``
    limits camera_info to those frame indices. Return the (topic, log time, raw bytes) list.
    """
    store = bag_msgs.typestore()
    written = []
    with Writer(Path(path), version=9, storage_plugin=bag_io.storage_plugin(storage)) as bag:
        rgb_type = bag_msgs.COMPRESSED_IMAGE if rgb_compressed else bag_msgs.IMAGE
        conns = {topics.rgb: bag.add_connection(topics.rgb, rgb_type, typestore=store),
                 topics.depth: bag.add_connection(topics.depth, bag_msgs.IMAGE, typestore=store),
                 topics.info: bag.add_connection(topics.info, bag_msgs.CAMERA_INFO,
                                                 typestore=store)}
        if chatter:
            conns['/chatter'] = bag.add_connection('/chatter', STRING, typestore=store)

        def put(topic, log_ns, msg):
            raw = bytes(store.serialize_cdr(msg, conns[topic].msgtype))
            bag.write(conns[topic], log_ns, raw)
            written.append((topic, log_ns, raw))

        for i in range(n):
            stamp = T0 + i * PERIOD
            rgb, depth = scene(i)
            header = header_from_ns(stamp, 'camera_color_optical_frame')
            depth_header = header_from_ns(stamp + depth_lag_ns, 'camera_color_optical_frame')
            if rgb_compressed:
                ok, jpeg = cv2.imencode('.png', rgb[:, :, ::-1])
                colour = store.types[bag_msgs.COMPRESSED_IMAGE](
                    header=bag_msgs.to_rosbags(header), format='png', data=jpeg.reshape(-1))
            else:
                colour = bag_msgs.to_rosbags(msg_conversions.rgb_to_image(rgb, header))
            if depth_size != (WIDTH, HEIGHT):
                depth = cv2.resize(depth, depth_size, interpolation=cv2.INTER_NEAREST)
            if depth_encoding == 'rgb8':
                depth_msg = msg_conversions.rgb_to_image(rgb, depth_header)
            else:
                depth_msg, _ = msg_conversions.depth_to_image(depth, depth_header, depth_encoding)
            info = synthetic_messages.camera_info(K, WIDTH, HEIGHT, header)
            log = stamp + log_delay_ns
            put(topics.rgb, log, colour)
            put(topics.depth, log + depth_lag_ns + 1_000_000, bag_msgs.to_rosbags(depth_msg))
            if info_frames is None or i in info_frames:
                put(topics.info, log + 2_000_000, bag_msgs.to_rosbags(info))
            if chatter:
                put('/chatter', log + 50_000_000,
                    store.types[STRING](data=f'unrelated message {i}'))
    return written


def read_bag(path):
    """Return {topic: [(log time, raw bytes, connection)]} of a bag."""
    out = {}
    with Reader(path) as reader:
        for conn, log_ns, raw in reader.messages():
            out.setdefault(conn.topic, []).append((log_ns, bytes(raw), conn))
    return out


def decode(entries, msgtype):
    """Deserialize a list of read_bag entries."""
    return [bag_msgs.typestore().deserialize_cdr(raw, msgtype) for _, raw, _ in entries]


def stamp_ns(msg):
    """Return a message's header stamp in nanoseconds."""
    return msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec


def test_outputs_deserialize_in_rclpy_to_the_messages_the_node_publishes():
    deserialize_message = pytest.importorskip('rclpy.serialization').deserialize_message
    rgb, depth = scene(1)
    header = header_from_ns(T0 + 5, 'cam')
    info = synthetic_messages.camera_info(K, WIDTH, HEIGHT, header)
    messages = [msg_conversions.depth_to_image(depth, header, '32FC1')[0],
                msg_conversions.depth_to_image(depth, header, '16UC1')[0],
                msg_conversions.camera_info_at_size(info, WIDTH // 2, HEIGHT // 2),
                msg_conversions.depth_to_pointcloud2(depth, K, header, rgb=rgb)]
    store = bag_msgs.typestore()
    for msg in messages:
        ours = store.serialize_cdr(bag_msgs.to_rosbags(msg), bag_msgs.ros_type_name(msg))
        # Equal up to CDR padding bytes, which rclpy leaves uninitialised.
        assert deserialize_message(bytes(ours), type(msg)) == msg, bag_msgs.ros_type_name(msg)


@pytest.fixture(scope='module')
def classical():
    """Return the classical backend."""
    return ClassicalBackend()


@pytest.mark.parametrize('storage_in, storage_out',
                         [('mcap', 'mcap'), ('sqlite3', 'sqlite3'), ('sqlite3', 'mcap')])
def test_refine_copies_every_input_message_and_adds_refined_depth(
        tmp_path, classical, storage_in, storage_out):
    source = tmp_path / 'in'
    written = write_bag(source, n=6, storage=storage_in)
    before = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in source.iterdir())
    report = refine_bag(source, tmp_path / 'out', classical,
                        RefineOptions(storage=storage_out, progress=False))
    out = read_bag(tmp_path / 'out')

    # The input is untouched and every input message is copied byte for byte, same log time.
    assert sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns)
                  for p in source.iterdir()) == before
    for topic in {t for t, _, _ in written}:
        assert [(log, raw) for t, log, raw in written if t == topic] == \
            [(log, raw) for log, raw, _ in out[topic]]
    with Reader(source) as reader:
        original = {c.topic: c for c in reader.connections}
    for topic, entries in out.items():
        if topic in original:
            conn = entries[0][2]
            assert (conn.msgtype, conn.digest, conn.msgdef.data, conn.ext) == \
                (original[topic].msgtype, original[topic].digest, original[topic].msgdef.data,
                 original[topic].ext)

    image_topic, info_topic = '/lingbot_depth/depth_refined/image', \
        '/lingbot_depth/depth_refined/camera_info'
    assert set(out) == {REALSENSE.rgb, REALSENSE.depth, REALSENSE.info, '/chatter',
                        image_topic, info_topic}
    assert report.frames == 6 and report.copied == len(written)
    assert report.written == {image_topic: 6, info_topic: 6}
    images = decode(out[image_topic], bag_msgs.IMAGE)
    infos = decode(out[info_topic], bag_msgs.CAMERA_INFO)
    rgb_logs = [log for t, log, _ in written if t == REALSENSE.rgb]
    depth_logs = [log for t, log, _ in written if t == REALSENSE.depth]
    for i, (image, info, (log, _, _)) in enumerate(zip(images, infos, out[image_topic])):
        # Outputs carry the colour stamp and frame, logged when the later input was.
        assert stamp_ns(image) == stamp_ns(info) == T0 + i * PERIOD
        assert image.header.frame_id == info.header.frame_id == 'camera_color_optical_frame'
        assert log == max(rgb_logs[i], depth_logs[i])
        assert (image.encoding, image.width, image.height) == ('32FC1', WIDTH, HEIGHT)
        assert np.allclose(np.asarray(info.k).reshape(3, 3), K)
        depth = msg_conversions.image_to_array(image)
        sensor = scene(i)[1]
        valid = sensor > 0
        # Classical keeps measurements (to the input's millimetre) and fills every hole.
        assert np.allclose(depth[valid], np.rint(sensor[valid] * 1000) / 1000, atol=1e-6)
        assert np.all(np.isfinite(depth))
        hole = depth[8:14, 10:18]
        assert hole.min() > 0.9 and hole.max() < 1.5


def test_points_and_16uc1_output(tmp_path, classical):
    write_bag(tmp_path / 'in', n=3)
    report = refine_bag(tmp_path / 'in', tmp_path / 'out', classical,
                        RefineOptions(points=True, depth_encoding='16UC1', point_decimation=2,
                                      output_prefix='/refined/', progress=False))
    out = read_bag(tmp_path / 'out')
    assert report.output_topics == ('/refined/depth_refined/image',
                                    '/refined/depth_refined/camera_info', '/refined/points')
    images = decode(out['/refined/depth_refined/image'], bag_msgs.IMAGE)
    clouds = decode(out['/refined/points'], bag_msgs.POINT_CLOUD2)
    assert len(images) == len(clouds) == 3
    for image, cloud in zip(images, clouds):
        assert image.encoding == '16UC1'
        millimetres = msg_conversions.image_to_array(image)
        assert millimetres.min() >= 1000 and millimetres.max() < 1500
        assert [f.name for f in cloud.fields] == ['x', 'y', 'z', 'rgb']
        assert (cloud.height, cloud.width, cloud.point_step) == (HEIGHT // 2, WIDTH // 2, 32)
        assert stamp_ns(cloud) == stamp_ns(image)
        points = msg_conversions.pointcloud2_to_array(cloud)
        # Row 1, column 3 of the decimated cloud is pixel (2, 6): z from the refined depth.
        assert np.isclose(points['z'][1, 3], millimetres[2, 6] / 1000, atol=1e-3)
        assert np.isclose(points['x'][1, 3], (6 - K[0, 2]) / K[0, 0] * points['z'][1, 3])


@pytest.mark.parametrize('preset', sorted(TOPIC_PRESETS))
def test_presets_are_detected(tmp_path, classical, preset):
    write_bag(tmp_path / 'in', n=2, topics=TOPIC_PRESETS[preset], depth_encoding='32FC1')
    report = refine_bag(tmp_path / 'in', tmp_path / 'out', classical,
                        RefineOptions(progress=False))
    assert report.topics == TOPIC_PRESETS[preset]
    assert report.frames == 2


def test_explicit_topics_and_compressed_colour(tmp_path, classical):
    topics = TopicSet('/cam/rgb/compressed', '/cam/depth_registered', '/cam/rgb/info')
    write_bag(tmp_path / 'in', n=2, topics=topics, rgb_compressed=True)
    report = refine_bag(tmp_path / 'in', tmp_path / 'out', classical, RefineOptions(
        rgb_topic=topics.rgb, depth_topic=topics.depth, info_topic=topics.info, points=True,
        progress=False))
    assert report.frames == 2
    cloud = decode(read_bag(tmp_path / 'out')['/lingbot_depth/points'],
                   bag_msgs.POINT_CLOUD2)[0]
    colour = msg_conversions.pointcloud2_to_array(cloud)['rgb'][0, 5].view(np.uint32)
    # The PNG is lossless: pixel (0, 5) keeps red 35, green 0, blue 0.
    assert colour == 35 << 16


def test_half_resolution_depth_is_resized(tmp_path, classical):
    write_bag(tmp_path / 'in', n=1, depth_size=(WIDTH // 2, HEIGHT // 2))
    refine_bag(tmp_path / 'in', tmp_path / 'out', classical, RefineOptions(progress=False))
    image = decode(read_bag(tmp_path / 'out')['/lingbot_depth/depth_refined/image'],
                   bag_msgs.IMAGE)[0]
    assert (image.width, image.height) == (WIDTH, HEIGHT)


def test_missing_topics_lists_the_available_ones(tmp_path, classical):
    write_bag(tmp_path / 'in', n=2, topics=TopicSet('/a/rgb', '/a/depth', '/a/info'))
    with pytest.raises(BagError) as error:
        refine_bag(tmp_path / 'in', tmp_path / 'out', classical)
    assert str(error.value).startswith('missing topics')
    assert '\n' not in str(error.value)
    for line in ('/a/depth  sensor_msgs/msg/Image  (2 msgs)',
                 '/a/info   sensor_msgs/msg/CameraInfo  (2 msgs)',
                 '/chatter  std_msgs/msg/String  (2 msgs)'):
        assert line in error.value.details
    assert not (tmp_path / 'out').exists()

    with pytest.raises(BagError, match='missing topics: /nope'):
        refine_bag(tmp_path / 'in', tmp_path / 'out', classical, RefineOptions(
            rgb_topic='/a/rgb', depth_topic='/nope', info_topic='/a/info'))


def test_unsupported_types_and_encodings_fail_before_writing(tmp_path, classical):
    write_bag(tmp_path / 'in', n=2)
    with pytest.raises(BagError, match='unsupported message type std_msgs/msg/String on the '
                       'colour topic /chatter'):
        refine_bag(tmp_path / 'in', tmp_path / 'out', classical,
                   RefineOptions(rgb_topic='/chatter'))
    with pytest.raises(BagError, match='colour and depth topics must differ'):
        refine_bag(tmp_path / 'in', tmp_path / 'out', classical,
                   RefineOptions(depth_topic=REALSENSE.rgb))
    write_bag(tmp_path / 'rgb8', n=2, depth_encoding='rgb8')
    with pytest.raises(BagError, match='image_raw at [0-9.]+: encoding: expected one of'):
        refine_bag(tmp_path / 'rgb8', tmp_path / 'out', classical)
    assert not (tmp_path / 'out').exists()


def test_empty_bag(tmp_path, classical):
    with Writer(tmp_path / 'in', version=9) as bag:
        bag.add_connection(REALSENSE.rgb, bag_msgs.IMAGE, typestore=bag_msgs.typestore())
    with pytest.raises(BagError, match='empty bag'):
        refine_bag(tmp_path / 'in', tmp_path / 'out', classical)


def test_output_is_never_overwritten_without_force(tmp_path, classical):
    write_bag(tmp_path / 'in', n=2)
    (tmp_path / 'out').mkdir()
    (tmp_path / 'out' / 'metadata.yaml').write_text('old')
    with pytest.raises(BagError, match='exists; pass --force'):
        refine_bag(tmp_path / 'in', tmp_path / 'out', classical)
    assert (tmp_path / 'out' / 'metadata.yaml').read_text() == 'old'

    report = refine_bag(tmp_path / 'in', tmp_path / 'out', classical,
                        RefineOptions(force=True, progress=False))
    assert report.frames == 2 and len(read_bag(tmp_path / 'out')) == 6

    # Neither a folder with other files nor the input itself is ever removed.
    (tmp_path / 'notes').mkdir()
    (tmp_path / 'notes' / 'todo.txt').write_text('keep me')
    with pytest.raises(BagError, match='not part of a rosbag2'):
        refine_bag(tmp_path / 'in', tmp_path / 'notes', classical, RefineOptions(force=True))
    assert (tmp_path / 'notes' / 'todo.txt').exists()
    with pytest.raises(BagError, match='overlaps the input'):
        refine_bag(tmp_path / 'in', tmp_path / 'in', classical, RefineOptions(force=True))
    assert len(read_bag(tmp_path / 'in')) == 4


def test_max_frames_and_time_span(tmp_path, classical):
    written = write_bag(tmp_path / 'in', n=8)
    report = refine_bag(tmp_path / 'in', tmp_path / 'first', classical,
                        RefineOptions(max_frames=3, progress=False))
    assert report.frames == 3 and report.reached_max_frames
    # The output stops at the third frame's depth message, the later input of the pair.
    last_depth_log = [log for t, log, _ in written if t == REALSENSE.depth][2]
    assert max(log for entries in read_bag(tmp_path / 'first').values()
               for log, _, _ in entries) == last_depth_log

    # Offsets from the bag start: frames 2..4 (log times 0.2 s .. 0.5 s after the first).
    report = refine_bag(tmp_path / 'in', tmp_path / 'span', classical,
                        RefineOptions(start=0.2, end=0.5, progress=False))
    images = decode(read_bag(tmp_path / 'span')['/lingbot_depth/depth_refined/image'],
                    bag_msgs.IMAGE)
    assert [stamp_ns(m) for m in images] == [T0 + i * PERIOD for i in (2, 3, 4)]
    start_log = written[0][1]
    copied = [log for entries in read_bag(tmp_path / 'span').values() for log, _, _ in entries]
    assert min(copied) >= start_log + 200_000_000 and max(copied) < start_log + 500_000_000

    # Absolute UNIX seconds (a float resolves them to ~0.3 us) select the same frames.
    absolute = refine_bag(tmp_path / 'in', tmp_path / 'abs', classical, RefineOptions(
        start=(start_log + 190_000_000) / 1e9, end=(start_log + 490_000_000) / 1e9,
        progress=False))
    assert absolute.frames == 3


def test_single_storage_file_and_camera_info_logged_before_the_span(tmp_path, classical):
    # A driver that published camera_info once, at the start of the recording.
    write_bag(tmp_path / 'in', n=6, info_frames={0})
    (storage_file,) = (tmp_path / 'in').glob('*.mcap')
    report = refine_bag(storage_file, tmp_path / 'out', classical,
                        RefineOptions(start=0.25, progress=False))
    assert report.frames == 3
    infos = decode(read_bag(tmp_path / 'out')['/lingbot_depth/depth_refined/camera_info'],
                   bag_msgs.CAMERA_INFO)
    assert [stamp_ns(m) for m in infos] == [T0 + i * PERIOD for i in (3, 4, 5)]
    # The camera_info itself lies before the span and is not copied.
    assert REALSENSE.info not in read_bag(tmp_path / 'out')

    write_bag(tmp_path / 'no_info', n=2, info_frames=set())
    with pytest.raises(BagError, match='no messages on /camera/camera/color/camera_info'):
        refine_bag(tmp_path / 'no_info', tmp_path / 'out2', classical)


def humble_style(bag, custom_chatter=False):
    """Make a sqlite3 bag look like Humble's: schema 3, no message definitions stored."""
    with sqlite3.connect(next(bag.glob('*.db3'))) as db:
        db.execute('UPDATE schema SET schema_version = 3')
        if custom_chatter:
            db.execute("UPDATE topics SET type = 'my_pkg/msg/Thing' WHERE name = '/chatter'")
    if custom_chatter:
        meta = bag / 'metadata.yaml'
        meta.write_text(meta.read_text().replace(STRING, 'my_pkg/msg/Thing'))


def test_bags_without_message_definitions(tmp_path, classical):
    written = write_bag(tmp_path / 'in', n=2, storage='sqlite3')
    humble_style(tmp_path / 'in')
    with Reader(tmp_path / 'in') as reader:
        assert all(c.msgdef.data == '' for c in reader.connections)
    refine_bag(tmp_path / 'in', tmp_path / 'out', classical, RefineOptions(progress=False))
    out = read_bag(tmp_path / 'out')
    # Standard types get their definitions from the typestore; the bytes are unchanged.
    assert out['/chatter'][0][2].msgdef.data == 'string data\n'
    assert [raw for _, raw, _ in out['/chatter']] == [r for t, _, r in written if t == '/chatter']

    write_bag(tmp_path / 'custom', n=2, storage='sqlite3')
    humble_style(tmp_path / 'custom', custom_chatter=True)
    with pytest.raises(BagError, match='cannot copy topic /chatter: type my_pkg/msg/Thing has '
                       'no definition'):
        refine_bag(tmp_path / 'custom', tmp_path / 'out2', classical)
    assert not (tmp_path / 'out2').exists()


class _InterruptAfter:
    """A backend that behaves like Ctrl-C arriving during frame ``n`` + 1."""

    def __init__(self, backend, n):
        self.backend, self.n, self.calls = backend, n, 0

    def complete(self, rgb, depth, K):
        self.calls += 1
        if self.calls > self.n:
            raise KeyboardInterrupt
        return self.backend.complete(rgb, depth, K)


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_interrupt_leaves_a_readable_bag(tmp_path, classical, storage):
    write_bag(tmp_path / 'in', n=6)
    report = refine_bag(tmp_path / 'in', tmp_path / 'out', _InterruptAfter(classical, 2),
                        RefineOptions(storage=storage, progress=False))
    assert report.interrupted and report.frames == 2
    out = read_bag(tmp_path / 'out')
    assert len(out['/lingbot_depth/depth_refined/image']) == 2
    with Reader(tmp_path / 'out') as reader:
        assert reader.message_count == sum(len(v) for v in out.values())
        assert reader.topics['/lingbot_depth/depth_refined/camera_info'].msgcount == 2


SLOW_REFINE = textwrap.dedent("""
    import sys, time
    from lingbot_depth_ros.tools.bag.refine import refine_bag, RefineOptions
    from lingbot_depth_ros.backends.classical import ClassicalBackend

    class Slow:
        def __init__(self):
            self.backend = ClassicalBackend()
        def complete(self, rgb, depth, K):
            time.sleep(0.2)
            return self.backend.complete(rgb, depth, K)

    report = refine_bag(sys.argv[1], sys.argv[2], Slow(), RefineOptions(progress=False))
    print(report.frames, report.interrupted, flush=True)
    sys.exit(130 if report.interrupted else 0)
""")


@pytest.mark.parametrize('number', [signal.SIGINT, signal.SIGTERM])
def test_stop_signal_finishes_the_current_frame_and_the_bag(tmp_path, number):
    write_bag(tmp_path / 'in', n=40)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen([sys.executable, '-c', SLOW_REFINE, str(tmp_path / 'in'),
                                str(tmp_path / 'out')], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    # Wait until the writer has created the bag, then a few frames more.
    while not (tmp_path / 'out').exists() and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    time.sleep(0.7)
    process.send_signal(number)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    frames = int(stdout.split()[0])
    assert 1 <= frames < 40
    assert 'stopping after this frame' in stderr
    out = read_bag(tmp_path / 'out')
    assert len(out['/lingbot_depth/depth_refined/image']) == frames


def test_truncated_input_names_the_file(tmp_path, classical):
    write_bag(tmp_path / 'in', n=3)
    (mcap,) = (tmp_path / 'in').glob('*.mcap')
    mcap.write_bytes(mcap.read_bytes()[:mcap.stat().st_size // 2])
    with pytest.raises(BagError, match=r'in: cannot read in.*\.mcap: truncated or corrupt'):
        refine_bag(tmp_path / 'in', tmp_path / 'out', classical)
    with pytest.raises(BagError, match=r'\.mcap: cannot read .*\.mcap: truncated or corrupt'):
        refine_bag(mcap, tmp_path / 'out', classical)
    assert not (tmp_path / 'out').exists()


def test_directory_without_metadata_is_named_as_a_directory(tmp_path, classical):
    write_bag(tmp_path / 'in', n=2)
    (tmp_path / 'in' / 'metadata.yaml').unlink()
    with pytest.raises(BagError, match='in: not a rosbag2 directory: it has no metadata.yaml'):
        refine_bag(tmp_path / 'in', tmp_path / 'out', classical)


class _InterruptedWriter(Writer):
    """A writer that behaves like a second Ctrl-C arriving between a frame's writes."""

    def write(self, connection, timestamp, data):
        if connection.topic.endswith('/camera_info') and connection.topic.startswith(
                '/lingbot_depth') and getattr(self, 'infos', 0) == 2:
            raise KeyboardInterrupt
        if connection.topic == '/lingbot_depth/depth_refined/camera_info':
            self.infos = getattr(self, 'infos', 0) + 1
        super().write(connection, timestamp, data)


def test_frames_refined_equals_the_depth_images_in_the_bag(tmp_path, classical, monkeypatch):
    from lingbot_depth_ros.tools.bag import refine
    write_bag(tmp_path / 'in', n=6)
    monkeypatch.setattr(refine, 'Writer', _InterruptedWriter)
    report = refine_bag(tmp_path / 'in', tmp_path / 'out', classical,
                        RefineOptions(progress=False))
    out = read_bag(tmp_path / 'out')
    assert report.interrupted
    assert report.frames == len(out['/lingbot_depth/depth_refined/image']) == 3
    assert len(out['/lingbot_depth/depth_refined/camera_info']) == 2
