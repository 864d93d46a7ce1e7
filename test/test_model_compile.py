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

"""torch.compile of the whole network (the engine's optional compile flag)."""

from lingbot_depth_ros.model import build_random_model
import torch


def test_compiled_model_matches_eager():
    """The tiny config (every resampler kind, pixel shuffle included) compiles and agrees."""
    model = build_random_model('tiny')
    generator = torch.Generator().manual_seed(3)
    image = torch.rand(1, 3, 60, 80, generator=generator)
    depth = 0.5 + 3 * torch.rand(1, 60, 80, generator=generator)
    depth[:, :30, :40] = 0
    with torch.inference_mode():
        expected = model(image, 48, depth)
        compiled = torch.compile(model)(image, 48, depth)
    assert expected.keys() == compiled.keys()
    for key in expected:
        torch.testing.assert_close(compiled[key], expected[key], rtol=1e-4, atol=1e-5)
