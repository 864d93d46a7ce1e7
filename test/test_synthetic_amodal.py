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

"""Amodal ground truth of the synthetic renderer: a hand-built scene against geometry."""

from lingbot_depth_ros.backends.amodal import split_amodal_mask
from lingbot_depth_ros.tools.synthetic.amodal import (amodal_ground_truth, hidden_fractions,
                                                      HIDDEN_RANGE, render_amodal)
from lingbot_depth_ros.tools.synthetic.geometry import Box, Room, Scene
from lingbot_depth_ros.tools.synthetic.renderer import intrinsics
from lingbot_depth_ros.tools.synthetic.scenes import look_at
import numpy as np
import pytest
from scipy import ndimage

WIDTH, HEIGHT = 160, 120
BACK = Box((0.0, 1.0, 3.0), (0.4, 0.3, 0.1))  # the target: front face at z = 2.9
FRONT = Box((0.2, 1.0, 2.0), (0.15, 0.15, 0.05))  # the occluder, off-centre


def _rays(pose, K):
    """Return world ray directions (H, W, 3) with unit camera z, computed here."""
    u, v = np.meshgrid(np.arange(WIDTH), np.arange(HEIGHT))
    camera = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones(u.shape)], -1)
    return camera @ pose[:3, :3].T


def _hits_box(origin, dirs, box):
    """Return where rays hit an axis-aligned box (slab test, independent of the renderer)."""
    low = np.asarray(box.center) - box.half_size
    high = np.asarray(box.center) + box.half_size
    with np.errstate(divide='ignore', invalid='ignore'):
        t1, t2 = (low - origin) / dirs, (high - origin) / dirs
    near = np.nanmax(np.minimum(t1, t2), axis=-1)
    far = np.nanmin(np.maximum(t1, t2), axis=-1)
    return (near <= far) & (far > 0)


def _band(mask):
    """Return the pixels within one pixel of a mask's border (sampling decides them)."""
    return ndimage.binary_dilation(mask) & ~ndimage.binary_erosion(mask)


def test_box_behind_box_equals_the_analytic_depth_and_masks():
    pose = look_at((0.0, 1.0, 0.0), (0.0, 1.0, 5.0))
    K = intrinsics(WIDTH, HEIGHT, 60.0)
    scene = Scene(room=Room(width=10.0, height=3.0, z_near=-1.0, z_far=8.0),
                  objects=[BACK, FRONT])
    amodal, visible, depth = amodal_ground_truth(scene, 0, (1,), pose, K, WIDTH, HEIGHT)
    dirs = _rays(pose, K)
    # The back box's front face, z = 2.9: rays reach it at t = 2.9 (unit camera z).
    points = pose[:3, 3] + 2.9 * dirs
    face = (np.abs(points[..., 0]) <= 0.4) & (np.abs(points[..., 1] - 1.0) <= 0.3)
    certain = ~_band(face)
    np.testing.assert_array_equal(amodal[certain], face[certain])
    np.testing.assert_allclose(depth[amodal], 2.9, atol=1e-5)
    assert np.isnan(depth[~amodal]).all()
    occluder = _hits_box(pose[:3, 3], dirs, FRONT)
    expected_visible = face & ~occluder
    certain &= ~_band(occluder)
    np.testing.assert_array_equal(visible[certain], expected_visible[certain])
    hidden = amodal & ~visible
    assert hidden.sum() > 100
    assert (hidden <= occluder | _band(occluder)).all()


def test_ground_truth_rejects_bad_indices():
    scene = Scene(room=Room(), objects=[BACK, FRONT])
    pose = look_at((0.0, 1.0, 0.0), (0.0, 1.0, 5.0))
    K = intrinsics(WIDTH, HEIGHT)
    with pytest.raises(ValueError, match='target: expected an object index'):
        amodal_ground_truth(scene, 2, (1,), pose, K, WIDTH, HEIGHT)
    with pytest.raises(ValueError, match='occluders: expected object indices'):
        amodal_ground_truth(scene, 0, (0,), pose, K, WIDTH, HEIGHT)


def test_scenes_are_deterministic_and_hide_a_varied_share():
    first, again = render_amodal(5, WIDTH, HEIGHT), render_amodal(5, WIDTH, HEIGHT)
    np.testing.assert_array_equal(first.frame.rgb, again.frame.rgb)
    np.testing.assert_array_equal(first.amodal, again.amodal)
    assert first.visible.sum() > 0 and first.hidden.sum() > 0
    # The occluders are in front: the sensor sees them where the target is hidden.
    seen = first.frame.depth_gt[first.hidden]
    assert (seen < first.target_depth[first.hidden]).all()
    fractions = np.array(hidden_fractions(range(12)))
    inside = (fractions >= HIDDEN_RANGE[0]) & (fractions <= HIDDEN_RANGE[1])
    assert inside.mean() >= 0.75
    assert fractions.max() - fractions.min() > 0.25


def test_mask_image_round_trip():
    frame = render_amodal(3, WIDTH, HEIGHT)
    amodal, visible = split_amodal_mask(frame.mask_image(), (HEIGHT, WIDTH))
    np.testing.assert_array_equal(amodal, frame.amodal)
    np.testing.assert_array_equal(visible, frame.visible)
