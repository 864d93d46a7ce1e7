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
sensor_msgs/PointCloud2 from depth (+ colour) and back, in depth_image_proc's layout.

The cloud is the one depth_image_proc's point_cloud_xyz / point_cloud_xyzrgb publish, so PCL,
RViz and grasp planners read it unchanged:

- fields x, y, z FLOAT32 at offsets 0, 4, 8; without colour point_step 16;
- with colour ``rgb`` FLOAT32 at offset 16 holding the bits of 0x00RRGGBB (bytes b, g, r, 0 at
  16..19), point_step 32; padding bytes are zero;
- row_step = width * point_step, little-endian (host order), is_dense false, invalid points
  x = y = z = NaN (their colour is still filled, as depth_image_proc does).

Decimation by k samples pixels (k * j, k * i) and gives a (H // k) x (W // k) organized cloud,
as image_proc's crop_decimate followed by depth_image_proc would.
"""

import sys

from lingbot_depth_ros.geometry import check_intrinsics, DepthRange, LruCache, pixel_rays
from lingbot_depth_ros.messages.buffers import (copy_header, new_message, writable_view,
                                                zeroed_bytes)
import numpy as np
from sensor_msgs.msg import PointCloud2, PointField

POINT_STEP_XYZ = 16
POINT_STEP_XYZRGB = 32
_RGB_OFFSET = 16

# PointField datatype constants (sensor_msgs/PointField) -> numpy element type.
_POINT_FIELD_TYPES = {1: 'i1', 2: 'u1', 3: 'i2', 4: 'u2', 5: 'i4', 6: 'u4', 7: 'f4', 8: 'f8'}
_HOST_BIG_ENDIAN = sys.byteorder == 'big'

COMPLEX_RAY_CACHE = LruCache(4)


def pointcloud_fields(with_rgb):
    """
    Return the PointField list of depth_image_proc's clouds.

    :param with_rgb: True for x, y, z, rgb (point_step 32); False for x, y, z (16).
    :return: list of sensor_msgs/PointField.
    """
    names = ('x', 'y', 'z', 'rgb') if with_rgb else ('x', 'y', 'z')
    offsets = (0, 4, 8, _RGB_OFFSET)
    return [PointField(name=name, offset=offset, datatype=PointField.FLOAT32, count=1)
            for name, offset in zip(names, offsets)]


def pack_rgb(rgb):
    """
    Pack RGB uint8 colour into PCL's 0x00RRGGBB words.

    :param rgb: uint8 (..., 3) colour in RGB order.
    :return: uint32 array of shape ``rgb.shape[:-1]``; viewed as float32 it is PCL's ``rgb``.
    """
    shape = rgb.shape[:-1]
    count = int(np.prod(shape))
    if rgb.flags.c_contiguous and count > 1:
        flat = rgb.reshape(-1)
        packed = np.empty(count, dtype=np.uint32)
        # Reading 4 bytes every 3 as big-endian gives r<<24 | g<<16 | b<<8 | next byte, so one
        # shift yields 0x00RRGGBB. The last pixel would read past the end: done on its own.
        overlapping = np.ndarray((count - 1,), dtype='>u4', buffer=flat, strides=(3,))
        np.right_shift(overlapping, 8, out=packed[:-1])
        red, green, blue = (int(c) for c in flat[-3:])
        packed[-1] = (red << 16) | (green << 8) | blue
        return packed.reshape(shape)
    channels = rgb.astype(np.uint32)
    return (channels[..., 0] << 16) | (channels[..., 1] << 8) | channels[..., 2]


def _rays_xy(K, width, height, decimation):
    """Return cached complex64 rays rx + i*ry for the decimated pixel grid."""
    key = (K.tobytes(), width, height, decimation)
    rays = COMPLEX_RAY_CACHE.get(key)
    if rays is not None:
        return rays
    rx, ry = pixel_rays(K, width, height)
    out_height, out_width = height // decimation, width // decimation
    sampled = (slice(0, out_height * decimation, decimation),
               slice(0, out_width * decimation, decimation))
    rays = np.empty((out_height, out_width), dtype=np.complex64)
    rays.real = rx[sampled]
    rays.imag = ry[sampled]
    rays.flags.writeable = False
    return COMPLEX_RAY_CACHE.put(key, rays)


def _check_cloud_inputs(depth_m, rgb, decimation, depth_range):
    """Raise ValueError on malformed depth_to_pointcloud2 arguments."""
    if not isinstance(depth_m, np.ndarray) or depth_m.ndim != 2 or depth_m.size == 0:
        raise ValueError('depth_m: expected a non-empty H x W array, got %s'
                         % (getattr(depth_m, 'shape', type(depth_m).__name__),))
    if not np.issubdtype(depth_m.dtype, np.floating):
        raise ValueError('depth_m.dtype: expected float metres, got %s' % depth_m.dtype)
    if rgb is not None:
        if not isinstance(rgb, np.ndarray) or rgb.shape != depth_m.shape + (3,):
            raise ValueError('rgb: expected shape %s matching depth, got %s'
                             % (depth_m.shape + (3,), getattr(rgb, 'shape', type(rgb).__name__)))
        if rgb.dtype != np.uint8:
            raise ValueError('rgb.dtype: expected uint8, got %s' % rgb.dtype)
    if (isinstance(decimation, bool) or not isinstance(decimation, (int, np.integer))
            or not 1 <= decimation <= min(depth_m.shape)):
        raise ValueError('decimation: expected an integer in [1, %d], got %r'
                         % (min(depth_m.shape), decimation))
    if not isinstance(depth_range, DepthRange):
        raise ValueError('depth_range: expected a geometry.DepthRange, got %s'
                         % type(depth_range).__name__)


def depth_to_pointcloud2(depth_m, K, header, rgb=None, decimation=1,
                         depth_range=DepthRange(), organized=True):
    """
    Back-project metric depth (and colour) into a publish-ready sensor_msgs/PointCloud2.

    :param depth_m: (H, W) float depth in metres; 0, NaN, +-inf, negative and out-of-range
        values give NaN points.
    :param K: 3x3 pixel intrinsics at the depth image's size.
    :param header: std_msgs/Header (copied) or None; its frame should be the optical frame.
    :param rgb: optional uint8 (H, W, 3) RGB registered to the depth: adds the ``rgb`` field.
    :param decimation: keep every k-th pixel in both directions (organized (H//k) x (W//k)).
    :param depth_range: points with a depth z outside it are NaN (or dropped).
    :param organized: True for a height x width cloud with NaN points (is_dense false); False
        for height 1 with invalid points removed (is_dense true).
    :return: sensor_msgs/PointCloud2.
    :raises ValueError: on mismatched sizes, bad intrinsics or bad options.
    """
    _check_cloud_inputs(depth_m, rgb, decimation, depth_range)
    K = check_intrinsics(K)
    height, width = depth_m.shape
    decimation = int(decimation)
    rays = _rays_xy(K, width, height, decimation)
    if decimation > 1:
        sampled = (slice(0, rays.shape[0] * decimation, decimation),
                   slice(0, rays.shape[1] * decimation, decimation))
        depth_m = depth_m[sampled]
        rgb = None if rgb is None else rgb[sampled]
    depth = depth_m.astype(np.float32, copy=False)
    valid = depth_range.valid(depth)
    scale = valid.astype(np.float32)
    with np.errstate(invalid='ignore', divide='ignore'):
        # z * 1 / 1 keeps z; z * 0 / 0 is NaN for any invalid z: no masked copy needed.
        z = np.multiply(depth, scale)
        np.divide(z, scale, out=z)
    colour = None if rgb is None else pack_rgb(rgb)
    if not organized:
        keep = np.flatnonzero(valid)
        rays, z = rays.reshape(-1)[keep], z.reshape(-1)[keep]
        colour = None if colour is None else colour.reshape(-1)[keep]
    point_step = POINT_STEP_XYZ if colour is None else POINT_STEP_XYZRGB
    words = point_step // 4
    payload = zeroed_bytes(z.size * point_step)
    points = writable_view(payload, np.float32).reshape(z.shape + (words,))
    # A complex64 product (rx + i ry) * z writes x and y of each point in one strided pass.
    np.multiply(rays, z, out=points.view(np.complex64)[..., 0])
    points[..., 2] = z
    if colour is not None:
        points.view(np.uint32)[..., _RGB_OFFSET // 4] = colour
    cloud_height, cloud_width = z.shape if organized else (1, z.size)
    return new_message(
        PointCloud2, header=copy_header(header), height=cloud_height, width=cloud_width,
        fields=pointcloud_fields(colour is not None), is_bigendian=_HOST_BIG_ENDIAN,
        point_step=point_step, row_step=cloud_width * point_step, data=payload,
        is_dense=not organized)


def points_to_pointcloud2(points, header, colors=None):
    """
    Make an unorganized PointCloud2 (height 1, is_dense) of a point list.

    :param points: (N, 3) float points without NaN, in the header's frame.
    :param header: std_msgs/Header (copied).
    :param colors: optional (N, 3) uint8 RGB colours: adds the ``rgb`` field.
    :return: sensor_msgs/PointCloud2 in the depth_image_proc layout.
    """
    points = np.asarray(points, dtype=np.float32)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f'points: expected (N, 3), got {points.shape}')
    if colors is not None and np.shape(colors) != points.shape:
        raise ValueError(f'colors: expected {points.shape} uint8, got {np.shape(colors)}')
    point_step = POINT_STEP_XYZ if colors is None else POINT_STEP_XYZRGB
    payload = zeroed_bytes(len(points) * point_step)
    words = writable_view(payload, np.float32).reshape(len(points), point_step // 4)
    words[:, :3] = points
    if colors is not None:
        words.view(np.uint32)[:, _RGB_OFFSET // 4] = pack_rgb(
            np.asarray(colors, np.uint8)[None])[0]
    return new_message(
        PointCloud2, header=copy_header(header), height=1, width=len(points),
        fields=pointcloud_fields(colors is not None), is_bigendian=_HOST_BIG_ENDIAN,
        point_step=point_step, row_step=len(points) * point_step, data=payload,
        is_dense=True)


def pointcloud_dtype(fields, point_step, is_bigendian=False):
    """
    Build the numpy structured dtype described by PointCloud2 fields.

    :param fields: sequence of sensor_msgs/PointField.
    :param point_step: bytes per point (the dtype's itemsize; padding stays unnamed).
    :param is_bigendian: byte order of the data.
    :return: numpy structured dtype.
    :raises ValueError: on an unknown datatype, count < 1, a duplicate or empty name, or a
        field reaching past point_step.
    """
    order = '>' if is_bigendian else '<'
    names, formats, offsets = [], [], []
    for index, point_field in enumerate(fields):
        kind = _POINT_FIELD_TYPES.get(int(point_field.datatype))
        if kind is None:
            raise ValueError('fields[%d].datatype: expected one of %s, got %d'
                             % (index, sorted(_POINT_FIELD_TYPES), point_field.datatype))
        count = int(point_field.count)
        if count < 1:
            raise ValueError('fields[%d].count: expected >= 1, got %d' % (index, count))
        if not point_field.name or point_field.name in names:
            raise ValueError('fields[%d].name: expected a unique non-empty name, got %r'
                             % (index, point_field.name))
        element = np.dtype(order + kind)
        end = int(point_field.offset) + element.itemsize * count
        if end > point_step:
            raise ValueError('fields[%d] (%s): expected to end within point_step %d, ends at %d'
                             % (index, point_field.name, point_step, end))
        names.append(point_field.name)
        formats.append(element if count == 1 else (element, (count,)))
        offsets.append(int(point_field.offset))
    return np.dtype({'names': names, 'formats': formats, 'offsets': offsets,
                     'itemsize': point_step})


def pointcloud2_to_array(msg):
    """
    View a sensor_msgs/PointCloud2 as a numpy structured array (zero-copy).

    :param msg: sensor_msgs/PointCloud2.
    :return: (height, width) structured array for an organized cloud, (width,) when height
        is 1; fields named and typed from ``msg.fields`` in the message's byte order.
    :raises ValueError: on malformed fields, point_step, row_step or data length.
    """
    height, width = int(msg.height), int(msg.width)
    point_step, row_step = int(msg.point_step), int(msg.row_step)
    if point_step <= 0 and height * width > 0:
        raise ValueError('point_step: expected > 0, got %d' % point_step)
    dtype = pointcloud_dtype(msg.fields, max(point_step, 1), bool(msg.is_bigendian))
    if row_step < width * point_step:
        raise ValueError('row_step: expected >= width * point_step = %d * %d = %d, got %d'
                         % (width, point_step, width * point_step, row_step))
    nbytes = memoryview(msg.data).nbytes
    if nbytes != row_step * height:
        raise ValueError('data: expected row_step * height = %d * %d = %d bytes, got %d'
                         % (row_step, height, row_step * height, nbytes))
    if height * width == 0:
        return np.zeros((height, width) if height > 1 else (width,), dtype=dtype)
    points = np.ndarray((height, width), dtype=dtype, buffer=memoryview(msg.data),
                        strides=(row_step, point_step))
    return points[0] if height == 1 else points
