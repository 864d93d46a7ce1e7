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

"""The training loop: losses, optimisation, resume, distributed equality, distillation."""

import os
from pathlib import Path

from lingbot_depth_ros.model import get_config, load_model, MDMModel
from lingbot_depth_ros.model.checkpoint import CheckpointError
from lingbot_depth_ros.training.augment import NONE
from lingbot_depth_ros.training.datasets import check_crop_size, MaskedDepthDataset, RGBDSample
from lingbot_depth_ros.training.distillation import DistillationObjective, teacher_error
from lingbot_depth_ros.training.initialization import (freeze_unused, init_from_scratch,
                                                       load_backbone_weights)
from lingbot_depth_ros.training.losses import depth_losses, masked_l1, training_forward
from lingbot_depth_ros.training.masking import MaskSettings
from lingbot_depth_ros.training.trainer import (learning_rate_factors, Trainer, TrainingNetwork,
                                                TrainSettings)
import numpy as np
import pytest
import torch

CROP = (56, 70)  # a 4 x 5 patch grid


def scene(seed, height=84, width=112, holes=True, gt=True):
    """Make a small RGB-D frame: a slanted plane and a box, colour following depth."""
    rng = np.random.default_rng(seed)
    v, u = np.mgrid[0:height, 0:width].astype(np.float32)
    depth = 1.0 + 0.01 * u + 0.005 * v + rng.uniform(0, 1)
    y, x = rng.integers(10, 50, 2)
    depth[y:y + 25, x:x + 30] -= 0.4
    rgb = np.clip(np.stack([depth * 80, 255 - depth * 60, u + v], -1), 0, 255).astype(np.uint8)
    sensor = depth.copy()
    if holes:
        sensor[y:y + 12, x:x + 14] = 0.0
    K = np.array([[90.0, 0, width / 2], [0, 90.0, height / 2], [0, 0, 1]])
    return RGBDSample(rgb, sensor, depth if gt else None, K)


def dataset(count=8, seed=0, **kwargs):
    return MaskedDepthDataset([scene(i, **kwargs) for i in range(count)], CROP,
                              MaskSettings(monocular_fraction=0.0), NONE, seed)


def tiny_model(seed=0):
    torch.manual_seed(seed)
    return init_from_scratch(MDMModel(**get_config('tiny')), seed)


def fixed_batch(ds, size=4):
    items = [ds[i] for i in range(size)]
    return {k: torch.stack([item[k] for item in items]) for k in items[0]}


def test_dataset_items_are_masked_inputs_and_valid_targets():
    ds = dataset()
    item = ds[0]
    assert item['image'].shape == (3, *CROP) and item['depth'].shape == CROP
    mask = item['patch_mask'].numpy()
    assert mask.shape == (4, 5) and mask.mean() >= 0.6 - 1 / 20
    pixels = np.repeat(np.repeat(mask, 14, 0), 14, 1)
    assert (item['depth'].numpy()[pixels] == 0).all()
    assert (item['target_valid'].numpy() == 1).all()  # full ground truth
    again = ds[0]
    assert torch.equal(item['depth'], again['depth'])  # same (seed, epoch, index)
    ds.set_epoch(1)
    assert not torch.equal(item['depth'], ds[0]['depth'])


def test_self_supervised_targets_are_the_sensor_readings():
    ds = dataset(gt=False)
    item = ds[1]
    assert torch.equal(item['target'], item['sensor'])
    assert torch.equal(item['target_valid'], (item['sensor'] > 0).float())
    assert (item['target_valid'] == 0).any()


def test_crop_sizes_must_fit_the_patch_grid():
    with pytest.raises(ValueError, match='multiples of 14'):
        check_crop_size((50, 70))
    assert check_crop_size((168, 224)) == (168, 224)


def test_masked_l1_ignores_unsupervised_pixels():
    pred = torch.tensor([[1.0, 2.0, 3.0]])
    target = torch.tensor([[1.5, float('nan'), 0.0]])
    weight = torch.tensor([[1.0, 0.0, 0.0]])
    loss = masked_l1(pred.requires_grad_(), target, weight)
    assert loss.item() == pytest.approx(0.5)
    loss.backward()
    assert torch.isfinite(pred.grad).all()
    assert masked_l1(pred, target, torch.zeros_like(weight)).item() == 0.0


def test_training_forward_matches_inference():
    model = tiny_model().eval()
    batch = fixed_batch(dataset(), 2)
    with torch.no_grad():
        out = training_forward(model, batch['image'], batch['depth'], 20)
        ref = model(batch['image'], 20, batch['depth'])
    assert torch.allclose(out['depth'], ref['depth_reg'], rtol=1e-5, atol=1e-6)
    assert torch.allclose(out['mask_logits'].sigmoid(), ref['mask'], atol=1e-6)


def test_learning_rate_warmup_and_step_decay():
    settings = TrainSettings(warmup_steps=10, decay_every=100)
    assert learning_rate_factors(0, settings) == {'encoder': 0.1, 'decoder': 1.0}
    assert learning_rate_factors(9, settings)['encoder'] == 1.0
    assert learning_rate_factors(250, settings) == {'encoder': 0.25, 'decoder': 0.25}
    with pytest.raises(ValueError, match='batch_size'):
        TrainSettings(batch_size=0)


def make_trainer(tmp_path, model=None, ds=None, **overrides):
    values = {'steps': 6, 'batch_size': 2, 'lr_encoder': 1e-3, 'lr_decoder': 1e-3,
              'warmup_steps': 2, 'log_every': 2, 'seed': 3}
    values.update(overrides)
    return Trainer(model or tiny_model(), ds or dataset(), TrainSettings(**values), tmp_path,
                   progress=False)


def test_one_step_lowers_the_loss_and_fifty_overfit(tmp_path):
    trainer = make_trainer(tmp_path, lr_encoder=2e-3, lr_decoder=2e-3, warmup_steps=0)
    batch = fixed_batch(dataset(), 4)

    def loss():
        with torch.no_grad():
            out = training_forward(trainer.model, batch['image'], batch['depth'], 20)
            return depth_losses(out, batch['target'], batch['target_valid'])['loss'].item()

    first = loss()
    trainer.train_step(batch)
    assert loss() < first
    for _ in range(49):
        trainer.train_step(batch)
    assert loss() < 0.15 * first


def test_resume_continues_identically(tmp_path):
    straight = make_trainer(tmp_path / 'a')
    straight.fit()
    half = make_trainer(tmp_path / 'b', steps=3)
    half.fit()
    rest = make_trainer(tmp_path / 'b', steps=6)
    assert rest.resume(tmp_path / 'b') == 3
    rest.fit()
    a, b = straight.model.state_dict(), rest.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    rows = (tmp_path / 'b' / 'train.csv').read_text().splitlines()
    assert rows[0].startswith('step,')
    # Each run logs its last step too.
    assert [r.split(',')[0] for r in rows[1:]] == ['2', '3', '4', '6']


def test_checkpoints_load_strictly_in_the_released_format(tmp_path):
    trainer = make_trainer(tmp_path, steps=2)
    trainer.fit()
    for name in ('model.pt', 'model.safetensors'):
        loaded = load_model(str(tmp_path / name))
        state = trainer.model.state_dict()
        assert all(torch.equal(loaded.state_dict()[k], state[k]) for k in state)
    assert (tmp_path / 'tensorboard').is_dir() or (tmp_path / 'train.csv').is_file()


def test_backbone_weights_load_strictly():
    source = tiny_model(seed=5).encoder.backbone.state_dict()
    dinov2 = {k: v for k, v in source.items() if not k.startswith('depth_patch_embed.')}
    dinov2['head.weight'] = torch.zeros(3)  # a DINOv2 training head is ignored
    model = tiny_model(seed=6)
    new = load_backbone_weights(model, dinov2)
    assert new == ['depth_patch_embed.proj.weight', 'depth_patch_embed.proj.bias']
    assert torch.equal(model.encoder.backbone.pos_embed, source['pos_embed'])
    dinov2['pos_embed'] = torch.zeros(1, 5, 128)
    with pytest.raises(CheckpointError, match='shape of pos_embed'):
        load_backbone_weights(model, dinov2)


def _ddp_worker(rank, world, init_file, out_dir):
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank))
    torch.distributed.init_process_group('gloo', init_method=f'file://{init_file}',
                                         rank=rank, world_size=world)
    from lingbot_depth_ros.training.distributed import DistributedContext
    torch.set_num_threads(1)
    context = DistributedContext.from_environment('cpu')
    model = tiny_model()
    freeze_unused(model)
    network = context.wrap(TrainingNetwork(model))
    batch = fixed_batch(dataset(), 4)
    part = {k: v[rank * 2:(rank + 1) * 2] for k, v in batch.items()}
    out = network(part['image'], part['depth'], 20)
    depth_losses(out, part['target'], part['target_valid'])['loss'].backward()
    torch.save({n: p.grad for n, p in model.named_parameters() if p.requires_grad},
               Path(out_dir) / f'grad{rank}.pt')
    context.close()


def test_ddp_with_two_gloo_processes_equals_single_process_gradients(tmp_path):
    torch.multiprocessing.spawn(_ddp_worker, args=(2, str(tmp_path / 'init'), str(tmp_path)),
                                nprocs=2, join=True)
    model = tiny_model()
    freeze_unused(model)
    batch = fixed_batch(dataset(), 4)
    out = training_forward(model, batch['image'], batch['depth'], 20)
    depth_losses(out, batch['target'], batch['target_valid'])['loss'].backward()
    grads = [torch.load(tmp_path / f'grad{r}.pt') for r in range(2)]
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            assert torch.equal(grads[0][name], grads[1][name])  # all-reduced
            assert torch.allclose(grads[0][name], parameter.grad, rtol=1e-4, atol=1e-6), name


def test_distillation_reduces_the_student_teacher_error(tmp_path):
    teacher = load_model('random:tiny')
    objective = DistillationObjective(teacher, 20)
    ds = dataset(gt=False)
    batches = [fixed_batch(ds, 4)]
    student = tiny_model(seed=9)
    before = teacher_error(student, objective, batches, 20)
    trainer = make_trainer(tmp_path, model=student, ds=ds, steps=40, lr_encoder=2e-3,
                           lr_decoder=2e-3)
    trainer.objective = objective
    trainer.fit()
    after = teacher_error(trainer.model, objective, batches, 20)
    assert after < 0.5 * before, (before, after)
