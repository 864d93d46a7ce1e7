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

"""RGB-D DINOv2 vision transformer: image tokens, depth tokens, shared position grid."""

from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn
import torch.nn.functional as F

from .backbones import BackboneSpec, PATCH_SIZE, POS_GRID
from .layers import Block, PatchEmbed

GUIDANCE_CHANNELS = 3  # amodal mask coverage, visible-depth validity, visible depth
IMAGE_OFFSET = 1.0  # modality offsets added to every channel of the position encoding
DEPTH_OFFSET = 2.0


def select_depth_tokens(tokens: torch.Tensor, keep: torch.Tensor
                        ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """
    Keep each sample's valid depth tokens, padded to the batch maximum.

    :param tokens: depth tokens (B, N, D).
    :param keep: bool (B, N), True for tokens to keep.
    :return: (kept tokens (B, K, D) in ascending patch order, bool (B, K) marking real
        tokens, or None when no sample needed padding).
    """
    batch, _, dim = tokens.shape
    if batch == 1:
        return tokens[:, keep[0]], None  # 1, K, D
    counts = keep.sum(dim=1)  # B
    most = int(counts.max())
    # A stable sort of the 'dropped' flag moves kept indices first, in patch order.
    order = torch.argsort((~keep).to(torch.uint8), dim=1, stable=True)[:, :most]  # B, K
    kept = tokens.gather(1, order[..., None].expand(-1, -1, dim))  # B, K, D
    real = torch.arange(most, device=keep.device) < counts[:, None]  # B, K
    return kept, (None if bool(real.all()) else real)


class RGBDVisionTransformer(nn.Module):
    """
    DINOv2 ViT with a second (1-channel depth) patch embedding, as in LingBot-Depth.

    Sequence per sample: [cls, registers, image tokens, depth tokens]. Image tokens get
    ``1 + pos``, depth tokens ``2 + pos`` (pos = the stored 37x37 grid resized to the
    token grid), cls gets ``pos[0]``, registers nothing.
    """

    def __init__(self, spec: BackboneSpec, in_chans: int = 3, amodal_guidance: bool = False):
        """
        Build the backbone; parameter names equal the released ``encoder.backbone.*``.

        :param spec: backbone architecture.
        :param in_chans: image channels.
        :param amodal_guidance: add ``amodal_patch_embed`` (not in released checkpoints):
            a 3-channel guidance embedding added to the image tokens, zero-initialised.
        """
        super().__init__()
        dim = spec.embed_dim
        self.spec = spec
        self.embed_dim = dim
        self.num_register_tokens = spec.num_register_tokens
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, POS_GRID * POS_GRID + 1, dim))
        if spec.num_register_tokens:
            self.register_tokens = nn.Parameter(torch.zeros(1, spec.num_register_tokens, dim))
        else:
            self.register_parameter('register_tokens', None)
        self.mask_token = nn.Parameter(torch.zeros(1, dim))  # training only, kept for keys
        self.patch_embed = PatchEmbed(PATCH_SIZE, in_chans, dim)
        self.depth_patch_embed = PatchEmbed(PATCH_SIZE, 1, dim)
        if amodal_guidance:
            # Amodal Depth Anything: guidance in parallel to the RGB patch embedding, zero
            # at the start so that a pretrained model's outputs are unchanged until trained.
            self.amodal_patch_embed = PatchEmbed(PATCH_SIZE, GUIDANCE_CHANNELS, dim)
            nn.init.zeros_(self.amodal_patch_embed.proj.weight)
            nn.init.zeros_(self.amodal_patch_embed.proj.bias)
        self.blocks = nn.ModuleList(
            Block(dim, spec.num_heads, ffn_layer=spec.ffn_layer) for _ in range(spec.depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self._pos_cache: Dict[tuple, torch.Tensor] = {}
        # Encodings fixed by freeze_pos_embed for graphs traced at one size (export).
        self._frozen_pos: Dict[tuple, Tuple[torch.Tensor, torch.Tensor]] = {}

    def interpolated_pos_embed(self, grid_h: int, grid_w: int) -> torch.Tensor:
        """
        Resize the stored position grid to the token grid, as the release does.

        Plain backbones: bicubic (a=-0.75, no antialias) with scale factors
        ((grid + 0.1) / 37), i.e. source coordinates stretched by 37 / (grid + 0.1);
        register backbones: antialiased bicubic to the exact size. Skipped for a 37x37
        grid. Computed in float32.

        :param grid_h: token rows.
        :param grid_w: token columns.
        :return: float32 (1, grid_h * grid_w, D).
        """
        patch_pos = self.pos_embed[:, 1:].float()  # 1, 1369, D
        if grid_h == POS_GRID and grid_w == POS_GRID:
            return patch_pos
        grid = patch_pos.reshape(1, POS_GRID, POS_GRID, -1).permute(0, 3, 1, 2)  # 1, D, 37, 37
        if self.spec.interpolate_offset > 0:
            scale = ((grid_h + self.spec.interpolate_offset) / POS_GRID,
                     (grid_w + self.spec.interpolate_offset) / POS_GRID)
            grid = F.interpolate(grid, scale_factor=scale, mode='bicubic',
                                 antialias=self.spec.interpolate_antialias)
        else:
            grid = F.interpolate(grid, size=(grid_h, grid_w), mode='bicubic',
                                 antialias=self.spec.interpolate_antialias)
        if tuple(grid.shape[-2:]) != (grid_h, grid_w):
            raise ValueError(f'token grid: position resize gave {tuple(grid.shape[-2:])}, '
                             f'expected {(grid_h, grid_w)}')
        return grid.permute(0, 2, 3, 1).flatten(1, 2)  # 1, h*w, D

    def modality_pos_embed(self, grid_h: int, grid_w: int, dtype: torch.dtype
                           ) -> Tuple[torch.Tensor, torch.Tensor]:
        """
        Return (1 + pos, 2 + pos) for a grid, cached while the weights stay unchanged.

        :param grid_h: token rows.
        :param grid_w: token columns.
        :param dtype: dtype of the patch tokens they are added to (the release casts
            the float32 resize to it before adding the offset).
        :return: image and depth position encodings, each (1, grid_h * grid_w, D).
        """
        if torch.compiler.is_compiling():
            # Traced graphs (torch.export, torch.compile) have no storage to key a cache
            # on: they use the frozen encodings or compute them in the graph.
            frozen = self._frozen_pos.get((grid_h, grid_w, dtype))
            return frozen if frozen is not None else self._modality_pos(grid_h, grid_w, dtype)
        pos = self.pos_embed
        try:  # the version counter invalidates the cache when weights change in place
            version = pos._version
        except RuntimeError:  # weights created under inference_mode have no counter
            version = None
        cacheable = version is not None and not (torch.is_grad_enabled() and pos.requires_grad)
        key = (grid_h, grid_w, dtype, pos.device, pos.data_ptr(), version)
        if cacheable and key in self._pos_cache:
            return self._pos_cache[key]
        result = self._modality_pos(grid_h, grid_w, dtype)
        if cacheable:
            if len(self._pos_cache) >= 16:
                self._pos_cache.clear()
            self._pos_cache[key] = result
        return result

    def _modality_pos(self, grid_h: int, grid_w: int, dtype: torch.dtype
                      ) -> Tuple[torch.Tensor, torch.Tensor]:
        base = self.interpolated_pos_embed(grid_h, grid_w).to(dtype)
        return IMAGE_OFFSET + base, DEPTH_OFFSET + base

    def freeze_pos_embed(self, grid_h: int, grid_w: int, dtype: torch.dtype = torch.float32
                         ) -> None:
        """
        Compute the position encodings of one grid now; traced graphs use them as constants.

        An exported graph then holds the resized encodings instead of a bicubic resize
        of the stored grid (whose scale-factor form ONNX runtimes do not all reproduce).

        :param grid_h: token rows.
        :param grid_w: token columns.
        :param dtype: dtype of the patch tokens (float32 for export).
        """
        with torch.no_grad():
            encodings = self._modality_pos(grid_h, grid_w, dtype)
        self._frozen_pos[(grid_h, grid_w, dtype)] = tuple(e.detach() for e in encodings)

    @property
    def has_amodal_guidance(self) -> bool:
        """Whether the backbone has the amodal guidance embedding."""
        return hasattr(self, 'amodal_patch_embed')

    def prepare_tokens(self, image: torch.Tensor, depth: Optional[torch.Tensor],
                       depth_keep: torch.Tensor, static_shapes: bool = False,
                       guidance: Optional[torch.Tensor] = None
                       ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """
        Build the token sequences of a batch.

        :param image: normalised image (B, 3, 14h, 14w).
        :param depth: remapped depth (B, 1, 14h, 14w), or None for no depth at all.
        :param depth_keep: bool (B, h*w), which depth tokens take part.
        :param static_shapes: keep every depth position and mask the dropped ones as
            attention keys instead of removing them (fixed shapes for export).
        :param guidance: amodal guidance (B, 3, 14h, 14w) or None (none given).
        :return: (tokens (B, L, D), key mask bool (B, L) or None when all attend).
        """
        batch = image.shape[0]
        grid_h, grid_w = image.shape[-2] // PATCH_SIZE, image.shape[-1] // PATCH_SIZE
        img_tokens = self.patch_embed(image)  # B, h*w, D
        if guidance is not None:
            if not self.has_amodal_guidance:
                raise ValueError('guidance: this model has no amodal guidance input '
                                 '(model_config encoder.amodal_guidance is not true)')
            img_tokens = img_tokens + self.amodal_patch_embed(guidance.to(img_tokens.dtype))
        img_pos, depth_pos = self.modality_pos_embed(grid_h, grid_w, img_tokens.dtype)
        img_tokens = img_tokens + img_pos
        cls = self.cls_token + self.pos_embed[:, :1]  # 1, 1, D
        parts = [cls.expand(batch, -1, -1)]
        if self.register_tokens is not None:
            parts.append(self.register_tokens.expand(batch, -1, -1))
        parts.append(img_tokens)
        prefix = 1 + self.num_register_tokens + img_tokens.shape[1]
        key_mask = None
        if depth is not None:
            depth_tokens = self.depth_patch_embed(depth)  # B, h*w, D
            depth_tokens = depth_tokens + depth_pos
            if static_shapes:
                real = depth_keep
                ones = torch.ones(batch, prefix, dtype=torch.bool, device=image.device)
                key_mask = torch.cat([ones, real], dim=1)  # B, L
            else:
                depth_tokens, real = select_depth_tokens(depth_tokens, depth_keep)
                if real is not None:
                    ones = torch.ones(batch, prefix, dtype=torch.bool, device=image.device)
                    key_mask = torch.cat([ones, real], dim=1)  # B, L
            parts.append(depth_tokens)
        return torch.cat(parts, dim=1), key_mask  # B, L, D

    def forward(self, image: torch.Tensor, depth: Optional[torch.Tensor],
                depth_keep: torch.Tensor, layers: Sequence[int],
                static_shapes: bool = False, guidance: Optional[torch.Tensor] = None
                ) -> List[Tuple[torch.Tensor, torch.Tensor]]:
        """
        Run the blocks and return the normalised outputs of the requested ones.

        :param image: normalised image (B, 3, 14h, 14w).
        :param depth: remapped depth (B, 1, 14h, 14w) or None.
        :param depth_keep: bool (B, h*w).
        :param layers: ascending 0-based block indices to return.
        :param static_shapes: see :meth:`prepare_tokens`.
        :param guidance: see :meth:`prepare_tokens`.
        :return: per requested block, (image-token features (B, h*w, D), cls (B, D)),
            both after the final LayerNorm.
        """
        x, key_mask = self.prepare_tokens(image, depth, depth_keep, static_shapes, guidance)
        num_image = (image.shape[-2] // PATCH_SIZE) * (image.shape[-1] // PATCH_SIZE)
        first_feature = 1 + self.num_register_tokens
        needed = first_feature + num_image  # depth-token outputs are never read
        last = layers[-1]
        outputs = []
        for index in range(last + 1):
            x = self.blocks[index](x, key_mask, needed if index == last else None)
            if index in layers:
                normed = self.norm(x[:, :needed])  # B, needed, D
                outputs.append((normed[:, first_feature:], normed[:, 0]))
        return outputs
