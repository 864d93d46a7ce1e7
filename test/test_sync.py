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

"""Tests of the approximate-time colour/depth/camera_info synchronizer and the mailbox."""

import threading
import time

from hypothesis import given, settings
from hypothesis import strategies as st
from lingbot_depth_ros.sync import FrameSynchronizer, Mailbox, MatchedFrame, stamp_to_ns
import pytest
from sensor_msgs.msg import CameraInfo, Image

MS = 1_000_000


def _msg(stamp_ns, cls=Image):
    msg = cls()
    msg.header.stamp.sec = stamp_ns // 1_000_000_000
    msg.header.stamp.nanosec = stamp_ns % 1_000_000_000
    return msg


class _Clock:
    """Deterministic monotonic clock advancing 1 ms per call."""

    def __init__(self):
        self.now = 0

    def __call__(self):
        self.now += MS
        return self.now


def _sync(**kwargs):
    sync = FrameSynchronizer(clock=_Clock(), **kwargs)
    sync.add_info(_msg(0, CameraInfo))
    return sync


def test_stamp_to_ns():
    assert stamp_to_ns(_msg(12_345_678_901).header.stamp) == 12_345_678_901
    with pytest.raises(ValueError, match='stamp'):
        stamp_to_ns(object())


def test_equal_stamps_pair_with_newest_info():
    sync = FrameSynchronizer(clock=_Clock())
    info1, info2 = _msg(0, CameraInfo), _msg(5 * MS, CameraInfo)
    sync.add_info(info1)
    sync.add_info(info2)
    rgb, depth = _msg(100 * MS), _msg(100 * MS)
    assert sync.add_rgb(rgb) == []
    (frame,) = sync.add_depth(depth)
    assert isinstance(frame, MatchedFrame)
    assert frame.rgb is rgb and frame.depth is depth and frame.info is info2
    assert frame.stamp_ns == 100 * MS
    # Receive time is that of the later message of the pair (the clock's second reading).
    assert frame.received_ns == 2 * MS
    assert sync.pending == (0, 0)


def test_inside_and_outside_slop():
    sync = _sync(slop_s=0.02)
    assert sync.add_rgb(_msg(1000 * MS)) == []
    (frame,) = sync.add_depth(_msg(1019 * MS))
    assert frame.stamp_ns == 1000 * MS
    # 21 ms apart: no pair, and the colour image is dropped once depth has moved past it.
    assert sync.add_rgb(_msg(1100 * MS)) == []
    assert sync.add_depth(_msg(1121 * MS)) == []
    assert sync.counters['no_match'] == 1
    assert sync.pending == (0, 1)


def test_colour_stamp_is_used_when_depth_arrives_first():
    sync = _sync(slop_s=0.005)
    assert sync.add_depth(_msg(2001 * MS)) == []
    (frame,) = sync.add_rgb(_msg(2000 * MS))
    assert frame.stamp_ns == 2000 * MS


def test_closest_partner_is_chosen():
    sync = _sync(slop_s=0.02)
    d1, d2 = _msg(985 * MS), _msg(1002 * MS)
    sync.add_depth(d1)
    sync.add_depth(d2)
    (frame,) = sync.add_rgb(_msg(1000 * MS))
    assert frame.depth is d2
    # The older depth image was passed over for good.
    assert sync.counters['no_match'] == 1
    assert sync.pending == (0, 0)


def test_orbbec_like_offset_stream_pairs_every_frame():
    sync = _sync(slop_s=0.02)
    frames = []
    for i in range(100):
        t = 1_000_000 * MS + i * 33 * MS
        frames += sync.add_rgb(_msg(t))
        frames += sync.add_depth(_msg(t + MS))
    assert [f.stamp_ns for f in frames] == [1_000_000 * MS + i * 33 * MS for i in range(100)]
    assert sum(sync.counters.values()) == 0


def test_pair_without_camera_info_is_held_until_info_arrives():
    sync = FrameSynchronizer(clock=_Clock(), max_pending=2)
    for i in range(3):
        assert sync.add_rgb(_msg((i + 1) * 100 * MS)) == []
        assert sync.add_depth(_msg((i + 1) * 100 * MS)) == []
    assert sync.held_without_info == 2
    # The oldest of three held pairs overflowed max_pending=2 and is counted.
    assert sync.counters['no_camera_info'] == 1
    info = _msg(0, CameraInfo)
    released = sync.add_info(info)
    assert [f.stamp_ns for f in released] == [200 * MS, 300 * MS]
    assert all(f.info is info for f in released)
    assert sync.held_without_info == 0
    (frame,) = sync.add_rgb(_msg(400 * MS)) + sync.add_depth(_msg(400 * MS))
    assert frame.info is info


def test_stamp_jump_back_resets_state():
    sync = _sync()
    sync.add_rgb(_msg(5000 * MS))
    sync.add_rgb(_msg(5033 * MS))
    assert sync.pending == (2, 0)
    # A looping bag: time starts again.
    assert sync.add_rgb(_msg(10 * MS)) == []
    assert sync.counters['stamp_jump_back'] == 1
    assert sync.counters['reset'] == 2
    assert sync.pending == (1, 0)
    (frame,) = sync.add_depth(_msg(10 * MS))
    assert frame.stamp_ns == 10 * MS
    # The depth stream jumping back after the reset is not a second jump.
    assert sync.counters['stamp_jump_back'] == 1


def test_duplicate_stamp_is_dropped():
    sync = _sync()
    sync.add_rgb(_msg(100 * MS))
    assert sync.add_rgb(_msg(100 * MS)) == []
    assert sync.counters['duplicate_stamp'] == 1
    assert sync.pending == (1, 0)


def test_pending_overflow_is_counted():
    sync = _sync(max_pending=3)
    for i in range(5):
        sync.add_rgb(_msg(i * 100 * MS))
    assert sync.pending == (3, 0)
    assert sync.counters['pending_overflow'] == 2


def test_reset_keeps_info_unless_asked():
    sync = _sync()
    sync.add_rgb(_msg(100 * MS))
    sync.reset()
    assert sync.info is not None and sync.pending == (0, 0)
    sync.reset(clear_info=True)
    assert sync.info is None


@pytest.mark.parametrize('kwargs, field', [
    ({'slop_s': -0.1}, 'slop_s'),
    ({'slop_s': float('nan')}, 'slop_s'),
    ({'max_pending': 0}, 'max_pending'),
])
def test_invalid_arguments(kwargs, field):
    with pytest.raises(ValueError, match=field):
        FrameSynchronizer(**kwargs)


def test_slop_change_applies():
    sync = _sync(slop_s=0.0)
    sync.add_rgb(_msg(100 * MS))
    assert sync.add_depth(_msg(101 * MS)) == []
    sync.slop_s = 0.002
    (frame,) = sync.add_rgb(_msg(102 * MS))
    assert frame.depth.header.stamp.nanosec == 101 * MS


@settings(max_examples=60, deadline=None)
@given(
    offsets=st.lists(st.integers(min_value=-15, max_value=15), min_size=1, max_size=40),
    drops=st.lists(st.booleans(), min_size=40, max_size=40),
    depth_first=st.booleans(),
)
def test_matches_are_within_slop_ordered_and_accounted(offsets, drops, depth_first):
    """Every pair is within slop, in order, and each message is matched or counted once."""
    slop_ms = 10
    sync = _sync(slop_s=slop_ms / 1000.0)
    frames = []
    sent = 0
    for i, offset in enumerate(offsets):
        t = 1000 * MS + i * 33 * MS
        add_depth = not drops[i]
        calls = [lambda t=t: sync.add_rgb(_msg(t))]
        if add_depth:
            calls.append(lambda t=t, o=offset: sync.add_depth(_msg(t + o * MS)))
        if depth_first:
            calls.reverse()
        for call in calls:
            frames += call()
            sent += 1
    stamps = [f.stamp_ns for f in frames]
    assert stamps == sorted(stamps)
    for frame in frames:
        dt = stamp_to_ns(frame.depth.header.stamp) - stamp_to_ns(frame.rgb.header.stamp)
        assert abs(dt) <= slop_ms * MS
    n_rgb, n_depth = sync.pending
    assert 2 * len(frames) + sum(sync.counters.values()) + n_rgb + n_depth == sent
    # With offsets inside the slop and a 33 ms period, every complete pair is found.
    expected = sum(1 for i, offset in enumerate(offsets)
                   if not drops[i] and abs(offset) <= slop_ms)
    assert len(frames) == expected


def test_mailbox_keeps_only_the_newest_item():
    box = Mailbox()
    assert box.put('a') is False
    assert box.put('b') is True
    assert box.get(timeout=0.1) == 'b'
    assert box.get(timeout=0.01) is None
    with pytest.raises(ValueError, match='item'):
        box.put(None)


def test_mailbox_wakes_a_waiting_worker_and_closes():
    box = Mailbox()
    got = []
    worker = threading.Thread(target=lambda: got.extend([box.get(), box.get()]))
    worker.start()
    box.put('frame')
    # The worker takes the item, waits again, and close() releases it with None.
    time.sleep(0.05)
    box.close()
    worker.join(timeout=2.0)
    assert not worker.is_alive()
    assert got == ['frame', None]
    assert box.closed and box.get() is None
