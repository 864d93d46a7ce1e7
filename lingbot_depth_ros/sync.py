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
Approximate-time matching of colour, depth and camera_info messages.

Pure Python (no message_filters): messages only need ``msg.header.stamp`` with ``sec`` and
``nanosec``. Colour and depth are paired when their stamps differ by at most ``slop_s``; the
camera_info is the newest one received (it need not share the stamp). Each stream is assumed
to arrive in stamp order, as a camera driver or a bag publishes it, so a message that the other
stream has already passed by more than the slop can never match and is dropped (and counted).
"""

import collections
from dataclasses import dataclass
import math
import threading
import time
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

NS_PER_S = 1_000_000_000

# Drop reasons, the keys of FrameSynchronizer.counters.
NO_MATCH = 'no_match'
NO_CAMERA_INFO = 'no_camera_info'
PENDING_OVERFLOW = 'pending_overflow'
DUPLICATE_STAMP = 'duplicate_stamp'
STAMP_JUMP_BACK = 'stamp_jump_back'
RESET = 'reset'


def stamp_to_ns(stamp) -> int:
    """
    Convert a builtin_interfaces/Time-like stamp to integer nanoseconds.

    :param stamp: Object with integer ``sec`` and ``nanosec`` attributes.
    :return: ``sec * 1e9 + nanosec`` as an int.
    """
    try:
        sec = int(stamp.sec)
        nanosec = int(stamp.nanosec)
    except AttributeError as error:
        raise ValueError(
            'stamp: expected an object with sec and nanosec, got %s' % type(stamp).__name__
        ) from error
    return sec * NS_PER_S + nanosec


@dataclass
class MatchedFrame:
    """A colour image, the depth image paired with it, and the newest camera_info."""

    rgb: Any
    depth: Any
    info: Any
    # Stamp of the colour image: the outputs carry it.
    stamp_ns: int
    # Monotonic receive time (clock()) of the later of the pair, for receive->publish latency.
    received_ns: int


@dataclass
class _Pending:
    stamp_ns: int
    msg: Any
    received_ns: int


class FrameSynchronizer:
    """
    Pair colour and depth images within a time slop and attach the newest camera_info.

    ``add_rgb`` / ``add_depth`` return the pairs they complete, oldest first. A pair that
    completes before any camera_info has arrived is held (up to ``max_pending`` pairs) and
    returned by the ``add_info`` call that brings the first camera_info. Every message that
    is dropped is counted by reason in ``counters``.
    """

    def __init__(self, slop_s: float = 0.02, max_pending: int = 30,
                 clock: Callable[[], int] = time.monotonic_ns):
        """
        Create an empty synchronizer.

        :param slop_s: Largest colour/depth stamp difference in seconds that still pairs.
        :param max_pending: Most unpaired messages kept per stream, and most pairs held while
            waiting for the first camera_info.
        :param clock: Monotonic clock in integer nanoseconds for receive times.
        """
        self.slop_s = slop_s
        if isinstance(max_pending, bool) or not isinstance(max_pending, int) or max_pending < 1:
            raise ValueError('max_pending: expected an int >= 1, got %r' % (max_pending,))
        self.max_pending = max_pending
        self._clock = clock
        self.counters: Dict[str, int] = collections.defaultdict(int)
        self.info = None
        self._rgb: Deque[_Pending] = collections.deque()
        self._depth: Deque[_Pending] = collections.deque()
        self._held: Deque[MatchedFrame] = collections.deque()
        self._last_rgb_ns: Optional[int] = None
        self._last_depth_ns: Optional[int] = None

    @property
    def slop_s(self) -> float:
        """Largest colour/depth stamp difference in seconds that still pairs."""
        return self._slop_ns / NS_PER_S

    @slop_s.setter
    def slop_s(self, value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or value < 0:
            raise ValueError('slop_s: expected a finite number >= 0, got %r' % (value,))
        self._slop_ns = int(round(value * NS_PER_S))

    @property
    def held_without_info(self) -> int:
        """Return how many complete pairs wait for the first camera_info."""
        return len(self._held)

    @property
    def pending(self) -> Tuple[int, int]:
        """Return the numbers of unpaired (colour, depth) messages kept."""
        return len(self._rgb), len(self._depth)

    def reset(self, clear_info: bool = False) -> None:
        """
        Forget every unpaired message and held pair (counted as ``reset``).

        :param clear_info: Also forget the camera_info (a different camera follows).
        """
        self.counters[RESET] += len(self._rgb) + len(self._depth) + 2 * len(self._held)
        self._rgb.clear()
        self._depth.clear()
        self._held.clear()
        self._last_rgb_ns = None
        self._last_depth_ns = None
        if clear_info:
            self.info = None

    def add_info(self, msg) -> List[MatchedFrame]:
        """
        Store ``msg`` as the newest camera_info.

        :param msg: sensor_msgs/CameraInfo (any object; it is passed through).
        :return: Pairs that were held waiting for a camera_info, oldest first.
        """
        self.info = msg
        released = []
        while self._held:
            frame = self._held.popleft()
            frame.info = msg
            released.append(frame)
        return released

    def add_rgb(self, msg) -> List[MatchedFrame]:
        """
        Add a colour image.

        :param msg: Message with ``header.stamp``.
        :return: Newly completed matches, oldest first.
        """
        return self._add(msg, is_rgb=True)

    def add_depth(self, msg) -> List[MatchedFrame]:
        """
        Add a depth image registered to the colour camera.

        :param msg: Message with ``header.stamp``.
        :return: Newly completed matches, oldest first.
        """
        return self._add(msg, is_rgb=False)

    def _add(self, msg, is_rgb: bool) -> List[MatchedFrame]:
        stamp_ns = stamp_to_ns(msg.header.stamp)
        received_ns = self._clock()
        last = self._last_rgb_ns if is_rgb else self._last_depth_ns
        if last is not None and stamp_ns < last:
            # A bag looping or a simulation clock reset: nothing pending can pair any more.
            self.counters[STAMP_JUMP_BACK] += 1
            self.reset()
        elif last is not None and stamp_ns == last:
            self.counters[DUPLICATE_STAMP] += 1
            return []
        if is_rgb:
            self._last_rgb_ns = stamp_ns
            own, other = self._rgb, self._depth
        else:
            self._last_depth_ns = stamp_ns
            own, other = self._depth, self._rgb
        entry = _Pending(stamp_ns, msg, received_ns)

        self._drop_unmatchable(other, stamp_ns)
        partner = self._closest(other, stamp_ns)
        if partner is None:
            own.append(entry)
            if len(own) > self.max_pending:
                own.popleft()
                self.counters[PENDING_OVERFLOW] += 1
            return []

        # Everything older than the pair on either side is passed over for good: newest first.
        while other[0] is not partner:
            other.popleft()
            self.counters[NO_MATCH] += 1
        other.popleft()
        self.counters[NO_MATCH] += len(own)
        own.clear()
        rgb, depth = (entry, partner) if is_rgb else (partner, entry)
        frame = MatchedFrame(rgb=rgb.msg, depth=depth.msg, info=self.info,
                             stamp_ns=rgb.stamp_ns,
                             received_ns=max(rgb.received_ns, depth.received_ns))
        if self.info is not None:
            return [frame]
        self._held.append(frame)
        if len(self._held) > self.max_pending:
            self._held.popleft()
            self.counters[NO_CAMERA_INFO] += 1
        return []

    def _drop_unmatchable(self, queue: Deque[_Pending], newest_other_ns: int) -> None:
        # The other stream has moved past these by more than the slop; in-order streams
        # cannot bring a partner for them any more.
        while queue and queue[0].stamp_ns < newest_other_ns - self._slop_ns:
            queue.popleft()
            self.counters[NO_MATCH] += 1

    def _closest(self, queue: Deque[_Pending], stamp_ns: int) -> Optional[_Pending]:
        best, best_dt = None, None
        for candidate in queue:
            dt = abs(candidate.stamp_ns - stamp_ns)
            if dt <= self._slop_ns and (best_dt is None or dt < best_dt):
                best, best_dt = candidate, dt
        return best


class Mailbox:
    """
    Single-slot hand-over between subscription callbacks and one worker thread.

    ``put`` replaces an item the worker has not taken yet, so the worker always gets the
    newest frame and never works through a backlog.
    """

    def __init__(self):
        """Create an empty, open mailbox."""
        self._cond = threading.Condition()
        self._item = None
        self._closed = False

    def put(self, item) -> bool:
        """
        Leave ``item`` for the worker.

        :param item: Any object except None.
        :return: True when it replaced an item that was never taken (a superseded frame).
        """
        if item is None:
            raise ValueError('item: expected an object, got None')
        with self._cond:
            superseded = self._item is not None
            self._item = item
            self._cond.notify()
            return superseded

    def get(self, timeout: Optional[float] = None):
        """
        Wait for and take the item.

        :param timeout: Seconds to wait at most; None waits until an item arrives or close().
        :return: The item, or None after close() or on timeout.
        """
        with self._cond:
            self._cond.wait_for(lambda: self._item is not None or self._closed, timeout)
            item, self._item = self._item, None
            return item

    def close(self) -> None:
        """Wake the worker and make every later get() return None at once."""
        with self._cond:
            self._closed = True
            self._item = None
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        """Return True after close()."""
        return self._closed
