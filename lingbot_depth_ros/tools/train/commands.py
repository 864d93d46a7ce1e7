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
``lingbot-depth train``, ``finetune`` and ``distill``.

train: from scratch with a named config, from any checkpoint (``--init``), or from DINOv2
backbone weights a user has (``--backbone-weights``). finetune: from a checkpoint, on the
robot's own bags or folders (self-supervised where there is no ground truth), at the
pretrained learning rates; with ``--amodal`` (and ``amodal:N`` scenes) it adds the
zero-initialised amodal guidance input and learns the hidden parts of objects. distill: a
smaller student learns a teacher checkpoint.
Every run writes ``model.pt`` (the released format: the node, refine-bag and evaluate load
it unchanged), ``model.safetensors`` + JSON, ``train_state.pt`` (for ``--resume``), CSV and
TensorBoard logs. Multi-GPU / multi-node: ``torchrun --nproc-per-node N -m
lingbot_depth_ros.tools.cli train ...``. Ctrl-C saves a checkpoint and exits 130.
"""

import argparse
import os
from pathlib import Path
import shlex
import signal
import sys
from typing import Dict, Optional

FROM_SCRATCH_LR = 3e-4
PRETRAINED_LR = (1e-5, 1e-4)
COMMANDS = ('train', 'finetune', 'distill')


def _size(text: str):
    try:
        height, width = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected HEIGHTxWIDTH, got {text!r}') from None
    return height, width


def _ratio(text: str):
    try:
        low, high = (float(v) for v in text.split(','))
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected LOW,HIGH, got {text!r}') from None
    return low, high


def add_training_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    """
    Add the options of one training command.

    :param parser: the subcommand's parser.
    :param command: 'train', 'finetune' or 'distill'.
    """
    parser.add_argument('--data', action='append', required=True, metavar='SPEC',
                        help='training data, repeatable: synthetic:N[:FIRST_SEED] (rendered '
                        'scenes; seeds from 100000 by default, never evaluated), '
                        'amodal:N[:FIRST_SEED] (amodal scenes, with --amodal), a folder '
                        'dataset (rgb/, depth/, gt/, intrinsics), or a rosbag2 (sensor depth '
                        'only: self-supervised)')
    parser.add_argument('--output', required=True, type=Path,
                        help='run directory: model.pt, model.safetensors, logs')
    model = parser.add_argument_group('model')
    if command == 'train':
        model.add_argument('--config', default='vitt4',
                           help='model config to build when no --init is given '
                           '(default: vitt4)')
        model.add_argument('--backbone-weights', type=Path, metavar='FILE',
                           help='DINOv2 backbone state dict to start the encoder from')
    if command == 'distill':
        model.add_argument('--teacher', required=True, metavar='SPEC',
                           help='teacher checkpoint (any model spec, e.g. bundled:NAME)')
        model.add_argument('--teacher-tokens', type=int, default=None,
                           help='teacher token budget (default: its num_tokens_range max)')
        model.add_argument('--config', default='tiny',
                           help='student config when no --init is given (default: tiny)')
        model.add_argument('--sensor-weight', type=float, default=0.5,
                           help='weight of L1 to the sensor readings (default: 0.5)')
    model.add_argument('--init', metavar='SPEC', required=command == 'finetune',
                       help='start from this checkpoint (strict load)')
    if command in ('train', 'finetune'):
        amodal = parser.add_argument_group('amodal')
        amodal.add_argument('--amodal', action='store_true',
                            help='learn amodal depth on amodal:N data; a model without the '
                            'guidance input gets it, zero-initialised')
        amodal.add_argument('--object-weight', type=float, default=1.0,
                            help='weight of the L1 over the whole object (default: 1.0)')
        amodal.add_argument('--binary-fraction', type=float, default=0.25,
                            help='share of samples whose mask gives no visibility '
                            '(default: 0.25)')
    opt = parser.add_argument_group('optimisation')
    opt.add_argument('--steps', type=int, default=2000, help='steps (default: 2000)')
    opt.add_argument('--batch-size', type=int, default=8,
                     help='samples per step and process (default: 8)')
    opt.add_argument('--crop', type=_size, default=(168, 224), metavar='HxW',
                     help='training input size, multiples of 14 (default: 168x224)')
    opt.add_argument('--lr-encoder', type=float, default=None,
                     help=f'encoder learning rate (default: {PRETRAINED_LR[0]} from pretrained '
                     f'weights, {FROM_SCRATCH_LR} from scratch)')
    opt.add_argument('--lr-decoder', type=float, default=None,
                     help=f'decoder learning rate (default: {PRETRAINED_LR[1]} from pretrained '
                     f'weights, {FROM_SCRATCH_LR} from scratch)')
    opt.add_argument('--warmup-steps', type=int, default=100,
                     help='encoder learning-rate warm-up (default: 100)')
    opt.add_argument('--decay-every', type=int, default=0,
                     help='halve the learning rates every N steps (default: 0, never)')
    opt.add_argument('--grad-clip', type=float, default=1.0, help='(default: 1.0)')
    opt.add_argument('--weight-decay', type=float, default=0.05, help='(default: 0.05)')
    opt.add_argument('--mask-ratio', type=_ratio, default=(0.6, 0.9), metavar='LOW,HIGH',
                     help='masked share of patches (default: 0.6,0.9)')
    opt.add_argument('--monocular-fraction', type=float, default=0.05,
                     help='share of fully masked samples (default: 0.05)')
    opt.add_argument('--depth-noise', type=float, default=0.01,
                     help='relative Gaussian noise on input depth (default: 0.01)')
    opt.add_argument('--crop-scale', type=_ratio, default=(0.25, 1.0), metavar='LOW,HIGH',
                     help='crop area as a share of the image (default: 0.25,1.0)')
    opt.add_argument('--no-augment', action='store_true', help='no crops, flips or photometric '
                     'augmentation (inputs are resized whole)')
    run = parser.add_argument_group('run')
    run.add_argument('--seed', type=int, default=0, help='(default: 0)')
    run.add_argument('--device', default='auto', help='auto, cpu or cuda (default: auto)')
    run.add_argument('--workers', type=int, default=0, help='DataLoader workers (default: 0)')
    run.add_argument('--threads', type=int, default=None,
                     help='CPU threads of torch (default: torch default)')
    run.add_argument('--val-every', type=int, default=500,
                     help='validate every N steps, 0 never (default: 500)')
    run.add_argument('--val-scenes', type=int, default=4,
                     help='held-out synthetic scenes for validation (default: 4)')
    run.add_argument('--val-tokens', type=int, default=768,
                     help='token budget of validation at 640x480 (default: 768)')
    run.add_argument('--save-every', type=int, default=500,
                     help='checkpoint every N steps (default: 500)')
    run.add_argument('--log-every', type=int, default=10, help='(default: 10)')
    run.add_argument('--cache-dir', type=Path, default=None,
                     help='render synthetic scenes once into this folder (default: on the fly)')
    run.add_argument('--synthetic-size', type=_size, default=(336, 448), metavar='HxW',
                     help='rendered scene size (default: 336x448)')
    run.add_argument('--bag-every', type=int, default=5,
                     help='keep every N-th frame of a bag (default: 5)')
    run.add_argument('--resume', action='store_true',
                     help='continue the run in --output from its train_state.pt')
    run.add_argument('--no-progress', action='store_true', help='no progress bar')


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _learning_rates(args, pretrained: bool):
    default = PRETRAINED_LR if pretrained else (FROM_SCRATCH_LR, FROM_SCRATCH_LR)
    return (default[0] if args.lr_encoder is None else args.lr_encoder,
            default[1] if args.lr_decoder is None else args.lr_decoder)


def build_model(args, command: str):
    """
    Build the starting model of a command.

    :param args: parsed arguments.
    :param command: 'train', 'finetune' or 'distill'.
    :return: (model, pretrained encoder?).
    """
    import torch

    from lingbot_depth_ros.model import get_config, load_model, MDMModel
    from lingbot_depth_ros.training.initialization import (init_from_scratch,
                                                           load_backbone_weights,
                                                           read_backbone_state)
    torch.manual_seed(args.seed)
    if args.init:
        model = load_model(args.init, device='cpu')
        if getattr(args, 'amodal', False) and not model.has_amodal_guidance:
            from lingbot_depth_ros.training.amodal import add_amodal_guidance
            model = add_amodal_guidance(model)
            _log(f'{command}: added the zero-initialised amodal guidance input to {args.init}')
        return model, True
    config = get_config(args.config)
    if getattr(args, 'amodal', False):
        config['encoder']['amodal_guidance'] = True
    model = init_from_scratch(MDMModel(**config), args.seed)
    if getattr(args, 'backbone_weights', None):
        kept = load_backbone_weights(model, read_backbone_state(args.backbone_weights))
        _log(f'{command}: encoder from {args.backbone_weights} (new: {", ".join(kept)})')
        return model, True
    return model, False


def run_training(args: argparse.Namespace, command: str) -> int:
    """
    Run one training command.

    :param args: parsed arguments.
    :param command: 'train', 'finetune' or 'distill'.
    :return: exit code (0 done, 2 usage, 130 interrupted after saving).
    """
    import torch

    from lingbot_depth_ros.tools.bag.refine import RefineOptions
    from lingbot_depth_ros.tools.train.sources import parse_data_spec
    from lingbot_depth_ros.tools.train.validation import validation_samples, Validator
    from lingbot_depth_ros.training import augment as augment_settings
    from lingbot_depth_ros.training.datasets import check_crop_size, MaskedDepthDataset
    from lingbot_depth_ros.training.distributed import DistributedContext
    from lingbot_depth_ros.training.masking import MaskSettings
    from lingbot_depth_ros.training.trainer import Trainer, TrainSettings

    problem = validate_arguments(args)
    if problem:
        _log(f'lingbot-depth {command}: error: {problem}')
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        masks = MaskSettings(ratio_range=args.mask_ratio,
                             monocular_fraction=args.monocular_fraction,
                             noise_std=args.depth_noise)
        check_crop_size(args.crop)
        augment = augment_settings.NONE if args.no_augment else \
            augment_settings.AugmentSettings(crop_scale=args.crop_scale)
    except ValueError as error:
        _log(f'lingbot-depth {command}: error: {error}')
        return 2
    context = DistributedContext.from_environment(args.device)
    model, pretrained = build_model(args, command)
    lr_encoder, lr_decoder = _learning_rates(args, pretrained)
    settings = TrainSettings(
        steps=args.steps, batch_size=args.batch_size, lr_encoder=lr_encoder,
        lr_decoder=lr_decoder, weight_decay=args.weight_decay,
        warmup_steps=args.warmup_steps, decay_every=args.decay_every,
        grad_clip=args.grad_clip, log_every=args.log_every, val_every=args.val_every,
        save_every=args.save_every, seed=args.seed, workers=args.workers)
    sources = [parse_data_spec(spec, args.cache_dir, args.synthetic_size, RefineOptions(),
                               args.bag_every, not args.no_progress and context.is_main, _log,
                               os.cpu_count() or 1)
               for spec in args.data]
    source = sources[0] if len(sources) == 1 else torch.utils.data.ConcatDataset(sources)
    objective = None
    if getattr(args, 'amodal', False):
        import functools

        from lingbot_depth_ros.training.amodal import AmodalDataset, amodal_losses
        dataset = AmodalDataset(source, args.crop, masks, augment, args.seed,
                                args.binary_fraction)
        objective = functools.partial(amodal_losses, object_weight=args.object_weight,
                                      mask_weight=settings.mask_weight)
    else:
        dataset = MaskedDepthDataset(source, args.crop, masks, augment, args.seed)
    validator = None
    if args.val_every and context.is_main:
        validator = Validator(validation_samples(args.val_scenes), args.val_tokens,
                              str(context.device))
    if command == 'distill':
        objective = _distillation(args, context.device, _log)
    trainer = Trainer(model, dataset, settings, args.output, validator=validator,
                      objective=objective, progress=not args.no_progress, context=context)
    if args.resume:
        step = trainer.resume(args.output)
        _log(f'{command}: resuming {args.output} at step {step}')
    if context.is_main:
        args.output.mkdir(parents=True, exist_ok=True)
        (args.output / 'command.txt').write_text(
            'lingbot-depth ' + ' '.join(shlex.quote(a) for a in sys.argv[1:]) + '\n')
        _log(f'{command}: {len(dataset)} samples, {settings.steps} steps of '
             f'{settings.batch_size} x {context.world_size} process(es) on {context.device}, '
             f'lr encoder {lr_encoder:g} decoder {lr_decoder:g}')
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        last = trainer.fit()
    finally:
        signal.signal(signal.SIGTERM, previous)
        context.close()
    if trainer.interrupted:
        _log(f'{command}: interrupted at step {trainer.step}; saved {args.output / "model.pt"} '
             f'(continue with --resume)')
        return 130
    if context.is_main:
        _summary(command, args.output, last)
    return 0


def _distillation(args, device, log):
    from lingbot_depth_ros.model import load_model
    from lingbot_depth_ros.training.distillation import DistillationObjective

    teacher = load_model(args.teacher, device='cpu').to(device)
    tokens = args.teacher_tokens or max(teacher.num_tokens_range)
    log(f'distill: teacher {args.teacher} at {tokens} tokens')
    return DistillationObjective(teacher, tokens, args.sensor_weight)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def _summary(command: str, output: Path, last: Dict[str, float]) -> None:
    from lingbot_depth_ros.training.logs import read_csv

    values = ', '.join(f'{k} {v:.4g}' for k, v in last.items() if not k.startswith('lr_'))
    _log(f'{command}: done; last training values: {values}')
    val = read_csv(output / 'val.csv')
    if val:
        best = min(val, key=lambda row: _or_inf(row.get('natural_holes_rmse')))
        _log(f"{command}: validation natural holes RMSE {val[-1].get('natural_holes_rmse', 0):.4f}"
             f" m (best {best.get('natural_holes_rmse', 0):.4f} m at step {int(best['step'])})")
    print(output / 'model.pt')


def _or_inf(value) -> float:
    return float('inf') if value is None or value != value else value


def handler(command: str):
    """Return the argparse handler of a command."""
    return lambda args: run_training(args, command)


def validate_arguments(args: argparse.Namespace) -> Optional[str]:
    """Return a usage problem of parsed arguments, or None."""
    for name in ('steps', 'batch_size', 'bag_every', 'val_scenes', 'val_tokens', 'log_every'):
        if getattr(args, name) < 1:
            return f"--{name.replace('_', '-')}: expected >= 1, got {getattr(args, name)}"
    amodal_data = [spec for spec in args.data if spec.startswith('amodal:')]
    if getattr(args, 'amodal', False):
        if len(amodal_data) != len(args.data):
            return (f'--data: --amodal trains on amodal scenes only (amodal:N), got '
                    f'{[s for s in args.data if s not in amodal_data]}')
        if not 0.0 <= args.binary_fraction <= 1.0:
            return f'--binary-fraction: expected 0..1, got {args.binary_fraction}'
    elif amodal_data:
        return f'--data: {amodal_data[0]} holds amodal scenes: add --amodal'
    return None
