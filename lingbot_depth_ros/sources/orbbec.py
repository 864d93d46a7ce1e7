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
Orbbec cameras (Femto, Gemini, Astra 2) through pyorbbecsdk2 (Orbbec SDK v2).

The PyPI ``pyorbbecsdk`` 1.3.2 wheel ships only a macOS library and cannot import on
Linux; ``pyorbbecsdk2`` (imported as ``pyorbbecsdk``) is the one to install, with
``pip install --no-deps pyorbbecsdk2`` (its declared dependencies are the SDK examples'
open3d, pygame, ...). A pipeline streams colour (RGB) and depth (Y16) at the profile; the
SDK's ``AlignFilter`` registers depth to colour. :func:`frames_to_arrays` turns the SDK's
frame objects into the arrays of a :class:`CameraFrame`; it is pure (no device) and tested
on frames made with ``Frame.create_video_frame``. The device path (open, read) is not run
without a camera.
"""

import time
from typing import Callable, Optional, Tuple

from lingbot_depth_ros.sources.base import (CameraFrame, CameraSource, DeviceBusy, NoDevice,
                                            Profile, SdkMissing, SourceError, StampMapper,
                                            UnsupportedProfile)
import numpy as np

NS_PER_US = 1000
# Colour formats the conversion decodes (as named by the SDK's OBFormat).
RGB_FORMATS = ('RGB', 'BGR', 'RGBA', 'BGRA')


def import_sdk():
    """
    Import the Orbbec SDK v2 Python module.

    :return: the ``pyorbbecsdk`` module.
    :raises SdkMissing: saying what to install.
    """
    try:
        import pyorbbecsdk as ob
    except ImportError as error:
        raise SdkMissing('the Orbbec SDK is not installed (%s): pip install --no-deps '
                         'pyorbbecsdk2 (the pyorbbecsdk 1.3.2 wheel on PyPI is macOS only)'
                         % error) from None
    if not hasattr(ob, 'AlignFilter'):
        raise SdkMissing('pyorbbecsdk %s is the SDK v1 wrapper: install pyorbbecsdk2'
                         % getattr(ob, '__version__', '?'))
    return ob


def _sdk_errors(ob) -> tuple:
    # The SDK raises its own OBError (an Exception) and RuntimeError.
    return (RuntimeError, getattr(ob, 'OBError', RuntimeError))


def _format_name(frame) -> str:
    return str(frame.get_format()).rsplit('.', 1)[-1]


def frames_to_arrays(colour, depth) -> Tuple[np.ndarray, np.ndarray, float]:
    """
    Convert an SDK colour frame and a depth frame registered to it into arrays.

    :param colour: a ``pyorbbecsdk`` VideoFrame / ColorFrame in RGB, BGR, RGBA or BGRA.
    :param depth: a DepthFrame in Y16 (or Z16) at the colour size; its ``get_depth_scale``
        is millimetres per unit.
    :return: ``(rgb uint8 HxWx3, depth float32 HxW metres with 0 for no measurement,
        metres per raw unit)``.
    :raises ValueError: for an undecodable format or sizes that do not match.
    """
    width, height = colour.get_width(), colour.get_height()
    name = _format_name(colour)
    if name not in RGB_FORMATS:
        raise ValueError('colour: expected one of %s frames, got %s (configure the colour '
                         'stream as RGB)' % (', '.join(RGB_FORMATS), name))
    channels = 4 if name.endswith('A') else 3
    data = np.asarray(colour.get_data(), dtype=np.uint8)
    if data.size != width * height * channels:
        raise ValueError('colour: expected %d bytes for %dx%d %s, got %d'
                         % (width * height * channels, width, height, name, data.size))
    pixels = data.reshape(height, width, channels)[..., :3]
    rgb = np.ascontiguousarray(pixels[..., ::-1] if name.startswith('BGR') else pixels)
    if _format_name(depth) not in ('Y16', 'Z16'):
        raise ValueError('depth: expected Y16 or Z16 frames, got %s' % _format_name(depth))
    if (depth.get_width(), depth.get_height()) != (width, height):
        raise ValueError('depth: expected the colour size %dx%d (aligned), got %dx%d'
                         % (width, height, depth.get_width(), depth.get_height()))
    raw = np.frombuffer(np.asarray(depth.get_data(), dtype=np.uint8).tobytes(),
                        dtype='<u2').reshape(height, width)
    units = float(depth.get_depth_scale()) * 1e-3
    return rgb, raw.astype(np.float32) * np.float32(units), units


def frame_stamp_ns(frame, stamps: StampMapper) -> int:
    """
    Return the ROS time of an SDK frame.

    :param frame: a pyorbbecsdk frame.
    :param stamps: maps device-clock timestamps to host time.
    :return: the global (device clock synchronised to the host) timestamp when the device
        provides one, else the device timestamp mapped with an offset.
    """
    global_us = int(frame.get_global_timestamp_us() or 0)
    if global_us > 0:
        return stamps.host(global_us * NS_PER_US)
    return stamps.device(int(frame.get_timestamp_us()) * NS_PER_US)


class OrbbecSource(CameraSource):
    """An Orbbec camera as a CameraSource (Orbbec SDK v2)."""

    camera = 'orbbec'

    def __init__(self, serial: str = '', profile: Profile = Profile(640, 480, 30),
                 frame_id: str = 'camera_color_optical_frame',
                 clock: Callable[[], int] = time.time_ns):
        """
        Describe the camera to open (nothing is opened yet).

        :param serial: serial number; empty: the first camera found.
        :param profile: colour size and frame rate.
        :param frame_id: optical frame of the colour camera.
        :param clock: host clock in ns for device-clock timestamps.
        """
        self.serial = str(serial or '')
        self.profile = profile
        self.frame_id = frame_id
        self._stamps = StampMapper(clock)
        self._pipeline = None
        self._K = None

    def _device(self, ob):
        devices = ob.Context().query_devices()
        count = devices.get_count()
        if count == 0:
            raise NoDevice('no Orbbec camera found: is it plugged in and are the Orbbec udev '
                           'rules installed?')
        if not self.serial:
            return devices.get_device_by_index(0)
        serials = [devices.get_device_serial_number_by_index(i) for i in range(count)]
        if self.serial not in serials:
            raise NoDevice('no Orbbec camera with serial %s; found %s'
                           % (self.serial, ', '.join(serials)))
        return devices.get_device_by_serial_number(self.serial)

    def _profile(self, pipeline, ob, sensor, fmt):
        want = self.profile
        try:
            return pipeline.get_stream_profile_list(sensor).get_video_stream_profile(
                want.width, want.height, fmt, want.fps)
        except _sdk_errors(ob):
            raise UnsupportedProfile('the Orbbec camera has no %s stream at %s'
                                     % (str(sensor).rsplit('.', 1)[-1], want)) from None

    def open(self) -> None:  # noqa: A003 - the SDKs' word
        """
        Open the camera and start the colour and depth streams.

        :raises SdkMissing, NoDevice, DeviceBusy, UnsupportedProfile, SourceError: with
            one line saying what is wrong.
        """
        ob = import_sdk()
        device = self._device(ob)
        try:
            pipeline = ob.Pipeline(device)
        except _sdk_errors(ob) as error:
            if 'busy' in str(error).lower() or 'access' in str(error).lower():
                raise DeviceBusy('the Orbbec camera is busy: another process has it open (%s)'
                                 % error) from None
            raise SourceError('cannot open the Orbbec camera: %s' % error) from None
        config = ob.Config()
        colour = self._profile(pipeline, ob, ob.OBSensorType.COLOR_SENSOR, ob.OBFormat.RGB)
        depth = self._profile(pipeline, ob, ob.OBSensorType.DEPTH_SENSOR, ob.OBFormat.Y16)
        config.enable_stream(colour)
        config.enable_stream(depth)
        self._align = ob.AlignFilter(align_to_stream=ob.OBStreamType.COLOR_STREAM)
        intr = colour.get_intrinsic()
        self._K = np.array([[intr.fx, 0.0, intr.cx], [0.0, intr.fy, intr.cy],
                            [0.0, 0.0, 1.0]])
        try:
            pipeline.enable_frame_sync()
            pipeline.start(config)
        except _sdk_errors(ob) as error:
            raise SourceError('cannot start the Orbbec camera at %s: %s'
                              % (self.profile, error)) from None
        self._stamps.reset()
        self._pipeline = pipeline

    def read(self, timeout_s: float = 1.0) -> Optional[CameraFrame]:
        """
        Return the next colour frame with its depth aligned to it.

        :param timeout_s: seconds to wait.
        :return: the frame, or None when none arrived in time.
        :raises SourceError: when the source is not open.
        """
        if self._pipeline is None:
            raise SourceError('the Orbbec source is not open')
        frames = self._pipeline.wait_for_frames(int(timeout_s * 1000))
        if frames is None or frames.get_color_frame() is None or \
                frames.get_depth_frame() is None:
            return None
        aligned = self._align.process(frames)
        aligned = aligned.as_frame_set() if aligned is not None else frames
        colour, depth = aligned.get_color_frame(), aligned.get_depth_frame()
        rgb, metres, units = frames_to_arrays(colour, depth)
        return CameraFrame(rgb=rgb, depth=metres, K=self._K.copy(),
                           stamp_ns=frame_stamp_ns(colour, self._stamps),
                           frame_id=self.frame_id, depth_units=units)

    def close(self) -> None:
        """Stop the pipeline (safe to call twice)."""
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            try:
                pipeline.stop()
            except Exception:  # noqa: B902 - the SDK's OBError or RuntimeError
                pass  # the camera is gone (unplugged)
