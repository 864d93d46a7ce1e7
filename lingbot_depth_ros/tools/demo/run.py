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
The first-run demo (``make demo``): the whole pipeline on a machine with no camera.

It renders a short synthetic RGB-D sequence with realistic sensor failures, starts the
real ``depth_completion_node`` in its own process, plays the frames to it over DDS on the
RealSense driver's topic names, receives refined depth, camera_info, filled mask and point
cloud, records inputs and outputs into an mcap bag, and writes ``demo_output/``:
comparison PNGs, a PLY point cloud, the bag and a summary (frames/s, latency, accuracy on
the sensor's holes, coverage before/after). The node runs the bundled network trained by
this project (``bundled:vitt4-synthetic``) unless ``LINGBOT_DEPTH_MODEL`` (or ``--model``)
names another checkpoint, or '' for the classical backend; the summary sets the node's
output beside the classical backend's on the same frames and the raw sensor.
"""

import argparse
import json
import os
from pathlib import Path
import shutil
import subprocess
import sys
import time
from typing import Dict, List, Optional

from lingbot_depth_ros.backends.factory import BackendSettings, create_backend
from lingbot_depth_ros.messages import conversions as msg_conversions
from lingbot_depth_ros.messages.transport import large_data_environment, large_data_profile
from lingbot_depth_ros.tools.demo.session import DemoSession, INPUT_TOPICS
from lingbot_depth_ros.tools.evaluation.metrics import depth_metrics, MEASURED
from lingbot_depth_ros.tools.evaluation.report import comparison_image, write_image
from lingbot_depth_ros.tools.synthetic import renderer as synthetic
import numpy as np

DEMO_MODEL = 'bundled:vitt4-synthetic'
DEMO_TOKENS = 192


def node_command(model: str, num_tokens: int) -> List[str]:
    """
    Return the command line that starts the node on the RealSense topic names.

    :param model: network spec, or '' for the classical backend.
    :param num_tokens: network token budget (0: the node's default).
    :return: argv for ``subprocess``.
    """
    model = model or "''"  # an empty value is a YAML empty string, not a missing one
    return [sys.executable, '-m', 'lingbot_depth_ros.node.node', '--ros-args',
            '-p', f'model:={model}', '-p', f'num_tokens:={num_tokens}',
            '-p', 'publish_filled_mask:=true', '-p', 'sync_slop:=0.02',
            '-r', f'rgb/image:={INPUT_TOPICS.rgb}', '-r', f'depth/image:={INPUT_TOPICS.depth}',
            '-r', f'rgb/camera_info:={INPUT_TOPICS.info}']


def write_ply(path: Path, cloud) -> int:
    """
    Write the valid points of an XYZRGB PointCloud2 as a binary little-endian PLY.

    :param path: output file.
    :param cloud: sensor_msgs/PointCloud2 with x, y, z and rgb fields.
    :return: number of points written.
    """
    points = msg_conversions.pointcloud2_to_array(cloud).reshape(-1)
    valid = np.isfinite(points['x']) & np.isfinite(points['y']) & np.isfinite(points['z'])
    points = points[valid]
    packed = points['rgb'].view(np.uint32)
    vertex = np.empty(len(points), dtype=[('x', '<f4'), ('y', '<f4'), ('z', '<f4'),
                                          ('red', 'u1'), ('green', 'u1'), ('blue', 'u1')])
    for axis in 'xyz':
        vertex[axis] = points[axis]
    vertex['red'] = (packed >> 16) & 0xFF
    vertex['green'] = (packed >> 8) & 0xFF
    vertex['blue'] = packed & 0xFF
    header = ('ply\nformat binary_little_endian 1.0\ncomment lingbot_depth_ros demo\n'
              f'element vertex {len(vertex)}\nproperty float x\nproperty float y\n'
              'property float z\nproperty uchar red\nproperty uchar green\n'
              'property uchar blue\nend_header\n')
    with open(path, 'wb') as ply:
        ply.write(header.encode('ascii'))
        ply.write(vertex.tobytes())
    return len(vertex)


def frame_report(frame, refined: np.ndarray) -> Dict[str, float]:
    """
    Compare one refined depth map with the frame's ground truth.

    :param frame: the synthetic frame (ground truth, sensor depth).
    :param refined: float32 HxW metres, NaN where the node gave no output.
    :return: coverage before/after and RMSE/MAE of sensor and refined depth.
    """
    gt = frame.depth_gt
    known = MEASURED.valid(gt)
    holes = known & ~frame.sensor_valid
    sensor = np.where(frame.sensor_valid, frame.depth_sensor, np.nan)
    on_holes = depth_metrics(refined, gt, holes)
    on_valid = depth_metrics(refined, gt, known & frame.sensor_valid)
    sensor_valid = depth_metrics(sensor, gt, known & frame.sensor_valid)
    return {'coverage_sensor': float(frame.sensor_valid.mean()),
            'coverage_refined': float(np.isfinite(refined).mean()),
            'hole_pixels': int(holes.sum()),
            'holes_filled': float(on_holes['coverage']),
            'rmse_holes_refined_m': on_holes['rmse'], 'mae_holes_refined_m': on_holes['mae'],
            'rmse_valid_sensor_m': sensor_valid['rmse'],
            'rmse_valid_refined_m': on_valid['rmse']}


def _mean_reports(reports, prefix: str = '') -> Dict[str, float]:
    keys = reports[0].keys() if reports else ()
    out = {}
    for key in keys:
        values = [r[key] for r in reports if np.isfinite(r[key])]
        out[prefix + key] = float(np.mean(values)) if values else float('nan')
    return out


def classical_reports(frames) -> Dict[str, float]:
    """Run the classical backend in this process on the same frames, for comparison."""
    backend = create_backend(BackendSettings(backend='classical'))
    reports = [frame_report(frame, backend.complete(frame.rgb, frame.depth_sensor,
                                                    frame.K).depth) for frame in frames]
    return _mean_reports(reports, 'classical_')


def summarize(frames, received, session_stats) -> Dict[str, object]:
    """Aggregate per-frame reports and timing into the demo summary."""
    reports = []
    for frame in frames:
        outputs = received.get(frame.stamp_ns)
        if outputs is None:
            continue
        refined, _ = msg_conversions.depth_from_image(outputs['depth'])
        refined = np.where(refined > 0, refined, np.nan)
        reports.append(frame_report(frame, refined))
    return {'frames_sent': len(frames), 'frames_refined': len(reports),
            **session_stats, **_mean_reports(reports)}


def summary_markdown(summary: Dict[str, object], backend: str) -> str:
    """Render the summary as a short Markdown report."""
    lines = [f'# lingbot_depth_ros demo ({backend})', '',
             f"Frames refined: {summary['frames_refined']} of {summary['frames_sent']}, "
             f"{summary['frames_per_s']:.2f} frames/s end to end (lock-step playback).",
             'Latency stamp -> refined depth received: median '
             f"{summary['latency_depth_ms_p50']:.1f} ms, max {summary['latency_depth_ms_max']:.1f}"
             f" ms; -> cloud received: median {summary['latency_cloud_ms_p50']:.1f} ms.", '',
             f'| | sensor | classical backend | node ({backend}) |', '|---|---|---|---|']
    rows = (('coverage (pixels with depth)', 'coverage_sensor', 'coverage_refined', '{:.1%}'),
            ("RMSE on the sensor's holes (m)", None, 'rmse_holes_refined_m', '{:.3f}'),
            ("MAE on the sensor's holes (m)", None, 'mae_holes_refined_m', '{:.3f}'),
            ('RMSE where the sensor measured (m)', 'rmse_valid_sensor_m',
             'rmse_valid_refined_m', '{:.3f}'))
    for title, sensor_key, key, form in rows:
        sensor = 'no depth' if sensor_key is None else form.format(summary[sensor_key])
        classical = summary.get('classical_' + key)
        classical = '-' if classical is None else form.format(classical)
        lines.append(f'| {title} | {sensor} | {classical} | {form.format(summary[key])} |')
    return '\n'.join(lines + [''])


def run_demo(output: Path, num_frames: int, model: str, seed: int = 3, num_tokens: int = 0,
             timeout_s: float = 60.0) -> Dict[str, object]:
    """
    Run the demo end to end and write ``output``.

    :param output: folder to (re)create.
    :param num_frames: frames of the synthetic sequence.
    :param model: network spec, or '' for the classical backend.
    :param seed: synthetic scene seed.
    :param num_tokens: network token budget (0: resolution level 9).
    :param timeout_s: how long to wait for the node to start and for each frame.
    :return: the summary dict (also written as summary.json).
    """
    if output.exists():
        shutil.rmtree(output)
    output.mkdir(parents=True)
    # The environment the launch files give every process.
    os.environ.update(large_data_environment(large_data_profile()))
    backend = f'network {model}' if model else 'classical backend'
    print(f'demo: rendering {num_frames} synthetic 640x480 RGB-D frames (seed {seed}) ...',
          flush=True)
    frames = synthetic.render_sequence(seed, num_frames)
    print(f'demo: starting depth_completion_node ({backend}) ...', flush=True)
    log_path = output / 'node.log'
    with open(log_path, 'w') as log:
        node = subprocess.Popen(node_command(model, num_tokens), stdout=log,
                                stderr=subprocess.STDOUT, env=os.environ.copy())
    try:
        with DemoSession(output / 'demo_bag', timeout_s) as session:
            session.wait_for_node(node)
            print('demo: node is up; playing frames over DDS ...', flush=True)
            for frame in frames:
                session.play(frame)
            received, stats = session.received, session.statistics()
    finally:
        node.terminate()
        try:
            node.wait(timeout=15)
        except subprocess.TimeoutExpired:
            node.kill()
    summary = summarize(frames, received, stats)
    summary.update(classical_reports(frames))
    summary['backend'] = backend
    write_outputs(output, frames, received, summary, backend)
    return summary


def write_outputs(output: Path, frames, received, summary, backend: str) -> None:
    """Write comparison PNGs, the PLY cloud and the summary files."""
    shown = [f for f in frames if f.stamp_ns in received]
    for frame in shown[::max(1, len(shown) // 3)][:3]:
        refined, _ = msg_conversions.depth_from_image(received[frame.stamp_ns]['depth'])
        refined = np.where(refined > 0, refined, np.nan)
        sensor = np.where(frame.sensor_valid, frame.depth_sensor, 0.0)
        image = comparison_image(frame.rgb, sensor, frame.depth_gt,
                                 [('refined', refined)], title=f'rgb (frame {frame.index})',
                                 input_name='sensor')
        write_image(image, output / f'comparison_{frame.index:03d}.png')
    if shown and 'points' in received[shown[-1].stamp_ns]:
        count = write_ply(output / 'cloud.ply', received[shown[-1].stamp_ns]['points'])
        summary['ply_points'] = count
    (output / 'summary.json').write_text(json.dumps(summary, indent=2, default=float))
    (output / 'summary.md').write_text(summary_markdown(summary, backend))


def main(argv: Optional[List[str]] = None) -> int:
    """Run the demo from the command line; return the exit code."""
    parser = argparse.ArgumentParser(prog='python -m lingbot_depth_ros.tools.demo.run',
                                     description=__doc__.strip().splitlines()[0])
    parser.add_argument('--output', type=Path, default=Path('demo_output'))
    parser.add_argument('--frames', type=int, default=12)
    parser.add_argument('--model', default=os.environ.get('LINGBOT_DEPTH_MODEL', DEMO_MODEL),
                        help="network spec, '' for the classical backend (default: "
                        f'$LINGBOT_DEPTH_MODEL, else {DEMO_MODEL})')
    parser.add_argument('--num-tokens', type=int, default=DEMO_TOKENS,
                        help=f'network token budget (default: {DEMO_TOKENS}, the grid the '
                        'bundled model was trained at)')
    parser.add_argument('--seed', type=int, default=3)
    args = parser.parse_args(argv)
    if args.frames < 1:
        parser.error('--frames must be >= 1')
    start = time.perf_counter()
    try:
        summary = run_demo(args.output, args.frames, args.model, args.seed, args.num_tokens)
    except RuntimeError as error:
        print(f'demo: failed: {error}', file=sys.stderr)
        return 1
    print(summary_markdown(summary, summary['backend']))
    print(f'demo: wrote {args.output}/: comparison_*.png, cloud.ply '
          f"({summary.get('ply_points', 0)} points), demo_bag/ (mcap: inputs and outputs), "
          f'summary.md, summary.json, node.log')
    print(f'demo: finished in {time.perf_counter() - start:.0f} s')
    return 0 if summary['frames_refined'] == summary['frames_sent'] else 1


if __name__ == '__main__':
    sys.exit(main())
