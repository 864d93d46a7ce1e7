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
Depth metrics and the block-wise masking protocol of the evaluation (numpy only).

Metrics are computed on the pixels with valid ground truth (finite, > 0) inside a region
(all pixels, or the holes of the input). RMSE, MAE and AbsRel are taken over the evaluated
pixels where the backend gave a depth; ``coverage`` is that share; the δ accuracies count a
pixel without a depth as a miss, so a backend cannot gain by leaving hard pixels empty.
Sums are pooled, so merging samples weights each pixel equally.

Block-wise masking (the paper's protocol, parameters chosen here): ground-truth depth is
hidden under random rectangles until ``mask_ratio`` of the image is covered, and the rest
gets additive Gaussian noise plus shot noise (the depth read as ``q * Poisson(z / q)``, so
its standard deviation is ``sqrt(q * z)``), then millimetre quantization.
"""

from dataclasses import dataclass, fields
import math
from typing import Dict, Optional, Tuple

from lingbot_depth_ros.geometry import DepthRange
import numpy as np

# Ground truth counts where it is finite and > 0.
MEASURED = DepthRange()

METRICS = ('rmse', 'mae', 'absrel', 'delta_1_25', 'delta_1_05', 'coverage')
METRIC_TITLES = {'rmse': 'RMSE [m]', 'mae': 'MAE [m]', 'absrel': 'AbsRel',
                 'delta_1_25': 'δ<1.25', 'delta_1_05': 'δ<1.05', 'coverage': 'coverage'}


@dataclass(frozen=True)
class CorruptionLevel:
    """
    One difficulty level of the block-wise masking protocol.

    :ivar name: level name.
    :ivar mask_ratio: share of the image hidden under blocks.
    :ivar block_min: smallest block side in pixels at 640 px image width.
    :ivar block_max: largest block side in pixels at 640 px image width.
    :ivar gaussian_sigma_m: standard deviation of the additive Gaussian noise.
    :ivar shot_quantum_m: shot noise quantum q: noise std is sqrt(q * z).
    """

    name: str
    mask_ratio: float
    block_min: int
    block_max: int
    gaussian_sigma_m: float
    shot_quantum_m: float


LEVELS: Dict[str, CorruptionLevel] = {level.name: level for level in (
    CorruptionLevel('easy', 0.2, 16, 48, 0.002, 5e-6),
    CorruptionLevel('medium', 0.4, 24, 80, 0.005, 2e-5),
    CorruptionLevel('hard', 0.6, 32, 128, 0.01, 5e-5),
    CorruptionLevel('extreme', 0.8, 48, 160, 0.02, 1e-4),
)}


def levels_markdown() -> str:
    """
    Return the block-wise masking levels as a Markdown table (quoted by the README).

    :return: the table, one line per level.
    """
    lines = ['| level | masked area | block side [px at 640 wide] | Gaussian σ | '
             'shot noise σ at 2 m |',
             '|---|---|---|---|---|']
    for level in LEVELS.values():
        shot = math.sqrt(level.shot_quantum_m * 2.0) * 1000.0
        lines.append(f'| {level.name} | {level.mask_ratio:.0%} | {level.block_min}–'
                     f'{level.block_max} | {level.gaussian_sigma_m * 1000:.0f} mm | '
                     f'{shot:.1f} mm (q = {level.shot_quantum_m:g} m) |')
    return '\n'.join(lines)


def block_mask(shape: Tuple[int, int], level: CorruptionLevel,
               rng: np.random.Generator) -> np.ndarray:
    """
    Return random rectangles covering about ``level.mask_ratio`` of an image.

    Block sides scale with the image width (the table's sizes are for 640 px).

    :param shape: (H, W).
    :param level: the level.
    :param rng: random generator.
    :return: bool (H, W), True under a block.
    """
    height, width = shape
    scale = width / 640.0
    low = max(1, int(round(level.block_min * scale)))
    high = max(low, int(round(level.block_max * scale)))
    mask = np.zeros(shape, dtype=bool)
    target = level.mask_ratio * height * width
    covered = 0
    # Each block adds at most its area; the cap only stops pathological configurations.
    for _ in range(100_000):
        if covered >= target:
            break
        h, w = rng.integers(low, high + 1, size=2)
        top = rng.integers(0, max(1, height - h + 1))
        left = rng.integers(0, max(1, width - w + 1))
        block = mask[top:top + h, left:left + w]
        covered += block.size - int(np.count_nonzero(block))
        block[...] = True
    return mask


def corrupt_depth(gt: np.ndarray, level: CorruptionLevel,
                  rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """
    Apply block-wise masking and noise to ground-truth depth.

    :param gt: float (H, W) ground-truth depth in metres; NaN / <= 0 is invalid.
    :param level: the level.
    :param rng: random generator.
    :return: ``(depth float32 (H, W) metres with 0 where hidden or invalid, block mask)``.
    """
    gt = np.asarray(gt, dtype=np.float64)
    if gt.ndim != 2:
        raise ValueError(f'gt: expected an (H, W) depth image, got shape {gt.shape}')
    mask = block_mask(gt.shape, level, rng)
    valid = MEASURED.valid(gt) & ~mask
    z = np.where(valid, gt, 0.0)
    if level.shot_quantum_m > 0.0:
        z = rng.poisson(z / level.shot_quantum_m) * level.shot_quantum_m
    z = z + rng.normal(0.0, level.gaussian_sigma_m, gt.shape)
    z = np.round(z * 1000.0) / 1000.0
    depth = np.where(valid & (z > 0.0), z, 0.0).astype(np.float32)
    return depth, mask


@dataclass
class MetricSums:
    """Running sums of the metrics over pixels; add samples, then read ``result()``."""

    evaluated: int = 0
    covered: int = 0
    squared_error: float = 0.0
    absolute_error: float = 0.0
    relative_error: float = 0.0
    within_1_25: int = 0
    within_1_05: int = 0

    def add(self, pred: np.ndarray, gt: np.ndarray,
            region: Optional[np.ndarray] = None) -> 'MetricSums':
        """
        Add the pixels of one prediction.

        :param pred: float (H, W) predicted depth in metres; NaN / <= 0 means none.
        :param gt: float (H, W) ground truth in metres; NaN / <= 0 is not evaluated.
        :param region: bool (H, W) pixels to evaluate (None: all).
        :return: self.
        """
        if pred.shape != gt.shape:
            raise ValueError(f'pred: expected the ground-truth shape {gt.shape}, '
                             f'got {pred.shape}')
        if region is not None and region.shape != gt.shape:
            raise ValueError(f'region: expected shape {gt.shape}, got {region.shape}')
        with np.errstate(invalid='ignore'):
            evaluated = MEASURED.valid(gt)
            if region is not None:
                evaluated &= region
            g = gt[evaluated].astype(np.float64)
            p = pred[evaluated].astype(np.float64)
            has = np.isfinite(p) & (p > 0.0)
        g_cov, p_cov = g[has], p[has]
        error = p_cov - g_cov
        ratio = np.maximum(p_cov / g_cov, g_cov / p_cov)
        self.evaluated += int(g.size)
        self.covered += int(g_cov.size)
        self.squared_error += float(np.sum(error * error))
        self.absolute_error += float(np.sum(np.abs(error)))
        self.relative_error += float(np.sum(np.abs(error) / g_cov))
        self.within_1_25 += int(np.count_nonzero(ratio < 1.25))
        self.within_1_05 += int(np.count_nonzero(ratio < 1.05))
        return self

    def merge(self, other: 'MetricSums') -> 'MetricSums':
        """Add another set of sums into this one and return self."""
        for item in fields(self):
            setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))
        return self

    def result(self) -> Dict[str, float]:
        """
        Return the metrics (NaN where undefined) and the pixel count ``pixels``.

        :return: dict with the keys of ``METRICS`` plus ``pixels``.
        """
        nan = float('nan')
        out = {'pixels': self.evaluated}
        if self.evaluated == 0:
            out.update({name: nan for name in METRICS})
            return out
        covered = self.covered
        out['rmse'] = math.sqrt(self.squared_error / covered) if covered else nan
        out['mae'] = self.absolute_error / covered if covered else nan
        out['absrel'] = self.relative_error / covered if covered else nan
        out['delta_1_25'] = self.within_1_25 / self.evaluated
        out['delta_1_05'] = self.within_1_05 / self.evaluated
        out['coverage'] = covered / self.evaluated
        return out


def depth_metrics(pred: np.ndarray, gt: np.ndarray,
                  region: Optional[np.ndarray] = None) -> Dict[str, float]:
    """
    Return RMSE, MAE, AbsRel, δ<1.25, δ<1.05 and coverage of one prediction.

    :param pred: float (H, W) predicted depth in metres; NaN / <= 0 means none.
    :param gt: float (H, W) ground truth in metres; NaN / <= 0 is not evaluated.
    :param region: bool (H, W) pixels to evaluate (None: all).
    :return: dict with the keys of ``METRICS`` plus ``pixels``.
    """
    return MetricSums().add(pred, gt, region).result()
