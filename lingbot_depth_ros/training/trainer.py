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
The training loop: AdamW, differential learning rates, warm-up, step decay, clipping.

One process or many (``torchrun``: DistributedDataParallel, a DistributedSampler, the
checkpoints written by rank 0). The run is a function of its seed: the sampler order
depends on (seed, epoch), each sample's draws on (seed, epoch, index), so a resumed run
replays the same batches from where it stopped.
"""

import contextlib
from dataclasses import asdict, dataclass
import json
import math
from pathlib import Path
import time
from typing import Callable, Dict, Iterator, Optional

from lingbot_depth_ros.model.checkpoint import save_checkpoint
import torch
from torch import nn

from .distributed import DistributedContext
from .initialization import freeze_unused
from .logs import TrainingLog
from .losses import depth_losses, training_forward

STATE_FILE = 'train_state.pt'
MODEL_FILE = 'model.pt'


@dataclass
class TrainSettings:
    """
    Hyper-parameters of a run (the paper's where it states them).

    :ivar steps: optimisation steps in total.
    :ivar batch_size: samples per step and process.
    :ivar lr_encoder: peak learning rate of the encoder.
    :ivar lr_decoder: learning rate of neck and heads.
    :ivar weight_decay: AdamW weight decay.
    :ivar betas: AdamW betas.
    :ivar warmup_steps: linear warm-up of the encoder's learning rate.
    :ivar decay_every: halve both learning rates every this many steps (0: never).
    :ivar grad_clip: gradient norm limit (0: none).
    :ivar mask_weight: weight of the mask head's BCE.
    :ivar log_every: steps between log rows.
    :ivar val_every: steps between validations (0: none).
    :ivar save_every: steps between checkpoints (0: only at the end).
    :ivar seed: seed of weights, order and draws.
    :ivar workers: DataLoader worker processes.
    """

    steps: int = 1000
    batch_size: int = 8
    lr_encoder: float = 1e-5
    lr_decoder: float = 1e-4
    weight_decay: float = 0.05
    betas: tuple = (0.9, 0.999)
    warmup_steps: int = 100
    decay_every: int = 0
    grad_clip: float = 1.0
    mask_weight: float = 0.1
    log_every: int = 10
    val_every: int = 0
    save_every: int = 0
    seed: int = 0
    workers: int = 0

    def __post_init__(self):
        """Reject settings no run could use."""
        for name in ('steps', 'batch_size'):
            if getattr(self, name) < 1:
                raise ValueError(f'{name}: expected >= 1, got {getattr(self, name)}')
        for name in ('lr_encoder', 'lr_decoder', 'weight_decay', 'grad_clip', 'mask_weight'):
            value = getattr(self, name)
            if not (value >= 0 and math.isfinite(value)):
                raise ValueError(f'{name}: expected a finite value >= 0, got {value}')
        for name in ('warmup_steps', 'decay_every', 'val_every', 'save_every', 'workers'):
            if getattr(self, name) < 0:
                raise ValueError(f'{name}: expected >= 0, got {getattr(self, name)}')
        if self.log_every < 1:
            raise ValueError(f'log_every: expected >= 1, got {self.log_every}')


def learning_rate_factors(step: int, settings: TrainSettings) -> Dict[str, float]:
    """
    Return the learning-rate multipliers of both groups at a step.

    :param step: 0-based optimisation step.
    :param settings: the run's settings.
    :return: {'encoder': warm-up x decay, 'decoder': decay}.
    """
    decay = 0.5 ** (step // settings.decay_every) if settings.decay_every else 1.0
    warm = min(1.0, (step + 1) / settings.warmup_steps) if settings.warmup_steps else 1.0
    return {'encoder': warm * decay, 'decoder': decay}


class TrainingNetwork(nn.Module):
    """The model behind one ``forward`` (DistributedDataParallel hooks need one)."""

    def __init__(self, model: nn.Module):
        """:param model: the MDMModel to train."""
        super().__init__()
        self.model = model

    def forward(self, image, depth, num_tokens, amodal_mask=None, amodal_depth=None):
        """Return :func:`training_forward` of the wrapped model."""
        return training_forward(self.model, image, depth, num_tokens, amodal_mask,
                                amodal_depth)


class Trainer:
    """Train an MDMModel on a masked-depth dataset."""

    def __init__(self, model: nn.Module, dataset, settings: TrainSettings, output_dir,
                 device: str = 'cpu', validator: Optional[Callable] = None,
                 objective: Optional[Callable] = None, progress: bool = True,
                 context: Optional[DistributedContext] = None):
        """
        Prepare a run.

        :param model: an MDMModel (already initialised).
        :param dataset: a :class:`.datasets.MaskedDepthDataset` (or same interface).
        :param settings: hyper-parameters.
        :param output_dir: where checkpoints and logs go.
        :param device: torch device string.
        :param validator: callable(model) -> {metric: value}, run on rank 0.
        :param objective: callable(outputs, batch) -> losses dict replacing the
            supervised losses (distillation uses it).
        :param progress: show a tqdm bar on rank 0.
        :param context: the distributed context (default: this single process).
        """
        self.settings = settings
        self.context = context or DistributedContext.single(device)
        self.device = self.context.device
        self.model = model.to(self.device)
        freeze_unused(self.model)
        self.network = self.context.wrap(TrainingNetwork(self.model))
        self.dataset = dataset
        self.output_dir = Path(output_dir)
        self.validator = validator
        self.objective = objective
        self.progress = progress and self.context.is_main
        encoder = [p for n, p in model.named_parameters()
                   if n.startswith('encoder.') and p.requires_grad]
        decoder = [p for n, p in model.named_parameters()
                   if not n.startswith('encoder.') and p.requires_grad]
        self.optimizer = torch.optim.AdamW(
            [{'params': encoder, 'lr': settings.lr_encoder, 'name': 'encoder'},
             {'params': decoder, 'lr': settings.lr_decoder, 'name': 'decoder'}],
            betas=tuple(settings.betas), weight_decay=settings.weight_decay)
        self.sampler = torch.utils.data.DistributedSampler(
            dataset, num_replicas=self.context.world_size, rank=self.context.rank,
            shuffle=True, seed=settings.seed, drop_last=True)
        self.batches_per_epoch = len(self.sampler) // settings.batch_size
        if self.batches_per_epoch < 1:
            raise ValueError(f'batch_size: {settings.batch_size} per process exceeds the '
                             f'{len(self.sampler)} samples each process gets')
        self.step = 0
        self.interrupted = False

    # -- state ---------------------------------------------------------------------------
    def save(self, final: bool = False) -> Optional[Path]:
        """
        Write ``model.pt`` (released format) and ``train_state.pt`` on rank 0.

        :param final: also write ``model.safetensors`` + JSON beside it.
        :return: the model.pt path (None on other ranks).
        """
        if not self.context.is_main:
            return None
        self.output_dir.mkdir(parents=True, exist_ok=True)
        path = save_checkpoint(self.model, self.output_dir / MODEL_FILE)
        state = {'step': self.step, 'optimizer': self.optimizer.state_dict(),
                 'settings': asdict(self.settings),
                 'world_size': self.context.world_size}
        partial = self.output_dir / (STATE_FILE + '.partial')
        torch.save(state, partial)
        partial.replace(self.output_dir / STATE_FILE)
        if final:
            save_checkpoint(self.model, self.output_dir / 'model.safetensors')
        return path

    def resume(self, folder) -> int:
        """
        Continue a run: weights from its model.pt, optimizer and step from its state.

        :param folder: output directory of the earlier run.
        :return: the step the run continues from.
        """
        from lingbot_depth_ros.model.checkpoint import read_checkpoint

        folder = Path(folder)
        state_path = folder / STATE_FILE
        if not state_path.is_file():
            raise FileNotFoundError(f'resume: {state_path} not found (is {folder} the '
                                    f'output directory of a training run?)')
        _, weights = read_checkpoint(folder / MODEL_FILE)
        self.model.load_state_dict(weights, strict=True)
        state = torch.load(state_path, map_location=self.device, weights_only=True)
        if state.get('world_size', 1) != self.context.world_size:
            raise ValueError(f"resume: the run used {state.get('world_size')} processes, "
                             f'this one {self.context.world_size}: the batches would differ')
        self.optimizer.load_state_dict(state['optimizer'])
        self.step = int(state['step'])
        return self.step

    # -- loop ----------------------------------------------------------------------------
    def batches(self) -> Iterator[Dict[str, torch.Tensor]]:
        """Yield the batches from the current step on, epoch after epoch."""
        loader_kwargs = {'batch_size': self.settings.batch_size,
                         'num_workers': self.settings.workers, 'drop_last': True}
        while True:
            epoch, skip = divmod(self.step, self.batches_per_epoch)
            self.sampler.set_epoch(epoch)
            self.dataset.set_epoch(epoch)
            indices = list(self.sampler)[skip * self.settings.batch_size:]
            loader = torch.utils.data.DataLoader(self.dataset, sampler=indices,
                                                 **loader_kwargs)
            yield from loader

    def _autocast(self):
        if self.device.type == 'cuda':
            return torch.autocast('cuda', dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def train_step(self, batch: Dict[str, torch.Tensor]) -> Dict[str, float]:
        """
        Run one optimisation step.

        :param batch: a collated batch of the dataset.
        :return: the losses and learning rates as floats.
        """
        batch = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
        factors = learning_rate_factors(self.step, self.settings)
        for group in self.optimizer.param_groups:
            base = self.settings.lr_encoder if group['name'] == 'encoder' \
                else self.settings.lr_decoder
            group['lr'] = base * factors[group['name']]
        self.network.train()
        with self._autocast():
            outputs = self.network(batch['image'], batch['depth'], self.dataset.num_tokens,
                                   batch.get('amodal_mask'), batch.get('amodal_depth'))
            if self.objective is not None:
                losses = self.objective(outputs, batch)
            else:
                losses = depth_losses(outputs, batch['target'], batch['target_valid'],
                                      self.settings.mask_weight)
        self.optimizer.zero_grad(set_to_none=True)
        losses['loss'].backward()
        if self.settings.grad_clip:
            norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(),
                                                  self.settings.grad_clip)
            losses['grad_norm'] = norm
        self.optimizer.step()
        self.step += 1
        values = {k: float(v.detach()) for k, v in losses.items()}
        values.update({f'lr_{g["name"]}': g['lr'] for g in self.optimizer.param_groups})
        return values

    def validate(self) -> Optional[Dict[str, float]]:
        """Run the validator on rank 0 (eval mode); return its metrics."""
        if self.validator is None or not self.context.is_main:
            return None
        self.model.eval()
        try:
            return self.validator(self.model)
        finally:
            self.model.train()

    def fit(self) -> Dict[str, float]:
        """
        Train until ``settings.steps``; Ctrl-C saves a checkpoint and stops cleanly.

        :return: the last logged training values.
        """
        settings = self.settings
        log = TrainingLog(self.output_dir) if self.context.is_main else None
        bar = None
        if self.progress:
            from tqdm import tqdm
            bar = tqdm(total=settings.steps, initial=self.step, unit='step',
                       dynamic_ncols=True)
        last: Dict[str, float] = {}
        sums: Dict[str, float] = {}
        count, started = 0, time.perf_counter()
        if log is not None:
            (self.output_dir / 'settings.json').write_text(
                json.dumps(asdict(settings), indent=1) + '\n')
        try:
            for batch in self.batches():
                if self.step >= settings.steps:
                    break
                values = self.train_step(batch)
                for key, value in values.items():
                    sums[key] = sums.get(key, 0.0) + value
                count += 1
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{values['loss']:.4f}")
                if self.step % settings.log_every == 0 or self.step == settings.steps:
                    elapsed = time.perf_counter() - started
                    last = {k: v / count for k, v in sums.items()}
                    last['samples_per_s'] = count * settings.batch_size \
                        * self.context.world_size / max(elapsed, 1e-9)
                    if log is not None:
                        log.write('train', self.step, last)
                    sums, count, started = {}, 0, time.perf_counter()
                if settings.val_every and self.step % settings.val_every == 0:
                    metrics = self.validate()
                    if metrics and log is not None:
                        log.write('val', self.step, metrics)
                if settings.save_every and self.step % settings.save_every == 0:
                    self.save()
        except KeyboardInterrupt:
            self.interrupted = True
        finally:
            if bar is not None:
                bar.close()
        self.save(final=not self.interrupted)
        if log is not None:
            log.close()
        return last
