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

"""PointCloud2 from depth (+ RGB) in depth_image_proc's point_cloud_xyz(rgb) layout."""

import array

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from lingbot_depth_ros import geometry
from lingbot_depth_ros.geometry import DepthRange
from lingbot_depth_ros.messages import conversions as mc
from lingbot_depth_ros.messages.pointcloud import pack_rgb, pointcloud_dtype
from lingbot_depth_ros.tools.evaluation.data import read_captures
import numpy as np
import pytest
from sensor_msgs.msg import PointCloud2, PointField
from std_msgs.msg import Header

K = np.array([[520.0, 0.0, 31.5], [0.0, 515.0, 22.75], [0.0, 0.0, 1.0]])
HEIGHT, WIDTH = 48, 64


def decode(msg):
    """Decode a cloud independently: a structured dtype built from msg.fields, nothing shared."""
    numpy_types = {PointField.FLOAT32: 'f4', PointField.UINT32: 'u4', PointField.UINT8: 'u1'}
    order = '>' if msg.is_bigendian else '<'
    dtype = np.dtype({'names': [f.name for f in msg.fields],
                      'formats': [order + numpy_types[f.datatype] for f in msg.fields],
                      'offsets': [f.offset for f in msg.fields], 'itemsize': msg.point_step})
    rows = np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, msg.row_step)
    return rows[:, :msg.width * msg.point_step].copy().view(dtype)


def analytic(depth, K, us, vs):
    """Return float64 x, y, z at pixel columns us and rows vs from the pinhole formula."""
    z = depth.astype(np.float64)
    return (us - K[0, 2]) * z / K[0, 0], (vs - K[1, 2]) * z / K[1, 1], z


def scene(seed=0):
    """Depth with holes, NaN and inf, plus random colour."""
    rng = np.random.default_rng(seed)
    depth = rng.uniform(0.3, 6.0, (HEIGHT, WIDTH)).astype(np.float32)
    depth[rng.random(depth.shape) < 0.15] = 0.0
    depth[5, 7], depth[9, 11], depth[13, 2] = np.nan, np.inf, -1.0
    rgb = rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    return depth, rgb


def stamped(frame='camera_color_optical_frame'):
    """Return a header with a stamp."""
    msg = Header(frame_id=frame)
    msg.stamp.sec, msg.stamp.nanosec = 1700000000, 5
    return msg


def assert_matches_back_projection(cloud, depth, K, us, vs, valid):
    """Check x, y, z against the analytic back-projection and NaN where invalid."""
    x, y, z = analytic(depth, K, us, vs)
    for name, expected in zip('xyz', (x, y, z)):
        got = cloud[name].astype(np.float64)
        assert np.isnan(got[~valid]).all(), name
        np.testing.assert_allclose(got[valid], expected[valid], rtol=1e-6, atol=1e-7,
                                   err_msg=name)


def test_xyzrgb_cloud_has_depth_image_proc_layout_and_values():
    depth, rgb = scene()
    msg = mc.depth_to_pointcloud2(depth, K, stamped(), rgb=rgb)
    assert [(f.name, f.offset, f.datatype, f.count) for f in msg.fields] == [
        ('x', 0, PointField.FLOAT32, 1), ('y', 4, PointField.FLOAT32, 1),
        ('z', 8, PointField.FLOAT32, 1), ('rgb', 16, PointField.FLOAT32, 1)]
    assert (msg.height, msg.width, msg.point_step, msg.row_step) == (48, 64, 32, 64 * 32)
    assert msg.is_bigendian is False and msg.is_dense is False
    assert msg.header == stamped()
    assert isinstance(msg.data, array.array) and len(msg.data) == 48 * 64 * 32
    cloud = decode(msg)
    vs, us = np.mgrid[0:HEIGHT, 0:WIDTH]
    valid = np.isfinite(depth) & (depth > 0)
    assert_matches_back_projection(cloud, depth, K, us, vs, valid)


def test_colour_bytes_are_where_pcl_expects_them_and_padding_is_zero():
    depth, rgb = scene(1)
    msg = mc.depth_to_pointcloud2(depth, K, None, rgb=rgb)
    points = np.frombuffer(bytes(msg.data), np.uint8).reshape(HEIGHT, WIDTH, 32)
    # PCL's PointXYZRGB: b, g, r, a bytes at 16..19 of a little-endian 0x00RRGGBB.
    np.testing.assert_array_equal(points[..., 16], rgb[..., 2])
    np.testing.assert_array_equal(points[..., 17], rgb[..., 1])
    np.testing.assert_array_equal(points[..., 18], rgb[..., 0])
    assert not points[..., 19].any() and not points[..., 12:16].any()
    assert not points[..., 20:].any()
    words = decode(msg)['rgb'].view(np.uint32)
    expected = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8)
    np.testing.assert_array_equal(words, expected | rgb[..., 2])


def test_xyz_only_cloud_has_point_step_16():
    depth, _ = scene(2)
    msg = mc.depth_to_pointcloud2(depth.astype(np.float64), K, stamped())
    assert [f.name for f in msg.fields] == ['x', 'y', 'z']
    assert (msg.point_step, msg.row_step) == (16, WIDTH * 16)
    raw = np.frombuffer(bytes(msg.data), np.uint8).reshape(HEIGHT, WIDTH, 16)
    assert not raw[..., 12:].any()
    vs, us = np.mgrid[0:HEIGHT, 0:WIDTH]
    assert_matches_back_projection(decode(msg), depth, K, us, vs,
                                   np.isfinite(depth) & (depth > 0))


@settings(max_examples=15, deadline=None)
@given(k=st.integers(1, 7), height=st.integers(7, 30), width=st.integers(7, 30),
       with_rgb=st.booleans())
def test_decimation_keeps_the_cloud_organized_at_original_pixel_positions(
        k, height, width, with_rgb):
    rng = np.random.default_rng(k * 1000 + height * 31 + width)
    depth = rng.uniform(0.5, 3.0, (height, width)).astype(np.float32)
    rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8) if with_rgb else None
    msg = mc.depth_to_pointcloud2(depth, K, None, rgb=rgb, decimation=k)
    assert (msg.height, msg.width) == (height // k, width // k)
    vs, us = np.mgrid[0:height // k, 0:width // k] * k
    cloud = decode(msg)
    assert_matches_back_projection(cloud, depth[vs, us], K, us, vs, np.ones(us.shape, bool))
    if with_rgb:
        np.testing.assert_array_equal(cloud['rgb'].view(np.uint32), pack_rgb(rgb[vs, us]))


def test_range_limits_turn_points_outside_into_nan():
    depth = np.array([[0.2, 0.5, 1.0, 2.0, 2.5, 4.0]], dtype=np.float32)
    cloud = decode(mc.depth_to_pointcloud2(depth, K, None, depth_range=DepthRange(0.5, 2.5)))
    np.testing.assert_array_equal(np.isfinite(cloud['z'][0]),
                                  [False, True, True, True, True, False])


def test_unorganized_cloud_keeps_only_valid_points_in_row_major_order():
    depth, rgb = scene(3)
    msg = mc.depth_to_pointcloud2(depth, K, stamped(), rgb=rgb, organized=False,
                                  depth_range=DepthRange(max_m=5.0))
    valid = np.isfinite(depth) & (depth > 0) & (depth <= 5.0)
    assert (msg.height, msg.width, msg.is_dense) == (1, int(valid.sum()), True)
    assert msg.row_step == msg.width * 32
    cloud = decode(msg)[0]
    vs, us = np.nonzero(valid)
    x, y, z = analytic(depth[valid], K, us, vs)
    np.testing.assert_allclose(cloud['x'], x, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(cloud['y'], y, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(cloud['z'], z, rtol=1e-6)
    np.testing.assert_array_equal(cloud['rgb'].view(np.uint32), pack_rgb(rgb)[valid])
    empty = mc.depth_to_pointcloud2(np.zeros((4, 4), np.float32), K, None, organized=False)
    assert (empty.height, empty.width, len(empty.data)) == (1, 0, 0)


@settings(max_examples=30, deadline=None)
@given(hnp.arrays(np.uint8, st.tuples(st.integers(1, 6), st.integers(1, 6), st.just(3))))
def test_packed_colour_is_the_same_for_contiguous_and_strided_input(rgb):
    expected = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8)
    expected |= rgb[..., 2]
    np.testing.assert_array_equal(pack_rgb(rgb), expected)
    np.testing.assert_array_equal(pack_rgb(rgb[:, ::-1]), expected[:, ::-1])


@pytest.mark.parametrize('options, field', [
    ({'depth_m': np.ones((4, 4, 1), np.float32)}, 'depth_m'),
    ({'depth_m': np.ones((4, 4), np.uint16)}, 'depth_m.dtype'),
    ({'rgb': np.zeros((4, 5, 3), np.uint8)}, 'rgb'),
    ({'rgb': np.zeros((4, 4, 3), np.float32)}, 'rgb.dtype'),
    ({'decimation': 0}, 'decimation'),
    ({'decimation': 5}, 'decimation'),
    ({'decimation': 1.5}, 'decimation'),
    ({'depth_range': (0.0, 1.0)}, 'depth_range'),
    ({'K': np.diag([0.0, 1.0, 1.0])}, 'fx'),
    ({'header': 'camera'}, 'header'),
])
def test_malformed_cloud_inputs_raise_value_error(options, field):
    arguments = {'depth_m': np.ones((4, 4), np.float32), 'K': K, 'header': None}
    arguments.update(options)
    with pytest.raises(ValueError, match=field):
        mc.depth_to_pointcloud2(**arguments)


def test_pointcloud2_to_array_reads_padded_rows_and_big_endian_clouds():
    values = np.array([[1.5, -2.0], [3.25, 4.0]], dtype='>f4')
    fields = [PointField(name='v', offset=2, datatype=PointField.FLOAT32, count=1),
              PointField(name='i', offset=6, datatype=PointField.UINT16, count=2)]
    raw = np.zeros((2, 24), np.uint8)
    for row in range(2):
        for col in range(2):
            start = row * 24 + col * 10
            # A slice, not a scalar: numpy scalars forget the big-endian order.
            raw.reshape(-1)[start + 2:start + 6] = np.frombuffer(
                values[row, col:col + 1].tobytes(), np.uint8)
            raw.reshape(-1)[start + 6:start + 10] = [0, row, 1, col]
    msg = PointCloud2(height=2, width=2, fields=fields, is_bigendian=True, point_step=10,
                      row_step=24, data=raw.tobytes())
    cloud = mc.pointcloud2_to_array(msg)
    assert cloud.shape == (2, 2)
    np.testing.assert_array_equal(cloud['v'], values)
    np.testing.assert_array_equal(cloud['i'][1, 1], [1, 257])
    assert mc.pointcloud2_to_array(mc.depth_to_pointcloud2(
        np.ones((1, 3), np.float32), K, None)).shape == (3,)


@pytest.mark.parametrize('changes, field', [
    ({'fields': [PointField(name='x', offset=0, datatype=9, count=1)]}, 'datatype'),
    ({'fields': [PointField(name='x', offset=14, datatype=7, count=1)]}, 'point_step'),
    ({'fields': [PointField(name='x', offset=0, datatype=7, count=0)]}, 'count'),
    ({'fields': [PointField(name='x', offset=0, datatype=7, count=1)] * 2}, 'name'),
    ({'point_step': 0}, 'point_step'),
    ({'row_step': 15}, 'row_step'),
    ({'data': bytes(47)}, 'data'),
])
def test_malformed_clouds_raise_value_error(changes, field):
    msg = PointCloud2(height=3, width=1, point_step=16, row_step=16, data=bytes(48),
                      fields=[PointField(name='x', offset=0, datatype=7, count=1)])
    for name, value in changes.items():
        setattr(msg, name, value)
    with pytest.raises(ValueError, match=field):
        mc.pointcloud2_to_array(msg)


def test_pointcloud_dtype_matches_the_fields():
    dtype = pointcloud_dtype(mc.depth_to_pointcloud2(np.ones((2, 2), np.float32), K, None,
                                                     rgb=np.zeros((2, 2, 3), np.uint8)).fields,
                             32)
    assert dtype.names == ('x', 'y', 'z', 'rgb') and dtype.itemsize == 32
    assert [dtype.fields[n][1] for n in dtype.names] == [0, 4, 8, 16]


def test_real_frames_give_the_analytic_cloud(examples_dir):
    for _, rgb, raw, K_real in read_captures(examples_dir):
        depth, valid = geometry.depth_to_meters(raw)
        msg = mc.depth_to_pointcloud2(depth, K_real, stamped(), rgb=rgb)
        cloud = decode(msg)
        vs, us = np.mgrid[0:raw.shape[0], 0:raw.shape[1]]
        assert_matches_back_projection(cloud, depth, K_real, us, vs, valid)
        np.testing.assert_array_equal(
            np.frombuffer(bytes(msg.data), np.uint8).reshape(480, 640, 32)[..., 16:19],
            rgb[..., ::-1])
        np.testing.assert_array_equal(mc.pointcloud2_to_array(msg)['z'], cloud['z'])
