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

"""RGB-D encoder: DINOv2 backbone plus the per-layer 1x1 output projections."""

from typing import Dict, List, Sequence, Tuple, Union

import torch
from torch import nn

from .backbones import backbone_spec, BackboneSpec
from .preprocess import PreparedInput
from .vit import RGBDVisionTransformer

IMAGE_MEAN = (0.485, 0.456, 0.406)
IMAGE_STD = (0.229, 0.224, 0.225)


def blocks_to_take(intermediate_layers: Union[int, Sequence[int]], depth: int) -> List[int]:
    """
    Return the ascending block indices an ``intermediate_layers`` entry selects.

    :param intermediate_layers: n (the last n blocks) or a list of 0-based indices.
    :param depth: number of blocks of the backbone.
    :return: sorted block indices.
    """
    if isinstance(intermediate_layers, bool):
        raise ValueError(f'encoder.intermediate_layers: expected an int or a list, '
                         f'got {intermediate_layers!r}')
    if isinstance(intermediate_layers, int):
        if not 1 <= intermediate_layers <= depth:
            raise ValueError(f'encoder.intermediate_layers: expected 1..{depth}, '
                             f'got {intermediate_layers}')
        return list(range(depth - intermediate_layers, depth))
    layers = list(intermediate_layers)
    if not layers or len(set(layers)) != len(layers) or any(
            not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < depth
            for i in layers):
        raise ValueError(f'encoder.intermediate_layers: expected distinct block indices in '
                         f'0..{depth - 1}, got {intermediate_layers!r}')
    return sorted(layers)


def check_encoder_config(backbone: str, intermediate_layers: Union[int, Sequence[int]],
                         dim_out: int, img_depth_fuse_mode: str = 'cat_token',
                         depth_emb_mode: str = 'conv_1c', in_chans: int = 3,
                         amodal_guidance: bool = False,
                         **training_options) -> Tuple[BackboneSpec, List[int]]:
    """
    Validate ``model_config['encoder']``; return the backbone spec and the blocks taken.

    :param backbone: backbone name, see :mod:`.backbones`.
    :param intermediate_layers: int n (last n blocks) or list of block indices.
    :param dim_out: projection width; must equal the backbone width.
    :param img_depth_fuse_mode: must be 'cat_token' (the only mode released).
    :param depth_emb_mode: must be 'conv_1c' (separate 1-channel depth embedding).
    :param in_chans: image channels; must be 3.
    :param amodal_guidance: bool; True adds the amodal guidance embedding (ours).
    :param training_options: training-only entries, ignored.
    :return: (spec, ascending block indices).
    """
    spec = backbone_spec(backbone)
    if not isinstance(amodal_guidance, bool):
        raise ValueError(f'encoder.amodal_guidance: expected true or false, '
                         f'got {amodal_guidance!r}')
    if img_depth_fuse_mode != 'cat_token':
        raise ValueError(f"encoder.img_depth_fuse_mode: expected 'cat_token', "
                         f'got {img_depth_fuse_mode!r}')
    if depth_emb_mode != 'conv_1c':
        raise ValueError(
            f"encoder.depth_emb_mode: expected 'conv_1c', got {depth_emb_mode!r}")
    if in_chans != 3:
        raise ValueError(f'encoder.in_chans: expected 3, got {in_chans}')
    if dim_out != spec.embed_dim:
        raise ValueError(
            f'encoder.dim_out: expected the {backbone} width {spec.embed_dim} (the cls '
            f'token is added to the projected features), got {dim_out}')
    return spec, blocks_to_take(intermediate_layers, spec.depth)


class RGBDEncoder(nn.Module):
    """
    Encode a prepared RGB-D input into a (B, dim_out, h, w) map and a cls token.

    The map is the sum over the selected blocks of a 1x1 projection of the normalised
    image tokens; the cls token comes from the last selected block.
    """

    def __init__(self, backbone: str, intermediate_layers: Union[int, Sequence[int]],
                 dim_out: int, img_depth_fuse_mode: str = 'cat_token',
                 depth_emb_mode: str = 'conv_1c', in_chans: int = 3,
                 img_mask_ratio: float = 0.0, amodal_guidance: bool = False,
                 **training_options):
        """
        Build the encoder from the release's ``model_config['encoder']`` entries.

        :param backbone: backbone name, see :mod:`.backbones`.
        :param intermediate_layers: int n (last n blocks) or list of block indices.
        :param dim_out: projection width; must equal the backbone width.
        :param img_depth_fuse_mode: must be 'cat_token' (the only mode released).
        :param depth_emb_mode: must be 'conv_1c' (separate 1-channel depth embedding).
        :param in_chans: image channels; must be 3.
        :param img_mask_ratio: training-only; > 0 adds the (unused) ``mask_token_mae``.
        :param amodal_guidance: add the amodal guidance embedding (not in the release).
        :param training_options: other training-only entries (depth_mask_ratio, ...),
            accepted and ignored as in the release.
        """
        super().__init__()
        spec, layers = check_encoder_config(backbone, intermediate_layers, dim_out,
                                            img_depth_fuse_mode, depth_emb_mode, in_chans,
                                            amodal_guidance)
        if img_mask_ratio > 0:
            self.mask_token_mae = nn.Parameter(torch.zeros(1, 1, spec.embed_dim))
        for name, value in self.default_buffers().items():
            self.register_buffer(name, value)
        self.backbone = RGBDVisionTransformer(spec, in_chans, amodal_guidance)
        self.layers = layers
        self.dim_out = dim_out
        self.output_projections = nn.ModuleList(
            nn.Conv2d(spec.embed_dim, dim_out, kernel_size=1) for _ in self.layers)

    @staticmethod
    def default_buffers() -> Dict[str, torch.Tensor]:
        """
        Return the constant normalisation buffers, e.g. for a model built on 'meta'.

        :return: {'image_mean': (1, 3, 1, 1), 'image_std': (1, 3, 1, 1)} on CPU.
        """
        return {'image_mean': torch.tensor(IMAGE_MEAN).view(1, 3, 1, 1),
                'image_std': torch.tensor(IMAGE_STD).view(1, 3, 1, 1)}

    def forward(self, prepared: PreparedInput, static_shapes: bool = False
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """
        Encode.

        :param prepared: output of :func:`.preprocess.prepare_inputs`.
        :param static_shapes: keep all depth positions and mask dropped ones instead of
            removing them (same result, fixed shapes).
        :return: (features (B, dim_out, h, w) before the cls token is added,
            cls token (B, D)).
        """
        outputs = self.backbone(prepared.image, prepared.depth, prepared.depth_keep,
                                self.layers, static_shapes, prepared.guidance)
        rows, cols = prepared.grid
        features = None
        for projection, (tokens, _) in zip(self.output_projections, outputs):
            grid = tokens.transpose(1, 2).unflatten(2, (rows, cols))  # B, D, h, w
            projected = projection(grid)  # B, C, h, w
            features = projected if features is None else features + projected
        return features, outputs[-1][1]
