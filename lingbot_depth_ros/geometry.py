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
Depth units, pinhole intrinsics and back-projection (numpy only).

Conventions (REP 103 / REP 118 / depth_image_proc):
- depth is the z coordinate in metres along the optical axis; 0 or NaN means no measurement;
- pixel (u, v) = (column, row) with integer indices, the centre of the top-left pixel at (0, 0);
- the optical frame has x right, y down, z forward: x = (u - cx) * z / fx, y = (v - cy) * z / fy.
"""

from collections import OrderedDict
from dataclasses import dataclass
import math
import threading

import numpy as np


class LruCache:
    """
    A thread-safe map that keeps its ``max_entries`` most recently used entries.

    Per-size caches (rays, clouds) use it, so an input whose size changes every frame
    costs at most ``max_entries`` entries, never one per size ever seen.
    """

    def __init__(self, max_entries):
        """
        Create an empty cache.

        :param max_entries: entries kept (>= 1).
        """
        if max_entries < 1:
            raise ValueError('max_entries: expected >= 1, got %r' % (max_entries,))
        self.max_entries = int(max_entries)
        self._entries = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self):
        """Return the number of entries."""
        return len(self._entries)

    def get(self, key):
        """
        Return the entry of ``key`` (now the most recent), or None.

        :param key: a hashable key.
        :return: the value or None.
        """
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key, value):
        """
        Store an entry, evicting the least recently used ones beyond ``max_entries``.

        :param key: a hashable key.
        :param value: the value (not None).
        :return: the value.
        """
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value


RAY_CACHE = LruCache(8)


def _check_image_2d(array, name):
    """Raise ValueError unless ``array`` is a non-empty H x W array."""
    if not isinstance(array, np.ndarray):
        raise ValueError('%s: expected a numpy array, got %s' % (name, type(array).__name__))
    if array.ndim != 2 or array.size == 0:
        raise ValueError('%s: expected a non-empty H x W array, got shape %s'
                         % (name, array.shape))


def _check_size(width, height):
    """Raise ValueError unless width and height are positive integers."""
    for name, value in (('width', width), ('height', height)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
            raise ValueError('%s: expected a positive integer, got %r' % (name, value))


def check_intrinsics(K, name='K'):
    """
    Validate a 3x3 pinhole matrix and return it as float64.

    :param K: 3x3 matrix (fx, 0, cx / 0, fy, cy / 0, 0, 1), any array-like.
    :param name: field name used in error messages.
    :return: the matrix as a float64 (3, 3) array.
    :raises ValueError: on a wrong shape, a non-finite entry or a focal length <= 0.
    """
    K = np.asarray(K, dtype=np.float64)
    if K.shape == (9,):
        K = K.reshape(3, 3)
    if K.shape != (3, 3):
        raise ValueError('%s: expected shape (3, 3), got %s' % (name, K.shape))
    if not np.all(np.isfinite(K)):
        raise ValueError('%s: expected finite values, got %s' % (name, K.tolist()))
    for label, value in (('fx', K[0, 0]), ('fy', K[1, 1])):
        if not value > 0:
            raise ValueError('%s: expected focal length %s > 0, got %r' % (name, label, value))
    return K


def depth_to_meters(depth, depth_scale=0.001):
    """
    Convert a depth image to float32 metres with a validity mask (REP 118).

    Integer depth (16UC1 / mono16 millimetres, etc.) is multiplied by ``depth_scale`` in float32;
    float depth is taken as metres. Zero, NaN, +-inf and negative values are invalid.

    :param depth: H x W depth array, integer or floating point.
    :param depth_scale: metres per integer unit (ignored for float input).
    :return: ``(depth_m, valid)``: float32 H x W metres with 0 where invalid, bool H x W mask.
    :raises ValueError: on a non-2-D or empty array, a non-numeric dtype or a bad scale.
    """
    _check_image_2d(depth, 'depth')
    if np.issubdtype(depth.dtype, np.integer):
        if not (np.isfinite(depth_scale) and depth_scale > 0):
            raise ValueError('depth_scale: expected a finite value > 0, got %r' % (depth_scale,))
        valid = depth > 0
        depth_m = np.multiply(depth, np.float32(depth_scale), dtype=np.float32)
        if depth.dtype.kind == 'i':
            depth_m[~valid] = 0.0
        return depth_m, valid
    if not np.issubdtype(depth.dtype, np.floating):
        raise ValueError('depth.dtype: expected an integer or floating type, got %s'
                         % depth.dtype)
    depth_m = depth.astype(np.float32)
    valid = DepthRange().valid(depth_m)
    np.copyto(depth_m, 0.0, where=~valid)
    return depth_m, valid


@dataclass(frozen=True)
class DepthRange:
    """
    The depths in metres that count as measurements: finite, > 0 and within [min_m, max_m].

    One rule for every consumer: input pixels outside it are holes, output pixels outside it
    become NaN (and so drop out of the point cloud).
    """

    min_m: float = 0.0
    max_m: float = math.inf

    def __post_init__(self):
        """Reject a negative, NaN or empty range."""
        lo, hi = float(self.min_m), float(self.max_m)
        if not (math.isfinite(lo) and lo >= 0.0):
            raise ValueError('min_depth: expected a finite value >= 0, got %r' % (self.min_m,))
        if math.isnan(hi) or hi <= lo:
            raise ValueError('max_depth: expected a value > min_depth (%r), got %r'
                             % (lo, self.max_m))
        object.__setattr__(self, 'min_m', lo)
        object.__setattr__(self, 'max_m', hi)

    def valid(self, depth):
        """
        Return the pixels holding a usable depth.

        :param depth: float array of metres (any shape).
        :return: bool array of the same shape.
        """
        depth = np.asarray(depth)
        # NaN compares False, so NaN, 0, negatives and +inf all fail one of the comparisons.
        valid = depth >= self.min_m if self.min_m > 0.0 else depth > 0.0
        valid &= depth <= self.max_m if math.isfinite(self.max_m) else depth < np.inf
        return valid

    def invalid_to_nan(self, depth):
        """
        Return float32 depth with NaN wherever it is not :meth:`valid`.

        :param depth: float array of metres (not modified).
        :return: ``(depth float32, valid bool)``; the array is a copy only when some pixel
            had to change.
        """
        depth = np.asarray(depth, dtype=np.float32)
        valid = self.valid(depth)
        if not valid.all():
            depth = np.where(valid, depth, np.float32(np.nan))
        return depth, valid


def scale_intrinsics(K, sx, sy):
    """
    Scale pixel intrinsics for an image resized by (sx, sy).

    Uses the ROS image_geometry binning convention (fx, cx times sx; fy, cy times sy), which
    maps pixel u' of the new image to u = u' / sx of the old one, as crop_decimate samples.

    :param K: 3x3 pixel intrinsics.
    :param sx: new width / old width.
    :param sy: new height / old height.
    :return: scaled 3x3 float64 intrinsics.
    :raises ValueError: on bad intrinsics or a non-positive scale.
    """
    K = check_intrinsics(K)
    for name, value in (('sx', sx), ('sy', sy)):
        if not (np.isfinite(value) and value > 0):
            raise ValueError('%s: expected a finite value > 0, got %r' % (name, value))
    scaled = K.copy()
    # Callers check the result: a corrupt focal length may overflow or underflow here.
    with np.errstate(over='ignore', under='ignore'):
        scaled[0] *= sx
        scaled[1] *= sy
    return scaled


def normalize_intrinsics(K, width, height):
    """
    Express pixel intrinsics as fractions of the image size (the network's convention).

    :param K: 3x3 pixel intrinsics.
    :param width: image width in pixels.
    :param height: image height in pixels.
    :return: 3x3 float64 with row 0 divided by width and row 1 by height.
    :raises ValueError: on bad intrinsics or size.
    """
    K = check_intrinsics(K)
    _check_size(width, height)
    normalized = K.copy()
    normalized[0] /= width
    normalized[1] /= height
    return normalized


def pixel_rays(K, width, height):
    """
    Return the per-pixel ray slopes of a pinhole camera, cached per (K, size).

    :param K: 3x3 pixel intrinsics.
    :param width: image width in pixels.
    :param height: image height in pixels.
    :return: ``(rx, ry)``, read-only float32 H x W arrays with rx = (u - cx) / fx and
        ry = (v - cy) / fy for column u and row v.
    :raises ValueError: on bad intrinsics or size.
    """
    K = check_intrinsics(K)
    _check_size(width, height)
    key = (K.tobytes(), int(width), int(height))
    rays = RAY_CACHE.get(key)
    if rays is not None:
        return rays
    # Computed in float64 and rounded once, so every caller sees the same float32 rays.
    ray_x = ((np.arange(width, dtype=np.float64) - K[0, 2]) / K[0, 0]).astype(np.float32)
    ray_y = ((np.arange(height, dtype=np.float64) - K[1, 2]) / K[1, 1]).astype(np.float32)
    rx = np.ascontiguousarray(np.broadcast_to(ray_x, (height, width)))
    ry = np.ascontiguousarray(np.broadcast_to(ray_y[:, None], (height, width)))
    # Shared between callers: a caller writing into the cache would corrupt everyone's rays.
    rx.flags.writeable = False
    ry.flags.writeable = False
    return RAY_CACHE.put(key, (rx, ry))


def back_project(depth_m, K):
    """
    Back-project a metric depth image to 3-D points in the camera optical frame.

    :param depth_m: H x W depth in metres; 0, NaN, +-inf and negative values are invalid.
    :param K: 3x3 pixel intrinsics at the depth image's size.
    :return: float32 H x W x 3 points (x, y, z), NaN in all three where depth is invalid.
    :raises ValueError: on a bad depth array or intrinsics.
    """
    _check_image_2d(depth_m, 'depth_m')
    height, width = depth_m.shape
    rx, ry = pixel_rays(K, width, height)
    z = depth_m.astype(np.float32)
    invalid = ~(z > 0)
    invalid |= z == np.inf
    z[invalid] = np.nan
    points = np.empty((height, width, 3), dtype=np.float32)
    np.multiply(rx, z, out=points[..., 0])
    np.multiply(ry, z, out=points[..., 1])
    points[..., 2] = z
    return points


def resize_depth_nearest(depth, width, height):
    """
    Resize a depth (or mask) image by nearest-neighbour sampling, never mixing depth values.

    Output pixel (u', v') takes input pixel (floor(u' * W / width), floor(v' * H / height)), the
    same mapping as :func:`scale_intrinsics`, so resized depth and scaled K stay consistent.

    :param depth: H x W array of any dtype.
    :param width: output width in pixels.
    :param height: output height in pixels.
    :return: ``height`` x ``width`` array of the input dtype (the input itself when the size
        already matches).
    :raises ValueError: on a bad array or size.
    """
    _check_image_2d(depth, 'depth')
    _check_size(width, height)
    in_height, in_width = depth.shape
    if (in_width, in_height) == (width, height):
        return depth
    rows = (np.arange(height, dtype=np.int64) * in_height) // height
    cols = (np.arange(width, dtype=np.int64) * in_width) // width
    return depth[rows[:, None], cols[None, :]]
