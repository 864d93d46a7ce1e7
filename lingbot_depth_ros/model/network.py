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
MDMModel: the LingBot-Depth network with the release's API and separable stages.

Pipeline (each stage callable on its own, e.g. to time it):

* :meth:`MDMModel.preprocess` - token grid, resized/normalised image, remapped depth,
  depth-token keep mask (:class:`.preprocess.PreparedInput`).
* ``model.encoder(prepared)`` - ViT and projections: features (B, D, h, w), cls (B, D).
* :meth:`MDMModel.decode` - cls broadcast-add, UV maps, neck and heads: raw head
  outputs at 16x the token grid.
* :meth:`MDMModel.postprocess` - resize to the input size, exp / sigmoid.

:meth:`MDMModel.forward` chains them; :meth:`MDMModel.infer` adds the release's
inference conveniences (batch dim, autocast, mask threshold, points, +inf masking).
"""

import contextlib
import copy
from typing import Any, Dict, Optional, Union
import warnings

import torch
from torch import nn
import torch.nn.functional as F

from .checkpoint import (check_state_dict, CheckpointError, normalize_state_keys,
                         read_checkpoint, resolve_checkpoint)
from .configs import IGNORED_KEYS, validate_model_config
from .decoder import ConvStack, NUM_LEVELS, UVCache
from .encoder import RGBDEncoder
from .preprocess import (num_tokens_for_level, prepare_guidance, prepare_inputs,
                         PreparedInput, token_grid)


def depth_to_points(depth: torch.Tensor, intrinsics: torch.Tensor) -> torch.Tensor:
    """
    Back-project depth with normalised intrinsics (pixel indices, no half-pixel offset).

    fx = K[0,0] W, fy = K[1,1] H, cx = K[0,2] W, cy = K[1,2] H;
    x = (u - cx) z / fx, y = (v - cy) z / fy for column u and row v.

    :param depth: (B, H, W) metres.
    :param intrinsics: normalised (B, 3, 3) or (3, 3).
    :return: (B, H, W, 3).
    """
    batch, height, width = depth.shape
    k = intrinsics.to(device=depth.device, dtype=depth.dtype).expand(batch, 3, 3)
    fx, fy = k[:, 0, 0] * width, k[:, 1, 1] * height  # B
    cx, cy = k[:, 0, 2] * width, k[:, 1, 2] * height  # B
    u = torch.arange(width, device=depth.device, dtype=depth.dtype)  # W
    v = torch.arange(height, device=depth.device, dtype=depth.dtype)  # H
    x = (u[None, None, :] - cx[:, None, None]) * depth / fx[:, None, None]  # B, H, W
    y = (v[None, :, None] - cy[:, None, None]) * depth / fy[:, None, None]  # B, H, W
    return torch.stack([x, y, depth], dim=-1)  # B, H, W, 3


class MDMModel(nn.Module):
    """
    LingBot-Depth masked-depth-modelling network (release-compatible API).

    Runtime options that the release does not have (both default off, so outputs
    stay identical to the release):

    * ``fix_unit_depth_hole``: in 'log' depth remapping, a reading of exactly 1.000 m
      becomes ln(1) = 0, the hole code, so patches holding only such readings lose
      their depth token (as in the release). True decides token survival from the
      reading's validity instead, keeping them.
    * ``static_shapes``: keep every depth-token position and mask dropped ones as
      attention keys instead of removing them; equal outputs, fixed tensor shapes
      (what ONNX / TensorRT export needs).
    """

    def __init__(self, encoder: Dict[str, Any], neck: Dict[str, Any],
                 depth_head: Optional[Dict[str, Any]] = None,
                 mask_head: Optional[Dict[str, Any]] = None,
                 remap_depth_in: str = 'log', remap_depth_out: str = 'exp',
                 num_tokens_range=(1200, 3600), fix_unit_depth_hole: bool = False,
                 static_shapes: bool = False, **ignored):
        """
        Build the network from a release ``model_config`` (``MDMModel(**config)``).

        :param encoder: encoder config (backbone, intermediate_layers, dim_out, ...).
        :param neck: ConvStack config of the shared neck.
        :param depth_head: ConvStack config of the depth head (required).
        :param mask_head: ConvStack config of the optional mask head.
        :param remap_depth_in: 'log' or 'linear' depth input encoding.
        :param remap_depth_out: 'exp' or 'linear' depth output decoding.
        :param num_tokens_range: (min, max) token budget for ``resolution_level``.
        :param fix_unit_depth_hole: see the class docstring.
        :param static_shapes: see the class docstring.
        :param ignored: 'normal_head', 'scale_head', 'remap_output': accepted and unused, as
            by the release; any other entry is an error naming it.
        """
        super().__init__()
        config = {'encoder': encoder, 'neck': neck, 'depth_head': depth_head,
                  'mask_head': mask_head, 'remap_depth_in': remap_depth_in,
                  'remap_depth_out': remap_depth_out,
                  'num_tokens_range': list(num_tokens_range)}
        validate_model_config(config)
        unknown = sorted(set(ignored) - set(IGNORED_KEYS))
        if unknown:
            raise ValueError(f'model_config: unknown entries {unknown}: expected encoder, '
                             f'neck, depth_head, mask_head, remap_depth_in, remap_depth_out, '
                             f'num_tokens_range (and {", ".join(IGNORED_KEYS)}, which the '
                             f'release ignores too)')
        if ignored:
            warnings.warn(f'MDMModel: ignoring config entries {sorted(ignored)}, as the '
                          f'release does', stacklevel=2)
        self.model_config = copy.deepcopy(
            {k: v for k, v in config.items() if v is not None or k in ('encoder', 'neck')})
        self.model_config.update(copy.deepcopy(ignored))
        self.remap_depth_in = remap_depth_in
        self.remap_depth_out = remap_depth_out
        self.num_tokens_range = list(num_tokens_range)
        self.fix_unit_depth_hole = fix_unit_depth_hole
        self.static_shapes = static_shapes
        self.decoder_channels_last: Optional[bool] = None  # None: channels-last on CPU
        self.encoder = RGBDEncoder(**encoder)
        self.neck = ConvStack(**neck)
        self.depth_head = ConvStack(**depth_head)
        if mask_head is not None:
            self.mask_head = ConvStack(**mask_head)
        self._uv_cache = UVCache()

    @property
    def device(self) -> torch.device:
        """Device of the parameters."""
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        """Dtype of the parameters."""
        return next(self.parameters()).dtype

    @property
    def has_mask_head(self) -> bool:
        """Whether the config has a mask head (``mask`` outputs exist)."""
        return hasattr(self, 'mask_head')

    @property
    def has_amodal_guidance(self) -> bool:
        """Whether the model takes an amodal mask (``encoder.amodal_guidance``)."""
        return self.encoder.backbone.has_amodal_guidance

    @classmethod
    def from_state(cls, config: Dict[str, Any], state: Dict[str, torch.Tensor],
                   source: str = 'checkpoint', **model_kwargs) -> 'MDMModel':
        """
        Build a model from a config and load a state dict strictly, without double memory.

        :param config: the model_config.
        :param state: the state dict (its tensors become the model's storage).
        :param source: name used in error messages.
        :param model_kwargs: keyword overrides of the config / model options.
        :return: the model on CPU, float32, eval mode.
        :raises CheckpointError: for a config the model rejects or any key mismatch.
        """
        config = {**config, **model_kwargs}
        try:
            with torch.device('meta'):
                model = cls(**config)
        except (ValueError, TypeError) as error:
            raise CheckpointError(f'{source}: model_config rejected: {error}') from error
        state = normalize_state_keys(state, model.state_dict().keys())
        check_state_dict(model, state, source)
        state = {k: (v.float() if v.is_floating_point() else v) for k, v in state.items()}
        model.load_state_dict(state, strict=True, assign=True)
        return model.eval()

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, model_kwargs=None,
                        **hf_kwargs) -> 'MDMModel':
        """
        Load a checkpoint (strictly): model.pt, a directory, .safetensors or a HF repo id.

        :param pretrained_model_name_or_path: path or Hugging Face repo id.
        :param model_kwargs: entries overriding the checkpoint's model_config.
        :param hf_kwargs: passed to ``huggingface_hub.hf_hub_download`` for repo ids.
        :return: the model on CPU in eval mode.
        """
        path = resolve_checkpoint(str(pretrained_model_name_or_path), **hf_kwargs)
        config, state = read_checkpoint(path)
        return cls.from_state(config, state, str(path), **dict(model_kwargs or {}))

    def preprocess(self, image: torch.Tensor, num_tokens, depth: Optional[torch.Tensor] = None,
                   enable_depth_mask: bool = True,
                   fix_unit_depth_hole: Optional[bool] = None,
                   amodal_mask: Optional[torch.Tensor] = None,
                   amodal_depth: Optional[torch.Tensor] = None) -> PreparedInput:
        """
        Prepare the encoder input (first pipeline stage).

        :param image: RGB in [0, 1], (B, 3, H, W).
        :param num_tokens: token budget (int or 0-d tensor).
        :param depth: metres (B, H, W) or (B, 1, H, W); None = monocular (no depth
            tokens, the same as an all-zero depth map).
        :param enable_depth_mask: drop depth tokens of patches without a usable reading.
        :param fix_unit_depth_hole: override the model's flag for this call.
        :param amodal_mask: (B, H, W) 1 inside an object's full extent, or None (no
            amodal guidance: the plain completion).
        :param amodal_depth: (B, H, W) metres of the object's visible part, 0 elsewhere.
        :return: the prepared input.
        """
        grid = token_grid(num_tokens, image.shape[-2], image.shape[-1])
        fix = self.fix_unit_depth_hole if fix_unit_depth_hole is None else fix_unit_depth_hole
        prepared = prepare_inputs(image, depth, grid, self.encoder.image_mean,
                                  self.encoder.image_std, self.remap_depth_in,
                                  enable_depth_mask, fix)
        if amodal_mask is not None:
            if not self.has_amodal_guidance:
                raise ValueError('amodal_mask: this model has no amodal guidance input '
                                 '(model_config encoder.amodal_guidance is not true)')
            if amodal_mask.shape[0] != image.shape[0] \
                    or tuple(amodal_mask.shape[-2:]) != tuple(image.shape[-2:]):
                raise ValueError(f'amodal_mask: expected ({image.shape[0]}, '
                                 f'{image.shape[-2]}, {image.shape[-1]}), '
                                 f'got {tuple(amodal_mask.shape)}')
            prepared.guidance = prepare_guidance(amodal_mask, amodal_depth, grid,
                                                 self.remap_depth_in).to(prepared.image.dtype)
        return prepared

    def channels_last_decoder(self, features: torch.Tensor) -> bool:
        """
        Tell whether the decoder runs in channels-last memory format for these features.

        :param features: encoder output.
        :return: ``self.decoder_channels_last`` when set, else True on CPU.
        """
        if self.decoder_channels_last is not None:
            return self.decoder_channels_last
        return features.device.type == 'cpu'

    def decode(self, features: torch.Tensor, cls_token: torch.Tensor,
               aspect_ratio: float) -> Dict[str, torch.Tensor]:
        """
        Run neck and heads (third pipeline stage).

        :param features: encoder output (B, D, h, w).
        :param cls_token: (B, D); broadcast-added to the features.
        :param aspect_ratio: input width / height (for the UV maps).
        :return: {'depth': (B, 1, 16h, 16w) raw, 'mask': logits (if a mask head)}.
        """
        batch, _, rows, cols = features.shape
        features = features + cls_token[..., None, None]  # B, D, h, w
        # Channels-last lets oneDNN run the convolutions without layout reorders
        # (about 2x faster decoder on CPU); outputs stay within float32 rounding.
        layout = torch.channels_last if self.channels_last_decoder(features) \
            else torch.contiguous_format
        uv = self._uv_cache.get(rows, cols, aspect_ratio, features.dtype, features.device)
        uv = [m.expand(batch, -1, -1, -1).contiguous(memory_format=layout)
              for m in uv]  # B, 2, ., .
        levels = [torch.cat([features, uv[0]], dim=1).contiguous(memory_format=layout)]
        levels += uv[1:NUM_LEVELS]
        neck = self.neck(levels)
        heads = {'depth': self.depth_head(neck)[-1]}
        if self.has_mask_head:
            heads['mask'] = self.mask_head(neck)[-1]
        return heads

    def postprocess(self, heads: Dict[str, torch.Tensor], image_size) -> Dict[str, torch.Tensor]:
        """
        Resize head outputs to the input size and decode them (last pipeline stage).

        Bilinear, half-pixel centres, no antialias (also when shrinking), as released.

        :param heads: output of :meth:`decode`.
        :param image_size: (H, W).
        :return: {'depth_reg': (B, H, W), 'mask': probability (B, H, W) if present}.
        """
        size = tuple(int(s) for s in image_size)
        out = {}
        for name, value in heads.items():
            if tuple(value.shape[-2:]) != size:
                value = F.interpolate(value, size, mode='bilinear', align_corners=False,
                                      antialias=False)
            out[name] = value[:, 0]  # B, H, W
        depth = out.pop('depth')
        result = {'depth_reg': depth.exp() if self.remap_depth_out == 'exp' else depth}
        if 'mask' in out:
            result['mask'] = out['mask'].sigmoid()
        return result

    def forward(self, image: torch.Tensor, num_tokens, depth: Optional[torch.Tensor] = None,
                enable_depth_mask: bool = True, static_shapes: Optional[bool] = None,
                fix_unit_depth_hole: Optional[bool] = None,
                amodal_mask: Optional[torch.Tensor] = None,
                amodal_depth: Optional[torch.Tensor] = None, **ignored
                ) -> Dict[str, torch.Tensor]:
        """
        Predict depth (and mask probability) for a batch; no masking is applied.

        :param image: RGB in [0, 1], (B, 3, H, W).
        :param num_tokens: token budget.
        :param depth: metres (B, H, W) / (B, 1, H, W), or None for monocular input.
        :param enable_depth_mask: drop depth tokens without a usable reading (default).
        :param static_shapes: override the model's static-shape flag for this call.
        :param fix_unit_depth_hole: override the model's 1.000 m flag for this call.
        :param amodal_mask: see :meth:`preprocess` (models with amodal guidance).
        :param amodal_depth: see :meth:`preprocess`.
        :param ignored: other keywords the release passes through (ignored, warned).
        :return: {'depth_reg': (B, H, W), 'mask': (B, H, W) probability if present}.
        """
        if ignored:
            warnings.warn(f'MDMModel.forward: ignoring keyword arguments {sorted(ignored)}',
                          stacklevel=2)
        prepared = self.preprocess(image, num_tokens, depth, enable_depth_mask,
                                   fix_unit_depth_hole, amodal_mask, amodal_depth)
        static = self.static_shapes if static_shapes is None else static_shapes
        features, cls_token = self.encoder(prepared, static_shapes=static)
        heads = self.decode(features, cls_token, prepared.aspect_ratio)
        return self.postprocess(heads, prepared.image_size)

    def autocast(self, use_fp16: Union[bool, torch.dtype]):
        """
        Return the autocast context ``infer`` uses.

        :param use_fp16: False (full precision), True (bfloat16 as the release does;
            float16 on GPUs without bfloat16) or an explicit dtype.
        :return: a context manager.
        """
        if use_fp16 is False or use_fp16 is None:
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if use_fp16 is True else use_fp16
        if use_fp16 is True and self.device.type == 'cuda' \
                and not torch.cuda.is_bf16_supported():
            dtype = torch.float16
        if self.dtype == dtype:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    @torch.inference_mode()
    def infer(self, image: torch.Tensor, depth_in: Optional[torch.Tensor] = None,
              num_tokens: Optional[int] = None, resolution_level: int = 9,
              apply_mask: bool = True, use_fp16: Union[bool, torch.dtype] = True,
              intrinsics: Optional[torch.Tensor] = None, enable_depth_mask: bool = True,
              **kwargs) -> Dict[str, torch.Tensor]:
        """
        Run the release's user-level inference.

        :param image: RGB in [0, 1], (3, H, W) or (B, 3, H, W); any device/dtype.
        :param depth_in: metres, (H, W), (B, H, W) or (B, 1, H, W); None = monocular.
        :param num_tokens: token budget; None derives it from ``resolution_level``.
        :param resolution_level: 0..9, used when ``num_tokens`` is None.
        :param apply_mask: set depth and points to +inf where the mask is False.
        :param use_fp16: True = bfloat16 autocast (release default), False = full
            precision, or an explicit autocast dtype.
        :param intrinsics: normalised (3, 3) or (B, 3, 3); enables ``points``.
        :param enable_depth_mask: drop depth tokens without a usable reading.
        :param kwargs: ``static_shapes`` / ``fix_unit_depth_hole`` overrides.
        :return: {'depth': (B, H, W) float32, 'points': (B, H, W, 3) when intrinsics are
            given, 'mask': bool (B, H, W) when the model has a mask head}; the batch
            dim is dropped again for a 3-D image.
        """
        single = image.dim() == 3
        image = (image[None] if single else image).to(dtype=self.dtype, device=self.device)
        if depth_in is not None:
            if depth_in.dim() == 2:
                depth_in = depth_in[None]
            depth_in = depth_in.to(dtype=self.dtype, device=self.device)
        if num_tokens is None:
            num_tokens = num_tokens_for_level(self.num_tokens_range, resolution_level)
        with self.autocast(use_fp16):
            output = self.forward(image, num_tokens, depth_in,
                                  enable_depth_mask=enable_depth_mask, **kwargs)
        depth = output['depth_reg'].float()
        mask = output['mask'].float() > 0.5 if 'mask' in output else None
        result = {}
        points = depth_to_points(depth, intrinsics) if intrinsics is not None else None
        if apply_mask and mask is not None:
            inf = torch.tensor(float('inf'), device=depth.device)
            depth = torch.where(mask, depth, inf)
            if points is not None:
                points = torch.where(mask[..., None], points, inf)
        result['depth'] = depth
        if points is not None:
            result['points'] = points
        if mask is not None:
            result['mask'] = mask
        if single:
            result = {k: v[0] for k, v in result.items()}
        return result
