"""Metric properties (PropertySet) and DataSet values.

Properties are given as ``{key: (datatype, value)}``; a plain Python value is typed by
`infer_datatype`.  The keys forwardd uses are documented in docs/sparkplug.md (``Quality``
is the spec's own Int32 property: 0 bad, 192 good, 500 stale).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .values import DataType, SparkplugValueError, get_value, set_value

PropertyInput = Mapping[str, Any]


def infer_datatype(value: Any) -> int:
    if isinstance(value, bool):
        return DataType.Boolean
    if isinstance(value, int):
        return DataType.Int64 if not -(1 << 31) <= value < (1 << 31) else DataType.Int32
    if isinstance(value, float):
        return DataType.Double
    if isinstance(value, str):
        return DataType.String
    if isinstance(value, Mapping):
        return DataType.PropertySet
    raise SparkplugValueError(f"cannot infer a Sparkplug datatype for {value!r}")


def fill_property_set(pset: Any, props: PropertyInput) -> None:
    """Fill a ``Payload.PropertySet`` from ``{key: value | (datatype, value)}``."""
    for key, item in props.items():
        if isinstance(item, tuple):
            datatype, value = item
        else:
            datatype, value = infer_datatype(item), item
        pset.keys.append(str(key))
        pv = pset.values.add()
        pv.type = int(datatype)
        set_value(pv, datatype, value)


def read_property_set(pset: Any) -> dict[str, Any]:
    if len(pset.keys) != len(pset.values):
        raise SparkplugValueError(
            f"PropertySet has {len(pset.keys)} keys but {len(pset.values)} values")
    return {k: get_value(v, v.type) for k, v in zip(pset.keys, pset.values, strict=True)}


def fill_dataset(ds: Any, value: Mapping[str, Any]) -> None:
    """``{"columns": [...], "types": [DataType...], "rows": [[...], ...]}`` → DataSet."""
    columns = list(value["columns"])
    types = [int(t) for t in value["types"]]
    if len(columns) != len(types):
        raise SparkplugValueError("DataSet needs one type per column")
    ds.num_of_columns = len(columns)
    ds.columns.extend(columns)
    ds.types.extend(types)
    for row in value["rows"]:
        if len(row) != len(columns):
            raise SparkplugValueError(f"DataSet row {row!r} has not {len(columns)} elements")
        r = ds.rows.add()
        for t, cell in zip(types, row, strict=True):
            set_value(r.elements.add(), t, cell)


def read_dataset(ds: Any) -> dict[str, Any]:
    types = list(ds.types)
    if len(types) != len(ds.columns):
        raise SparkplugValueError("DataSet has not one type per column")
    rows = []
    for r in ds.rows:
        if len(r.elements) != len(types):
            raise SparkplugValueError("DataSet row length differs from its columns")
        rows.append([get_value(e, t) for e, t in zip(r.elements, types, strict=True)])
    return {"columns": list(ds.columns), "types": types, "rows": rows}
