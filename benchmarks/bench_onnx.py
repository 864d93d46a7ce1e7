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
Benchmark onnxruntime (CPU) against the torch engine on the same frame and network.

Exports ``vits_a`` (random weights) at 480x640 for each token budget with
``export_onnx`` (checked against eager on the frame), then times ``complete()`` of the
torch ``NetworkBackend`` (fp32, eager) and of the ``OnnxRuntimeBackend`` on a real capture
(test/data/examples/0), with the same thread count, and prints ms per frame and the
speed ratio.

Usage: ``python benchmarks/bench_onnx.py [--runs 3] [--tokens 1200] [--config vits_a]``
"""

import argparse
from pathlib import Path
import statistics
import sys
import tempfile
import time

from lingbot_depth_ros.backends.network import NetworkBackend
from lingbot_depth_ros.backends.onnx import OnnxRuntimeBackend
from lingbot_depth_ros.model.export import export_onnx, FrameShape, relative_difference
from lingbot_depth_ros.model.random_weights import build_random_model
from lingbot_depth_ros.tools.evaluation.data import read_capture
import numpy as np
import onnxruntime
import torch

ROOT = Path(__file__).resolve().parents[1]


def median_ms(backend, rgb, depth, K, runs):
    """Return (median ms of ``runs`` frames after one warm-up frame, last result)."""
    backend.complete(rgb, depth, K)
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = backend.complete(rgb, depth, K)
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times), result


def main(argv=None) -> int:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--runs', type=int, default=3, help='timed frames per row')
    parser.add_argument('--tokens', type=int, nargs='+', default=[1200])
    parser.add_argument('--config', default='vits_a')
    parser.add_argument('--threads', type=int, default=0, help='CPU threads (0: torch default)')
    args = parser.parse_args(argv)
    threads = args.threads or torch.get_num_threads()
    torch.set_num_threads(threads)
    _, rgb, depth_mm, K = read_capture(ROOT / 'test/data/examples/0')
    depth = (depth_mm / 1000.0).astype(np.float32)
    height, width = depth.shape
    print(f'frame: examples/0 ({width}x{height}), {args.config} random weights, torch '
          f'{torch.__version__}, onnxruntime {onnxruntime.__version__}, {threads} CPU threads')
    model = build_random_model(args.config)
    print(f'{"engine":<22} {"tokens":>6} {"ms/frame":>9} {"fps":>6} {"max rel diff":>13}')
    with tempfile.TemporaryDirectory() as folder:
        for tokens in args.tokens:
            path = Path(folder) / f'{args.config}_{tokens}.onnx'
            report = export_onnx(model, path, FrameShape(height, width, tokens),
                                 check_frame=(rgb, depth))
            print(f'export {tokens} tokens: {report.seconds:.1f} s, onnxruntime vs eager '
                  f'{report.depth_rel_diff:.1e}', flush=True)
            torch_engine = NetworkBackend(model, device='cpu', num_tokens=tokens,
                                          warmup=False)
            torch_ms, expected = median_ms(torch_engine, rgb, depth, K, args.runs)
            print(f'{"torch eager (fp32)":<22} {tokens:>6} {torch_ms:>9.1f} '
                  f'{1e3 / torch_ms:>6.2f} {"-":>13}', flush=True)
            del torch_engine
            ort = OnnxRuntimeBackend(path, device='cpu', num_threads=threads, warmup=False)
            ort_ms, result = median_ms(ort, rgb, depth, K, args.runs)
            difference = relative_difference(result.depth, expected.depth)
            print(f'{"onnxruntime CPU":<22} {tokens:>6} {ort_ms:>9.1f} {1e3 / ort_ms:>6.2f} '
                  f'{difference:>13.1e}', flush=True)
            verdict = 'faster' if ort_ms < torch_ms else 'slower'
            print(f'onnxruntime_vs_torch {tokens} tokens: {torch_ms / ort_ms:.2f}x '
                  f'({verdict} than the torch engine)')
    return 0


if __name__ == '__main__':
    start = time.perf_counter()
    code = main()
    print(f'bench_onnx finished in {time.perf_counter() - start:.0f} s')
    sys.exit(code)
