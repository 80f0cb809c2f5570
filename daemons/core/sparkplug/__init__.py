"""Sparkplug B 3.0 codec shared by forwardd (edge node) and hostd (primary host).

- `sparkplug_b_pb2`: generated from Eclipse Tahu's ``sparkplug_b.proto`` by
  ``regenerate.sh`` (grpcio-tools pinned to match the protobuf runtime); committed.
- `values`: datatypes, the int_value/long_value rules, array packing.
- `payload`: metrics, payload encode/decode, DEFLATE/GZIP compression, STATE JSON.
- `topic`: topic build/parse and the id rules.

Importing this package warns when protobuf is not on its compiled (upb) backend; daemons
call `require_fast_backend()` at start to refuse it.
"""

from __future__ import annotations

from .backend import SlowProtobufBackend, protobuf_backend, require_fast_backend, warn_if_slow
from .payload import (
    ALGORITHMS,
    BDSEQ,
    COMPRESSED_UUID,
    REBIRTH,
    Metric,
    MetricValue,
    Payload,
    PayloadError,
    add_metric,
    compress,
    decode_payload,
    encode_payload,
    new_payload,
    next_seq,
    parse_state,
    read_metric,
    state_json,
)
from .properties import fill_property_set, read_property_set
from .topic import (
    DEVICE_TYPES,
    MESSAGE_TYPES,
    NAMESPACE,
    NODE_TYPES,
    Topic,
    TopicError,
    build_topic,
    check_id,
    parse_topic,
    state_topic,
)
from .values import (
    ARRAY_TYPES,
    INT_TYPES,
    DataType,
    SparkplugValueError,
    datatype_name,
    get_value,
    pack_array,
    set_value,
    unpack_array,
)

warn_if_slow()

__all__ = [
    "ALGORITHMS", "ARRAY_TYPES", "BDSEQ", "COMPRESSED_UUID", "DEVICE_TYPES", "INT_TYPES",
    "MESSAGE_TYPES", "NAMESPACE", "NODE_TYPES", "REBIRTH", "DataType", "Metric",
    "MetricValue", "Payload", "PayloadError", "SlowProtobufBackend", "SparkplugValueError",
    "Topic", "TopicError", "add_metric", "build_topic", "check_id", "compress",
    "datatype_name", "decode_payload", "encode_payload", "fill_property_set", "get_value",
    "new_payload", "next_seq", "pack_array", "parse_state", "parse_topic",
    "protobuf_backend", "read_metric", "read_property_set", "require_fast_backend",
    "set_value", "state_json", "state_topic", "unpack_array",
]
