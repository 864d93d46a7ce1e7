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
Stopping ``refine-bag`` cleanly: Ctrl-C or SIGTERM finish the frame, a second one stops at once.

Either way the output bag is closed with its index and metadata, so it stays readable.
"""

import contextlib
import signal
import threading
from typing import Iterator

from lingbot_depth_ros.tools.bag.storage import log

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    """Signal handler: the first Ctrl-C / SIGTERM finishes the frame, a second aborts it."""

    def __init__(self):
        """Start with no stop requested."""
        self.requested = False

    def __call__(self, signum, frame):
        """Handle a stop signal (the ``signal.signal`` handler signature)."""
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        log('\nrefine-bag: stopping after this frame (Ctrl-C again to stop at once)')


@contextlib.contextmanager
def stop_signals(handler) -> Iterator[None]:
    """
    Install ``handler`` for SIGINT and SIGTERM for the duration of the block.

    :param handler: a signal handler, or ``signal.SIG_IGN``.
    """
    # Ctrl-C and SIGTERM (a supervisor, `timeout`, docker stop) both finish the bag properly.
    # Handlers can only be set from the main thread; elsewhere no signal reaches this code.
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, handler) for number in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, earlier in previous.items():
            signal.signal(number, earlier)
