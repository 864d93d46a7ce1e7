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
The command-line flags of the backend and of frame decoding, shared by every tool.

Defaults come from ``BackendSettings`` and ``FrameSettings`` (the node's parameters use the
same objects), and the flags are turned back into those objects, which check them.
"""

import argparse
from typing import Tuple

from lingbot_depth_ros.backends.factory import BACKENDS, BackendSettings, DEVICES_HELP, PRECISIONS
from lingbot_depth_ros.geometry import DepthRange
from lingbot_depth_ros.messages.frame import FrameSettings

_BACKEND = BackendSettings()
_FRAME = FrameSettings()


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected a number, got {text!r}') from None


def add_backend_arguments(parser: argparse.ArgumentParser, with_choice: bool = True) -> None:
    """
    Add the backend flags (``--model``, ``--backend``, ``--device``, ...) to a parser.

    :param parser: the subcommand's parser.
    :param with_choice: add ``--backend`` (tools that always run the network beside fixed
        baselines leave it out).
    """
    group = parser.add_argument_group('backend')
    group.add_argument('--model', metavar='PATH_OR_ID', default=_BACKEND.model,
                       help='network checkpoint: model.pt, a directory holding it, a '
                       '.safetensors file, a Hugging Face repo id, bundled:<name>, or '
                       'random:<config>; or an exported .onnx / .engine file (lingbot-depth '
                       'export)')
    if with_choice:
        group.add_argument('--backend', choices=BACKENDS, default=_BACKEND.backend,
                           help='completion backend; auto: from --model (none: classical, '
                           '.onnx: onnxruntime, .engine: tensorrt, else network) '
                           f'(default: {_BACKEND.backend})')
    group.add_argument('--device', default=_BACKEND.device, metavar='DEVICE',
                       help=f'device of the network: {DEVICES_HELP} '
                       f'(default: {_BACKEND.device})')
    group.add_argument('--precision', default=_BACKEND.precision, choices=PRECISIONS,
                       help='network precision: torch autocast; onnxruntime runs fp32 '
                       'only; a TensorRT engine keeps the precision it was built with '
                       f'(default: {_BACKEND.precision})')
    group.add_argument('--num-tokens', type=int, default=_BACKEND.num_tokens, metavar='N',
                       help='image tokens of the network; 0 derives them from '
                       '--resolution-level (an exported network has its own) '
                       f'(default: {_BACKEND.num_tokens})')
    group.add_argument('--resolution-level', type=int, choices=range(10),
                       default=_BACKEND.resolution_level, metavar='0..9',
                       help='network token budget when --num-tokens is 0, 0 fastest to 9 '
                       f'most detailed (default: {_BACKEND.resolution_level})')
    group.add_argument('--keep-valid-input', action=argparse.BooleanOptionalAction,
                       default=_BACKEND.keep_valid_input,
                       help='output the valid sensor measurements unchanged and fill only '
                       'the holes; --no-keep-valid-input outputs the refined estimate '
                       'everywhere (default: keep)')


def backend_settings(args: argparse.Namespace, warmup_size: Tuple[int, int] = (480, 640),
                     backend: str = None) -> BackendSettings:
    """
    Turn parsed backend flags into checked settings.

    :param args: arguments parsed with :func:`add_backend_arguments`.
    :param warmup_size: (H, W) of the frames the tool will process.
    :param backend: the backend when the parser has no ``--backend`` flag.
    :return: the BackendSettings.
    :raises ValueError: naming the setting when the flags do not fit together.
    """
    return BackendSettings(model=args.model or '', backend=backend or args.backend,
                           device=args.device, precision=args.precision,
                           num_tokens=args.num_tokens, resolution_level=args.resolution_level,
                           keep_valid_input=args.keep_valid_input,
                           warmup_sizes=(tuple(warmup_size),))


def add_frame_arguments(group, with_range: bool = True) -> None:
    """
    Add the depth decoding flags (``--depth-scale``, ``--min-depth``, ``--max-depth``).

    :param group: a parser or argument group.
    :param with_range: add the depth range flags too.
    """
    group.add_argument('--depth-scale', type=_float, default=_FRAME.depth_scale, metavar='S',
                       help='metres per unit of integer (16UC1) input depth '
                       f'(default: {_FRAME.depth_scale})')
    if not with_range:
        return
    group.add_argument('--min-depth', type=_float, default=_FRAME.depth_range.min_m,
                       metavar='M', help='smallest valid depth in metres, input and output '
                       f'(default: {_FRAME.depth_range.min_m})')
    group.add_argument('--max-depth', type=_float, default=_FRAME.depth_range.max_m,
                       metavar='M', help='largest valid depth in metres, input and output '
                       '(default: no limit)')


def frame_settings(args: argparse.Namespace) -> FrameSettings:
    """
    Turn parsed depth decoding flags into checked settings.

    :param args: arguments parsed with :func:`add_frame_arguments`.
    :return: the FrameSettings.
    :raises ValueError: for a bad scale or range.
    """
    depth_range = DepthRange(getattr(args, 'min_depth', _FRAME.depth_range.min_m),
                             getattr(args, 'max_depth', _FRAME.depth_range.max_m))
    return FrameSettings(depth_scale=args.depth_scale, depth_range=depth_range)
