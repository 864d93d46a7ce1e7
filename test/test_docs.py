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

"""The README's tables and the parameter file are what their one declaration makes."""

import docs_tables
from lingbot_depth_ros.node.params import PARAMETERS
import yaml


def test_readme_tables_are_generated_from_the_declarations():
    text = docs_tables.README.read_text()
    assert text == docs_tables.render_readme(text), 'README.md tables are stale: make docs'


def test_parameter_file_is_generated_from_the_declarations():
    assert docs_tables.PARAMS_YAML.read_text() == docs_tables.parameter_file(), \
        'config/lingbot_depth.yaml is stale: make docs'
    values = yaml.safe_load(docs_tables.PARAMS_YAML.read_text())['/**']['ros__parameters']
    assert values == {spec.name: spec.default for spec in PARAMETERS}


def test_every_declared_parameter_and_flag_has_a_row():
    tables = docs_tables.tables()
    for spec in PARAMETERS:
        assert '| `%s` |' % spec.name in tables['node parameters']
    assert '`--keep-valid-input`, `--no-keep-valid-input` | on |' in tables['refine-bag flags']
    assert '| `--rgb-topic` TOPIC | auto-detected |' in tables['refine-bag flags']
    assert '| `--model` PATH_OR_ID |' in tables['evaluate flags']
