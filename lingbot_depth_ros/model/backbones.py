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

"""DINOv2 backbone sizes by name, as the released configs refer to them."""

from dataclasses import dataclass


@dataclass(frozen=True)
class BackboneSpec:
    """Architecture of one named ViT backbone (patch 14, 37x37 position grid)."""

    embed_dim: int
    depth: int
    num_heads: int
    ffn_layer: str = 'mlp'
    num_register_tokens: int = 0
    # DINOv2's position-embedding resize: plain backbones use the '+0.1' scale-factor
    # form without antialias, register backbones resize to the exact size with antialias.
    interpolate_antialias: bool = False
    interpolate_offset: float = 0.1


_PLAIN = {
    'dinov2_vits14': BackboneSpec(384, 12, 6),
    'dinov2_vitb14': BackboneSpec(768, 12, 12),
    'dinov2_vitl14': BackboneSpec(1024, 24, 16),
    'dinov2_vitg14': BackboneSpec(1536, 40, 24, ffn_layer='swiglu'),
}

BACKBONES = dict(_PLAIN)
BACKBONES.update({
    name + '_reg': BackboneSpec(
        spec.embed_dim, spec.depth, spec.num_heads, spec.ffn_layer,
        num_register_tokens=4, interpolate_antialias=True, interpolate_offset=0.0)
    for name, spec in _PLAIN.items()
})
# Test-only: a 2-block, 128-wide ViT with the released layout, for fast tests and demos.
# No released checkpoint uses it; its outputs are meaningless.
BACKBONES['test_vitt14'] = BackboneSpec(128, 2, 2)
# ViT-Tiny width (192) with 4 blocks: small enough to train from scratch on a CPU and run
# a 640x480 frame in under 150 ms there; the bundled trained model uses it.
BACKBONES['vitt14_4blocks'] = BackboneSpec(192, 4, 3)

PATCH_SIZE = 14
POS_GRID = 37  # 518 / 14: the position-embedding grid every DINOv2 checkpoint stores


def backbone_spec(name: str) -> BackboneSpec:
    """
    Look up a backbone by name.

    :param name: e.g. 'dinov2_vitl14' or 'dinov2_vits14_reg'.
    :return: its :class:`BackboneSpec`.
    """
    try:
        return BACKBONES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f'encoder.backbone: expected one of {sorted(BACKBONES)}, got {name!r}') from None
