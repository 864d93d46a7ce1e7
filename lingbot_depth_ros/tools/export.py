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
``lingbot-depth export``: the network as ONNX or a TensorRT engine for one frame shape.

The exported file fixes height, width and token budget (the static-shape mode: all depth
positions present, invalid ones masked), keeps the batch dynamic, and is checked before it
is kept: onnxruntime must reproduce eager within 1e-4 relative on a check frame (a capture
folder given with ``--check-frame``, or a rendered synthetic frame with sensor holes); a
TensorRT engine is compared with eager float32 on the same frame and its figures printed.
"""

import argparse
from pathlib import Path
import sys
from typing import Optional, Tuple

import cv2
from lingbot_depth_ros.backends.factory import PRECISIONS
import numpy as np

FORMATS = ('onnx', 'tensorrt')
DEFAULT_PRECISION = {'onnx': 'fp32', 'tensorrt': 'fp16'}
# A reduced-precision engine passes when its mean relative depth difference to eager
# float32 stays below this (fp16 / bf16 round at 1e-3 and 4e-3).
ENGINE_MEAN_RTOL = 1e-2


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'expected an integer >= 1, got {text}')
    return value


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    """
    Add the ``export`` options to a parser.

    :param parser: the subcommand's parser.
    """
    parser.add_argument('--model', required=True, metavar='PATH_OR_ID',
                        help='network checkpoint: model.pt, a directory holding it, a '
                        '.safetensors file, a Hugging Face repo id, or random:<config>')
    parser.add_argument('--format', choices=FORMATS, default='onnx',
                        help='onnx (onnxruntime, or any TensorRT) or tensorrt (an engine for '
                        'this GPU and TensorRT version) (default: onnx)')
    parser.add_argument('--output', required=True, metavar='FILE',
                        help='file to write: .onnx, or .engine with .engine.json beside it')
    parser.add_argument('--height', type=_positive_int, default=480,
                        help='frame height the file accepts (default: 480)')
    parser.add_argument('--width', type=_positive_int, default=640,
                        help='frame width the file accepts (default: 640)')
    parser.add_argument('--num-tokens', type=int, default=0, metavar='N',
                        help='image tokens; 0 derives them from --resolution-level '
                        '(default: 0)')
    parser.add_argument('--resolution-level', type=int, choices=range(10), default=9,
                        metavar='0..9', help='token budget when --num-tokens is 0, 0 (1200 '
                        'tokens) to 9 (3600) (default: 9)')
    parser.add_argument('--precision', choices=PRECISIONS, default=None,
                        help='onnx: fp32 only; tensorrt: fp16, bf16 or fp32 '
                        '(default: fp32 for onnx, fp16 for tensorrt)')
    parser.add_argument('--opset', type=int, default=18, metavar='N',
                        help='ONNX opset, >= 17 (default: 18)')
    parser.add_argument('--max-batch', type=_positive_int, default=None, metavar='N',
                        help='largest batch: declared in the ONNX graph, the optimisation '
                        'profile of an engine (default: 64 for onnx, 1 for tensorrt)')
    parser.add_argument('--check-frame', type=Path, default=None, metavar='FOLDER',
                        help='capture folder (rgb.png, raw_depth.png in mm, intrinsics.txt) '
                        'to check the export on, resized to --height x --width (default: a '
                        'rendered synthetic frame with sensor holes)')
    parser.add_argument('--force', action='store_true', help='replace an existing file')


def check_frame(folder: Optional[Path], height: int, width: int
                ) -> Tuple[np.ndarray, np.ndarray, str]:
    """
    Return the frame an export is checked on, at the export size.

    :param folder: a capture folder, or None for a rendered synthetic frame.
    :param height: export height.
    :param width: export width.
    :return: (rgb uint8 HxWx3, depth float32 metres with holes, description).
    """
    if folder is None:
        from lingbot_depth_ros.tools.synthetic.renderer import render_frame
        frame = render_frame(0, width, height)
        return frame.rgb, frame.depth_sensor.astype(np.float32), 'synthetic scene 0'
    from lingbot_depth_ros.tools.evaluation.data import read_capture
    capture = read_capture(folder)
    rgb, depth = capture.rgb, capture.depth_mm.astype(np.float32) / 1000.0
    if rgb.shape[:2] != (height, width):
        rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
        depth = cv2.resize(depth, (width, height), interpolation=cv2.INTER_NEAREST)
    return rgb, depth, str(folder)


def run_export(args: argparse.Namespace) -> int:
    """
    Run ``export``.

    :param args: parsed arguments.
    :return: the exit code.
    """
    from lingbot_depth_ros.model import load_model, num_tokens_for_level
    from lingbot_depth_ros.model.export import export_onnx, FrameShape
    from lingbot_depth_ros.tools.bag.storage import log
    from lingbot_depth_ros.tools.cli import UsageError

    precision = args.precision or DEFAULT_PRECISION[args.format]
    output = Path(args.output)
    if args.format == 'onnx' and precision != 'fp32':
        raise UsageError(f'--precision: onnx exports are float32 (onnxruntime), got {precision}; '
                         'use --format tensorrt for fp16 / bf16')
    if output.exists() and not args.force:
        raise UsageError(f'{output} exists (use --force to replace it)')
    if args.num_tokens < 0:
        raise UsageError(f'--num-tokens: expected >= 0, got {args.num_tokens}')
    if args.format == 'tensorrt':
        from lingbot_depth_ros.model.engine_build import import_tensorrt
        import_tensorrt()  # fail before loading the model when it cannot be used here
    model = load_model(args.model)
    tokens = args.num_tokens or num_tokens_for_level(model.num_tokens_range,
                                                     args.resolution_level)
    try:
        shape = FrameShape(args.height, args.width, tokens)
    except ValueError as error:
        raise UsageError(str(error)) from None
    rgb, depth, source = check_frame(args.check_frame, args.height, args.width)
    log(f'export: {args.model} -> {output} ({args.format}, {precision}, {args.height}x'
        f'{args.width}, {tokens} tokens = {shape.grid[0]}x{shape.grid[1]} grid); check frame: '
        f'{source}')
    if args.format == 'onnx':
        report = export_onnx(model, output, shape, opset=args.opset, precision=precision,
                             check_frame=(rgb, depth), max_batch=args.max_batch or 64)
        mask = 'no mask head' if report.mask_abs_diff is None else \
            f'mask probability max difference {report.mask_abs_diff:.2e}'
        log(f'onnxruntime vs eager on the check frame: depth max relative difference '
            f'{report.depth_rel_diff:.2e}, {mask}')
    else:
        from lingbot_depth_ros.model.engine_build import build_tensorrt_engine
        report = build_tensorrt_engine(model, output, shape, precision=precision,
                                       max_batch=args.max_batch or 1, opset=args.opset)
        mean, worst = compare_engine(model, output, shape, rgb, depth)
        log(f'TensorRT ({precision}) vs eager fp32 on the check frame: depth relative '
            f'difference mean {mean:.2e}, max {worst:.2e}')
        if not mean <= ENGINE_MEAN_RTOL:
            raise RuntimeError(f'{output.name}: mean relative depth difference {mean:.2e} '
                               f'to eager exceeds {ENGINE_MEAN_RTOL:.0e}')
    log(f'wrote {output} in {report.seconds:.1f} s')
    return 0


def compare_engine(model, path: Path, shape, rgb: np.ndarray, depth: np.ndarray
                   ) -> Tuple[float, float]:
    """
    Compare a TensorRT engine's predicted depth with eager float32 on one frame.

    :param model: the ``MDMModel``.
    :param path: the .engine file.
    :param shape: its FrameShape.
    :param rgb: uint8 HxWx3 at the shape's size.
    :param depth: float32 HxW metres.
    :return: (mean, max) relative depth difference where both are finite.
    """
    import torch
    from lingbot_depth_ros.backends.tensorrt import TensorRTBackend
    from lingbot_depth_ros.model.export import frame_tensors, StaticFrameNetwork

    engine = TensorRTBackend(path, warmup=False)
    predicted, _ = engine.predict(rgb, depth, {})
    network = StaticFrameNetwork(model.to(engine.torch_device).eval(), shape)
    image, depth_in = frame_tensors(rgb, depth)
    with torch.inference_mode():
        expected = network(image.to(engine.torch_device), depth_in.to(engine.torch_device))
    expected = expected[0][0].cpu().numpy().astype(np.float64)
    both = np.isfinite(predicted) & np.isfinite(expected)
    if not both.any():
        return float('inf'), float('inf')
    relative = np.abs(predicted[both] - expected[both]) / np.maximum(np.abs(expected[both]), 1e-6)
    return float(relative.mean()), float(relative.max())


if __name__ == '__main__':
    from lingbot_depth_ros.tools.cli import main
    sys.exit(main(['export'] + sys.argv[1:]))
