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
The torch engine's fixed-shape forward: one replayable CUDA graph per frame size.

A frame of ViT-L launches over a thousand kernels; on a fast GPU launching them costs about
as much as running them. :class:`StaticForward` runs :class:`.model.export.StaticFrameNetwork`
(static shapes: every depth-token position present, dropped ones masked), which has the same
shapes for every hole pattern, so on CUDA it is captured once per (size, token budget,
precision) and replayed with one launch. On the CPU the same object runs the static network
eagerly (the tests check both paths give the eager network's output).
"""

import contextlib
from typing import Callable, Optional, Tuple

from lingbot_depth_ros.model.export import FrameShape, StaticFrameNetwork
import torch

WARMUP_RUNS = 2  # eager runs on a side stream before capture (cuBLAS / cuDNN workspaces)


class StaticForward:
    """
    The network for one frame shape on one device: captured as a CUDA graph when asked.

    Inputs are copied into static buffers; outputs are static buffers overwritten by the
    next run.
    """

    def __init__(self, model: torch.nn.Module, shape: FrameShape, device: torch.device,
                 autocast: Callable[[bool], contextlib.AbstractContextManager],
                 capture: bool = True):
        """
        Build (and on CUDA capture) the fixed-shape forward.

        :param model: the ``MDMModel`` on ``device``.
        :param shape: frame size and token budget.
        :param device: where it runs.
        :param autocast: returns the precision context of a run, given whether autocast
            may cache casts (not inside a capture: the cache would outlive it).
        :param capture: capture a CUDA graph (CUDA only; ignored on the CPU).
        :raises RuntimeError: when the capture fails (callers fall back to eager).
        """
        self.shape = shape
        self.network = StaticFrameNetwork(model, shape)
        self.autocast = autocast
        self.device = device
        self.image = torch.zeros((1, 3, shape.height, shape.width), device=device)
        self.depth = torch.full((1, shape.height, shape.width), 1.5, device=device)
        self.graph: Optional[torch.cuda.CUDAGraph] = None
        self.outputs: Tuple[torch.Tensor, ...] = ()
        if capture and device.type == 'cuda':
            self._capture()

    @property
    def captured(self) -> bool:
        """Whether runs replay a CUDA graph."""
        return self.graph is not None

    def _capture(self) -> None:
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side), torch.inference_mode(), self.autocast(True):
            for _ in range(WARMUP_RUNS):
                self.network(self.image, self.depth)
        torch.cuda.current_stream(self.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.inference_mode(), self.autocast(False), torch.cuda.graph(graph):
            self.outputs = self.network(self.image, self.depth)
        self.graph = graph

    def run(self, image: torch.Tensor, depth: Optional[torch.Tensor]
            ) -> Tuple[torch.Tensor, ...]:
        """
        Run one frame.

        :param image: float32 (1, 3, H, W) RGB in [0, 1] on the device.
        :param depth: float32 (1, H, W) metres on the device, or None (monocular).
        :return: (depth (1, H, W), mask probability (1, H, W) if the model has a mask head);
            static buffers when captured, valid until the next run.
        """
        self.image.copy_(image)
        if depth is None:
            self.depth.zero_()
        else:
            self.depth.copy_(depth)
        if self.graph is not None:
            self.graph.replay()
            return self.outputs
        with self.autocast(True):
            return self.network(self.image, self.depth)
