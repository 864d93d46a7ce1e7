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

"""The camera node's own parameters (read-only: the camera opens at start-up)."""

from typing import Any, Dict

from lingbot_depth_ros.node.params import descriptor, ParamSpec
from lingbot_depth_ros.sources.base import CAMERAS
from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult

# Beyond the depth completion node's PARAMETERS.
CAMERA_PARAMETERS = (
    ParamSpec('camera', 'realsense', 'Camera SDK: realsense (pyrealsense2) or orbbec '
              '(pyorbbecsdk2).', choices=CAMERAS),
    ParamSpec('serial', '', 'Serial number of the camera to open; empty: the first found.'),
    ParamSpec('profile', '640x480x30', 'Colour (and depth) stream profile, '
              'WIDTHxHEIGHTxFPS.'),
    ParamSpec('publish_raw', False, "Also publish the camera's colour, depth (16UC1 mm) and "
              "camera_info on the driver's topic names (camera/camera/color/image_raw, "
              '.../aligned_depth_to_color/image_raw, .../color/camera_info for realsense; '
              'camera/color/..., camera/depth/image_raw for orbbec).'),
    ParamSpec('frame_id', 'camera_color_optical_frame', 'Frame id of the colour optical '
              'frame in every header.'),
)


def declare_camera_parameters(node) -> Dict[str, Any]:
    """
    Declare the camera node's own parameters (read-only) and return their values.

    :param node: The rclpy Node.
    :return: name -> value.
    :raises InvalidParameterValueException: for a camera that is not one of CAMERAS.
    """
    def on_set(parameters) -> SetParametersResult:
        for parameter in parameters:
            spec = next((s for s in CAMERA_PARAMETERS if s.name == parameter.name), None)
            if spec is not None and spec.choices and parameter.value not in spec.choices:
                return SetParametersResult(successful=False, reason='%s: expected one of %s, '
                                           'got %r' % (spec.name, ', '.join(spec.choices),
                                                       parameter.value))
        return SetParametersResult(successful=True)

    def camera_descriptor(spec: ParamSpec) -> ParameterDescriptor:
        desc = descriptor(spec)
        # Serial numbers are digits: YAML and `-p serial:=123` make them integers.
        desc.dynamic_typing = spec.name == 'serial'
        return desc

    node.add_on_set_parameters_callback(on_set)
    node.declare_parameters('', [(spec.name, spec.default, camera_descriptor(spec))
                                 for spec in CAMERA_PARAMETERS])
    values = {spec.name: node.get_parameter(spec.name).value for spec in CAMERA_PARAMETERS}
    values['serial'] = str(values['serial'])
    return values
