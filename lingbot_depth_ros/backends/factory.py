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
The one place a completion backend is chosen and built, for the node and every tool.

:class:`BackendSettings` holds what a user can choose (the node's parameters, the CLI's
flags) and checks it when constructed, without importing torch; :func:`create_backend`
builds the backend, importing torch only for the torch engine and TensorRT, onnxruntime
only for an exported .onnx file.
"""

from dataclasses import dataclass
import logging
import re
from typing import Optional, Tuple

BACKENDS = ('auto', 'network', 'classical', 'onnxruntime', 'tensorrt')
# File suffixes of the exported backends; 'auto' picks the backend from them.
EXPORTED_SUFFIXES = {'onnxruntime': ('.onnx',), 'tensorrt': ('.engine', '.plan')}
PRECISIONS = ('fp32', 'fp16', 'bf16')
DEVICES_HELP = 'auto (cuda when available, else cpu), cpu, cuda or cuda:N'
_DEVICE_PATTERN = re.compile(r'^(auto|cpu|cuda(:[0-9]+)?)$')
_SIZE_PATTERN = re.compile(r'^([0-9]+)x([0-9]+)$')
MAX_SIDE = 16384

LOGGER = logging.getLogger(__name__)
# Importing ROS 2 launch installs a logger class that does not propagate; this library's
# warnings must still reach the application's handlers whatever was imported first.
LOGGER.propagate = True
CLASSICAL_FALLBACK_WARNING = (
    'No model configured: using the CLASSICAL CPU backend (edge-aware hole filling, no '
    'network). Set `model` to a LingBot-Depth checkpoint for network completion.')


RANDOM_PREFIX = 'random:'
RANDOM_WEIGHTS_WARNING = (
    'Model %s has RANDOM weights (tests and demos only): its depth outputs are meaningless. '
    'Set `model` to a trained LingBot-Depth checkpoint.')


def check_device(device: str) -> str:
    """
    Check a device name (without importing torch).

    :param device: 'auto', 'cpu', 'cuda' or 'cuda:N'.
    :return: the name.
    :raises ValueError: for anything else (mps, xpu, typos).
    """
    if not isinstance(device, str) or not _DEVICE_PATTERN.match(device):
        raise ValueError('device: expected %s, got %r' % (DEVICES_HELP, device))
    return device


def check_precision(precision: str) -> str:
    """
    Check a precision name.

    :param precision: 'fp32', 'fp16' or 'bf16'.
    :return: the name.
    :raises ValueError: for anything else.
    """
    if precision not in PRECISIONS:
        raise ValueError('precision: expected one of %s, got %r'
                         % (', '.join(PRECISIONS), precision))
    return precision


def parse_sizes(text: str) -> Tuple[Tuple[int, int], ...]:
    """
    Parse a list of frame sizes such as ``'480x640, 720x1280'`` (height x width).

    :param text: sizes separated by commas or spaces; '' for none.
    :return: ((H, W), ...).
    :raises ValueError: for anything that is not HxW with sides 1..16384.
    """
    sizes = []
    for item in str(text).replace(',', ' ').split():
        match = _SIZE_PATTERN.match(item)
        height, width = (int(v) for v in match.groups()) if match else (0, 0)
        if not (1 <= height <= MAX_SIDE and 1 <= width <= MAX_SIDE):
            raise ValueError('warmup_sizes: expected HEIGHTxWIDTH entries (e.g. 480x640) with '
                             'sides 1..%d, got %r' % (MAX_SIDE, item))
        sizes.append((height, width))
    return tuple(sizes)


def format_sizes(sizes) -> str:
    """
    Write frame sizes as :func:`parse_sizes` reads them.

    :param sizes: ((H, W), ...).
    :return: e.g. '480x640,720x1280'.
    """
    return ','.join('%dx%d' % (height, width) for height, width in sizes)


@dataclass(frozen=True)
class BackendSettings:
    """
    Everything that selects and configures a backend; checked on construction.

    :ivar model: network spec (path, directory, .safetensors, Hugging Face id,
        ``random:<config>``), an exported .onnx / .engine file, or '' for none.
    :ivar backend: 'network' (torch), 'onnxruntime' (.onnx), 'tensorrt' (.engine),
        'classical' or 'auto' (chosen from the model: none -> classical, .onnx ->
        onnxruntime, .engine / .plan -> tensorrt, anything else -> network).
    :ivar keep_valid_input: output the sensor's valid measurements unchanged and fill only
        the holes (True), or output the backend's estimate everywhere (False).
    :ivar num_tokens: image tokens of the network; 0 derives them from resolution_level.
    :ivar num_threads: CPU threads of the backend's library; 0 keeps its default.
    :ivar warmup_sizes: (H, W) of each frame size the network is warmed up with (and,
        on CUDA, captured for); exported backends warm up at their exported size.
    :ivar cuda_graphs: torch engine on CUDA: replay one captured CUDA graph per size.
    :ivar min_confidence: network backends: pixels whose mask-head probability is below
        this get no depth (NaN); 0.5 is the release's threshold, 0 keeps every pixel.
    """

    model: str = ''
    backend: str = 'auto'
    device: str = 'auto'
    precision: str = 'fp32'
    num_tokens: int = 0
    resolution_level: int = 9
    keep_valid_input: bool = True
    num_threads: int = 0
    warmup_sizes: Tuple[Tuple[int, int], ...] = ((480, 640),)
    cuda_graphs: bool = True
    min_confidence: float = 0.5

    def __post_init__(self):
        """Reject settings that cannot make a backend, naming the setting."""
        if self.backend not in BACKENDS:
            raise ValueError('backend: expected one of %s, got %r'
                             % (', '.join(BACKENDS), self.backend))
        if self.backend == 'network' and not self.model:
            raise ValueError('backend: network needs a model (path, Hugging Face id or '
                             'random:<config>), got none')
        if self.backend == 'classical' and self.model:
            raise ValueError('model: %r selects a network; it cannot be used with backend '
                             'classical' % (self.model,))
        kind, suffix = self.kind, self.model.lower()
        for exported, suffixes in EXPORTED_SUFFIXES.items():
            if kind == exported and not suffix.endswith(suffixes):
                raise ValueError('model: backend %s needs a %s file from `lingbot-depth export`'
                                 ', got %r' % (exported, ' / '.join(suffixes), self.model))
            if kind == 'network' and suffix.endswith(suffixes):
                raise ValueError('model: %r is an exported network; use backend %s (or auto)'
                                 % (self.model, exported))
        if kind == 'onnxruntime' and self.precision != 'fp32':
            raise ValueError('precision: the onnxruntime backend runs the float32 .onnx graph, '
                             'got %r (build a TensorRT engine for fp16 / bf16)' % self.precision)
        check_device(self.device)
        check_precision(self.precision)
        for size in self.warmup_sizes:
            if len(size) != 2 or not all(isinstance(v, int) and 1 <= v <= MAX_SIDE
                                         for v in size):
                raise ValueError('warmup_sizes: expected (height, width) pairs with sides '
                                 '1..%d, got %r' % (MAX_SIDE, size))
        if not 0 <= self.num_tokens <= 100000:
            raise ValueError('num_tokens: expected 0..100000, got %r' % (self.num_tokens,))
        if not 0 <= self.resolution_level <= 9:
            raise ValueError('resolution_level: expected 0..9, got %r'
                             % (self.resolution_level,))
        if self.num_threads < 0:
            raise ValueError('num_threads: expected >= 0, got %r' % (self.num_threads,))
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ValueError('min_confidence: expected 0..1, got %r' % (self.min_confidence,))

    @property
    def kind(self) -> str:
        """Return what ``backend`` resolves to: never 'auto'."""
        if self.backend != 'auto':
            return self.backend
        if not self.model:
            return 'classical'
        for exported, suffixes in EXPORTED_SUFFIXES.items():
            if self.model.lower().endswith(suffixes):
                return exported
        return 'network'


def create_backend(settings: BackendSettings, logger: Optional[logging.Logger] = None):
    """
    Build the backend the settings ask for.

    :param settings: the checked settings.
    :param logger: where the loud classical-fallback warning goes (default: this module's).
    :return: a :class:`.base.Backend`.
    :raises Exception: whatever loading the network raises (missing file, bad checkpoint);
        callers report it as one line.
    """
    if settings.kind == 'classical':
        if settings.backend == 'auto':
            (logger or LOGGER).warning(CLASSICAL_FALLBACK_WARNING)
        import cv2  # the classical backend's only threaded library
        if settings.num_threads:
            cv2.setNumThreads(settings.num_threads)
        from lingbot_depth_ros.backends.classical import ClassicalBackend
        return ClassicalBackend(keep_valid_input=settings.keep_valid_input)
    warmup = bool(settings.warmup_sizes)
    backend = _network_backend(settings, warmup, logger)
    backend.min_confidence = settings.min_confidence
    return backend


def _network_backend(settings: BackendSettings, warmup: bool, logger):
    """Build the network backend (torch, onnxruntime or TensorRT) the settings select."""
    if settings.kind == 'onnxruntime':
        from lingbot_depth_ros.backends.onnx import OnnxRuntimeBackend
        return OnnxRuntimeBackend(settings.model, device=settings.device,
                                  num_tokens=settings.num_tokens,
                                  keep_valid_input=settings.keep_valid_input,
                                  num_threads=settings.num_threads, warmup=warmup)
    if settings.kind == 'tensorrt':
        from lingbot_depth_ros.backends.tensorrt import TensorRTBackend
        return TensorRTBackend(settings.model, device=settings.device,
                               precision=settings.precision, num_tokens=settings.num_tokens,
                               keep_valid_input=settings.keep_valid_input, warmup=warmup)
    import torch  # only the torch engine needs it
    if settings.num_threads:
        torch.set_num_threads(settings.num_threads)
    if settings.model.startswith(RANDOM_PREFIX):
        (logger or LOGGER).warning(RANDOM_WEIGHTS_WARNING % settings.model)
    from lingbot_depth_ros.backends.network import NetworkBackend
    return NetworkBackend(settings.model, device=settings.device,
                          precision=settings.precision,
                          num_tokens=settings.num_tokens or None,
                          resolution_level=settings.resolution_level,
                          keep_valid_input=settings.keep_valid_input, warmup=warmup,
                          warmup_sizes=tuple(tuple(s) for s in settings.warmup_sizes),
                          cuda_graphs=settings.cuda_graphs)
