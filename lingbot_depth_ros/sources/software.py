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
A RealSense camera made of software: pyrealsense2's ``software_device`` fed with arrays.

It has a colour sensor (rgb8) and a depth sensor (Z16 with its depth units) at given sizes
and intrinsics, and identity extrinsics between them. :meth:`SoftwareCamera.inject` hands
one colour and one depth image with a timestamp to librealsense, which then delivers them
to :class:`~lingbot_depth_ros.sources.realsense.RealSenseSource` exactly as frames of a USB
camera. The tests, the camera benchmark and ``lingbot-depth capture --camera software``-style
experiments use it instead of hardware.
"""

import collections
from typing import Optional

from lingbot_depth_ros.sources.realsense import import_sdk
import numpy as np

# Frames whose pixel buffers stay referenced: librealsense reads them after inject returns.
KEPT_FRAMES = 16


def _intrinsics(rs, K: np.ndarray, width: int, height: int):
    intr = rs.intrinsics()
    intr.width, intr.height = int(width), int(height)
    intr.fx, intr.fy = float(K[0, 0]), float(K[1, 1])
    intr.ppx, intr.ppy = float(K[0, 2]), float(K[1, 2])
    intr.model = rs.distortion.brown_conrady
    intr.coeffs = [0.0] * 5
    return intr


class SoftwareCamera:
    """A pyrealsense2 software_device with one colour and one depth stream."""

    def __init__(self, K: np.ndarray, width: int, height: int, fps: int = 30,
                 depth_K: Optional[np.ndarray] = None, depth_size=None,
                 depth_units: float = 0.001, serial: str = '000000000001'):
        """
        Build the device.

        :param K: 3x3 colour intrinsics.
        :param width: colour width.
        :param height: colour height.
        :param fps: frame rate of both streams.
        :param depth_K: 3x3 depth intrinsics (default: the colour ones).
        :param depth_size: (width, height) of depth (default: the colour size).
        :param depth_units: metres per Z16 unit.
        :param serial: the serial number the device reports.
        """
        rs = self._rs = import_sdk()
        K = np.asarray(K, dtype=np.float64)
        depth_K = K if depth_K is None else np.asarray(depth_K, dtype=np.float64)
        self.depth_size = tuple(depth_size or (width, height))
        self.size = (int(width), int(height))
        self.depth_units = float(depth_units)
        self.device = rs.software_device()
        self.device.register_info(rs.camera_info.name, 'Software RealSense')
        self.device.register_info(rs.camera_info.serial_number, serial)
        self._depth_sensor = self.device.add_sensor('Stereo Module')
        self._colour_sensor = self.device.add_sensor('RGB Camera')
        self._depth_profile = self._add(self._depth_sensor, rs.stream.depth, rs.format.z16, 2,
                                        depth_K, self.depth_size, fps, uid=0)
        self._depth_sensor.add_read_only_option(rs.option.depth_units, self.depth_units)
        self._colour_profile = self._add(self._colour_sensor, rs.stream.color, rs.format.rgb8,
                                         3, K, self.size, fps, uid=1)
        extrinsics = rs.extrinsics()
        extrinsics.rotation = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
        extrinsics.translation = [0.0, 0.0, 0.0]
        self._depth_profile.register_extrinsics_to(self._colour_profile, extrinsics)
        self._kept = collections.deque(maxlen=KEPT_FRAMES)
        self._number = 0

    def _add(self, sensor, stream, fmt, bpp, K, size, fps, uid):
        rs = self._rs
        spec = rs.video_stream()
        spec.type, spec.fmt, spec.bpp = stream, fmt, bpp
        spec.index, spec.uid = 0, uid
        spec.width, spec.height, spec.fps = int(size[0]), int(size[1]), int(fps)
        spec.intrinsics = _intrinsics(rs, K, size[0], size[1])
        return sensor.add_video_stream(spec)

    def inject(self, rgb: np.ndarray, depth: np.ndarray, timestamp_ms: float,
               hardware_clock: bool = False) -> None:
        """
        Deliver one depth and one colour frame with the same timestamp.

        :param rgb: uint8 HxWx3 at the colour size.
        :param depth: uint16 Z16 image at the depth size, in depth units.
        :param timestamp_ms: the frames' timestamp in ms (host-clock ms since the epoch,
            or device-clock ms with ``hardware_clock``).
        :param hardware_clock: stamp in the hardware_clock domain instead of global_time.
        :raises ValueError: for arrays of the wrong type or size.
        """
        rs = self._rs
        rgb = np.ascontiguousarray(rgb)
        depth = np.ascontiguousarray(depth)
        if rgb.dtype != np.uint8 or rgb.shape != (self.size[1], self.size[0], 3):
            raise ValueError('rgb: expected uint8 %dx%dx3, got %s %s'
                             % (self.size[1], self.size[0], rgb.dtype, rgb.shape))
        if depth.dtype != np.uint16 or depth.shape != self.depth_size[::-1]:
            raise ValueError('depth: expected uint16 %dx%d, got %s %s'
                             % (self.depth_size[1], self.depth_size[0], depth.dtype,
                                depth.shape))
        domain = rs.timestamp_domain.hardware_clock if hardware_clock else \
            rs.timestamp_domain.global_time
        self._kept.append((rgb, depth))
        for sensor, profile, pixels in ((self._depth_sensor, self._depth_profile, depth),
                                        (self._colour_sensor, self._colour_profile, rgb)):
            frame = rs.software_video_frame()
            frame.pixels = pixels
            frame.bpp = pixels.itemsize * (pixels.shape[2] if pixels.ndim == 3 else 1)
            frame.stride = pixels.shape[1] * frame.bpp
            frame.timestamp = float(timestamp_ms)
            frame.domain = domain
            frame.frame_number = self._number
            frame.profile = profile.as_video_stream_profile()
            if pixels is depth:
                frame.depth_units = self.depth_units
            sensor.on_video_frame(frame)
        self._number += 1
