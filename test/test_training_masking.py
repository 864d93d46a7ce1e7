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

"""Masking and augmentation rules of the training recipe (property tests)."""

from hypothesis import given, settings
from hypothesis import strategies as st
from lingbot_depth_ros.training.augment import (AugmentSettings, crop_intrinsics, flip_intrinsics,
                                                geometric, NONE, photometric)
from lingbot_depth_ros.training.masking import (expand_patch_mask, masked_input_depth,
                                                MaskSettings, natural_patch_mask,
                                                patch_valid_fraction)
import numpy as np
import pytest

NO_MONO = MaskSettings(monocular_fraction=0.0)


def random_validity(seed, rows=6, cols=8, hole_share=0.3):
    """Draw a validity map with whole-hole, mixed and fully valid patches."""
    rng = np.random.default_rng(seed)
    valid = np.ones((rows * 14, cols * 14), bool)
    for _ in range(rng.integers(0, 6)):
        y, x = rng.integers(0, rows * 14, 2)
        h, w = rng.integers(3, 40, 2)
        valid[y:y + h, x:x + w] = False
    valid &= rng.random(valid.shape) > hole_share * rng.random()
    return valid


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2 ** 31 - 1), st.integers(0, 2 ** 31 - 1))
def test_natural_mask_rules(data_seed, mask_seed):
    valid = random_validity(data_seed)
    fraction = patch_valid_fraction(valid)
    mask = natural_patch_mask(valid, np.random.default_rng(mask_seed), NO_MONO)
    assert mask.shape == fraction.shape
    # Natural holes are always masked.
    assert mask[fraction == 0].all()
    # The drawn ratio (>= 0.6) is reached whenever enough patches can be masked.
    assert mask.mean() >= 0.6 - 1.0 / mask.size or mask.all()
    # Fully valid patches are masked only to reach the ratio, never beyond 0.9.
    extra = mask & (fraction == 1.0)
    if extra.any():
        assert mask.sum() <= round(0.9 * mask.size)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2 ** 31 - 1), st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_without_holes_the_ratio_alone_decides(seed, low, span):
    high = min(1.0, low + span)
    valid = np.ones((84, 112), bool)
    rng = np.random.default_rng(seed)
    mask = natural_patch_mask(valid, rng, MaskSettings(ratio_range=(low, high),
                                                       monocular_fraction=0.0))
    assert round(low * mask.size) <= mask.sum() <= round(high * mask.size)


def test_mixed_patches_are_masked_three_times_in_four():
    # Every patch mixed (one invalid pixel): with a 0.6 target the 0.75 draw decides alone.
    valid = np.ones((14 * 20, 14 * 20), bool)
    valid[::14, ::14] = False
    masked = [natural_patch_mask(valid, np.random.default_rng(s),
                                 MaskSettings(ratio_range=(0.0, 0.0), monocular_fraction=0.0))
              for s in range(20)]
    share = np.mean(masked)
    assert 0.72 < share < 0.78, share


def test_monocular_fraction_masks_everything():
    valid = np.ones((56, 56), bool)
    always = MaskSettings(monocular_fraction=1.0)
    assert natural_patch_mask(valid, np.random.default_rng(0), always).all()
    draws = [natural_patch_mask(valid, np.random.default_rng(s), MaskSettings()).all()
             for s in range(2000)]
    assert 0.03 < np.mean(draws) < 0.07


def test_masked_input_depth_zeroes_masked_patches_and_holes():
    rng = np.random.default_rng(1)
    depth = rng.uniform(0.5, 3.0, (28, 42)).astype(np.float32)
    depth[0, 20] = 0.0
    mask = np.array([[True, False, False], [False, False, True]])
    out = masked_input_depth(depth, mask, rng, noise_std=0.01)
    pixels = expand_patch_mask(mask)
    assert (out[pixels] == 0).all()
    assert out[0, 20] == 0
    kept = ~pixels & (depth > 0)
    relative = out[kept] / depth[kept] - 1
    assert 0.005 < relative.std() < 0.015 and abs(relative.mean()) < 0.003
    exact = masked_input_depth(depth, mask, rng, noise_std=0.0)
    assert np.array_equal(exact[kept], depth[kept])


@pytest.mark.parametrize('bad', [{'ratio_range': (0.9, 0.6)}, {'mixed_probability': 1.5},
                                 {'monocular_fraction': -0.1}, {'noise_std': -1.0}])
def test_mask_settings_reject_nonsense(bad):
    with pytest.raises(ValueError):
        MaskSettings(**bad)


def project(K, point):
    uvw = K @ point
    return uvw[:2] / uvw[2]


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2 ** 31 - 1))
def test_crop_and_flip_keep_depth_and_intrinsics_consistent(seed):
    rng = np.random.default_rng(seed)
    height, width = 120, 160
    K = np.array([[130.0, 0, 79.0], [0, 128.0, 61.0], [0, 0, 1]])
    # A depth map that encodes each pixel's own coordinates: after the transform the
    # pixel (u, v) must hold the original pixel that projects there under the new K.
    v, u = np.mgrid[0:height, 0:width].astype(np.float32)
    code = (1.0 + v * width + u).astype(np.float32)
    rgb = np.zeros((height, width, 3), np.uint8)
    out_size = (42, 56)
    _, (coded, _), K2 = geometric(rgb, (code, None), K, out_size, rng,
                                  AugmentSettings(crop_scale=(0.3, 1.0)))
    source = coded.astype(np.int64) - 1
    sv, su = np.divmod(source, width)
    # A flipped image is the view of the mirrored world (X -> -X) through K2.
    flipped = su[0, 0] > su[0, -1]
    scale = K[0, 0] / K2[0, 0], K[1, 1] / K2[1, 1]  # source pixels per output pixel
    for y, x in ((0, 0), (41, 55), (20, 30), (7, 49)):
        ray = np.linalg.inv(K2) @ np.array([x, y, 1.0])
        if flipped:
            ray[0] = -ray[0]
        expected = project(K, ray)
        # Nearest resampling: within half an output pixel, in source pixels.
        assert abs(expected[0] - su[y, x]) <= scale[0] / 2 + 0.5 + 1e-9
        assert abs(expected[1] - sv[y, x]) <= scale[1] / 2 + 0.5 + 1e-9


def test_crop_intrinsics_of_the_whole_image_are_unchanged():
    K = np.array([[500.0, 0, 319.5], [0, 500.0, 239.5], [0, 0, 1]])
    assert np.allclose(crop_intrinsics(K, (0, 0, 640, 480), (480, 640)), K)
    half = crop_intrinsics(K, (0, 0, 640, 480), (240, 320))
    assert np.allclose(half[:2, :2], K[:2, :2] / 2) and np.allclose(half[:2, 2], [159.5, 119.5])
    assert np.allclose(flip_intrinsics(flip_intrinsics(K, 640), 640), K)


def test_photometric_keeps_shape_and_none_is_identity():
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (42, 56, 3), dtype=np.uint8)
    strong = AugmentSettings(jpeg_probability=1.0, blur_probability=1.0,
                             shot_noise_probability=1.0)
    out = photometric(rgb, rng, strong)
    assert out.shape == rgb.shape and out.dtype == np.uint8 and not np.array_equal(out, rgb)
    assert np.array_equal(photometric(rgb, rng, NONE), rgb)


def test_augment_settings_reject_bad_ranges():
    with pytest.raises(ValueError, match='crop_scale'):
        AugmentSettings(crop_scale=(0.5, 1.5))
