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
``lingbot-depth infer``: complete the depth of one frame from files, without ROS running.

Like the release's example.py: a colour image, a depth image (16-bit PNG in units of
``--depth-scale``, float TIFF / ``.npy`` in metres) and the intrinsics (a text file of
the 3x3 K, or a ROS camera_info YAML) in, the refined depth out as a 16-bit PNG
(millimetres), a ``.npy`` (float32 metres, NaN holes) or a ``.ply`` point cloud. With
``--amodal-mask`` an amodal model also writes the object's whole depth beside it
(``<output>_amodal``, NaN / 0 outside the mask). The frame goes through the node's path:
the files become the messages a driver publishes (``messages.camera``), ``decode_frame``
reads them, ``create_backend`` builds the backend.
"""

import argparse
from pathlib import Path

import cv2
from lingbot_depth_ros.backends.amodal import split_amodal_mask, supports_amodal, VISIBLE
from lingbot_depth_ros.backends.factory import create_backend
from lingbot_depth_ros.messages.camera import frame_messages
from lingbot_depth_ros.messages.frame import (cloud_output, decode_frame, FrameRejected,
                                              InputTopics, limit_output)
from lingbot_depth_ros.tools.evaluation.data import read_depth, read_intrinsics
from lingbot_depth_ros.tools.options import (add_backend_arguments, add_frame_arguments,
                                             backend_settings, frame_settings)
import numpy as np
import yaml

OUTPUTS = ('.png', '.npy', '.ply')


def add_infer_arguments(parser: argparse.ArgumentParser) -> None:
    """
    Add the ``infer`` options to a parser.

    :param parser: the subcommand's parser.
    """
    parser.add_argument('--rgb', required=True, metavar='FILE',
                        help='colour image (PNG / JPEG)')
    parser.add_argument('--depth', metavar='FILE',
                        help='depth registered to colour: 16-bit PNG in units of '
                        '--depth-scale, float TIFF or .npy in metres (omit: monocular)')
    k = parser.add_mutually_exclusive_group(required=True)
    k.add_argument('--intrinsics', metavar='FILE',
                   help='text file with the 3x3 pixel K (as the example captures)')
    k.add_argument('--camera-info', metavar='FILE',
                   help='ROS camera_info YAML (camera_calibration format, or a `ros2 topic '
                   'echo --once` of a CameraInfo)')
    parser.add_argument('--output', required=True, metavar='OUT',
                        help='refined depth: .png (16-bit millimetres, 0 = none), .npy '
                        '(float32 metres, NaN = none) or .ply (XYZRGB point cloud)')
    parser.add_argument('--amodal-mask', metavar='FILE',
                        help='mono8 amodal mask of an object (PNG or .npy: 0 outside, 255 '
                        'visible, other values hidden; needs an amodal model): also write '
                        'its depth, hidden part included, to <output stem>_amodal<suffix>')
    parser.add_argument('--force', action='store_true', help='replace an existing output')
    add_backend_arguments(parser)
    add_frame_arguments(parser.add_argument_group('depth'))


def read_camera_info(path) -> np.ndarray:
    """
    Read the 3x3 K of a camera_info YAML.

    :param path: ``camera_matrix: {data: [...]}`` (camera_calibration) or ``k: [...]``
        (a CameraInfo echoed as YAML).
    :return: float64 3x3.
    :raises ValueError: when neither is there.
    """
    data = yaml.safe_load(Path(path).read_text()) or {}
    values = (data.get('camera_matrix') or {}).get('data') if isinstance(data, dict) else None
    if values is None and isinstance(data, dict):
        values = data.get('k') or data.get('K')
    if values is None or len(values) != 9:
        raise ValueError(f'{path}: expected camera_matrix.data or k with 9 numbers, got '
                         f'{values!r}')
    return np.asarray(values, dtype=np.float64).reshape(3, 3)


def run_infer(args: argparse.Namespace) -> int:
    """
    Run ``infer``.

    :param args: parsed arguments.
    :return: the exit code.
    """
    output = Path(args.output)
    if output.suffix.lower() not in OUTPUTS:
        raise ValueError(f'--output: expected a .png, .npy or .ply file, got {output}')
    amodal_output = output.with_name(output.stem + '_amodal' + output.suffix)
    for path in [output] + ([amodal_output] if args.amodal_mask else []):
        if path.exists() and not args.force:
            raise ValueError(f'--output: {path} exists; pass --force to replace it')
    bgr = cv2.imread(args.rgb, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f'--rgb: expected a readable image, got {args.rgb}')
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    settings = frame_settings(args)
    if args.depth:
        depth = np.nan_to_num(read_depth(Path(args.depth), settings.depth_scale), nan=0.0)
    else:
        depth = np.zeros(rgb.shape[:2], np.float32)
    K = read_intrinsics(Path(args.intrinsics)) if args.intrinsics else \
        read_camera_info(args.camera_info)
    # The files as a driver's messages (32FC1 metres: exact), then the node's decoding.
    messages = frame_messages(rgb, depth, K, 0, 'camera_color_optical_frame', '32FC1')
    try:
        frame = decode_frame(*messages, settings, InputTopics(
            args.rgb, args.depth or '--depth', args.intrinsics or args.camera_info))
    except FrameRejected as rejected:
        raise ValueError(str(rejected)) from None
    mask = read_amodal_mask(args.amodal_mask, rgb.shape[:2]) if args.amodal_mask else None
    backend = create_backend(backend_settings(args, rgb.shape[:2]))
    if mask is not None and not supports_amodal(backend):
        raise ValueError(f'--amodal-mask: {backend.name} has no amodal guidance input; use an '
                         f'amodal model (e.g. --model bundled:vitt4-amodal)')
    result = limit_output(backend.complete(frame.rgb, frame.depth, frame.K),
                          settings.depth_range)
    write_depth(output, result.depth, frame)
    filled = int(result.filled.sum())
    print(f'infer: {backend.name} backend, {rgb.shape[1]}x{rgb.shape[0]}: '
          f'{int(np.isfinite(result.depth).sum())} pixels with depth ({filled} filled); '
          f'wrote {output}')
    if mask is not None:
        amodal = backend.complete_amodal(frame.rgb, frame.depth, frame.K, mask)
        depth, _ = settings.depth_range.invalid_to_nan(amodal.depth)
        write_depth(amodal_output, depth, frame)
        print(f'infer: amodal depth of {int(amodal.amodal.sum())} object pixels '
              f'({int(amodal.hidden.sum())} hidden); wrote {amodal_output}')
    return 0


def read_amodal_mask(path, shape) -> np.ndarray:
    """
    Read a mono8 amodal mask file.

    :param path: 8-bit PNG (grey) or a uint8 / bool ``.npy``.
    :param shape: (H, W) of the colour image.
    :return: uint8 HxW.
    :raises ValueError: for an unreadable file, another bit depth or size.
    """
    path = Path(path)
    if path.suffix.lower() == '.npy':
        mask = np.load(path)
        if mask.dtype == np.bool_:
            mask = np.where(mask, VISIBLE, 0).astype(np.uint8)
    else:
        mask = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if mask is None:
            raise ValueError(f'--amodal-mask: expected a readable image, got {path}')
    if mask.dtype != np.uint8 or mask.ndim != 2:
        raise ValueError(f'--amodal-mask: expected a single-channel 8-bit mask, got '
                         f'{mask.dtype} {mask.shape} in {path}')
    split_amodal_mask(mask, shape)  # the size check, naming both sizes
    return mask


def write_depth(path: Path, depth: np.ndarray, frame) -> None:
    """
    Write depth as 16-bit millimetre PNG, float32 .npy or a .ply cloud, by suffix.

    :param path: output file.
    :param depth: float32 HxW metres, NaN = none.
    :param frame: the decoded frame (colour and intrinsics of the cloud).
    """
    suffix = path.suffix.lower()
    if suffix == '.npy':
        np.save(path, depth.astype(np.float32))
    elif suffix == '.png':
        millimetres = np.nan_to_num(depth.astype(np.float64) * 1000.0, nan=0.0)
        cv2.imwrite(str(path), np.clip(np.round(millimetres), 0, 65535).astype(np.uint16))
    else:
        from lingbot_depth_ros.tools.demo.run import write_ply
        write_ply(path, cloud_output(frame, depth, organized=False))
