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
Benchmark the ROS message I/O layer at 640x480 and print median / min per path.

Paths: Image -> ndarray (rgb8, 16UC1, 32FC1), depth -> metres, ndarray -> Image, and the full
cloud path (depth + RGB + K -> publish-ready organized XYZRGB PointCloud2). The cloud path is
compared with a reference built the way sensor_msgs_py does it (fill a structured array, then
``tobytes()`` into the message) and, when ``sensor_msgs_py`` is importable, with its own
``create_cloud``; both comparisons first check that the clouds hold identical values.

Usage: bench_msg_io.py [--frames DIR] [--runs N]
"""

import argparse
import inspect
from pathlib import Path
import sys
import time

from lingbot_depth_ros import geometry
from lingbot_depth_ros.messages import conversions as mc
from lingbot_depth_ros.messages.buffers import new_message, payload_from_array
from lingbot_depth_ros.messages.pointcloud import pointcloud_dtype, pointcloud_fields
from lingbot_depth_ros.tools.evaluation.data import read_captures
import numpy as np
from sensor_msgs.msg import PointCloud2
from std_msgs.msg import Header

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FRAMES = ROOT / 'test' / 'data' / 'examples'
TARGET_CLOUD_MS = 1.5
TARGET_SPEEDUP = 2.0


def load_frames(folder):
    """Load the real RGB-D frames under ``folder`` as dicts; [] when there are none."""
    return [{'rgb': rgb, 'raw': raw, 'K': K} for _, rgb, raw, K in read_captures(folder)]


def generated_frames(count=4, width=640, height=480):
    """Make RGB-D frames of a tilted plane with holes, for machines without the examples."""
    rng = np.random.default_rng(0)
    frames = []
    v, u = np.mgrid[0:height, 0:width]
    for index in range(count):
        depth_mm = 800.0 + 2.0 * v + 0.5 * u + 300.0 * index
        raw = depth_mm.astype(np.uint16)
        raw[rng.random(raw.shape) < 0.08] = 0
        rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        K = np.array([[525.0 + index, 0.0, 319.5], [0.0, 525.0, 239.5], [0.0, 0.0, 1.0]])
        frames.append({'rgb': rgb, 'raw': raw, 'K': K})
    return frames


def prepare(frames):
    """Add metric depth and the incoming messages a node would receive to each frame."""
    header = Header(frame_id='camera_color_optical_frame')
    for frame in frames:
        frame['header'] = header
        frame['depth_m'], frame['valid'] = geometry.depth_to_meters(frame['raw'])
        frame['rgb_msg'] = mc.rgb_to_image(frame['rgb'], header)
        frame['depth16_msg'] = mc.depth_to_image(frame['depth_m'], header, '16UC1')[0]
        frame['depth32_msg'] = mc.depth_to_image(frame['depth_m'], header, '32FC1')[0]
    return frames


def measure(function, frames, runs):
    """Time ``function(frame)``: one untimed warm-up per frame, then >= runs timed calls."""
    repeats = -(-runs // len(frames))
    times = []
    for frame in frames:
        function(frame)
        for _ in range(repeats):
            start = time.perf_counter()
            function(frame)
            times.append(time.perf_counter() - start)
    times = np.array(times) * 1e3
    return float(np.median(times)), float(times.min()), len(times)


def reference_cloud(frame):
    """Build the XYZRGB cloud the way sensor_msgs_py users do (re-implemented here)."""
    depth, rgb, K = frame['depth_m'], frame['rgb'], frame['K']
    height, width = depth.shape
    rx, ry = geometry.pixel_rays(K, width, height)
    z = np.where(frame['valid'], depth, np.float32(np.nan))
    points = np.empty((height, width), dtype=REFERENCE_DTYPE)
    points['x'] = rx * z
    points['y'] = ry * z
    points['z'] = z
    channels = rgb.astype(np.uint32)
    packed = (channels[..., 0] << 16) | (channels[..., 1] << 8) | channels[..., 2]
    points['rgb'] = packed.view(np.float32)
    msg = PointCloud2(header=frame['header'], height=height, width=width,
                      fields=pointcloud_fields(True), is_bigendian=False, point_step=32,
                      row_step=32 * width, is_dense=False)
    msg.data = points.tobytes()
    return msg


REFERENCE_DTYPE = np.dtype({'names': ['x', 'y', 'z', 'rgb'], 'formats': ['<f4'] * 4,
                            'offsets': [0, 4, 8, 16], 'itemsize': 32})


def sensor_msgs_py_cloud_function():
    """Return a frame -> cloud function using sensor_msgs_py.create_cloud, or None."""
    try:
        from sensor_msgs_py import point_cloud2
    except ImportError:
        return None
    fields = pointcloud_fields(True)
    with_step = 'point_step' in inspect.signature(point_cloud2.create_cloud).parameters
    dtype = (point_cloud2.dtype_from_fields(fields, point_step=32) if with_step
             else point_cloud2.dtype_from_fields(fields))

    def create(frame):
        depth, rgb, K = frame['depth_m'], frame['rgb'], frame['K']
        height, width = depth.shape
        rx, ry = geometry.pixel_rays(K, width, height)
        z = np.where(frame['valid'], depth, np.float32(np.nan))
        points = np.empty((height, width), dtype=dtype)
        points['x'], points['y'], points['z'] = rx * z, ry * z, z
        channels = rgb.astype(np.uint32)
        points['rgb'] = ((channels[..., 0] << 16) | (channels[..., 1] << 8)
                         | channels[..., 2]).view(np.float32)
        if with_step:
            return point_cloud2.create_cloud(frame['header'], fields, points, point_step=32)
        return point_cloud2.create_cloud(frame['header'], fields, points)
    return create


def our_cloud(frame):
    """Build the organized XYZRGB cloud with msg_conversions."""
    return mc.depth_to_pointcloud2(frame['depth_m'], frame['K'], frame['header'],
                                   rgb=frame['rgb'])


def point_values(cloud):
    """Return every point of a cloud as a flat structured array, whatever height x width say."""
    dtype = pointcloud_dtype(cloud.fields, cloud.point_step, cloud.is_bigendian)
    return np.frombuffer(bytes(cloud.data), dtype=dtype)


def same_values(ours, other):
    """Return True when both clouds hold the same points: x, y, z (NaN = NaN) and rgb bits."""
    a, b = point_values(ours), point_values(other)
    if a.shape != b.shape:
        return False
    for name in ('x', 'y', 'z'):
        if not np.array_equal(a[name], b[name], equal_nan=True):
            return False
    return np.array_equal(a['rgb'].view(np.uint32), b['rgb'].view(np.uint32))


def paths():
    """Return (label, function) pairs of the timed message paths."""
    return [
        ('Image -> ndarray  rgb8', lambda f: mc.image_to_array(f['rgb_msg'])),
        ('Image -> ndarray  16UC1', lambda f: mc.image_to_array(f['depth16_msg'])),
        ('Image -> ndarray  32FC1', lambda f: mc.image_to_array(f['depth32_msg'])),
        ('Image -> RGB  rgb8 (network input)', lambda f: mc.rgb_from_image(f['rgb_msg'])),
        ('depth -> metres  16UC1 Image', lambda f: mc.depth_from_image(f['depth16_msg'])),
        ('depth -> metres  32FC1 Image', lambda f: mc.depth_from_image(f['depth32_msg'])),
        ('ndarray -> Image  32FC1 metres',
         lambda f: mc.depth_to_image(f['depth_m'], f['header'])),
        ('ndarray -> Image  16UC1 millimetres',
         lambda f: mc.depth_to_image(f['depth_m'], f['header'], '16UC1')),
        ('ndarray -> Image  mono8 mask', lambda f: mc.mask_to_image(f['valid'], f['header'])),
        ('ndarray -> Image  rgb8', lambda f: mc.rgb_to_image(f['rgb'], f['header'])),
        ('cloud XYZ only (point_step 16)',
         lambda f: mc.depth_to_pointcloud2(f['depth_m'], f['K'], f['header'])),
        ('cloud XYZRGB from Image messages',
         lambda f: mc.depth_to_pointcloud2(mc.depth_from_image(f['depth16_msg'])[0], f['K'],
                                           f['header'], rgb=mc.rgb_from_image(f['rgb_msg']))),
    ]


def handover_paths(nbytes):
    """Return the ways of handing a payload of ``nbytes`` to PointCloud2.data."""
    payload = payload_from_array(np.zeros(nbytes, np.uint8))
    as_bytes = bytes(nbytes)
    return [
        ('array.array, field-checking message (ours)',
         lambda f: new_message(PointCloud2, data=payload)),
        ('bytes, default message (one memcpy)', lambda f: PointCloud2(data=as_bytes)),
    ]


def row(label, figures):
    """Format one result line."""
    median, best, count = figures
    return '  %-58s %8.3f %8.3f  (n=%d)' % (label, median, best, count)


def main(argv=None):
    """Run the benchmark and print the summary; return the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--frames', type=Path, default=DEFAULT_FRAMES,
                        help='folder of N/{rgb.png|rgb.jpg, raw_depth.png, intrinsics.txt}')
    parser.add_argument('--runs', type=int, default=100, help='timed calls per path (>= 50)')
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error('--runs: expected >= 1, got %d' % args.runs)
    frames = load_frames(args.frames) if args.frames.is_dir() else []
    source = '%d real frames from %s' % (len(frames), args.frames)
    if not frames:
        frames = generated_frames()
        source = '%d generated frames (%s not found)' % (len(frames), args.frames)
    frames = prepare(frames)
    height, width = frames[0]['raw'].shape
    print('bench_msg_io: %dx%d, %s, %d runs per path' % (width, height, source, args.runs))
    print('  %-58s %8s %8s' % ('path', 'median', 'min ms'))
    for label, function in paths():
        print(row(label, measure(function, frames, args.runs)))
    cloud_bytes = height * width * 32
    print('  hand-over of a %.1f MB payload to PointCloud2.data:' % (cloud_bytes / 1e6))
    for label, function in handover_paths(cloud_bytes):
        print(row('  ' + label, measure(function, frames, args.runs)))

    ours = measure(our_cloud, frames, args.runs)
    reference = measure(reference_cloud, frames, args.runs)
    identical = all(same_values(our_cloud(f), reference_cloud(f)) for f in frames)
    print(row('full cloud path (depth + RGB + K -> organized XYZRGB)', ours))
    print(row('reference (sensor_msgs_py-style, re-implemented here)', reference))
    print('    (it pays page faults: glibc hands its 9.8 MB temporaries back to the OS)')
    print('  identical values in every field vs reference: %s' % ('yes' if identical else 'NO'))
    speedup = reference[0] / ours[0]
    print('  speedup_vs_reference %.2f' % speedup)
    met = ours[0] <= TARGET_CLOUD_MS and speedup >= TARGET_SPEEDUP and identical
    print('  targets (median <= %.1f ms, >= %.0fx reference, identical values): %s'
          % (TARGET_CLOUD_MS, TARGET_SPEEDUP, 'met' if met else 'NOT met'))
    create_cloud = sensor_msgs_py_cloud_function()
    if create_cloud is None:
        print('speedup_vs_sensor_msgs_py unavailable')
        return 0
    theirs = measure(create_cloud, frames, args.runs)
    identical = all(same_values(our_cloud(f), create_cloud(f)) for f in frames)
    sample = create_cloud(frames[0])
    ours_sample = our_cloud(frames[0])
    print('  sensor_msgs_py header: height %d x width %d for %d points (create_cloud takes '
          'len() of a 2-D array, its rows, as the width); ours: %d x %d, organized'
          % (sample.height, sample.width, len(point_values(sample)), ours_sample.height,
             ours_sample.width))
    print(row('sensor_msgs_py create_cloud (XYZ + RGB packing + create)', theirs))
    print('  identical values in every field vs sensor_msgs_py: %s'
          % ('yes' if identical else 'NO'))
    if not identical:
        print('speedup_vs_sensor_msgs_py unavailable (clouds differ)')
        return 1
    print('speedup_vs_sensor_msgs_py %.2f' % (theirs[0] / ours[0]))
    return 0


if __name__ == '__main__':
    sys.exit(main())
