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
Benchmark the classical CPU backend at 640x480: per-frame time, frames/s, hole accuracy.

Times ``ClassicalBackend.complete`` (and the nearest-fill baseline) on synthetic scenes
with simulated sensor failures and on the real captures in test/data/examples,
each frame ``--runs`` times after one warm-up call, and prints median / min per-frame time
and frames/s from the median over those sensor frames. Two block-masked frames of the
evaluation's hard and extreme levels (60 % / 80 % holes) are timed too, as worst cases.
On the synthetic frames it also prints RMSE / MAE on the hole pixels against the ground
truth, so speed and accuracy are quoted for the same configuration.

Usage: ``python benchmarks/bench_classical.py [--runs 30] [--scenes 4]``
"""

import argparse
from pathlib import Path
import statistics
import sys
import time

import cv2
from lingbot_depth_ros.backends.classical import ClassicalBackend, NearestFillBackend
from lingbot_depth_ros.geometry import depth_to_meters
from lingbot_depth_ros.tools.evaluation.data import read_captures
from lingbot_depth_ros.tools.evaluation.metrics import corrupt_depth, LEVELS
from lingbot_depth_ros.tools.synthetic import renderer as synthetic
import numpy as np

EXAMPLES = Path(__file__).resolve().parents[1] / 'test' / 'data' / 'examples'


def load_examples():
    """Return (name, rgb, depth_m, K) of the real captures, in test/data/examples."""
    return [(f'examples/{name}', rgb, depth_to_meters(raw, 0.001)[0], K)
            for name, rgb, raw, K in read_captures(EXAMPLES)]


def time_frame(completer, rgb, depth, K, runs):
    """Return the per-call times in seconds of ``runs`` calls after one warm-up call."""
    completer.complete(rgb, depth, K)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        completer.complete(rgb, depth, K)
        times.append(time.perf_counter() - start)
    return times


def hole_errors(completer, frame):
    """Return the errors on the hole pixels of a synthetic frame."""
    result = completer.complete(frame.rgb, frame.depth_sensor, frame.K)
    holes = ~result.valid_input & np.isfinite(frame.depth_gt)
    return result.depth[holes] - frame.depth_gt[holes]


def main(argv=None) -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--runs', type=int, default=30, help='timed calls per frame')
    parser.add_argument('--scenes', type=int, default=4, help='synthetic scenes')
    args = parser.parse_args(argv)
    if args.runs < 1 or args.scenes < 1:
        parser.error('--runs and --scenes must be >= 1')

    synthetic_frames = [synthetic.render_frame(seed) for seed in range(args.scenes)]
    inputs = [(f'synthetic/seed{f.seed}', f.rgb, f.depth_sensor, f.K)
              for f in synthetic_frames] + load_examples()
    # Worst cases: the evaluation's block masking hides 60 % / 80 % of the frame.
    first = synthetic_frames[0]
    for level in ('hard', 'extreme'):
        masked, _ = corrupt_depth(first.depth_gt, LEVELS[level], np.random.default_rng(0))
        inputs.append((f'blocks-{level}/seed0', first.rgb, masked, first.K))
    backends = [ClassicalBackend(), NearestFillBackend()]
    print(f'classical backend, 640x480, {args.runs} runs per frame after a warm-up, '
          f'cv2 {cv2.__version__}, {cv2.getNumThreads()} OpenCV threads')
    print(f'{"frame":22s} {"holes":>6s} ' + ' '.join(
        f'{b.name + " med ms":>16s} {"min ms":>7s}' for b in backends))
    all_times = {b.name: [] for b in backends}
    for name, rgb, depth, K in inputs:
        sensor_frame = not name.startswith('blocks-')
        holes = float(np.mean(~(depth > 0)))
        row = f'{name:22s} {holes:6.1%} '
        for backend in backends:
            times = time_frame(backend, rgb, depth, K, args.runs)
            if sensor_frame:
                all_times[backend.name] += times
            row += f'{1000 * statistics.median(times):16.2f} {1000 * min(times):7.2f} '
        print(row)
    for name, times in all_times.items():
        median = statistics.median(times)
        print(f'{name:9s}: median {1000 * median:.2f} ms/frame, min {1000 * min(times):.2f} ms,'
              f' {1 / median:.1f} frames/s (median over {len(times)} calls of the sensor '
              f'frames; block-masked frames excluded)')
    for backend in backends:
        errors = np.concatenate([hole_errors(backend, f) for f in synthetic_frames])
        print(f'{backend.name:9s}: hole RMSE {np.sqrt(np.mean(errors ** 2)):.3f} m, '
              f'MAE {np.mean(np.abs(errors)):.3f} m over {errors.size} hole pixels of '
              f'{len(synthetic_frames)} synthetic scenes')
    return 0


if __name__ == '__main__':
    sys.exit(main())
