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
N cameras: one node process serving all of them (``cameras``) against N separate nodes.

Per configuration: one camera process publishes the real 640x480 frames of N cameras at
``--rate`` Hz each (stamped when sent), the node(s) complete them, and one consumer process
receives every camera's refined depth. Reported: total output frames/s over all cameras,
stamp -> consumer latency p50 / p99 over all frames, frames per camera, and the memory of the
node process(es) (RSS and private memory, summed; one model resident versus N).

    python benchmarks/bench_multi_camera.py                       # tiny network, N = 2
    python benchmarks/bench_multi_camera.py --cameras 3 --duration 30
    python benchmarks/bench_multi_camera.py --threads 2 --separate-threads 1 --rounds 2
    python benchmarks/bench_multi_camera.py --model random:vits_a --param resolution_level:=0
"""

import argparse
import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import tempfile
import time

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / 'test' / 'data' / 'examples'
NAMESPACE = '/bench_multi'


def _names(count):
    return ['cam%d' % i for i in range(count)]


def _qos():
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                      reliability=ReliabilityPolicy.RELIABLE)


def _camera(args):
    """Publish the example frames of every camera at ``args.rate`` Hz, stamped when sent."""
    import numpy as np
    import rclpy
    from sensor_msgs.msg import CameraInfo, Image

    from lingbot_depth_ros.tools.evaluation.data import read_capture

    rclpy.init()
    node = rclpy.create_node('cameras', namespace=NAMESPACE)
    pubs = [(node.create_publisher(Image, name + '/rgb/image', _qos()),
             node.create_publisher(Image, name + '/depth/image', _qos()),
             node.create_publisher(CameraInfo, name + '/rgb/camera_info', _qos()))
            for name in _names(args.cameras)]
    frames = []
    for i in range(8):
        _, rgb, depth, K = read_capture(Path(args.examples) / str(i))
        rgb_msg = Image(height=480, width=640, encoding='rgb8', step=640 * 3,
                        data=rgb.tobytes())
        depth_msg = Image(height=480, width=640, encoding='16UC1', step=640 * 2,
                          data=depth.astype(np.uint16).tobytes())
        info = CameraInfo(height=480, width=640, distortion_model='plumb_bob',
                          d=[0.0] * 5, k=K.ravel().tolist(),
                          p=np.hstack([K, np.zeros((3, 1))]).ravel().tolist())
        frames.append((rgb_msg, depth_msg, info))
    deadline = time.monotonic() + 60.0
    while (any(p[1].get_subscription_count() == 0 for p in pubs)
           and time.monotonic() < deadline):
        time.sleep(0.05)
    period = 1.0 / args.rate
    next_time = time.monotonic()
    end = next_time + args.duration
    sent = 0
    while time.monotonic() < end:
        for index, (pub_rgb, pub_depth, pub_info) in enumerate(pubs):
            # Each camera shows another example frame, in its own optical frame.
            rgb_msg, depth_msg, info = frames[(sent + index) % len(frames)]
            stamp = node.get_clock().now().to_msg()
            for msg in (info, rgb_msg, depth_msg):
                msg.header.stamp = stamp
                msg.header.frame_id = 'cam%d_optical' % index
            pub_info.publish(info)
            pub_rgb.publish(rgb_msg)
            pub_depth.publish(depth_msg)
        sent += 1
        next_time += period
        time.sleep(max(0.0, next_time - time.monotonic()))
    print(json.dumps({'sent': sent}), flush=True)
    node.destroy_node()
    rclpy.shutdown()


def _consumer(args):
    """Record stamp -> receive latency of every camera's refined depth."""
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from sensor_msgs.msg import Image

    rclpy.init()
    node = rclpy.create_node('consumer', namespace=NAMESPACE)
    diagnostics = {}

    def on_diagnostics(msg):
        for status in msg.status:
            if status.name.startswith(NAMESPACE.strip('/') + '/'):
                diagnostics[status.name] = {kv.key: kv.value for kv in status.values}
    latencies = {name: [] for name in _names(args.cameras)}
    frames_ok = dict.fromkeys(latencies, True)

    def on_depth(name, msg):
        now = time.time_ns()
        stamp = msg.header.stamp.sec * 10 ** 9 + msg.header.stamp.nanosec
        latencies[name].append((now - stamp) / 1e6)
        frames_ok[name] &= msg.header.frame_id == name + '_optical'

    subscriptions = [node.create_subscription(
        Image, name + '/depth_refined/image', lambda m, n=name: on_depth(n, m), _qos())
        for name in latencies]
    node.create_subscription(DiagnosticArray, '/diagnostics', on_diagnostics, 10)
    stop = {'now': False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    announced = False
    while not stop['now']:
        rclpy.spin_once(node, timeout_sec=0.05)
        if not announced and all(s.get_publisher_count() > 0 for s in subscriptions):
            print('subscribed', flush=True)
            announced = True
    Path(args.out).write_text(json.dumps({'latency_ms': latencies, 'frame_ids_ok': frames_ok,
                                          'diagnostics': diagnostics}))
    node.destroy_node()
    rclpy.shutdown()


def _memory_mb(pid):
    """Return (RSS, private) memory of a process in MB."""
    rss = private = 0.0
    for line in Path('/proc/%d/status' % pid).read_text().splitlines():
        if line.startswith('VmRSS:'):
            rss = int(line.split()[1]) / 1024.0
    for line in Path('/proc/%d/smaps_rollup' % pid).read_text().splitlines():
        if line.startswith(('Private_Clean:', 'Private_Dirty:')):
            private += int(line.split()[1]) / 1024.0
    return rss, private


def _wait_for(path_or_read, process, text, timeout):
    deadline = time.monotonic() + timeout
    seen = ''
    while time.monotonic() < deadline:
        seen = path_or_read()
        if text in seen:
            return seen
        if process.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError('process did not report %r:\n%s' % (text, seen[-2000:]))


def _node_commands(args, together):
    threads = args.threads if together else args.separate_threads
    base = [sys.executable, '-m', 'lingbot_depth_ros.node.node', '--ros-args',
            '-p', 'device:=cpu', '-p', 'num_threads:=%d' % threads]
    for param in args.param:
        base += ['-p', param]
    if args.model:
        base += ['-p', 'model:=' + args.model]
    names = _names(args.cameras)
    if together:
        return [base + ['-r', '__ns:=' + NAMESPACE, '-p', 'cameras:=[%s]' % ','.join(names)]]
    return [base + ['-r', '__ns:=%s/%s' % (NAMESPACE, name)] for name in names]


def run(args, together):
    """Run the camera, the node(s) and the consumer once; return the figures."""
    env = dict(os.environ)
    env.setdefault('ROS_DOMAIN_ID', str(150 + os.getpid() % 80))
    env.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    env.setdefault('RMW_IMPLEMENTATION', 'rmw_fastrtps_cpp')
    me = [sys.executable, str(Path(__file__).resolve()), '--cameras', str(args.cameras)]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / 'consumer.json'
        nodes, logs = [], []
        consumer = camera = None
        try:
            for index, command in enumerate(_node_commands(args, together)):
                log = Path(tmp) / ('node%d.log' % index)
                logs.append(log)
                # A file, not a pipe: a pipe nobody reads could fill and block the node.
                with log.open('wb') as handle:
                    nodes.append(subprocess.Popen(command, env=env, stdout=handle,
                                                  stderr=handle))
            for node, log in zip(nodes, logs):
                _wait_for(lambda: log.read_text(errors='replace'), node, ' ready', 300.0)
            consumer = subprocess.Popen(me + ['consumer', '--out', str(out)], env=env,
                                        stdout=subprocess.PIPE)
            os.set_blocking(consumer.stdout.fileno(), False)
            printed = {'text': ''}

            def consumer_output():
                printed['text'] += (consumer.stdout.read() or b'').decode(errors='replace')
                return printed['text']
            _wait_for(consumer_output, consumer, 'subscribed', 120.0)
            camera = subprocess.Popen(
                me + ['camera', '--rate', str(args.rate), '--duration', str(args.duration),
                      '--examples', str(args.examples)], env=env, stdout=subprocess.PIPE)
            time.sleep(args.warmup)
            memory = []
            while camera.poll() is None:
                memory.append([sum(v) for v in zip(*(_memory_mb(n.pid) for n in nodes))])
                time.sleep(0.5)
            sent = json.loads(camera.stdout.read())['sent']
            time.sleep(args.tail)
        finally:
            for process in [consumer, camera] + nodes:
                if process is not None and process.poll() is None:
                    process.send_signal(signal.SIGTERM if process is consumer
                                        else signal.SIGINT)
            for process in [consumer, camera] + nodes:
                if process is not None:
                    process.wait(timeout=30)
        result = json.loads(out.read_text())
    result.update(sent=sent, memory=memory)
    return result


def report(name, result, args):
    """Print the figures of one run; return total frames/s and latency p50/p99."""
    import numpy as np
    latency = result['latency_ms']
    frames = {k: len(v) for k, v in latency.items()}
    every = [value for values in latency.values() for value in values]
    fps = sum(frames.values()) / args.duration
    p50, p99 = (float(np.percentile(every, q)) if every else float('nan') for q in (50, 99))
    rss, private = (max(m[i] for m in result['memory']) for i in (0, 1))
    print('\n== %s ==' % name)
    print('total output: %.2f frames/s (%s); sent %d per camera (%.1f Hz)'
          % (fps, ', '.join('%s %d' % kv for kv in sorted(frames.items())), result['sent'],
             result['sent'] / args.duration))
    print('stamp -> consumer latency: p50 %.0f ms, p99 %.0f ms' % (p50, p99))
    print('node memory (sum over processes, max): RSS %.0f MB, private %.0f MB'
          % (rss, private))
    print('every output in its camera frame: %s' % all(result['frame_ids_ok'].values()))
    for status, values in sorted(result['diagnostics'].items()):
        print('  %s: forward p50 %s ms (batch), overhead p50 %s ms, published %s'
              % (status.split(':')[0], values.get('forward_p50_ms'),
                 values.get('overhead_p50_ms'), values.get('frames_published')))
    return fps, p50, p99


def main():
    """Parse arguments and run the benchmark, or one of its processes."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('role', nargs='?', default='bench',
                        choices=('bench', 'camera', 'consumer'))
    parser.add_argument('--cameras', type=int, default=2, help='number of cameras N')
    parser.add_argument('--model', default='random:tiny', help="model spec ('': classical)")
    parser.add_argument('--param', action='append', default=['resolution_level:=0'],
                        metavar='NAME:=VALUE', help='another node parameter (repeatable)')
    parser.add_argument('--rate', type=float, default=30.0, help='Hz per camera')
    parser.add_argument('--duration', type=float, default=20.0)
    parser.add_argument('--warmup', type=float, default=3.0)
    parser.add_argument('--tail', type=float, default=3.0)
    parser.add_argument('--threads', type=int, default=2,
                        help='torch threads of the one-process node')
    parser.add_argument('--separate-threads', type=int, default=None,
                        help='torch threads of each separate node (default: --threads)')
    parser.add_argument('--rounds', type=int, default=1,
                        help='alternate the two configurations this many times (load drift)')
    parser.add_argument('--examples', default=str(EXAMPLES))
    parser.add_argument('--out', default='')
    args = parser.parse_args()
    if args.role == 'camera':
        return _camera(args)
    if args.role == 'consumer':
        return _consumer(args)
    if args.separate_threads is None:
        args.separate_threads = args.threads
    print('bench_multi_camera: %d cameras, 640x480 at %.0f Hz each for %.0f s, model %r (%s), '
          '%d CPU cores, torch threads: %d in the one process, %d in each separate node'
          % (args.cameras, args.rate, args.duration, args.model, ' '.join(args.param),
             os.cpu_count(), args.threads, args.separate_threads))
    for round_index in range(args.rounds):
        one = report('round %d: one process, cameras:=[%s]' % (
            round_index + 1, ','.join(_names(args.cameras))), run(args, together=True), args)
        many = report('round %d: %d separate node processes' % (round_index + 1, args.cameras),
                      run(args, together=False), args)
        print('\nround %d, one process / separate: throughput %.2fx, latency p50 %.2fx, '
              'p99 %.2fx' % (round_index + 1, one[0] / many[0], one[1] / many[1],
                             one[2] / many[2]))


if __name__ == '__main__':
    sys.exit(main())
