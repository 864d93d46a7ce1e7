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
A distilled student against its teacher: speed, and how far its depth is from the teacher's.

Runs both through the node's backend (torch, CPU, fp32) on synthetic scenes never used in
training (640x480, natural sensor failures) and prints ms per frame, the mean |student -
teacher| of the raw predictions (no measured pixel kept, no mask) and each one's RMSE on
the sensor's holes against the ground truth.

Usage: ``python benchmarks/bench_distill.py --student runs/tiny-distilled/model.pt
[--teacher bundled:vitt4-synthetic] [--tokens 192] [--scenes 4]``
"""

import argparse
import time

from lingbot_depth_ros.backends.factory import BackendSettings, create_backend
from lingbot_depth_ros.tools.evaluation.data import synthetic_samples
from lingbot_depth_ros.tools.evaluation.metrics import MetricSums
import numpy as np


def run(spec: str, tokens: int, samples, raw: bool):
    backend = create_backend(BackendSettings(model=spec, device='cpu', num_tokens=tokens,
                                             keep_valid_input=not raw,
                                             min_confidence=0.0 if raw else 0.5))
    outputs, times = [], []
    for sample in samples:
        start = time.perf_counter()
        outputs.append(backend.complete(sample.rgb, sample.sensor, sample.K).depth)
        times.append(time.perf_counter() - start)
    return outputs, 1000 * float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--student', required=True)
    parser.add_argument('--teacher', default='bundled:vitt4-synthetic')
    parser.add_argument('--tokens', type=int, default=192)
    parser.add_argument('--scenes', type=int, default=4)
    args = parser.parse_args()
    samples = list(synthetic_samples(args.scenes, seed=0))
    rows = []
    raw = {}
    for name, spec in (('teacher', args.teacher), ('student', args.student)):
        raw[name], ms = run(spec, args.tokens, samples, raw=True)
        refined, _ = run(spec, args.tokens, samples, raw=False)
        holes = MetricSums()
        for sample, depth in zip(samples, refined):
            holes.merge(MetricSums().add(depth, sample.gt, ~(sample.sensor > 0)))
        rows.append((name, spec, ms, holes.result()['rmse']))
    gap = np.mean([np.nanmean(np.abs(s - t)) for s, t in zip(raw['student'], raw['teacher'])])
    print(f'{args.scenes} synthetic scenes (seeds 0..{args.scenes - 1}), 640x480, '
          f'{args.tokens} tokens, CPU fp32')
    print('| model | spec | ms/frame | holes RMSE vs ground truth [m] |')
    print('|---|---|---:|---:|')
    for name, spec, ms, rmse in rows:
        print(f'| {name} | {spec} | {ms:.1f} | {rmse:.3f} |')
    print(f'mean |student - teacher| (raw predictions, every pixel): {gap:.3f} m')


if __name__ == '__main__':
    main()
