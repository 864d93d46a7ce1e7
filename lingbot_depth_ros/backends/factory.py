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
builds the backend, importing torch only for the network.
"""

from dataclasses import dataclass
import logging
import re
from typing import Optional, Tuple

BACKENDS = ('auto', 'network', 'classical')
PRECISIONS = ('fp32', 'fp16', 'bf16')
DEVICES_HELP = 'auto (cuda when available, else cpu), cpu, cuda or cuda:N'
_DEVICE_PATTERN = re.compile(r'^(auto|cpu|cuda(:[0-9]+)?)$')

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


@dataclass(frozen=True)
class BackendSettings:
    """
    Everything that selects and configures a backend; checked on construction.

    :ivar model: network spec (path, directory, .safetensors, Hugging Face id,
        ``random:<config>``) or '' for none.
    :ivar backend: 'network', 'classical' or 'auto' (network when a model is given).
    :ivar keep_valid_input: output the sensor's valid measurements unchanged and fill only
        the holes (True), or output the backend's estimate everywhere (False).
    :ivar num_tokens: image tokens of the network; 0 derives them from resolution_level.
    :ivar num_threads: CPU threads of the backend's library; 0 keeps its default.
    :ivar warmup_size: (H, W) of the frame the network is warmed up with.
    """

    model: str = ''
    backend: str = 'auto'
    device: str = 'auto'
    precision: str = 'fp32'
    num_tokens: int = 0
    resolution_level: int = 9
    keep_valid_input: bool = True
    num_threads: int = 0
    warmup_size: Tuple[int, int] = (480, 640)

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
        check_device(self.device)
        check_precision(self.precision)
        if not 0 <= self.num_tokens <= 100000:
            raise ValueError('num_tokens: expected 0..100000, got %r' % (self.num_tokens,))
        if not 0 <= self.resolution_level <= 9:
            raise ValueError('resolution_level: expected 0..9, got %r'
                             % (self.resolution_level,))
        if self.num_threads < 0:
            raise ValueError('num_threads: expected >= 0, got %r' % (self.num_threads,))

    @property
    def kind(self) -> str:
        """Return 'network' or 'classical': what ``backend`` resolves to."""
        if self.backend == 'auto':
            return 'network' if self.model else 'classical'
        return self.backend


def create_backend(settings: BackendSettings, logger: Optional[logging.Logger] = None):
    """
    Build the backend the settings ask for.

    :param settings: the checked settings.
    :param logger: where the loud classical-fallback warning goes (default: this module's).
    :return: a :class:`.completion.Backend`.
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
    import torch  # only the network needs it
    if settings.num_threads:
        torch.set_num_threads(settings.num_threads)
    if settings.model.startswith(RANDOM_PREFIX):
        (logger or LOGGER).warning(RANDOM_WEIGHTS_WARNING % settings.model)
    from lingbot_depth_ros.backends.network import NetworkBackend
    return NetworkBackend(settings.model, device=settings.device,
                          precision=settings.precision,
                          num_tokens=settings.num_tokens or None,
                          resolution_level=settings.resolution_level,
                          keep_valid_input=settings.keep_valid_input,
                          warmup_size=tuple(settings.warmup_size))
