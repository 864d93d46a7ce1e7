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

"""Amodal fine-tuning: the dataset's targets and guidance, the losses, a short run."""

from lingbot_depth_ros.model.random_weights import build_random_model
from lingbot_depth_ros.training.amodal import (add_amodal_guidance, amodal_losses, AmodalDataset,
                                               AmodalSample)
from lingbot_depth_ros.training.augment import NONE
from lingbot_depth_ros.training.masking import MaskSettings
from lingbot_depth_ros.training.trainer import Trainer, TrainSettings
import numpy as np
import pytest
import torch


def _sample(seed=0, height=56, width=84):
    """Return a wall at 3 m, an object at 1.5 m whose left half hides behind a box at 1 m."""
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    gt = np.full((height, width), 3.0, np.float32)
    amodal = np.zeros((height, width), bool)
    amodal[14:42, 20:70] = True
    occluder = np.zeros((height, width), bool)
    occluder[10:46, 10:40] = True
    gt[amodal] = 1.5
    gt[occluder] = 1.0
    target = np.where(amodal, 1.5, np.nan).astype(np.float32)
    sensor = gt.copy()
    sensor[:, :5] = 0.0
    K = np.array([[60.0, 0, width / 2], [0, 60.0, height / 2], [0, 0, 1]])
    return AmodalSample(rgb, sensor, gt, K, amodal, amodal & ~occluder, target)


def test_targets_are_the_object_inside_its_mask_and_the_scene_outside():
    dataset = AmodalDataset([_sample()], (56, 84), MaskSettings(ratio_range=(0.6, 0.6)), NONE,
                            binary_fraction=0.0)
    item = dataset[0]
    amodal = item['amodal_mask'].numpy() > 0
    target = item['target'].numpy()
    np.testing.assert_allclose(target[amodal], 1.5)
    hidden = item['hidden'].numpy() > 0
    assert hidden.sum() == (amodal[:, :40] & (np.arange(84) >= 20)[None, :40]).sum()
    outside = ~amodal
    assert set(np.unique(target[outside])) == {1.0, 3.0}
    guide = item['amodal_depth'].numpy()
    # The guidance holds the visible part's readings only: not the occluder's 1.0 m.
    np.testing.assert_allclose(guide[guide > 0], 1.5)
    assert ((guide > 0) == (amodal & ~hidden)).all()


def test_binary_masks_give_every_reading_inside_as_visible():
    dataset = AmodalDataset([_sample()], (56, 84), augment=NONE, binary_fraction=1.0)
    item = dataset[0]
    guide = item['amodal_depth'].numpy()
    amodal = item['amodal_mask'].numpy() > 0
    assert set(np.unique(guide[amodal])) == {1.0, 1.5}
    assert item['hidden'].sum() == 0


def test_a_step_trains_the_zero_initialised_guidance():
    torch.manual_seed(0)
    model = add_amodal_guidance(build_random_model('tiny')).train()
    dataset = AmodalDataset([_sample(i) for i in range(2)], (56, 84), augment=NONE)
    batch = torch.utils.data.default_collate([dataset[0], dataset[1]])
    from lingbot_depth_ros.training.losses import training_forward
    outputs = training_forward(model, batch['image'], batch['depth'], dataset.num_tokens,
                               batch['amodal_mask'], batch['amodal_depth'])
    losses = amodal_losses(outputs, batch)
    assert losses['loss'] > losses['l1'] > 0
    losses['loss'].backward()
    grad = model.encoder.backbone.amodal_patch_embed.proj.weight.grad
    assert grad is not None and grad.abs().max() > 0


def test_fine_tuning_lowers_the_object_error(tmp_path):
    torch.manual_seed(0)
    model = add_amodal_guidance(build_random_model('tiny'))
    dataset = AmodalDataset([_sample(i) for i in range(4)], (56, 84), augment=NONE)
    settings = TrainSettings(steps=30, batch_size=4, lr_encoder=1e-3, lr_decoder=1e-3,
                             warmup_steps=0, decay_every=0, log_every=30, val_every=0,
                             save_every=0)
    trainer = Trainer(model, dataset, settings, tmp_path, objective=amodal_losses,
                      progress=False)
    batch = torch.utils.data.default_collate([dataset[i] for i in range(4)])
    before = trainer.train_step(batch)['object_l1']
    trainer.fit()
    after = trainer.train_step(batch)['object_l1']
    assert after < 0.5 * before
    from lingbot_depth_ros.model import MDMModel
    assert MDMModel.from_pretrained(tmp_path / 'model.pt').has_amodal_guidance


def test_bad_binary_fraction_is_named():
    with pytest.raises(ValueError, match='binary_fraction'):
        AmodalDataset([_sample()], (56, 84), binary_fraction=1.5)


def test_cli_usage_errors_name_the_amodal_problem(tmp_path, capsys):
    from lingbot_depth_ros.tools.cli import main

    out = str(tmp_path / 'run')
    assert main(['finetune', '--init', 'random:tiny', '--data', 'amodal:2', '--output',
                 out]) == 2
    assert 'add --amodal' in capsys.readouterr().err
    assert main(['finetune', '--amodal', '--init', 'random:tiny', '--data', 'synthetic:2',
                 '--output', out]) == 2
    assert 'amodal scenes only' in capsys.readouterr().err
    assert main(['finetune', '--amodal', '--init', 'random:tiny', '--data', 'amodal:2',
                 '--binary-fraction', '2', '--output', out]) == 2
    assert '--binary-fraction: expected 0..1' in capsys.readouterr().err
