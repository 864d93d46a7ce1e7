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

"""lingbot-depth train / finetune / distill: data sources, interruption, torchrun, loading."""

import os
from pathlib import Path
import shutil
import signal
import subprocess
import sys
import time

from lingbot_depth_ros.backends.factory import BackendSettings, create_backend
from lingbot_depth_ros.model import load_model
from lingbot_depth_ros.tools.bag.storage import write_synthetic_bag
from lingbot_depth_ros.tools.cli import main
from lingbot_depth_ros.tools.evaluation.data import Sample, write_folder_dataset
from lingbot_depth_ros.tools.train.sources import bag_source, FolderSource, SyntheticSource
from lingbot_depth_ros.training.logs import read_csv
import numpy as np
import pytest
import torch

SHAPE = ['--config', 'tiny', '--crop', '56x70', '--synthetic-size', '84x112', '--batch-size',
         '2', '--no-progress', '--threads', '1', '--log-every', '1']
SMALL = SHAPE + ['--val-every', '0']


def cli(*args):
    return [sys.executable, '-m', 'lingbot_depth_ros.tools.cli', *args]


def test_train_from_scratch_writes_released_checkpoints_and_logs(tmp_path, capsys):
    out = tmp_path / 'run'
    code = main(['train', '--data', 'synthetic:3', '--output', str(out), '--steps', '3',
                 '--val-every', '3', '--val-scenes', '1', *SHAPE])
    assert code == 0
    for name in ('model.pt', 'model.safetensors', 'model.json', 'train_state.pt',
                 'train.csv', 'val.csv', 'settings.json', 'command.txt'):
        assert (out / name).is_file(), name
    assert [row['step'] for row in read_csv(out / 'train.csv')] == [1, 2, 3]
    val = read_csv(out / 'val.csv')
    assert val[0]['step'] == 3
    for case in ('natural_holes', 'natural_all', 'blocks_medium_holes'):
        coverage = val[0][f'{case}_coverage']
        assert 0 <= coverage <= 1
        # An untrained mask head may reject every pixel: then there is no RMSE.
        assert val[0][f'{case}_rmse'] > 0 if coverage > 0 else np.isnan(val[0][f'{case}_rmse'])
    assert list((out / 'tensorboard').glob('events.out.tfevents.*'))
    model = load_model(str(out / 'model.pt'))
    assert model.model_config['encoder']['backbone'] == 'test_vitt14'
    assert str(out / 'model.pt') in capsys.readouterr().out


def test_usage_errors_exit_2(tmp_path, capsys):
    assert main(['train', '--data', 'synthetic:2', '--output', str(tmp_path),
                 '--crop', '50x70']) == 2
    assert 'crop size' in capsys.readouterr().err
    assert main(['train', '--data', 'synthetic:2', '--output', str(tmp_path),
                 '--steps', '0']) == 2
    assert '--steps' in capsys.readouterr().err
    assert main(['finetune', '--data', 'synthetic:2', '--output', str(tmp_path)]) == 2
    assert '--init' in capsys.readouterr().err
    assert main(['train', '--data', 'synthetic:x', '--output', str(tmp_path), *SMALL]) == 1
    assert 'expected synthetic:N[:FIRST_SEED]' in capsys.readouterr().err
    assert main(['train', '--data', str(tmp_path / 'none'), '--output', str(tmp_path),
                 *SMALL]) == 1
    assert 'no such path' in capsys.readouterr().err


def test_interrupt_saves_a_checkpoint_and_resume_finishes(tmp_path):
    out = tmp_path / 'run'
    process = subprocess.Popen(cli('train', '--data', 'synthetic:4', '--output', str(out),
                                   '--steps', '100000', *SMALL),
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / 'train.csv').is_file() or len(read_csv(out / 'train.csv')) < 2:
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert 'saved' in err and (out / 'train_state.pt').is_file()
    step = torch.load(out / 'train_state.pt', weights_only=True)['step']
    assert step >= 2
    load_model(str(out / 'model.pt'))
    assert main(['train', '--data', 'synthetic:4', '--output', str(out), '--resume',
                 '--steps', str(step + 2), *SMALL]) == 0
    assert torch.load(out / 'train_state.pt', weights_only=True)['step'] == step + 2


@pytest.mark.skipif(shutil.which('torchrun') is None and not Path(
    sys.executable).with_name('torchrun').exists(), reason='torchrun not installed')
def test_torchrun_two_gloo_processes(tmp_path):
    out = tmp_path / 'ddp'
    torchrun = shutil.which('torchrun') or str(Path(sys.executable).with_name('torchrun'))
    env = dict(os.environ, OMP_NUM_THREADS='1')
    done = subprocess.run([torchrun, '--nproc-per-node', '2', '--master-port', '29533', '-m',
                           'lingbot_depth_ros.tools.cli', 'train', '--data', 'synthetic:4',
                           '--output', str(out), '--steps', '2', '--device', 'cpu', *SMALL],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert '2 process(es)' in done.stderr
    assert torch.load(out / 'train_state.pt', weights_only=True)['world_size'] == 2
    rows = read_csv(out / 'train.csv')
    assert rows[-1]['step'] == 2 and rows[-1]['samples_per_s'] > 0
    load_model(str(out / 'model.pt'))


def test_finetune_on_a_bag_loads_in_the_node_factory_and_refine_bag(tmp_path):
    base = tmp_path / 'base'
    assert main(['train', '--data', 'synthetic:2', '--output', str(base), '--steps', '1',
                 *SMALL]) == 0
    bag = tmp_path / 'bag'
    write_synthetic_bag(bag, frames=6, width=112, height=84)
    source = bag_source(bag, every=2)
    assert len(source) == 3 and source[0].gt is None and (source[0].sensor > 0).any()
    tuned = tmp_path / 'tuned'
    assert main(['finetune', '--init', str(base / 'model.pt'), '--data', str(bag),
                 '--bag-every', '1', '--output', str(tuned), '--steps', '2', *SMALL[2:]]) == 0
    before = load_model(str(base / 'model.pt')).state_dict()
    after = load_model(str(tuned / 'model.pt')).state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    backend = create_backend(BackendSettings(model=str(tuned / 'model.pt'), device='cpu',
                                             num_tokens=20))
    rgb = source[0].rgb
    result = backend.complete(rgb, source[0].sensor, source[0].K)
    assert result.depth.shape == rgb.shape[:2]
    assert main(['refine-bag', str(bag), str(tmp_path / 'refined'), '--model',
                 str(tuned / 'model.pt'), '--num-tokens', '20', '--device', 'cpu']) == 0


def test_distill_cli_and_folder_sources(tmp_path):
    folder = tmp_path / 'folder'
    samples = [SyntheticSource(2, 100000, (84, 112)).sample(i) for i in range(2)]
    # Sensor depth only: a robot's own recordings without ground truth.
    write_folder_dataset([Sample(s.name, s.rgb, None, s.sensor, s.K) for s in samples], folder)
    source = FolderSource(folder)
    assert source[1].gt is None
    # Millimetre PNGs: invalid pixels read back as NaN.
    assert np.allclose(np.nan_to_num(source[1].sensor), samples[1].sensor, atol=6e-4)
    out = tmp_path / 'student'
    assert main(['distill', '--teacher', 'random:tiny', '--teacher-tokens', '20', '--data',
                 str(folder), '--output', str(out), '--steps', '2', *SMALL]) == 0
    names = read_csv(out / 'train.csv')[0]
    assert 'l1_teacher' in names and 'l1_sensor' in names
