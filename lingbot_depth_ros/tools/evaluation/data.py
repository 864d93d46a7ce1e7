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
Evaluation data: synthetic scenes or a folder dataset.

Folder layout (files matched by name stem; images as written by OpenCV)::

    DIR/rgb/<name>.png|jpg        colour
    DIR/gt/<name>.png|npy|tif     ground-truth depth
    DIR/depth/<name>.png|npy|tif  sensor depth (optional: only the natural protocol uses it)
    DIR/intrinsics.txt            3x3 pixel K for all frames, or
    DIR/intrinsics/<name>.txt     one per frame

Integer depth images are millimetres times ``depth_scale``; float images and ``.npy``
arrays are metres; 0, NaN and negative values are invalid.

Single captures as LingBot-Depth's examples ship them (``N/rgb.png|jpg``, ``N/raw_depth.png``
in uint16 millimetres, ``N/intrinsics.txt``) are read by :func:`read_capture`;
:func:`capture_samples` evaluates a folder of them with the sensor depth as reference.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, NamedTuple, Optional

import cv2
from lingbot_depth_ros.geometry import check_intrinsics, depth_to_meters
import numpy as np

RGB_SUFFIXES = ('.png', '.jpg', '.jpeg')
DEPTH_SUFFIXES = ('.png', '.npy', '.tif', '.tiff')


@dataclass
class Sample:
    """
    One evaluation frame.

    :ivar name: sample name (file stem or ``synthetic_<seed>``).
    :ivar rgb: uint8 HxWx3 colour.
    :ivar gt: float32 HxW ground-truth depth in metres, NaN where unknown (None only in
        self-supervised training data).
    :ivar sensor: float32 HxW sensor depth in metres (0 / NaN invalid) or None.
    :ivar K: float64 3x3 pixel intrinsics.
    """

    name: str
    rgb: np.ndarray
    gt: np.ndarray
    sensor: Optional[np.ndarray]
    K: np.ndarray


def synthetic_samples(count: int, seed: int = 0, width: int = 640,
                      height: int = 480) -> Iterator[Sample]:
    """
    Yield the first views of ``count`` synthetic scenes, seeds ``seed .. seed + count - 1``.

    :param count: number of samples.
    :param seed: first scene seed.
    :param width: image width.
    :param height: image height.
    :return: iterator of samples.
    """
    # The renderer is needed only for synthetic data.
    from lingbot_depth_ros.tools.synthetic import renderer as synthetic

    for scene in range(seed, seed + count):
        frame = synthetic.render_frame(scene, width, height)
        yield Sample(f'synthetic_{scene}', frame.rgb, frame.depth_gt, frame.depth_sensor,
                     frame.K)


def _find(folder: Path, stem: str, suffixes) -> Optional[Path]:
    for suffix in suffixes:
        path = folder / (stem + suffix)
        if path.is_file():
            return path
    return None


def read_depth(path: Path, depth_scale: float = 0.001) -> np.ndarray:
    """
    Read a depth image or array in metres.

    :param path: ``.png`` / ``.tif`` (integer: times ``depth_scale``; float: metres) or
        ``.npy`` (metres).
    :param depth_scale: metres per integer unit.
    :return: float32 (H, W) metres, NaN where invalid.
    """
    if path.suffix == '.npy':
        raw = np.load(path)
    else:
        raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if raw is None:
            raise ValueError(f'{path}: expected a readable depth image, got an unreadable file')
    if raw.ndim != 2:
        raise ValueError(f'{path}: expected a single-channel depth image, got shape '
                         f'{raw.shape}')
    depth, valid = depth_to_meters(raw, depth_scale)
    return np.where(valid, depth, np.nan).astype(np.float32)


def read_intrinsics(path: Path) -> np.ndarray:
    """
    Read a 3x3 pixel K from a text file of 9 numbers.

    :param path: the file.
    :return: float64 3x3.
    """
    values = np.loadtxt(path, dtype=np.float64).reshape(-1)
    if values.size != 9:
        raise ValueError(f'{path}: expected 9 numbers (a 3x3 K), got {values.size}')
    return check_intrinsics(values, str(path))


class Capture(NamedTuple):
    """One RGB-D capture: name, uint8 HxWx3 RGB, uint16 HxW millimetres, float64 3x3 K."""

    name: str
    rgb: np.ndarray
    depth_mm: np.ndarray
    K: np.ndarray


def read_capture(folder) -> Capture:
    """
    Read a capture folder holding ``rgb.png|jpg``, ``raw_depth.png`` and ``intrinsics.txt``.

    :param folder: the capture folder, e.g. ``test/data/examples/0``.
    :return: the :class:`Capture`, named after the folder.
    :raises ValueError: when a file is missing or unreadable.
    """
    folder = Path(folder)
    rgb_path = _find(folder, 'rgb', RGB_SUFFIXES)
    depth_path = folder / 'raw_depth.png'
    if rgb_path is None or not depth_path.is_file():
        found = sorted(p.name for p in folder.glob('*')) if folder.is_dir() else 'no folder'
        raise ValueError(f'{folder}: expected rgb.png|jpg and raw_depth.png, found {found}')
    bgr = cv2.imread(str(rgb_path), cv2.IMREAD_COLOR)
    depth = cv2.imread(str(depth_path), cv2.IMREAD_UNCHANGED)
    if bgr is None or depth is None or depth.dtype != np.uint16:
        raise ValueError(f'{folder}: expected a readable rgb.png|jpg and a uint16 '
                         'raw_depth.png')
    return Capture(folder.name, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), depth,
                   read_intrinsics(folder / 'intrinsics.txt'))


def read_captures(root) -> List[Capture]:
    """
    Read every capture folder directly under ``root`` in name order.

    :param root: e.g. ``test/data/examples``; a missing folder gives no captures.
    :return: the captures; subfolders without ``raw_depth.png`` are skipped.
    """
    root = Path(root)
    if not root.is_dir():
        return []
    return [read_capture(folder) for folder in sorted(root.iterdir())
            if (folder / 'raw_depth.png').is_file()]


def is_capture_layout(root) -> bool:
    """Return whether ``root`` is a capture folder or a folder of capture folders."""
    root = Path(root)
    return (root / 'raw_depth.png').is_file() or (
        not (root / 'rgb').is_dir() and any((p / 'raw_depth.png').is_file()
                                            for p in root.glob('*')))


def capture_samples(root, limit: Optional[int] = None) -> Iterator[Sample]:
    """
    Yield the captures under ``root`` (or ``root`` itself) as samples.

    A capture has no ground truth beyond its sensor depth, so the sensor depth is the
    reference: the blocks protocol hides part of it and scores the backends on the hidden
    measurements (``sensor`` is None: no natural protocol).

    :param root: a capture folder or a folder of them (e.g. ``test/data/examples``).
    :param limit: stop after this many samples (None: all).
    :return: iterator of samples in name order.
    """
    root = Path(root)
    captures = [read_capture(root)] if (root / 'raw_depth.png').is_file() else \
        read_captures(root)
    for capture in captures[:limit]:
        depth = capture.depth_mm.astype(np.float32) * np.float32(0.001)
        yield Sample(capture.name, capture.rgb, np.where(depth > 0, depth, np.nan), None,
                     capture.K)


def folder_samples(root, depth_scale: float = 0.001,
                   limit: Optional[int] = None) -> Iterator[Sample]:
    """
    Yield the samples of a folder dataset (layout in the module docstring).

    :param root: dataset directory.
    :param depth_scale: metres per unit of integer depth images.
    :param limit: stop after this many samples (None: all).
    :return: iterator of samples, sorted by name.
    :raises ValueError: when the layout is incomplete.
    """
    root = Path(root)
    for name in folder_names(root)[:limit]:
        yield read_folder_sample(root, name, depth_scale)


def read_folder_sample(root, name: str, depth_scale: float = 0.001,
                       require_gt: bool = True) -> Sample:
    """
    Read one sample of a folder dataset.

    :param root: dataset directory.
    :param name: the sample's file stem.
    :param depth_scale: metres per unit of integer depth images.
    :param require_gt: raise when ``gt/<name>`` is missing (else ``gt`` is None, and
        ``depth/<name>`` is required instead: self-supervised training data).
    :return: the sample.
    :raises ValueError: when a file is missing, unreadable or of another size.
    """
    root = Path(root)
    bgr = cv2.imread(str(_find(root / 'rgb', name, RGB_SUFFIXES)), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f'rgb/{name}: expected a readable colour image, got none')
    gt_path = _find(root / 'gt', name, DEPTH_SUFFIXES)
    sensor_path = _find(root / 'depth', name, DEPTH_SUFFIXES)
    if gt_path is None and (require_gt or sensor_path is None):
        wanted = 'a ground-truth' if require_gt else 'a ground-truth or sensor'
        raise ValueError(f'gt/{name}: expected {wanted} depth file '
                         f'({"/".join(DEPTH_SUFFIXES)}), got none')
    gt = None if gt_path is None else read_depth(gt_path, depth_scale)
    sensor = None if sensor_path is None else read_depth(sensor_path, depth_scale)
    shared_k = root / 'intrinsics.txt'
    k_path = _find(root / 'intrinsics', name, ('.txt',)) or shared_k
    if not k_path.is_file():
        raise ValueError(f'intrinsics: expected {shared_k} or intrinsics/{name}.txt, '
                         f'got neither')
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    for label, image in (('gt', gt), ('depth', sensor)):
        if image is not None and image.shape != rgb.shape[:2]:
            raise ValueError(f'{label}/{name}: expected the rgb size {rgb.shape[:2]}, '
                             f'got {image.shape}')
    return Sample(name, rgb, gt, sensor, read_intrinsics(k_path))


def folder_names(root: Path) -> List[str]:
    """
    Return the sample names of a folder dataset (stems of ``rgb/``), sorted.

    :param root: dataset directory.
    :return: the names.
    :raises ValueError: when ``rgb/`` is missing or empty.
    """
    rgb_dir = Path(root) / 'rgb'
    names = sorted(p.stem for p in rgb_dir.glob('*') if p.suffix.lower() in RGB_SUFFIXES) \
        if rgb_dir.is_dir() else []
    if not names:
        raise ValueError(f'{rgb_dir}: expected a folder of colour images '
                         f'({"/".join(RGB_SUFFIXES)}), got none')
    return names


def folder_has_sensor_depth(root) -> bool:
    """Return whether a folder dataset has a ``depth/`` folder of sensor depth."""
    return (Path(root) / 'depth').is_dir()


def write_folder_dataset(samples, root) -> int:
    """
    Write samples in the folder layout (PNG colour, 16-bit PNG millimetre depth).

    :param samples: iterable of :class:`Sample`.
    :param root: directory to create or fill.
    :return: the number of samples written.
    """
    root = Path(root)
    for sub in ('rgb', 'gt', 'depth', 'intrinsics'):
        (root / sub).mkdir(parents=True, exist_ok=True)
    count = 0
    for sample in samples:
        cv2.imwrite(str(root / 'rgb' / f'{sample.name}.png'),
                    cv2.cvtColor(sample.rgb, cv2.COLOR_RGB2BGR))
        for sub, depth in (('gt', sample.gt), ('depth', sample.sensor)):
            if depth is None:
                continue
            millimetres = np.nan_to_num(np.asarray(depth, dtype=np.float64) * 1000.0,
                                        nan=0.0, posinf=0.0, neginf=0.0)
            image = np.clip(np.round(millimetres), 0, 65535).astype(np.uint16)
            cv2.imwrite(str(root / sub / f'{sample.name}.png'), image)
        np.savetxt(root / 'intrinsics' / f'{sample.name}.txt', sample.K)
        count += 1
    return count
