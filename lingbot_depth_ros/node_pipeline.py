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
One frame through the node, without rclpy: messages in, checked arrays, output messages out.

``prepare_frame`` turns a MatchedFrame into arrays (raising FrameRejected with a drop reason
for a frame that cannot be processed), ``run_backend`` calls the completion backend, and
``depth_outputs``, ``cloud_output`` and ``mask_output`` make the output messages. Problems
that do not stop the frame are returned as Notices for the node to log (once, or throttled).
``load_completer`` creates the backend at start-up.
"""

from dataclasses import dataclass, field
import math
import sys
import time
from typing import List, Optional

from lingbot_depth_ros.completion import CompletionResult
from lingbot_depth_ros.geometry import resize_depth_nearest
from lingbot_depth_ros.msg_conversions import (camera_info_at_size, camera_info_to_model,
                                               depth_from_image, depth_to_image,
                                               depth_to_pointcloud2, mask_to_image,
                                               rgb_from_image)
from lingbot_depth_ros.node_params import NodeConfig
from lingbot_depth_ros.sync import MatchedFrame
import numpy as np
from std_msgs.msg import Header

# Relative aspect-ratio difference up to which depth is resized to the colour size.
ASPECT_TOLERANCE = 0.01


class FrameRejected(Exception):
    """A frame that cannot be processed; ``reason`` is its drop counter key."""

    def __init__(self, reason: str, topic: str, detail: str):
        """
        Describe the rejection.

        :param reason: Drop counter key, e.g. 'bad_depth'.
        :param topic: Input topic the problem is on.
        :param detail: What is wrong.
        """
        super().__init__('%s: %s' % (topic, detail))
        self.reason = reason
        self.topic = topic


@dataclass
class Notice:
    """A problem worth a (throttled or one-time) warning that does not stop the frame."""

    key: str
    text: str
    once: bool = False


@dataclass
class PreparedFrame:
    """Checked input arrays of one frame."""

    header: Header
    rgb: np.ndarray
    # float32 HxW metres at the colour size, 0 where invalid; None when running monocular.
    depth: Optional[np.ndarray]
    valid: np.ndarray
    K: np.ndarray
    info: object
    stamp_ns: int
    received_ns: int
    notices: List[Notice] = field(default_factory=list)


@dataclass(frozen=True)
class TopicNames:
    """Resolved input topic names, used in warnings."""

    rgb: str = 'rgb/image'
    depth: str = 'depth/image'
    info: str = 'rgb/camera_info'


def _same_aspect(w1: int, h1: int, w2: int, h2: int) -> bool:
    return abs(w1 * h2 - w2 * h1) <= ASPECT_TOLERANCE * w2 * h1


def prepare_frame(frame: MatchedFrame, config: NodeConfig,
                  topics: TopicNames = TopicNames()) -> PreparedFrame:
    """
    Convert and check the messages of a matched frame.

    :param frame: Colour, depth and camera_info messages.
    :param config: Current parameters (depth_scale, range, mode).
    :param topics: Topic names for the messages.
    :return: The PreparedFrame.
    :raises FrameRejected: on an unsupported encoding, a data length that does not match
        step x height, bad intrinsics, or a depth size of another aspect ratio.
    """
    notices = []
    try:
        rgb = rgb_from_image(frame.rgb)
    except ValueError as error:
        raise FrameRejected('bad_rgb', topics.rgb, str(error)) from None
    height, width = rgb.shape[:2]
    try:
        depth, valid = depth_from_image(frame.depth, depth_scale=config.depth_scale)
    except ValueError as error:
        raise FrameRejected('bad_depth', topics.depth, str(error)) from None
    try:
        model = camera_info_to_model(frame.info, width=width, height=height)
    except ValueError as error:
        raise FrameRejected('bad_camera_info', topics.info, str(error)) from None

    if depth.shape != (height, width):
        d_height, d_width = depth.shape
        if not _same_aspect(d_width, d_height, width, height):
            raise FrameRejected('size_mismatch', topics.depth, 'depth is %dx%d, colour %dx%d '
                                '(another aspect ratio), frame skipped'
                                % (d_width, d_height, width, height))
        depth = resize_depth_nearest(depth, width, height)
        valid = resize_depth_nearest(valid.astype(np.uint8), width, height).astype(bool)
        notices.append(Notice('resize', '%s: depth is %dx%d, colour %dx%d: resizing depth '
                              '(nearest) to the colour size' % (topics.depth, d_width,
                                                                d_height, width, height),
                              once=True))
    if frame.rgb.header.frame_id != frame.depth.header.frame_id:
        notices.append(Notice('frame_id', "%s frame_id '%s' differs from %s frame_id '%s': "
                              'is the depth registered to the colour camera?'
                              % (topics.depth, frame.depth.header.frame_id, topics.rgb,
                                 frame.rgb.header.frame_id), once=True))

    valid = valid & (depth >= config.min_depth)
    if math.isfinite(config.max_depth):
        valid &= depth <= config.max_depth
    if config.mode == 'monocular':
        depth = None
    elif not valid.any():
        notices.append(Notice('all_invalid', '%s: no valid depth pixel, running this frame '
                              'monocular' % topics.depth))
        depth = None
    else:
        depth = np.where(valid, depth, np.float32(0.0))

    header = Header()
    header.stamp = frame.rgb.header.stamp
    header.frame_id = frame.rgb.header.frame_id or frame.info.header.frame_id
    return PreparedFrame(header=header, rgb=rgb, depth=depth, valid=valid, K=model.K,
                         info=frame.info, stamp_ns=frame.stamp_ns,
                         received_ns=frame.received_ns, notices=notices)


def is_out_of_memory(error: BaseException) -> bool:
    """
    Tell whether an exception from the backend means the GPU ran out of memory.

    :param error: The exception.
    :return: True for torch.cuda.OutOfMemoryError or a RuntimeError saying 'out of memory'.
    """
    torch = sys.modules.get('torch')
    oom_type = getattr(getattr(torch, 'cuda', None), 'OutOfMemoryError', None)
    if oom_type is not None and isinstance(error, oom_type):
        return True
    return isinstance(error, RuntimeError) and 'out of memory' in str(error).lower()


def release_gpu_memory(completer) -> None:
    """
    Return cached CUDA memory to the driver after an out-of-memory error.

    :param completer: The backend; its ``release_memory()`` is called when it has one.
    """
    release = getattr(completer, 'release_memory', None)
    if callable(release):
        release()
    torch = sys.modules.get('torch')
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def run_backend(completer, prepared: PreparedFrame, config: NodeConfig):
    """
    Complete the depth of a prepared frame and apply the output depth range.

    :param completer: Backend with ``complete(rgb, depth, K) -> CompletionResult``.
    :param prepared: The frame.
    :param config: Current parameters (range).
    :return: ``(CompletionResult, seconds spent in complete(), forward seconds)``; the
        forward time is the backend's ``timings['forward']`` when it reports one, else the
        whole call.
    """
    start = time.perf_counter()
    result: CompletionResult = completer.complete(prepared.rgb, prepared.depth, prepared.K)
    elapsed = time.perf_counter() - start
    depth = result.depth
    with np.errstate(invalid='ignore'):
        outside = depth < config.min_depth
        if math.isfinite(config.max_depth):
            outside |= depth > config.max_depth
    if outside.any():
        depth = np.where(outside, np.float32(np.nan), depth)
        result.depth = depth
        result.filled = result.filled & ~outside
    return result, elapsed, result.timings.get('forward', elapsed)


def depth_outputs(prepared: PreparedFrame, result: CompletionResult, config: NodeConfig):
    """
    Make the refined depth image and its camera_info, published first.

    :param prepared: The input frame.
    :param result: The backend's result (at the colour size).
    :param config: Current parameters (output_encoding).
    :return: ``(Image, CameraInfo, notices)``, both messages with the input frame's header.
    """
    height, width = prepared.rgb.shape[:2]
    image, n_clipped = depth_to_image(result.depth, prepared.header,
                                      encoding=config.output_encoding)
    notices = []
    if n_clipped:
        notices.append(Notice('clipped', 'depth_refined/image: %d pixels beyond 65.535 m '
                              'clipped in 16UC1' % n_clipped))
    info = camera_info_at_size(prepared.info, width, height, header=prepared.header)
    return image, info, notices


def cloud_output(prepared: PreparedFrame, result: CompletionResult, config: NodeConfig):
    """
    Make the point cloud of the refined depth.

    :param prepared: The input frame (colour, intrinsics at the output size, header).
    :param result: The backend's result.
    :param config: Current parameters (cloud options, range).
    :return: sensor_msgs/PointCloud2 in the depth_image_proc layout.
    """
    return depth_to_pointcloud2(
        result.depth, prepared.K, prepared.header,
        rgb=prepared.rgb if config.cloud_rgb else None,
        decimation=config.cloud_decimation, min_range=config.min_depth,
        max_range=config.max_depth, organized=config.cloud_organized)


def mask_output(prepared: PreparedFrame, result: CompletionResult):
    """
    Make the filled-pixel mask image.

    :param prepared: The input frame (header).
    :param result: The backend's result.
    :return: mono8 sensor_msgs/Image, 255 where the output fills a sensor hole.
    """
    return mask_to_image(result.filled, prepared.header)


class ModelLoadError(RuntimeError):
    """The completion backend could not be created at start-up."""


def load_completer(config: NodeConfig):
    """
    Create the completion backend the parameters ask for.

    :param config: Node parameters (model, backend, device, precision, tokens, ...).
    :return: An object with ``complete(rgb, depth, K)`` and ``name``.
    :raises ModelLoadError: naming the model and the cause.
    """
    network = config.backend == 'network' or (config.backend == 'auto' and bool(config.model))
    try:
        try:
            from lingbot_depth_ros.inference import create_completer
        except ImportError:
            if network:
                raise
            # An install without torch still runs the classical backend.
            from lingbot_depth_ros.classical import ClassicalCompleter
            return ClassicalCompleter(keep_valid_input=config.keep_valid_input)
        options = {'keep_valid_input': config.keep_valid_input}
        if network:
            options.update(device=config.device, precision=config.precision,
                           num_tokens=config.num_tokens or None,
                           resolution_level=config.resolution_level)
        return create_completer(config.model or None, config.backend, **options)
    except Exception as error:  # noqa: B902 - any failure is reported as one clear line
        raise ModelLoadError("cannot load model '%s' (backend %s): %s: %s" % (
            config.model, config.backend, type(error).__name__, error)) from error


def set_thread_count(num_threads: int) -> None:
    """
    Set the CPU thread count of the numerical libraries already loaded.

    :param num_threads: Threads; 0 keeps the libraries' defaults.
    """
    if num_threads <= 0:
        return
    torch = sys.modules.get('torch')
    if torch is not None:
        torch.set_num_threads(num_threads)
    cv2 = sys.modules.get('cv2')
    if cv2 is not None:
        cv2.setNumThreads(num_threads)
