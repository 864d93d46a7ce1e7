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

"""Training logs: CSV files (always) and TensorBoard event files (when installed)."""

import csv
from pathlib import Path
from typing import Dict, Optional
import warnings


class TrainingLog:
    """
    Append scalar rows to ``train.csv`` / ``val.csv`` and to TensorBoard events.

    CSV columns are fixed by the first row of each file; a resumed run appends to the
    same files.
    """

    def __init__(self, folder, tensorboard: bool = True):
        """
        Open the logs in ``folder``.

        :param folder: output directory of the run.
        :param tensorboard: also write TensorBoard events (``tensorboard`` package).
        """
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._writers: Dict[str, csv.DictWriter] = {}
        self._files = {}
        self._board = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as error:  # the optional 'train' extra is absent
                warnings.warn(f'training log: no TensorBoard events ({error}); '
                              f'install the train extra for them. CSV logs are written.')
            else:
                self._board = SummaryWriter(str(self.folder / 'tensorboard'))

    def write(self, kind: str, step: int, values: Dict[str, float]) -> None:
        """
        Log one row.

        :param kind: 'train' or 'val' (file name and TensorBoard tag prefix).
        :param step: optimisation step.
        :param values: scalars.
        """
        row = {'step': int(step)}
        row.update({k: float(v) for k, v in values.items()})
        writer = self._writers.get(kind)
        if writer is None:
            path = self.folder / f'{kind}.csv'
            header = None
            if path.is_file() and path.stat().st_size:
                with open(path, newline='') as existing:
                    header = next(csv.reader(existing), None)
            handle = open(path, 'a', newline='')
            writer = csv.DictWriter(handle, fieldnames=header or list(row),
                                    extrasaction='ignore')
            if header is None:
                writer.writeheader()
            self._files[kind], self._writers[kind] = handle, writer
        writer.writerow(row)
        self._files[kind].flush()
        if self._board is not None:
            for name, value in values.items():
                self._board.add_scalar(f'{kind}/{name}', float(value), int(step))

    def close(self) -> None:
        """Flush and close every file."""
        for handle in self._files.values():
            handle.close()
        self._files.clear()
        self._writers.clear()
        if self._board is not None:
            self._board.close()
            self._board = None


def read_csv(path) -> Optional[list]:
    """
    Read a log CSV back as a list of dicts of floats.

    :param path: file path.
    :return: rows, or None when the file does not exist.
    """
    path = Path(path)
    if not path.is_file():
        return None
    with open(path, newline='') as handle:
        return [{k: float(v) for k, v in row.items() if v != ''}
                for row in csv.DictReader(handle)]
