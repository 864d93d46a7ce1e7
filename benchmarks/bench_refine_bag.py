#!/usr/bin/env python3
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
Benchmark ``lingbot-depth refine-bag`` throughput at 640x480 and print frames/s per case.

The input bag is recorded on the RealSense topics from the eight real captures in
test/data/examples (cycled; 16UC1 depth, rgb8 colour, camera_info), or from synthetic scenes
when they are absent. Cases: the classical backend (mcap and sqlite3 output, with and
without points) and the network with random weights (``random:tiny``) when the model code
imports. Each case runs the whole tool (read, pair, decode, complete, encode, write) and
prints wall-clock frames/s, the process CPU time per frame and the per-frame time of each
stage.

Usage: bench_refine_bag.py [--frames N] [--network-frames N] [--resolution-level L]
       [--repeats N]
"""

import argparse
from pathlib import Path
import shutil
import sys
import tempfile
import time

from lingbot_depth_ros.backends.classical import ClassicalBackend
from lingbot_depth_ros.tools.bag import storage as bag_io
from lingbot_depth_ros.tools.bag.refine import refine_bag, RefineOptions
from lingbot_depth_ros.tools.evaluation.data import read_captures
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / 'test' / 'data' / 'examples'
FPS = 15.0


def example_frames(folder):
    """Return (rgb, depth metres, K) of the captures under ``folder``; [] when absent."""
    return [(rgb, raw.astype(np.float32) / 1000.0, K)
            for _, rgb, raw, K in read_captures(folder)]


def synthetic_frames(count=4):
    """Return (rgb, sensor depth metres, K) of a few synthetic views."""
    from lingbot_depth_ros.tools.synthetic import renderer as synthetic
    return [(f.rgb, f.depth_sensor, f.K) for f in synthetic.iter_sequence(n_frames=count)]


def write_input(path, frames, count):
    """Record ``count`` frames cycling through ``frames`` at FPS on the RealSense topics."""
    start = 1_700_000_000_000_000_000
    period = int(1e9 / FPS)
    sequence = ((start + i * period,) + frames[i % len(frames)] for i in range(count))
    return bag_io.write_rgbd_bag(path, sequence)


def run_case(label, source, workdir, completer, options, repeats):
    """Refine ``source`` ``repeats`` times and print the fastest run."""
    best = None
    for attempt in range(repeats):
        output = Path(workdir) / f'{label.replace(" ", "_").replace(",", "")}_{attempt}'
        options.progress = False
        wall, cpu = time.perf_counter(), time.process_time()
        report = refine_bag(source, output, completer, options)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        size = sum(p.stat().st_size for p in output.iterdir()) / 1e6
        shutil.rmtree(output)
        if best is None or wall < best[0]:
            best = (wall, cpu, report, size)
    wall, cpu, report, size = best
    frames = max(report.frames, 1)
    stages = '  '.join(f'{stage} {1000 * seconds / frames:6.1f}'
                       for stage, seconds in report.timings.items())
    print(f'{label:<30} {report.frames:3d} frames {wall:6.2f} s {report.frames / wall:6.2f} '
          f'frames/s (cpu {1000 * cpu / frames:6.1f} ms/frame)  ms/frame: {stages}  '
          f'output {size:.0f} MB', flush=True)


def main(argv=None):
    """Build the input bag, run every case and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--frames', type=int, default=48, help='frames in the input bag')
    parser.add_argument('--network-frames', type=int, default=4,
                        help='frames refined by the network case (0 skips it)')
    parser.add_argument('--resolution-level', type=int, default=0,
                        help='network resolution level (0 fastest .. 9)')
    parser.add_argument('--repeats', type=int, default=2,
                        help='runs per classical case; the fastest is printed (the machine '
                        'is shared, so timings are noisy)')
    args = parser.parse_args(argv)

    frames = example_frames(EXAMPLES) if EXAMPLES.is_dir() else []
    origin = f'{len(frames)} real captures from {EXAMPLES}'
    if not frames:
        frames, origin = synthetic_frames(), 'synthetic scenes'
    with tempfile.TemporaryDirectory(prefix='bench_refine_bag_') as workdir:
        source = Path(workdir) / 'input'
        started = time.perf_counter()
        write_input(source, frames, args.frames)
        size = sum(p.stat().st_size for p in source.iterdir()) / 1e6
        print(f'input: {args.frames} frames 640x480 ({origin}), mcap, {size:.0f} MB, '
              f'written in {time.perf_counter() - started:.1f} s')
        classical = ClassicalBackend()
        for label, options in (
                ('classical, mcap', RefineOptions()),
                ('classical, sqlite3', RefineOptions(storage='sqlite3')),
                ('classical, mcap, 16UC1', RefineOptions(depth_encoding='16UC1')),
                ('classical, mcap, --points', RefineOptions(points=True)),
                ('classical, --points, decim. 2', RefineOptions(points=True,
                                                                point_decimation=2))):
            run_case(label, source, workdir, classical, options, args.repeats)
        if args.network_frames > 0:
            try:
                from lingbot_depth_ros.backends.factory import (
                    BackendSettings, create_backend)
                network = create_backend(BackendSettings(
                    'random:tiny', device='cpu', resolution_level=args.resolution_level))
            except ImportError as error:
                print(f'network case skipped: {error}')
                return 0
            run_case(f'network random:tiny, level {args.resolution_level}', source, workdir,
                     network, RefineOptions(max_frames=args.network_frames), 1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
