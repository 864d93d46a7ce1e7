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

"""Input sizes that change every frame: every per-size cache stays bounded, and so does RSS."""

import json
import subprocess
import sys

from lingbot_depth_ros import geometry
from lingbot_depth_ros.geometry import LruCache
from lingbot_depth_ros.messages import pointcloud
from lingbot_depth_ros.messages.conversions import depth_to_pointcloud2
import numpy as np
import pytest

# Runs in a fresh process so that its RSS is the engine's alone.
MANY_SIZES = """
import json, sys
import numpy as np
from lingbot_depth_ros.backends.network import NetworkBackend
from lingbot_depth_ros.messages.conversions import depth_to_pointcloud2

def rss_mib():
    return int(open('/proc/self/statm').read().split()[1]) * 4096 / 2 ** 20

engine = NetworkBackend('random:tiny', device='cpu', num_tokens=300, warmup=False)
rng = np.random.default_rng(0)
sizes = [(int(h), int(w)) for h, w in zip(rng.integers(60, 240, 30), rng.integers(80, 320, 30))]
rss = []
for _ in range(2):
    for height, width in sizes:
        K = np.array([[width, 0, width / 2], [0, width, height / 2], [0, 0, 1.0]])
        depth = np.full((height, width), 1.5, np.float32)
        result = engine.complete(np.zeros((height, width, 3), np.uint8), depth, K)
        depth_to_pointcloud2(result.depth, K, None, rgb=np.zeros((height, width, 3), np.uint8))
    rss.append(rss_mib())
model = engine.model
print(json.dumps({'rss': rss, 'uv': len(model._uv_cache._maps),
                  'uv_max': model._uv_cache.max_entries,
                  'pos': len(model.encoder.backbone._pos_cache)}))
"""


def test_lru_cache_keeps_the_most_recent_entries():
    cache = LruCache(2)
    cache.put('a', 1)
    cache.put('b', 2)
    assert cache.get('a') == 1  # 'a' is now the most recent
    cache.put('c', 3)
    assert (cache.get('b'), cache.get('a'), cache.get('c'), len(cache)) == (None, 1, 3, 2)
    with pytest.raises(ValueError, match='max_entries'):
        LruCache(0)


def test_ray_caches_stay_bounded_over_many_sizes():
    for size in range(20, 60):
        K = np.array([[50.0, 0, size / 2], [0, 50.0, size / 2], [0, 0, 1]])
        depth_to_pointcloud2(np.ones((size, size + 1), np.float32), K, None)
    assert len(geometry.RAY_CACHE) == geometry.RAY_CACHE.max_entries
    assert len(pointcloud.COMPLEX_RAY_CACHE) == pointcloud.COMPLEX_RAY_CACHE.max_entries


def test_network_engine_memory_is_bounded_over_many_sizes():
    done = subprocess.run([sys.executable, '-c', MANY_SIZES], capture_output=True, text=True,
                          timeout=600, check=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    first, second = figures['rss']
    # A second pass over the same 30 sizes needs no new memory: nothing grows per size.
    assert second <= first * 1.05 + 16, figures
    assert figures['uv'] <= figures['uv_max']
    assert figures['pos'] <= 16
