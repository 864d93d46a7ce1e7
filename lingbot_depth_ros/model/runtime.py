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
Process-level CPU tuning for inference: keep freed large blocks in the heap.

Eager PyTorch allocates every large activation afresh. glibc serves blocks above 32 MB
(every full-resolution decoder activation) with ``mmap`` and unmaps them on ``free``, so
each frame page-faults hundreds of megabytes back in; at 480x640 that costs about as
much as the whole decoder's arithmetic on two cores. :func:`configure_cpu_allocator`
makes glibc serve them from the heap and keep freed memory for reuse. It changes the
whole process (resident memory stays near its peak), so it is opt-in: call it once at
start-up, before starting inference threads.
"""

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_M_ARENA_MAX = -8
_applied = False


def configure_cpu_allocator() -> bool:
    """
    Make glibc keep large freed blocks (no mmap, no trimming, one arena).

    :return: True when applied (Linux with glibc), False where unsupported.
    """
    global _applied
    if _applied:
        return True
    if not sys.platform.startswith('linux'):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
        libc.gnu_get_libc_version  # glibc only: musl has no mallopt
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    # One arena: threads other than the first would otherwise get 64 MB heaps that
    # cannot hold these blocks and fall back to mmap anyway.
    _applied = bool(mallopt(_M_ARENA_MAX, 1) and mallopt(_M_MMAP_MAX, 0)
                    and mallopt(_M_TRIM_THRESHOLD, 2 ** 31 - 1))
    return _applied
