"""Our nodes' attributes, kept small: asyncua stores each of them as its own objects.

For every attribute of every node (about 22 for a variable or a property) asyncua makes
an AttributeValue (with its own, usually empty, dict of data-change callbacks) holding a
DataValue, a Variant, a StatusCode and two timestamps: about 500 bytes, 10 KB a node,
most of it the same values over and over (node class, masks, access levels, data type,
value rank, display names such as THP).  Once asyncua has added one of our nodes,
`SharedValues` replaces every attribute but Value by a `SharedAttribute`: one per
distinct attribute value, shared by every node that has it, holding one DataValue
without timestamps (OPC 10000-4 §7.11 wants none for attributes other than Value).

Sharing is sound because nothing changes those attributes after the node is made:
clients may write the Value attribute only (writes.py answers BadNotWritable to anything
else) and the server's own code does not write them.  Should that ever change, the
write fails loudly (SharedAttribute refuses a new value or callback) instead of
changing every node that shares it.  Monitored items on such an attribute are accepted;
their callbacks are kept in the shared object, keyed by their unique handles, and never
called since the value never changes.

The Value attribute is left as asyncua made it: a variable's carries our read callback
and the monitored items the live-value publisher walks on every change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asyncua import ua

VALUE = ua.AttributeIds.Value


class SharedAttribute:
    """A read-only stand-in for asyncua's AttributeValue (the four fields it uses)."""

    __slots__ = ("_callbacks", "_value")

    def __init__(self, value: ua.DataValue) -> None:
        self._value = value
        self._callbacks: dict[int, Callable[..., Any]] | None = None

    @property
    def value(self) -> ua.DataValue:
        return self._value

    @value.setter
    def value(self, _: Any) -> None:
        raise TypeError("this attribute is shared by many nodes and cannot be written")

    @property
    def value_callback(self) -> None:
        return None

    @value_callback.setter
    def value_callback(self, callback: Any) -> None:
        if callback is not None:
            raise TypeError("this attribute is shared by many nodes: no value callback")

    @property
    def value_setter(self) -> None:
        return None

    @value_setter.setter
    def value_setter(self, setter: Any) -> None:
        if setter is not None:
            raise TypeError("this attribute is shared by many nodes: no value setter")

    @property
    def datachange_callbacks(self) -> dict[int, Callable[..., Any]]:
        """Monitored items on this attribute (asyncua adds and pops them by handle)."""
        if self._callbacks is None:
            self._callbacks = {}
        return self._callbacks

    def __repr__(self) -> str:
        return f"SharedAttribute({self._value})"


def _value_key(variant: ua.Variant) -> Any:
    """A hashable stand-in for a Variant's value (asyncua's text and name types are not
    hashable), or None when there is none."""
    v = variant.Value
    if isinstance(v, ua.LocalizedText):
        return ("LocalizedText", v.Locale, v.Text)
    if isinstance(v, ua.QualifiedName):
        return ("QualifiedName", v.NamespaceIndex, v.Name)
    if isinstance(v, list):
        v = tuple(v)
    try:
        hash(v)
    except TypeError:
        return None
    return (type(v).__name__, v)


class SharedValues:
    """Compacts nodes just added by asyncua (see the module's docstring)."""

    def __init__(self) -> None:
        self.attributes: dict[tuple[Any, ...], SharedAttribute] = {}

    def compact(self, node: Any) -> None:
        """Share the attributes of `node` (asyncua's NodeData) other than Value."""
        attrs = node.attributes
        for attr_id, attr in list(attrs.items()):
            if attr_id == VALUE or isinstance(attr, SharedAttribute):
                continue
            dv = attr.value
            if attr.value_callback is not None or attr.value_setter is not None \
                    or attr.datachange_callbacks or dv is None or dv.Value is None:
                continue  # in use already, or nothing to share: left as it is
            var = dv.Value
            key = _value_key(var)
            if key is None or dv.StatusCode is None or not dv.StatusCode.is_good():
                continue
            full = (attr_id, var.VariantType, var.is_array, key)
            shared = self.attributes.get(full)
            if shared is None:
                shared = self.attributes[full] = SharedAttribute(ua.DataValue(var))
            attrs[attr_id] = shared
