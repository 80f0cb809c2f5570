"""Our nodes' attributes, kept small: asyncua stores each of them as its own objects.

For every attribute of every node (about 22 for a variable or a property) asyncua makes
an AttributeValue (with its own, usually empty, dict of data-change callbacks) holding a
DataValue, a Variant, a StatusCode and two timestamps: about 500 bytes, 10 KB a node,
most of it the same values over and over (node class, masks, access levels, data type,
value rank, display names such as THP).  Once asyncua has added a node, `SharedValues`
replaces them:

- one DataValue per distinct attribute value, shared by every node that has it.
  asyncua never changes a DataValue in place (a write assigns a new one), so sharing is
  safe; the timestamps go, as OPC 10000-4 §7.11 wants for attributes other than Value;
- a `SlimAttribute` (slots, callbacks dict made on first use) instead of asyncua's
  AttributeValue: asyncua only reads and sets its four fields.

The Value attribute is left as asyncua made it: a variable's carries our read callback
and the monitored items the live-value publisher walks on every change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asyncua import ua

VALUE = ua.AttributeIds.Value


class SlimAttribute:
    """asyncua's AttributeValue with __slots__ and no dict until a callback needs one."""

    __slots__ = ("_callbacks", "value", "value_callback", "value_setter")

    def __init__(self, value: ua.DataValue | None) -> None:
        self.value = value
        self.value_callback: Callable[..., ua.DataValue] | None = None
        self.value_setter: Callable[..., None] | None = None
        self._callbacks: dict[int, Callable[..., Any]] | None = None

    @property
    def datachange_callbacks(self) -> dict[int, Callable[..., Any]]:
        """Monitored items on this attribute (asyncua adds and pops in place)."""
        if self._callbacks is None:
            self._callbacks = {}
        return self._callbacks

    @datachange_callbacks.setter
    def datachange_callbacks(self, callbacks: dict[int, Callable[..., Any]]) -> None:
        self._callbacks = callbacks

    def __repr__(self) -> str:
        return f"SlimAttribute({self.value_callback or self.value})"


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
        self.values: dict[tuple[Any, ...], ua.DataValue] = {}

    def _shared(self, attr_id: ua.AttributeIds, dv: ua.DataValue | None) -> ua.DataValue | None:
        if dv is None or dv.Value is None or dv.StatusCode is None or not dv.StatusCode.is_good():
            return dv
        var = dv.Value
        key = _value_key(var)
        if key is None:
            return ua.DataValue(var)  # not shared, but without the timestamps
        full = (attr_id, var.VariantType, var.is_array, key)
        shared = self.values.get(full)
        if shared is None:
            shared = self.values[full] = ua.DataValue(var)
        return shared

    def compact(self, node: Any) -> None:
        """Replace the attributes of `node` (asyncua's NodeData) that nobody uses yet."""
        attrs = node.attributes
        for attr_id, attr in list(attrs.items()):
            if attr_id == VALUE or isinstance(attr, SlimAttribute):
                continue
            if attr.value_callback is not None or attr.value_setter is not None \
                    or attr.datachange_callbacks:
                continue  # in use already: not ours to replace
            attrs[attr_id] = SlimAttribute(self._shared(attr_id, attr.value))
