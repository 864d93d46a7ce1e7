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
Camera SDK sources without hardware.

RealSense: pyrealsense2's software_device (``sources.software.SoftwareCamera``) injects
colour and Z16 frames; the source must return the injected arrays, intrinsics and stamps.
pyrealsense2 needs the system library libusb-1.0 (the Makefile set-up installs it); without
it these tests skip with that reason. Orbbec: the no-device error, and the conversion of
frames made with the SDK's own ``Frame.create_video_frame``.
"""

import time

from lingbot_depth_ros.sources import base
from lingbot_depth_ros.sources.base import (create_source, DeviceBusy, NoDevice, parse_profile,
                                            Profile, SdkMissing, StampMapper,
                                            UnsupportedProfile)
import numpy as np
import pytest


def _realsense():
    from lingbot_depth_ros.sources import realsense
    try:
        return realsense.import_sdk()
    except SdkMissing as error:
        pytest.skip(str(error))


K = np.array([[50.0, 0.0, 31.5], [0.0, 51.0, 23.5], [0.0, 0.0, 1.0]])
W, H = 64, 48


def _frame(seed, width=W, height=H):
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    depth = (800 + rng.integers(0, 3000, (height, width))).astype(np.uint16)
    depth[5:12, 7:20] = 0  # a hole: no return
    return rgb, depth


@pytest.fixture(name='camera')
def camera_fixture():
    """Return a factory of (SoftwareCamera, opened RealSenseSource); closed after the test."""
    _realsense()
    from lingbot_depth_ros.sources.realsense import RealSenseSource
    from lingbot_depth_ros.sources.software import SoftwareCamera
    opened = []

    def make(profile=Profile(W, H, 30), clock=time.time_ns, **camera_args):
        camera = SoftwareCamera(K,
                                profile.width, profile.height, fps=profile.fps, **camera_args)
        source = RealSenseSource(profile=profile, device_factory=lambda: camera.device,
                                 clock=clock)
        opened.append(source)
        source.open()
        return camera, source

    yield make
    for source in opened:
        source.close()


def test_parse_profile():
    assert parse_profile('640x480x30') == Profile(640, 480, 30)
    assert str(parse_profile(' 1280 x 720 x 15 ')) == '1280x720x15'
    for bad in ('640x480', '0x480x30', 'axbxc', ''):
        with pytest.raises(ValueError, match='profile: expected WIDTHxHEIGHTxFPS'):
            parse_profile(bad)
    with pytest.raises(ValueError, match='camera: expected one of realsense, orbbec'):
        create_source('kinect')


def test_stamp_mapper_keeps_device_spacing_and_remaps_after_a_jump_back():
    host = iter([5_000, 9_000])
    stamps = StampMapper(clock=lambda: next(host))
    assert stamps.device(100) == 5_000
    assert stamps.device(133) == 5_033
    assert stamps.device(50) == 9_000  # device clock reset: new offset
    assert stamps.host(123) == 123


def test_realsense_injected_frames_come_back_unchanged(camera):
    cam, source = camera()
    assert source.registered
    for index in range(4):
        rgb, depth = _frame(index)
        stamp_ms = time.time() * 1000.0
        cam.inject(rgb, depth, stamp_ms)
        frame = source.read(timeout_s=2.0)
        assert frame is not None
        np.testing.assert_array_equal(frame.rgb, rgb)
        assert frame.depth.dtype == np.float32 and frame.rgb.dtype == np.uint8
        np.testing.assert_array_equal(frame.depth, depth.astype(np.float32)
                                      * np.float32(frame.depth_units))
        assert frame.depth_units == pytest.approx(0.001)
        np.testing.assert_allclose(frame.K, K)
        assert frame.stamp_ns == int(round(stamp_ms * 1e6))
        assert frame.frame_id == 'camera_color_optical_frame'


def test_realsense_aligns_depth_of_another_resolution_in_the_sdk(camera):
    # Colour at twice the depth resolution (focal lengths doubled): rs.align reprojects.
    depth_K = K.copy()
    colour_K = K.copy()
    colour_K[:2] *= 2.0
    colour_K[:2, 2] = [63.5, 47.5]
    _realsense()
    from lingbot_depth_ros.sources.realsense import RealSenseSource
    from lingbot_depth_ros.sources.software import SoftwareCamera
    cam = SoftwareCamera(colour_K, 2 * W, 2 * H, depth_K=depth_K, depth_size=(W, H))
    source = RealSenseSource(profile=Profile(2 * W, 2 * H, 30),
                             device_factory=lambda: cam.device)
    with source:
        assert not source.registered
        rgb, _ = _frame(0, 2 * W, 2 * H)
        depth = (1000 + 3 * np.arange(W)[None, :] + 200 * np.arange(H)[:, None]).astype(
            np.uint16)
        cam.inject(rgb, depth, 1.7e12)
        frame = source.read(timeout_s=2.0)
    np.testing.assert_array_equal(frame.rgb, rgb)
    np.testing.assert_allclose(frame.K, colour_K)
    assert frame.depth.shape == (2 * H, 2 * W)
    # Every colour pixel holds the depth of its own depth pixel or of a neighbour (the SDK
    # rounds pixel footprints), and none is left empty.
    metres = depth.astype(np.float32) * np.float32(frame.depth_units)
    padded = np.pad(metres, 1, mode='edge')
    rows, cols = np.mgrid[0:2 * H, 0:2 * W] // 2
    near = [padded[rows + 1 + dy, cols + 1 + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    assert np.all(np.any(np.stack(near) == frame.depth[None], axis=0))


def test_realsense_hardware_clock_maps_to_host_time_keeping_the_spacing(camera):
    cam, source = camera(clock=lambda: 1_700_000_000_000_000_000)
    stamps = []
    for index, device_ms in enumerate((5000.0, 5033.25, 5066.5)):
        cam.inject(*_frame(index), device_ms, hardware_clock=True)
        stamps.append(source.read(timeout_s=2.0).stamp_ns)
    assert stamps[0] == 1_700_000_000_000_000_000
    assert np.diff(stamps).tolist() == [33_250_000, 33_250_000]


def test_realsense_unsupported_profile_names_the_offered_ones(camera):
    _realsense()
    from lingbot_depth_ros.sources.realsense import RealSenseSource
    from lingbot_depth_ros.sources.software import SoftwareCamera
    cam = SoftwareCamera(K, W, H)
    source = RealSenseSource(profile=Profile(1280, 720, 30), device_factory=lambda: cam.device)
    with pytest.raises(UnsupportedProfile, match=r'no colour stream at 1280x720x30; colour '
                       r'profiles: 64x48x30'):
        source.open()
    source = RealSenseSource(profile=Profile(W, H, 15), device_factory=lambda: cam.device)
    with pytest.raises(UnsupportedProfile, match='no colour stream at 64x48x15'):
        source.open()


def test_realsense_busy_camera(camera):
    cam, _ = camera()
    from lingbot_depth_ros.sources.realsense import RealSenseSource
    second = RealSenseSource(profile=Profile(W, H, 30), device_factory=lambda: cam.device)
    with pytest.raises(DeviceBusy, match='is busy: another process'):
        second.open()


def test_realsense_without_a_camera_says_so():
    _realsense()
    import pyrealsense2 as rs
    if len(rs.context().query_devices()):
        pytest.skip('a RealSense camera is connected')
    with pytest.raises(NoDevice, match='no RealSense camera found'):
        create_source('realsense').open()


def test_realsense_reconnects_after_an_unplug(camera):
    _realsense()
    from lingbot_depth_ros.sources.realsense import RealSenseSource
    from lingbot_depth_ros.sources.software import SoftwareCamera
    cameras = []

    def plug_in():
        cameras.append(SoftwareCamera(K, W, H))
        return cameras[-1].device

    source = RealSenseSource(profile=Profile(W, H, 30), device_factory=plug_in)
    with source:
        cameras[-1].inject(*_frame(0), 1.0e12)
        assert source.read(timeout_s=2.0).stamp_ns == 10 ** 18
        # Unplugged: nothing arrives, read times out instead of hanging or raising.
        assert source.read(timeout_s=0.2) is None
        source.reconnect()
        assert len(cameras) == 2
        rgb, depth = _frame(1)
        cameras[-1].inject(rgb, depth, 1.5e12)
        frame = source.read(timeout_s=2.0)
        np.testing.assert_array_equal(frame.rgb, rgb)
        assert frame.stamp_ns == 15 * 10 ** 17


def _orbbec():
    from lingbot_depth_ros.sources import orbbec
    try:
        return orbbec, orbbec.import_sdk()
    except SdkMissing as error:
        pytest.skip(str(error))


def test_orbbec_without_a_camera_says_so():
    _, ob = _orbbec()
    if ob.Context().query_devices().get_count():
        pytest.skip('an Orbbec camera is connected')
    with pytest.raises(NoDevice, match='no Orbbec camera found'):
        create_source('orbbec', serial='AY1234').open()


@pytest.mark.parametrize('fmt', ['RGB', 'BGR', 'RGBA', 'BGRA'])
def test_orbbec_frame_conversion_with_sdk_frames(fmt):
    orbbec, ob = _orbbec()
    rgb, depth = _frame(3)
    channels = 4 if fmt.endswith('A') else 3
    pixels = rgb[..., ::-1] if fmt.startswith('BGR') else rgb
    if channels == 4:
        pixels = np.concatenate([pixels, np.full((H, W, 1), 255, np.uint8)], axis=2)
    colour = ob.Frame.create_video_frame(ob.OBFrameType.COLOR_FRAME, getattr(ob.OBFormat, fmt),
                                         W, H)
    colour.update_data(np.ascontiguousarray(pixels).tobytes())
    depth_frame = ob.Frame.create_video_frame(ob.OBFrameType.DEPTH_FRAME, ob.OBFormat.Y16, W,
                                              H).as_depth_frame()
    depth_frame.update_data(depth.tobytes())
    depth_frame.set_value_scale(0.5)  # Femto Bolt-like: 0.5 mm per unit
    out_rgb, metres, units = orbbec.frames_to_arrays(colour.as_color_frame(), depth_frame)
    np.testing.assert_array_equal(out_rgb, rgb)
    assert units == pytest.approx(0.0005)
    np.testing.assert_array_equal(metres, depth.astype(np.float32) * np.float32(0.0005))


def test_orbbec_conversion_errors_and_stamps():
    orbbec, ob = _orbbec()
    colour = ob.Frame.create_video_frame(ob.OBFrameType.COLOR_FRAME, ob.OBFormat.MJPG, W, H)
    depth = ob.Frame.create_video_frame(ob.OBFrameType.DEPTH_FRAME, ob.OBFormat.Y16, W // 2,
                                        H // 2).as_depth_frame()
    with pytest.raises(ValueError, match='colour: expected one of RGB, BGR, RGBA, BGRA frames, '
                       'got MJPG'):
        orbbec.frames_to_arrays(colour, depth)
    colour = ob.Frame.create_video_frame(ob.OBFrameType.COLOR_FRAME, ob.OBFormat.RGB, W, H)
    with pytest.raises(ValueError, match='depth: expected the colour size 64x48'):
        orbbec.frames_to_arrays(colour, depth)
    # No global timestamp: the device timestamp gets the host offset of the first frame.
    ob.Frame.set_frame_device_timestamp_us(colour, 2_000)
    stamps = StampMapper(clock=lambda: 7 * 10 ** 18)
    assert orbbec.frame_stamp_ns(colour, stamps) == 7 * 10 ** 18
    ob.Frame.set_frame_device_timestamp_us(colour, 2_500)
    assert orbbec.frame_stamp_ns(colour, stamps) == 7 * 10 ** 18 + 500_000


def test_sources_import_without_the_sdks():
    # The package imports no SDK at import time: the node and CLI start without them.
    assert 'pyrealsense2' not in base.__dict__ and 'pyorbbecsdk' not in base.__dict__
