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
The inference engine: numpy frames in, refined metric depth out.

:class:`NetworkBackend` owns everything around the network's forward pass that a robot
needs per frame: device and precision, host/device transfer through reused (pinned, on
CUDA) buffers, the token budget, the mask head, the range clamp and keeping sensor
values, and on CUDA one captured graph per frame size (:mod:`.graphs`). The Backend
protocol around the forward pass is :class:`.engine.NetworkEngine`'s, shared with the
onnxruntime and TensorRT backends; :func:`.factory.create_backend` picks a backend.
"""

import logging
from typing import Dict, List, Optional, Sequence, Tuple

from lingbot_depth_ros.backends.base import stage_timer
from lingbot_depth_ros.backends.engine import NetworkEngine
from lingbot_depth_ros.backends.factory import check_device, check_precision
from lingbot_depth_ros.backends.graphs import StaticForward
from lingbot_depth_ros.model.export import FrameShape
import numpy as np
import torch

LOGGER = logging.getLogger(__name__)
MAX_GRAPHS = 4  # captured frame shapes kept (each holds its activations on the GPU)

# Autocast dtype of each precision name of backend_factory.PRECISIONS (None: no autocast).
AUTOCAST_DTYPES = {'fp32': None, 'bf16': torch.bfloat16, 'fp16': torch.float16}


def resolve_device(device: str) -> torch.device:
    """
    Turn a checked device name into a torch device; 'auto' picks CUDA when available.

    :param device: a name ``backend_factory.check_device`` accepts.
    :return: the torch device.
    :raises ValueError: for an unknown name or CUDA asked for where there is none.
    """
    device = check_device(device)
    if device == 'auto':
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    if device.startswith('cuda') and not torch.cuda.is_available():
        raise ValueError(f'device: {device!r} requested but CUDA is not available '
                         '(use device: auto or cpu)')
    return torch.device(device)


class FrameBuffers:
    """Tensors reused across frames of one size (pinned host staging on CUDA)."""

    def __init__(self, height: int, width: int, device: torch.device):
        pin = device.type == 'cuda'
        self.size = (height, width)
        self.image = torch.empty((1, 3, height, width), dtype=torch.float32, device=device)
        self.depth = torch.empty((1, height, width), dtype=torch.float32, device=device)
        # Host staging: pinned on CUDA for asynchronous copies; on CPU it also takes
        # read-only arrays (message buffers, decoded files) that torch cannot wrap.
        self.host_rgb = torch.empty((height, width, 3), dtype=torch.uint8, pin_memory=pin)
        self.host_depth = torch.empty((height, width), dtype=torch.float32, pin_memory=pin)
        if pin:
            self.device_rgb = torch.empty((height, width, 3), dtype=torch.uint8, device=device)
            self.out_depth = torch.empty((height, width), dtype=torch.float32).pin_memory()
            self.out_mask = torch.empty((height, width), dtype=torch.float32).pin_memory()

    def upload(self, rgb: np.ndarray, depth: Optional[np.ndarray]) -> None:
        """Fill ``image`` (RGB in [0, 1], B, 3, H, W) and ``depth`` from numpy frames."""
        np.copyto(self.host_rgb.numpy(), rgb)
        source = self.host_rgb
        if self.image.device.type == 'cuda':
            self.device_rgb.copy_(self.host_rgb, non_blocking=True)
            source = self.device_rgb
        self.image.copy_(source.permute(2, 0, 1)[None])  # 1, 3, H, W
        self.image.div_(255.0)
        if depth is not None:
            np.copyto(self.host_depth.numpy(), depth)
            self.depth[0].copy_(self.host_depth, non_blocking=True)

    def download(self, depth: torch.Tensor, mask: Optional[torch.Tensor]
                 ) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        """Bring the (H, W) depth and mask probability back to the host."""
        if depth.device.type != 'cuda':
            return depth.numpy(), None if mask is None else mask.numpy()
        self.out_depth.copy_(depth, non_blocking=True)
        if mask is not None:
            self.out_mask.copy_(mask, non_blocking=True)
        torch.cuda.current_stream(depth.device).synchronize()
        return self.out_depth.numpy(), None if mask is None else self.out_mask.numpy()


class NetworkBackend(NetworkEngine):
    """
    Run LingBot-Depth on numpy RGB-D frames with torch.

    The outputs are the network's prediction at the input size, NaN where the mask head
    rejects a pixel (``apply_mask``); with ``keep_valid_input`` every valid sensor value is
    kept and only holes are filled.
    """

    def __init__(self, model, device: str = 'auto', precision: str = 'fp32',
                 num_tokens: Optional[int] = None, resolution_level: int = 9,
                 keep_valid_input: bool = True, apply_mask: bool = True,
                 compile_model: bool = False, warmup: bool = True,
                 warmup_size: Tuple[int, int] = (480, 640),
                 fix_unit_depth_hole: bool = False, profile_stages: bool = False,
                 tune_allocator: bool = True, cuda_graphs: bool = True,
                 warmup_sizes: Sequence[Tuple[int, int]] = ()):
        """
        Load the network and warm it up.

        :param model: an ``MDMModel`` or a spec string for ``model.load_model`` (path,
            directory, .safetensors, Hugging Face id, ``random:<config>``).
        :param device: 'auto' (CUDA if available), 'cpu', 'cuda' or 'cuda:N'.
        :param precision: 'fp32', 'bf16' or 'fp16' (autocast; fp32 matches the release).
        :param num_tokens: ViT token budget; None derives it from ``resolution_level``.
        :param resolution_level: 0 (fastest, 1200 tokens) to 9 (3600 tokens).
        :param keep_valid_input: keep valid sensor values, fill only the holes.
        :param apply_mask: NaN where the mask head says the prediction is unreliable.
        :param compile_model: wrap encoder and decoder in ``torch.compile`` (static shapes;
            mode 'reduce-overhead', i.e. with CUDA graphs, on CUDA).
        :param warmup: run one frame of each warm-up size now, not on the first message.
        :param warmup_size: (H, W) of the warm-up frame when ``warmup_sizes`` is empty.
        :param fix_unit_depth_hole: treat exact 1.000 m readings as valid (the release
            treats them as holes in log mode).
        :param profile_stages: on CUDA, synchronize after each stage so ``timings`` are
            per stage (costs a little throughput); on CPU stages are always timed.
        :param tune_allocator: on CPU, make glibc keep freed memory for reuse
            (``model.configure_cpu_allocator``): the decoder's large activations are
            otherwise unmapped and faulted in again every frame (0.8 s -> 2.7 s per
            vits_a frame here). Process-wide: RSS stays near its peak.
        :param cuda_graphs: on CUDA, run each frame size's static-shape network as one
            captured CUDA graph (captured at warm-up or on the first frame of a new size;
            eager, with a warning, if the capture fails). Ignored on the CPU.
        :param warmup_sizes: (H, W) of every frame size to warm up (and capture) now.
        """
        check_precision(precision)
        if num_tokens is not None and (int(num_tokens) != num_tokens or num_tokens < 1):
            raise ValueError(f'num_tokens: expected a positive integer or None, '
                             f'got {num_tokens!r}')
        if not 0 <= resolution_level <= 9:
            raise ValueError(f'resolution_level: expected 0..9, got {resolution_level!r}')
        self.torch_device = resolve_device(device)
        self.device = str(self.torch_device)
        if tune_allocator and self.torch_device.type == 'cpu':
            from lingbot_depth_ros.model import configure_cpu_allocator
            configure_cpu_allocator()
        self.precision = precision
        self.keep_valid_input = keep_valid_input
        self.apply_mask = apply_mask
        self.profile_stages = profile_stages or self.torch_device.type == 'cpu'
        if isinstance(model, str):
            from lingbot_depth_ros.model import load_model
            self.model_id = model
            model = load_model(model, device='cpu')
        else:
            self.model_id = type(model).__name__
        self.name = f'network:{self.model_id}'
        self.model = model.eval().to(self.torch_device)
        self.model.fix_unit_depth_hole = fix_unit_depth_hole
        self.num_tokens = int(num_tokens) if num_tokens is not None else None
        self.resolution_level = resolution_level
        self._encoder = self.model.encoder
        self._decode = self.model.decode
        if compile_model:
            # Fixed token counts (all depth positions present, masked) let the compiled
            # graph serve every hole pattern without recompiling.
            self.model.static_shapes = True
            mode = 'reduce-overhead' if self.torch_device.type == 'cuda' else 'default'
            self._encoder = torch.compile(self.model.encoder, dynamic=False, mode=mode)
            self._decode = torch.compile(self.model.decode, dynamic=False, mode=mode)
        self.cuda_graphs = (cuda_graphs and not compile_model
                            and self.torch_device.type == 'cuda')
        self._graphs: Dict[FrameShape, StaticForward] = {}
        self._graph_note = 'on' if self.cuda_graphs else 'off'
        self._buffers: Optional[FrameBuffers] = None
        if warmup:
            self.warm_up(tuple(warmup_sizes) or (tuple(warmup_size),))

    def token_budget(self) -> int:
        """Return the number of tokens the network is run with."""
        if self.num_tokens is not None:
            return self.num_tokens
        low, high = self.model.num_tokens_range
        return int(low + self.resolution_level / 9 * (high - low))

    def _buffers_for(self, height: int, width: int) -> FrameBuffers:
        if self._buffers is None or self._buffers.size != (height, width):
            self._buffers = FrameBuffers(height, width, self.torch_device)
        return self._buffers

    def _stage(self, timings: Dict[str, float], name: str):
        if self.profile_stages:
            self._synchronize()
        return stage_timer(timings, name)

    def _synchronize(self) -> None:
        if self.torch_device.type == 'cuda':
            torch.cuda.synchronize(self.torch_device)

    def _autocast(self, cache_enabled: bool = True):
        dtype = AUTOCAST_DTYPES[self.precision]
        if dtype is None:
            return torch.autocast(self.torch_device.type, enabled=False)
        return torch.autocast(self.torch_device.type, dtype=dtype, cache_enabled=cache_enabled)

    def _graph_for(self, height: int, width: int) -> Optional[StaticForward]:
        """Return the captured forward of this frame size, capturing it on first use."""
        if not self.cuda_graphs:
            return None
        shape = FrameShape(height, width, self.token_budget())
        graph = self._graphs.get(shape)
        if graph is None:
            if len(self._graphs) >= MAX_GRAPHS:
                self._graphs.pop(next(iter(self._graphs)))
            try:
                graph = StaticForward(self.model, shape, self.torch_device, self._autocast)
            except RuntimeError as error:
                if 'out of memory' in str(error).lower():
                    raise
                self.cuda_graphs = False
                self._graph_note = 'off (capture failed: %s)' % str(error).splitlines()[0]
                LOGGER.warning('CUDA graph capture failed for %dx%d, running eager: %s',
                               height, width, error)
                return None
            self._graphs[shape] = graph
        return graph

    def _forward(self, image: torch.Tensor, depth: Optional[torch.Tensor],
                 timings: Dict[str, float], **guidance) -> Dict[str, torch.Tensor]:
        """
        Run the timed stages from preprocess to postprocess (inside inference mode).

        :param image: RGB in [0, 1] (B, 3, H, W) on the device.
        :param depth: metres (B, H, W) on the device, or None.
        :param timings: dict receiving seconds per stage.
        :param guidance: ``amodal_mask`` / ``amodal_depth``: the guided network runs the
            eager encoder and decoder (a compiled graph has no guidance input).
        :return: ``model.postprocess`` output.
        """
        encoder, decode = (self.model.encoder, self.model.decode) if guidance \
            else (self._encoder, self._decode)
        with self._stage(timings, 'preprocess'):
            prepared = self.model.preprocess(image, self.token_budget(), depth, **guidance)
        with self._stage(timings, 'encoder'):
            features, cls_token = encoder(prepared, static_shapes=self.model.static_shapes)
        with self._stage(timings, 'decoder'):
            heads = decode(features, cls_token, prepared.aspect_ratio)
        with self._stage(timings, 'postprocess'):
            return self.model.postprocess(heads, prepared.image_size)

    def predict(self, rgb: np.ndarray, depth: Optional[np.ndarray],
                timings: Dict[str, float]) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        """
        Run the network on one validated frame.

        :param rgb: uint8 HxWx3.
        :param depth: float32 HxW metres, or None (monocular: every depth token dropped).
        :param timings: dict receiving seconds per stage.
        :return: (depth float32 HxW as predicted, mask probability float32 HxW or None);
            both are views of reused buffers, valid until the next call.
        """
        height, width = rgb.shape[:2]
        buffers = self._buffers_for(height, width)
        graph = self._graph_for(height, width)
        if graph is not None:
            with torch.inference_mode():
                with self._stage(timings, 'upload'):
                    buffers.upload(rgb, depth)
                with self._stage(timings, 'network'):
                    outputs = graph.run(buffers.image, None if depth is None else buffers.depth)
                    predicted = outputs[0][0]
                    mask = outputs[1][0].float() if len(outputs) > 1 else None
                with self._stage(timings, 'download'):
                    return buffers.download(predicted, mask)
        with torch.inference_mode(), self._autocast():
            with self._stage(timings, 'upload'):
                buffers.upload(rgb, depth)
            output = self._forward(buffers.image, None if depth is None else buffers.depth,
                                   timings)
            predicted = output['depth_reg'][0].float()  # H, W
            mask = output['mask'][0].float() if 'mask' in output else None  # H, W
            with self._stage(timings, 'download'):
                return buffers.download(predicted, mask)

    @property
    def supports_amodal(self) -> bool:
        """Whether the model has the amodal guidance input."""
        return bool(getattr(self.model, 'has_amodal_guidance', False))

    def predict_amodal(self, rgb: np.ndarray, depth: Optional[np.ndarray],
                       amodal: np.ndarray, visible: np.ndarray, timings: Dict[str, float]
                       ) -> np.ndarray:
        """
        Run the guided network eagerly (no CUDA graph: amodal frames are the rare ones).

        :param rgb: uint8 HxWx3.
        :param depth: float32 HxW metres, or None.
        :param amodal: bool HxW, the object's full extent.
        :param visible: float32 HxW metres of the visible part, 0 elsewhere.
        :param timings: dict receiving seconds per stage.
        :return: depth float32 HxW as predicted.
        """
        device = self.torch_device
        with torch.inference_mode(), self._autocast():
            with self._stage(timings, 'upload'):
                image = torch.from_numpy(rgb).to(device).permute(2, 0, 1)[None].float() / 255.0
                depth_in = None if depth is None else torch.from_numpy(depth)[None].to(device)
                mask = torch.from_numpy(amodal)[None].to(device=device, dtype=torch.float32)
                seen = torch.from_numpy(visible)[None].to(device)
            output = self._forward(image, depth_in, timings, amodal_mask=mask,
                                   amodal_depth=seen)
            with self._stage(timings, 'download'):
                return output['depth_reg'][0].float().cpu().numpy()

    def predict_batch(self, frames: Sequence[Tuple[np.ndarray, Optional[np.ndarray]]],
                      timings: Dict[str, float]
                      ) -> List[Tuple[np.ndarray, Optional[np.ndarray]]]:
        """
        Run frames of one size as one batch through the network (several cameras).

        Frames of different sizes, a single frame, or a CUDA-graph engine (one captured
        graph per size, batch 1) run one after another. A monocular frame joins the batch
        with an all-zero depth map, which the network reads as no depth at all.

        :param frames: ``(rgb uint8 HxWx3, depth float32 HxW or None)`` per frame.
        :param timings: dict receiving seconds per stage of the batch.
        :return: ``(depth float32 HxW, probability float32 HxW or None)`` per frame.
        """
        sizes = {rgb.shape[:2] for rgb, _ in frames}
        if len(frames) < 2 or len(sizes) > 1 or self._graph_for(*sizes.pop()) is not None:
            return super().predict_batch(frames, timings)
        device = self.torch_device
        with torch.inference_mode(), self._autocast():
            with self._stage(timings, 'upload'):
                rgb = torch.from_numpy(np.stack([rgb for rgb, _ in frames])).to(device)
                image = rgb.permute(0, 3, 1, 2).float().div_(255.0).contiguous()  # B3HW
                depth = None
                if any(d is not None for _, d in frames):
                    zeros = np.zeros(frames[0][0].shape[:2], dtype=np.float32)
                    depth = torch.from_numpy(np.stack(
                        [zeros if d is None else d for _, d in frames])).to(device)
            output = self._forward(image, depth, timings)
            with self._stage(timings, 'download'):
                predicted = output['depth_reg'].float().cpu().numpy()  # B, H, W
                mask = output['mask'].float().cpu().numpy() if 'mask' in output else None
        return [(predicted[i], None if mask is None else mask[i]) for i in range(len(frames))]

    def release_memory(self) -> None:
        """Drop reused buffers, captured graphs and the CUDA cache (after out-of-memory)."""
        self._buffers = None
        self._graphs.clear()
        if self.torch_device.type == 'cuda':
            torch.cuda.empty_cache()

    def status(self) -> Dict[str, str]:
        """Return the CUDA memory in use, for the diagnostics (nothing on the CPU)."""
        if self.torch_device.type != 'cuda':
            return {}
        mib = 2 ** 20
        return {
            'cuda_graphs': self._graph_note,
            'gpu_memory_allocated_mb': '%.1f' % (torch.cuda.memory_allocated(
                self.torch_device) / mib),
            'gpu_memory_reserved_mb': '%.1f' % (torch.cuda.memory_reserved(
                self.torch_device) / mib),
        }
