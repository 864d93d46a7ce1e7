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

"""sensor_msgs Image / CameraInfo <-> numpy in lingbot_depth_ros.messages.conversions."""

import array

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from lingbot_depth_ros.messages import conversions as mc
from lingbot_depth_ros.messages.buffers import new_message, payload_from_array, zeroed_bytes
from lingbot_depth_ros.tools.evaluation.data import read_capture
import numpy as np
import pytest
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from std_msgs.msg import Header

# encoding -> (element type, channels), as REP 118 / sensor_msgs/image_encodings define them.
ENCODINGS = {
    'rgb8': ('u1', 3), 'bgr8': ('u1', 3), 'rgba8': ('u1', 4), 'bgra8': ('u1', 4),
    'mono8': ('u1', 1), 'mono16': ('u2', 1), '16UC1': ('u2', 1), '32FC1': ('f4', 1),
    '8UC1': ('u1', 1), '8UC3': ('u1', 3),
}


def make_image(pixels, encoding, padding=0, bigendian=False):
    """Serialise an array into an Image row by row, the way a C++ driver lays it out."""
    height, width = pixels.shape[:2]
    order = '>' if bigendian else '<'
    rows = [np.ascontiguousarray(row, dtype=pixels.dtype.newbyteorder(order)).tobytes()
            + bytes(range(7, 7 + padding)) for row in pixels]
    return Image(height=height, width=width, encoding=encoding, is_bigendian=bigendian,
                 step=len(rows[0]), data=b''.join(rows))


def header(frame='camera_optical', sec=12, nanosec=345):
    """Return a Header with a recognisable stamp."""
    msg = Header(frame_id=frame)
    msg.stamp.sec, msg.stamp.nanosec = sec, nanosec
    return msg


def pixel_arrays(encoding):
    """Hypothesis strategy for arrays of an encoding's type and channel count."""
    kind, channels = ENCODINGS[encoding]
    shape = st.tuples(st.integers(1, 9), st.integers(1, 9)).map(
        lambda hw: hw if channels == 1 else hw + (channels,))
    return hnp.arrays(np.dtype(kind), shape)


@settings(max_examples=25, deadline=None)
@given(data=st.data(), encoding=st.sampled_from(sorted(ENCODINGS)),
       padding=st.integers(0, 7), bigendian=st.booleans())
def test_image_round_trip_for_every_encoding_with_padding_and_byte_order(
        data, encoding, padding, bigendian):
    pixels = data.draw(pixel_arrays(encoding))
    decoded = mc.image_to_array(make_image(pixels, encoding, padding, bigendian))
    assert decoded.shape == pixels.shape
    assert decoded.dtype == pixels.dtype and decoded.dtype.isnative
    # Compare bit patterns so NaN payloads in 32FC1 count too.
    np.testing.assert_array_equal(decoded.view(np.uint8), pixels.view(np.uint8))


@pytest.mark.parametrize('encoding, padding', [('rgb8', 0), ('rgb8', 5), ('16UC1', 0),
                                               ('16UC1', 6), ('32FC1', 4)])
def test_native_images_are_zero_copy_views_of_the_message(encoding, padding):
    kind, channels = ENCODINGS[encoding]
    shape = (4, 6) if channels == 1 else (4, 6, channels)
    pixels = np.arange(np.prod(shape)).astype(kind).reshape(shape)
    msg = make_image(pixels, encoding, padding)
    decoded = mc.image_to_array(msg)
    assert np.shares_memory(decoded, np.frombuffer(msg.data, np.uint8))
    np.testing.assert_array_equal(decoded, pixels)


def test_big_endian_data_is_swapped_into_a_native_copy():
    pixels = np.array([[1, 258, 65535]], dtype=np.uint16)
    msg = make_image(pixels, '16UC1', bigendian=True)
    assert bytes(msg.data) == b'\x00\x01\x01\x02\xff\xff'
    decoded = mc.image_to_array(msg)
    assert decoded.dtype == np.dtype('=u2')
    np.testing.assert_array_equal(decoded, pixels)


@settings(max_examples=20, deadline=None)
@given(rgb=hnp.arrays(np.uint8, st.tuples(st.integers(1, 8), st.integers(1, 8), st.just(3))),
       padding=st.integers(0, 5))
def test_every_colour_encoding_comes_out_as_rgb(rgb, padding):
    alpha = np.full(rgb.shape[:2] + (1,), 200, np.uint8)
    sources = {
        'rgb8': rgb, 'bgr8': rgb[..., ::-1], '8UC3': rgb[..., ::-1],
        'rgba8': np.concatenate([rgb, alpha], axis=2),
        'bgra8': np.concatenate([rgb[..., ::-1], alpha], axis=2),
    }
    for encoding, pixels in sources.items():
        out = mc.rgb_from_image(make_image(np.ascontiguousarray(pixels), encoding, padding))
        assert out.dtype == np.uint8 and out.shape == rgb.shape
        np.testing.assert_array_equal(out, rgb, err_msg=encoding)
    grey = rgb[..., 1]
    for encoding in ('mono8', '8UC1'):
        out = mc.rgb_from_image(make_image(np.ascontiguousarray(grey), encoding, padding))
        np.testing.assert_array_equal(out, np.repeat(grey[..., None], 3, axis=2))


def test_depth_from_16uc1_and_mono16_is_scaled_millimetres():
    raw = np.array([[0, 1, 1500], [65535, 42, 0]], dtype=np.uint16)
    for encoding in ('16UC1', 'mono16'):
        depth_m, valid = mc.depth_from_image(make_image(raw, encoding, padding=2))
        np.testing.assert_array_equal(valid, raw > 0)
        np.testing.assert_allclose(depth_m, raw * 0.001, rtol=1e-7)
    depth_m, _ = mc.depth_from_image(make_image(raw, '16UC1'), depth_scale=0.0001)
    np.testing.assert_allclose(depth_m, raw * 0.0001, rtol=1e-7)


def test_depth_from_32fc1_is_metres_with_non_finite_and_non_positive_invalid():
    raw = np.array([[1.5, np.nan, 0.0, -1.0, np.inf, 7.25]], dtype=np.float32)
    depth_m, valid = mc.depth_from_image(make_image(raw, '32FC1', bigendian=True))
    np.testing.assert_array_equal(valid, [[True, False, False, False, False, True]])
    np.testing.assert_array_equal(depth_m, [[1.5, 0, 0, 0, 0, 7.25]])


def test_depth_to_32fc1_writes_nan_where_invalid_and_round_trips():
    depth = np.array([[1.5, 0.0, np.nan], [np.inf, -2.0, 3.125]], dtype=np.float64)
    msg, n_clipped = mc.depth_to_image(depth, header())
    assert (msg.encoding, msg.height, msg.width, msg.step) == ('32FC1', 2, 3, 12)
    assert n_clipped == 0 and msg.is_bigendian is False
    assert isinstance(msg.data, array.array) and msg.data.typecode == 'B'
    values = np.frombuffer(msg.data, '<f4').reshape(2, 3)
    expected = np.array([[1.5, np.nan, np.nan], [np.nan, np.nan, 3.125]], np.float32)
    np.testing.assert_array_equal(values, expected)
    depth_m, valid = mc.depth_from_image(msg)
    np.testing.assert_array_equal(valid, np.isfinite(expected))


def test_depth_to_16uc1_rounds_to_millimetres_zeroes_invalid_and_counts_clipping():
    depth = np.array([[0.0012, 1.0004, 1.0006, 65.535, 65.5357, 70.0, np.nan, np.inf, -1.0]],
                     dtype=np.float32)
    msg, n_clipped = mc.depth_to_image(depth, header(), encoding='16UC1')
    assert (msg.encoding, msg.step) == ('16UC1', 18)
    values = np.frombuffer(msg.data, '<u2')
    np.testing.assert_array_equal(values, [1, 1000, 1001, 65535, 65535, 65535, 0, 0, 0])
    assert n_clipped == 2


def test_mask_and_rgb_images_round_trip():
    mask = np.array([[True, False, True], [False, False, True]])
    msg = mc.mask_to_image(mask, header())
    assert (msg.encoding, msg.step) == ('mono8', 3)
    np.testing.assert_array_equal(mc.image_to_array(msg), np.where(mask, 255, 0))
    np.testing.assert_array_equal(mc.mask_to_image(mask.astype(np.float32) * 7, None).data,
                                  msg.data)
    rgb = np.random.default_rng(1).integers(0, 256, (5, 4, 3), dtype=np.uint8)
    msg = mc.rgb_to_image(rgb[:, ::-1], header())
    assert (msg.encoding, msg.step) == ('rgb8', 12)
    np.testing.assert_array_equal(mc.rgb_from_image(msg), rgb[:, ::-1])


def test_output_messages_carry_a_copy_of_the_header():
    stamp_source = header('cam_a', 5, 6)
    msg = mc.rgb_to_image(np.zeros((2, 2, 3), np.uint8), stamp_source)
    assert msg.header == stamp_source and msg.header is not stamp_source
    stamp_source.frame_id = 'changed'
    assert msg.header.frame_id == 'cam_a'
    assert mc.depth_to_image(np.ones((2, 2)), None)[0].header == Header()


def test_payloads_are_handed_to_messages_without_copying():
    payload = zeroed_bytes(64)
    assert len(payload) == 64 and not any(payload)
    msg = new_message(PointCloud2, data=payload, width=2)
    assert msg.data is payload and msg.width == 2
    values = np.arange(6, dtype=np.uint16).reshape(2, 3)[:, ::-1]
    assert payload_from_array(values).tobytes() == np.ascontiguousarray(values).tobytes()


@pytest.mark.parametrize('changes, field', [
    ({'encoding': 'yuv422_yuy2'}, 'encoding'),
    ({'encoding': '32FC9'}, 'encoding'),
    ({'width': 0, 'step': 0, 'data': b''}, 'height x width'),
    ({'height': 0, 'data': b''}, 'height x width'),
    ({'step': 11}, 'step'),
    ({'data': bytes(12 * 3 - 1)}, 'data'),
    ({'data': bytes(12 * 3 + 12)}, 'data'),
])
def test_malformed_images_raise_value_error_naming_the_field(changes, field):
    msg = Image(height=3, width=4, encoding='rgb8', step=12, data=bytes(36))
    for name, value in changes.items():
        setattr(msg, name, value)
    with pytest.raises(ValueError, match=field):
        mc.image_to_array(msg)


def test_wrong_encodings_for_depth_and_colour_raise():
    with pytest.raises(ValueError, match='encoding'):
        mc.depth_from_image(make_image(np.zeros((2, 2, 3), np.uint8), 'rgb8'))
    with pytest.raises(ValueError, match='encoding'):
        mc.rgb_from_image(make_image(np.zeros((2, 2), np.uint16), '16UC1'))
    with pytest.raises(ValueError, match='encoding'):
        mc.depth_to_image(np.ones((2, 2)), None, encoding='mono16')


@pytest.mark.parametrize('call, field', [
    (lambda: mc.depth_to_image(np.ones((2, 2, 1)), None), 'depth_m'),
    (lambda: mc.depth_to_image(np.ones((0, 2)), None), 'depth_m'),
    (lambda: mc.depth_to_image(np.array([['a']]), None), 'depth_m.dtype'),
    (lambda: mc.mask_to_image(np.ones((2, 2, 2), bool), None), 'mask'),
    (lambda: mc.rgb_to_image(np.ones((2, 2, 4), np.uint8), None), 'rgb'),
    (lambda: mc.rgb_to_image(np.ones((2, 2, 3), np.float32), None), 'rgb.dtype'),
    (lambda: mc.rgb_to_image(np.ones((2, 2, 3), np.uint8), 'frame'), 'header'),
])
def test_malformed_arrays_raise_value_error_naming_the_field(call, field):
    with pytest.raises(ValueError, match=field):
        call()


def camera_info(width=640, height=480, fx=500.0, fy=502.0, cx=319.5, cy=241.0, **extra):
    """Build a CameraInfo with a stereo-style P (Tx = -fx * 0.05)."""
    msg = CameraInfo(width=width, height=height, distortion_model='plumb_bob',
                     d=[0.1, -0.2, 0.001, 0.002, 0.03])
    msg.header.frame_id = 'cam_optical'
    msg.k = [fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0]
    msg.r = [1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0]
    msg.p = [fx, 0.0, cx, -fx * 0.05, 0.0, fy, cy, 0.0, 0.0, 0.0, 1.0, 0.0]
    for name, value in extra.items():
        setattr(msg, name, value)
    return msg


def test_camera_info_to_model_reads_k_distortion_and_frame():
    model = mc.camera_info_to_model(camera_info())
    assert (model.width, model.height, model.frame_id) == (640, 480, 'cam_optical')
    np.testing.assert_array_equal(model.K, [[500, 0, 319.5], [0, 502, 241], [0, 0, 1]])
    assert model.distortion_model == 'plumb_bob'
    np.testing.assert_array_equal(model.D, [0.1, -0.2, 0.001, 0.002, 0.03])


def test_camera_info_is_rescaled_for_binned_or_resized_images():
    info = camera_info()
    half = mc.camera_info_to_model(info, 320, 240)
    np.testing.assert_allclose(half.K, [[250, 0, 159.75], [0, 251, 120.5], [0, 0, 1]])
    assert (half.width, half.height) == (320, 240)
    binned = mc.camera_info_to_model(camera_info(binning_x=2, binning_y=2))
    np.testing.assert_allclose(binned.K, half.K)
    odd = mc.camera_info_to_model(camera_info(width=641, height=481), 320, 240)
    np.testing.assert_allclose(odd.K[0, 0], 500 * 320 / 641)


@pytest.mark.parametrize('info, size, field', [
    (camera_info(fx=0.0), None, 'fx'),
    (camera_info(fy=float('nan')), None, 'camera_info.k'),
    (camera_info(fx=-500.0), None, 'fx'),
    (camera_info(width=0), None, 'camera_info width'),
    (camera_info(), (640, 360), 'uniform'),
    (camera_info(), (320, None), 'width, height'),
    (camera_info(), (0, 0), 'width'),
])
def test_bad_camera_info_raises_value_error(info, size, field):
    with pytest.raises(ValueError, match=field):
        mc.camera_info_to_model(info, *(size or ()))


def test_camera_info_at_size_scales_k_and_p_and_resets_binning():
    info = camera_info(binning_x=2, binning_y=2)
    info.roi.x_offset, info.roi.width, info.roi.height = 64, 320, 240
    out = mc.camera_info_at_size(info, 320, 240, header=header('other', 1, 2))
    assert (out.width, out.height, out.binning_x, out.binning_y) == (320, 240, 0, 0)
    assert out.header.frame_id == 'other' and out.header.stamp.sec == 1
    np.testing.assert_allclose(out.k, [250, 0, 159.75, 0, 251, 120.5, 0, 0, 1])
    np.testing.assert_allclose(out.p, [250, 0, 159.75, -12.5, 0, 251, 120.5, 0, 0, 0, 1, 0])
    np.testing.assert_array_equal(out.d, info.d)
    np.testing.assert_array_equal(out.r, info.r)
    assert (out.roi.x_offset, out.roi.width, out.roi.height) == (32, 160, 120)
    assert mc.camera_info_at_size(info, 640, 480).header.frame_id == 'cam_optical'
    np.testing.assert_allclose(mc.camera_info_to_model(out).K,
                               mc.camera_info_to_model(info, 320, 240).K)
    with pytest.raises(ValueError, match='height'):
        mc.camera_info_at_size(info, 320, -1)


def read_example(folder):
    """Load one real frame: RGB uint8, raw uint16 millimetres and K."""
    return read_capture(folder)[1:]


def test_real_frames_survive_image_round_trips(examples_dir):
    folders = sorted(p for p in examples_dir.iterdir() if p.is_dir())
    assert len(folders) == 8
    for folder in folders:
        rgb, raw, _ = read_example(folder)
        assert rgb.shape == (480, 640, 3) and raw.shape == (480, 640)
        bgr_msg = make_image(np.ascontiguousarray(rgb[..., ::-1]), 'bgr8')
        np.testing.assert_array_equal(mc.rgb_from_image(bgr_msg), rgb)
        depth_m, valid = mc.depth_from_image(make_image(raw, '16UC1'))
        np.testing.assert_array_equal(valid, raw > 0)
        # Back to millimetres exactly, 65.535 m (frame 3) included and not counted as clipped.
        msg, n_clipped = mc.depth_to_image(depth_m, header(), encoding='16UC1')
        assert n_clipped == 0
        np.testing.assert_array_equal(mc.image_to_array(msg), raw)
        msg32, _ = mc.depth_to_image(depth_m, header())
        back_m, back_valid = mc.depth_from_image(msg32)
        np.testing.assert_array_equal(back_valid, valid)
        np.testing.assert_array_equal(back_m, depth_m)
