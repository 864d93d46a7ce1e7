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
Make the README's parameter and flag tables and config/lingbot_depth.yaml.

They come from their one declaration: ``node.params.PARAMETERS`` and the ``lingbot-depth``
argument parsers.

``make docs`` (``python test/docs_tables.py --write``) rewrites them; test_docs.py fails when
they differ from what this module makes.
"""

import argparse
import math
from pathlib import Path
import re
import sys

from lingbot_depth_ros.node.camera_params import CAMERA_PARAMETERS
from lingbot_depth_ros.node.params import PARAMETERS
from lingbot_depth_ros.tools.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / 'README.md'
PARAMS_YAML = ROOT / 'config' / 'lingbot_depth.yaml'
BEGIN = '<!-- generated: %s (make docs) -->'
END = '<!-- end generated: %s -->'
COMMANDS = ('refine-bag', 'synth-bag', 'evaluate', 'export', 'play', 'infer', 'capture',
            'train', 'finetune', 'distill')


def _value(value):
    if isinstance(value, bool):
        return str(value).lower()
    if value == '':
        return "''"
    if isinstance(value, float) and math.isinf(value):
        return 'inf'
    return str(value)


def _type(value):
    if isinstance(value, list):
        return _type(value[0]) + '[]'
    return {bool: 'bool', int: 'int', float: 'double', str: 'string'}[type(value)]


def node_parameter_table(specs=PARAMETERS):
    """Return the Markdown table of the node's parameters (or of ``specs``)."""
    rows = ['| name | type | default | runtime | meaning |', '|---|---|---|---|---|']
    for spec in specs:
        meaning = spec.description
        span = spec.int_range or spec.float_range
        if span is not None:
            meaning += ' Range %s..%s.' % span
        rows.append('| `%s` | %s | `%s` | %s | %s |' % (
            spec.name, _type(spec.default), _value(spec.default),
            'yes' if spec.runtime else 'no', meaning))
    return '\n'.join(rows)


def parameter_file():
    """Return config/lingbot_depth.yaml: every parameter at its default."""
    lines = ['# Every parameter of the lingbot_depth node (depth_completion_node) at its default,',
             '# made by `make docs` from their declaration; README.md explains each one.',
             '# `/**` applies to the node whatever its namespace.', '/**:', '  ros__parameters:']
    for spec in PARAMETERS:
        value = '.inf' if spec.default == math.inf else _value(spec.default)
        choices = '  # ' + ' | '.join(spec.choices) if spec.choices else ''
        lines.append('    %s: %s%s' % (spec.name, value, choices))
    return '\n'.join(lines) + '\n'


def _flag_name(action):
    flags = ', '.join('`%s`' % option for option in action.option_strings)
    if not action.option_strings:
        return '`%s`' % (action.metavar or action.dest).upper()
    if action.nargs == 0:
        return flags
    metavar = action.metavar
    if metavar is None and action.choices is not None:
        metavar = '|'.join(str(c) for c in action.choices)
    return flags + ' ' + (metavar or action.dest.upper()).replace('|', '\\|')


def _flag_default(action):
    if not action.option_strings:
        return 'required'
    if isinstance(action, argparse.BooleanOptionalAction):
        return 'on' if action.default else 'off'
    if action.nargs == 0:
        return 'off'
    if action.default is None:
        # What None stands for is said in the help, e.g. '(default: auto-detected)'.
        said = re.search(r'\(default: ([^()]*)\)', action.help or '')
        return said.group(1) if said else 'none'
    if isinstance(action.default, list):
        return ' '.join(str(v) for v in action.default)
    return '`%s`' % _value(action.default)


def command_flag_table(command):
    """Return the Markdown table of one ``lingbot-depth`` command's arguments."""
    parser = build_parser(command)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    rows = ['| argument | default | meaning |', '|---|---|---|']
    for action in sub.choices[command]._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        meaning = re.sub(r'\s*\(default: [^()]*(\([^()]*\)[^()]*)*\)', '', action.help or '')
        cells = (_flag_name(action), _flag_default(action), meaning.replace('|', '\\|'))
        rows.append('| %s | %s | %s |' % cells)
    return '\n'.join(rows)


def tables():
    """Return {block name: generated Markdown} for every generated README block."""
    blocks = {'node parameters': node_parameter_table(),
              'camera node parameters': node_parameter_table(CAMERA_PARAMETERS)}
    blocks.update({'%s flags' % c: command_flag_table(c) for c in COMMANDS})
    return blocks


def render_readme(text):
    """Return ``text`` with every generated block replaced by what this module makes."""
    for name, table in tables().items():
        begin, end = BEGIN % name, END % name
        if begin not in text or end not in text:
            raise ValueError('README.md: expected the markers %r ... %r' % (begin, end))
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = '%s%s\n%s\n%s%s' % (head, begin, table, end, tail)
    return text


def main(argv):
    """Rewrite (--write) or check the generated documentation; return the exit code."""
    write = '--write' in argv
    stale = []
    for path, made in ((README, render_readme(README.read_text())),
                       (PARAMS_YAML, parameter_file())):
        if path.read_text() != made:
            stale.append(path.name)
            if write:
                path.write_text(made)
    if stale and not write:
        print('stale: %s (run make docs)' % ', '.join(stale))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
