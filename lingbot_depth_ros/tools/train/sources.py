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
Training data sources: sequences of RGBDSample from synthetic scenes, folders and bags.

``synthetic`` renders scenes on the fly (seeded by index: sample i is scene
``first_seed + i``), or once into a folder dataset that later runs read back
(``cache_synthetic``, with a progress bar). Training seeds start at 100000 by default so
they never meet the evaluation's synthetic scenes (seeds 0 upwards). ``amodal`` renders
amodal scenes (an object partly behind occluders, with its full depth) the same way,
cached as one .npz per scene.
"""

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import List, Optional, Sequence

from lingbot_depth_ros.tools.bag.frames import bag_frames
from lingbot_depth_ros.tools.bag.refine import RefineOptions
from lingbot_depth_ros.tools.evaluation.data import (folder_names, read_folder_sample, Sample,
                                                     write_folder_dataset)
from lingbot_depth_ros.training.amodal import AmodalSample
from lingbot_depth_ros.training.datasets import RGBDSample
import numpy as np

TRAIN_SEED = 100000


def _to_training(sample: Sample) -> RGBDSample:
    sensor = sample.sensor if sample.sensor is not None else sample.gt
    return RGBDSample(sample.rgb, sensor, sample.gt, sample.K)


class SyntheticSource:
    """Rendered scenes: ground truth plus the simulated sensor's depth with its failures."""

    def __init__(self, count: int, first_seed: int = TRAIN_SEED,
                 size: Sequence[int] = (336, 448)):
        """
        Describe the scenes.

        :param count: number of scenes.
        :param first_seed: seed of the first scene.
        :param size: (height, width) rendered.
        """
        if count < 1:
            raise ValueError(f'synthetic scenes: expected >= 1, got {count}')
        self.count, self.first_seed = int(count), int(first_seed)
        self.size = (int(size[0]), int(size[1]))

    def __len__(self) -> int:
        """Return the number of scenes."""
        return self.count

    def sample(self, index: int) -> Sample:
        """Render scene ``first_seed + index`` as an evaluation-style sample."""
        from lingbot_depth_ros.tools.synthetic import renderer

        if not 0 <= index < self.count:
            raise IndexError(index)
        seed = self.first_seed + int(index)
        frame = renderer.render_frame(seed, self.size[1], self.size[0])
        return Sample(f'synthetic_{seed}', frame.rgb, frame.depth_gt, frame.depth_sensor,
                      frame.K)

    def __getitem__(self, index: int) -> RGBDSample:
        """Render one scene."""
        return _to_training(self.sample(index))


class FolderSource:
    """A folder dataset (rgb/, depth/ sensor, gt/, intrinsics): see evaluation.data."""

    def __init__(self, root, depth_scale: float = 0.001):
        """
        Index a folder dataset; samples are read when used.

        :param root: dataset directory.
        :param depth_scale: metres per unit of integer depth images.
        """
        self.root = Path(root)
        self.names = folder_names(self.root)
        self.depth_scale = depth_scale
        # Fail now, not after an hour of training, when the layout is wrong.
        self[0]

    def __len__(self) -> int:
        """Return the number of samples."""
        return len(self.names)

    def __getitem__(self, index: int) -> RGBDSample:
        """Read one sample."""
        return _to_training(read_folder_sample(self.root, self.names[index],
                                               self.depth_scale, require_gt=False))


class FrameListSource:
    """Frames held in memory (a bag's, after decoding): sensor depth only."""

    def __init__(self, samples: List[RGBDSample]):
        """:param samples: the frames."""
        self.samples = samples

    def __len__(self) -> int:
        """Return the number of frames."""
        return len(self.samples)

    def __getitem__(self, index: int) -> RGBDSample:
        """Return one frame."""
        return self.samples[index]


def bag_source(path, options: RefineOptions = RefineOptions(), every: int = 5,
               log=None) -> FrameListSource:
    """
    Decode a bag's frames for self-supervised fine-tuning (the sensor is the target).

    :param path: rosbag2 directory or file.
    :param options: topics, decoding rules and ``max_frames``.
    :param every: keep every n-th frame.
    :param log: callable taking a line (None: silent).
    :return: the frames.
    """
    skipped = {}
    frames = [RGBDSample(f.rgb, f.depth, None, f.K)
              for f in bag_frames(path, options, every, skipped)
              if f.depth is not None and np.any(f.depth > 0)]
    if log and skipped:
        log(f'bag {path}: skipped undecodable frames {skipped}')
    if not frames:
        raise ValueError(f'bag {path}: expected frames with valid depth, got none')
    return FrameListSource(frames)


def cache_synthetic(source: SyntheticSource, root, progress: bool = True,
                    log=None) -> FolderSource:
    """
    Render the scenes once into a folder dataset, or reuse a complete earlier cache.

    :param source: the scenes.
    :param root: cache directory (one per scene set: name it after count, seed, size).
    :param progress: show a tqdm bar.
    :param log: callable taking a line.
    :return: the cache as a folder source.
    """
    from tqdm import tqdm

    root = Path(root)
    done = root / 'COMPLETE'
    if done.is_file() and done.read_text().strip() == _cache_key(source):
        if log:
            log(f'synthetic cache: using {root}')
        return FolderSource(root)
    samples = (source.sample(i) for i in tqdm(range(len(source)), desc='render scenes',
                                              unit='scene', disable=not progress))
    write_folder_dataset(samples, root)
    done.write_text(_cache_key(source) + '\n')
    return FolderSource(root)


def _cache_key(source: SyntheticSource) -> str:
    return f'count={source.count} first_seed={source.first_seed} size={source.size}'


class AmodalSyntheticSource:
    """Rendered amodal scenes: an object partly hidden by occluders, with its full depth."""

    def __init__(self, count: int, first_seed: int = TRAIN_SEED,
                 size: Sequence[int] = (336, 448), cache: Optional[Path] = None):
        """
        Describe the scenes.

        :param count: number of scenes.
        :param first_seed: seed of the first scene.
        :param size: (height, width) rendered.
        :param cache: folder of rendered scenes (``scene_<seed>.npz``) to read instead of
            rendering, see :func:`cache_amodal`.
        """
        if count < 1:
            raise ValueError(f'amodal scenes: expected >= 1, got {count}')
        self.count, self.first_seed = int(count), int(first_seed)
        self.size = (int(size[0]), int(size[1]))
        self.cache = None if cache is None else Path(cache)

    def __len__(self) -> int:
        """Return the number of scenes."""
        return self.count

    def render(self, index: int) -> AmodalSample:
        """Render scene ``first_seed + index``."""
        from lingbot_depth_ros.tools.synthetic.amodal import render_amodal

        if not 0 <= index < self.count:
            raise IndexError(index)
        scene = render_amodal(self.first_seed + int(index), self.size[1], self.size[0])
        frame = scene.frame
        return AmodalSample(frame.rgb, frame.depth_sensor, frame.depth_gt, frame.K,
                            scene.amodal, scene.visible, scene.target_depth)

    def __getitem__(self, index: int) -> AmodalSample:
        """Read one scene from the cache, or render it."""
        if self.cache is None:
            return self.render(index)
        with np.load(self.cache / f'scene_{self.first_seed + int(index)}.npz') as data:
            return AmodalSample(**{k: data[k] for k in data.files})


def _write_amodal(args) -> None:
    source, index, path = args
    sample = source.render(index)
    partial = path.with_name(path.stem + '.partial.npz')
    np.savez_compressed(partial, **vars(sample))
    partial.replace(path)


def cache_amodal(source: AmodalSyntheticSource, root, workers: int = 1, progress: bool = True,
                 log=None) -> AmodalSyntheticSource:
    """
    Render amodal scenes once into a folder (resumable: finished scenes are kept).

    :param source: the scenes.
    :param root: cache directory.
    :param workers: rendering processes.
    :param progress: show a tqdm bar.
    :param log: callable taking a line.
    :return: the same scenes, read from the cache.
    """
    from tqdm import tqdm

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    todo = [(source, i, root / f'scene_{source.first_seed + i}.npz')
            for i in range(len(source))
            if not (root / f'scene_{source.first_seed + i}.npz').is_file()]
    if log:
        log(f'amodal cache {root}: {len(source) - len(todo)} scenes there, rendering '
            f'{len(todo)}')
    bar = tqdm(total=len(todo), desc='render amodal scenes', unit='scene',
               disable=not progress or not todo)
    if workers > 1 and len(todo) > 1:
        with ProcessPoolExecutor(workers) as pool:
            for _ in pool.map(_write_amodal, todo, chunksize=4):
                bar.update(1)
    else:
        for item in todo:
            _write_amodal(item)
            bar.update(1)
    bar.close()
    return AmodalSyntheticSource(source.count, source.first_seed, source.size, root)


def parse_data_spec(spec: str, cache_dir: Optional[Path], synthetic_size=(336, 448),
                    bag_options: RefineOptions = RefineOptions(), bag_every: int = 5,
                    progress: bool = True, log=None, workers: int = 1):
    """
    Open a data source from its command-line spec.

    :param spec: ``synthetic:N[:FIRST_SEED]``, ``amodal:N[:FIRST_SEED]`` (amodal scenes),
        a folder dataset, or a rosbag2 bag.
    :param cache_dir: where synthetic scenes are cached (None: render on the fly).
    :param synthetic_size: (height, width) of rendered scenes.
    :param bag_options: bag topics and decoding.
    :param bag_every: keep every n-th bag frame.
    :param progress: progress bars.
    :param log: callable taking a line.
    :param workers: processes rendering amodal scenes into the cache.
    :return: a sequence of RGBDSample (AmodalSample for ``amodal:``).
    """
    kind = spec.split(':')[0]
    if kind in ('synthetic', 'amodal'):
        parts = spec.split(':')[1:]
        try:
            count = int(parts[0])
            first = int(parts[1]) if len(parts) > 1 else TRAIN_SEED
        except (ValueError, IndexError):
            raise ValueError(f'data: expected {kind}:N[:FIRST_SEED], got {spec!r}') from None
        if kind == 'amodal':
            source = AmodalSyntheticSource(count, first, synthetic_size)
            if cache_dir is None:
                return source
            name = f'amodal_{first}_{synthetic_size[0]}x{synthetic_size[1]}'
            return cache_amodal(source, Path(cache_dir) / name, workers, progress, log)
        source = SyntheticSource(count, first, synthetic_size)
        if cache_dir is None:
            return source
        name = f'synthetic_{count}_{first}_{synthetic_size[0]}x{synthetic_size[1]}'
        return cache_synthetic(source, Path(cache_dir) / name, progress, log)
    path = Path(spec)
    if not path.exists():
        raise ValueError(f'data: expected synthetic:N, amodal:N, a folder dataset or a bag, '
                         f'got {spec!r} '
                         '(no such path)')
    if path.is_dir() and (path / 'rgb').is_dir():
        return FolderSource(path)
    return bag_source(path, bag_options, bag_every, log)
