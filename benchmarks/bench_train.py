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
Training throughput: optimisation steps per second and samples per second.

Times ``Trainer.train_step`` (forward, L1 + mask BCE, backward, clipping, AdamW) on
batches of the real dataset pipeline (synthetic scenes, natural masks, augmentation),
after two warm-up steps. Data (scenes rendered on the fly, masked, augmented) is timed
separately (it runs in the training process with ``--workers 0``; training reads a
rendered cache instead). On the CPU: the configs trained here (vitt4, tiny) at the
default 168x224 crop; with CUDA also the release-like ViT-L at the paper's batch 8.
Target (issue 10): >= 5 it/s at batch 8 for the small config on this CPU.

Usage: ``python benchmarks/bench_train.py [--steps 10] [--configs vitt4 tiny]``
"""

import argparse
import tempfile
import time

from lingbot_depth_ros.model import get_config, MDMModel
from lingbot_depth_ros.tools.train.sources import SyntheticSource
from lingbot_depth_ros.training.datasets import MaskedDepthDataset
from lingbot_depth_ros.training.initialization import init_from_scratch
from lingbot_depth_ros.training.trainer import Trainer, TrainSettings
import torch


def collate(items):
    return {k: torch.stack([item[k] for item in items]) for k in items[0]}


def bench(config: str, device: str, batch: int, crop, steps: int, source) -> dict:
    model = init_from_scratch(MDMModel(**get_config(config)))
    dataset = MaskedDepthDataset(source, crop, seed=0)
    started = time.perf_counter()
    batches = [collate([dataset[(i * batch + j) % len(dataset)] for j in range(batch)])
               for i in range(steps + 2)]
    load_s = (time.perf_counter() - started) / len(batches)
    with tempfile.TemporaryDirectory() as folder:
        trainer = Trainer(model, dataset, TrainSettings(steps=steps, batch_size=batch),
                          folder, device=device, progress=False)
        for item in batches[:2]:
            trainer.train_step(item)
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        started = time.perf_counter()
        for item in batches[2:]:
            trainer.train_step(item)
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        step_s = (time.perf_counter() - started) / steps
    return {'config': config, 'device': device, 'batch': batch,
            'crop': f'{crop[0]}x{crop[1]}', 'it_s': 1 / step_s,
            'samples_s': batch / step_s, 'load_ms': 1000 * load_s,
            'params_M': sum(p.numel() for p in model.parameters()) / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--steps', type=int, default=10)
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--configs', nargs='+', default=['vitt4', 'tiny'])
    args = parser.parse_args()
    source = SyntheticSource(8, size=(336, 448))
    rows = [bench(c, 'cpu', args.batch_size, (168, 224), args.steps, source)
            for c in args.configs]
    if torch.cuda.is_available():
        rows.append(bench('vitl_release_like', 'cuda', 8, (476, 630), args.steps, source))
    print(f'torch {torch.__version__}, {torch.get_num_threads()} CPU threads')
    print('| config | device | batch | crop | params | it/s | samples/s | '
          'data ms/batch (rendered on the fly) |')
    print('|---|---|---:|---|---:|---:|---:|---:|')
    for r in rows:
        print(f"| {r['config']} | {r['device']} | {r['batch']} | {r['crop']} | "
              f"{r['params_M']:.2f} M | {r['it_s']:.2f} | {r['samples_s']:.1f} | "
              f"{r['load_ms']:.0f} |")
    if not torch.cuda.is_available():
        print('GPU: no CUDA device here; the ViT-L figure is unmeasured.')


if __name__ == '__main__':
    main()
