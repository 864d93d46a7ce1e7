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
Camera SDK sources: RGB-D frames straight from a camera SDK, without ROS.

A source opens one camera (by serial number, or the first one found), streams colour and
depth at a profile such as ``640x480x30``, has the SDK align depth to colour, and returns
:class:`CameraFrame` objects: the arrays the frame path decodes from messages, with the
stamp mapped to ROS time (nanoseconds since the UNIX epoch, the system clock). The SDKs are
imported only when a source opens, so this package imports without them.
"""

from dataclasses import dataclass
import re
import time
from typing import Callable, Optional

import numpy as np

NS_PER_MS = 1_000_000
CAMERAS = ('realsense', 'orbbec')
_PROFILE = re.compile(r'^\s*(\d+)\s*x\s*(\d+)\s*x\s*(\d+)\s*$')


class SourceError(RuntimeError):
    """A camera that cannot be opened or read; ``str()`` is one line for the user."""


class SdkMissing(SourceError):
    """The camera's Python SDK (or a system library it needs) is not installed."""


class NoDevice(SourceError):
    """No camera found, or none with the requested serial number."""


class DeviceBusy(SourceError):
    """The camera is in use by another process."""


class UnsupportedProfile(SourceError):
    """The camera has no colour / depth stream at the requested profile."""


@dataclass(frozen=True)
class Profile:
    """A stream profile: colour size and frame rate."""

    width: int
    height: int
    fps: int

    def __str__(self) -> str:
        """Return ``WIDTHxHEIGHTxFPS``."""
        return '%dx%dx%d' % (self.width, self.height, self.fps)


def parse_profile(text: str) -> Profile:
    """
    Parse a profile such as ``640x480x30`` (width x height x frames per second).

    :param text: the profile.
    :return: the Profile.
    :raises ValueError: naming the expected form.
    """
    match = _PROFILE.match(str(text))
    if match is None or min(int(v) for v in match.groups()) < 1:
        raise ValueError('profile: expected WIDTHxHEIGHTxFPS such as 640x480x30, got %r'
                         % (text,))
    return Profile(*(int(v) for v in match.groups()))


@dataclass
class CameraFrame:
    """
    One RGB-D frame from a camera SDK.

    :ivar rgb: uint8 HxWx3 colour (RGB order).
    :ivar depth: float32 HxW metres aligned to the colour image, 0 where there is no
        measurement.
    :ivar K: float64 3x3 pixel intrinsics of the colour image.
    :ivar stamp_ns: capture time of the colour image in ROS time (ns since the UNIX epoch).
    :ivar frame_id: the colour camera's optical frame.
    :ivar depth_units: metres per unit of the camera's raw depth (``depth * units`` before
        conversion), kept so the raw depth can be republished as 16UC1.
    """

    rgb: np.ndarray
    depth: np.ndarray
    K: np.ndarray
    stamp_ns: int
    frame_id: str
    depth_units: float = 0.001


class CameraSource:
    """
    What every camera source does; use it as a context manager or call open / close.

    ``read`` returns the next frame, or None when none came within the timeout (a
    disconnected camera looks like that); ``reconnect`` closes and opens again.
    """

    camera = ''
    frame_id = 'camera_color_optical_frame'

    def open(self) -> None:  # noqa: A003 - the SDKs' word
        """Open the camera and start streaming."""
        raise NotImplementedError

    def read(self, timeout_s: float = 1.0) -> Optional[CameraFrame]:
        """
        Return the next frame.

        :param timeout_s: seconds to wait.
        :return: the frame, or None when none arrived in time.
        """
        raise NotImplementedError

    def close(self) -> None:
        """Stop streaming and release the camera (safe to call twice)."""
        raise NotImplementedError

    def reconnect(self) -> None:
        """Close and open again (after an unplug); raises as ``open``."""
        self.close()
        self.open()

    def __enter__(self):
        """Open the source."""
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        """Close the source."""
        self.close()


class StampMapper:
    """
    Map camera timestamps to ROS time.

    Timestamps already on the host clock (RealSense ``global_time`` / ``system_time``,
    Orbbec system or global timestamps) are taken as they are. Device-clock timestamps
    (hardware clock, arbitrary origin) get the offset to the host clock measured at the
    first frame, so their spacing is the camera's; the offset is measured again after a
    reconnect or when the device clock jumps back.
    """

    def __init__(self, clock: Callable[[], int] = time.time_ns):
        """
        Create the mapper.

        :param clock: host clock in ns (the ROS clock of a node without sim time).
        """
        self._clock = clock
        self._offset_ns: Optional[int] = None
        self._last_device_ns: Optional[int] = None

    def reset(self) -> None:
        """Forget the device clock offset (after a reconnect)."""
        self._offset_ns = self._last_device_ns = None

    def host(self, stamp_ns: int) -> int:
        """Return a host-clock timestamp unchanged (as int ns)."""
        return int(stamp_ns)

    def device(self, device_ns: int) -> int:
        """
        Map a device-clock timestamp to ROS time.

        :param device_ns: device clock in ns.
        :return: ROS time in ns.
        """
        device_ns = int(device_ns)
        if self._offset_ns is None or (self._last_device_ns is not None
                                       and device_ns < self._last_device_ns):
            self._offset_ns = self._clock() - device_ns
        self._last_device_ns = device_ns
        return device_ns + self._offset_ns


def create_source(camera: str, serial: str = '', profile: str = '640x480x30',
                  **options) -> CameraSource:
    """
    Create the source of a camera kind (not opened yet).

    :param camera: ``realsense`` or ``orbbec``.
    :param serial: serial number; empty: the first camera found.
    :param profile: ``WIDTHxHEIGHTxFPS``.
    :param options: further keyword arguments of the source class.
    :return: the source.
    :raises ValueError: for an unknown camera or a bad profile.
    """
    parsed = parse_profile(profile)
    if camera == 'realsense':
        from lingbot_depth_ros.sources.realsense import RealSenseSource
        return RealSenseSource(serial=serial, profile=parsed, **options)
    if camera == 'orbbec':
        from lingbot_depth_ros.sources.orbbec import OrbbecSource
        return OrbbecSource(serial=serial, profile=parsed, **options)
    raise ValueError('camera: expected one of %s, got %r' % (', '.join(CAMERAS), camera))
