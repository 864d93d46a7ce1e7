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
GPU figures of the network backends: ms per frame end to end, fps, memory, node latency.

One prepared script for one CUDA GPU, within a time budget (default 330 s, under 6 min):

1. torch engine rows: configs ``vitl_release_like`` (dinov2_vitl14, intermediate_layers 1,
   dim_out 1024) and ``vits_a``; 1200 / 2400 / 3600 tokens at 480x640; fp32 / bf16 /
   fp16; eager and CUDA graphs. Each row times ``complete()`` on a real capture, numpy
   in to numpy out (upload, network, download, finalize): p50 / p99 ms, fps, peak GPU
   memory.
2. the node over DDS at 30 Hz with a camera process (``bench_node.py``): stamp -> publish
   latency for ViT-L bf16 with CUDA graphs at 1200 and 3600 tokens.
3. TensorRT rows (when the tensorrt wheel is installed) with the time left: export, engine
   build (fp16), the same timing through the tensorrt backend.

Rows that do not fit the budget are printed as skipped. Targets on an H100 / H200-class GPU:
1200 tokens <= 8 ms and 3600 tokens <= 33 ms end to end.

Usage: ``python benchmarks/bench_gpu.py [--budget-s 330] [--frames 30] [--quick]``
"""

import argparse
from pathlib import Path
import re
import statistics
import subprocess
import sys
import tempfile
import time

from lingbot_depth_ros.backends.network import NetworkBackend
from lingbot_depth_ros.model.random_weights import build_random_model
from lingbot_depth_ros.tools.evaluation.data import read_capture
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ('vitl_release_like', 'vits_a')
TOKENS = (1200, 2400, 3600)
PRECISIONS = ('bf16', 'fp16', 'fp32')
TARGET_MS = {1200: 8.0, 3600: 33.0}
HEADER = (f'{"config":<18} {"tok":>5} {"prec":<5} {"mode":<9} {"p50 ms":>8} {"p99 ms":>8} '
          f'{"fps":>7} {"GPU MiB":>8}  note')


class Budget:
    """Seconds left of the run's budget."""

    def __init__(self, seconds: float):
        """Start the clock."""
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        """Return the seconds left."""
        return self.end - time.monotonic()


def time_backend(backend, rgb, depth, K, frames: int):
    """Return (p50 ms, p99 ms) of ``complete()`` over ``frames`` frames after 3 untimed."""
    for _ in range(3):
        backend.complete(rgb, depth, K)
    times = []
    for _ in range(frames):
        start = time.perf_counter()
        backend.complete(rgb, depth, K)
        times.append(1e3 * (time.perf_counter() - start))
    return statistics.median(times), float(np.percentile(times, 99))


def row(config, tokens, precision, mode, p50, p99, memory_mib, note=''):
    """Print one table row."""
    target = TARGET_MS.get(tokens)
    if config.startswith('vitl') and target and not note:
        note = 'target %.0f ms: %s' % (target, 'met' if p50 <= target else 'missed')
    print(f'{config:<18} {tokens:>5} {precision:<5} {mode:<9} {p50:>8.2f} {p99:>8.2f} '
          f'{1e3 / p50:>7.1f} {memory_mib:>8.0f}  {note}', flush=True)


def torch_rows(model, config, rgb, depth, K, args, budget):
    """Time the torch engine, eager and with CUDA graphs, for every tokens x precision."""
    for tokens in args.tokens:
        for precision in args.precisions:
            for mode in ('graphs', 'eager'):
                if budget.left() < 20:
                    print(f'{config:<18} {tokens:>5} {precision:<5} {mode:<9} skipped (budget)')
                    continue
                cuda = args.device.startswith('cuda')
                if cuda:
                    torch.cuda.empty_cache()
                    torch.cuda.reset_peak_memory_stats()
                backend = NetworkBackend(model, device=args.device, precision=precision,
                                         num_tokens=tokens, cuda_graphs=mode == 'graphs',
                                         warmup_sizes=(depth.shape,))
                p50, p99 = time_backend(backend, rgb, depth, K, args.frames)
                note = '' if mode != 'graphs' or backend.cuda_graphs else \
                    backend.status().get('cuda_graphs', 'no CUDA graphs on ' + args.device)
                memory = torch.cuda.max_memory_allocated() / 2 ** 20 if cuda else 0.0
                row(config, tokens, precision, mode, p50, p99, memory, note)
                backend.release_memory()
                del backend


def node_latency(args, budget):
    """Run bench_node.py with ViT-L on the GPU; print its latency lines."""
    for tokens in (1200, 3600):
        if budget.left() < args.node_duration + 60:
            print(f'node latency {tokens} tokens: skipped (budget)')
            continue
        command = [sys.executable, str(ROOT / 'benchmarks' / 'bench_node.py'),
                   '--model', args.node_model, '--device', args.device,
                   '--param', 'precision:=bf16', '--param', 'num_tokens:=%d' % tokens,
                   '--duration', str(args.node_duration), '--warmup', '3',
                   '--profiles', 'on', '--threads', '4']
        try:
            output = subprocess.run(command, capture_output=True, text=True,
                                    timeout=max(30.0, budget.left() - 5)).stdout
        except subprocess.TimeoutExpired:
            print(f'node latency {tokens} tokens: timed out')
            continue
        print(f'-- node over DDS, 30 Hz camera process, {args.node_model} bf16 graphs, '
              f'{tokens} tokens:')
        for line in output.splitlines():
            if re.search(r'stamp|forward|frames:|drops', line):
                print('   ' + line.strip())


def tensorrt_rows(config, rgb, depth, K, args, budget):
    """Export, build and time TensorRT fp16 engines while the budget lasts."""
    try:
        import tensorrt  # noqa: F401 - only whether it is installed
    except ImportError:
        print('tensorrt rows: skipped (the tensorrt wheel is not installed)')
        return
    from lingbot_depth_ros.backends.tensorrt import TensorRTBackend
    from lingbot_depth_ros.model.engine_build import build_tensorrt_engine
    from lingbot_depth_ros.model.export import FrameShape
    model = build_random_model(config)
    with tempfile.TemporaryDirectory() as folder:
        for tokens in (1200, 3600):
            if budget.left() < args.trt_estimate_s:
                print(f'{config:<18} {tokens:>5} fp16  tensorrt  skipped (budget)')
                continue
            path = Path(folder) / f'{config}_{tokens}.engine'
            report = build_tensorrt_engine(model, path, FrameShape(*depth.shape, tokens),
                                           precision='fp16')
            backend = TensorRTBackend(path)
            p50, p99 = time_backend(backend, rgb, depth, K, args.frames)
            memory = getattr(backend.engine, 'device_memory_size', 0) / 2 ** 20
            row(config, tokens, 'fp16', 'tensorrt', p50, p99, memory,
                'built in %.0f s' % report.seconds)
            del backend


def main(argv=None) -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--budget-s', type=float, default=330.0)
    parser.add_argument('--frames', type=int, default=30, help='timed frames per row')
    parser.add_argument('--node-duration', type=float, default=8.0)
    parser.add_argument('--node-model', default='random:vitl_release_like')
    parser.add_argument('--trt-estimate-s', type=float, default=120.0,
                        help='seconds an export + engine build is assumed to take')
    parser.add_argument('--quick', action='store_true', help='vits_a, 1200 tokens, bf16 only')
    parser.add_argument('--device', default='cuda',
                        help='cuda (the benchmark) or cpu (a smoke test of this script)')
    args = parser.parse_args(argv)
    budget = Budget(args.budget_s)
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        print('bench_gpu: no CUDA GPU visible to torch %s: nothing measured' % torch.__version__)
        return 1
    configs, args.tokens, args.precisions = CONFIGS, TOKENS, PRECISIONS
    if args.quick:
        configs, args.tokens, args.precisions = ('vits_a',), (1200,), ('bf16',)
    _, rgb, depth_mm, K = read_capture(ROOT / 'test/data/examples/0')
    depth = (depth_mm / 1000.0).astype(np.float32)
    name = torch.cuda.get_device_name() if args.device.startswith('cuda') else 'CPU'
    print(f'bench_gpu: {name}, torch {torch.__version__}, CUDA '
          f'{torch.version.cuda}, frame examples/0 480x640, {args.frames} frames per row; '
          f'cudnn.allow_tf32={torch.backends.cudnn.allow_tf32}, matmul TF32='
          f'{torch.backends.cuda.matmul.allow_tf32}; end to end = complete(): numpy in, '
          f'numpy out')
    print(HEADER)
    for config in configs:
        model = build_random_model(config)
        torch_rows(model, config, rgb, depth, K, args, budget)
        del model
        torch.cuda.empty_cache()
    if not args.quick:
        node_latency(args, budget)
        tensorrt_rows(configs[0], rgb, depth, K, args, budget)
    return 0


if __name__ == '__main__':
    start = time.perf_counter()
    code = main()
    print(f'bench_gpu finished in {time.perf_counter() - start:.0f} s')
    sys.exit(code)
