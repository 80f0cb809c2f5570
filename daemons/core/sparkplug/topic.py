"""Sparkplug B topic namespace: build and parse, with the id rules of spec 3.0.

``spBv1.0/<group_id>/<message_type>/<edge_node_id>[/<device_id>]`` and
``spBv1.0/STATE/<host_id>``.  Group, edge node, device and host ids are non-empty UTF-8
strings without the MQTT separators and wildcards ``/``, ``+`` and ``#`` (spec 3.0,
tck-id-topic-structure-namespace-valid-*).
"""

from __future__ import annotations

from dataclasses import dataclass

NAMESPACE = "spBv1.0"
NODE_TYPES = ("NBIRTH", "NDEATH", "NDATA", "NCMD")
DEVICE_TYPES = ("DBIRTH", "DDEATH", "DDATA", "DCMD")
MESSAGE_TYPES = NODE_TYPES + DEVICE_TYPES
STATE = "STATE"
_FORBIDDEN = ("/", "+", "#")


class TopicError(ValueError):
    """A topic or id that breaks the Sparkplug namespace rules."""


def check_id(kind: str, value: str) -> str:
    """Return *value* if it is a valid Sparkplug id, else raise `TopicError` naming *kind*."""
    if not isinstance(value, str) or not value:
        raise TopicError(f"{kind} must be a non-empty string, got {value!r}")
    bad = [c for c in _FORBIDDEN if c in value]
    if bad:
        raise TopicError(f"{kind} {value!r} contains {' '.join(bad)}, which Sparkplug forbids")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise TopicError(f"{kind} {value!r} is not valid UTF-8: {exc}") from exc
    return value


@dataclass(frozen=True)
class Topic:
    """A parsed Sparkplug topic; ``device_id`` is None for node messages and STATE."""

    message_type: str
    group_id: str | None = None
    edge_node_id: str | None = None
    device_id: str | None = None
    host_id: str | None = None

    @property
    def is_state(self) -> bool:
        return self.message_type == STATE

    def __str__(self) -> str:
        if self.is_state:
            return state_topic(str(self.host_id))
        return build_topic(str(self.group_id), self.message_type, str(self.edge_node_id),
                           self.device_id)


def build_topic(group_id: str, message_type: str, edge_node_id: str,
                device_id: str | None = None) -> str:
    check_id("group id", group_id)
    check_id("edge node id", edge_node_id)
    if message_type in NODE_TYPES:
        if device_id is not None:
            raise TopicError(f"{message_type} is a node message: it takes no device id")
        return f"{NAMESPACE}/{group_id}/{message_type}/{edge_node_id}"
    if message_type in DEVICE_TYPES:
        if device_id is None:
            raise TopicError(f"{message_type} is a device message: it needs a device id")
        check_id("device id", device_id)
        return f"{NAMESPACE}/{group_id}/{message_type}/{edge_node_id}/{device_id}"
    raise TopicError(f"unknown Sparkplug message type {message_type!r}")


def state_topic(host_id: str) -> str:
    return f"{NAMESPACE}/{STATE}/{check_id('host id', host_id)}"


def parse_topic(topic: str) -> Topic:
    """Parse a Sparkplug B topic; raise `TopicError` saying what is wrong."""
    parts = topic.split("/")
    if not parts or parts[0] != NAMESPACE:
        raise TopicError(f"topic {topic!r} is not in the {NAMESPACE} namespace")
    if len(parts) == 3 and parts[1] == STATE:
        return Topic(STATE, host_id=check_id("host id", parts[2]))
    if len(parts) not in (4, 5):
        raise TopicError(f"topic {topic!r} has {len(parts)} levels; Sparkplug uses 4 or 5")
    _, group_id, message_type, edge_node_id, *rest = parts
    check_id("group id", group_id)
    check_id("edge node id", edge_node_id)
    if message_type in NODE_TYPES:
        if rest:
            raise TopicError(f"topic {topic!r}: {message_type} takes no device id")
        return Topic(message_type, group_id, edge_node_id)
    if message_type in DEVICE_TYPES:
        if not rest:
            raise TopicError(f"topic {topic!r}: {message_type} needs a device id")
        return Topic(message_type, group_id, edge_node_id, check_id("device id", rest[0]))
    raise TopicError(f"topic {topic!r}: unknown message type {message_type!r}")
