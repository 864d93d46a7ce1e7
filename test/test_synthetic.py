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

"""Synthetic scenes: analytic geometry, sensor failure physics, determinism, messages."""

import math

from lingbot_depth_ros.tools.synthetic import renderer as synthetic
from lingbot_depth_ros.tools.synthetic.materials import MATERIALS
from lingbot_depth_ros.tools.synthetic.renderer import (Box, intrinsics, look_at, render_view,
                                                        Room, Scene, SensorModel, Sphere)
from lingbot_depth_ros.tools.synthetic.sensor import FAIL_DARK, FAIL_NONE, FAIL_RANGE, FAIL_SHADOW
import numpy as np
import pytest

# A sensor without random dropout, so geometric failures can be checked pixel by pixel.
EXACT_SENSOR = SensorModel(speckle_rate=0.0, sigma_const_m=0.0, sigma_quadratic=0.0,
                           shot_coeff=0.0, quantization_m=0.0)
BIG_ROOM = Room(width=40.0, height=40.0, z_near=-1.0, z_far=30.0)
EYE = (0.0, 20.0, 0.0)


def camera_points(frame):
    """Back-project a frame's ground-truth depth to camera-frame points (H, W, 3)."""
    K = frame.K
    u = (np.arange(frame.width) - K[0, 2]) / K[0, 0]
    v = (np.arange(frame.height) - K[1, 2]) / K[1, 1]
    z = frame.depth_gt.astype(np.float64)
    return np.stack([u[None, :] * z, v[:, None] * z, z], axis=-1)


def to_world(frame, points):
    """Transform camera-frame points (H, W, 3) with the frame's pose."""
    return points @ frame.pose[:3, :3].T + frame.pose[:3, 3]


def test_wall_facing_the_camera_has_constant_depth():
    scene = Scene(room=Room(width=8.0, height=6.0, z_near=-1.0, z_far=3.0))
    pose = look_at((0.0, 3.0, 0.0), (0.0, 3.0, 1.0))
    frame = render_view(scene, pose, intrinsics(160, 120), 160, 120, sensor=EXACT_SENSOR)
    np.testing.assert_allclose(frame.depth_gt, 3.0, atol=1e-5)
    assert np.all(frame.material == MATERIALS['wall'].material_id)


def test_tilted_view_of_a_plane_satisfies_the_plane_equation():
    scene = Scene(room=Room(width=30.0, height=6.0, z_near=-1.0, z_far=3.0))
    pose = look_at((0.3, 3.0, 0.0), (1.2, 2.7, 3.0))  # yawed and pitched
    frame = render_view(scene, pose, intrinsics(160, 120), 160, 120, sensor=EXACT_SENSOR)
    world = to_world(frame, camera_points(frame))
    np.testing.assert_allclose(world[..., 2], 3.0, atol=2e-5)
    # The depth varies across the image: the plane is seen at an angle.
    assert np.ptp(frame.depth_gt) > 0.5


def test_sphere_depth_and_silhouette_match_the_analytic_values():
    centre, radius, distance = np.array([0.0, 20.0, 3.0]), 0.5, 3.0
    scene = Scene(room=BIG_ROOM, objects=[Sphere(tuple(centre), radius)])
    pose = look_at(EYE, (0.0, 20.0, 1.0))
    width, height = 320, 240
    K = intrinsics(width, height)
    frame = render_view(scene, pose, K, width, height, sensor=EXACT_SENSOR)

    u = (np.arange(width) - K[0, 2]) / K[0, 0]
    v = (np.arange(height) - K[1, 2]) / K[1, 1]
    angle = np.arctan(np.hypot(u[None, :], v[:, None]))
    limit = math.asin(radius / distance)  # half-angle of the sphere seen from the camera
    on_sphere = frame.material == MATERIALS['diffuse'].material_id
    assert np.all(on_sphere[angle < limit - 0.005])
    assert not np.any(on_sphere[angle > limit + 0.005])

    points = to_world(frame, camera_points(frame))[on_sphere]
    np.testing.assert_allclose(np.linalg.norm(points - centre, axis=1), radius, atol=2e-4)
    rows, cols = np.nonzero(on_sphere)
    nearest = np.argmin(angle[on_sphere])
    closest = frame.depth_gt[rows[nearest], cols[nearest]]
    assert closest == pytest.approx(distance - radius, abs=1e-3)


def box_scene(material='diffuse'):
    """Return a box 1.5 m in front of the camera, left of centre, before a wall at 4 m."""
    room = Room(width=40.0, height=40.0, z_near=-1.0, z_far=4.0)
    box = Box((0.0, 20.0, 1.75), (0.3, 0.3, 0.25), material=material)
    return Scene(room=room, objects=[box], light=(0.0, 21.0, 0.0))


def test_shadow_band_left_of_a_foreground_edge_has_the_baseline_width():
    width, height = 640, 480
    K = intrinsics(width, height)
    pose = look_at(EYE, (0.0, 20.0, 1.0))
    frame = render_view(box_scene(), pose, K, width, height, sensor=EXACT_SENSOR)
    row = height // 2
    box_cols = np.flatnonzero(frame.material[row] == MATERIALS['diffuse'].material_id)
    left, right = box_cols.min(), box_cols.max()
    # Background points hidden from the projector, which sits baseline_m to the right:
    # f * b * (1 / z_near - 1 / z_far) pixels left of the box's left edge.
    expected = K[0, 0] * EXACT_SENSOR.baseline_m * (1.0 / 1.5 - 1.0 / 4.0)
    shadow_cols = np.flatnonzero(frame.failure[row] == FAIL_SHADOW)
    band = shadow_cols[(shadow_cols < left) & (shadow_cols > left - 3 * expected)]
    assert abs(len(band) - expected) <= 1.5
    assert band.max() == left - 1  # the band touches the edge
    # Nothing is shadowed right of the box; the box itself is measured.
    assert not np.any(frame.failure[row, right + 1:] == FAIL_SHADOW)
    assert np.all(frame.failure[row, left:right + 1] == FAIL_NONE)
    # The left image border sees beyond the projector's field of view.
    border = K[0, 0] * EXACT_SENSOR.baseline_m / 4.0
    border_cols = shadow_cols[shadow_cols < left - 3 * expected]
    assert abs(len(border_cols) - border) <= 1.5 and border_cols.min() == 0


@pytest.mark.parametrize('material', ['glass', 'mirror'])
def test_clear_and_mirror_surfaces_return_no_depth(material):
    pose = look_at(EYE, (0.0, 20.0, 1.0))
    frame = render_view(box_scene(material), pose, intrinsics(320, 240), 320, 240,
                        sensor=EXACT_SENSOR)
    on_object = frame.material == MATERIALS[material].material_id
    assert on_object.sum() > 1000
    assert not frame.sensor_valid[on_object].any()
    # The ground truth still has the object's surface, in front of the wall.
    assert np.all(frame.depth_gt[on_object] < 2.0)


def test_black_surfaces_are_too_dark_to_measure():
    pose = look_at(EYE, (0.0, 20.0, 1.0))
    frame = render_view(box_scene('black'), pose, intrinsics(320, 240), 320, 240,
                        sensor=EXACT_SENSOR)
    on_object = frame.material == MATERIALS['black'].material_id
    assert on_object.sum() > 1000
    assert np.all(frame.failure[on_object] == FAIL_DARK)


def test_depth_beyond_the_working_range_drops_out():
    far = Scene(room=Room(width=40.0, height=40.0, z_near=-1.0, z_far=9.0))
    pose = look_at(EYE, (0.0, 20.0, 1.0))
    frame = render_view(far, pose, intrinsics(160, 120), 160, 120, sensor=EXACT_SENSOR)
    assert np.all(frame.failure == FAIL_RANGE)
    assert not frame.sensor_valid.any()


def test_noise_grows_with_depth_and_is_quantized_to_millimetres():
    sensor = SensorModel(speckle_rate=0.0)
    errors = {}
    for distance in (1.5, 4.0):
        scene = Scene(room=Room(width=40.0, height=40.0, z_near=-1.0, z_far=distance))
        pose = look_at(EYE, (0.0, 20.0, 1.0))
        frame = render_view(scene, pose, intrinsics(320, 240), 320, 240, sensor=sensor)
        valid = frame.sensor_valid
        assert valid.mean() > 0.95
        millimetres = frame.depth_sensor[valid].astype(np.float64) * 1000.0
        np.testing.assert_allclose(millimetres, np.round(millimetres), atol=1e-3)
        errors[distance] = frame.depth_sensor[valid] - frame.depth_gt[valid]
        assert abs(errors[distance].mean()) < 0.1 * errors[distance].std() + 1e-3
    # Stereo error grows with depth squared: std at 4 m is several times that at 1.5 m.
    assert errors[4.0].std() > 3.0 * errors[1.5].std()
    assert 0.001 < errors[1.5].std() < 0.01


@pytest.fixture(scope='module')
def scene_frames():
    """Return the first view of three random scenes at 320x240."""
    return [synthetic.render_frame(seed, 320, 240) for seed in (0, 1, 2)]


def test_random_scenes_fail_on_hard_materials_and_measure_diffuse_ones(scene_frames):
    hard = [MATERIALS[name].material_id for name in ('glass', 'mirror')]
    diffuse = [MATERIALS[name].material_id for name in ('wall', 'floor', 'diffuse')]
    on_hard = np.concatenate([np.isin(f.material, hard).ravel() for f in scene_frames])
    on_diffuse = np.concatenate([np.isin(f.material, diffuse).ravel() for f in scene_frames])
    valid = np.concatenate([f.sensor_valid.ravel() for f in scene_frames])
    assert on_hard.sum() > 2000
    assert valid[on_hard].mean() == 0.0
    assert valid[on_diffuse].mean() > 0.75
    metal = np.concatenate([(f.material == MATERIALS['metal'].material_id).ravel()
                            for f in scene_frames])
    assert metal.sum() > 200 and valid[metal].mean() < 0.35
    for frame in scene_frames:
        assert frame.rgb.dtype == np.uint8 and frame.rgb.shape == (240, 320, 3)
        assert np.isfinite(frame.depth_gt).all()
        assert np.all(frame.depth_sensor[~frame.sensor_valid] == 0.0)


def test_scenes_are_deterministic_by_seed(scene_frames):
    again = synthetic.render_frame(0, 320, 240)
    first = scene_frames[0]
    for name in ('rgb', 'depth_gt', 'depth_sensor', 'material', 'failure', 'K', 'pose'):
        np.testing.assert_array_equal(getattr(again, name), getattr(first, name))
    assert not np.array_equal(scene_frames[1].depth_gt, first.depth_gt)


def test_sequence_moves_the_camera_with_stamps_at_the_frame_rate():
    frames = synthetic.render_sequence(seed=3, n_frames=3, width=96, height=72, fps=10.0,
                                       start_ns=5_000_000_000)
    assert [f.stamp_ns for f in frames] == [5_000_000_000, 5_100_000_000, 5_200_000_000]
    assert [f.index for f in frames] == [0, 1, 2]
    assert not np.allclose(frames[0].pose, frames[2].pose)
    for frame in frames:
        rotation = frame.pose[:3, :3]
        np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(rotation) == pytest.approx(1.0)
    np.testing.assert_array_equal(frames[0].depth_sensor_mm,
                                  np.round(frames[0].depth_sensor * 1000).astype(np.uint16))


def test_bad_arguments_raise_value_error_naming_the_field():
    with pytest.raises(ValueError, match='width'):
        intrinsics(0, 10)
    with pytest.raises(ValueError, match='n_frames'):
        synthetic.render_sequence(n_frames=0)
    with pytest.raises(ValueError, match='pose'):
        render_view(box_scene(), np.eye(3), intrinsics(8, 6), 8, 6)
    with pytest.raises(ValueError, match='seed'):
        synthetic.make_scene(-1)


def test_frame_to_messages_encodes_rgb_depth_and_camera_info():
    pytest.importorskip('sensor_msgs.msg')
    frame = synthetic.render_sequence(seed=4, n_frames=2, width=64, height=48,
                                      start_ns=1_500_000_000)[1]
    rgb, depth, info = synthetic.frame_to_messages(frame, frame_id='cam')
    for msg in (rgb, depth, info):
        assert msg.header.frame_id == 'cam'
        stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        assert stamp == frame.stamp_ns
    assert (rgb.encoding, rgb.width, rgb.height, rgb.step) == ('rgb8', 64, 48, 192)
    np.testing.assert_array_equal(
        np.frombuffer(bytes(rgb.data), np.uint8).reshape(48, 64, 3), frame.rgb)
    assert (depth.encoding, depth.step) == ('16UC1', 128)
    dtype = '>u2' if depth.is_bigendian else '<u2'
    np.testing.assert_array_equal(np.frombuffer(bytes(depth.data), dtype).reshape(48, 64),
                                  frame.depth_sensor_mm)
    np.testing.assert_allclose(np.reshape(info.k, (3, 3)), frame.K)
    assert (info.width, info.height) == (64, 48)
    assert info.p[0] == frame.K[0, 0] and info.p[3] == 0.0
