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
Statistics of the depth completion node and their diagnostic_msgs/DiagnosticArray form.

Thread-safe: the subscription callbacks, the worker thread and the diagnostics timer all
update or read one NodeStats.
"""

import collections
from dataclasses import dataclass, field
import threading
import time
from typing import Callable, Deque, Dict, List, Optional

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
import numpy as np

# Level WARN when no input message arrived for this long.
NO_INPUT_WARN_S = 2.0
# Drops that lose nothing anyone wanted: nobody subscribed, or a newer frame replaced it.
IDLE_DROPS = ('no_subscriber', 'superseded')
INPUT_KINDS = ('rgb', 'depth', 'camera_info')


@dataclass
class StatsSnapshot:
    """Figures of one diagnostics period."""

    period_s: float
    input_rates_hz: Dict[str, float]
    output_rate_hz: float
    frames_out: int
    # Percentiles in milliseconds: {'p50': .., 'p99': ..}, empty when no frame was published.
    stamp_to_publish_ms: Dict[str, float]
    receive_to_publish_ms: Dict[str, float]
    forward_ms: Dict[str, float]
    overhead_ms: Dict[str, float]
    backend_other_ms: Dict[str, float]
    drops: Dict[str, int]
    since_input_s: float
    error: Optional[str]
    warning: Optional[str]
    extra: Dict[str, str] = field(default_factory=dict)
    # Why images arrive but nothing is published (WARN), or None.
    stall: Optional[str] = None


def percentiles_ms(samples_s, quantiles=(50, 99)) -> Dict[str, float]:
    """
    Return percentiles of durations in milliseconds.

    :param samples_s: Durations in seconds.
    :param quantiles: Percentiles to compute.
    :return: ``{'p50': ms, 'p99': ms}``; empty when there are no samples.
    """
    values = np.asarray(list(samples_s), dtype=np.float64)
    if values.size == 0:
        return {}
    return {'p%d' % q: float(np.percentile(values, q)) * 1e3 for q in quantiles}


class NodeStats:
    """Counters, rates and latency windows of the node."""

    def __init__(self, clock: Callable[[], int] = time.monotonic_ns, window: int = 1000):
        """
        Start empty.

        :param clock: Monotonic clock in integer nanoseconds.
        :param window: Number of recent frames the latency percentiles cover.
        """
        self._clock = clock
        self._lock = threading.Lock()
        self._start_ns = clock()
        self._period_start_ns = self._start_ns
        self._inputs = collections.Counter()
        self._inputs_reported = collections.Counter()
        self._frames_out = 0
        self._frames_reported = 0
        self._drops_reported = collections.Counter()
        self._drops = collections.Counter()
        self._last_input_ns: Optional[int] = None
        self._windows: Dict[str, Deque[float]] = {
            name: collections.deque(maxlen=window)
            for name in ('stamp_to_publish', 'receive_to_publish', 'forward', 'overhead',
                         'backend_other')}
        self.error: Optional[str] = None
        self.warning: Optional[str] = None

    def record_input(self, kind: str) -> None:
        """
        Count one received input message.

        :param kind: 'rgb', 'depth' or 'camera_info'.
        """
        with self._lock:
            self._inputs[kind] += 1
            self._last_input_ns = self._clock()

    def record_drop(self, reason: str, count: int = 1) -> None:
        """
        Count dropped frames.

        :param reason: Drop reason, e.g. 'superseded' or 'out_of_memory'.
        :param count: Number of frames.
        """
        if count:
            with self._lock:
                self._drops[reason] += count

    def record_output(self, stamp_to_publish_s: float, receive_to_publish_s: float,
                      forward_s: float, overhead_s: float,
                      backend_other_s: float = 0.0) -> None:
        """
        Count one published output set and its latencies.

        :param stamp_to_publish_s: Publish time minus the input stamp (node clock).
        :param receive_to_publish_s: Publish time minus the later input's receive time.
        :param forward_s: The network's forward time (the whole backend call for a backend
            that does not report one).
        :param overhead_s: Worker time for the frame except the forward.
        :param backend_other_s: The part of the overhead spent inside the backend outside its
            forward (upload, download, finalize).
        """
        with self._lock:
            self._frames_out += 1
            self._windows['stamp_to_publish'].append(stamp_to_publish_s)
            self._windows['receive_to_publish'].append(receive_to_publish_s)
            self._windows['forward'].append(forward_s)
            self._windows['overhead'].append(overhead_s)
            self._windows['backend_other'].append(backend_other_s)

    @property
    def frames_out(self) -> int:
        """Return the number of output sets published so far."""
        with self._lock:
            return self._frames_out

    def inputs(self) -> Dict[str, int]:
        """Return a copy of the input message counters by kind."""
        with self._lock:
            return dict(self._inputs)

    def drops(self) -> Dict[str, int]:
        """Return a copy of the drop counters."""
        with self._lock:
            return dict(self._drops)

    def snapshot(self, extra_drops: Optional[Dict[str, int]] = None) -> StatsSnapshot:
        """
        Return the figures since the previous snapshot and start a new period.

        :param extra_drops: Counters kept elsewhere (the synchronizer's), merged in.
        :return: The StatsSnapshot.
        """
        with self._lock:
            now = self._clock()
            period_s = max((now - self._period_start_ns) / 1e9, 1e-9)
            rates = {kind: (self._inputs[kind] - self._inputs_reported[kind]) / period_s
                     for kind in INPUT_KINDS}
            published = self._frames_out - self._frames_reported
            output_rate = published / period_s
            self._inputs_reported = collections.Counter(self._inputs)
            self._frames_reported = self._frames_out
            self._period_start_ns = now
            drops = collections.Counter(self._drops)
            drops.update(extra_drops or {})
            period_drops = drops - self._drops_reported
            self._drops_reported = drops
            stall = None
            images_in = any(rates.get(kind, 0.0) > 0 for kind in ('rgb', 'depth'))
            lost = {k: v for k, v in period_drops.items() if k not in IDLE_DROPS}
            if images_in and not published and lost:
                stall = 'no output: every frame dropped (%s)' % ', '.join(
                    '%s %d' % item for item in sorted(lost.items(), key=lambda i: -i[1]))
            # Before the first message, count the silence from start-up.
            last_ns = self._start_ns if self._last_input_ns is None else self._last_input_ns
            return StatsSnapshot(
                period_s=period_s, input_rates_hz=rates, output_rate_hz=output_rate,
                frames_out=self._frames_out,
                stamp_to_publish_ms=percentiles_ms(self._windows['stamp_to_publish']),
                receive_to_publish_ms=percentiles_ms(self._windows['receive_to_publish']),
                forward_ms=percentiles_ms(self._windows['forward']),
                overhead_ms=percentiles_ms(self._windows['overhead']),
                backend_other_ms=percentiles_ms(self._windows['backend_other']),
                drops=dict(drops), since_input_s=(now - last_ns) / 1e9,
                error=self.error, warning=self.warning, stall=stall,
            )


class WarningThrottle:
    """Decide when a warning identified by a key may be logged again."""

    def __init__(self, period_s: float = 5.0, clock: Callable[[], int] = time.monotonic_ns):
        """
        Create the throttle.

        :param period_s: Seconds between two warnings with the same key.
        :param clock: Monotonic clock in integer nanoseconds.
        """
        self.period_ns = int(period_s * 1e9)
        self._clock = clock
        self._last: Dict[str, int] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, once: bool = False) -> bool:
        """
        Tell whether the warning ``key`` should be logged now, and note it if so.

        :param key: Identifies the problem (and topic).
        :param once: Log only the first time ever.
        :return: True to log.
        """
        now = self._clock()
        with self._lock:
            last = self._last.get(key)
            if last is not None and (once or now - last < self.period_ns):
                return False
            self._last[key] = now
            return True


def _ms_values(prefix: str, figures: Dict[str, float]) -> List[KeyValue]:
    return [KeyValue(key='%s_%s_ms' % (prefix, q), value='%.2f' % v)
            for q, v in figures.items()]


def diagnostic_status(snapshot: StatsSnapshot, name: str, hardware_id: str,
                      info: Dict[str, str]) -> DiagnosticStatus:
    """
    Build the node's DiagnosticStatus.

    Level ERROR when the model failed, WARN when no input arrived for NO_INPUT_WARN_S or
    images arrive but nothing is published (``snapshot.stall``), else OK.

    :param snapshot: Figures of the period.
    :param name: Status name, e.g. 'lingbot_depth: depth completion'.
    :param hardware_id: Device the model runs on.
    :param info: Fixed key/values: device, precision, model id, backend.
    :return: The DiagnosticStatus.
    """
    status = DiagnosticStatus(name=name, hardware_id=hardware_id)
    if snapshot.error:
        status.level = DiagnosticStatus.ERROR
        status.message = snapshot.error
    elif snapshot.since_input_s > NO_INPUT_WARN_S:
        status.level = DiagnosticStatus.WARN
        status.message = 'no input for %.1f s' % snapshot.since_input_s
    elif snapshot.stall:
        status.level = DiagnosticStatus.WARN
        status.message = snapshot.stall
    else:
        status.level = DiagnosticStatus.OK
        status.message = 'ok' if not snapshot.warning else 'ok; last warning: ' + \
            snapshot.warning
    values = [KeyValue(key=k, value=str(v)) for k, v in info.items()]
    values += [KeyValue(key='input_rate_%s_hz' % k, value='%.2f' % v)
               for k, v in snapshot.input_rates_hz.items()]
    values.append(KeyValue(key='output_rate_hz', value='%.2f' % snapshot.output_rate_hz))
    values.append(KeyValue(key='frames_published', value=str(snapshot.frames_out)))
    values += _ms_values('latency_stamp_to_publish', snapshot.stamp_to_publish_ms)
    values += _ms_values('latency_receive_to_publish', snapshot.receive_to_publish_ms)
    values += _ms_values('forward', snapshot.forward_ms)
    values += _ms_values('overhead', snapshot.overhead_ms)
    values += _ms_values('overhead_in_backend', snapshot.backend_other_ms)
    values += [KeyValue(key='dropped_' + reason, value=str(count))
               for reason, count in sorted(snapshot.drops.items())]
    values.append(KeyValue(key='dropped_total', value=str(sum(snapshot.drops.values()))))
    values.append(KeyValue(key='seconds_since_input', value='%.2f' % snapshot.since_input_s))
    values += [KeyValue(key=k, value=v) for k, v in snapshot.extra.items()]
    status.values = values
    return status


def diagnostic_array(status: DiagnosticStatus, stamp) -> DiagnosticArray:
    """
    Wrap one status in a DiagnosticArray.

    :param status: The DiagnosticStatus.
    :param stamp: builtin_interfaces/Time of the message.
    :return: The DiagnosticArray.
    """
    array = DiagnosticArray()
    array.header.stamp = stamp
    array.status = [status]
    return array


def node_diagnostics(node) -> DiagnosticArray:
    """
    Build the DiagnosticArray of a depth completion node for the period since the last one.

    :param node: the DepthCompletionNode (its statistics, synchroniser, backend, config).
    :return: the array with one status.
    """
    with node._sync_lock:
        sync_drops = {k: v for k, v in node._sync.counters.items() if v}
        held = node._sync.held_without_info
        waiting = node._sync.info is None
    snapshot = node.stats.snapshot(extra_drops=sync_drops)
    if waiting and any(snapshot.input_rates_hz.get(k, 0.0) > 0 for k in ('rgb', 'depth')):
        snapshot.stall = 'no camera_info received on %s: %d frame pairs held' % (
            node._topics.info, held)
    device = node.backend.device
    snapshot.extra.update(node.backend.status())
    snapshot.extra['pairs_waiting_for_camera_info'] = str(held)
    for kind, reliability in node.input_reliability.items():
        snapshot.extra['input_reliability_' + kind] = reliability
    amodal = getattr(node, '_amodal', None)
    if amodal is not None:
        snapshot.extra['amodal_published'] = str(amodal.published)
        snapshot.extra['amodal_masks_received'] = str(node.stats.inputs().get('amodal_mask', 0))
        snapshot.extra['amodal_masks_waiting'] = str(amodal.waiting)
    info = {'backend': node.backend.name, 'model': node.config.model, 'device': device,
            'precision': node.config.precision, 'mode': node.config.mode}
    status = diagnostic_status(snapshot, '%s: depth completion'
                               % node.get_fully_qualified_name().lstrip('/'), device, info)
    return diagnostic_array(status, node.get_clock().now().to_msg())
