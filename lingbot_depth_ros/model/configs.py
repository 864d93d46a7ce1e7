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
Model configurations: the golden-fixture configs, a tiny test config, validation.

A config is the ``model_config`` dict a released ``model.pt`` carries, i.e. the keyword
arguments of :class:`MDMModel`.
"""

import copy
from typing import Any, Dict

from .decoder import NUM_LEVELS
from .encoder import check_encoder_config
from .layers import ACTIVATIONS, NORMS, RESAMPLERS

_CT4 = ['conv_transpose'] * 4
_HEAD_OUT = [None, None, None, None, 1]

CONFIGS: Dict[str, Dict[str, Any]] = {
    # The three configurations of test/data/golden (model_config in each JSON).
    'vits_a': {
        'encoder': {'backbone': 'dinov2_vits14', 'intermediate_layers': 1, 'dim_out': 384,
                    'img_depth_fuse_mode': 'cat_token', 'depth_emb_mode': 'conv_1c'},
        'neck': {'dim_in': [386, 2, 2, 2, 2], 'dim_out': None,
                 'dim_res_blocks': [64, 64, 32, 32, 32], 'num_res_blocks': 1,
                 'resamplers': _CT4},
        'depth_head': {'dim_in': [64, 64, 32, 32, 32], 'dim_out': _HEAD_OUT,
                       'dim_res_blocks': [64, 64, 32, 32, 32], 'num_res_blocks': 1,
                       'resamplers': _CT4},
        'mask_head': {'dim_in': [64, 64, 32, 32, 32], 'dim_out': _HEAD_OUT,
                      'dim_res_blocks': [64, 64, 32, 32, 32], 'num_res_blocks': 1,
                      'resamplers': _CT4},
        'remap_depth_in': 'log', 'remap_depth_out': 'exp', 'num_tokens_range': [1200, 3600],
    },
    'vits_b': {
        'encoder': {'backbone': 'dinov2_vits14', 'intermediate_layers': [2, 5, 8, 11],
                    'dim_out': 384, 'img_depth_fuse_mode': 'cat_token',
                    'depth_emb_mode': 'conv_1c'},
        'neck': {'dim_in': [386, 2, 2, 2, 2], 'dim_out': None,
                 'dim_res_blocks': [96, 64, 32, 32, 16], 'num_res_blocks': [0, 2, 1, 1, 0],
                 'dim_times_res_block_hidden': 2, 'res_block_in_norm': 'none',
                 'res_block_hidden_norm': 'none',
                 'resamplers': ['pixel_shuffle', 'bilinear', 'nearest', 'bilinear']},
        'depth_head': {'dim_in': [96, 64, 32, 32, 16], 'dim_out': _HEAD_OUT,
                       'dim_res_blocks': [96, 64, 32, 32, 16],
                       'num_res_blocks': [0, 1, 1, 1, 0], 'res_block_in_norm': 'none',
                       'res_block_hidden_norm': 'none',
                       'resamplers': ['bilinear', 'pixel_shuffle', 'conv_transpose',
                                      'bilinear']},
        'remap_depth_in': 'linear', 'remap_depth_out': 'linear',
        'num_tokens_range': [1200, 3600],
    },
    'vitl_moge2like': {
        'encoder': {'backbone': 'dinov2_vitl14', 'intermediate_layers': [5, 11, 17, 23],
                    'dim_out': 1024, 'img_depth_fuse_mode': 'cat_token',
                    'depth_emb_mode': 'conv_1c'},
        'neck': {'dim_in': [1026, 2, 2, 2, 2], 'dim_out': None,
                 'dim_res_blocks': [1024, 256, 128, 64, 32], 'num_res_blocks': [0, 2, 2, 2, 0],
                 'res_block_in_norm': 'none', 'res_block_hidden_norm': 'none',
                 'resamplers': ['conv_transpose'] * 3 + ['bilinear']},
        'depth_head': {'dim_in': [1024, 256, 128, 64, 32], 'dim_out': _HEAD_OUT,
                       'dim_res_blocks': [1024, 256, 128, 64, 32],
                       'num_res_blocks': [0, 1, 1, 1, 0], 'res_block_in_norm': 'none',
                       'res_block_hidden_norm': 'none',
                       'resamplers': ['conv_transpose'] * 3 + ['bilinear']},
        'mask_head': {'dim_in': [1024, 256, 128, 64, 32], 'dim_out': _HEAD_OUT,
                      'dim_res_blocks': [1024, 256, 128, 64, 32],
                      'num_res_blocks': [0, 1, 1, 1, 0], 'res_block_in_norm': 'none',
                      'res_block_hidden_norm': 'none',
                      'resamplers': ['conv_transpose'] * 3 + ['bilinear']},
        'remap_depth_in': 'log', 'remap_depth_out': 'exp', 'num_tokens_range': [1200, 3600],
    },
    # Benchmarks: the release's ViT-L encoder (one intermediate layer, dim_out 1024) with
    # the vitl_moge2like decoder, for GPU figures at the release's encoder cost.
    'vitl_release_like': {
        'encoder': {'backbone': 'dinov2_vitl14', 'intermediate_layers': 1, 'dim_out': 1024,
                    'img_depth_fuse_mode': 'cat_token', 'depth_emb_mode': 'conv_1c'},
        'neck': 'vitl_moge2like', 'depth_head': 'vitl_moge2like', 'mask_head': 'vitl_moge2like',
        'remap_depth_in': 'log', 'remap_depth_out': 'exp', 'num_tokens_range': [1200, 3600],
    },
    # Test/demo only: the 2-block 'test_vitt14' backbone and a narrow decoder; random
    # weights give meaningless depth, but every code path of the released layout runs.
    'tiny': {
        'encoder': {'backbone': 'test_vitt14', 'intermediate_layers': [0, 1], 'dim_out': 128,
                    'img_depth_fuse_mode': 'cat_token', 'depth_emb_mode': 'conv_1c'},
        'neck': {'dim_in': [130, 2, 2, 2, 2], 'dim_out': None,
                 'dim_res_blocks': [32, 32, 16, 16, 8], 'num_res_blocks': [1, 1, 0, 0, 0],
                 'res_block_in_norm': 'layer_norm', 'res_block_hidden_norm': 'layer_norm',
                 'resamplers': ['conv_transpose', 'pixel_shuffle', 'bilinear', 'nearest']},
        'depth_head': {'dim_in': [32, 32, 16, 16, 8], 'dim_out': _HEAD_OUT,
                       'dim_res_blocks': [32, 32, 16, 16, 8], 'num_res_blocks': [1, 0, 0, 0, 0],
                       'res_block_in_norm': 'none', 'res_block_hidden_norm': 'none',
                       'resamplers': _CT4},
        'mask_head': {'dim_in': [32, 32, 16, 16, 8], 'dim_out': _HEAD_OUT,
                      'dim_res_blocks': [32, 32, 16, 16, 8], 'num_res_blocks': 0,
                      'res_block_in_norm': 'none', 'res_block_hidden_norm': 'none',
                      'resamplers': _CT4},
        'remap_depth_in': 'log', 'remap_depth_out': 'exp', 'num_tokens_range': [1200, 3600],
    },
    # Trained here from scratch on CPU (lingbot-depth train; the bundled model): the
    # 'tiny' decoder layout, wider at the coarse levels, on the 4-block ViT-Tiny. Its
    # token range is the grids it was trained at (12x16 crops): larger grids lose accuracy.
    'vitt4': {
        'encoder': {'backbone': 'vitt14_4blocks', 'intermediate_layers': [1, 3],
                    'dim_out': 192, 'img_depth_fuse_mode': 'cat_token',
                    'depth_emb_mode': 'conv_1c'},
        'neck': {'dim_in': [194, 2, 2, 2, 2], 'dim_out': None,
                 'dim_res_blocks': [48, 32, 16, 16, 8], 'num_res_blocks': [1, 1, 0, 0, 0],
                 'res_block_in_norm': 'layer_norm', 'res_block_hidden_norm': 'layer_norm',
                 'resamplers': ['conv_transpose', 'pixel_shuffle', 'bilinear', 'nearest']},
        'depth_head': {'dim_in': [48, 32, 16, 16, 8], 'dim_out': _HEAD_OUT,
                       'dim_res_blocks': [48, 32, 16, 16, 8], 'num_res_blocks': [1, 0, 0, 0, 0],
                       'res_block_in_norm': 'none', 'res_block_hidden_norm': 'none',
                       'resamplers': _CT4},
        'mask_head': {'dim_in': [48, 32, 16, 16, 8], 'dim_out': _HEAD_OUT,
                      'dim_res_blocks': [48, 32, 16, 16, 8], 'num_res_blocks': 0,
                      'res_block_in_norm': 'none', 'res_block_hidden_norm': 'none',
                      'resamplers': _CT4},
        'remap_depth_in': 'log', 'remap_depth_out': 'exp', 'num_tokens_range': [192, 432],
    },
}

# Decoder stacks given by name are those of that config.
for _config in CONFIGS.values():
    for _stack in ('neck', 'depth_head', 'mask_head'):
        if isinstance(_config.get(_stack), str):
            _config[_stack] = copy.deepcopy(CONFIGS[_config[_stack]][_stack])

# The same networks with the amodal guidance input (amodal depth, fine-tuned from them).
for _name in ('tiny', 'vitt4'):
    CONFIGS[f'{_name}_amodal'] = copy.deepcopy(CONFIGS[_name])
    CONFIGS[f'{_name}_amodal']['encoder']['amodal_guidance'] = True

# Keys the release accepts in a model_config without building anything from them.
IGNORED_KEYS = ('normal_head', 'scale_head', 'remap_output')


def get_config(name: str) -> Dict[str, Any]:
    """
    Return a deep copy of a named config.

    :param name: 'vits_a', 'vits_b', 'vitl_moge2like', 'vitl_release_like', 'vitt4',
        'tiny', or 'vitt4_amodal' / 'tiny_amodal' (with the amodal guidance input).
    :return: the model_config dict.
    """
    if name not in CONFIGS:
        raise ValueError(f'config: expected one of {sorted(CONFIGS)}, got {name!r}')
    return copy.deepcopy(CONFIGS[name])


def _levels(stack: Dict[str, Any], field: str, name: str) -> list:
    value = stack.get(field)
    if isinstance(value, (list, tuple)):
        if len(value) != NUM_LEVELS:
            raise ValueError(f'{name}.{field}: expected {NUM_LEVELS} entries, got {len(value)}')
        return list(value)
    return [value] * NUM_LEVELS


def _check_stack(stack: Any, name: str) -> list:
    """
    Check one ConvStack entry; return its per-level output channels.

    :param stack: the config dict of the stack.
    :param name: its key, for errors.
    :return: output channels per level.
    """
    if not isinstance(stack, dict):
        raise ValueError(f'{name}: expected a dict, got {type(stack).__name__}')
    res = stack.get('dim_res_blocks')
    if not isinstance(res, (list, tuple)) or len(res) != NUM_LEVELS or not all(
            isinstance(c, int) and c > 0 for c in res):
        raise ValueError(f'{name}.dim_res_blocks: expected {NUM_LEVELS} positive ints, '
                         f'got {res!r}')
    resamplers = stack.get('resamplers')
    if isinstance(resamplers, str):
        raise ValueError(
            f'{name}.resamplers: expected a list of {NUM_LEVELS - 1} names, got the string '
            f'{resamplers!r} (the release iterates it character by character and fails)')
    if not isinstance(resamplers, (list, tuple)) or len(resamplers) != NUM_LEVELS - 1 or any(
            r not in RESAMPLERS for r in resamplers):
        raise ValueError(f'{name}.resamplers: expected {NUM_LEVELS - 1} of {RESAMPLERS}, '
                         f'got {resamplers!r}')
    counts = _levels(stack, 'num_res_blocks', name) if 'num_res_blocks' in stack \
        else [1] * NUM_LEVELS
    if not all(isinstance(n, int) and n >= 0 for n in counts):
        raise ValueError(f'{name}.num_res_blocks: expected ints >= 0, got {counts!r}')
    factor = stack.get('dim_times_res_block_hidden', 1)
    for field, default in (('res_block_in_norm', 'layer_norm'),
                           ('res_block_hidden_norm', 'group_norm')):
        kind = stack.get(field, default)
        if kind not in NORMS:
            raise ValueError(f'{name}.{field}: expected one of {NORMS}, got {kind!r}')
        if kind != 'group_norm':
            continue
        scale = factor if field == 'res_block_hidden_norm' else 1
        for level, (c, n) in enumerate(zip(res, counts)):
            channels = c * scale
            if n and (channels < 32 or channels % (channels // 32)):
                raise ValueError(
                    f'{name}.{field}: group_norm uses channels // 32 groups and needs at '
                    f'least 32 channels divisible by them; level {level} has {channels}')
    activation = stack.get('activation', 'relu')
    if activation not in ACTIVATIONS:
        raise ValueError(
            f'{name}.activation: expected one of {ACTIVATIONS}, got {activation!r}')
    dims_out = _levels(stack, 'dim_out', name)
    return [c if d is None else d for c, d in zip(res, dims_out)]


def _check_inputs(stack: Dict[str, Any], name: str, provided: list) -> None:
    """
    Check that a stack's dim_in matches the channels it will receive.

    :param stack: the config dict of the stack.
    :param name: its key, for errors.
    :param provided: channels arriving at each level.
    """
    dims_in = _levels(stack, 'dim_in', name)
    for level, (d, got, c) in enumerate(zip(dims_in, provided, stack['dim_res_blocks'])):
        if (d is None and got != c) or (d is not None and d != got):
            raise ValueError(f'{name}.dim_in[{level}]: receives {got} channels, config says '
                             f'{d!r} (with dim_res_blocks {c})')


def validate_model_config(config: Dict[str, Any]) -> None:
    """
    Reject configs the release would accept but could not run, with a clear message.

    Checks: known backbone, ``encoder.dim_out`` equal to the backbone width, valid
    ``intermediate_layers``, five-level stacks whose channels chain (neck level 0 gets
    dim_out + 2 UV channels, levels 1..4 the 2 UV channels, heads the neck outputs),
    ``resamplers`` as a list of known kinds, group_norm only with >= 32 channels,
    one-channel depth/mask outputs, and known remap modes.

    :param config: the model_config dict.
    """
    if not isinstance(config, dict):
        raise ValueError(f'model_config: expected a dict, got {type(config).__name__}')
    encoder = config.get('encoder')
    if not isinstance(encoder, dict):
        raise ValueError(f'encoder: expected a dict, got {type(encoder).__name__}')
    try:
        check_encoder_config(**encoder)
    except TypeError as error:  # a required entry is absent
        raise ValueError(f'encoder: {error}') from None
    dim_out = encoder['dim_out']
    if config.get('depth_head') is None:
        raise ValueError('depth_head: expected a ConvStack config, got None')
    neck_out = _check_stack(config.get('neck'), 'neck')
    _check_inputs(config['neck'], 'neck', [dim_out + 2] + [2] * (NUM_LEVELS - 1))
    for head in ('depth_head', 'mask_head'):
        if config.get(head) is None:
            continue
        out = _check_stack(config[head], head)
        _check_inputs(config[head], head, neck_out)
        if out[-1] != 1:
            raise ValueError(f'{head}.dim_out[-1]: expected 1 channel, got {out[-1]}')
    for field, allowed in (('remap_depth_in', ('log', 'linear')),
                           ('remap_depth_out', ('exp', 'linear'))):
        value = config.get(field, allowed[0])
        if value not in allowed:
            raise ValueError(f'{field}: expected one of {allowed}, got {value!r}')
    token_range = config.get('num_tokens_range', [1200, 3600])
    if not isinstance(token_range, (list, tuple)) or len(token_range) != 2 or not all(
            isinstance(n, int) and n > 0 for n in token_range):
        raise ValueError(f'num_tokens_range: expected [min, max] positive ints, '
                         f'got {token_range!r}')
