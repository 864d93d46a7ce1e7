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

"""The bundled amodal model: loads by name with its guidance input, beats the baselines."""

from lingbot_depth_ros.backends.classical import ClassicalBackend
from lingbot_depth_ros.backends.factory import BackendSettings, create_backend
from lingbot_depth_ros.model import load_model
from lingbot_depth_ros.model.bundled import BUNDLED_DIR, bundled_models
from lingbot_depth_ros.model.checkpoint import read_checkpoint
from lingbot_depth_ros.tools.evaluation.amodal import (as_amodal, evaluate_amodal,
                                                       NearestVisibleFill, PlaneFitVisible)
from lingbot_depth_ros.tools.synthetic.amodal import render_amodal
import pytest
import torch

NAME = 'vitt4-amodal'
TOKENS = 192


def test_shipped_with_its_card_and_the_guidance_flag():
    assert NAME in bundled_models()
    card = (BUNDLED_DIR / f'{NAME}.md').read_text()
    for needed in ('lingbot-depth finetune --amodal', 'amodal:1600', '--seed', 'RMSE',
                   'nearest visible'):
        assert needed in card, needed
    config, state = read_checkpoint(BUNDLED_DIR / f'{NAME}.safetensors')
    assert config['encoder']['amodal_guidance'] is True
    assert state['encoder.backbone.amodal_patch_embed.proj.weight'].shape == (192, 3, 14, 14)
    assert all(v.dtype == torch.float16 for v in state.values() if v.is_floating_point())
    assert load_model(f'bundled:{NAME}').has_amodal_guidance


@pytest.fixture(scope='module')
def rows():
    # Amodal scenes 0-1: evaluation seeds; the model was trained on 100000-101599.
    frames = [render_amodal(seed, 320, 240) for seed in (0, 1)]

    def network(name):
        return create_backend(BackendSettings(model=f'bundled:{name}', device='cpu',
                                              num_tokens=TOKENS))
    predictors = [NearestVisibleFill(), PlaneFitVisible(), as_amodal(ClassicalBackend()),
                  as_amodal(network('vitt4-synthetic')), network(NAME)]
    return {row['predictor']: row for row in evaluate_amodal(frames, predictors)}


def test_the_hidden_part_is_closer_than_plane_fit_and_plain_completion(rows):
    ours = rows[f'network:bundled:{NAME}']
    assert ours['hidden_coverage'] == 1.0
    for baseline in ('plane fit', 'classical (no guidance)',
                     'network:bundled:vitt4-synthetic (no guidance)'):
        assert ours['common_rmse'] < 0.75 * rows[baseline]['common_rmse'], (baseline, rows)
