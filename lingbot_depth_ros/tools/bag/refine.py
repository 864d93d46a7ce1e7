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
Refine the depth of a recorded rosbag2 offline (``lingbot-depth refine-bag``).

Every input message in the selected time span is copied to the output bag unchanged (same
raw bytes, connection type, definition, QoS and log time). Colour, depth and camera_info are
paired by the node's ``sync.FrameSynchronizer`` and every pair (not only the newest, as in
the live node) goes through a completion backend. The refined depth, its camera_info and
optionally a point cloud are added as ``<prefix>/depth_refined/image``,
``<prefix>/depth_refined/camera_info`` and ``<prefix>/points``; they carry the colour
image's header and, as log time, the later log time of the colour/depth pair.
"""

import contextlib
from dataclasses import dataclass, field
import math
from pathlib import Path
import signal
import time
from typing import Dict, Iterator, Optional, Set, Tuple

from lingbot_depth_ros.messages.frame import (cloud_output, decode_frame, DecodedFrame,
                                              depth_outputs, FrameRejected, FrameSettings,
                                              InputTopics, limit_output)
from lingbot_depth_ros.sync import FrameSynchronizer
from lingbot_depth_ros.tools.bag import messages as bag_msgs
from lingbot_depth_ros.tools.bag import storage as bag_io
from lingbot_depth_ros.tools.bag.stop import stop_signals, StopRequest
from lingbot_depth_ros.tools.bag.storage import BagError, TopicSet
from rosbags.rosbag2 import Reader, Writer


@dataclass
class RefineOptions:
    """Settings of one ``refine_bag`` run (the ``refine-bag`` command-line options)."""

    rgb_topic: Optional[str] = None
    depth_topic: Optional[str] = None
    info_topic: Optional[str] = None
    output_prefix: str = '/lingbot_depth'
    points: bool = False
    point_decimation: int = 1
    depth_encoding: str = '32FC1'
    # Depth units, range and mode: the node's rules (frame_decoding).
    frame: FrameSettings = FrameSettings()
    storage: str = 'mcap'
    max_frames: Optional[int] = None
    # Seconds of log time: offsets from the bag start, or absolute UNIX times when >= 1e9.
    start: Optional[float] = None
    end: Optional[float] = None
    slop_s: float = 0.02
    force: bool = False
    # None: show the progress bar only when stderr is a terminal.
    progress: Optional[bool] = None


@dataclass
class RefineReport:
    """What a ``refine_bag`` run did."""

    topics: TopicSet
    output_topics: Tuple[str, ...]
    frames: int = 0
    copied: int = 0
    written: Dict[str, int] = field(default_factory=dict)
    sync_drops: Dict[str, int] = field(default_factory=dict)
    # Pairs that could not be decoded (bad encoding, intrinsics, size), by reason.
    skipped: Dict[str, int] = field(default_factory=dict)
    # Keys of the decoding notices already logged (each is logged once).
    notices: Set[str] = field(default_factory=set)
    clipped_pixels: int = 0
    elapsed_s: float = 0.0
    interrupted: bool = False
    reached_max_frames: bool = False
    # Summed seconds per stage over all frames.
    timings: Dict[str, float] = field(default_factory=dict)

    @property
    def frames_per_s(self) -> float:
        """Return refined frames per second of wall time."""
        return self.frames / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def summary(self) -> str:
        """Return a few human-readable lines about the run."""
        state = 'interrupted' if self.interrupted else 'done'
        lines = [f'{state}: {self.frames} frames refined in {self.elapsed_s:.1f} s '
                 f'({self.frames_per_s:.2f} frames/s), {self.copied} input messages copied']
        if self.frames:
            lines.append('per frame: ' + ', '.join(f'{stage} {1000 * s / self.frames:.1f} ms'
                                                   for stage, s in self.timings.items()))
        drops = {k: v for k, v in self.sync_drops.items() if v}
        if drops:
            lines.append('unpaired messages: ' + ', '.join(f'{k} {v}' for k, v in drops.items()))
        if self.skipped:
            lines.append('frames skipped: ' + ', '.join(f'{k} {v}'
                                                        for k, v in self.skipped.items()))
        if self.clipped_pixels:
            lines.append(f'{self.clipped_pixels} depth pixels clipped to 65.535 m (16UC1)')
        return '\n'.join(lines)


def decode_bag_frame(rgb, depth, info, topics: TopicSet,
                     settings: FrameSettings) -> DecodedFrame:
    """
    Decode the rosbags messages of a frame with the node's rules (``frame_decoding``).

    :param rgb: colour Image or CompressedImage.
    :param depth: depth Image.
    :param info: colour CameraInfo.
    :param topics: the topic names, for the error messages.
    :param settings: depth units, range and mode.
    :return: the DecodedFrame.
    :raises FrameRejected: as ``frame_decoding.decode_frame``, naming the topic and stamp.
    """
    stamp = rgb.header.stamp
    try:
        return decode_frame(rgb, depth, info, settings,
                            InputTopics(topics.rgb, topics.depth, topics.info))
    except FrameRejected as error:
        raise FrameRejected(error.reason, f'{error.topic} at {stamp.sec}.{stamp.nanosec:09d}',
                            error.detail) from None


class _FrameRefiner:
    """Complete the depth of a matched frame and write the outputs."""

    def __init__(self, backend, writer: Writer, connections, options: RefineOptions,
                 report: RefineReport):
        self.backend = backend
        self.writer = writer
        self.connections = connections
        self.options = options
        self.report = report

    def __call__(self, frame) -> None:
        store, report, options = bag_msgs.typestore(), self.report, self.options
        start = time.perf_counter()
        try:
            decoded = decode_bag_frame(frame.rgb, frame.depth, frame.info, report.topics,
                                       options.frame)
        except FrameRejected as rejected:
            if rejected.reason not in report.skipped:
                bag_io.log(f'refine-bag: skipping a frame: {rejected}')
            report.skipped[rejected.reason] = report.skipped.get(rejected.reason, 0) + 1
            return
        for notice in decoded.notices:
            if notice.key not in report.notices:
                bag_io.log(f'refine-bag: {notice.text}')
                report.notices.add(notice.key)
        decoded_at = time.perf_counter()
        result = limit_output(self.backend.complete(decoded.rgb, decoded.depth, decoded.K),
                              options.frame.depth_range)
        completed = time.perf_counter()
        image, info, clipped = depth_outputs(decoded, result.depth, options.depth_encoding)
        outputs = [(image, bag_msgs.IMAGE), (info, bag_msgs.CAMERA_INFO)]
        if options.points:
            cloud = cloud_output(decoded, result.depth, decimation=options.point_decimation)
            outputs.append((cloud, bag_msgs.POINT_CLOUD2))
        raw = [(topic, store.serialize_cdr(bag_msgs.to_rosbags(msg), msgtype))
               for topic, (msg, msgtype) in zip(report.output_topics, outputs)]
        for index, (topic, data) in enumerate(raw):
            # The later log time of the pair: the output cannot exist before its inputs.
            self.writer.write(self.connections[topic], frame.received_ns, data)
            report.written[topic] = report.written.get(topic, 0) + 1
            if index == 0:
                # A frame is refined once its depth is in the bag, even if a second Ctrl-C
                # stops the writes of its camera_info or cloud.
                report.frames += 1
        report.clipped_pixels += clipped
        for stage, seconds in (('decode', decoded_at - start),
                               ('complete', completed - decoded_at),
                               ('encode+write', time.perf_counter() - completed)):
            report.timings[stage] = report.timings.get(stage, 0.0) + seconds


def _frames_estimate(reader: Reader, topics: TopicSet, start_ns, stop_ns,
                     max_frames: Optional[int]) -> int:
    count = reader.topics[topics.rgb].msgcount
    span = max(1, reader.end_time - reader.start_time)
    lo = reader.start_time if start_ns is None else max(start_ns, reader.start_time)
    hi = reader.end_time if stop_ns is None else min(stop_ns, reader.end_time)
    estimate = int(math.ceil(count * max(0, hi - lo) / span))
    return estimate if max_frames is None else min(estimate, max_frames)


@dataclass
class BagPlan:
    """What the checks of a bag before writing found out."""

    topics: TopicSet
    output_topics: Tuple[str, ...]
    # (height, width) of the first colour image: the size the backend will see.
    image_size: Tuple[int, int]
    start_ns: Optional[int] = None
    stop_ns: Optional[int] = None
    # The newest camera_info logged before the span, if any.
    prior_info: object = None


def _plan(reader: Reader, source: Path, output: Path, options: RefineOptions) -> BagPlan:
    if reader.message_count == 0:
        raise BagError(f'empty bag: {source} holds no messages')
    topics, names = _check_topics(reader, options)
    start_ns = bag_io.resolve_time(options.start, reader.start_time)
    stop_ns = bag_io.resolve_time(options.end, reader.start_time)
    if start_ns is not None and stop_ns is not None and stop_ns <= start_ns:
        raise ValueError(f'end: expected a time after start ({options.start} s), got '
                         f'{options.end} s')
    first, prior_info = bag_io.first_messages(reader, topics, start_ns, stop_ns)
    # Unsupported encodings and bad intrinsics fail here, before OUTPUT exists.
    try:
        rgb = decode_bag_frame(first['rgb'], first['depth'], first['info'], topics,
                               options.frame).rgb
    except FrameRejected as rejected:
        raise BagError(str(rejected)) from None
    for conn in reader.connections:
        bag_io.connection_source(conn)
    bag_io.check_output(output, options.force, source)
    return BagPlan(topics, names, rgb.shape[:2], start_ns, stop_ns, prior_info)


@contextlib.contextmanager
def open_checked(source, options: RefineOptions) -> Iterator[Reader]:
    bag_io.storage_plugin(options.storage)
    if options.max_frames is not None and options.max_frames < 1:
        raise ValueError(f'max_frames: expected an int >= 1, got {options.max_frames}')
    source = Path(source)
    if not source.exists():
        raise BagError(f'input bag {source} does not exist')
    if source.is_dir() and not (source / 'metadata.yaml').is_file():
        raise BagError(f'{source}: not a rosbag2 directory: it has no metadata.yaml (pass the '
                       'directory `ros2 bag record` made, or one of its .mcap / .db3 files)')
    reader = Reader(source)
    try:
        reader.open()
    except Exception as error:  # noqa: B902 - rosbags raises its own and plain errors
        files = sorted(p.name for p in source.glob('*')
                       if p.suffix in ('.mcap', '.db3')) if source.is_dir() else [source.name]
        raise BagError(f'{source}: cannot read {", ".join(files) or "the bag"}: truncated or '
                       f'corrupt ({error}); a recording that was killed leaves an unfinished '
                       'file: `ros2 bag reindex` it, or refine the finished files') from error
    try:
        yield reader
    finally:
        reader.close()


def check_bag(source, output, options: Optional[RefineOptions] = None) -> BagPlan:
    """
    Run every check of ``refine_bag`` that needs no backend, writing nothing.

    Lets a caller fail fast before loading a network, and warm it up at the right size.

    :param source: input bag.
    :param output: output bag directory.
    :param options: RefineOptions (defaults when None).
    :return: the BagPlan: topics that would be used, image size, resolved time span.
    :raises BagError: as ``refine_bag``.
    """
    options = options or RefineOptions()
    with open_checked(source, options) as reader:
        return _plan(reader, Path(source), Path(output), options)


def refine_bag(source, output, backend, options: Optional[RefineOptions] = None
               ) -> RefineReport:
    """
    Copy a rosbag2 and add the refined depth of every colour/depth pair.

    Ctrl-C (SIGINT, when called from the main thread) stops after the current frame; a
    second Ctrl-C, or a KeyboardInterrupt raised by the backend, stops at once. Either way
    the output is closed properly and is a readable bag.

    :param source: input bag directory (or .mcap / .db3 file); never modified.
    :param output: output bag directory to create (replaced only with ``options.force``).
    :param backend: a backend with ``complete(rgb, depth, K) -> CompletionResult``.
    :param options: RefineOptions (defaults when None).
    :return: a RefineReport (``interrupted`` set when stopped by Ctrl-C).
    :raises BagError: for a bag that cannot be processed, before the output is created
        where that can be known (one-line reason; ``details`` lists the bag's topics when
        topics are missing).
    :raises ValueError: for invalid options.
    """
    options = options or RefineOptions()
    source, output = Path(source), Path(output)
    with open_checked(source, options) as reader:
        plan = _plan(reader, source, output, options)
        bag_io.prepare_output(output, options.force, source)
        report = RefineReport(topics=plan.topics, output_topics=plan.output_topics)
        writer = Writer(output, version=bag_io.BAG_VERSION,
                        storage_plugin=bag_io.storage_plugin(options.storage))
        writer.open()
        try:
            stop = StopRequest()
            with stop_signals(stop):
                _run(reader, writer, backend, options, report, plan, stop)
        except KeyboardInterrupt:
            report.interrupted = True
        finally:
            # A Ctrl-C while the index and metadata are written would spoil the bag.
            with stop_signals(signal.SIG_IGN):
                writer.close()
    return report


def _check_topics(reader: Reader, options: RefineOptions) -> Tuple[TopicSet, Tuple[str, ...]]:
    available = {t: info.msgtype for t, info in reader.topics.items()}
    try:
        topics = bag_io.detect_topics(available, options.rgb_topic, options.depth_topic,
                                      options.info_topic)
    except BagError as error:
        table = bag_io.format_topic_table(bag_io.topic_table(reader))
        raise BagError(str(error), 'available topics:\n' + table) from None
    bag_io.check_topic_types(available, topics)
    names = bag_io.output_topics(options.output_prefix, options.points)
    clash = [t for t in names if t in available]
    if clash:
        raise BagError(f'the input already has {", ".join(clash)}; choose another '
                       '--output-prefix')
    return topics, names


def _run(reader: Reader, writer: Writer, backend, options: RefineOptions,
         report: RefineReport, plan: BagPlan, stop: StopRequest) -> None:
    from tqdm import tqdm  # only the bag tools draw a progress bar

    start_ns, stop_ns = plan.start_ns, plan.stop_ns
    topics, store = report.topics, bag_msgs.typestore()
    copies = bag_io.copy_connections(reader, writer)
    qos = next(c.ext.offered_qos_profiles for c in reader.connections if c.topic == topics.depth)
    types = (bag_msgs.IMAGE, bag_msgs.CAMERA_INFO, bag_msgs.POINT_CLOUD2)
    outputs = {t: writer.add_connection(t, ty, typestore=store, offered_qos_profiles=qos)
               for t, ty in zip(report.output_topics, types)}
    log_ns = [0]
    # Offline the log time plays the receive time, so matches carry the pair's log time.
    sync = FrameSynchronizer(slop_s=options.slop_s, clock=lambda: log_ns[0])
    if plan.prior_info is not None:
        sync.add_info(plan.prior_info)
    refine = _FrameRefiner(backend, writer, outputs, options, report)
    adders = {topics.rgb: sync.add_rgb, topics.depth: sync.add_depth, topics.info: sync.add_info}
    show = options.progress
    bar = tqdm(total=_frames_estimate(reader, topics, start_ns, stop_ns, options.max_frames),
               unit='frame', desc='refine-bag', disable=None if show is None else not show,
               dynamic_ncols=True)
    started = time.perf_counter()
    try:
        for conn, timestamp, raw in reader.messages(start=start_ns, stop=stop_ns):
            writer.write(copies[conn.id], timestamp, raw)
            report.copied += 1
            add = adders.get(conn.topic)
            if add is not None:
                log_ns[0] = timestamp
                for frame in add(store.deserialize_cdr(raw, conn.msgtype)):
                    refine(frame)
                    bar.update(1)
                    if options.max_frames is not None and report.frames >= options.max_frames:
                        report.reached_max_frames = True
                        break
            if report.reached_max_frames:
                break
            if stop.requested:
                report.interrupted = True
                break
    finally:
        report.elapsed_s = time.perf_counter() - started
        report.sync_drops = dict(sync.counters)
        unpaired = sum(sync.pending) + 2 * sync.held_without_info
        if unpaired:
            report.sync_drops['unpaired_at_end'] = unpaired
        bar.close()
