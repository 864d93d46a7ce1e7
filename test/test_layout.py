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

"""The package layout: one-way dependencies, module sizes, and the README's map of the tree."""

import ast
from pathlib import Path
import re

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / 'lingbot_depth_ros'
MODULES = sorted(p for p in PACKAGE.rglob('*.py'))
MAX_LINES = 400
ROS = ('rclpy', 'sensor_msgs', 'std_msgs', 'builtin_interfaces', 'diagnostic_msgs',
       'rcl_interfaces', 'rosbags')

# What each part of the package may import from the package (and whether ROS is allowed).
ALLOWED = {
    'geometry': ((), False),
    'sync': ((), False),
    'points': ((), False),
    'temporal': ((), False),
    'model': (('model',), False),
    'backends': (('backends', 'model', 'geometry'), False),
    'messages': (('messages', 'geometry', 'sync', 'points'), True),
    'training': (('training', 'model', 'geometry'), False),
    'sources': (('sources', 'geometry'), False),
    'node': (('node', 'backends', 'messages', 'geometry', 'sync', 'sources', 'points',
              'temporal'), True),
    'tools': (('tools', 'backends', 'messages', 'geometry', 'sync', 'model', 'sources',
               'training', 'points', 'temporal'), True),
}


def part_of(path):
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def imports_of(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = path.relative_to(ROOT).parent.parts[:len(
                    path.relative_to(ROOT).parent.parts) - node.level + 1]
                base = '.'.join(package)
                yield base + ('.' + node.module if node.module else '')
            else:
                yield node.module
                if node.module == 'lingbot_depth_ros':
                    yield from ('lingbot_depth_ros.' + a.name for a in node.names
                                if not a.name.startswith('__'))


@pytest.mark.parametrize('path', MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_dependencies_point_one_way(path):
    part = part_of(path)
    if part == '__init__':
        return
    allowed, ros = ALLOWED[part]
    for name in imports_of(path):
        top = name.split('.')[0]
        if top == 'lingbot_depth_ros' and name.count('.') >= 1:
            target = name.split('.')[1]
            assert target in allowed, f'{path.relative_to(ROOT)} imports {name}'
        if not ros:
            assert top not in ROS, f'{path.relative_to(ROOT)} imports ROS module {name}'


@pytest.mark.parametrize('path', MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_small(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f'{path.relative_to(ROOT)} has {lines} lines'


def readme_layout():
    text = (ROOT / 'README.md').read_text()
    section = text[text.index('## Layout'):]
    return section[section.index('```') + 3:section.index('```', section.index('```') + 3)]


def test_readme_map_matches_the_tree():
    block = readme_layout()
    named = set(re.findall(r'([\w]+\.py)\b', block))
    folders = set(re.findall(r'\b(\w+)/', block))
    files = {p.name for p in MODULES if p.name not in ('__init__.py', '__main__.py')}
    assert files - named == set(), 'modules missing from the README map'
    assert named - files - {'setup.py'} == set(), 'README map names modules that do not exist'
    packages = {p.parent.name for p in MODULES if p.name == '__init__.py'} - {PACKAGE.name}
    assert packages <= folders, 'packages missing from the README map'
