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
The node's side of the shared frame path, without rclpy.

Decoding and the output messages are ``frame_decoding``'s, the backend is built by
``backend_factory``: the same code the offline tools run. Here are only what the node adds:
the one-line start-up error and the timings its diagnostics report.
"""

import time
from typing import List, Sequence, Tuple

from lingbot_depth_ros.backends.amodal import supports_amodal
from lingbot_depth_ros.backends.base import Backend, CompletionResult
from lingbot_depth_ros.backends.factory import create_backend
from lingbot_depth_ros.messages.frame import DecodedFrame, FrameSettings, limit_output
from lingbot_depth_ros.node.params import NodeConfig


class ModelLoadError(RuntimeError):
    """The completion backend could not be created at start-up."""


def load_backend(config: NodeConfig, logger=None) -> Backend:
    """
    Create the completion backend the parameters ask for.

    :param config: Node parameters (model, backend, device, precision, tokens, ...).
    :param logger: Receives the classical-fallback warning (the node's logger).
    :return: The backend.
    :raises ModelLoadError: naming the model and the cause.
    """
    try:
        return create_backend(config.backend_settings(), logger)
    except Exception as error:  # noqa: B902 - any failure is reported as one clear line
        raise ModelLoadError("cannot load model '%s' (backend %s): %s: %s" % (
            config.model, config.backend, type(error).__name__, error)) from error


def check_amodal(config: NodeConfig, backend: Backend) -> None:
    """
    Refuse ``amodal`` where it cannot work: several cameras, a model without guidance.

    :param config: node parameters (amodal is true).
    :param backend: the loaded backend.
    :raises ModelLoadError: naming the problem.
    """
    if config.camera_namespaces:
        raise ModelLoadError('amodal: serves one camera; got cameras %s (run one node per '
                             'camera for amodal masks)' % (list(config.camera_namespaces),))
    if not supports_amodal(backend):
        raise ModelLoadError("amodal: model '%s' (backend %s) has no amodal guidance input; "
                             'use an amodal model (e.g. bundled:vitt4-amodal)'
                             % (config.model, backend.name))


def run_backend(backend: Backend, frame: DecodedFrame,
                settings: FrameSettings) -> Tuple[CompletionResult, float, float]:
    """
    Complete the depth of a decoded frame and apply the output depth range.

    :param backend: The completion backend.
    :param frame: The frame.
    :param settings: The frame settings (their depth range).
    :return: ``(CompletionResult, seconds spent in complete(), forward seconds)``; the
        forward time is the backend's ``timings['forward']`` when it reports one, else the
        whole call.
    :raises completion.OutOfMemory: when the device ran out of memory.
    """
    start = time.perf_counter()
    result = backend.complete(frame.rgb, frame.depth, frame.K)
    elapsed = time.perf_counter() - start
    limit_output(result, settings.depth_range)
    return result, elapsed, result.timings.get('forward', elapsed)


def run_backend_batch(backend: Backend, frames: Sequence[Tuple[DecodedFrame, FrameSettings]]
                      ) -> List[Tuple[CompletionResult, float, float]]:
    """
    Complete several decoded frames (one per camera) together, then apply each one's range.

    One batched forward when the backend has ``complete_batch`` (network engines; the torch
    engine batches frames of one size), else one ``complete`` after another.

    :param backend: The completion backend.
    :param frames: ``(DecodedFrame, FrameSettings)`` per frame.
    :return: per frame what :func:`run_backend` returns; the seconds are the batch's.
    :raises completion.OutOfMemory: when the device ran out of memory.
    """
    if len(frames) == 1 or not hasattr(backend, 'complete_batch'):
        return [run_backend(backend, frame, settings) for frame, settings in frames]
    start = time.perf_counter()
    results = backend.complete_batch([(f.rgb, f.depth, f.K) for f, _ in frames])
    elapsed = time.perf_counter() - start
    for result, (_, settings) in zip(results, frames):
        limit_output(result, settings.depth_range)
    return [(result, elapsed, result.timings.get('forward', elapsed)) for result in results]
