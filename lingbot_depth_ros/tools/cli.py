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
The ``lingbot-depth`` command: offline tools of lingbot_depth_ros.

Subcommands: ``refine-bag`` (refine the depth of a recorded rosbag2), ``synth-bag`` (write
a synthetic RealSense-topic bag), ``evaluate`` (from ``evaluation``), ``export`` (ONNX /
TensorRT, from ``export``), ``play`` (publish a bag), ``infer`` (one frame from files),
``capture`` (record a camera) and ``train`` / ``finetune`` / ``distill`` (from ``train``).
Exit codes: 0 done, 1 failure (one-line reason on stderr), 2 usage error, 130 interrupted
by Ctrl-C (the output written so far is complete: a bag, or a checkpoint). Heavy modules
(torch, the renderer) are imported only by the subcommand that needs them, so ``--help``
and the classical backend start fast.
"""

import argparse
from dataclasses import replace
import math
import sys
from typing import List, Optional, Sequence

from lingbot_depth_ros import __version__
from lingbot_depth_ros.tools.capture import add_capture_arguments, run_capture
from lingbot_depth_ros.tools.export import add_export_arguments, run_export
from lingbot_depth_ros.tools.infer import add_infer_arguments, run_infer
from lingbot_depth_ros.tools.options import (add_backend_arguments, add_frame_arguments,
                                             backend_settings, frame_settings)
from lingbot_depth_ros.tools.play import add_play_arguments, run_play
from lingbot_depth_ros.tools.train import commands as training

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_TIME_HELP = ('seconds: an offset from the first message of the bag, or an absolute UNIX '
              'time when >= 1e9 (as `ros2 bag info` prints it); selects by log time')


class UsageError(Exception):
    """Arguments that parse but do not fit together (exit code 2)."""


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'expected an integer >= 1, got {text}')
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if math.isnan(value) or value < 0:
        raise argparse.ArgumentTypeError(f'expected a number >= 0, got {text}')
    return value


def add_refine_bag_arguments(parser: argparse.ArgumentParser) -> None:
    """
    Add the ``refine-bag`` options to a parser.

    :param parser: the subcommand's parser.
    """
    parser.add_argument('input', help='input rosbag2 directory (or .mcap / .db3 file); '
                        'never modified')
    parser.add_argument('output', help='output rosbag2 directory; must not exist unless --force')
    add_backend_arguments(parser)
    topics = parser.add_argument_group('topics (default: RealSense or Orbbec names, '
                                       'auto-detected)')
    topics.add_argument('--rgb-topic', metavar='TOPIC',
                        help='colour image topic, Image or CompressedImage '
                        '(default: auto-detected)')
    topics.add_argument('--depth-topic', metavar='TOPIC',
                        help='depth image registered to colour (default: auto-detected)')
    topics.add_argument('--info-topic', metavar='TOPIC',
                        help='colour camera_info topic (default: auto-detected)')
    topics.add_argument('--slop', type=_non_negative_float, default=0.02, metavar='S',
                        help='largest colour/depth stamp difference in seconds (default: 0.02)')
    add_frame_arguments(parser.add_argument_group('depth'))
    out = parser.add_argument_group('output')
    out.add_argument('--output-prefix', default='/lingbot_depth', metavar='NS',
                     help='namespace of the added topics <prefix>/depth_refined/image, '
                     '<prefix>/depth_refined/camera_info and <prefix>/points '
                     '(default: /lingbot_depth)')
    out.add_argument('--points', action='store_true', help='also write <prefix>/points')
    out.add_argument('--point-decimation', type=_positive_int, default=1, metavar='N',
                     help='keep every n-th row and column of the point cloud (default: 1)')
    out.add_argument('--depth-encoding', choices=('32FC1', '16UC1'), default='32FC1',
                     help='refined depth encoding (default: 32FC1 metres, NaN holes)')
    out.add_argument('--storage', choices=('mcap', 'sqlite3'), default='mcap',
                     help='output storage plugin (default: mcap)')
    out.add_argument('--force', action='store_true', help='replace an existing output bag')
    span = parser.add_argument_group('frames')
    span.add_argument('--max-frames', type=_positive_int, metavar='N',
                      help='stop after this many refined frames (the output ends there)')
    span.add_argument('--start', type=_non_negative_float, metavar='S',
                      help='begin at this time: ' + _TIME_HELP)
    span.add_argument('--end', type=_non_negative_float, metavar='S',
                      help='stop before this time: ' + _TIME_HELP)
    span.add_argument('--no-progress', action='store_true', help='hide the progress bar')


def run_refine_bag(args: argparse.Namespace) -> int:
    """
    Run ``refine-bag``.

    :param args: parsed arguments.
    :return: the exit code.
    """
    from lingbot_depth_ros.backends.factory import create_backend
    from lingbot_depth_ros.tools.bag.refine import (RefineOptions, check_bag,
                                                    refine_bag)
    from lingbot_depth_ros.tools.bag.storage import log

    # Bad arguments, a bad bag or OUTPUT fail before a network is loaded.
    try:
        settings = backend_settings(args)
        frame = frame_settings(args)
    except ValueError as error:
        raise UsageError(str(error)) from None
    options = RefineOptions(
        rgb_topic=args.rgb_topic, depth_topic=args.depth_topic, info_topic=args.info_topic,
        output_prefix=args.output_prefix, points=args.points,
        point_decimation=args.point_decimation, depth_encoding=args.depth_encoding,
        frame=frame, storage=args.storage, max_frames=args.max_frames,
        start=args.start, end=args.end, slop_s=args.slop, force=args.force,
        progress=False if args.no_progress else None)
    plan = check_bag(args.input, args.output, options)
    topics = plan.topics
    backend = create_backend(replace(settings, warmup_sizes=(tuple(plan.image_size),)))
    log(f'refine-bag: {args.input} -> {args.output}: colour {topics.rgb}, depth '
        f'{topics.depth}, camera_info {topics.info}; backend {backend.name}')
    report = refine_bag(args.input, args.output, backend, options)
    log(report.summary())
    log(f'wrote {args.output}: ' + ', '.join(f'{t} ({n})' for t, n in report.written.items()))
    if report.interrupted:
        return EXIT_INTERRUPTED
    if report.frames == 0:
        raise RuntimeError('no colour/depth pair matched (see the unpaired counts above); '
                           'check --slop and the topics')
    return EXIT_OK


def add_synth_bag_arguments(parser: argparse.ArgumentParser) -> None:
    """
    Add the ``synth-bag`` options to a parser.

    :param parser: the subcommand's parser.
    """
    parser.add_argument('output', help='rosbag2 directory to create')
    parser.add_argument('--frames', type=_positive_int, default=30,
                        help='number of frames (default: 30)')
    parser.add_argument('--seed', type=int, default=0, help='scene seed (default: 0)')
    parser.add_argument('--fps', type=float, default=15.0,
                        help='frame rate of the stamps (default: 15)')
    parser.add_argument('--width', type=_positive_int, default=640,
                        help='image width (default: 640)')
    parser.add_argument('--height', type=_positive_int, default=480,
                        help='image height (default: 480)')
    parser.add_argument('--storage', choices=('mcap', 'sqlite3'), default='mcap',
                        help='storage plugin (default: mcap)')
    parser.add_argument('--force', action='store_true', help='replace an existing bag')


def run_synth_bag(args: argparse.Namespace) -> int:
    """
    Run ``synth-bag``.

    :param args: parsed arguments.
    :return: the exit code.
    """
    from lingbot_depth_ros.tools.bag.storage import log, write_synthetic_bag

    if not args.fps > 0 or not math.isfinite(args.fps):
        raise UsageError(f'--fps: expected a finite number > 0, got {args.fps}')
    count = write_synthetic_bag(args.output, frames=args.frames, seed=args.seed, fps=args.fps,
                                width=args.width, height=args.height, storage=args.storage,
                                force=args.force)
    log(f'synth-bag: wrote {count} frames to {args.output}')
    return EXIT_OK


_EVALUATE_HELP = 'compare depth completion backends on synthetic or folder data'


def _mount_evaluate(subparsers, load: bool) -> None:
    # The evaluation module (renderer, metrics, maybe torch) is imported only when the
    # command is `evaluate`, so the other commands start fast and work without it.
    if load:
        try:
            from lingbot_depth_ros.tools.evaluation import \
                evaluate as evaluation
        except ImportError as error:
            reason = f'evaluate is unavailable: {error}'
            parser = subparsers.add_parser('evaluate', help=_EVALUATE_HELP, description=reason)
            parser.set_defaults(handler=lambda args: _fail_unavailable(reason))
            return
        parser = subparsers.add_parser('evaluate', help=_EVALUATE_HELP,
                                       description=_EVALUATE_HELP.capitalize() + '.')
        evaluation.add_evaluate_arguments(parser)
        parser.set_defaults(handler=evaluation.run_evaluate)
        return
    subparsers.add_parser('evaluate', help=_EVALUATE_HELP, add_help=False)


_TRAINING_HELP = {
    'train': 'train a masked depth model (from scratch, a checkpoint or DINOv2 weights)',
    'finetune': "fine-tune a checkpoint, e.g. on your own robot's bags (self-supervised)",
    'distill': 'distil a teacher checkpoint into a smaller student',
}
_TRAINING_DESCRIPTION = ('Writes model.pt (released format), model.safetensors, train_state.pt '
                         '(--resume), train.csv / val.csv and TensorBoard events in --output. '
                         'Ctrl-C saves a checkpoint. Multi-process: torchrun --nproc-per-node N '
                         '-m lingbot_depth_ros.tools.cli ' + '<command> ...')


def _fail_unavailable(reason: str) -> int:
    raise RuntimeError(reason)


def _command_of(argv: Sequence[str]) -> Optional[str]:
    """Return the subcommand word of ``argv`` (the first argument not an option)."""
    return next((a for a in argv if not a.startswith('-')), None)


def build_parser(command: Optional[str] = None) -> argparse.ArgumentParser:
    """
    Build the ``lingbot-depth`` argument parser with its subcommands.

    :param command: the subcommand about to run; ``'evaluate'`` imports the evaluation
        module to build its options (other commands never import it).
    :return: the parser.
    """
    parser = argparse.ArgumentParser(
        prog='lingbot-depth', description='Offline tools of lingbot_depth_ros (LingBot-Depth '
        'RGB-D depth completion).',
        epilog='exit codes: 0 done, 1 failure, 2 usage error, 130 interrupted')
    parser.add_argument('--version', action='version', version=f'%(prog)s {__version__}')
    parser.add_argument('--debug', action='store_true',
                        help='show the full traceback of a failure')
    subparsers = parser.add_subparsers(dest='command', metavar='COMMAND', required=True)
    refine = subparsers.add_parser(
        'refine-bag', help='refine the depth of a recorded rosbag2',
        description='Copy a rosbag2 and add refined depth (and optionally points) for every '
        'colour/depth pair. Ctrl-C stops after the current frame and leaves a complete bag.')
    add_refine_bag_arguments(refine)
    refine.set_defaults(handler=run_refine_bag)
    synth = subparsers.add_parser(
        'synth-bag', help='write a synthetic RGB-D bag on the RealSense topics',
        description='Render a synthetic RGB-D sequence with simulated sensor failures and '
        'write it as a rosbag2 on the RealSense driver topics.')
    add_synth_bag_arguments(synth)
    synth.set_defaults(handler=run_synth_bag)
    _mount_evaluate(subparsers, load=command == 'evaluate')
    export = subparsers.add_parser(
        'export', help='export the network as ONNX or a TensorRT engine',
        description='Export the network for one frame size and token budget (dynamic batch) '
        'as ONNX or a TensorRT engine, checked against eager on a frame before it is kept.')
    add_export_arguments(export)
    export.set_defaults(handler=run_export)
    for name, add, run, text in (
            ('play', add_play_arguments, run_play, "publish a bag's colour, depth and "
             'camera_info with their stamps (feeds the node without ros2 bag)'),
            ('infer', add_infer_arguments, run_infer, 'complete the depth of one frame from '
             'files (PNG / NPY / PLY out)'),
            ('capture', add_capture_arguments, run_capture, 'record a camera (RealSense, '
             'Orbbec SDK) raw and refined to an mcap bag')):
        sub = subparsers.add_parser(name, help=text, description=text[0].upper() + text[1:]
                                    + '.')
        add(sub)
        sub.set_defaults(handler=run)
    for command, summary in _TRAINING_HELP.items():
        sub = subparsers.add_parser(command, help=summary, description=summary.capitalize()
                                    + '. ' + _TRAINING_DESCRIPTION)
        training.add_training_arguments(sub, command)
        sub.set_defaults(handler=training.handler(command))
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """
    Run the ``lingbot-depth`` command.

    :param argv: arguments without the program name (None: ``sys.argv[1:]``).
    :return: the exit code.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_command_of(argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:
        # --help / --version exit 0, a parse error 2.
        return done.code if isinstance(done.code, int) else EXIT_USAGE
    prog = f'lingbot-depth {args.command}'
    try:
        return args.handler(args)
    except UsageError as error:
        print(f'{prog}: error: {error}', file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f'{prog}: interrupted', file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # noqa: B902 - every failure becomes one line and exit 1
        if args.debug:
            raise
        print(f'{prog}: error: {_one_line(error)}', file=sys.stderr)
        details = getattr(error, 'details', '')
        if details:
            print(details, file=sys.stderr)
        return EXIT_FAILURE


def _one_line(error: BaseException) -> str:
    text = ' '.join(str(error).split())
    # Errors of the standard library without a message still name their type.
    return text if text and not isinstance(error, (KeyError, OSError)) else \
        f'{type(error).__name__}: {text}'


if __name__ == '__main__':
    sys.exit(main())
