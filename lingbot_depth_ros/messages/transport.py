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
Transport of the node's large messages: the Fast DDS large-data profile and malloc settings.

Fast DDS's default 512 KB shared-memory segment is smaller than one depth image or point
cloud, so the package ships config/fastdds_large_data.xml (README.md, "Large messages").
The launch files, the demo and the benchmarks give their processes ``large_data_environment``.
"""

import os
from pathlib import Path

PACKAGE = 'lingbot_depth_ros'
PROFILE_FILE = 'fastdds_large_data.xml'
# config/ of the source checkout this module runs from; an installed package has no such
# folder and uses share/lingbot_depth_ros/config instead.
CHECKOUT_CONFIG = Path(__file__).resolve().parents[2] / 'config'


def large_data_profile() -> Path:
    """
    Return the path of the shipped Fast DDS large-data profile.

    The source checkout's copy comes first, so the demo and the benchmarks use the profile
    that belongs to the code they run even where another version is installed.

    :return: the XML file.
    :raises FileNotFoundError: when neither the checkout nor the installed package has it.
    """
    candidates = [CHECKOUT_CONFIG / PROFILE_FILE]
    try:
        from ament_index_python.packages import get_package_share_directory
        candidates.append(Path(get_package_share_directory(PACKAGE), 'config', PROFILE_FILE))
    except (ImportError, LookupError, OSError, ValueError):  # not in an ament install
        pass
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError('%s not found in %s' % (PROFILE_FILE,
                                                    ', '.join(str(p.parent) for p in candidates)))


# Fast DDS 2 reads only FASTRTPS_DEFAULT_PROFILES_FILE; Fast DDS 3 (Kilted on) reads
# FASTDDS_DEFAULT_PROFILES_FILE and warns in every process that the old name is deprecated.
FAST_DDS_2_DISTROS = ('humble', 'iron', 'jazzy')


def large_data_environment(profile_path, distro=None) -> dict:
    """
    Return the environment variables that give a process the large-data transport.

    :param profile_path: the XML profile (str or path); a launch file passes a substitution
        that yields it, which ends up as the value unchanged.
    :param distro: the ROS 2 distribution; None reads ROS_DISTRO (unset: a current one).
    :return: variable name -> value.
    """
    if isinstance(profile_path, os.PathLike):
        profile_path = os.fspath(profile_path)
    if distro is None:
        distro = os.environ.get('ROS_DISTRO', '')
    environment = {'FASTDDS_DEFAULT_PROFILES_FILE': profile_path}
    if distro.lower() in FAST_DDS_2_DISTROS:
        environment['FASTRTPS_DEFAULT_PROFILES_FILE'] = profile_path
    # glibc then keeps the large receive buffers on the heap instead of mapping and
    # unmapping fresh pages for every sample.
    environment.update({'MALLOC_MMAP_THRESHOLD_': '268435456',
                        'MALLOC_TRIM_THRESHOLD_': '1073741824'})
    return environment
