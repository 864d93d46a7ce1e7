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
Input preparation of the network: token grid, image/depth resize, depth-token keep mask.

Every function reproduces the released semantics (see test/data/golden/README.md).
"""

from dataclasses import dataclass
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F

from .backbones import PATCH_SIZE

DEPTH_VALID_MIN = 0.01  # metres; a reading counts only when strictly above this
# Token dropping looks at the remapped map: 0 means 'hole' (replaced by -10), and a
# pixel counts when -9.5 <= value <= 200.
KEEP_RANGE = (-9.5, 200.0)


@dataclass
class PreparedInput:
    """
    Network input after :func:`prepare_inputs`: what the encoder consumes.

    :ivar image: normalised image (B, 3, 14h, 14w).
    :ivar depth: remapped depth (B, 1, 14h, 14w), or None (monocular, no depth tokens).
    :ivar depth_keep: bool (B, h*w), which depth tokens take part (row-major).
    :ivar grid: token grid (h, w).
    :ivar image_size: input size (H, W) the outputs are resized back to.
    :ivar guidance: amodal guidance (B, 3, 14h, 14w) or None (see
        :func:`prepare_guidance`).
    """

    image: torch.Tensor
    depth: Optional[torch.Tensor]
    depth_keep: torch.Tensor
    grid: Tuple[int, int]
    image_size: Tuple[int, int]
    guidance: Optional[torch.Tensor] = None

    @property
    def aspect_ratio(self) -> float:
        """Width over height of the input image."""
        return self.image_size[1] / self.image_size[0]


def token_grid(num_tokens: Union[int, float, torch.Tensor], height: int, width: int
               ) -> Tuple[int, int]:
    """
    Return the token grid for a token budget: round(sqrt(N / a)), round(sqrt(N * a)).

    Rounding is half-to-even (Python and torch agree); the grid rarely holds exactly N.

    :param num_tokens: token budget N.
    :param height: image height.
    :param width: image width.
    :return: (rows, cols).
    """
    if height <= 0 or width <= 0:
        raise ValueError(f'image size: expected positive, got {height}x{width}')
    if isinstance(num_tokens, torch.Tensor):
        num_tokens = num_tokens.item()
    if not num_tokens > 0:
        raise ValueError(f'num_tokens: expected > 0, got {num_tokens}')
    aspect = width / height
    rows, cols = round((num_tokens / aspect) ** 0.5), round((num_tokens * aspect) ** 0.5)
    if rows < 1 or cols < 1:
        raise ValueError(
            f'num_tokens: {num_tokens} gives an empty {rows}x{cols} grid for {height}x{width}')
    return rows, cols


def num_tokens_for_level(num_tokens_range, resolution_level: float) -> int:
    """
    Return int(min + level / 9 * (max - min)), the release's token budget for a level.

    :param num_tokens_range: (min, max) tokens.
    :param resolution_level: 0 (fewest tokens) .. 9 (most).
    :return: the token budget.
    """
    low, high = num_tokens_range
    return int(low + (resolution_level / 9) * (high - low))


def resize_image(image: torch.Tensor, grid: Tuple[int, int], mean: torch.Tensor,
                 std: torch.Tensor) -> torch.Tensor:
    """
    Resize to 14x the grid (antialiased bilinear, half-pixel centres) and normalise.

    :param image: RGB in [0, 1], (B, 3, H, W).
    :param grid: token grid (h, w).
    :param mean: per-channel mean (1, 3, 1, 1).
    :param std: per-channel std (1, 3, 1, 1).
    :return: (B, 3, 14h, 14w).
    """
    size = (grid[0] * PATCH_SIZE, grid[1] * PATCH_SIZE)
    resized = F.interpolate(image, size, mode='bilinear', align_corners=False, antialias=True)
    return (resized - mean) / std


def resize_depth(depth: torch.Tensor, grid: Tuple[int, int]) -> torch.Tensor:
    """
    Resize depth to 14x the grid with PyTorch's legacy 'nearest' (not centre-aligned).

    :param depth: (B, 1, H, W).
    :param grid: token grid (h, w).
    :return: (B, 1, 14h, 14w).
    """
    size = (grid[0] * PATCH_SIZE, grid[1] * PATCH_SIZE)
    if tuple(depth.shape[-2:]) == size:
        return depth
    return F.interpolate(depth, size, mode='nearest')


def remap_depth(depth: torch.Tensor, mode: str) -> Tuple[torch.Tensor, torch.Tensor]:
    """
    Clean and remap depth: non-finite and <= 0.01 m become holes (0); log or metres.

    In 'log' mode a reading of exactly 1.000 m becomes ln(1) = 0, the hole code.

    :param depth: metres (B, 1, h, w); NaN / inf / negatives allowed.
    :param mode: 'log' or 'linear'.
    :return: (remapped depth, bool validity of the reading), both (B, 1, h, w).
    """
    valid = torch.isfinite(depth) & (depth > DEPTH_VALID_MIN)
    zero = torch.zeros((), dtype=depth.dtype, device=depth.device)
    if mode == 'log':
        # where() keeps log's -inf / NaN of invalid pixels out of the result.
        return torch.where(valid, torch.log(torch.where(valid, depth, 1.0)), zero), valid
    if mode == 'linear':
        return torch.where(valid, depth, zero), valid
    raise ValueError(f"remap_depth_in: expected 'log' or 'linear', got {mode!r}")


def depth_token_keep(remapped: torch.Tensor, valid: Optional[torch.Tensor] = None
                     ) -> torch.Tensor:
    """
    Decide which depth tokens survive: patches holding at least one usable pixel.

    Release rule: a pixel is usable when its remapped value v is not 0 (the hole code)
    and -9.5 <= v <= 200. With ``valid`` given (the opt-in fix for exact 1.000 m
    readings in log mode) a pixel is usable when its reading was valid and v is in
    that range, so ln(1) = 0 no longer counts as a hole.

    :param remapped: remapped depth (B, 1, 14h, 14w).
    :param valid: optional bool validity of the readings, same shape.
    :return: bool (B, h*w), row-major over the token grid.
    """
    batch, _, height, width = remapped.shape
    rows, cols = height // PATCH_SIZE, width // PATCH_SIZE
    usable = (remapped >= KEEP_RANGE[0]) & (remapped <= KEEP_RANGE[1])
    usable &= (remapped != 0) if valid is None else valid
    patches = usable.view(batch, rows, PATCH_SIZE, cols, PATCH_SIZE)
    return patches.any(dim=4).any(dim=2).reshape(batch, rows * cols)


def prepare_inputs(image: torch.Tensor, depth: Optional[torch.Tensor], grid: Tuple[int, int],
                   mean: torch.Tensor, std: torch.Tensor, remap_depth_in: str = 'log',
                   enable_depth_mask: bool = True, fix_unit_depth_hole: bool = False
                   ) -> PreparedInput:
    """
    Run the whole input preparation.

    :param image: RGB in [0, 1], (B, 3, H, W).
    :param depth: metres (B, H, W) or (B, 1, H, W), or None for monocular input.
    :param grid: token grid (h, w).
    :param mean: image mean (1, 3, 1, 1).
    :param std: image std (1, 3, 1, 1).
    :param remap_depth_in: 'log' or 'linear'.
    :param enable_depth_mask: drop depth tokens without usable pixels (release
        default); False keeps every depth token.
    :param fix_unit_depth_hole: count exact 1.000 m readings as valid (see
        :func:`depth_token_keep`); off by default to match the release.
    :return: the :class:`PreparedInput`.
    """
    if image.dim() != 4 or image.shape[1] != 3:
        raise ValueError(f'image: expected (B, 3, H, W), got {tuple(image.shape)}')
    batch, _, height, width = image.shape
    image14 = resize_image(image, grid, mean, std)
    tokens = grid[0] * grid[1]
    if depth is None:
        keep = torch.zeros(batch, tokens, dtype=torch.bool, device=image.device)
        return PreparedInput(image14, None, keep, grid, (height, width))
    if depth.dim() == 3:
        depth = depth[:, None]
    if depth.dim() != 4 or depth.shape[1] != 1 or depth.shape[0] != batch \
            or tuple(depth.shape[-2:]) != (height, width):
        raise ValueError(f'depth: expected ({batch}, {height}, {width}) or '
                         f'({batch}, 1, {height}, {width}), got {tuple(depth.shape)}')
    depth14, valid = remap_depth(resize_depth(depth.to(image.dtype), grid), remap_depth_in)
    if enable_depth_mask:
        keep = depth_token_keep(depth14, valid if fix_unit_depth_hole else None)
    else:
        keep = torch.ones(batch, tokens, dtype=torch.bool, device=image.device)
    return PreparedInput(image14, depth14, keep, grid, (height, width))


def prepare_guidance(amodal_mask: torch.Tensor, visible_depth: Optional[torch.Tensor],
                     grid: Tuple[int, int], remap_depth_in: str = 'log') -> torch.Tensor:
    """
    Build the amodal guidance input: where the object is, and what is seen of it.

    Three channels at 14x the grid: the mask's coverage (antialiased bilinear, so a patch
    on the object's border gets a fraction), the validity of the visible part's reading
    and that reading remapped as the depth input is (0 where invalid). Validity has its
    own channel because in 'log' mode 0 is also the remapped value of 1.000 m.

    :param amodal_mask: (B, H, W) or (B, 1, H, W), 1 inside the object's full extent.
    :param visible_depth: metres of the object's visible part, 0 elsewhere, same shape;
        None when nothing of the object is measured.
    :param grid: token grid (h, w).
    :param remap_depth_in: 'log' or 'linear', as the model's depth input.
    :return: (B, 3, 14h, 14w).
    """
    if amodal_mask.dim() == 3:
        amodal_mask = amodal_mask[:, None]
    if amodal_mask.dim() != 4 or amodal_mask.shape[1] != 1:
        raise ValueError(f'amodal_mask: expected (B, H, W) or (B, 1, H, W), '
                         f'got {tuple(amodal_mask.shape)}')
    size = (grid[0] * PATCH_SIZE, grid[1] * PATCH_SIZE)
    mask = amodal_mask.float()
    if tuple(mask.shape[-2:]) != size:
        mask = F.interpolate(mask, size, mode='bilinear', align_corners=False, antialias=True)
    if visible_depth is None:
        remapped = torch.zeros_like(mask)
        valid = torch.zeros_like(mask)
    else:
        if visible_depth.dim() == 3:
            visible_depth = visible_depth[:, None]
        if tuple(visible_depth.shape) != tuple(amodal_mask.shape):
            raise ValueError(f'amodal_depth: expected the mask shape '
                             f'{tuple(amodal_mask.shape)}, got {tuple(visible_depth.shape)}')
        remapped, valid = remap_depth(resize_depth(visible_depth.float(), grid),
                                      remap_depth_in)
        valid = valid.to(mask.dtype)
    return torch.cat([mask, valid, remapped.to(mask.dtype)], dim=1)  # B, 3, 14h, 14w
