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
QoS profiles of the node's inputs and outputs, and the ``auto`` reliability choice.

A reliable subscription receives nothing from a best-effort publisher (incompatible QoS),
while a best-effort subscription to a reliable publisher loses most large images whose
fragments are not repaired. So ``auto`` subscribes reliable when every publisher found on
the topic is reliable, and best effort otherwise (including while no publisher is known yet,
because best effort matches any publisher).
"""

from typing import Callable, Dict, Iterable, Tuple

from rclpy.event_handler import SubscriptionEventCallbacks
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

AUTO = 'auto'
RELIABLE = 'reliable'
BEST_EFFORT = 'best_effort'
INPUT_CHOICES = (AUTO, RELIABLE, BEST_EFFORT)
OUTPUT_CHOICES = (RELIABLE, BEST_EFFORT)

_POLICIES = {
    RELIABLE: ReliabilityPolicy.RELIABLE,
    BEST_EFFORT: ReliabilityPolicy.BEST_EFFORT,
}


def reliability_policy(name: str) -> ReliabilityPolicy:
    """
    Map ``'reliable'`` / ``'best_effort'`` to the rclpy policy.

    :param name: Reliability name.
    :return: The matching ReliabilityPolicy.
    """
    try:
        return _POLICIES[name]
    except KeyError:
        raise ValueError('reliability: expected one of %s, got %r'
                         % (', '.join(OUTPUT_CHOICES), name)) from None


def policy_name(policy: ReliabilityPolicy) -> str:
    """
    Map a ReliabilityPolicy back to its parameter name.

    :param policy: RELIABLE or BEST_EFFORT.
    :return: ``'reliable'`` or ``'best_effort'``.
    """
    for name, known in _POLICIES.items():
        if known == policy:
            return name
    raise ValueError('policy: expected RELIABLE or BEST_EFFORT, got %r' % (policy,))


def sensor_qos(reliability: str, depth: int = 1) -> QoSProfile:
    """
    Build a KEEP_LAST, volatile profile of the given reliability.

    :param reliability: ``'reliable'`` or ``'best_effort'``.
    :param depth: History depth; 1 keeps only the newest sample, so latency never builds up.
    :return: The QoSProfile.
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ValueError('depth: expected an int >= 1, got %r' % (depth,))
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth,
                      reliability=reliability_policy(reliability),
                      durability=DurabilityPolicy.VOLATILE)


def choose_reliability(setting: str, publisher_policies: Iterable[ReliabilityPolicy]) -> str:
    """
    Resolve an input reliability setting against the publishers found on a topic.

    :param setting: ``'auto'``, ``'reliable'`` or ``'best_effort'``.
    :param publisher_policies: Reliability of each publisher currently on the topic.
    :return: ``'reliable'`` or ``'best_effort'``; a forced setting is returned as is, ``auto``
        gives reliable only when there are publishers and all of them are reliable.
    """
    if setting not in INPUT_CHOICES:
        raise ValueError('input_reliability: expected one of %s, got %r'
                         % (', '.join(INPUT_CHOICES), setting))
    if setting != AUTO:
        return setting
    policies = list(publisher_policies)
    if policies and all(p == ReliabilityPolicy.RELIABLE for p in policies):
        return RELIABLE
    return BEST_EFFORT


def publisher_policies(node, topic: str) -> list:
    """
    Return the reliability of every publisher on ``topic`` as seen by ``node``'s graph.

    :param node: An rclpy Node.
    :param topic: Fully resolved topic name (remapping already applied).
    :return: One ReliabilityPolicy per publisher (possibly empty).
    """
    return [info.qos_profile.reliability for info in node.get_publishers_info_by_topic(topic)]


class InputSubscriptions:
    """
    The node's input subscriptions, each with the reliability its setting resolves to.

    ``update()`` looks at the publishers again and re-creates a subscription whose
    reliability should change (call it periodically for ``auto``); each change is logged once.
    """

    def __init__(self, node, inputs: Dict[str, Tuple[str, type, Callable]], setting: str,
                 on_incompatible: Callable[[str], None]):
        """
        Subscribe to every input.

        :param node: The rclpy Node.
        :param inputs: kind -> (topic as given, message type, callback).
        :param setting: ``'auto'``, ``'reliable'`` or ``'best_effort'``.
        :param on_incompatible: Called with the resolved topic when a publisher with
            incompatible QoS is found.
        """
        self._node = node
        self._inputs = inputs
        self._setting = setting
        self._on_incompatible = on_incompatible
        self._subscriptions = {}
        self.reliability: Dict[str, str] = {}
        self.update()

    def close(self) -> None:
        """Destroy every input subscription."""
        for subscription in self._subscriptions.values():
            self._node.destroy_subscription(subscription)
        self._subscriptions.clear()
        self.reliability.clear()
        self._inputs = {}

    def update(self) -> None:
        """Resolve each input's reliability against its publishers; re-subscribe on change."""
        for kind, (topic, msg_type, callback) in self._inputs.items():
            resolved = self._node.resolve_topic_name(topic)
            policies = publisher_policies(self._node, resolved)
            wanted = choose_reliability(self._setting, policies)
            if self.reliability.get(kind) == wanted:
                continue
            old = self._subscriptions.pop(kind, None)
            if old is not None:
                self._node.destroy_subscription(old)
            events = SubscriptionEventCallbacks(
                incompatible_qos=lambda _info, t=resolved: self._on_incompatible(t))
            self._subscriptions[kind] = self._node.create_subscription(
                msg_type, topic, callback, sensor_qos(wanted), event_callbacks=events)
            self.reliability[kind] = wanted
            self._node.get_logger().info(
                '%s: subscribing %s (%d publisher(s) found, input_reliability=%s)'
                % (resolved, wanted, len(policies), self._setting))
