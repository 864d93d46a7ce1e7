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
The network for one frame size and token budget: fixed shapes for ONNX, TensorRT and graphs.

:class:`StaticFrameNetwork` runs the same stages as :meth:`.network.MDMModel.forward` in the
static-shape mode (every depth-token position present, dropped ones masked as attention
keys), so one graph serves every hole pattern, monocular frames included (all-hole depth).
:func:`export_onnx` writes it as ONNX (opset >= 17, dynamic batch) and checks onnxruntime
against eager on a given frame; :func:`build_tensorrt_engine` turns such a file into a
TensorRT engine. onnx, onnxruntime and tensorrt are imported only when used.
"""

import contextlib
import copy
from dataclasses import dataclass
import json
import logging
import os
from pathlib import Path
import time
from typing import Dict, Iterator, Optional, Tuple
import warnings

import numpy as np
import torch
from torch import nn

from .preprocess import token_grid

DEFAULT_OPSET = 18
MIN_OPSET = 17
INPUT_NAMES = ('image', 'depth')
OUTPUT_NAMES = ('predicted_depth', 'mask_probability')
# Metadata keys of an exported file (ONNX metadata_props, the engine's .json beside it).
METADATA_PREFIX = 'lingbot_depth.'
COMPUTE_DTYPES = {'fp32': torch.float32, 'fp16': torch.float16, 'bf16': torch.bfloat16}


class ExportError(RuntimeError):
    """An export or engine build failed, or its output does not match eager."""


@dataclass(frozen=True)
class FrameShape:
    """
    The fixed input an exported network accepts: frame size and token budget.

    :ivar height: frame rows.
    :ivar width: frame columns.
    :ivar num_tokens: image-token budget (the grid holds about this many tokens).
    """

    height: int
    width: int
    num_tokens: int

    def __post_init__(self):
        """Reject sizes and budgets that give no token grid."""
        for name in ('height', 'width', 'num_tokens'):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f'{name}: expected a positive integer, got {value!r}')
        token_grid(self.num_tokens, self.height, self.width)

    @property
    def grid(self) -> Tuple[int, int]:
        """Rows and columns of the token grid of this shape."""
        return token_grid(self.num_tokens, self.height, self.width)


class StaticFrameNetwork(nn.Module):
    """
    ``(image, depth) -> (depth, mask)`` for one :class:`FrameShape`, with fixed shapes.

    Inputs: image float32 (B, 3, H, W) RGB in [0, 1]; depth float32 (B, H, W) metres with
    0 / NaN for holes (all holes: monocular). Outputs: depth float32 (B, H, W) metres as
    predicted, and, with a mask head, the mask probability float32 (B, H, W).
    """

    def __init__(self, model: nn.Module, shape: FrameShape,
                 compute_dtype: torch.dtype = torch.float32):
        """
        Wrap a model (shared, not copied) for one frame shape.

        :param model: an ``MDMModel`` whose parameters have ``compute_dtype``.
        :param shape: the frame size and token budget.
        :param compute_dtype: dtype of the encoder and decoder (inputs are cast to it,
            heads back to float32 before the resize and ``exp``, so metres stay float32).
        """
        super().__init__()
        self.model = model
        self.shape = shape
        self.compute_dtype = compute_dtype
        rows, cols = shape.grid
        model.encoder.backbone.freeze_pos_embed(rows, cols, compute_dtype)

    @property
    def output_names(self) -> Tuple[str, ...]:
        """('predicted_depth', 'mask_probability') with a mask head, else the first."""
        return OUTPUT_NAMES if self.model.has_mask_head else OUTPUT_NAMES[:1]

    def forward(self, image: torch.Tensor, depth: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """
        Predict depth (and mask probability) for a batch of frames of the fixed size.

        :param image: float (B, 3, H, W) RGB in [0, 1].
        :param depth: float (B, H, W) metres, 0 / NaN where there is no measurement.
        :return: (depth (B, H, W), mask probability (B, H, W) if the model has a mask head).
        """
        size = (self.shape.height, self.shape.width)
        if tuple(image.shape[-2:]) != size or tuple(depth.shape[-2:]) != size:
            raise ValueError(f'image, depth: expected {size[0]}x{size[1]} frames (the exported '
                             f'size), got {tuple(image.shape)} and {tuple(depth.shape)}')
        model = self.model
        prepared = model.preprocess(image.to(self.compute_dtype), self.shape.num_tokens,
                                    depth.float())
        features, cls_token = model.encoder(prepared, static_shapes=True)
        heads = model.decode(features, cls_token, prepared.aspect_ratio)
        heads = {name: value.float() for name, value in heads.items()}
        out = model.postprocess(heads, prepared.image_size)
        if 'mask' in out:
            return out['depth_reg'], out['mask']
        return (out['depth_reg'],)


@dataclass
class ExportReport:
    """
    What :func:`export_onnx` or :func:`build_tensorrt_engine` wrote and how well it matches.

    :ivar path: the written file.
    :ivar seconds: wall time of the export or build.
    :ivar depth_rel_diff: largest relative depth difference to eager on the check frame
        (None when not checked).
    :ivar mask_abs_diff: largest mask-probability difference (None: not checked / no mask).
    """

    path: Path
    seconds: float
    depth_rel_diff: Optional[float] = None
    mask_abs_diff: Optional[float] = None


def frame_tensors(rgb: np.ndarray, depth: Optional[np.ndarray]
                  ) -> Tuple[torch.Tensor, torch.Tensor]:
    """
    Turn one numpy frame into the exported network's inputs (batch of one).

    :param rgb: uint8 HxWx3 RGB.
    :param depth: float HxW metres (0 / NaN holes) or None for monocular.
    :return: (image float32 (1, 3, H, W) in [0, 1], depth float32 (1, H, W)).
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f'rgb: expected uint8 HxWx3, got {rgb.dtype} {rgb.shape}')
    image = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1))).float()[None] / 255.0
    if depth is None:
        return image, torch.zeros((1,) + rgb.shape[:2], dtype=torch.float32)
    depth = np.asarray(depth, dtype=np.float32)
    if depth.shape != rgb.shape[:2]:
        raise ValueError(f'depth: expected shape {rgb.shape[:2]}, got {depth.shape}')
    return image, torch.from_numpy(depth.copy())[None]


def relative_difference(actual: np.ndarray, expected: np.ndarray) -> float:
    """
    Return max |actual - expected| / |expected| over pixels where both are finite.

    :param actual: array.
    :param expected: array of the same shape.
    :return: the largest relative difference; inf when finiteness differs anywhere.
    """
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    finite = np.isfinite(expected)
    if not np.array_equal(finite, np.isfinite(actual)):
        return float('inf')
    if not finite.any():
        return 0.0
    scale = np.maximum(np.abs(expected[finite]), 1e-6)
    return float(np.max(np.abs(actual[finite] - expected[finite]) / scale))


def export_metadata(model: nn.Module, shape: FrameShape, precision: str) -> Dict[str, str]:
    """
    Return the key/values stored with an exported file (ONNX metadata, engine .json).

    :param model: the exported ``MDMModel``.
    :param shape: the exported frame shape.
    :param precision: 'fp32', 'fp16' or 'bf16'.
    :return: {'lingbot_depth.height': '480', ...}.
    """
    values = {'height': shape.height, 'width': shape.width, 'num_tokens': shape.num_tokens,
              'grid': '%dx%d' % shape.grid, 'precision': precision,
              'has_mask': int(model.has_mask_head),
              'fix_unit_depth_hole': int(bool(model.fix_unit_depth_hole)),
              'model_config': json.dumps(model.model_config, sort_keys=True)}
    return {METADATA_PREFIX + key: str(value) for key, value in values.items()}


def export_onnx(model: nn.Module, path, shape: FrameShape, opset: int = DEFAULT_OPSET,
                precision: str = 'fp32', check_frame=None, rtol: float = 1e-4,
                max_batch: int = 64) -> ExportReport:
    """
    Write the network for one frame shape as ONNX, dynamic in the batch dimension.

    :param model: an ``MDMModel`` (not modified; a copy is exported on the CPU).
    :param path: the .onnx file to write (weights over 2 GB go to a .data file beside it).
    :param shape: frame size and token budget.
    :param opset: ONNX opset, >= 17.
    :param precision: 'fp32' (onnxruntime), or 'fp16' / 'bf16' weights and activations
        for a strongly typed TensorRT build (not checked against eager).
    :param check_frame: (rgb uint8 HxWx3, depth metres HxW or None) at the shape's size:
        onnxruntime (CPU) must reproduce eager on it within ``rtol``; None skips the check.
    :param rtol: largest relative depth (and absolute mask-probability) difference.
    :param max_batch: largest batch the graph declares.
    :return: the :class:`ExportReport`.
    :raises ExportError: when the export fails or onnxruntime disagrees with eager (the
        file is removed).
    """
    if int(opset) < MIN_OPSET:
        raise ValueError(f'opset: expected >= {MIN_OPSET}, got {opset}')
    if precision not in COMPUTE_DTYPES:
        raise ValueError(f'precision: expected one of {sorted(COMPUTE_DTYPES)}, got {precision!r}')
    path = Path(path)
    start = time.perf_counter()
    dtype = COMPUTE_DTYPES[precision]
    exported = copy.deepcopy(model).to('cpu', dtype).eval()
    exported.decoder_channels_last = False  # memory format is not part of an ONNX graph
    network = StaticFrameNetwork(exported, shape, dtype).eval()
    if check_frame is not None:
        image, depth = frame_tensors(*check_frame)
    else:
        image = torch.full((1, 3, shape.height, shape.width), 0.5)
        depth = torch.full((1, shape.height, shape.width), 1.5)
    # A batch of two: torch.export specialises a dimension it sees as 1.
    example = (image.expand(2, -1, -1, -1).contiguous(), depth.expand(2, -1, -1).contiguous())
    batch = torch.export.Dim('batch', min=1, max=max_batch)
    try:
        with torch.no_grad(), _quiet_exporter():
            program = torch.onnx.export(
                network, example, None, dynamo=True, opset_version=int(opset),
                input_names=list(INPUT_NAMES), output_names=list(network.output_names),
                dynamic_shapes=({0: batch}, {0: batch}), verbose=False)
    except Exception as error:  # noqa: B902 - the exporter raises many types
        raise ExportError(f'ONNX export failed: {type(error).__name__}: '
                          f'{str(error).splitlines()[0] if str(error) else ""}') from error
    program.model.metadata_props.update(export_metadata(exported, shape, precision))
    path.parent.mkdir(parents=True, exist_ok=True)
    program.save(str(path))
    report = ExportReport(path, time.perf_counter() - start)
    if check_frame is not None and precision == 'fp32':
        with torch.no_grad():
            expected = [t.numpy() for t in network(image, depth)]
        actual = run_onnxruntime(path, image.numpy(), depth.numpy())
        _check(report, actual, expected, rtol, remove=path)
    return report


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Hide the exporter's notes (torchvision absent, axis names) that ask nothing of users."""
    registration = logging.getLogger('torch.onnx._internal.exporter._registration')
    level = registration.level
    registration.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', (FutureWarning, UserWarning, DeprecationWarning))
            yield
    finally:
        registration.setLevel(level)


def run_onnxruntime(path, image: np.ndarray, depth: np.ndarray, threads: int = 0):
    """
    Run an exported file once with onnxruntime on the CPU.

    :param path: the .onnx file.
    :param image: float32 (B, 3, H, W).
    :param depth: float32 (B, H, W).
    :param threads: intra-op threads (0: onnxruntime's default).
    :return: the list of outputs.
    """
    import onnxruntime
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    session = onnxruntime.InferenceSession(str(path), options,
                                           providers=['CPUExecutionProvider'])
    return session.run(None, {'image': image, 'depth': depth})


def _check(report: ExportReport, actual, expected, rtol: float, remove: Path) -> None:
    """Fill the report's differences; remove the file and raise when over ``rtol``."""
    report.depth_rel_diff = relative_difference(actual[0], expected[0])
    if len(expected) > 1:
        report.mask_abs_diff = float(np.max(np.abs(actual[1] - expected[1])))
    worst = max(report.depth_rel_diff, report.mask_abs_diff or 0.0)
    if not worst <= rtol:
        for leftover in (remove, remove.with_name(remove.name + '.data')):
            if leftover.exists():
                os.remove(leftover)
        raise ExportError(
            f'{remove.name}: the exported network disagrees with eager on the check frame: '
            f'depth relative difference {report.depth_rel_diff:.2e}, mask probability '
            f'difference {report.mask_abs_diff}, allowed {rtol:.0e}; file removed')
