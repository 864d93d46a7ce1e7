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
Parameters of the depth completion node: declaration, validation and the config snapshot.

Every parameter is declared once from ``PARAMETERS`` with a ParameterDescriptor (description,
type, range, read-only for those that only apply at start-up). Values from a YAML file or
``ros2 param set`` go through ``check_parameters``: an invalid value is rejected with a reason
naming the parameter, the expected and the actual value, never clamped. The rules are those
of the objects the values configure (``backend_factory.BackendSettings``,
``frame_decoding.FrameSettings``, ``geometry.DepthRange``), which the offline tools use too.
"""

import array
from dataclasses import dataclass, fields
import math
import re
from typing import Any, Callable, Dict, Iterable, Optional, Tuple

from lingbot_depth_ros.backends.factory import (BACKENDS, BackendSettings, DEVICES_HELP,
                                                parse_sizes, PRECISIONS)
from lingbot_depth_ros.geometry import DepthRange
from lingbot_depth_ros.messages.frame import FrameSettings, GraspCloudSettings, MODES
from lingbot_depth_ros.node import qos
from lingbot_depth_ros.points import rigid_transform
import numpy as np
from rcl_interfaces.msg import (FloatingPointRange, IntegerRange, ParameterDescriptor,
                                SetParametersResult)

OUTPUT_ENCODINGS = ('32FC1', '16UC1')
_NAMESPACE = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*$')


@dataclass(frozen=True)
class ParamSpec:
    """One node parameter: name, default, meaning and the values it accepts."""

    name: str
    default: Any
    description: str
    # True when a change applies while the node runs; others are read-only after start-up.
    runtime: bool = False
    choices: Tuple[str, ...] = ()
    int_range: Optional[Tuple[int, int]] = None
    float_range: Optional[Tuple[float, float]] = None


PARAMETERS = (
    ParamSpec('model', '', 'Model: path to model.pt, a directory holding it, a .safetensors '
              'file (config JSON beside it), a Hugging Face repo id, bundled:<name> (a model '
              'trained by this project, e.g. bundled:vitt4-synthetic), or random:<config> '
              'for tests; or a .onnx / .engine file from `lingbot-depth export`. '
              'Empty: no network (classical backend).'),
    ParamSpec('backend', 'auto', 'Completion backend: network (torch), onnxruntime (.onnx), '
              'tensorrt (.engine), classical, or auto (from model: .onnx onnxruntime, .engine '
              'tensorrt, other network; none: classical with a warning).', choices=BACKENDS),
    ParamSpec('device', 'auto', 'Device of the network: %s.' % DEVICES_HELP),
    ParamSpec('precision', 'fp32', 'Network precision: fp32, fp16 or bf16 (torch autocast; '
              'onnxruntime runs fp32 only; a TensorRT engine keeps the precision it was '
              'built with).', choices=PRECISIONS),
    ParamSpec('num_tokens', 0, 'Image tokens of the network; 0 derives them from '
              'resolution_level (an exported network has its own).', int_range=(0, 100000)),
    ParamSpec('resolution_level', 9, 'Resolution level 0 (fewest tokens, fastest) to 9 (most) '
              'when num_tokens is 0.', int_range=(0, 9)),
    ParamSpec('mode', 'completion', 'completion: use the sensor depth; monocular: ignore it '
              'and predict from colour only. A frame without any valid depth pixel runs '
              'monocular in either mode.', runtime=True, choices=MODES),
    ParamSpec('keep_valid_input', True, 'Output the valid sensor measurements unchanged and '
              'fill only the holes (true), or output the refined estimate everywhere (false).'),
    ParamSpec('depth_scale', 0.001, 'Metres per unit of integer (16UC1/mono16) input depth.',
              runtime=True),
    ParamSpec('min_depth', 0.0, 'Smallest valid depth in metres, input and output.',
              runtime=True),
    ParamSpec('max_depth', math.inf, 'Largest valid depth in metres, input and output '
              '(inf, .inf in YAML: no limit).', runtime=True),
    ParamSpec('output_encoding', '32FC1', 'depth_refined/image encoding: 32FC1 metres (NaN '
              'invalid) or 16UC1 millimetres (0 invalid; beyond 65.535 m clipped, counted and '
              'warned).', runtime=True,
              choices=OUTPUT_ENCODINGS),
    ParamSpec('publish_cloud', True, 'Publish the points cloud.', runtime=True),
    ParamSpec('cloud_rgb', True, 'Cloud fields x, y, z, rgb (true) or x, y, z (false).',
              runtime=True),
    ParamSpec('cloud_decimation', 1, 'Keep every n-th row and column in the cloud.',
              runtime=True, int_range=(1, 16)),
    ParamSpec('cloud_organized', True, 'Organized cloud (height x width, NaN points kept) or '
              'unorganized (valid points only).', runtime=True),
    ParamSpec('publish_filled_mask', False, 'Publish depth_refined/filled_mask (mono8, 255 '
              'where the output fills a pixel without a valid sensor value).'),
    ParamSpec('sync_slop', 0.02, 'Largest colour/depth stamp difference in seconds that still '
              'pairs.', runtime=True, float_range=(0.0, 1.0)),
    ParamSpec('input_reliability', qos.AUTO, 'Input QoS reliability: auto (match the '
              'publishers found), reliable or best_effort.', choices=qos.INPUT_CHOICES),
    ParamSpec('output_reliability', qos.RELIABLE, 'Output QoS reliability: reliable or '
              'best_effort.', choices=qos.OUTPUT_CHOICES),
    ParamSpec('always_process', False, 'Run inference even when no output has a subscriber.',
              runtime=True),
    ParamSpec('diagnostics_period', 1.0, 'Seconds between /diagnostics messages.',
              float_range=(0.05, 60.0)),
    ParamSpec('warmup_sizes', '480x640', 'Frame sizes (HEIGHTxWIDTH, comma-separated) the '
              'torch network runs once at start-up, so the first camera frame is not slow; on '
              'CUDA each is captured as a CUDA graph. Empty: no warm-up. Exported networks '
              'warm up at their own size.'),
    ParamSpec('cuda_graphs', True, 'Torch network on CUDA: replay one captured CUDA graph per '
              'frame size (static shapes) instead of launching every kernel; eager with a '
              'warning if the capture fails. Ignored on the CPU.'),
    ParamSpec('num_threads', 0, 'CPU threads of the backend (torch for the network, OpenCV '
              'for the classical one); 0 keeps the library default.',
              int_range=(0, 1024)),
    ParamSpec('min_confidence', 0.5, 'Network backends: pixels whose mask-head probability '
              'is below this get no depth (NaN); 0.5 is the release, 0 keeps every pixel.',
              float_range=(0.0, 1.0)),
    ParamSpec('publish_confidence', False, 'Publish depth_refined/confidence (32FC1, the mask '
              "head's probability 0..1 that each pixel's depth is valid; networks with a "
              'mask head only).'),
    ParamSpec('amodal', False, 'Subscribe amodal_mask (mono8 at the colour size, stamped like '
              'the colour frame: 0 outside an object, 255 its visible part, other values its '
              'hidden part) and publish depth_amodal/image and points_amodal for each frame '
              'that gets a mask. Needs a model with the amodal guidance input; one camera.'),
    ParamSpec('temporal_filter', False, 'Smooth the output over time for static scenes: '
              'exponential average per pixel while its depth changes less than '
              'temporal_change (relative); restarts when much of the frame changes.',
              runtime=True),
    ParamSpec('temporal_alpha', 0.3, 'Weight of the new frame in the temporal filter '
              '(1: no smoothing).', runtime=True, float_range=(0.01, 1.0)),
    ParamSpec('temporal_change', 0.03, 'Relative depth change beyond which a pixel skips the '
              'temporal average (something moved there).', runtime=True,
              float_range=(0.001, 1.0)),
    ParamSpec('publish_filtered_cloud', False, 'Publish points_filtered: the cloud in '
              'target_frame, cropped to crop_box and voxel-downsampled (points stays as it '
              'is for trackers).', runtime=True),
    ParamSpec('target_frame', '', 'Frame of points_filtered (e.g. base_link); empty: the '
              'camera optical frame.', runtime=True),
    ParamSpec('transform_source', 'tf', 'Where the camera -> target_frame transform comes '
              'from: tf (tf2_ros, at the frame stamp) or static (static_translation and '
              'static_rotation). A missing transform skips the filtered cloud, counted and '
              'warned; it is never guessed.', runtime=True, choices=('tf', 'static')),
    ParamSpec('static_translation', [0.0, 0.0, 0.0], 'Position (x, y, z, metres) of the '
              'camera optical frame in target_frame, for transform_source static.',
              runtime=True),
    ParamSpec('static_rotation', [0.0, 0.0, 0.0, 1.0], 'Orientation (quaternion x, y, z, w) '
              'of the camera optical frame in target_frame, for transform_source static.',
              runtime=True),
    ParamSpec('crop_box', [0.0] * 6, 'Workspace box in target_frame: x_min, y_min, z_min, '
              'x_max, y_max, z_max (metres); all zeros: no crop.', runtime=True),
    ParamSpec('voxel_size', 0.0, 'Voxel edge (metres) of the filtered cloud: one centroid per '
              'voxel; 0 keeps every point.', runtime=True, float_range=(0.0, 1.0)),
    ParamSpec('cameras', [''], "Camera namespaces, relative to the node's, that this process "
              'serves with one model, e.g. [left, right]: each gets its own inputs, pairing and '
              'outputs under its namespace and a node <namespace>/lingbot_depth with these '
              "parameters; frames ready together run as one batch. [''] (one empty name): "
              "one camera, the node's own topics."),
)
SPECS: Dict[str, ParamSpec] = {spec.name: spec for spec in PARAMETERS}


@dataclass(frozen=True)
class NodeConfig:
    """Snapshot of every parameter value; replaced as a whole when a parameter changes."""

    model: str = SPECS['model'].default
    backend: str = SPECS['backend'].default
    device: str = SPECS['device'].default
    precision: str = SPECS['precision'].default
    num_tokens: int = SPECS['num_tokens'].default
    resolution_level: int = SPECS['resolution_level'].default
    mode: str = SPECS['mode'].default
    keep_valid_input: bool = SPECS['keep_valid_input'].default
    depth_scale: float = SPECS['depth_scale'].default
    min_depth: float = SPECS['min_depth'].default
    max_depth: float = SPECS['max_depth'].default
    output_encoding: str = SPECS['output_encoding'].default
    publish_cloud: bool = SPECS['publish_cloud'].default
    cloud_rgb: bool = SPECS['cloud_rgb'].default
    cloud_decimation: int = SPECS['cloud_decimation'].default
    cloud_organized: bool = SPECS['cloud_organized'].default
    publish_filled_mask: bool = SPECS['publish_filled_mask'].default
    sync_slop: float = SPECS['sync_slop'].default
    input_reliability: str = SPECS['input_reliability'].default
    output_reliability: str = SPECS['output_reliability'].default
    always_process: bool = SPECS['always_process'].default
    diagnostics_period: float = SPECS['diagnostics_period'].default
    warmup_sizes: str = SPECS['warmup_sizes'].default
    cuda_graphs: bool = SPECS['cuda_graphs'].default
    num_threads: int = SPECS['num_threads'].default
    min_confidence: float = SPECS['min_confidence'].default
    publish_confidence: bool = SPECS['publish_confidence'].default
    amodal: bool = SPECS['amodal'].default
    temporal_filter: bool = SPECS['temporal_filter'].default
    temporal_alpha: float = SPECS['temporal_alpha'].default
    temporal_change: float = SPECS['temporal_change'].default
    publish_filtered_cloud: bool = SPECS['publish_filtered_cloud'].default
    target_frame: str = SPECS['target_frame'].default
    transform_source: str = SPECS['transform_source'].default
    static_translation: tuple = tuple(SPECS['static_translation'].default)
    static_rotation: tuple = tuple(SPECS['static_rotation'].default)
    crop_box: tuple = tuple(SPECS['crop_box'].default)
    voxel_size: float = SPECS['voxel_size'].default
    cameras: tuple = tuple(SPECS['cameras'].default)

    @property
    def camera_namespaces(self) -> Tuple[str, ...]:
        """Return the camera namespaces of a multi-camera node; () for one camera."""
        return () if tuple(self.cameras) == ('',) else tuple(self.cameras)

    def backend_settings(self) -> BackendSettings:
        """
        Return the backend settings of these values.

        :return: the BackendSettings.
        :raises ValueError: when they cannot make a backend.
        """
        return BackendSettings(model=self.model, backend=self.backend, device=self.device,
                               precision=self.precision, num_tokens=self.num_tokens,
                               resolution_level=self.resolution_level,
                               keep_valid_input=self.keep_valid_input,
                               num_threads=self.num_threads,
                               min_confidence=self.min_confidence,
                               warmup_sizes=parse_sizes(self.warmup_sizes),
                               cuda_graphs=self.cuda_graphs)

    def frame_settings(self) -> FrameSettings:
        """
        Return how input frames are read with these values.

        :return: the FrameSettings.
        :raises ValueError: for a bad depth_scale, range or mode.
        """
        return FrameSettings(depth_scale=self.depth_scale,
                             depth_range=DepthRange(self.min_depth, self.max_depth),
                             mode=self.mode)

    def grasp_cloud(self) -> Tuple[GraspCloudSettings, Optional[np.ndarray]]:
        """
        Return the filtered cloud's settings and the static transform (when used).

        :return: (settings, 4x4 target <- camera matrix for transform_source static, else
            None).
        :raises ValueError: for a bad crop box, quaternion or translation.
        """
        box = [float(v) for v in self.crop_box]
        if len(box) != 6:
            raise ValueError(f'crop_box: expected 6 values (x_min, y_min, z_min, x_max, y_max, '
                             f'z_max), got {len(box)}')
        low, high = (tuple(box[:3]), tuple(box[3:])) if any(box) else (None, None)
        if low is not None and any(a >= b for a, b in zip(low, high)):
            raise ValueError(f'crop_box: expected each minimum below its maximum, got {box}')
        static = None
        if self.transform_source == 'static':
            static = rigid_transform(self.static_translation, self.static_rotation)
        return GraspCloudSettings(low, high, float(self.voxel_size), self.cloud_rgb), static


def check_cameras(cameras) -> None:
    """
    Check the cameras parameter.

    :param cameras: list of namespaces.
    :raises ValueError: for an empty list, a repeated or malformed name, or '' beside others.
    """
    names = list(cameras)
    if names == ['']:
        return
    if not names or len(set(names)) != len(names) or \
            not all(_NAMESPACE.match(name) for name in names):
        raise ValueError("cameras: expected [''] or distinct relative namespaces (letters, "
                         'digits, _ and /, not starting with a digit or /), got %r' % (names,))


def launch_override_description(name: str) -> str:
    """
    Return the description of a launch argument that overrides a node parameter.

    :param name: the parameter's name.
    :return: its declared description, and what an empty argument does.
    """
    return SPECS[name].description + ' Empty: the value of params_file.'


def descriptor(spec: ParamSpec) -> ParameterDescriptor:
    """
    Build the ParameterDescriptor of one parameter.

    :param spec: The parameter's ParamSpec.
    :return: Descriptor with description, constraints text, range and read-only flag; the
        type is inferred by rclpy from the default value.
    """
    desc = ParameterDescriptor(description=spec.description, read_only=not spec.runtime)
    if spec.choices:
        desc.additional_constraints = 'one of: ' + ', '.join(spec.choices)
    if spec.int_range is not None:
        desc.integer_range = [IntegerRange(from_value=spec.int_range[0],
                                           to_value=spec.int_range[1], step=1)]
    if spec.float_range is not None:
        desc.floating_point_range = [FloatingPointRange(from_value=spec.float_range[0],
                                                        to_value=spec.float_range[1], step=0.0)]
    return desc


def check_value(name: str, value: Any, values: Dict[str, Any]) -> Optional[str]:
    """
    Check one parameter value beyond its type and range (checked by rclpy's descriptor).

    :param name: Parameter name.
    :param value: Proposed value.
    :param values: Every parameter's value as it would be after the change (for checks that
        involve two parameters, such as min_depth < max_depth).
    :return: None when valid, else the reason naming parameter, expected and actual value.
    """
    spec = SPECS.get(name)
    if spec is None:
        return None
    if spec.choices and value not in spec.choices:
        return '%s: expected one of %s, got %r' % (name, ', '.join(spec.choices), value)
    config = config_from_values(values)
    try:
        backend = config.backend_settings()
        config.frame_settings()
        config.grasp_cloud()
        check_cameras(config.cameras)
    except ValueError as error:
        return str(error)
    if config.mode == 'monocular' and backend.kind == 'classical':
        return ('mode: monocular needs a network (the classical backend only fills holes '
                'between measurements); set model, or mode completion')
    return None


def check_parameters(changes: Iterable[Tuple[str, Any]],
                     current: Dict[str, Any]) -> SetParametersResult:
    """
    Validate a batch of parameter changes together.

    :param changes: (name, value) pairs being set.
    :param current: Every parameter's current value (defaults for those not declared yet).
    :return: SetParametersResult, with the first problem as reason when unsuccessful.
    """
    changes = list(changes)
    values = dict(current)
    values.update(changes)
    for name, value in changes:
        reason = check_value(name, value, values)
        if reason is not None:
            return SetParametersResult(successful=False, reason=reason)
    return SetParametersResult(successful=True)


def declare_parameters(node, on_change: Callable[[NodeConfig], None]) -> NodeConfig:
    """
    Declare every node parameter and keep a NodeConfig up to date.

    Validation is registered before the declarations, so an invalid value from a YAML file
    raises rclpy's InvalidParameterValueException at start-up with the reason.

    :param node: The rclpy Node.
    :param on_change: Called with the new NodeConfig after a runtime change succeeded.
    :return: The NodeConfig at start-up.
    """
    def current_values() -> Dict[str, Any]:
        return {spec.name: (node.get_parameter(spec.name).value
                            if node.has_parameter(spec.name) else spec.default)
                for spec in PARAMETERS}

    def on_set(parameters) -> SetParametersResult:
        return check_parameters(((p.name, p.value) for p in parameters), current_values())

    def post_set(parameters) -> None:
        known = {p.name: p.value for p in parameters if p.name in SPECS}
        if known and all(node.has_parameter(spec.name) for spec in PARAMETERS):
            on_change(config_from_values(current_values()))

    node.add_on_set_parameters_callback(on_set)
    node.declare_parameters('', [(spec.name, spec.default, descriptor(spec))
                                 for spec in PARAMETERS])
    node.add_post_set_parameters_callback(post_set)
    return config_from_values(current_values())


def config_from_values(values: Dict[str, Any]) -> NodeConfig:
    """
    Build a NodeConfig from parameter values.

    :param values: Parameter name -> value; names that are not node parameters are ignored.
    :return: The NodeConfig.
    """
    names = {f.name for f in fields(NodeConfig)}
    # rclpy gives double arrays as array.array: keep the config hashable and printable.
    return NodeConfig(**{k: tuple(v) if isinstance(v, (list, array.array)) else v
                         for k, v in values.items() if k in names})
