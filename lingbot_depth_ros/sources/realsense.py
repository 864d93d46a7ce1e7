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
Intel RealSense through pyrealsense2 (librealsense).

The colour and depth sensors are opened at the requested profile and started with
callbacks; colour and depth frames are paired by timestamp (within half a frame period),
put together as one frameset and aligned to colour by ``rs.align`` (the SDK reprojects depth
with the factory calibration). Intrinsics come from the colour stream, the depth units
from the depth frame. ``global_time`` / ``system_time`` timestamps are host-clock ms since
the epoch and become ROS time as they are; ``hardware_clock`` ones are mapped with an offset
(``StampMapper``).

The sensors are driven directly rather than through ``rs.pipeline`` so that a
``software_device`` (frames injected by the tests, the benchmark or a user's own capture
code) runs exactly the code a USB camera runs: librealsense 2.59 does not list a software
device in a context, which a pipeline needs.
"""

import collections
import queue
import threading
import time
from typing import Callable, List, Optional

from lingbot_depth_ros.sources.base import (CameraFrame, CameraSource, DeviceBusy, NoDevice,
                                            Profile, SdkMissing, SourceError, StampMapper,
                                            UnsupportedProfile)
import numpy as np

# Frames waiting per stream for a partner, and pairs waiting for read(): the newest win.
PENDING = 4
QUEUED_PAIRS = 2


def import_sdk():
    """
    Import pyrealsense2.

    :return: the module.
    :raises SdkMissing: saying what to install.
    """
    try:
        import pyrealsense2 as rs
    except ImportError as error:
        if 'libusb' in str(error):
            raise SdkMissing('pyrealsense2 needs the system library libusb-1.0 (%s): install '
                             'it, e.g. apt-get install libusb-1.0-0' % error) from None
        raise SdkMissing('pyrealsense2 is not installed (%s): pip install pyrealsense2'
                         % error) from None
    return rs


def _profiles(sensor, rs, stream) -> List[object]:
    return [p.as_video_stream_profile() for p in sensor.get_stream_profiles()
            if p.stream_type() == stream and p.is_video_stream_profile()]


def _size(profile) -> str:
    return '%dx%dx%d' % (profile.width(), profile.height(), profile.fps())


def _registered(colour, depth) -> bool:
    """Return True when a depth profile is already registered to the colour profile."""
    a, b = colour.get_intrinsics(), depth.get_intrinsics()
    same = ((a.width, a.height, a.fx, a.fy, a.ppx, a.ppy)
            == (b.width, b.height, b.fx, b.fy, b.ppx, b.ppy))
    try:
        extrinsics = depth.get_extrinsics_to(colour)
    except RuntimeError:
        return False
    identity = np.allclose(np.reshape(extrinsics.rotation, (3, 3)), np.eye(3)) and \
        np.allclose(extrinsics.translation, 0.0)
    return same and identity


class RealSenseSource(CameraSource):
    """A RealSense camera (or a pyrealsense2 software_device) as a CameraSource."""

    camera = 'realsense'

    def __init__(self, serial: str = '', profile: Profile = Profile(640, 480, 30),
                 frame_id: str = 'camera_color_optical_frame',
                 device_factory: Optional[Callable[[], object]] = None,
                 clock: Callable[[], int] = time.time_ns):
        """
        Describe the camera to open (nothing is opened yet).

        :param serial: serial number; empty: the first camera found.
        :param profile: colour size and frame rate; depth streams at the same rate.
        :param frame_id: optical frame of the colour camera, for the frames' frame_id.
        :param device_factory: returns the ``rs.device`` to open instead of looking for USB
            cameras (a ``software_device``); called again on every reconnect.
        :param clock: host clock in ns for device-clock timestamps.
        """
        self.serial = str(serial or '')
        self.profile = profile
        self.frame_id = frame_id
        self._factory = device_factory
        self._stamps = StampMapper(clock)
        self._rs = None
        self._device = None
        self._sensors = []
        self._lock = threading.Lock()
        self._colour = collections.deque(maxlen=PENDING)
        self._depth = collections.deque(maxlen=PENDING)
        self._pairs: queue.Queue = queue.Queue(maxsize=QUEUED_PAIRS)
        self.dropped = 0
        self.name = ''
        self.registered = False

    # Opening ------------------------------------------------------------------------------
    def _find_device(self, rs):
        if self._factory is not None:
            return self._factory()
        devices = list(rs.context().query_devices())
        if not devices:
            raise NoDevice('no RealSense camera found: is it plugged in (USB 3) and are the '
                           'librealsense udev rules installed?')
        if not self.serial:
            return devices[0]
        serials = [d.get_info(rs.camera_info.serial_number) for d in devices]
        if self.serial not in serials:
            raise NoDevice('no RealSense camera with serial %s; found %s'
                           % (self.serial, ', '.join(serials)))
        return devices[serials.index(self.serial)]

    def _choose(self, rs, device):
        colour = depth = None
        for sensor in device.query_sensors():
            if depth is None and sensor.is_depth_sensor():
                depth = sensor
            elif colour is None and _profiles(sensor, rs, rs.stream.color):
                colour = sensor
        if colour is None or depth is None:
            raise UnsupportedProfile('the RealSense camera %s has no %s sensor' % (
                self.name, 'colour' if colour is None else 'depth'))
        want = self.profile
        colour_profiles = _profiles(colour, rs, rs.stream.color)
        matches = [p for p in colour_profiles if p.format() in (rs.format.rgb8, rs.format.bgr8)
                   and (p.width(), p.height(), p.fps()) == (want.width, want.height, want.fps)]
        depth_profiles = [p for p in _profiles(depth, rs, rs.stream.depth)
                          if p.format() == rs.format.z16 and p.fps() == want.fps]
        if not matches or not depth_profiles:
            offered = sorted({_size(p) for p in colour_profiles}, key=lambda s: [
                int(v) for v in s.split('x')])
            raise UnsupportedProfile('the RealSense camera %s has no %s stream at %s; '
                                     'colour profiles: %s' % (
                                         self.name, 'depth' if matches else 'colour', want,
                                         ', '.join(offered) or 'none'))
        matches.sort(key=lambda p: p.format() != rs.format.rgb8)
        # Depth at the colour size when offered, else the largest at the frame rate.
        depth_profiles.sort(key=lambda p: ((p.width(), p.height()) != (want.width, want.height),
                                           -p.width()))
        return (colour, matches[0]), (depth, depth_profiles[0])

    def open(self) -> None:  # noqa: A003 - the SDKs' word
        """
        Open the camera and start the colour and depth streams.

        :raises SdkMissing, NoDevice, DeviceBusy, UnsupportedProfile, SourceError: with
            one line saying what is wrong.
        """
        rs = self._rs = import_sdk()
        device = self._find_device(rs)
        self.name = '%s (serial %s)' % (device.get_info(rs.camera_info.name),
                                        device.get_info(rs.camera_info.serial_number)) \
            if device.supports(rs.camera_info.serial_number) else 'device'
        streams = self._choose(rs, device)
        self.registered = _registered(streams[0][1], streams[1][1])
        self._device = device
        self._align = rs.align(rs.stream.color)
        self._composed = rs.frame_queue(1, keep_frames=True)
        self._partner = [None]
        self._composer = rs.processing_block(self._compose)
        self._composer.start(self._composed)
        self._stamps.reset()
        for sensor, profile in streams:
            try:
                sensor.open(profile)
                sensor.start(self._on_frame)
            except RuntimeError as error:
                self.close()
                text = str(error)
                # USB: 'errno=16 ... Device or resource busy'; a software device: 'is
                # streaming'. Both mean that another process or source holds the camera.
                if any(key in text.lower() for key in ('busy', 'errno=16', 'is streaming')):
                    raise DeviceBusy('the RealSense camera %s is busy: another process (a '
                                     'driver node, realsense-viewer) has it open' % self.name
                                     ) from None
                raise SourceError('cannot start %s at %s: %s'
                                  % (self.name, _size(profile), text)) from None
            self._sensors.append(sensor)

    def close(self) -> None:
        """Stop the streams and release the camera (safe to call twice)."""
        sensors, self._sensors = self._sensors, []
        for sensor in sensors:
            for step in (sensor.stop, sensor.close):
                try:
                    step()
                except RuntimeError:
                    pass  # already stopped, or the camera is gone (unplugged)
        with self._lock:
            self._colour.clear()
            self._depth.clear()
        while not self._pairs.empty():
            self._pairs.get_nowait()
        self._device = None

    # Frames -------------------------------------------------------------------------------
    def _on_frame(self, frame) -> None:
        # librealsense's callback thread: keep the frame beyond the callback, pair, hand over.
        frame.keep()
        rs = self._rs
        with self._lock:
            if frame.profile.stream_type() == rs.stream.color:
                self._colour.append(frame)
            else:
                self._depth.append(frame)
            pair = self._match()
        if pair is not None:
            try:
                self._pairs.put_nowait(pair)
            except queue.Full:
                self._pairs.get_nowait()
                self.dropped += 1
                self._pairs.put_nowait(pair)

    def _match(self):
        tolerance_ms = 500.0 / self.profile.fps
        for colour in reversed(self._colour):
            stamp = colour.get_timestamp()
            best = min(self._depth, default=None,
                       key=lambda d: abs(d.get_timestamp() - stamp))
            if best is not None and abs(best.get_timestamp() - stamp) <= tolerance_ms:
                # Older colour frames than this one can only pair worse: drop them.
                while self._colour and self._colour[0] is not colour:
                    self._colour.popleft()
                    self.dropped += 1
                self._colour.popleft()
                while self._depth and self._depth[0] is not best:
                    self._depth.popleft()
                self._depth.popleft()
                return colour, best
        return None

    def _compose(self, colour, source) -> None:
        source.frame_ready(source.allocate_composite_frame([self._partner[0], colour]))

    def read(self, timeout_s: float = 1.0) -> Optional[CameraFrame]:
        """
        Return the next colour frame with its depth aligned to it.

        :param timeout_s: seconds to wait.
        :return: the frame, or None when none arrived in time (also after an unplug).
        :raises SourceError: when the source is not open.
        """
        if self._device is None:
            raise SourceError('the RealSense source is not open')
        try:
            colour, depth = self._pairs.get(timeout=timeout_s)
        except queue.Empty:
            return None
        rs = self._rs
        self._partner[0] = depth
        self._composer.invoke(colour)
        frameset = self._composed.wait_for_frame(int(max(timeout_s, 1.0) * 1000))
        self._partner[0] = None
        frameset = frameset.as_frameset()
        # rs.align on a depth stream already registered to colour would only add rounding
        # holes (columns of zeros at identical intrinsics): such streams are used as they are.
        aligned = frameset if self.registered else self._align.process(frameset)
        colour_out, depth_out = aligned.get_color_frame(), aligned.get_depth_frame()
        rgb = np.array(colour_out.get_data(), dtype=np.uint8, copy=True)
        if colour_out.profile.format() == rs.format.bgr8:
            rgb = np.ascontiguousarray(rgb[..., ::-1])
        units = float(depth_out.get_units())
        metres = np.asarray(depth_out.get_data(), dtype=np.uint16).astype(np.float32) * \
            np.float32(units)
        intr = colour_out.profile.as_video_stream_profile().get_intrinsics()
        K = np.array([[intr.fx, 0.0, intr.ppx], [0.0, intr.fy, intr.ppy], [0.0, 0.0, 1.0]])
        return CameraFrame(rgb=rgb, depth=metres, K=K, stamp_ns=self.stamp_ns(colour_out),
                           frame_id=self.frame_id, depth_units=units)

    def stamp_ns(self, frame) -> int:
        """
        Return the ROS time of a frame.

        :param frame: an ``rs.frame``.
        :return: ns since the UNIX epoch.
        """
        rs = self._rs
        stamp_ns = int(round(frame.get_timestamp() * 1e6))
        if frame.get_frame_timestamp_domain() in (rs.timestamp_domain.global_time,
                                                  rs.timestamp_domain.system_time):
            return self._stamps.host(stamp_ns)
        return self._stamps.device(stamp_ns)
