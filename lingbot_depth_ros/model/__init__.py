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
The LingBot-Depth network in pure PyTorch (no ROS imports).

``MDMModel`` is the release's network class (same constructor config, ``forward``,
``infer``, ``from_pretrained``); ``load_model(spec)`` loads any spec string (model.pt,
directory, .safetensors, Hugging Face repo id, ``random:<config>``).
"""

from .checkpoint import CheckpointError, read_checkpoint, save_checkpoint
from .configs import CONFIGS, get_config, validate_model_config
from .loading import load_model
from .network import depth_to_points, MDMModel
from .preprocess import num_tokens_for_level, PreparedInput, token_grid
from .random_weights import build_random_model, random_weight, weights_sha256
from .runtime import configure_cpu_allocator

__all__ = [
    'CONFIGS', 'CheckpointError', 'MDMModel', 'PreparedInput', 'build_random_model',
    'configure_cpu_allocator', 'depth_to_points', 'get_config', 'load_model',
    'num_tokens_for_level', 'random_weight', 'read_checkpoint', 'save_checkpoint',
    'token_grid', 'validate_model_config', 'weights_sha256',
]
