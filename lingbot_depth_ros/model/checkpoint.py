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
Checkpoint files in the released format: find, read, check and write them, safely.

This module reads and writes files only; :meth:`.network.MDMModel.from_state` builds a
model from what it reads, and :func:`.loading.load_model` takes these spec strings:

* ``/path/model.pt`` - a ``torch.save`` dict ``{'model_config': ..., 'model': state_dict}``
  (the release's format), read with ``torch.load(weights_only=True)`` only;
* a directory holding ``model.pt`` (or ``model.safetensors``);
* ``/path/x.safetensors`` with its config beside it (``x.json``, else ``config.json``,
  else the file's ``model_config`` metadata entry);
* a Hugging Face repo id ``owner/name`` (``model.pt`` via huggingface_hub; honours
  ``HF_HUB_OFFLINE``);
* ``bundled:<name>`` - a model trained by this project and shipped in the package
  (``model/bundled/<name>.safetensors`` with its config and model card);
* ``random:<config>`` - deterministic random weights (see :mod:`.random_weights`).

Weights load with ``strict=True``; any mismatch raises one :class:`CheckpointError`
listing missing, unexpected and mis-shaped keys.
"""

import hashlib
import json
import logging
import os
from pathlib import Path
import pickle
import re
from typing import Any, Dict, Iterable, Tuple

import torch

from .bundled import bundled_checkpoint


MODEL_FILES = ('model.pt', 'model.safetensors')
BUNDLED_PREFIX = 'bundled:'
LOGGER = logging.getLogger(__name__)
# Importing ROS 2 launch installs a logger class that does not propagate; keep the
# library's notes reaching the application's handlers whatever was imported first.
LOGGER.propagate = True
# A clone without git-lfs holds these small text files where the weights should be.
LFS_POINTER = b'version https://git-lfs'
_SHA256 = re.compile(r'^[0-9a-f]{64}$')
# Published checkpoints store the depth patch embedding under another name; the release
# loads them with strict=False and silently keeps a random depth embedding.
KEY_ALIASES = (
    ('encoder.backbone.depth_mask_patch_embed.', 'encoder.backbone.depth_patch_embed.'),
)
# Heads in published checkpoints that the released network never builds nor runs.
UNUSED_HEADS = ('normal_head.', 'scale_head.')
_REPO_ID = re.compile(r'^[A-Za-z0-9][\w.-]*/[\w.-]+$')
_SHOWN = 5  # keys listed per category in a mismatch error


class CheckpointError(ValueError):
    """A checkpoint could not be read or does not match its model_config."""


def _env_flag(name: str) -> bool:
    return os.environ.get(name, '').strip().lower() in ('1', 'true', 'yes', 'on')


def is_repo_id(spec: str) -> bool:
    """
    Tell whether a spec looks like a Hugging Face repo id ('owner/name').

    :param spec: the spec string.
    :return: True for 'owner/name' shapes that are not file names.
    """
    return bool(_REPO_ID.match(spec)) and not spec.endswith(('.pt', '.pth', '.safetensors'))


def download_checkpoint(repo_id: str, filename: str = 'model.pt', **hf_kwargs) -> Path:
    """
    Fetch a file of a Hugging Face model repo through the local cache.

    With ``HF_HUB_OFFLINE`` set, only the cache is consulted.

    :param repo_id: 'owner/name'.
    :param filename: file in the repo.
    :param hf_kwargs: passed to ``hf_hub_download`` (cache_dir, revision, token, ...).
    :return: local path of the file.
    """
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise CheckpointError(
            f'{repo_id!r} looks like a Hugging Face repo id but huggingface_hub is not '
            f'installed: pip install huggingface_hub, or pass a local model.pt path') from None
    offline = _env_flag('HF_HUB_OFFLINE') or hf_kwargs.pop('local_files_only', False)
    try:
        return Path(hf_hub_download(repo_id=repo_id, filename=filename, repo_type='model',
                                    local_files_only=offline, **hf_kwargs))
    except FileNotFoundError as error:  # LocalEntryNotFoundError: not in the cache
        cache = hf_kwargs.get('cache_dir') or 'the default Hugging Face cache'
        if offline:
            reason = 'HF_HUB_OFFLINE is set (or local_files_only) and it is not cached'
        else:
            reason = 'the Hub could not be reached and it is not cached'
        raise CheckpointError(
            f'{repo_id}/{filename}: {reason} in {cache}. Fix: download it once with network '
            f'access (unset HF_HUB_OFFLINE; e.g. `hf download {repo_id} {filename}`), '
            f'or copy {filename} here and pass its local path') from error
    except Exception as error:  # repository / revision / entry not found, HTTP errors
        raise CheckpointError(
            f'{repo_id}/{filename}: download failed ({type(error).__name__}: {error})'
        ) from error


def resolve_checkpoint(spec: str, **hf_kwargs) -> Path:
    """
    Turn a spec (file, directory or repo id) into the path of a checkpoint file.

    :param spec: see the module docstring (not 'random:').
    :param hf_kwargs: passed to :func:`download_checkpoint` for repo ids.
    :return: path of a model.pt / .safetensors file.
    """
    if spec.startswith(BUNDLED_PREFIX):
        return bundled_checkpoint(spec[len(BUNDLED_PREFIX):])
    path = Path(spec).expanduser()
    if path.is_dir():
        for name in MODEL_FILES:
            if (path / name).is_file():
                return path / name
        raise FileNotFoundError(
            f'checkpoint directory {path} holds none of {MODEL_FILES}')
    if path.is_file():
        return path
    if is_repo_id(spec):
        return download_checkpoint(spec, **hf_kwargs)
    raise FileNotFoundError(f'checkpoint {spec!r}: no such file or directory (and not a '
                            f"Hugging Face repo id 'owner/name')")


def expected_sha256(path: Path):
    """
    Return the sha256 a checkpoint file must have, where one is known, else None.

    Known from ``<file>.sha256`` beside it (``sha256sum`` output or the bare digest), or from
    the Hugging Face cache, which stores each LFS file as ``blobs/<sha256>``.

    :param path: the checkpoint file.
    :return: the hex digest, or None.
    """
    sidecar = path.with_name(path.name + '.sha256')
    if sidecar.is_file():
        words = sidecar.read_text().split()
        if not words or not _SHA256.match(words[0].lower()):
            raise CheckpointError(f'{sidecar}: expected a sha256 hex digest, got '
                                  f'{words[0] if words else "nothing"!r}')
        return words[0].lower()
    if path.is_symlink():
        target = Path(os.path.realpath(path))
        if target.parent.name == 'blobs' and _SHA256.match(target.name):
            return target.name
    return None


def verify_checksum(path: Path):
    """
    Check a checkpoint file against its known sha256 (see :func:`expected_sha256`).

    :param path: the checkpoint file.
    :return: the digest when one was checked, else None.
    :raises CheckpointError: when the content does not match (corrupt or incomplete).
    """
    expected = expected_sha256(path)
    if expected is None:
        return None
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for block in iter(lambda: handle.read(1 << 22), b''):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise CheckpointError(f'{path}: sha256 {digest.hexdigest()} differs from the expected '
                              f'{expected}: the file is corrupt or incomplete; download it '
                              'again')
    return expected


def _check_not_lfs_pointer(path: Path, head: bytes) -> None:
    if head.startswith(LFS_POINTER):
        raise CheckpointError(
            f'{path}: a git-LFS pointer file ({path.stat().st_size} bytes), not the weights: '
            'fetch them with `git lfs pull` in that clone, or download the file through '
            'huggingface_hub')


def normalize_state_keys(state: Dict[str, torch.Tensor],
                         expected: Iterable[str]) -> Dict[str, torch.Tensor]:
    """
    Map the known key variants of published checkpoints onto the model's keys.

    ``depth_mask_patch_embed`` becomes ``depth_patch_embed`` (only where the model expects
    the latter and the checkpoint lacks it) and the weights of heads the network does not
    have (normal_head, scale_head) are skipped; each with one log line. Every other
    difference is left for :func:`check_state_dict` to report.

    :param state: the checkpoint's state dict (not modified).
    :param expected: the model's state-dict keys.
    :return: the state dict to load.
    """
    expected = set(expected)
    out = {}
    renamed, skipped = 0, {}
    for key, value in state.items():
        for old, new in KEY_ALIASES:
            if key.startswith(old) and new + key[len(old):] in expected \
                    and new + key[len(old):] not in state:
                key = new + key[len(old):]
                renamed += 1
        head = next((h for h in UNUSED_HEADS if key.startswith(h)), None)
        if head is not None and key not in expected:
            skipped[head] = skipped.get(head, 0) + 1
            continue
        out[key] = value
    if renamed:
        LOGGER.info('checkpoint: loaded %d depth_mask_patch_embed.* weights as '
                    'depth_patch_embed.* (the name published checkpoints use)', renamed)
    for head, count in skipped.items():
        LOGGER.info('checkpoint: skipped %d %s* weights: the network has no %s (the release '
                    'ignores them too)', count, head, head.rstrip('.'))
    return out


def _load_torch_file(path: Path) -> Any:
    """
    Read a ``torch.save`` file with ``weights_only=True``, mapping failures to errors.

    :param path: file path.
    :return: the loaded object.
    """
    with open(path, 'rb') as handle:
        head = handle.read(len(LFS_POINTER))
    if not head:
        raise CheckpointError(f'{path}: empty file (truncated download?)')
    _check_not_lfs_pointer(path, head)
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except MemoryError:
        raise
    except Exception as error:  # garbage input can fail anywhere inside the unpickler
        if isinstance(error, pickle.UnpicklingError) and 'weights only' in str(error).lower():
            raise CheckpointError(
                f'{path}: holds objects other than tensors and plain containers; refusing '
                f'to unpickle it (weights_only=True)') from error
        # Zip archives (torch >= 1.6) start with 'PK', legacy files with a pickle opcode.
        if head.startswith((b'PK', b'\x80')):
            raise CheckpointError(f'{path}: truncated or corrupt PyTorch checkpoint '
                                  f'({type(error).__name__}: {error})') from error
        raise CheckpointError(f'{path}: not a PyTorch checkpoint (starts with {head!r})'
                              ) from error


def _read_safetensors(path: Path) -> Tuple[Dict[str, Any], Dict[str, torch.Tensor]]:
    """
    Read a .safetensors state dict and its config.

    :param path: the .safetensors file.
    :return: (model_config, state_dict).
    """
    from safetensors import safe_open
    with open(path, 'rb') as handle:
        _check_not_lfs_pointer(path, handle.read(len(LFS_POINTER)))
    try:
        with safe_open(str(path), framework='pt') as handle:
            metadata = handle.metadata() or {}
            state = {key: handle.get_tensor(key) for key in handle.keys()}
    except Exception as error:  # SafetensorError has no public base class to catch
        raise CheckpointError(
            f'{path}: not a readable safetensors file (truncated or corrupt?): {error}'
        ) from error
    for candidate in (path.with_suffix('.json'), path.parent / 'config.json'):
        if candidate.is_file():
            try:
                config = json.loads(candidate.read_text())
            except (ValueError, UnicodeDecodeError) as error:
                raise CheckpointError(f'{candidate}: not valid JSON ({error})') from error
            break
    else:
        if 'model_config' not in metadata:
            raise CheckpointError(f'{path}: no model config: expected {path.stem}.json or '
                                  f'config.json beside it, or a model_config metadata entry')
        config = json.loads(metadata['model_config'])
    if isinstance(config, dict) and isinstance(config.get('model_config'), dict):
        config = config['model_config']
    return config, state


def read_checkpoint(path) -> Tuple[Dict[str, Any], Dict[str, torch.Tensor]]:
    """
    Read (model_config, state_dict) from a model.pt or .safetensors file.

    :param path: checkpoint file.
    :return: the config dict and the state dict (CPU tensors).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'checkpoint {path}: no such file')
    verify_checksum(path)
    if path.suffix == '.safetensors':
        config, state = _read_safetensors(path)
    else:
        content = _load_torch_file(path)
        if not isinstance(content, dict) or 'model' not in content:
            found = sorted(content)[:_SHOWN] if isinstance(content, dict) else \
                type(content).__name__
            raise CheckpointError(f'{path}: not a released-format checkpoint: expected a dict '
                                  f"with 'model_config' and 'model', found {found}")
        if not isinstance(content.get('model_config'), dict):
            raise CheckpointError(f"{path}: 'model_config': expected a dict, got "
                                  f"{type(content.get('model_config')).__name__}")
        config, state = content['model_config'], content['model']
    if not isinstance(state, dict) or not all(
            isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: 'model': expected a dict of tensors")
    if not isinstance(config, dict):
        raise CheckpointError(f'{path}: model_config: expected a dict, '
                              f'got {type(config).__name__}')
    return config, state


def check_state_dict(model: torch.nn.Module, state: Dict[str, torch.Tensor],
                     source: str = 'checkpoint') -> None:
    """
    Raise one error describing every difference between a state dict and a model.

    :param model: the model (may live on the 'meta' device).
    :param state: the state dict to load.
    :param source: name used in the message.
    """
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    misshaped = [f'{k} {tuple(state[k].shape)} != {tuple(v.shape)}'
                 for k, v in expected.items() if k in state and state[k].shape != v.shape]
    if not (missing or unexpected or misshaped):
        return
    lines = [f'{source}: weights do not match its model_config '
             f'({len(missing)} missing, {len(unexpected)} unexpected, '
             f'{len(misshaped)} mis-shaped [checkpoint != model])']
    for title, keys in (('missing', missing), ('unexpected', unexpected),
                        ('mis-shaped', misshaped)):
        if keys:
            more = f' ... and {len(keys) - _SHOWN} more' if len(keys) > _SHOWN else ''
            lines.append(f'  {title} ({len(keys)}): ' + ', '.join(keys[:_SHOWN]) + more)
    raise CheckpointError('\n'.join(lines))


def save_checkpoint(model: torch.nn.Module, path, dtype: torch.dtype = None) -> Path:
    """
    Save a model in the released format (model.pt) or as .safetensors + config JSON.

    ``*.safetensors`` writes the weights (config also in the metadata) and
    ``<stem>.json``; any other suffix writes ``{'model_config', 'model'}`` with
    ``torch.save``. Files are written to a temporary name and renamed.

    :param model: an MDMModel (its ``model_config`` is saved).
    :param path: destination file.
    :param dtype: store floating-point weights in this dtype (e.g. torch.float16 halves
        the file; loading casts them back to the model's dtype). None: as they are.
    :return: the path written.
    """
    path = Path(path)
    config = json.loads(json.dumps(model.model_config))  # plain lists / dicts only
    state = {k: v.detach().to('cpu').contiguous() for k, v in model.state_dict().items()}
    if dtype is not None:
        state = {k: v.to(dtype) if v.is_floating_point() else v for k, v in state.items()}
    partial = path.with_name(path.name + '.partial')
    if path.suffix == '.safetensors':
        from safetensors.torch import save_file
        save_file(state, str(partial), metadata={'model_config': json.dumps(config)})
        path.with_suffix('.json').write_text(json.dumps(config, indent=1) + '\n')
    else:
        torch.save({'model_config': config, 'model': state}, partial)
    os.replace(partial, path)
    return path
