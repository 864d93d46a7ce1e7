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
What every network backend does around its forward pass, whatever runs the network.

:class:`NetworkEngine` turns a ``predict(rgb, depth) -> (depth, mask)`` into the
:class:`.base.Backend` protocol: input checks, the measured pixels, out-of-memory handling,
the mask head's verdict, keeping sensor values and the per-stage timings. The torch engine
(``network.NetworkBackend``), onnxruntime (``onnx``) and TensorRT (``tensorrt``) implement
only ``predict``; none of this module imports them (no torch here).
"""

import contextlib
import time
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from lingbot_depth_ros.backends.amodal import (align_to_visible, AmodalResult, split_amodal_mask,
                                               visible_depth)
from lingbot_depth_ros.backends.base import (check_inputs, CompletionResult, finalize_depth,
                                             MEASURED, measured, OutOfMemory, stage_timer)
import numpy as np

# Stages that make up the network's forward pass in ``timings['forward']``: the torch
# engine times them one by one, graphs and exported engines as one 'network' stage.
FORWARD_STAGES = ('preprocess', 'encoder', 'decoder', 'postprocess', 'network')
# Error texts of CUDA, cuDNN, cuBLAS, onnxruntime and TensorRT allocators.
_OUT_OF_MEMORY = ('out of memory', 'failed to allocate', 'outofmemory')


def exported_frame_inputs(rgb: np.ndarray, depth: Optional[np.ndarray]
                          ) -> Tuple[np.ndarray, np.ndarray]:
    """
    Turn a checked frame into the inputs of an exported network (batch of one).

    :param rgb: uint8 HxWx3.
    :param depth: float32 HxW metres, or None (monocular: every pixel a hole).
    :return: (image float32 (1, 3, H, W) in [0, 1], depth float32 (1, H, W)).
    """
    image = rgb.transpose(2, 0, 1)[None].astype(np.float32)
    image /= np.float32(255.0)
    if depth is None:
        return image, np.zeros((1,) + rgb.shape[:2], dtype=np.float32)
    return image, depth[None].astype(np.float32, copy=False)


def check_frame_size(rgb: np.ndarray, size: Tuple[int, int], source: str) -> None:
    """
    Reject a frame whose size differs from the fixed size of an exported network.

    :param rgb: the frame's colour image.
    :param size: (H, W) the network was exported for.
    :param source: the exported file, named in the error.
    :raises ValueError: naming both sizes and how to fix it.
    """
    if tuple(rgb.shape[:2]) != tuple(size):
        raise ValueError(f'rgb: expected {size[0]}x{size[1]} frames ({source} was exported '
                         f'for that size), got {rgb.shape[0]}x{rgb.shape[1]}; export again '
                         f'with --height {rgb.shape[0]} --width {rgb.shape[1]}')


def check_exported_tokens(num_tokens: Optional[int], exported: int, source: str) -> None:
    """
    Reject a token budget that differs from the one an exported network was built with.

    :param num_tokens: the requested budget (None or 0: take the exported one).
    :param exported: the budget stored with the file.
    :param source: the file, named in the error.
    :raises ValueError: when they differ.
    """
    if num_tokens and int(num_tokens) != int(exported):
        raise ValueError(f'num_tokens: {source} was exported with {exported} tokens, got '
                         f'{num_tokens} (set 0 to use the exported budget, or export again)')


class NetworkEngine:
    """
    Base of the network backends: the Backend protocol around ``predict``.

    Subclasses set ``name``, ``device``, ``keep_valid_input`` and ``apply_mask`` and
    implement :meth:`predict`, :meth:`release_memory` and :meth:`status`.
    """

    name = 'network'
    device = 'cpu'
    keep_valid_input = True
    apply_mask = True
    # The release thresholds the mask head's probability at 0.5.
    min_confidence = 0.5
    # Engines whose network has the amodal guidance input override it.
    supports_amodal = False
    # Scale the amodal prediction to the object's visible readings.
    align_amodal = True

    def predict(self, rgb: np.ndarray, depth: Optional[np.ndarray],
                timings: Dict[str, float]) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        """
        Run the network on one checked frame.

        :param rgb: uint8 HxWx3.
        :param depth: float32 HxW metres, or None (monocular).
        :param timings: dict receiving seconds per stage.
        :return: (depth float32 HxW as predicted, mask head probability float32 HxW or
            None); may be views of reused buffers, valid until the next call.
        """
        raise NotImplementedError

    def predict_amodal(self, rgb: np.ndarray, depth: Optional[np.ndarray],
                       amodal: np.ndarray, visible: np.ndarray, timings: Dict[str, float]
                       ) -> np.ndarray:
        """
        Run the network with amodal guidance on one checked frame.

        :param rgb: uint8 HxWx3.
        :param depth: float32 HxW metres, or None.
        :param amodal: bool HxW, the object's full extent.
        :param visible: float32 HxW metres of the object's visible part, 0 elsewhere.
        :param timings: dict receiving seconds per stage.
        :return: depth float32 HxW as predicted (an array of its own).
        """
        raise NotImplementedError

    def release_memory(self) -> None:
        """Free cached buffers (after an out-of-memory error or before idling)."""

    def status(self) -> Dict[str, str]:
        """Return key/values for the diagnostics (nothing by default)."""
        return {}

    def warm_up(self, sizes: Sequence[Tuple[int, int]]) -> None:
        """
        Run one grey frame per size, so that the first camera frame is not the slow one.

        :param sizes: (H, W) of each warm-up frame.
        """
        for height, width in sizes:
            rgb = np.full((height, width, 3), 128, dtype=np.uint8)
            depth = np.full((height, width), 1.5, dtype=np.float32)
            K = np.array([[width, 0, width / 2], [0, width, height / 2], [0, 0, 1]],
                         np.float64)
            self.complete(rgb, depth, K)

    def predict_batch(self, frames: Sequence[Tuple[np.ndarray, Optional[np.ndarray]]],
                      timings: Dict[str, float]
                      ) -> List[Tuple[np.ndarray, Optional[np.ndarray]]]:
        """
        Run the network on several checked frames; here one :meth:`predict` after another.

        Engines that can batch (the torch engine) override it with one forward pass.

        :param frames: ``(rgb, depth or None)`` of each frame.
        :param timings: dict receiving seconds per stage, summed over the frames.
        :return: ``(depth, probability or None)`` per frame, arrays of their own.
        """
        outputs = []
        for rgb, depth in frames:
            predicted, mask = self.predict(rgb, depth, timings)
            # predict may return views of reused buffers: keep a copy of each frame's.
            outputs.append((np.array(predicted, copy=True),
                            None if mask is None else np.array(mask, copy=True)))
        return outputs

    def complete(self, rgb: np.ndarray, depth: Optional[np.ndarray],
                 K: np.ndarray) -> CompletionResult:
        """
        Refine one frame.

        :param rgb: uint8 HxWx3 RGB.
        :param depth: float32 HxW metres (0 / NaN / inf = no measurement), or None for
            monocular prediction.
        :param K: 3x3 pixel intrinsics of the colour camera (validated).
        :return: the :class:`.base.CompletionResult`; ``timings`` holds seconds per stage,
            ``finalize``, ``forward`` (the network's stages) and ``total``.
        :raises OutOfMemory: when the device ran out of memory (buffers and cache freed).
        """
        return self.complete_batch([(rgb, depth, K)], batched=False)[0]

    @contextlib.contextmanager
    def _out_of_memory_guard(self) -> Iterator[None]:
        """Turn a device allocator failure into OutOfMemory, after freeing the caches."""
        try:
            yield
        except RuntimeError as error:
            # torch.cuda.OutOfMemoryError, cuDNN / cuBLAS, onnxruntime, TensorRT.
            if not any(words in str(error).lower() for words in _OUT_OF_MEMORY):
                raise
            self.release_memory()
            raise OutOfMemory(str(error)) from error

    def complete_amodal(self, rgb: np.ndarray, depth: Optional[np.ndarray], K: np.ndarray,
                        amodal_mask: np.ndarray) -> AmodalResult:
        """
        Predict the depth of an object's full extent, its hidden part included.

        The network's depth of the object is scaled to agree with its visible readings
        (``align_amodal``, :func:`.amodal.align_to_visible`); visible measured pixels then
        keep their reading (``keep_valid_input``). The mask head's verdict is not applied:
        it learnt where the scene's depth is valid, and the hidden part is valid by
        definition.

        :param rgb: uint8 HxWx3 RGB.
        :param depth: float32 HxW metres (0 / NaN = no measurement), or None.
        :param K: 3x3 pixel intrinsics (validated).
        :param amodal_mask: mono8 HxW, see :mod:`.amodal` (0 outside, 255 visible, other
            values hidden).
        :return: the :class:`.amodal.AmodalResult` (NaN outside the mask).
        :raises ValueError: when the network has no amodal guidance input, or for a bad
            mask.
        :raises OutOfMemory: when the device ran out of memory (buffers and cache freed).
        """
        start = time.perf_counter()
        if not self.supports_amodal:
            raise ValueError(f'amodal_mask: {self.name} has no amodal guidance input (its '
                             f'model_config lacks encoder.amodal_guidance: use an amodal '
                             f'model, e.g. one fine-tuned with lingbot-depth finetune '
                             f'--amodal)')
        rgb, depth, K = check_inputs(rgb, depth, K)
        amodal, visible = split_amodal_mask(amodal_mask, rgb.shape[:2])
        timings: Dict[str, float] = {}
        with self._out_of_memory_guard():
            predicted = self.predict_amodal(rgb, depth, amodal, visible_depth(depth, visible),
                                            timings)
        timings['forward'] = sum(timings.get(k, 0.0) for k in FORWARD_STAGES)
        with stage_timer(timings, 'finalize'):
            out = np.array(predicted, dtype=np.float32, copy=True)
            scale = align_to_visible(out, depth, visible) if self.align_amodal else 1.0
            out *= np.float32(scale)
            if self.keep_valid_input and depth is not None:
                np.copyto(out, depth, where=visible & measured(depth, visible.shape))
            out[~(amodal & MEASURED.valid(out))] = np.nan
        timings['total'] = time.perf_counter() - start
        return AmodalResult(out, amodal, amodal & ~visible, timings, scale)

    def complete_batch(self, frames: Sequence[Tuple[np.ndarray, Optional[np.ndarray],
                                                    np.ndarray]],
                       batched: bool = True) -> List[CompletionResult]:
        """
        Refine several frames (several cameras) with one forward pass where the engine can.

        Each result is that of :meth:`complete` on its frame alone (the network masks each
        sample's padded depth tokens), within float rounding.

        :param frames: ``(rgb, depth or None, K)`` of each frame, as for :meth:`complete`.
        :param batched: False runs :meth:`predict` (one frame) instead of
            :meth:`predict_batch`.
        :return: one CompletionResult per frame; the stage timings (and ``forward``) are
            those of the whole batch.
        :raises OutOfMemory: when the device ran out of memory (buffers and cache freed).
        """
        start = time.perf_counter()
        checked = [check_inputs(rgb, depth, K) for rgb, depth, K in frames]
        timings: Dict[str, float] = {}
        with self._out_of_memory_guard():
            if batched:
                outputs = self.predict_batch([(rgb, depth) for rgb, depth, _ in checked],
                                             timings)
            else:
                outputs = [self.predict(checked[0][0], checked[0][1], timings)]
        timings['forward'] = sum(timings.get(k, 0.0) for k in FORWARD_STAGES)
        results = []
        for (rgb, depth, _), (predicted, mask) in zip(checked, outputs):
            valid = measured(depth, rgb.shape[:2])
            frame_timings = dict(timings)
            with stage_timer(frame_timings, 'finalize'):
                confidence = None if mask is None else np.array(mask, dtype=np.float32)
                if confidence is not None and self.apply_mask:
                    predicted = np.where(confidence >= self.min_confidence, predicted,
                                         np.float32(np.nan))
                refined, filled = finalize_depth(predicted, depth, valid,
                                                 self.keep_valid_input)
            results.append(CompletionResult(refined, filled, valid, frame_timings, confidence))
        total = time.perf_counter() - start
        for result in results:
            result.timings['total'] = total
        return results
