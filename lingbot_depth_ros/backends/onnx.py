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
The onnxruntime backend: an exported network (``lingbot-depth export``) without torch.

The .onnx file fixes the frame size and token budget (stored in its metadata); the CPU and
CUDA execution providers run it. Everything around the forward pass is
:class:`.engine.NetworkEngine`'s, as for the torch engine.
"""

from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

from lingbot_depth_ros.backends.base import stage_timer
from lingbot_depth_ros.backends.engine import (check_exported_tokens, check_frame_size,
                                               exported_frame_inputs, NetworkEngine)
from lingbot_depth_ros.backends.factory import check_device
import numpy as np

METADATA_PREFIX = 'lingbot_depth.'  # model.export.METADATA_PREFIX (no torch import here)
_REQUIRED = ('height', 'width', 'num_tokens')


def read_export_metadata(values: Dict[str, str], source: str) -> Dict[str, str]:
    """
    Return the lingbot_depth entries of an exported file's metadata, without the prefix.

    :param values: the file's key/values (ONNX metadata_props or the engine's .json).
    :param source: the file, named in errors.
    :return: {'height': '480', 'width': '640', 'num_tokens': '1200', ...}.
    :raises ValueError: when the frame size or token budget is missing.
    """
    found = {key[len(METADATA_PREFIX):]: value for key, value in values.items()
             if key.startswith(METADATA_PREFIX)}
    missing = [key for key in _REQUIRED if key not in found]
    if missing:
        keys = ', '.join(METADATA_PREFIX + key for key in missing)
        raise ValueError(f'model: {source} has no {keys} metadata; export it with '
                         '`lingbot-depth export`')
    return found


def execution_providers(device: str, available: Sequence[str]) -> Tuple[list, str]:
    """
    Choose onnxruntime execution providers for a device name.

    :param device: 'auto', 'cpu', 'cuda' or 'cuda:N'.
    :param available: ``onnxruntime.get_available_providers()``.
    :return: (providers for InferenceSession, the device name used).
    :raises ValueError: when CUDA is asked for and this onnxruntime has no CUDA provider.
    """
    device = check_device(device)
    has_cuda = 'CUDAExecutionProvider' in available
    if device == 'auto':
        device = 'cuda:0' if has_cuda else 'cpu'
    if device == 'cpu':
        return ['CPUExecutionProvider'], 'cpu'
    if not has_cuda:
        raise ValueError(f'device: {device!r} requested but this onnxruntime has no '
                         'CUDAExecutionProvider (install onnxruntime-gpu, or use device cpu)')
    index = int(device.split(':')[1]) if ':' in device else 0
    return [('CUDAExecutionProvider', {'device_id': index}), 'CPUExecutionProvider'], \
        f'cuda:{index}'


class OnnxRuntimeBackend(NetworkEngine):
    """Run an exported LingBot-Depth .onnx file with onnxruntime on numpy frames."""

    def __init__(self, path, device: str = 'auto', num_tokens: Optional[int] = None,
                 keep_valid_input: bool = True, apply_mask: bool = True,
                 num_threads: int = 0, warmup: bool = True):
        """
        Open the file and warm it up.

        :param path: the .onnx file written by ``lingbot-depth export``.
        :param device: 'auto' (CUDA when onnxruntime has it), 'cpu', 'cuda' or 'cuda:N'.
        :param num_tokens: None / 0, or the exported budget (anything else is an error).
        :param keep_valid_input: keep valid sensor values, fill only the holes.
        :param apply_mask: NaN where the mask head says the prediction is unreliable.
        :param num_threads: intra-op CPU threads; 0 keeps onnxruntime's default.
        :param warmup: run one frame of the exported size now.
        :raises ValueError: for a missing file, a file without export metadata, a token
            budget other than the exported one, or CUDA without the CUDA provider.
        """
        import onnxruntime  # optional: the 'onnx' extra
        path = Path(path)
        if not path.is_file():
            raise ValueError(f'model: {path} does not exist (expected a .onnx file from '
                             '`lingbot-depth export`)')
        providers, self.device = execution_providers(device,
                                                     onnxruntime.get_available_providers())
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = int(num_threads)
        self.session = onnxruntime.InferenceSession(str(path), options, providers=providers)
        meta = read_export_metadata(self.session.get_modelmeta().custom_metadata_map,
                                    path.name)
        self.size = (int(meta['height']), int(meta['width']))
        self.num_tokens = int(meta['num_tokens'])
        check_exported_tokens(num_tokens, self.num_tokens, path.name)
        self.outputs = [o.name for o in self.session.get_outputs()]
        self.name = f'onnxruntime:{path.name}'
        self.source = path.name
        self.keep_valid_input = keep_valid_input
        self.apply_mask = apply_mask
        if warmup:
            self.warm_up([self.size])

    def predict(self, rgb: np.ndarray, depth: Optional[np.ndarray],
                timings: Dict[str, float]) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        """
        Run the exported network on one checked frame.

        :param rgb: uint8 HxWx3 of the exported size.
        :param depth: float32 HxW metres, or None (monocular).
        :param timings: dict receiving seconds for 'upload' and 'network'.
        :return: (depth float32 HxW, mask probability float32 HxW or None).
        :raises ValueError: for a frame of another size.
        """
        check_frame_size(rgb, self.size, self.source)
        with stage_timer(timings, 'upload'):
            image, depth_in = exported_frame_inputs(rgb, depth)
        with stage_timer(timings, 'network'):
            try:
                outputs = self.session.run(self.outputs, {'image': image, 'depth': depth_in})
            except Exception as error:  # noqa: B902 - onnxruntime's errors have no common base
                raise RuntimeError(f'onnxruntime: {error}') from error
        mask = outputs[1][0].astype(np.float32) if len(outputs) > 1 else None
        return outputs[0][0], mask

    def status(self) -> Dict[str, str]:
        """Return the execution provider and the exported shape, for the diagnostics."""
        return {'execution_provider': self.session.get_providers()[0],
                'exported_size': '%dx%d' % self.size, 'num_tokens': str(self.num_tokens)}
