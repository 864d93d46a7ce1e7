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
Distillation: a small student learns a teacher's predictions on unlabelled RGB-D.

The teacher sees the whole sensor depth (its best estimate); the student sees the same
frame masked like any training sample, so it learns completion from the teacher. The
loss is L1 to the teacher everywhere the teacher predicts, plus L1 to the sensor's valid
readings (the measured truth the teacher may miss); the mask head follows the teacher's
mask probability.
"""

from typing import Dict

import torch
import torch.nn.functional as F

from .losses import masked_l1, training_forward


class DistillationObjective:
    """The Trainer objective of distillation: callable(outputs, batch) -> losses."""

    def __init__(self, teacher: torch.nn.Module, num_tokens: int, sensor_weight: float = 0.5,
                 mask_weight: float = 0.1):
        """
        Hold the frozen teacher.

        :param teacher: an MDMModel on the training device.
        :param num_tokens: token budget of the teacher (its own, not the student's).
        :param sensor_weight: weight of the L1 to the sensor's valid readings.
        :param mask_weight: weight of the mask BCE to the teacher's mask.
        """
        self.teacher = teacher.eval().requires_grad_(False)
        self.num_tokens = int(num_tokens)
        self.sensor_weight = float(sensor_weight)
        self.mask_weight = float(mask_weight)

    @torch.no_grad()
    def teacher_outputs(self, batch: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """
        Run the teacher on the unmasked sensor depth.

        :param batch: a training batch.
        :return: {'depth': (B, H, W), 'mask': probability (B, H, W) when it has a head}.
        """
        outputs = training_forward(self.teacher, batch['image'], batch['sensor'],
                                   self.num_tokens)
        result = {'depth': outputs['depth'].float()}
        if 'mask_logits' in outputs:
            result['mask'] = outputs['mask_logits'].float().sigmoid()
        return result

    def __call__(self, outputs: Dict[str, torch.Tensor],
                 batch: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """
        Return the distillation losses of a student forward pass.

        :param outputs: the student's training_forward output.
        :param batch: the training batch.
        :return: {'loss', 'l1_teacher', 'l1_sensor', 'mask_bce' when both have heads}.
        """
        teacher = self.teacher_outputs(batch)
        finite = torch.isfinite(teacher['depth']) & (teacher['depth'] > 0)
        to_teacher = masked_l1(outputs['depth'], teacher['depth'], finite.float())
        sensor_valid = (batch['sensor'] > 0).float()
        to_sensor = masked_l1(outputs['depth'], batch['sensor'], sensor_valid)
        losses = {'l1_teacher': to_teacher, 'l1_sensor': to_sensor,
                  'loss': to_teacher + self.sensor_weight * to_sensor}
        if 'mask_logits' in outputs and 'mask' in teacher:
            bce = F.binary_cross_entropy_with_logits(outputs['mask_logits'], teacher['mask'])
            losses['mask_bce'] = bce
            losses['loss'] = losses['loss'] + self.mask_weight * bce
        return losses


def teacher_error(student: torch.nn.Module, objective: DistillationObjective,
                  batches, num_tokens: int) -> float:
    """
    Return the student's mean absolute difference to the teacher over some batches.

    :param student: the student MDMModel.
    :param objective: the distillation objective (holds the teacher).
    :param batches: iterable of training batches.
    :param num_tokens: the student's token budget.
    :return: mean |student - teacher| in metres.
    """
    total, count = 0.0, 0
    with torch.no_grad():
        for batch in batches:
            teacher = objective.teacher_outputs(batch)
            depth = training_forward(student, batch['image'], batch['depth'],
                                     num_tokens)['depth']
            total += float(masked_l1(depth, teacher['depth'],
                                     torch.ones_like(depth)).item()) * len(depth)
            count += len(depth)
    return total / max(count, 1)
