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

"""Activations of the ConvStack residual blocks."""

import torch
from torch import nn
import torch.nn.functional as F

ACTIVATIONS = ('relu', 'leaky_relu', 'silu', 'elu')


def make_activation(kind: str) -> nn.Module:
    """
    Return the activation named by a ConvStack config.

    :param kind: 'relu', 'leaky_relu' (slope 0.2), 'silu' or 'elu'.
    :return: the module.
    """
    if kind == 'relu':
        return nn.ReLU()
    if kind == 'leaky_relu':
        return nn.LeakyReLU(negative_slope=0.2)
    if kind == 'silu':
        return nn.SiLU()
    if kind == 'elu':
        return nn.ELU()
    raise ValueError(f'activation: expected one of {ACTIVATIONS}, got {kind!r}')


def activate_(act: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """
    Apply an activation in place (x must be a temporary nobody else reads).

    :param act: activation module from :func:`make_activation`.
    :param x: tensor to overwrite.
    :return: ``x``.
    """
    if isinstance(act, nn.ReLU):
        return x.relu_()
    if isinstance(act, nn.LeakyReLU):
        return F.leaky_relu_(x, act.negative_slope)
    if isinstance(act, nn.SiLU):
        return F.silu(x, inplace=True)
    if isinstance(act, nn.ELU):
        return F.elu_(x, act.alpha)
    return act(x)
