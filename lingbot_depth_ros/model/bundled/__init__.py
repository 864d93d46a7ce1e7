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
Models trained by this project and shipped in the package: ``bundled:<name>``.

Each is ``<name>.safetensors`` (fp16 weights), ``<name>.json`` (its model_config) and
``<name>.md`` (its model card: data, command, seed, time, metrics) in this folder.
"""

from pathlib import Path
from typing import Tuple

BUNDLED_DIR = Path(__file__).resolve().parent


def bundled_models() -> Tuple[str, ...]:
    """Return the names of the models shipped in the package."""
    return tuple(sorted(p.stem for p in BUNDLED_DIR.glob('*.safetensors')))


def bundled_checkpoint(name: str) -> Path:
    """
    Return the file of a bundled model.

    :param name: e.g. 'vitt4-synthetic' (its model card is ``<name>.md`` beside it).
    :return: the .safetensors path.
    """
    path = BUNDLED_DIR / f'{name}.safetensors'
    if not name or '/' in name or not path.is_file():
        raise FileNotFoundError(f'bundled model: expected one of {list(bundled_models())}, '
                                f'got {name!r}')
    return path
