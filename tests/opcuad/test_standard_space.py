"""The OPC-UA standard address space from a node file (daemons/opcuad/standard_space.py):
the file is built by a forked child, checked whole before use, rebuilt when it is
truncated, corrupt or made by another version, and loaded node by node; a state directory
where it cannot be written leaves asyncua's in-memory build."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from asyncua import Server, ua

from daemons.opcuad import standard_space as ss

pytestmark = pytest.mark.timeout(120)
STANDARD_NODES = 6174  # asyncua 2.1's nodeset; the file must hold every one


class Log:
    """The daemon's structlog logger, as far as prepare() uses it."""

    def __init__(self) -> None:
        self.records: list[tuple[str, str, dict[str, Any]]] = []

    def info(self, event: str, **kw: Any) -> None:
        self.records.append(("info", event, kw))

    def warning(self, event: str, **kw: Any) -> None:
        self.records.append(("warning", event, kw))


def prepare(state: Path) -> tuple[ss.NodeFile | None, Log]:
    log = Log()
    return asyncio.run(ss.prepare(state, log)), log


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One node file built the daemon's way; tests copy it rather than build again."""
    state = tmp_path_factory.mktemp("state")
    nodes, log = prepare(state)
    assert nodes is not None, log.records
    nodes.close()
    assert [r[1] for r in log.records] == ["OPC-UA standard address space file built"]
    assert log.records[0][2]["reason"] == "missing"
    return ss.file_path(state)


def copy_to(built: Path, state: Path) -> Path:
    state.mkdir(parents=True, exist_ok=True)
    path = ss.file_path(state)
    path.write_bytes(built.read_bytes())
    return path


def test_the_file_holds_every_standard_node_and_opens_without_a_rebuild(built, tmp_path):
    path = copy_to(built, tmp_path / "state")
    (tmp_path / "state" / f"{ss.PREFIX}asyncua0.9-py3.9-p4-f1.bin").write_bytes(b"old")
    path.with_name(path.name + ".123.tmp").write_bytes(b"left by a power cut")
    nodes, log = prepare(tmp_path / "state")
    assert nodes is not None and log.records == []  # used as it is
    # Older versions' files and stray temporaries go.
    assert [p.name for p in (tmp_path / "state").iterdir()] == [path.name]
    try:
        assert len(nodes) == STANDARD_NODES
        state = nodes.load(ua.NodeId(ua.ObjectIds.Server_ServerStatus_State))
        assert state.nodeid == ua.NodeId(ua.ObjectIds.Server_ServerStatus_State)
        assert ua.NodeId(ua.ObjectIds.Server) in nodes
        assert ua.NodeId("Server", 0) not in nodes and ua.NodeId(85, 2) not in nodes
        assert nodes.load(ua.NodeId(99999999)) is None
    finally:
        nodes.close()
    assert path.name.startswith(ss.PREFIX) and "asyncua2" in path.name


@pytest.mark.parametrize("damage", ["truncated", "flipped byte", "empty", "other version"])
def test_a_damaged_or_foreign_file_is_rebuilt(built, tmp_path, monkeypatch, damage):
    path = copy_to(built, tmp_path / "state")
    data = bytearray(path.read_bytes())
    if damage == "truncated":  # a power cut mid-copy: the trailer is missing
        path.write_bytes(data[:len(data) // 2])
    elif damage == "flipped byte":
        data[len(data) // 3] ^= 0x40
        path.write_bytes(data)
    elif damage == "empty":
        path.write_bytes(b"")
    else:  # the same name, but a header written by another asyncua
        real = ss.header()
        monkeypatch.setattr(ss, "header", lambda: {**real, "asyncua": "0.0.1"})
        ss.write_nodes({}, path)
        monkeypatch.undo()
    nodes, log = prepare(tmp_path / "state")
    assert nodes is not None, log.records
    try:
        assert len(nodes) == STANDARD_NODES
        assert nodes.load(ua.NodeId(ua.ObjectIds.ObjectsFolder)) is not None
    finally:
        nodes.close()
    (level, event, kw), = log.records
    assert level == "info" and event == "OPC-UA standard address space file built"
    want = {"truncated": "truncated", "flipped byte": "CRC", "empty": "truncated",
            "other version": "another version"}[damage]
    assert want in kw["reason"]
    # Nothing half-written is left beside it.
    assert [p.name for p in (tmp_path / "state").iterdir()] == [path.name]


def test_the_images_file_is_used_when_the_state_dir_has_none(built, tmp_path):
    image = tmp_path / "image"
    copy_to(built, image)
    log = Log()
    nodes = asyncio.run(ss.prepare(tmp_path / "state", log, image))
    assert nodes is not None and log.records == []  # no build
    try:
        assert nodes.path == ss.file_path(image) and len(nodes) == STANDARD_NODES
    finally:
        nodes.close()
    assert not (tmp_path / "state").exists()
    # A damaged image file: said once, and the state dir gets its own.
    ss.file_path(image).write_bytes(b"garbage")
    nodes = asyncio.run(ss.prepare(tmp_path / "state", log, image))
    assert nodes is not None and nodes.path == ss.file_path(tmp_path / "state")
    nodes.close()
    assert [r[1] for r in log.records] == [
        "the image's OPC-UA standard address space file is not usable",
        "OPC-UA standard address space file built"]


def test_a_state_dir_that_cannot_be_written_leaves_the_in_memory_build(tmp_path):
    (tmp_path / "not-a-dir").write_text("a file where the state directory should be")
    nodes, log = prepare(tmp_path / "not-a-dir" / "state")
    assert nodes is None
    (level, event, kw), = log.records  # said once
    assert level == "warning" and "building it in memory" in event
    # (the tests run as root, which writes anywhere: a file in the way stands for a
    # read-only or missing state directory)
    assert "Not a directory" in kw["reason"] and "NotADirectoryError" in kw["error"]


def test_the_header_names_what_made_the_file(built):
    data = built.read_bytes()
    assert data.startswith(ss.MAGIC) and data.endswith(ss.MAGIC)
    size = int.from_bytes(data[len(ss.MAGIC):len(ss.MAGIC) + 4], "little")
    head = json.loads(data[len(ss.MAGIC) + 4:len(ss.MAGIC) + 4 + size])
    assert head == ss.header() and head["asyncua"] == "2.1.0"


def test_lazy_nodes_copy_from_the_file_once_and_keep_changes(built, tmp_path):
    nodes = ss.NodeFile(copy_to(built, tmp_path / "state"))
    lazy = ss.LazyNodes(nodes)
    objects = ua.NodeId(ua.ObjectIds.ObjectsFolder)
    try:
        assert len(lazy) == 0 and objects in lazy and list(lazy) == []
        first = lazy[objects]
        first.references.append("ours")  # asyncua changes nodes in place
        assert lazy[objects] is first and lazy.get(objects).references[-1] == "ours"
        assert list(lazy) == [objects] and len(lazy) == 1
        mine = ua.NodeId("W101.THP", 2)
        assert mine not in lazy and lazy.get(mine, "none") == "none"
        lazy[mine] = "node"
        assert lazy[mine] == "node" and mine in lazy
        del lazy[mine]
        assert mine not in lazy
        with pytest.raises(KeyError):
            del lazy[mine]
        server = ua.NodeId(ua.ObjectIds.Server)
        del lazy[server]  # a deleted standard node does not come back from the file
        assert server not in lazy and lazy.get(server) is None
        with pytest.raises(KeyError):
            lazy[server]
        lazy[server] = "again"
        assert lazy[server] == "again"
    finally:
        nodes.close()


def test_a_server_on_the_file_reads_few_nodes_and_serves_standard_ones(built, tmp_path):
    nodes = ss.NodeFile(copy_to(built, tmp_path / "state"))

    async def main() -> None:
        from asyncua import Client

        logging.getLogger("asyncua").setLevel(logging.WARNING)
        server = Server()
        ss.install(server, nodes)
        await server.init()
        server.set_endpoint("opc.tcp://127.0.0.1:0/x")
        await server.start()
        try:
            loaded = server.iserver.aspace._nodes
            assert isinstance(loaded, ss.LazyNodes)
            assert len(loaded.cache) < 100  # of 6,174
            port = server.bserver._server.sockets[0].getsockname()[1]
            async with Client(f"opc.tcp://127.0.0.1:{port}/x", timeout=10) as client:
                state = client.get_node(ua.ObjectIds.Server_ServerStatus_State)
                assert await state.read_value() == ua.ServerState.Running
                assert (await client.get_namespace_array())[0] == "http://opcfoundation.org/UA/"
                base = client.get_node(ua.ObjectIds.BaseDataType)
                names = {(await n.read_browse_name()).Name for n in await base.get_children()}
                assert {"Number", "String", "Structure", "Enumeration"} <= names
                found = await client.nodes.root.get_child(
                    ["0:Objects", "0:Server", "0:ServerStatus", "0:BuildInfo"])
                assert found.nodeid == ua.NodeId(ua.ObjectIds.Server_ServerStatus_BuildInfo)
            assert len(loaded.cache) < 200
        finally:
            await server.stop()

    try:
        asyncio.run(main())
    finally:
        nodes.close()


# -- opcuad as a process (conftest's Site), seen by the asyncua client ------------------
def _listening(site: Any) -> dict[str, Any]:
    for line in site.logtext().splitlines():
        if '"listening"' in line:
            return json.loads(line[line.index("{"):])
    raise AssertionError("no 'listening' line:\n" + site.logtext()[-3000:])


def test_opcuad_serves_the_standard_nodes_from_the_file(site):
    from .conftest import connect

    async def main() -> None:
        c = await connect(site)
        try:
            state = c.get_node(ua.ObjectIds.Server_ServerStatus_State)
            assert await state.read_value() == ua.ServerState.Running
            spaces = await c.get_namespace_array()
            assert spaces[0] == "http://opcfoundation.org/UA/"
            assert "urn:wellgate:opc test pad" in spaces
            analog = c.get_node(ua.ObjectIds.AnalogItemType)  # from Types/VariableTypes
            assert (await analog.read_browse_name()).Name == "AnalogItemType"
            props = {(await n.read_browse_name()).Name for n in await analog.get_properties()}
            assert "EURange" in props
            paths = await c.nodes.root.get_child(["0:Objects", "0:Server", "0:ServerStatus",
                                                 "0:State"])
            assert paths.nodeid == ua.NodeId(ua.ObjectIds.Server_ServerStatus_State)
            ns = await c.get_namespace_index("urn:wellgate:opc test pad")
            thp = c.get_node(f"ns={ns};s=W101.THP")  # our wells' nodes beside them
            assert await thp.read_value() == pytest.approx(812.5)
            site_folder = await c.nodes.objects.get_child([f"{ns}:opc test pad"])
            assert site_folder.nodeid == ua.NodeId("opc test pad", ns)
        finally:
            await c.disconnect()

    asyncio.run(main())
    listening = _listening(site)
    assert listening["standard_space"] == str(ss.file_path(site.cfg.paths.state_dir))
    # A few dozen standard nodes and our site's in memory, not 6,174.
    assert listening["nodes_in_memory"] < 300


@pytest.mark.parametrize("damage", ["truncated", "other version"])
def test_opcuad_rebuilds_a_damaged_file_and_starts(tmp_path, built, monkeypatch, damage):
    from .conftest import Site, connect

    s = Site(tmp_path, "allow_none = true\n")
    path = copy_to(built, s.cfg.paths.state_dir)
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:100_000])
    else:  # whole and sound, but from an older asyncua
        real = ss.header()
        monkeypatch.setattr(ss, "header", lambda: {**real, "asyncua": "1.0.0"})
        ss.write_nodes({}, path)
        monkeypatch.undo()
    try:
        s.start()

        async def main() -> Any:
            c = await connect(s)
            try:
                return await c.get_node(ua.ObjectIds.Server_ServerStatus_State).read_value()
            finally:
                await c.disconnect()

        assert asyncio.run(main()) == ua.ServerState.Running
        built_line = next(line for line in s.logtext().splitlines()
                          if "standard address space file built" in line)
        assert {"truncated": "truncated", "other version": "another version"}[damage] \
            in built_line
        assert _listening(s)["standard_space"] == str(path)
        assert len(ss.NodeFile(path)) == STANDARD_NODES
    finally:
        assert s.stop() == 0
