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
``lingbot-depth capture``: record a camera's raw frames and their refined depth to a bag.

The camera is opened through ``sources`` (pyrealsense2 / pyorbbecsdk2, depth aligned in
the SDK); each frame is written as the driver would record it (colour rgb8, depth 16UC1
millimetres, camera_info on the driver's topic names) and refined on the node's frame path
(``decode_frame``, ``create_backend``), the outputs added as
``/lingbot_depth/depth_refined/image`` and ``.../camera_info`` with the frame's stamp.
Ctrl-C (or ``--frames`` / ``--duration``) ends the recording with a complete bag.
"""

import argparse
from pathlib import Path
import time

from lingbot_depth_ros.backends.factory import create_backend
from lingbot_depth_ros.messages.camera import frame_messages
from lingbot_depth_ros.messages.frame import decode_frame, depth_outputs, limit_output
from lingbot_depth_ros.messages.topics import TOPIC_PRESETS
from lingbot_depth_ros.sources.base import CAMERAS, create_source
from lingbot_depth_ros.tools.bag import messages as bag_msgs
from lingbot_depth_ros.tools.bag import storage as bag_io
from lingbot_depth_ros.tools.bag.stop import stop_signals, StopRequest
from lingbot_depth_ros.tools.options import (add_backend_arguments, add_frame_arguments,
                                             backend_settings, frame_settings)

OUTPUT_PREFIX = '/lingbot_depth'


def add_capture_arguments(parser: argparse.ArgumentParser) -> None:
    """
    Add the ``capture`` options to a parser.

    :param parser: the subcommand's parser.
    """
    parser.add_argument('--camera', choices=CAMERAS, required=True, help='camera SDK')
    parser.add_argument('--serial', default='', help='serial number (default: first found)')
    parser.add_argument('--profile', default='640x480x30', metavar='WxHxFPS',
                        help='colour and depth profile (default: 640x480x30)')
    parser.add_argument('--output', required=True, metavar='BAG',
                        help='rosbag2 directory to create (mcap)')
    parser.add_argument('--frames', type=int, default=0, metavar='N',
                        help='stop after N frames (default: until Ctrl-C)')
    parser.add_argument('--duration', type=float, default=0.0, metavar='S',
                        help='stop after S seconds (default: until Ctrl-C)')
    parser.add_argument('--force', action='store_true', help='replace an existing bag')
    add_backend_arguments(parser)
    add_frame_arguments(parser.add_argument_group('depth'))


def capture(source, backend, output, settings, frames: int = 0, duration: float = 0.0,
            force: bool = False, stop=None) -> int:
    """
    Record raw and refined frames of an opened source to a new mcap bag.

    :param source: an open sources.base.CameraSource.
    :param backend: the completion backend.
    :param output: bag directory to create.
    :param settings: FrameSettings (depth range, mode).
    :param frames: stop after this many frames (0: no limit).
    :param duration: stop after this many seconds (0: no limit).
    :param force: replace an existing bag.
    :param stop: object whose ``requested`` ends the recording (a StopRequest).
    :return: number of frames recorded.
    """
    from rosbags.rosbag2 import Writer  # only the bag tools need rosbags

    bag_io.prepare_output(Path(output), force)
    raw_topics = TOPIC_PRESETS.get(source.camera, TOPIC_PRESETS['realsense'])
    store = bag_msgs.typestore()
    names = (raw_topics.rgb, raw_topics.depth, raw_topics.info) + bag_io.output_topics(
        OUTPUT_PREFIX, points=False)
    types = (bag_msgs.IMAGE, bag_msgs.IMAGE, bag_msgs.CAMERA_INFO, bag_msgs.IMAGE,
             bag_msgs.CAMERA_INFO)
    count, started = 0, time.monotonic()
    with Writer(Path(output), version=bag_io.BAG_VERSION,
                storage_plugin=bag_io.storage_plugin('mcap')) as bag:
        conns = [bag.add_connection(t, ty, typestore=store) for t, ty in zip(names, types)]
        while not (stop is not None and stop.requested):
            if (frames and count >= frames) or (duration and
                                                time.monotonic() - started >= duration):
                break
            frame = source.read(timeout_s=1.0)
            if frame is None:
                bag_io.log('capture: no frame for 1 s, waiting')
                continue
            raw = frame_messages(frame.rgb, frame.depth, frame.K, frame.stamp_ns,
                                 frame.frame_id, '16UC1')
            decoded = decode_frame(*frame_messages(frame.rgb, frame.depth, frame.K,
                                                   frame.stamp_ns, frame.frame_id, '32FC1'),
                                   settings)
            result = limit_output(backend.complete(decoded.rgb, decoded.depth, decoded.K),
                                  settings.depth_range)
            image, info, _ = depth_outputs(decoded, result.depth)
            for conn, msg in zip(conns, raw + (image, info)):
                bag.write(conn, frame.stamp_ns, store.serialize_cdr(
                    bag_msgs.to_rosbags(msg), bag_msgs.ros_type_name(msg)))
            count += 1
    return count


def run_capture(args: argparse.Namespace) -> int:
    """
    Run ``capture``.

    :param args: parsed arguments.
    :return: the exit code.
    """
    settings = frame_settings(args)
    source = create_source(args.camera, args.serial, args.profile)
    bag_io.check_output(Path(args.output), args.force)
    backend = create_backend(backend_settings(args, (source.profile.height,
                                                     source.profile.width)))
    stop = StopRequest()
    with source, stop_signals(stop):
        count = capture(source, backend, args.output, settings, args.frames, args.duration,
                        args.force, stop)
    bag_io.log(f'capture: wrote {count} frames to {args.output}')
    return 0
