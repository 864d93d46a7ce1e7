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
One frame path for the node and the offline tools: messages in, checked arrays, messages out.

:func:`decode_frame` turns a colour Image, a depth Image and a CameraInfo (rclpy messages
or rosbags ones: only their fields are read) into checked arrays and intrinsics at the
colour size, raising :class:`FrameRejected` with a drop reason for a frame that cannot be
processed. :class:`FrameSettings` owns the depth range: it limits the input before the
backend sees it (:func:`decode_frame`) and the output after (:func:`limit_output`), so a
backend never needs it. ``depth_outputs``, ``cloud_output`` and ``mask_output`` build the
output messages with the colour image's stamp and optical frame.
"""

from dataclasses import dataclass, field
from typing import List, Optional

from builtin_interfaces.msg import Time
from lingbot_depth_ros.geometry import back_project, DepthRange, resize_depth_nearest
from lingbot_depth_ros.messages.conversions import (camera_info_at_size, camera_info_to_model,
                                                    confidence_to_image,
                                                    depth_from_image, depth_to_image,
                                                    depth_to_pointcloud2, mask_to_image,
                                                    rgb_from_image)
from lingbot_depth_ros.messages.pointcloud import points_to_pointcloud2
from lingbot_depth_ros.points import crop_box, transform_points, voxel_downsample
import numpy as np
from std_msgs.msg import Header

# Relative aspect-ratio difference up to which depth is resized to the colour size.
ASPECT_TOLERANCE = 0.01
MODES = ('completion', 'monocular')
# Smaller is no camera image, and below one network patch (14 px) there is nothing to infer.
MIN_IMAGE_SIDE = 14


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
        self.detail = detail


@dataclass
class Notice:
    """A problem worth a (throttled or one-time) warning that does not stop the frame."""

    key: str
    text: str
    once: bool = False


@dataclass(frozen=True)
class InputTopics:
    """Input topic names, used in warnings and errors."""

    rgb: str = 'rgb/image'
    depth: str = 'depth/image'
    info: str = 'rgb/camera_info'


@dataclass(frozen=True)
class FrameSettings:
    """
    How input messages are read: depth units, the valid depth range and the mode.

    :ivar depth_scale: metres per unit of integer (16UC1 / mono16) depth.
    :ivar depth_range: depths outside it are holes on input and NaN on output.
    :ivar mode: 'completion' uses the sensor depth, 'monocular' ignores it.
    """

    depth_scale: float = 0.001
    depth_range: DepthRange = DepthRange()
    mode: str = 'completion'

    def __post_init__(self):
        """Reject settings no frame could be read with."""
        if not (np.isfinite(self.depth_scale) and self.depth_scale > 0.0):
            raise ValueError('depth_scale: expected a finite value > 0, got %r'
                             % (self.depth_scale,))
        if self.mode not in MODES:
            raise ValueError('mode: expected one of %s, got %r' % (', '.join(MODES), self.mode))


@dataclass
class DecodedFrame:
    """
    Checked input arrays of one frame, at the colour image's size.

    :ivar header: the outputs' header: the colour stamp and optical frame id.
    :ivar rgb: uint8 HxWx3.
    :ivar depth: float32 HxW metres, 0 where there is no measurement in range; None when
        the frame runs monocular.
    :ivar K: float64 3x3 intrinsics at the colour size.
    :ivar info: the input CameraInfo (the outputs' camera_info is made from it).
    :ivar notices: problems worth a warning that did not stop the frame.
    """

    header: Header
    rgb: np.ndarray
    depth: Optional[np.ndarray]
    K: np.ndarray
    info: object
    notices: List[Notice] = field(default_factory=list)


def _same_aspect(w1: int, h1: int, w2: int, h2: int) -> bool:
    return abs(w1 * h2 - w2 * h1) <= ASPECT_TOLERANCE * w2 * h1


def _output_header(rgb_msg, info_msg) -> Header:
    stamp = rgb_msg.header.stamp
    return Header(stamp=Time(sec=int(stamp.sec), nanosec=int(stamp.nanosec)),
                  frame_id=str(rgb_msg.header.frame_id or info_msg.header.frame_id))


def decode_frame(rgb_msg, depth_msg, info_msg, settings: FrameSettings = FrameSettings(),
                 topics: InputTopics = InputTopics()) -> DecodedFrame:
    """
    Convert and check the messages of one colour / depth / camera_info triple.

    :param rgb_msg: colour sensor_msgs/Image (or CompressedImage), rclpy or rosbags.
    :param depth_msg: depth sensor_msgs/Image registered to the colour camera; another size
        of the same aspect ratio is resized (nearest) to the colour size.
    :param info_msg: the colour camera's sensor_msgs/CameraInfo.
    :param settings: depth units, range and mode.
    :param topics: topic names for the messages, used in errors and notices.
    :return: the DecodedFrame.
    :raises FrameRejected: on an unsupported encoding, a data length that does not match
        step x height, bad intrinsics, or a depth size of another aspect ratio.
    """
    notices = []
    try:
        rgb = rgb_from_image(rgb_msg)
    except ValueError as error:
        raise FrameRejected('bad_rgb', topics.rgb, str(error)) from None
    height, width = rgb.shape[:2]
    if min(height, width) < MIN_IMAGE_SIDE:
        raise FrameRejected('bad_rgb', topics.rgb, 'expected an image of at least %d x %d '
                            'pixels, got %d x %d' % (MIN_IMAGE_SIDE, MIN_IMAGE_SIDE,
                                                     width, height))
    try:
        depth, _ = depth_from_image(depth_msg, depth_scale=settings.depth_scale)
    except ValueError as error:
        raise FrameRejected('bad_depth', topics.depth, str(error)) from None
    try:
        K = camera_info_to_model(info_msg, width=width, height=height).K
    except ValueError as error:
        raise FrameRejected('bad_camera_info', topics.info, str(error)) from None

    if depth.shape != (height, width):
        d_height, d_width = depth.shape
        if not _same_aspect(d_width, d_height, width, height):
            raise FrameRejected('size_mismatch', topics.depth, 'depth is %dx%d, colour %dx%d '
                                '(another aspect ratio): record depth registered to colour'
                                % (d_width, d_height, width, height))
        depth = resize_depth_nearest(depth, width, height)
        notices.append(Notice('resize', '%s: depth is %dx%d, colour %dx%d: resizing depth '
                              '(nearest) to the colour size' % (topics.depth, d_width,
                                                                d_height, width, height),
                              once=True))
    if rgb_msg.header.frame_id != depth_msg.header.frame_id:
        notices.append(Notice('frame_id', "%s frame_id '%s' differs from %s frame_id '%s': "
                              'is the depth registered to the colour camera?'
                              % (topics.depth, depth_msg.header.frame_id, topics.rgb,
                                 rgb_msg.header.frame_id), once=True))

    valid = settings.depth_range.valid(depth)
    if settings.mode == 'monocular':
        depth = None
    elif not valid.any():
        notices.append(Notice('all_invalid', '%s: no valid depth pixel, running this frame '
                              'monocular' % topics.depth))
        depth = None
    elif not valid.all():
        depth = np.where(valid, depth, np.float32(0.0))
    return DecodedFrame(header=_output_header(rgb_msg, info_msg), rgb=rgb, depth=depth, K=K,
                        info=info_msg, notices=notices)


def limit_output(result, depth_range: DepthRange):
    """
    Apply the depth range to a backend's result: depths outside it become NaN.

    :param result: a CompletionResult (its ``depth`` and ``filled`` are replaced).
    :param depth_range: the frame settings' range.
    :return: the same result.
    """
    depth, valid = depth_range.invalid_to_nan(result.depth)
    if depth is not result.depth:
        result.depth = depth
        result.filled = result.filled & valid
    return result


def depth_outputs(frame: DecodedFrame, depth: np.ndarray, encoding: str = '32FC1'):
    """
    Make the refined depth image and its camera_info.

    :param frame: the input frame.
    :param depth: float32 HxW refined metres (NaN where there is none), at the colour size.
    :param encoding: '32FC1' metres or '16UC1' millimetres.
    :return: ``(Image, CameraInfo, pixels clipped to 65.535 m in 16UC1)``, both messages
        with the frame's header.
    """
    height, width = frame.rgb.shape[:2]
    image, n_clipped = depth_to_image(depth, frame.header, encoding=encoding)
    info = camera_info_at_size(frame.info, width, height, header=frame.header)
    return image, info, n_clipped


def cloud_output(frame: DecodedFrame, depth: np.ndarray, with_rgb: bool = True,
                 decimation: int = 1, organized: bool = True):
    """
    Make the point cloud of the refined depth (already limited to the depth range).

    :param frame: the input frame (colour, intrinsics at the output size, header).
    :param depth: float32 HxW refined metres.
    :param with_rgb: add the packed ``rgb`` field.
    :param decimation: keep every n-th row and column.
    :param organized: keep the image layout with NaN points.
    :return: sensor_msgs/PointCloud2 in the depth_image_proc layout.
    """
    return depth_to_pointcloud2(depth, frame.K, frame.header,
                                rgb=frame.rgb if with_rgb else None,
                                decimation=decimation, organized=organized)


@dataclass(frozen=True)
class GraspCloudSettings:
    """
    The filtered cloud for grasp planners: transformed, cropped, voxel-downsampled.

    :ivar crop_low: (x, y, z) lower corner of the workspace box in the target frame, or
        None for no crop.
    :ivar crop_high: upper corner, or None.
    :ivar voxel_size: voxel edge in metres; 0 keeps every point.
    :ivar with_rgb: add the ``rgb`` field.
    """

    crop_low: Optional[tuple] = None
    crop_high: Optional[tuple] = None
    voxel_size: float = 0.0
    with_rgb: bool = True


def grasp_cloud_output(frame: DecodedFrame, depth: np.ndarray, matrix: np.ndarray,
                       target_frame: str, settings: GraspCloudSettings):
    """
    Make the filtered cloud: points in ``target_frame``, cropped and downsampled.

    :param frame: the input frame (colour, intrinsics, header).
    :param depth: float32 HxW refined metres (already limited to the depth range).
    :param matrix: 4x4 transform target <- camera optical frame.
    :param target_frame: frame id of the output.
    :param settings: crop box and voxel size.
    :return: unorganized sensor_msgs/PointCloud2 stamped like the frame.
    """
    points = back_project(depth, frame.K).reshape(-1, 3)
    finite = np.isfinite(points[:, 2])
    points = transform_points(points[finite], matrix)
    colors = frame.rgb.reshape(-1, 3)[finite] if settings.with_rgb else None
    if settings.crop_low is not None:
        inside = crop_box(points, settings.crop_low, settings.crop_high)
        points = points[inside]
        colors = None if colors is None else colors[inside]
    if settings.voxel_size > 0:
        points, colors = voxel_downsample(points, settings.voxel_size, colors)
    header = Header(stamp=frame.header.stamp, frame_id=target_frame)
    return points_to_pointcloud2(points, header, colors)


def confidence_output(frame: DecodedFrame, confidence: np.ndarray):
    """
    Make the confidence image: the mask head's probability that each depth is valid.

    :param frame: the input frame (header).
    :param confidence: float32 HxW in [0, 1].
    :return: 32FC1 sensor_msgs/Image.
    """
    return confidence_to_image(confidence, frame.header)


def mask_output(frame: DecodedFrame, filled: np.ndarray):
    """
    Make the filled-pixel mask image.

    :param frame: the input frame (header).
    :param filled: bool HxW, pixels the output fills.
    :return: mono8 sensor_msgs/Image, 255 where the output fills a sensor hole.
    """
    return mask_to_image(filled, frame.header)
