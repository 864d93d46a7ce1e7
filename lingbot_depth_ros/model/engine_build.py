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
TensorRT engines from exported ONNX files (the TensorRT Python wheel, NVIDIA GPUs only).

:func:`build_tensorrt_engine` exports the network in the engine's precision
(:func:`.export.export_onnx`), builds a strongly typed engine from it (TensorRT keeps the
graph's fp16 / bf16 types; LayerNorm and softmax statistics stay float32 as exported) and
writes the export metadata to ``<engine>.json`` beside it, which the tensorrt backend reads.
tensorrt is imported only here and only when called.
"""

import json
from pathlib import Path
import tempfile
import time

import torch

from .export import export_metadata, export_onnx, ExportError, ExportReport, FrameShape

TENSORRT_HINT = ('pip install tensorrt (NVIDIA GPU with a recent driver); not installed by '
                 '`make test`')


def import_tensorrt():
    """
    Import the TensorRT Python package, or say clearly why it cannot be used here.

    :return: the ``tensorrt`` module.
    :raises ExportError: when it is not installed or no CUDA GPU is visible.
    """
    try:
        import tensorrt
    except ImportError as error:
        raise ExportError(f'tensorrt: the TensorRT Python package is not installed ({error}); '
                          f'{TENSORRT_HINT}') from None
    if not torch.cuda.is_available():
        raise ExportError('tensorrt: needs a CUDA GPU, and torch sees none '
                          '(torch.cuda.is_available() is False)')
    return tensorrt


def metadata_path(engine_path) -> Path:
    """
    Return the .json file beside an engine that holds its export metadata.

    :param engine_path: the .engine file.
    :return: ``<engine_path>.json``.
    """
    engine_path = Path(engine_path)
    return engine_path.with_name(engine_path.name + '.json')


def build_tensorrt_engine(model: torch.nn.Module, engine_path, shape: FrameShape,
                          precision: str = 'fp16', max_batch: int = 1,
                          workspace_gib: float = 8.0, opset: int = 18) -> ExportReport:
    """
    Build a TensorRT engine of the network for one frame shape.

    :param model: the ``MDMModel`` (not modified).
    :param engine_path: the .engine file to write; ``<engine_path>.json`` goes beside it.
    :param shape: frame size and token budget.
    :param precision: 'fp16', 'bf16' or 'fp32'.
    :param max_batch: largest batch of the engine's optimisation profile.
    :param workspace_gib: TensorRT builder workspace limit.
    :param opset: ONNX opset of the intermediate export.
    :return: the :class:`.export.ExportReport` (not compared with eager here: the backend's
        tests and ``lingbot-depth export`` do that on the GPU).
    :raises ExportError: without TensorRT or CUDA, or when the build fails.
    """
    trt = import_tensorrt()
    start = time.perf_counter()
    engine_path = Path(engine_path)
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    strongly_typed = getattr(trt.NetworkDefinitionCreationFlag, 'STRONGLY_TYPED', None)
    flags = 0 if strongly_typed is None else 1 << int(strongly_typed)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    with tempfile.TemporaryDirectory() as folder:
        onnx_path = Path(folder) / 'network.onnx'
        export_onnx(model, onnx_path, shape, opset=opset, precision=precision,
                    max_batch=max(2, max_batch))
        if not parser.parse_from_file(str(onnx_path)):
            errors = '; '.join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise ExportError(f'tensorrt: cannot parse the exported ONNX graph: {errors}')
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gib * 2 ** 30))
    if strongly_typed is None and precision != 'fp32':
        config.set_flag(getattr(trt.BuilderFlag, precision.upper()))
    profile = builder.create_optimization_profile()
    height, width = shape.height, shape.width
    for name, per_frame in (('image', (3, height, width)), ('depth', (height, width))):
        profile.set_shape(name, (1,) + per_frame, (1,) + per_frame, (max_batch,) + per_frame)
    config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ExportError('tensorrt: the engine build failed (see the TensorRT log above)')
    engine_path.parent.mkdir(parents=True, exist_ok=True)
    engine_path.write_bytes(bytes(serialized))
    meta = export_metadata(model, shape, precision)
    meta['lingbot_depth.tensorrt_version'] = str(trt.__version__)
    meta['lingbot_depth.max_batch'] = str(max_batch)
    metadata_path(engine_path).write_text(json.dumps(meta, indent=1, sort_keys=True) + '\n')
    return ExportReport(engine_path, time.perf_counter() - start)
