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
Deterministic random weights (the golden fixtures' rule) for tests and demos.

Rule (test/data/golden/README.md): every parameter with state-dict key ``k`` and shape
``s`` is drawn as ``z = numpy.random.default_rng(zlib.crc32(k)).standard_normal(s)``
(float64, C order) and transformed, first match wins: 1-D ``*.weight`` and ``*.gamma``
-> ``1 + 0.1 z``; ``*.bias`` -> ``0.02 z``; >= 2-D ``*.weight`` ->
``z / sqrt(prod(s[1:]))``; anything else -> ``0.02 z``; then rounded to float32.
Buffers keep their constructed values.
"""

import hashlib
import math
from typing import Any, Dict, Sequence, Union
import zlib

import numpy as np
import torch

from .configs import get_config
from .network import MDMModel


def random_weight(key: str, shape: Sequence[int]) -> np.ndarray:
    """
    Draw one parameter by the deterministic rule.

    :param key: full dotted state-dict key.
    :param shape: PyTorch shape.
    :return: float32 array of that shape.
    """
    shape = tuple(int(s) for s in shape)
    z = np.random.default_rng(zlib.crc32(key.encode('utf-8'))).standard_normal(shape)
    if (len(shape) == 1 and key.endswith('.weight')) or key.endswith('.gamma'):
        z *= 0.1
        z += 1.0
    elif key.endswith('.bias'):
        z *= 0.02
    elif len(shape) >= 2 and key.endswith('.weight'):
        z /= math.sqrt(math.prod(shape[1:]))
    else:
        z *= 0.02
    return z.astype(np.float32)


def build_random_model(config_or_name: Union[str, Dict[str, Any]], device='cpu',
                       **model_kwargs) -> MDMModel:
    """
    Build a model with deterministic random weights.

    :param config_or_name: a model_config dict, or a config name from
        :data:`.configs.CONFIGS` ('vits_a', 'vits_b', 'vitl_moge2like',
        'vitl_release_like', 'tiny').
    :param device: device of the returned model.
    :param model_kwargs: extra MDMModel keywords (fix_unit_depth_hole, static_shapes).
    :return: the model in eval mode.
    """
    config = get_config(config_or_name) if isinstance(config_or_name, str) else config_or_name
    # Built on the meta device and given the drawn arrays as storage: default init and
    # a second copy of every weight would be wasted work (seconds for ViT-L).
    with torch.device('meta'):
        model = MDMModel(**config, **model_kwargs)
    state = {key: torch.from_numpy(random_weight(key, param.shape))
             for key, param in model.named_parameters()}
    state.update({'encoder.' + key: value
                  for key, value in model.encoder.default_buffers().items()})
    model.load_state_dict(state, strict=True, assign=True)
    return model.to(device).eval()


def weights_sha256(model: torch.nn.Module) -> str:
    """
    Return the SHA-256 of all parameters as little-endian float32, in state-dict order.

    Buffers are excluded; this is the ``weights_sha256`` of the golden manifests.

    :param model: the model.
    :return: hex digest.
    """
    digest = hashlib.sha256()
    params = {id(p) for p in model.parameters()}
    for tensor in model.state_dict(keep_vars=True).values():
        if id(tensor) in params:
            array = tensor.detach().to('cpu', torch.float32).contiguous().numpy()
            digest.update(array.astype('<f4', copy=False).tobytes())
    return digest.hexdigest()
