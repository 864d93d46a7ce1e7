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
The node over DDS with the camera and the consumer in other processes; prints figures.

Three processes per run: a camera publishing the real 640x480 frames at 30 Hz, the node
(``python -m lingbot_depth_ros.node.node``), and a consumer subscribing to the refined depth and
the cloud. Each configuration runs twice, without and with the shipped Fast DDS profile
(config/fastdds_large_data.xml plus the malloc settings), for every process.

Reported: node overhead per frame (worker time except the network's forward) and forward time
from the node's /diagnostics; stamp -> publish latency (node) and stamp -> consumer receive of
depth and cloud, median / p99, and the median of the first and second half of the run (growth);
frames sent / published / received and the node's drops by reason; node RSS after warm-up and
at the end.

    python benchmarks/bench_node.py                       # tiny network if available
    python benchmarks/bench_node.py --model '' --duration 20    # classical backend
"""

import argparse
import json
import os
from pathlib import Path
import re
import signal
import subprocess
import sys
import tempfile
import time

from lingbot_depth_ros.messages.transport import large_data_environment, large_data_profile

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / 'test' / 'data' / 'examples'
LARGE_DATA_ENV = large_data_environment(large_data_profile())
NAMESPACE = '/bench'


def _camera(args):
    """Publish the example frames at ``args.rate`` Hz, stamped with the time of sending."""
    import numpy as np
    import rclpy
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CameraInfo, Image

    from lingbot_depth_ros.tools.evaluation.data import read_capture

    rclpy.init()
    node = rclpy.create_node('camera', namespace=NAMESPACE)
    qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                     reliability=ReliabilityPolicy.RELIABLE)
    pub_rgb = node.create_publisher(Image, 'rgb/image', qos)
    pub_depth = node.create_publisher(Image, 'depth/image', qos)
    pub_info = node.create_publisher(CameraInfo, 'rgb/camera_info', qos)
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
        for msg in (rgb_msg, depth_msg, info):
            msg.header.frame_id = 'camera_color_optical_frame'
        frames.append((rgb_msg, depth_msg, info))
    # Wait for the node to subscribe, so that the first frames are not lost to discovery.
    deadline = time.monotonic() + 20.0
    while pub_depth.get_subscription_count() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    period = 1.0 / args.rate
    next_time = time.monotonic()
    end = next_time + args.duration
    sent = 0
    while time.monotonic() < end:
        rgb_msg, depth_msg, info = frames[sent % len(frames)]
        stamp = node.get_clock().now().to_msg()
        for msg in (info, rgb_msg, depth_msg):
            msg.header.stamp = stamp
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
    """Record stamp -> receive latency of depth and cloud, and the node's last diagnostics."""
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image, PointCloud2

    rclpy.init()
    node = rclpy.create_node('consumer', namespace=NAMESPACE)
    qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                     reliability=ReliabilityPolicy.RELIABLE)
    latencies = {'depth': [], 'cloud': []}
    diagnostics = {}

    def on_output(kind, msg):
        now = time.time_ns()
        stamp = msg.header.stamp.sec * 10 ** 9 + msg.header.stamp.nanosec
        latencies[kind].append((now - stamp) / 1e6)

    def on_diagnostics(msg):
        for status in msg.status:
            if status.name.startswith(NAMESPACE.strip('/') + '/'):
                diagnostics.update({kv.key: kv.value for kv in status.values})

    subscriptions = [node.create_subscription(Image, 'depth_refined/image',
                                              lambda m: on_output('depth', m), qos)]
    if not args.no_cloud:
        subscriptions.append(node.create_subscription(
            PointCloud2, 'points', lambda m: on_output('cloud', m), qos))
    node.create_subscription(DiagnosticArray, '/diagnostics', on_diagnostics, 10)
    stop = {'now': False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    announced = False
    while not stop['now']:
        rclpy.spin_once(node, timeout_sec=0.05)
        if not announced and all(s.get_publisher_count() > 0 for s in subscriptions):
            print('subscribed', flush=True)
            announced = True
    Path(args.out).write_text(json.dumps({'latency_ms': latencies, 'diagnostics': diagnostics}))
    node.destroy_node()
    rclpy.shutdown()


def _rss_mb(pid):
    for line in Path('/proc/%d/status' % pid).read_text().splitlines():
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) / 1024.0
    return float('nan')


def _wait_for_line(read, process, text, timeout):
    """Call ``read()`` for new output until it contains ``text``; return all of it."""
    deadline = time.monotonic() + timeout
    seen = ''
    while time.monotonic() < deadline:
        seen += read()
        if text in seen:
            return seen
        if process.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError('process did not report %r:\n%s' % (text, seen[-2000:]))


def _reader(stream):
    """Return a function giving what ``stream`` has buffered so far, without blocking."""
    os.set_blocking(stream.fileno(), False)
    return lambda: (stream.read() or b'').decode(errors='replace')


def _percentiles(values):
    import numpy as np
    if not values:
        return float('nan'), float('nan')
    return float(np.percentile(values, 50)), float(np.percentile(values, 99))


def run(args, large_data):
    """Run camera, node and consumer once; return the figures."""
    env = dict(os.environ)
    for key in LARGE_DATA_ENV:
        env.pop(key, None)
    if large_data:
        env.update(LARGE_DATA_ENV)
    env.setdefault('ROS_DOMAIN_ID', str(150 + os.getpid() % 80))
    env.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    env.setdefault('RMW_IMPLEMENTATION', 'rmw_fastrtps_cpp')
    me = [sys.executable, str(Path(__file__).resolve())]
    node_cmd = [sys.executable, '-m', 'lingbot_depth_ros.node.node', '--ros-args',
                '-r', '__ns:=' + NAMESPACE, '-p', 'device:=' + args.device,
                '-p', 'num_threads:=%d' % args.threads, '-p', 'diagnostics_period:=1.0']
    for param in args.param:
        node_cmd += ['-p', param]
    if args.model:
        # An empty value does not parse as a ROS argument; the default is empty anyway.
        node_cmd += ['-p', 'model:=' + args.model]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / 'consumer.json'
        node_log = Path(tmp) / 'node.log'
        log_file = node_log.open('wb')
        # The node logs into a file: a pipe nobody reads could fill and block it.
        node = subprocess.Popen(node_cmd, env=env, stdout=log_file, stderr=log_file)
        consumer = camera = None
        try:
            log = _wait_for_line(lambda: node_log.read_text(errors='replace'), node,
                                 ' ready', timeout=300.0)
            backend = re.search(r'backend (.+) ready', log).group(1)
            consumer = subprocess.Popen(me + ['consumer', '--out', str(out)]
                                        + (['--no-cloud'] if args.no_cloud else []),
                                        env=env, stdout=subprocess.PIPE)
            # Start the camera once the consumer listens, so that no frame finds no consumer.
            _wait_for_line(_reader(consumer.stdout), consumer, 'subscribed', timeout=60.0)
            camera = subprocess.Popen(
                me + ['camera', '--rate', str(args.rate), '--duration', str(args.duration),
                      '--examples', str(args.examples)], env=env, stdout=subprocess.PIPE)
            time.sleep(args.warmup)
            rss = []
            while camera.poll() is None:
                rss.append(_rss_mb(node.pid))
                time.sleep(0.5)
            sent = json.loads(camera.stdout.read())['sent']
            # Let the frame in work and a diagnostics period arrive.
            time.sleep(args.tail)
        finally:
            for process in (consumer, camera, node):
                if process is not None and process.poll() is None:
                    process.send_signal(signal.SIGTERM if process is consumer
                                        else signal.SIGINT)
            for process in (consumer, camera, node):
                if process is not None:
                    process.wait(timeout=30)
            log_file.close()
        result = json.loads(out.read_text())
    result.update(backend=backend, sent=sent, rss=rss)
    return result


def report(name, result, duration):
    """Print the figures of one run."""
    diag = result['diagnostics']
    lat = result['latency_ms']

    def diag_ms(key):
        return float(diag.get(key + '_p50_ms', 'nan')), float(diag.get(key + '_p99_ms', 'nan'))

    print('\n== %s (backend %s) ==' % (name, result['backend']))
    print('%-44s %9s %9s' % ('', 'median', 'p99'))
    rows = [('network forward (node)', diag_ms('forward')),
            ('node overhead per frame (all but forward)', diag_ms('overhead')),
            ('  of which inside the backend', diag_ms('overhead_in_backend')),
            ('stamp -> publish (node)', diag_ms('latency_stamp_to_publish')),
            ('receive -> publish (node)', diag_ms('latency_receive_to_publish')),
            ('stamp -> consumer receive, depth', _percentiles(lat['depth'])),
            ('stamp -> consumer receive, cloud', _percentiles(lat['cloud']))]
    for label, (p50, p99) in rows:
        print('%-44s %7.1f ms %7.1f ms' % (label, p50, p99))
    for kind in ('depth', 'cloud'):
        half = len(lat[kind]) // 2
        first, second = _percentiles(lat[kind][:half])[0], _percentiles(lat[kind][half:])[0]
        label = 'median latency 1st -> 2nd half, ' + kind
        print('%-44s %7.1f ms -> %.1f ms' % (label, first, second))
    published = int(diag.get('frames_published', 0))
    print('frames: sent %d (%.1f Hz), published %d (%.1f Hz), consumer got depth %d, cloud %d'
          % (result['sent'], result['sent'] / duration, published, published / duration,
             len(lat['depth']), len(lat['cloud'])))
    drops = {k[len('dropped_'):]: v for k, v in diag.items() if k.startswith('dropped_')}
    print('node drops: %s' % ', '.join('%s=%s' % kv for kv in sorted(drops.items())))
    rss = result['rss']
    half = len(rss) // 2
    print('node RSS: %.1f MB after warm-up, %.1f MB at end (%+.1f%%), max %.1f MB; '
          'median of 1st -> 2nd half %.1f -> %.1f MB'
          % (rss[0], rss[-1], 100.0 * (rss[-1] / rss[0] - 1.0), max(rss),
             _percentiles(rss[:half])[0], _percentiles(rss[half:])[0]))


def main():
    """Parse arguments and run the benchmark, or one of its processes."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('role', nargs='?', default='bench',
                        choices=('bench', 'camera', 'consumer'))
    parser.add_argument('--model', default=None,
                        help="model spec; default random:tiny when the network loads, else ''")
    parser.add_argument('--rate', type=float, default=30.0)
    parser.add_argument('--duration', type=float, default=20.0)
    parser.add_argument('--warmup', type=float, default=5.0,
                        help='seconds of streaming before the first RSS reading')
    parser.add_argument('--tail', type=float, default=2.0,
                        help='seconds to wait after the camera stops (longer than a forward)')
    parser.add_argument('--threads', type=int, default=2, help='torch threads of the node')
    parser.add_argument('--device', default='cpu', help='device parameter of the node')
    parser.add_argument('--param', action='append', default=[], metavar='NAME:=VALUE',
                        help='another node parameter (repeatable), e.g. precision:=bf16')
    parser.add_argument('--examples', default=str(EXAMPLES))
    parser.add_argument('--out', default='')
    parser.add_argument('--no-cloud', action='store_true',
                        help='the consumer subscribes to the depth only (no cloud is built)')
    parser.add_argument('--profiles', default='off,on',
                        help='large-data profile runs: off,on / off / on')
    args = parser.parse_args()
    if args.role == 'camera':
        return _camera(args)
    if args.role == 'consumer':
        return _consumer(args)
    if args.model is None:
        args.model = _default_model()
    print('bench_node: 640x480 at %.0f Hz for %.0f s, model %r, %d CPU cores, torch threads %d%s'
          % (args.rate, args.duration, args.model, os.cpu_count(), args.threads,
             ', consumer without cloud' if args.no_cloud else ''))
    for profile in args.profiles.split(','):
        large_data = profile == 'on'
        name = 'with the Fast DDS large-data profile' if large_data else 'Fast DDS defaults'
        report(name, run(args, large_data), args.duration)


def _default_model():
    try:
        from lingbot_depth_ros.model import load_model
        load_model('random:tiny')
        return 'random:tiny'
    except Exception as error:  # noqa: B902 - any failure falls back to the classical backend
        print('bench_node: tiny network unavailable (%s: %s), using the classical backend'
              % (type(error).__name__, error))
        return ''


if __name__ == '__main__':
    sys.exit(main())
