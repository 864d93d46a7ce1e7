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
Benchmark the inference engine: per-stage times, frames/s, engine overhead, peak RSS.

Runs ``NetworkBackend`` on a real 480x640 capture (test/data/examples/0, or a generated
frame) for the golden ``vits_a`` config at 1200 and 3600 tokens in fp32 and bf16, and the
ViT-L layout at 1200 tokens, on CPU and, when available, CUDA. It first checks that the
engine's fp32 output equals the network's release-compatible ``infer()`` on the same
frame, so the speed figures are for identical outputs.

Usage: ``python benchmarks/bench_model.py [--runs 3] [--no-vitl] [--device cpu|cuda]``
"""

import argparse
from pathlib import Path
import resource
import statistics
import sys
import time

from lingbot_depth_ros.backends.network import NetworkBackend
from lingbot_depth_ros.geometry import normalize_intrinsics
from lingbot_depth_ros.model.random_weights import build_random_model
from lingbot_depth_ros.tools.evaluation.data import read_capture
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
RELEASE_CPU_SECONDS = {'fp32': 12.7, 'bf16': 10.8}  # vits_a, 480x640, 3600 tokens, this CPU
STAGES = ('upload', 'preprocess', 'encoder', 'decoder', 'postprocess', 'download', 'finalize')


def load_frame(folder: Path):
    """Return (rgb, depth metres, K) of example 0, or a generated frame if absent."""
    try:
        _, rgb, depth_mm, K = read_capture(folder)
        return rgb, (depth_mm / 1000.0).astype(np.float32), K, str(folder)
    except (OSError, ValueError):
        rng = np.random.default_rng(0)
        rgb = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
        depth = rng.uniform(0.5, 4.0, (480, 640)).astype(np.float32)
        depth[100:200, 200:400] = 0.0
        K = np.array([[600.0, 0, 320], [0, 600.0, 240], [0, 0, 1]])
        return rgb, depth, K, 'generated 480x640'


def peak_rss_mib() -> float:
    """Return this process's peak resident set size in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def check_identical(model, rgb, depth, K, tokens) -> float:
    """Return the max relative difference of the engine's fp32 depth vs ``model.infer``."""
    engine = NetworkBackend(model, device='cpu', num_tokens=tokens, warmup=False,
                            keep_valid_input=False)
    ours = engine.complete(rgb, depth, K).depth
    height, width = depth.shape
    image = torch.from_numpy(rgb.copy()).permute(2, 0, 1).float() / 255.0
    intrinsics = torch.from_numpy(normalize_intrinsics(K, width, height)).float()
    released = model.infer(image, torch.from_numpy(depth.copy()), num_tokens=tokens,
                           use_fp16=False, intrinsics=intrinsics)['depth'].numpy()
    both = np.isfinite(ours) & np.isfinite(released)
    if not np.array_equal(np.isfinite(ours), np.isfinite(released)):
        return float('inf')
    return float(np.max(np.abs(ours[both] - released[both]) / np.abs(released[both])))


def bench(model, label, rgb, depth, K, tokens, precision, device, runs):
    """Time ``runs`` frames after one warm-up; print one row; return the median total."""
    engine = NetworkBackend(model, device=device, precision=precision, num_tokens=tokens,
                            warmup=False, profile_stages=True)
    engine.complete(rgb, depth, K)
    results = [engine.complete(rgb, depth, K).timings for _ in range(runs)]
    median = {key: statistics.median(r.get(key, 0.0) for r in results)
              for key in STAGES + ('forward', 'total')}
    overhead = median['total'] - median['forward']
    stages = ('preprocess', 'encoder', 'decoder', 'postprocess')
    print(f'{label:<16} {tokens:>5} {precision:<5} {device:<5} '
          + ' '.join(f'{median[s] * 1e3:>9.1f}' for s in stages)
          + f' {median["forward"] * 1e3:>9.1f} {median["total"] * 1e3:>9.1f}'
          f' {1.0 / median["total"]:>6.2f} {overhead * 1e3:>8.1f} '
          f'{100.0 * overhead / median["forward"]:>6.2f}%', flush=True)
    return median['total']


def main(argv=None) -> int:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--runs', type=int, default=3, help='timed frames per row')
    parser.add_argument('--no-vitl', action='store_true', help='skip the ViT-L rows')
    parser.add_argument('--device', default=None, help='cpu or cuda (default: all present)')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    parser.add_argument('--frame', type=Path, default=ROOT / 'test/data/examples/0')
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = [args.device] if args.device else ['cpu'] + (
        ['cuda'] if torch.cuda.is_available() else [])
    rgb, depth, K, source = load_frame(args.frame)
    print(f'frame: {source} ({depth.shape[1]}x{depth.shape[0]}), torch {torch.__version__}, '
          f'{torch.get_num_threads()} CPU threads'
          + (f', GPU {torch.cuda.get_device_name()}' if 'cuda' in devices else ''))
    vits_a = build_random_model('vits_a')
    for tokens in (1200, 3600):
        difference = check_identical(vits_a, rgb, depth, K, tokens)
        print(f'identical outputs: vits_a {tokens} tokens fp32, engine vs infer(): '
              f'max rel diff {difference:.2e}')
    print(f'{"model":<16} {"tok":>5} {"prec":<5} {"dev":<5} {"prep ms":>9} {"enc ms":>9} '
          f'{"dec ms":>9} {"post ms":>9} {"fwd ms":>9} {"total ms":>9} {"fps":>6} '
          f'{"ovh ms":>8} {"ovh %":>7}')
    totals = {}
    for device in devices:
        for precision in ('fp32', 'bf16'):
            for tokens in (1200, 3600):
                totals[(device, precision, tokens)] = bench(
                    vits_a, 'vits_a', rgb, depth, K, tokens, precision, device, args.runs)
    del vits_a
    if not args.no_vitl:
        vitl = build_random_model('vitl_moge2like')
        for device in devices:
            bench(vitl, 'vitl_moge2like', rgb, depth, K, 1200, 'fp32', device,
                  max(1, args.runs - 1))
            bench(vitl, 'vitl_moge2like', rgb, depth, K, 1200, 'bf16', device,
                  max(1, args.runs - 1))
    for precision, seconds in RELEASE_CPU_SECONDS.items():
        ours = totals.get(('cpu', precision, 3600))
        if ours:
            print(f'speedup_vs_release_cpu {precision} vits_a 3600 tokens: '
                  f'{seconds / ours:.2f}x ({seconds:.1f} s -> {ours:.2f} s)')
    print(f'peak_rss_mib {peak_rss_mib():.0f}')
    if torch.cuda.is_available():
        print(f'peak_cuda_mib {torch.cuda.max_memory_allocated() / 2**20:.0f}')
    return 0


if __name__ == '__main__':
    start = time.perf_counter()
    code = main()
    print(f'bench_model finished in {time.perf_counter() - start:.0f} s')
    sys.exit(code)
