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
rosbag2 plumbing of the offline tools, through the pure-Python ``rosbags`` library.

Topic detection (the RealSense and Orbbec driver names), the checks that run before an
output bag is created, copying connections unchanged, and writing RGB-D frames as a camera
driver would record them. The message (de)coding lives in ``bag_msgs``.
"""

import math
from pathlib import Path
import shutil
import sys
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from lingbot_depth_ros.messages import conversions as msg_conversions
from lingbot_depth_ros.messages.buffers import header_from_ns
from lingbot_depth_ros.messages.topics import REALSENSE_TOPICS, TOPIC_PRESETS, TopicSet
from lingbot_depth_ros.sync import NS_PER_S
from lingbot_depth_ros.tools.bag.messages import (CAMERA_INFO, COMPRESSED_IMAGE, IMAGE,
                                                  ros_type_name, to_rosbags, typestore)
from lingbot_depth_ros.tools.synthetic import messages as synthetic_messages
import numpy as np
from rosbags.interfaces import ConnectionExtRosbag2
from rosbags.rosbag2 import StoragePlugin, Writer

STORAGES = {'mcap': StoragePlugin.MCAP, 'sqlite3': StoragePlugin.SQLITE3}
BAG_VERSION = 9
# --start / --end values from here on are absolute UNIX times, smaller ones offsets.
ABSOLUTE_TIME_THRESHOLD_S = 1e9


class BagError(Exception):
    """A bag the tools cannot process; ``str()`` is a one-line reason for the user."""

    def __init__(self, reason: str, details: str = ''):
        """
        Create the error.

        :param reason: one line saying what is wrong.
        :param details: optional further lines (e.g. the table of available topics).
        """
        super().__init__(reason)
        self.details = details


def storage_plugin(name: str) -> StoragePlugin:
    """
    Map a storage name to the rosbags plugin.

    :param name: ``'mcap'`` or ``'sqlite3'``.
    :return: the StoragePlugin.
    """
    if name not in STORAGES:
        raise ValueError(f'storage: expected one of {sorted(STORAGES)}, got {name!r}')
    return STORAGES[name]


def topic_table(reader) -> List[Tuple[str, str, int]]:
    """
    List a bag's topics.

    :param reader: an open ``rosbags.rosbag2.Reader``.
    :return: ``(topic, message type, message count)`` sorted by topic.
    """
    return [(name, info.msgtype or 'mixed types', int(info.msgcount))
            for name, info in sorted(reader.topics.items())]


def format_topic_table(rows: Sequence[Tuple[str, str, int]]) -> str:
    """
    Format ``topic_table`` rows for a terminal.

    :param rows: ``(topic, type, count)`` tuples.
    :return: one indented line per topic, or a note that there are none.
    """
    if not rows:
        return '  (no topics)'
    width = max(len(r[0]) for r in rows)
    return '\n'.join(f'  {t:<{width}}  {ty}  ({n} msgs)' for t, ty, n in rows)


def detect_topics(available: Dict[str, str], rgb: Optional[str] = None,
                  depth: Optional[str] = None, info: Optional[str] = None) -> TopicSet:
    """
    Choose the colour, depth and camera_info topics of a bag.

    Topics given explicitly are taken as they are; the others come from the first preset
    in ``TOPIC_PRESETS`` (RealSense, then Orbbec) whose topics are all in the bag.

    :param available: topic -> message type of the bag.
    :param rgb: explicit colour topic or None.
    :param depth: explicit depth topic or None.
    :param info: explicit camera_info topic or None.
    :return: the chosen TopicSet.
    :raises BagError: when a chosen topic is missing (details list nothing; the caller adds
        the bag's topic table).
    """
    candidates = [TopicSet(rgb or p.rgb, depth or p.depth, info or p.info)
                  for p in TOPIC_PRESETS.values()]
    for topics in candidates:
        if all(t in available for t in (topics.rgb, topics.depth, topics.info)):
            return topics
    if rgb and depth and info:
        missing = [t for t in (rgb, depth, info) if t not in available]
        raise BagError(f'missing topics: {", ".join(missing)}')
    tried = '; '.join(
        f'{name} lacks ' + ', '.join(t for t in (c.rgb, c.depth, c.info) if t not in available)
        for name, c in zip(TOPIC_PRESETS, candidates))
    raise BagError(f'missing topics: no complete camera found ({tried}); name them with '
                   '--rgb-topic, --depth-topic and --info-topic')


def check_topic_types(available: Dict[str, str], topics: TopicSet) -> None:
    """
    Check that the chosen topics are distinct and carry message types the tools decode.

    :param available: topic -> message type of the bag.
    :param topics: the chosen topics.
    :raises BagError: naming the topic, its type and the accepted types.
    """
    if topics.rgb == topics.depth:
        raise BagError(f'the colour and depth topics must differ, got {topics.rgb} for both')
    wanted = ((topics.rgb, 'colour', (IMAGE, COMPRESSED_IMAGE)),
              (topics.depth, 'depth', (IMAGE,)), (topics.info, 'camera_info', (CAMERA_INFO,)))
    for topic, role, accepted in wanted:
        if available[topic] not in accepted:
            raise BagError(f'unsupported message type {available[topic]} on the {role} topic '
                           f'{topic} (expected {" or ".join(accepted)})')


def write_rgbd_bag(path, frames: Iterable[Tuple[int, np.ndarray, np.ndarray, np.ndarray]],
                   topics: TopicSet = REALSENSE_TOPICS, storage: str = 'mcap',
                   frame_id: str = 'camera_color_optical_frame',
                   depth_encoding: str = '16UC1') -> int:
    """
    Write RGB-D frames to a new rosbag2 as a camera driver would record them.

    :param path: the bag directory to create (must not exist).
    :param frames: ``(stamp_ns, rgb uint8 HxWx3, depth float32 HxW metres (0 = no return),
        K 3x3)`` tuples in stamp order. Colour (rgb8), depth and camera_info (plumb_bob,
        no distortion) share the stamp, which is also their log time.
    :param topics: the topic names.
    :param storage: ``'mcap'`` or ``'sqlite3'``.
    :param frame_id: header frame of all three messages.
    :param depth_encoding: ``'16UC1'`` (millimetres, as RealSense and Orbbec publish) or
        ``'32FC1'``.
    :return: the number of frames written.
    """
    store = typestore()
    count = 0
    with Writer(Path(path), version=BAG_VERSION, storage_plugin=storage_plugin(storage)) as bag:
        conns = {t: bag.add_connection(t, ty, typestore=store)
                 for t, ty in ((topics.rgb, IMAGE), (topics.depth, IMAGE),
                               (topics.info, CAMERA_INFO))}
        for stamp_ns, rgb, depth_m, K in frames:
            header = header_from_ns(int(stamp_ns), frame_id)
            height, width = np.shape(depth_m)
            depth, _ = msg_conversions.depth_to_image(np.asarray(depth_m), header,
                                                      depth_encoding)
            messages = ((topics.rgb, msg_conversions.rgb_to_image(rgb, header)),
                        (topics.depth, depth),
                        (topics.info, synthetic_messages.camera_info(K, width, height, header)))
            for topic, msg in messages:
                bag.write(conns[topic], int(stamp_ns),
                          store.serialize_cdr(to_rosbags(msg), ros_type_name(msg)))
            count += 1
    return count


def output_topics(prefix: str, points: bool) -> Tuple[str, ...]:
    """
    Name the output topics.

    :param prefix: namespace such as ``/lingbot_depth`` (``''`` or ``'/'`` for the root).
    :param points: include the point cloud topic.
    :return: ``(image, camera_info[, points])`` topic names.
    """
    if not isinstance(prefix, str) or (prefix and not prefix.startswith('/')):
        raise ValueError(f'output_prefix: expected an absolute namespace such as '
                         f'/lingbot_depth, got {prefix!r}')
    prefix = prefix.rstrip('/')
    names = (f'{prefix}/depth_refined/image', f'{prefix}/depth_refined/camera_info')
    return names + ((f'{prefix}/points',) if points else ())


def resolve_time(value: Optional[float], bag_start_ns: int) -> Optional[int]:
    """
    Turn a --start / --end value into a log time.

    :param value: seconds; ``>= 1e9`` is an absolute UNIX time, smaller values are offsets
        from the bag's first message; None for no bound.
    :param bag_start_ns: log time of the bag's first message.
    :return: the log time in nanoseconds, or None.
    """
    if value is None:
        return None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f'time: expected a finite number of seconds >= 0, got {value!r}')
    if value >= ABSOLUTE_TIME_THRESHOLD_S:
        return int(round(value * NS_PER_S))
    return bag_start_ns + int(round(value * NS_PER_S))


def check_output(output: Path, force: bool = False, source: Optional[Path] = None) -> bool:
    """
    Check that an output bag can be created without touching anything it must not.

    :param output: the output bag directory.
    :param force: an existing output bag may be replaced.
    :param source: the input bag (directory or storage file), which must stay untouched.
    :return: True when ``output`` exists and is to be replaced.
    :raises BagError: when ``output`` exists without ``force``, overlaps the input, or
        exists but holds files a rosbag2 does not have (then it is never removed).
    """
    output = Path(output).resolve()
    if source is not None:
        source = Path(source).resolve()
        if output == source or source in output.parents or output in source.parents:
            raise BagError(f'output {output} overlaps the input {source}; choose another path')
    if not output.exists() and not output.is_symlink():
        return False
    if not force:
        raise BagError(f'output {output} exists; pass --force to replace it')
    if not output.is_dir() or output.is_symlink():
        raise BagError(f'output {output} exists and is not a bag directory; not replacing it')
    bag_like = all(p.is_file() and (p.name == 'metadata.yaml' or p.suffix in ('.mcap', '.db3'))
                   for p in output.iterdir())
    if not bag_like:
        raise BagError(f'output {output} holds files that are not part of a rosbag2; '
                       'not replacing it')
    return True


def prepare_output(output: Path, force: bool = False, source: Optional[Path] = None) -> None:
    """
    Check an output bag path (``check_output``) and remove the old bag it replaces.

    :param output: the output bag directory.
    :param force: remove an existing output bag.
    :param source: the input bag, which must stay untouched.
    :raises BagError: as ``check_output``.
    """
    if check_output(output, force, source):
        shutil.rmtree(Path(output).resolve())


def connection_source(conn) -> Dict[str, object]:
    """
    Say how to recreate an input connection in another bag.

    :param conn: a rosbags Connection of a rosbag2 reader.
    :return: keyword arguments for ``Writer.add_connection`` after topic and type: the
        bag's own definition and hash, or the typestore for a standard type whose
        definition the bag lacks (Humble's sqlite3 bags store none).
    :raises BagError: for a type with no definition in the bag that is not a standard one.
    """
    ext = conn.ext
    if not isinstance(ext, ConnectionExtRosbag2):
        raise BagError(f'topic {conn.topic}: expected a rosbag2 connection, got {ext!r}')
    kwargs = {'serialization_format': ext.serialization_format,
              'offered_qos_profiles': ext.offered_qos_profiles}
    if conn.msgdef.data and conn.digest:
        kwargs.update(msgdef=conn.msgdef.data, rihs01=conn.digest)
    elif conn.msgtype in typestore().fielddefs:
        kwargs.update(typestore=typestore())
    else:
        raise BagError(f'cannot copy topic {conn.topic}: type {conn.msgtype} has no '
                       'definition in the bag and is not a standard ROS 2 type')
    return kwargs


def copy_connections(reader, writer: Writer) -> Dict[int, object]:
    """
    Add an output connection for every input connection, with its type, definition and QoS.

    :param reader: an open ``rosbags.rosbag2.Reader``.
    :param writer: an open ``rosbags.rosbag2.Writer``.
    :return: input connection id -> output connection.
    :raises BagError: as ``connection_source``.
    """
    mapping = {}
    for conn in reader.connections:
        same = [c for c in writer.connections
                if (c.topic, c.msgtype, c.ext) == (conn.topic, conn.msgtype, conn.ext)]
        mapping[conn.id] = same[0] if same else writer.add_connection(
            conn.topic, conn.msgtype, **connection_source(conn))
    return mapping


def first_messages(reader, topics: TopicSet, start_ns: Optional[int] = None,
                   stop_ns: Optional[int] = None):
    """
    Return the first colour, depth and camera_info messages of a span of a bag.

    :param reader: an open ``rosbags.rosbag2.Reader``.
    :param topics: the three topics.
    :param start_ns: first log time of the span (None: the bag start).
    :param stop_ns: log time the span ends before (None: the bag end).
    :return: ``({'rgb': msg, 'depth': msg, 'info': msg}, prior_info)``, deserialized. The
        camera_info is the newest one logged before the span when there is one (a driver
        may publish it rarely), which is also returned as ``prior_info`` (else None).
    :raises BagError: when one of the topics has no message in (or, for camera_info,
        before) the span.
    """
    store = typestore()

    def messages(topic, start, stop):
        conns = [c for c in reader.connections if c.topic == topic]
        return reader.messages(connections=conns, start=start, stop=stop)

    first = {}
    for role in ('rgb', 'depth', 'info'):
        for conn, _, raw in messages(getattr(topics, role), start_ns, stop_ns):
            first[role] = store.deserialize_cdr(raw, conn.msgtype)
            break
    prior = None
    if start_ns is not None:
        for conn, _, raw in messages(topics.info, None, start_ns):
            prior = (conn.msgtype, raw)
        if prior is not None:
            prior = first['info'] = store.deserialize_cdr(prior[1], prior[0])
    for role in ('rgb', 'depth', 'info'):
        if role not in first:
            raise BagError(f'no messages on {getattr(topics, role)} in the selected span')
    return first, prior


def write_synthetic_bag(output, frames: int = 30, seed: int = 0, fps: float = 15.0,
                        width: int = 640, height: int = 480, storage: str = 'mcap',
                        force: bool = False) -> int:
    """
    Render a synthetic RGB-D sequence and record it on the RealSense driver topics.

    :param output: bag directory to create.
    :param frames: number of frames.
    :param seed: scene seed (``synthetic.make_scene``).
    :param fps: frame rate of the stamps.
    :param width: image width in pixels.
    :param height: image height in pixels.
    :param storage: ``'mcap'`` or ``'sqlite3'``.
    :param force: replace an existing bag at ``output``.
    :return: the number of frames written.
    """
    # The renderer is only needed here.
    from lingbot_depth_ros.tools.synthetic import renderer as synthetic

    storage_plugin(storage)
    prepare_output(Path(output), force)
    sequence = synthetic.iter_sequence(seed=seed, n_frames=frames, width=width, height=height,
                                       fps=fps)
    return write_rgbd_bag(
        output, ((f.stamp_ns, f.rgb, f.depth_sensor, f.K) for f in sequence),
        storage=storage, frame_id=synthetic.DEFAULT_FRAME_ID)


def log(message: str) -> None:
    """
    Print a status line of the offline tools on stderr.

    :param message: the line.
    """
    print(message, file=sys.stderr, flush=True)
