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

"""Validation during training: the evaluate command's protocol on held-out scenes."""

from typing import Dict, List, Sequence

from lingbot_depth_ros.backends.network import NetworkBackend
from lingbot_depth_ros.tools.evaluation.data import Sample
from lingbot_depth_ros.tools.evaluation.evaluate import evaluate
from lingbot_depth_ros.tools.train.sources import SyntheticSource

# Held out from training (seeds from 100000) and from evaluate's default scenes (from 0).
VALIDATION_SEED = 200000


def validation_samples(count: int, size=(480, 640)) -> List[Sample]:
    """
    Render the validation scenes once.

    :param count: number of scenes.
    :param size: (height, width), the robot cameras' 640x480 by default.
    :return: the samples.
    """
    source = SyntheticSource(count, VALIDATION_SEED, size)
    return [source.sample(i) for i in range(count)]


class Validator:
    """callable(model) -> metrics, as ``lingbot-depth evaluate`` computes them."""

    def __init__(self, samples: Sequence[Sample], num_tokens: int, device: str = 'cpu',
                 levels: Sequence[str] = ('medium',)):
        """
        Hold the held-out samples.

        :param samples: validation samples with ground truth and sensor depth.
        :param num_tokens: the token budget inference will use.
        :param device: device of the model.
        :param levels: block-masking levels evaluated besides the natural failures.
        """
        self.samples = list(samples)
        self.num_tokens = int(num_tokens)
        self.device = device
        self.levels = tuple(levels)

    def __call__(self, model) -> Dict[str, float]:
        """
        Evaluate the model; keys are ``<protocol>[_<level>]_<region>_<metric>``.

        :param model: the MDMModel being trained (left as it was found).
        :return: RMSE, MAE, AbsRel, δ<1.25 and coverage per case and region.
        """
        backend = NetworkBackend(model, device=self.device, num_tokens=self.num_tokens,
                                 warmup=False, tune_allocator=False)
        result = evaluate(self.samples, [backend], ('natural', 'blocks'), self.levels)
        metrics = {}
        for row in result.summary_rows():
            label = row['protocol'] if not row['level'] else f"{row['protocol']}_{row['level']}"
            # Coverage: pixels the mask head keeps; RMSE is NaN when it keeps none.
            for name in ('rmse', 'mae', 'absrel', 'delta_1_25', 'coverage'):
                metrics[f"{label}_{row['region']}_{name}"] = float(row[name])
        return metrics
