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
The TensorRT backend: an engine from ``lingbot-depth export --format tensorrt`` on CUDA.

The engine fixes frame size, token budget and precision (``<engine>.json`` beside it holds
them). Frames go through the torch engine's pinned staging buffers straight into the
engine's input bindings; everything around the forward pass is
:class:`.engine.NetworkEngine`'s. Needs the tensorrt wheel and a CUDA GPU: without them the
constructor says so.
"""

import json
from pathlib import Path
from typing import Dict, Optional, Tuple

from lingbot_depth_ros.backends.base import stage_timer
from lingbot_depth_ros.backends.engine import (check_exported_tokens, check_frame_size,
                                               NetworkEngine)
from lingbot_depth_ros.backends.network import FrameBuffers, resolve_device
from lingbot_depth_ros.backends.onnx import read_export_metadata
from lingbot_depth_ros.model.engine_build import import_tensorrt, metadata_path
from lingbot_depth_ros.model.export import OUTPUT_NAMES
import numpy as np
import torch


class TensorRTBackend(NetworkEngine):
    """Run a serialized LingBot-Depth TensorRT engine on numpy frames."""

    def __init__(self, path, device: str = 'auto', precision: str = 'fp32',
                 num_tokens: Optional[int] = None, keep_valid_input: bool = True,
                 apply_mask: bool = True, warmup: bool = True):
        """
        Load the engine and warm it up.

        :param path: the .engine file; ``<path>.json`` (written with it) beside it.
        :param device: 'auto' or 'cuda' / 'cuda:N' (TensorRT has no CPU).
        :param precision: 'fp32' accepts the engine's precision; 'fp16' / 'bf16' must
            equal the one it was built with.
        :param num_tokens: None / 0, or the engine's token budget.
        :param keep_valid_input: keep valid sensor values, fill only the holes.
        :param apply_mask: NaN where the mask head says the prediction is unreliable.
        :param warmup: run one frame of the engine's size now.
        :raises ValueError: for a missing file or metadata, a mismatching budget or
            precision, or an engine this TensorRT / GPU cannot load.
        :raises lingbot_depth_ros.model.export.ExportError: without TensorRT or CUDA.
        """
        trt = import_tensorrt()
        path = Path(path)
        if not path.is_file() or not metadata_path(path).is_file():
            raise ValueError(f'model: expected {path} and {metadata_path(path).name} beside it '
                             '(written by `lingbot-depth export --format tensorrt`)')
        meta = read_export_metadata(json.loads(metadata_path(path).read_text()), path.name)
        if precision != 'fp32' and precision != meta.get('precision'):
            raise ValueError(f'precision: {path.name} was built for {meta.get("precision")}, '
                             f'got {precision!r}')
        self.size = (int(meta['height']), int(meta['width']))
        self.num_tokens = int(meta['num_tokens'])
        check_exported_tokens(num_tokens, self.num_tokens, path.name)
        self.torch_device = resolve_device('cuda' if device == 'auto' else device)
        if self.torch_device.type != 'cuda':
            raise ValueError(f'device: TensorRT runs on CUDA only, got {device!r}')
        self.device = str(self.torch_device)
        self.precision = meta.get('precision', '?')
        torch.cuda.set_device(self.torch_device)
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._logger)
        self.engine = self._runtime.deserialize_cuda_engine(path.read_bytes())
        if self.engine is None:
            raise ValueError(f'model: {path.name} cannot be loaded by TensorRT '
                             f'{trt.__version__} on this GPU (built with '
                             f'{meta.get("tensorrt_version", "?")}); build it again here')
        self.context = self.engine.create_execution_context()
        self.buffers = FrameBuffers(*self.size, self.torch_device)
        height, width = self.size
        self.context.set_input_shape('image', (1, 3, height, width))
        self.context.set_input_shape('depth', (1, height, width))
        self.context.set_tensor_address('image', self.buffers.image.data_ptr())
        self.context.set_tensor_address('depth', self.buffers.depth.data_ptr())
        names = {self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)}
        self.outputs = {}
        for name in OUTPUT_NAMES:
            if name in names:
                self.outputs[name] = torch.empty((1, height, width), dtype=torch.float32,
                                                 device=self.torch_device)
                self.context.set_tensor_address(name, self.outputs[name].data_ptr())
        self.name = f'tensorrt:{path.name}'
        self.source = path.name
        self.keep_valid_input = keep_valid_input
        self.apply_mask = apply_mask
        if warmup:
            self.warm_up([self.size])

    def predict(self, rgb: np.ndarray, depth: Optional[np.ndarray],
                timings: Dict[str, float]) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        """
        Run the engine on one checked frame.

        :param rgb: uint8 HxWx3 of the engine's size.
        :param depth: float32 HxW metres, or None (monocular).
        :param timings: dict receiving seconds for 'upload', 'network' and 'download'.
        :return: (depth float32 HxW, mask probability float32 HxW or None), views of
            reused buffers.
        """
        check_frame_size(rgb, self.size, self.source)
        stream = torch.cuda.current_stream(self.torch_device)
        with torch.inference_mode():
            with stage_timer(timings, 'upload'):
                self.buffers.upload(rgb, depth)
                if depth is None:
                    self.buffers.depth.zero_()
            with stage_timer(timings, 'network'):
                if not self.context.execute_async_v3(stream.cuda_stream):
                    raise RuntimeError(f'tensorrt: {self.source}: execution failed')
                predicted = self.outputs['predicted_depth'][0]
                probability = self.outputs.get('mask_probability')
                mask = probability[0].float() if probability is not None \
                    else None
            with stage_timer(timings, 'download'):
                return self.buffers.download(predicted, mask)

    def release_memory(self) -> None:
        """Free the CUDA cache (the engine's buffers are fixed and kept)."""
        torch.cuda.empty_cache()

    def status(self) -> Dict[str, str]:
        """Return the engine's precision, size and the GPU memory, for the diagnostics."""
        return {'engine_precision': self.precision, 'exported_size': '%dx%d' % self.size,
                'num_tokens': str(self.num_tokens),
                'gpu_memory_allocated_mb': '%.1f' % (
                    torch.cuda.memory_allocated(self.torch_device) / 2 ** 20)}
