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
Load a model from any spec string: a checkpoint (see :mod:`.checkpoint`) or random weights.

Imports run one way: checkpoint (files) <- network (the model) <- random_weights <- here.
"""

from typing import Any, Dict, Optional

from .checkpoint import read_checkpoint, resolve_checkpoint
from .network import MDMModel
from .random_weights import build_random_model


def load_model(spec: str, device='cpu', model_kwargs: Optional[Dict[str, Any]] = None,
               **hf_kwargs) -> MDMModel:
    """
    Load a model from any spec string.

    :param spec: a path, directory, .safetensors file or Hugging Face repo id (the forms of
        :mod:`.checkpoint`), or ``random:<config>`` for deterministic random weights.
    :param device: device of the returned model.
    :param model_kwargs: overrides of the checkpoint's model_config / MDMModel options
        (e.g. {'fix_unit_depth_hole': True}).
    :param hf_kwargs: passed to ``hf_hub_download`` (cache_dir, revision, token, ...).
    :return: the model in eval mode.
    """
    model_kwargs = dict(model_kwargs or {})
    spec = str(spec)
    if spec.startswith('random:'):
        return build_random_model(spec[len('random:'):], device=device, **model_kwargs)
    path = resolve_checkpoint(spec, **hf_kwargs)
    config, state = read_checkpoint(path)
    return MDMModel.from_state(config, state, str(path), **model_kwargs).to(device)
