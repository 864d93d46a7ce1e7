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

"""Node parameters: declaration, validation with reasons, runtime changes, YAML presets."""

from dataclasses import fields
import math
from pathlib import Path

from lingbot_depth_ros.messages.conversions import pointcloud2_to_array
from lingbot_depth_ros.node.node import DepthCompletionNode
from lingbot_depth_ros.node.params import (check_parameters, config_from_values, NodeConfig,
                                           PARAMETERS, SPECS)
from node_harness import examples_fixture, make_node_fixture, ros_context_fixture  # noqa: F401
from node_harness import frame_msgs, unique_namespace, wait_until
import numpy as np
import pytest
from rclpy.exceptions import InvalidParameterValueException
from rclpy.parameter import Parameter
import yaml

ROOT = Path(__file__).resolve().parents[1]
S = 10 ** 9
DEFAULTS = {spec.name: spec.default for spec in PARAMETERS}


def test_every_parameter_is_in_the_config_once():
    names = [spec.name for spec in PARAMETERS]
    assert len(names) == len(set(names))
    assert names == [f.name for f in fields(NodeConfig)]
    assert config_from_values(DEFAULTS) == NodeConfig()
    for spec in PARAMETERS:
        assert spec.description.endswith('.'), spec.name
        if spec.choices:
            assert spec.default in spec.choices


@pytest.mark.parametrize('changes, reason', [
    ({'cloud_decimation': 2, 'mode': 'monocular', 'model': 'random:tiny'}, None),
    ({'max_depth': 5.0, 'min_depth': 0.3}, None),
    ({'device': 'cuda:1'}, None),
    ({'mode': 'stereo'}, 'mode: expected one of completion, monocular'),
    ({'output_encoding': '16UC2'}, 'output_encoding: expected one of 32FC1, 16UC1'),
    ({'device': 'gpu'}, 'device: expected auto (cuda when available, else cpu), cpu, cuda or '
     "cuda:N, got 'gpu'"),
    ({'device': 'mps'}, 'device: expected auto'),
    ({'depth_scale': 0.0}, 'depth_scale: expected a finite value > 0, got 0.0'),
    ({'depth_scale': math.nan}, 'depth_scale: expected a finite value > 0'),
    ({'min_depth': -0.1}, 'min_depth: expected a finite value >= 0, got -0.1'),
    ({'max_depth': math.nan}, 'max_depth: expected a value > min_depth (0.0), got nan'),
    ({'min_depth': 2.0, 'max_depth': 1.0},
     'max_depth: expected a value > min_depth (2.0), got 1.0'),
    ({'backend': 'network'}, 'backend: network needs a model'),
    ({'mode': 'monocular'}, 'mode: monocular needs a network'),
    ({'backend': 'classical', 'model': 'm.pt'}, "model: 'm.pt' selects a network"),
    ({'input_reliability': 'sensor_data'}, 'input_reliability: expected one of auto'),
    ({'warmup_sizes': '480x640, 720x1280', 'cuda_graphs': False}, None),
    ({'warmup_sizes': ''}, None),
    ({'warmup_sizes': '640'}, 'warmup_sizes: expected HEIGHTxWIDTH entries (e.g. 480x640) '
     "with sides 1..16384, got '640'"),
    ({'model': 'lingbot.onnx'}, None),
    ({'model': 'lingbot.onnx', 'precision': 'fp16'}, 'onnxruntime backend runs the float32'),
    ({'model': 'lingbot.onnx', 'backend': 'tensorrt'}, 'backend tensorrt needs a .engine'),
])
def test_check_parameters_gives_reasons(changes, reason):
    result = check_parameters(changes.items(), DEFAULTS)
    if reason is None:
        assert result.successful, result.reason
    else:
        assert not result.successful
        assert reason in result.reason


def test_descriptors_are_declared(make_node):
    node, _ = make_node()
    for spec in PARAMETERS:
        descriptor = node.describe_parameter(spec.name)
        assert descriptor.description == spec.description
        assert descriptor.read_only == (not spec.runtime)
        if spec.int_range:
            assert (descriptor.integer_range[0].from_value,
                    descriptor.integer_range[0].to_value) == spec.int_range
        if spec.float_range:
            assert (descriptor.floating_point_range[0].from_value,
                    descriptor.floating_point_range[0].to_value) == spec.float_range
        if spec.choices:
            assert all(c in descriptor.additional_constraints for c in spec.choices)
    assert node.config == NodeConfig()


@pytest.mark.parametrize('name, value, reason', [
    ('cloud_decimation', 0, 'out of range'),
    ('cloud_decimation', 17, 'out of range'),
    ('cloud_decimation', '2', 'Wrong parameter type'),
    ('sync_slop', 1.5, 'out of range'),
    ('output_encoding', 'mono16', 'output_encoding: expected one of'),
    ('max_depth', 0.0, 'max_depth: expected a value > min_depth (0.0), got 0.0'),
    ('depth_scale', -0.001, 'depth_scale: expected a finite value > 0'),
    ('model', 'random:tiny', 'read-only'),
    ('input_reliability', 'reliable', 'read-only'),
])
def test_invalid_runtime_values_are_rejected_not_clamped(make_node, name, value, reason):
    node, _ = make_node()
    before = node.get_parameter(name).value
    (result,) = node.set_parameters([Parameter(name, value=value)])
    assert not result.successful
    assert reason in result.reason
    assert node.get_parameter(name).value == before
    assert getattr(node.config, name) == before


def test_runtime_changes_apply_to_the_next_frame(make_node, examples):
    node, tester = make_node()
    rgb, depth_mm, K = examples[0]
    results = node.set_parameters([
        Parameter('cloud_decimation', value=2), Parameter('cloud_rgb', value=False),
        Parameter('output_encoding', value='16UC1'), Parameter('max_depth', value=3.0),
        Parameter('sync_slop', value=0.05)])
    assert all(r.successful for r in results)
    assert node.config.cloud_decimation == 2 and node._sync.slop_s == 0.05
    tester.publish(*frame_msgs(rgb, depth_mm, K, 40_000 * S), node=node)
    assert wait_until(lambda: tester.count('cloud') == 1 and tester.count('depth') == 1)
    cloud = tester.outputs('cloud')[0]
    assert (cloud.height, cloud.width) == (240, 320)
    assert [f.name for f in cloud.fields] == ['x', 'y', 'z']
    depth_msg = tester.outputs('depth')[0]
    assert depth_msg.encoding == '16UC1'
    depth_mm_out = np.frombuffer(bytes(depth_msg.data), np.uint16)
    assert depth_mm_out.max() <= 3000 and np.count_nonzero(depth_mm_out) > 0
    z = pointcloud2_to_array(cloud)['z']
    assert np.nanmax(z) <= 3.0

    assert node.set_parameters([Parameter('cloud_organized', value=False)])[0].successful
    tester.publish(*frame_msgs(rgb, depth_mm, K, 40_001 * S))
    assert wait_until(lambda: tester.count('cloud') == 2)
    cloud = tester.outputs('cloud')[1]
    assert cloud.height == 1
    assert np.all(np.isfinite(pointcloud2_to_array(cloud)['z']))


def test_invalid_start_up_value_raises_with_reason(ros_context):
    with pytest.raises(InvalidParameterValueException, match='depth_scale: expected'):
        DepthCompletionNode(namespace=unique_namespace(), context=ros_context,
                            parameter_overrides=[Parameter('depth_scale', value=0.0)])


@pytest.mark.parametrize('preset', ['lingbot_depth.yaml', 'realsense.yaml', 'orbbec.yaml'])
def test_presets_load_into_the_node(ros_context, preset):
    path = ROOT / 'config' / preset
    expected = yaml.safe_load(path.read_text())['/**']['ros__parameters']
    assert set(expected) <= set(SPECS)
    node = DepthCompletionNode(namespace=unique_namespace(), context=ros_context,
                               cli_args=['--ros-args', '--params-file', str(path)])
    try:
        for name, value in expected.items():
            # Array parameters are tuples in the config snapshot.
            value = tuple(value) if isinstance(value, list) else value
            assert getattr(node.config, name) == value, name
    finally:
        node.destroy_node()
