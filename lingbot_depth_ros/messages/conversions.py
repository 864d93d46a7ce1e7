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
sensor_msgs Image / CameraInfo / PointCloud2 <-> numpy (no torch, no cv_bridge).

Incoming images become zero-copy numpy views of ``msg.data`` whenever the layout allows
(native byte order; row padding is skipped with strides). Outgoing payloads are written once
into an ``array.array`` that the message keeps without copying (see ``msg_buffers``).
The point-cloud functions live in ``pointcloud`` and are re-exported here.
"""

import array
from dataclasses import dataclass, field
import re
import sys

from lingbot_depth_ros.geometry import (check_intrinsics, depth_to_meters, DepthRange,
                                        scale_intrinsics)
from lingbot_depth_ros.messages.buffers import (copy_header, new_message, payload_from_array,
                                                writable_view, zeroed_bytes)
from lingbot_depth_ros.messages.pointcloud import depth_to_pointcloud2, pointcloud2_to_array
import numpy as np
from sensor_msgs.msg import CameraInfo, Image, RegionOfInterest

__all__ = [
    'CameraModel', 'camera_info_at_size', 'camera_info_to_model', 'depth_from_image',
    'depth_to_image', 'depth_to_pointcloud2', 'encoding_format', 'image_to_array',
    'mask_to_image', 'pointcloud2_to_array', 'rgb_from_image', 'rgb_to_image',
]

_NAMED_ENCODINGS = {
    'rgb8': ('u1', 3), 'bgr8': ('u1', 3), 'rgba8': ('u1', 4), 'bgra8': ('u1', 4),
    'mono8': ('u1', 1), 'mono16': ('u2', 1),
    'rgb16': ('u2', 3), 'bgr16': ('u2', 3), 'rgba16': ('u2', 4), 'bgra16': ('u2', 4),
}
# OpenCV-style generic encodings, the ones cv_bridge accepts: 8UC3, 16UC1, 32FC1, ...
_GENERIC_ENCODING = re.compile(r'^(8U|8S|16U|16S|32S|32F|64F)C([1-4])$')
_GENERIC_KINDS = {'8U': 'u1', '8S': 'i1', '16U': 'u2', '16S': 'i2', '32S': 'i4',
                  '32F': 'f4', '64F': 'f8'}
_DEPTH_ENCODINGS = ('16UC1', 'mono16', '32FC1')
_RGB_ENCODINGS = ('rgb8', 'bgr8', 'rgba8', 'bgra8', 'mono8', '8UC1', '8UC3')
# Channel order of 8-bit colour encodings; 8UC3 follows OpenCV, which stores BGR.
_CHANNEL_ORDER = {'rgb8': (0, 1, 2), 'rgba8': (0, 1, 2), 'bgr8': (2, 1, 0),
                  'bgra8': (2, 1, 0), '8UC3': (2, 1, 0)}
_HOST_BIG_ENDIAN = sys.byteorder == 'big'
_UINT16_MAX_MM = 65535.0


def encoding_format(encoding):
    """
    Return the element type and channel count of a sensor_msgs image encoding.

    :param encoding: e.g. ``'rgb8'``, ``'16UC1'``, ``'32FC1'``.
    :return: ``(dtype, channels)`` with a native-byte-order numpy dtype.
    :raises ValueError: on an unknown encoding.
    """
    if encoding in _NAMED_ENCODINGS:
        kind, channels = _NAMED_ENCODINGS[encoding]
        return np.dtype(kind), channels
    match = _GENERIC_ENCODING.match(encoding) if isinstance(encoding, str) else None
    if match is None:
        raise ValueError('encoding: expected one of %s or an OpenCV type like 16UC1, got %r'
                         % (', '.join(sorted(_NAMED_ENCODINGS)), encoding))
    return np.dtype(_GENERIC_KINDS[match.group(1)]), int(match.group(2))


def _byte_count(data, name):
    """Return the size in bytes of a message payload (array.array, bytes, memoryview...)."""
    try:
        return memoryview(data).nbytes
    except TypeError:
        raise ValueError('%s: expected a bytes-like payload, got %s'
                         % (name, type(data).__name__)) from None


def image_to_array(msg):
    """
    View a sensor_msgs/Image as a numpy array.

    The result shares memory with ``msg.data`` when the data is in native byte order (row
    padding in ``step`` is skipped through strides); big-endian data on a little-endian host
    (or the reverse) is byte-swapped into a new native array.

    :param msg: sensor_msgs/Image.
    :return: (H, W) for one channel or (H, W, C), in the encoding's element type.
    :raises ValueError: on an unknown encoding, zero size, ``step`` smaller than a row, or a
        ``data`` length other than ``step * height``.
    """
    dtype, channels = encoding_format(msg.encoding)
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height <= 0 or width <= 0:
        raise ValueError('height x width: expected a non-empty image, got %d x %d'
                         % (height, width))
    pixel_bytes = dtype.itemsize * channels
    if step < width * pixel_bytes:
        raise ValueError('step: expected >= width * bytes per pixel = %d * %d = %d for %s, got %d'
                         % (width, pixel_bytes, width * pixel_bytes, msg.encoding, step))
    nbytes = _byte_count(msg.data, 'data')
    if nbytes != step * height:
        raise ValueError('data: expected step * height = %d * %d = %d bytes, got %d'
                         % (step, height, step * height, nbytes))
    swapped = dtype.itemsize > 1 and bool(msg.is_bigendian) != _HOST_BIG_ENDIAN
    view = np.ndarray(shape=(height, width, channels),
                      dtype=dtype.newbyteorder('>' if msg.is_bigendian else '<'),
                      buffer=memoryview(msg.data), strides=(step, pixel_bytes, dtype.itemsize))
    if swapped:
        view = view.astype(dtype)
    return view[:, :, 0] if channels == 1 else view


def rgb_from_image(msg):
    """
    Return the colour of an 8-bit image as RGB uint8 (H, W, 3), the network's input.

    ``rgb8`` (and ``rgba8``, dropping alpha) come back as views of ``msg.data``; BGR orders are
    reordered and ``mono8`` is replicated into a new array.

    :param msg: sensor_msgs/Image in rgb8, bgr8, rgba8, bgra8, mono8, 8UC1 or 8UC3 (BGR),
        or a sensor_msgs/CompressedImage OpenCV decodes (recorded ``image_raw/compressed``).
    :return: uint8 (H, W, 3) RGB.
    :raises ValueError: on any other encoding or a malformed message.
    """
    if hasattr(msg, 'format'):
        return _rgb_from_compressed(msg)
    if msg.encoding not in _RGB_ENCODINGS:
        raise ValueError('encoding: expected one of %s for colour, got %r'
                         % (', '.join(_RGB_ENCODINGS), msg.encoding))
    pixels = image_to_array(msg)
    if pixels.ndim == 2:
        return np.repeat(pixels[:, :, None], 3, axis=2)
    order = _CHANNEL_ORDER[msg.encoding]
    if order == (0, 1, 2):
        return pixels[:, :, :3]
    rgb = np.empty(pixels.shape[:2] + (3,), dtype=np.uint8)
    # Three plane copies are several times faster than numpy's reversed-axis copy.
    for channel, source in enumerate(order):
        rgb[:, :, channel] = pixels[:, :, source]
    return rgb


def _rgb_from_compressed(msg):
    import cv2  # only compressed colour streams need it
    buffer = np.frombuffer(memoryview(msg.data), dtype=np.uint8)
    bgr = cv2.imdecode(buffer, cv2.IMREAD_COLOR) if buffer.size else None
    if bgr is None:
        raise ValueError('data: expected an image OpenCV can decode (format %r), got %d '
                         'undecodable bytes' % (msg.format, buffer.size))
    return np.ascontiguousarray(bgr[:, :, ::-1])


def depth_from_image(msg, depth_scale=0.001):
    """
    Convert a depth image to metres (REP 118) with its validity mask.

    :param msg: sensor_msgs/Image in 16UC1 / mono16 (units of ``depth_scale``) or 32FC1 (m).
    :param depth_scale: metres per unit of integer depth.
    :return: ``(depth_m, valid)``: float32 (H, W) metres, 0 where invalid; bool (H, W).
    :raises ValueError: on another encoding or a malformed message.
    """
    if msg.encoding not in _DEPTH_ENCODINGS:
        raise ValueError('encoding: expected one of %s for depth, got %r'
                         % (', '.join(_DEPTH_ENCODINGS), msg.encoding))
    return depth_to_meters(image_to_array(msg), depth_scale)


def _check_plane(values, name, channels=None):
    """Raise ValueError unless ``values`` is a non-empty (H, W) or (H, W, channels) array."""
    if not isinstance(values, np.ndarray):
        raise ValueError('%s: expected a numpy array, got %s' % (name, type(values).__name__))
    expected_ndim = 2 if channels is None else 3
    if (values.ndim != expected_ndim or values.size == 0
            or (channels is not None and values.shape[2] != channels)):
        expected = 'H x W' if channels is None else 'H x W x %d' % channels
        raise ValueError('%s: expected a non-empty %s array, got shape %s'
                         % (name, expected, values.shape))


def _image_message(header, encoding, height, width, pixel_bytes, payload):
    """Wrap a packed payload (no row padding, host byte order) in a sensor_msgs/Image."""
    return new_message(Image, header=copy_header(header), height=height, width=width,
                       encoding=encoding, is_bigendian=_HOST_BIG_ENDIAN,
                       step=width * pixel_bytes, data=payload)


def depth_to_image(depth_m, header, encoding='32FC1'):
    """
    Encode metric depth as a sensor_msgs/Image (REP 118).

    :param depth_m: (H, W) depth in metres; 0, NaN, +-inf and negative values are invalid.
    :param header: std_msgs/Header for the message (copied), or None.
    :param encoding: ``'32FC1'`` (metres, NaN where invalid) or ``'16UC1'`` (millimetres,
        0 where invalid, values above 65.535 m clipped to 65535).
    :return: ``(image, n_clipped)``, the number of valid pixels clipped (0 for 32FC1).
    :raises ValueError: on a bad array or encoding.
    """
    _check_plane(depth_m, 'depth_m')
    if not (np.issubdtype(depth_m.dtype, np.floating) or np.issubdtype(depth_m.dtype, np.integer)):
        raise ValueError('depth_m.dtype: expected a real numeric type, got %s' % depth_m.dtype)
    height, width = depth_m.shape
    depth = depth_m.astype(np.float32, copy=False)
    valid = DepthRange().valid(depth)
    scale = valid.astype(np.float32)
    if encoding == '32FC1':
        payload = zeroed_bytes(height * width * 4)
        out = writable_view(payload, np.float32).reshape(height, width)
        # (d * 1) / 1 == d exactly; (d * 0) / 0 is NaN for every invalid d, no masked copy.
        with np.errstate(invalid='ignore', divide='ignore'):
            np.multiply(depth, scale, out=out)
            np.divide(out, scale, out=out)
        return _image_message(header, '32FC1', height, width, 4, payload), 0
    if encoding == '16UC1':
        # Beyond 3.4e35 m the product overflows to inf, which is clipped and counted below.
        with np.errstate(over='ignore'):
            millimetres = np.multiply(depth, np.float32(1000.0), dtype=np.float32)
        np.rint(millimetres, out=millimetres)
        np.copyto(millimetres, 0.0, where=~valid)
        over = millimetres > _UINT16_MAX_MM
        n_clipped = int(np.count_nonzero(over))
        if n_clipped:
            millimetres[over] = _UINT16_MAX_MM
        payload = zeroed_bytes(height * width * 2)
        out = writable_view(payload, np.uint16).reshape(height, width)
        np.copyto(out, millimetres, casting='unsafe')
        return _image_message(header, '16UC1', height, width, 2, payload), n_clipped
    raise ValueError("encoding: expected '32FC1' or '16UC1' for depth, got %r" % (encoding,))


def mask_to_image(mask, header):
    """
    Encode a boolean mask as a mono8 sensor_msgs/Image (255 where True, 0 elsewhere).

    :param mask: (H, W) bool (or numeric: non-zero is True).
    :param header: std_msgs/Header for the message (copied), or None.
    :return: sensor_msgs/Image in mono8.
    :raises ValueError: on a bad array.
    """
    _check_plane(mask, 'mask')
    height, width = mask.shape
    payload = zeroed_bytes(height * width)
    out = writable_view(payload).reshape(height, width)
    np.multiply(mask.astype(bool, copy=False).view(np.uint8), np.uint8(255), out=out)
    return _image_message(header, 'mono8', height, width, 1, payload)


def confidence_to_image(confidence, header):
    """
    Encode a probability map as a 32FC1 sensor_msgs/Image (values clipped to [0, 1]).

    :param confidence: (H, W) float probabilities.
    :param header: std_msgs/Header for the message (copied), or None.
    :return: sensor_msgs/Image in 32FC1.
    """
    _check_plane(confidence, 'confidence')
    height, width = confidence.shape
    payload = zeroed_bytes(height * width * 4)
    out = writable_view(payload, np.float32).reshape(height, width)
    np.clip(confidence, 0.0, 1.0, out=out)
    return _image_message(header, '32FC1', height, width, 4, payload)


def rgb_to_image(rgb, header):
    """
    Encode an RGB uint8 (H, W, 3) array as an rgb8 sensor_msgs/Image.

    :param rgb: uint8 (H, W, 3) colour in RGB order.
    :param header: std_msgs/Header for the message (copied), or None.
    :return: sensor_msgs/Image in rgb8.
    :raises ValueError: on a bad array or dtype.
    """
    _check_plane(rgb, 'rgb', channels=3)
    if rgb.dtype != np.uint8:
        raise ValueError('rgb.dtype: expected uint8, got %s' % rgb.dtype)
    height, width = rgb.shape[:2]
    return _image_message(header, 'rgb8', height, width, 3, payload_from_array(rgb))


@dataclass
class CameraModel:
    """Pinhole camera at one image size: pixel intrinsics, distortion and frame."""

    K: np.ndarray
    width: int
    height: int
    distortion_model: str = ''
    D: np.ndarray = field(default_factory=lambda: np.zeros(0))
    frame_id: str = ''


def _info_size(msg):
    """Return (width, height) of a CameraInfo, raising ValueError on a zero size."""
    width, height = int(msg.width), int(msg.height)
    if width <= 0 or height <= 0:
        raise ValueError('camera_info width x height: expected a non-empty size, got %d x %d'
                         % (width, height))
    return width, height


def _target_size(width, height):
    """Validate a requested (width, height)."""
    for name, value in (('width', width), ('height', height)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
            raise ValueError('%s: expected a positive integer, got %r' % (name, value))
    return int(width), int(height)


def camera_info_to_model(msg, width=None, height=None):
    """
    Read pixel intrinsics, distortion and frame from a sensor_msgs/CameraInfo.

    :param msg: sensor_msgs/CameraInfo.
    :param width: width of the image the model is for; None means the camera_info's own
        size divided by its binning.
    :param height: height of that image (given together with ``width``).
    :return: :class:`CameraModel` with K rescaled to (width, height) when the image is a
        uniformly scaled version of the calibrated one (binning, a resized stream).
    :raises ValueError: on a zero / NaN / negative focal length, a zero size, only one of
        width and height, or sizes that differ by different factors in x and y.
    """
    info_width, info_height = _info_size(msg)
    K = check_intrinsics(np.asarray(msg.k, dtype=np.float64).reshape(-1), 'camera_info.k')
    if width is None and height is None:
        width = info_width // max(int(msg.binning_x), 1)
        height = info_height // max(int(msg.binning_y), 1)
    elif width is None or height is None:
        raise ValueError('width, height: expected both or neither, got %r, %r' % (width, height))
    width, height = _target_size(width, height)
    sx, sy = width / info_width, height / info_height
    # Integer binning of an odd size rounds down, so allow one pixel of disagreement.
    if abs(sx * info_height - height) > 1 or abs(sy * info_width - width) > 1:
        raise ValueError(
            'image size: expected a uniform rescale of camera_info %d x %d, got %d x %d '
            '(x factor %.4f, y factor %.4f)' % (info_width, info_height, width, height, sx, sy))
    if (width, height) != (info_width, info_height):
        # A hostile or corrupt focal length can under- or overflow when scaled.
        K = check_intrinsics(scale_intrinsics(K, sx, sy),
                             'camera_info.k scaled to %d x %d' % (width, height))
    return CameraModel(K=K, width=width, height=height,
                       distortion_model=str(msg.distortion_model),
                       D=np.array(msg.d, dtype=np.float64),
                       frame_id=str(msg.header.frame_id))


def camera_info_at_size(msg, width, height, header=None):
    """
    Return a copy of a CameraInfo describing the same camera at another image size.

    K and P are scaled per axis (fx, cx, Tx by width / msg.width; fy, cy, Ty by height /
    msg.height), binning is reset to 0 and the ROI scaled; D and R are unchanged.

    :param msg: sensor_msgs/CameraInfo.
    :param width: new image width.
    :param height: new image height.
    :param header: std_msgs/Header for the copy, or None to keep the original's.
    :return: new sensor_msgs/CameraInfo.
    :raises ValueError: on a zero size in ``msg`` or a bad target size.
    """
    info_width, info_height = _info_size(msg)
    width, height = _target_size(width, height)
    sx, sy = width / info_width, height / info_height
    scale = np.array([[sx], [sy], [1.0]])
    out = new_message(CameraInfo)
    out.header = copy_header(msg.header if header is None else header)
    out.width, out.height = width, height
    out.distortion_model = msg.distortion_model
    out.d = array.array('d', np.asarray(msg.d, dtype=np.float64).tolist())
    out.k = (np.asarray(msg.k, dtype=np.float64).reshape(3, 3) * scale).reshape(9)
    out.r = np.array(msg.r, dtype=np.float64)
    out.p = (np.asarray(msg.p, dtype=np.float64).reshape(3, 4) * scale).reshape(12)
    out.binning_x = out.binning_y = 0
    roi = msg.roi
    out.roi = RegionOfInterest(x_offset=int(round(roi.x_offset * sx)),
                               y_offset=int(round(roi.y_offset * sy)),
                               width=int(round(roi.width * sx)),
                               height=int(round(roi.height * sy)),
                               do_rectify=bool(roi.do_rectify))
    return out
