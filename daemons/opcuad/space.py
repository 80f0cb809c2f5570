"""The AddressModel put into asyncua's address space, and kept in step on reloads.

Nodes are added in bulk through the NodeManagement service (one AddNodesItem list, no
per-node round trips through the high-level Node API).  A reload is a diff: removed
variables are deleted, new ones added, changed ones replaced; unchanged nodes keep their
monitored items, so sessions and subscriptions on them carry on.  The change is announced
with a GeneralModelChangeEvent from the Server object (OPC 10000-3 §9.32.7).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import islice
from typing import Any

from asyncua import ua
from asyncua.server.address_space import AttributeValue

from daemons.opcuad.compact import SharedValues
from daemons.opcuad.model import AddressModel, FolderSpec, VariableSpec
from daemons.opcuad.units import eu_information

ReadCallback = Callable[[ua.NodeId, ua.AttributeIds], ua.DataValue]
ANALOG_ITEM_TYPE = ua.NodeId(ua.ObjectIds.AnalogItemType)
BASE_VARIABLE_TYPE = ua.NodeId(ua.ObjectIds.BaseDataVariableType)
PROPERTY_TYPE = ua.NodeId(ua.ObjectIds.PropertyType)
FOLDER_TYPE = ua.NodeId(ua.ObjectIds.FolderType)
OBJECTS = ua.NodeId(ua.ObjectIds.ObjectsFolder)
ORGANIZES = ua.NodeId(ua.ObjectIds.Organizes)
HAS_PROPERTY = ua.NodeId(ua.ObjectIds.HasProperty)
HAS_COMPONENT = ua.NodeId(ua.ObjectIds.HasComponent)
ADD_BATCH = 32
NUMERIC = ("SByte", "Byte", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64",
           "Float", "Double")


def variant_type(data_type: str) -> ua.VariantType:
    return ua.VariantType[data_type]


def _item(node: ua.NodeId, parent: ua.NodeId, ref: ua.NodeId, name: str, ns: int,
          cls: ua.NodeClass, attrs: Any, typedef: ua.NodeId) -> ua.AddNodesItem:
    item = ua.AddNodesItem()
    item.RequestedNewNodeId = node
    item.ParentNodeId = parent
    item.ReferenceTypeId = ref
    item.BrowseName = ua.QualifiedName(name, ns)
    item.NodeClass = cls
    item.NodeAttributes = attrs
    item.TypeDefinition = typedef
    return item


def folder_item(spec: FolderSpec, ns: int) -> ua.AddNodesItem:
    attrs = ua.ObjectAttributes()
    attrs.DisplayName = ua.LocalizedText(spec.name)
    attrs.EventNotifier = 1 if spec.parent is None else 0  # the site root emits events
    parent = OBJECTS if spec.parent is None else ua.NodeId(spec.parent, ns)
    return _item(ua.NodeId(spec.node, ns), parent, ORGANIZES, spec.name, ns,
                 ua.NodeClass.Object, attrs, FOLDER_TYPE)


def access_level(spec: VariableSpec) -> int:
    level = ua.AccessLevel.CurrentRead.mask
    if spec.writable:
        level |= ua.AccessLevel.CurrentWrite.mask
    if not spec.length and spec.data_type != "String":
        level |= ua.AccessLevel.HistoryRead.mask
    return level


def _property(owner: ua.NodeId, name: str, value: ua.Variant, dtype: int, ns: int
              ) -> ua.AddNodesItem:
    attrs = ua.VariableAttributes()
    attrs.DisplayName = ua.LocalizedText(name)
    attrs.Value = value
    attrs.DataType = ua.NodeId(dtype)
    attrs.ValueRank = -1
    attrs.AccessLevel = attrs.UserAccessLevel = ua.AccessLevel.CurrentRead.mask
    return _item(ua.NodeId(f"{owner.Identifier}#{name}", ns), owner, HAS_PROPERTY, name, 0,
                 ua.NodeClass.Variable, attrs, PROPERTY_TYPE)


def variable_items(spec: VariableSpec, ns: int) -> list[ua.AddNodesItem]:
    node = ua.NodeId(spec.name, ns)
    vt = variant_type(spec.data_type)
    analog = spec.data_type in NUMERIC and (spec.units or spec.low is not None)
    attrs = ua.VariableAttributes()
    attrs.DisplayName = ua.LocalizedText(spec.name.rpartition(".")[2] or spec.name)
    attrs.Description = ua.LocalizedText(spec.description or spec.name)
    attrs.DataType = ua.NodeId(vt.value)
    if spec.length:
        attrs.ValueRank = 1
        attrs.ArrayDimensions = [spec.length]
        attrs.Value = ua.Variant([], vt, is_array=True)
    else:
        attrs.ValueRank = -1
        attrs.Value = ua.Variant(None, ua.VariantType.Null)
    attrs.AccessLevel = attrs.UserAccessLevel = access_level(spec)
    attrs.Historizing = bool(access_level(spec) & ua.AccessLevel.HistoryRead.mask)
    items = [_item(node, ua.NodeId(spec.folder, ns), HAS_COMPONENT, spec.name, ns,
                   ua.NodeClass.Variable, attrs, ANALOG_ITEM_TYPE if analog else
                   BASE_VARIABLE_TYPE)]
    if analog:
        if spec.low is not None or spec.high is not None:
            rng = ua.Range(spec.low if spec.low is not None else float("-inf"),
                           spec.high if spec.high is not None else float("inf"))
            items.append(_property(node, "EURange", ua.Variant(rng, ua.VariantType.ExtensionObject),
                                   ua.ObjectIds.Range, ns))
        if spec.units:
            items.append(_property(node, "EngineeringUnits",
                                   ua.Variant(eu_information(spec.units),
                                              ua.VariantType.ExtensionObject),
                                   ua.ObjectIds.EUInformation, ns))
    return items


class Space:
    """Our namespace's nodes in one asyncua server."""

    def __init__(self, server: Any, ns: int, read: ReadCallback) -> None:
        self.server = server
        self.iserver = server.iserver
        self.aspace = server.iserver.aspace
        self.ns = ns
        self.read = read
        self.model = AddressModel((), {})
        self.shared = SharedValues()

    def _add(self, items: Iterable[ua.AddNodesItem]) -> None:
        # In small batches, each compacted before the next is even made: the memory of
        # the items and of the values replaced is reused by the next batch instead of
        # raising the peak, which RSS keeps.
        add = self.iserver.node_mgt_service.add_nodes
        it = iter(items)
        while batch := list(islice(it, ADD_BATCH)):
            for item, res in zip(batch, add(batch), strict=True):
                if not res.StatusCode.is_good():
                    raise RuntimeError(f"cannot add node {item.RequestedNewNodeId}: "
                                       f"{res.StatusCode}")
                self.shared.compact(self.aspace[item.RequestedNewNodeId])

    def _hook(self, names: Iterable[str]) -> None:
        for name in names:
            node = self.aspace[ua.NodeId(name, self.ns)]
            attr: AttributeValue = node.attributes[ua.AttributeIds.Value]
            attr.value = None
            attr.value_callback = self.read

    def _delete(self, node: ua.NodeId, parent: ua.NodeId) -> dict[int, Any]:
        """Delete one node and its properties without asyncua's scan of every node;
        returns its monitored items' callbacks (handle -> callback)."""
        data = self.aspace.get(node)
        if data is None:
            return {}
        for ref in list(data.references):
            if ref.IsForward and ref.ReferenceTypeId == HAS_PROPERTY:
                self.aspace._nodes.pop(ref.NodeId, None)
        value = data.attributes.get(ua.AttributeIds.Value)
        callbacks = dict(value.datachange_callbacks) if value is not None else {}
        parent_data = self.aspace.get(parent)
        if parent_data is not None:
            parent_data.references = [r for r in parent_data.references if r.NodeId != node]
        self.aspace._nodes.pop(node, None)
        return callbacks

    def apply(self, model: AddressModel) -> tuple[list[str], list[str]]:
        """Make the address space match `model`; returns (added, removed) node names.

        A variable whose definition changed is replaced, and its monitored items move to
        the new node; those of a removed variable get BadNodeIdUnknown and are dropped.
        """
        old = self.model
        new_folders = {f.node for f in model.folders}
        old_folders = {f.node for f in old.folders}
        replaced = [n for n, v in old.variables.items() if model.variables.get(n) != v]
        kept: dict[str, dict[int, Any]] = {}
        gone = ua.DataValue(StatusCode=ua.StatusCode(ua.StatusCodes.BadNodeIdUnknown))
        for name in replaced:
            v = old.variables[name]
            callbacks = self._delete(ua.NodeId(name, self.ns), ua.NodeId(v.folder, self.ns))
            if name in model.variables:
                kept[name] = callbacks
                continue
            for handle, cb in callbacks.items():
                self.aspace._handle_to_attribute_map.pop(handle, None)
                owner = getattr(cb, "__self__", None)
                if hasattr(owner, "notify"):
                    owner.notify(handle, gone)
        for f in reversed(old.folders):
            if f.node not in new_folders:
                parent = OBJECTS if f.parent is None else ua.NodeId(f.parent, self.ns)
                self._delete(ua.NodeId(f.node, self.ns), parent)
        self._add(folder_item(f, self.ns) for f in model.folders if f.node not in old_folders)
        added = [n for n, v in model.variables.items() if old.variables.get(n) != v]
        self._add(it for n in added for it in variable_items(model.variables[n], self.ns))
        self._hook(added)
        for name, callbacks in kept.items():
            node = self.aspace[ua.NodeId(name, self.ns)]
            node.attributes[ua.AttributeIds.Value].datachange_callbacks.update(callbacks)
        self.model = model
        return [n for n in added if n not in old.variables], \
            [n for n in replaced if n not in model.variables]

    def spans(self) -> dict[ua.NodeId, float]:
        return {ua.NodeId(v.name, self.ns): v.high - v.low for v in self.model.variables.values()
                if v.low is not None and v.high is not None and v.high > v.low}

    async def announce(self, added: list[str], removed: list[str]) -> None:
        """GeneralModelChangeEvent from the Server object: which nodes came and went."""
        if not added and not removed:
            return
        gen = await self.server.get_event_generator(ua.ObjectIds.GeneralModelChangeEventType,
                                                    ua.ObjectIds.Server)
        changes = []
        for names, verb in ((added, 1), (removed, 2)):  # NodeAdded, NodeDeleted (Part 3)
            for name in names[:1000]:
                d = ua.ModelChangeStructureDataType()
                d.Affected = ua.NodeId(name, self.ns)
                d.AffectedType = BASE_VARIABLE_TYPE
                d.Verb = verb
                changes.append(d)
        gen.event.Changes = changes
        # asyncua records the field's DataType NodeId here, which its Variant cannot take.
        gen.event.data_types["Changes"] = ua.VariantType.ExtensionObject
        await gen.trigger(message=f"address space changed: {len(added)} added, "
                                  f"{len(removed)} removed")
