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
One process or a ``torchrun`` job: rank, device and the DistributedDataParallel wrap.

``torchrun`` sets RANK / WORLD_SIZE / LOCAL_RANK and the rendezvous address; the
process group uses NCCL on GPUs and gloo on CPUs.
"""

from dataclasses import dataclass
import os

import torch
from torch import nn
import torch.distributed as dist


@dataclass
class DistributedContext:
    """
    Where this process stands in a job.

    :ivar rank: global rank.
    :ivar world_size: number of processes.
    :ivar device: this process's device.
    """

    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """Return whether this process writes checkpoints and logs."""
        return self.rank == 0

    @classmethod
    def single(cls, device: str = 'cpu') -> 'DistributedContext':
        """Return the context of a plain single-process run."""
        return cls(0, 1, torch.device(device))

    @classmethod
    def from_environment(cls, device: str = 'auto') -> 'DistributedContext':
        """
        Join the ``torchrun`` job this process belongs to, if any.

        :param device: 'auto' (cuda:LOCAL_RANK when CUDA is present, else cpu), 'cpu'
            or 'cuda'.
        :return: the context; a single-process one when WORLD_SIZE is unset or 1.
        """
        world = int(os.environ.get('WORLD_SIZE', '1'))
        local = int(os.environ.get('LOCAL_RANK', '0'))
        if device == 'auto':
            device = 'cuda' if torch.cuda.is_available() else 'cpu'
        if device == 'cuda':
            if not torch.cuda.is_available():
                raise ValueError('device: expected cpu (CUDA is not available), got cuda')
            device = f'cuda:{local}'
            torch.cuda.set_device(device)
        if world <= 1:
            return cls.single(device)
        if not dist.is_initialized():
            dist.init_process_group('nccl' if device.startswith('cuda') else 'gloo')
        return cls(dist.get_rank(), dist.get_world_size(), torch.device(device))

    def wrap(self, module: nn.Module) -> nn.Module:
        """Return ``module`` in DistributedDataParallel when this is a multi-process job."""
        if self.world_size <= 1:
            return module
        ids = [self.device.index] if self.device.type == 'cuda' else None
        return nn.parallel.DistributedDataParallel(module, device_ids=ids)

    def close(self) -> None:
        """Leave the process group."""
        if self.world_size > 1 and dist.is_initialized():
            dist.destroy_process_group()
