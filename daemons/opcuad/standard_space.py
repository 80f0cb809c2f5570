"""The OPC-UA standard address space (namespace 0) served from a file, loaded node by node.

asyncua's `Server.init()` builds the standard nodeset from generated code: 6,174 nodes,
about 74,000 attribute objects, 54 MB of RSS, of which a SCADA master touches a few dozen
(Server/ServerStatus, NamespaceArray, the types it browses).  Instead, opcuad keeps every
standard node pickled (and zlib-compressed) in one file in its state directory and puts a
`LazyNodes` mapping into `aspace._nodes`: a node is read from the file the first time it
is asked for and stays in a cache dict from then on, where asyncua changes it in place
(ServerStatus, NamespaceArray, the references to our site's folder).

The file (`NodeFile`) is made once per asyncua/Python version (the name and the header
say which) by a forked child process (forked.py), so the daemon itself never holds the
in-memory build: Python would not give those 54 MB back to the system after it was freed.  It is
written under a temporary name, fsynced and renamed into place, and checked whole (magic,
header, CRC-32) before use: a missing, truncated, corrupt or other-version file is rebuilt.
Layout: MAGIC, header length, JSON header; the compressed pickles sorted by NodeId number;
the index (NodeId numbers, then offsets, each as uint64 arrays); trailer (index offset,
node count, CRC-32 of everything before the trailer) and MAGIC.

The file is only ever written by opcuad into its own state directory, which is why
unpickling it is acceptable (whoever can write there can already change the daemon's
users and audit log).
"""

from __future__ import annotations

import json
import os
import pickle
import struct
import sys
import time
import zlib
from array import array
from bisect import bisect_left
from collections.abc import Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any

import asyncua
from asyncua import Server, ua

from daemons.opcuad.forked import FORK_TIMEOUT_S, ForkedJobError, run_forked

FORMAT = 1
PROTOCOL = pickle.HIGHEST_PROTOCOL
MAGIC = b"WGUANS0\n"
PREFIX = "opcua-standard-nodes-"
_HEAD = struct.Struct("<I")  # length of the JSON header
_TAIL = struct.Struct("<QQI")  # index offset, node count, CRC-32 of the bytes before
_CHUNK = 1 << 16


class StandardSpaceError(Exception):
    """The node file is missing a part, damaged, or made by another version."""


def header() -> dict[str, Any]:
    """What a node file must have been made with to be used by this process."""
    return {"format": FORMAT, "asyncua": asyncua.__version__,
            "python": f"{sys.version_info.major}.{sys.version_info.minor}",
            "pickle": PROTOCOL, "byteorder": sys.byteorder}


def file_path(state_dir: Path) -> Path:
    """The node file for this asyncua and Python: an upgrade of either makes a new one."""
    h = header()
    return state_dir / (f"{PREFIX}asyncua{h['asyncua']}-py{h['python']}-p{h['pickle']}"
                        f"-f{h['format']}.bin")


# Where the frozen image carries a node file built by `make image` (image/wellgate.spec),
# beside this module in the bundle; a source checkout has none and builds its own.
IMAGE_DIR = Path(__file__).resolve().parent / "standard-nodes"


def write_nodes(nodes: Mapping[ua.NodeId, Any], path: Path) -> None:
    """Write `nodes` (NamespaceIndex 0, numeric NodeIds) as a node file, atomically."""
    if any(k.NamespaceIndex != 0 or not isinstance(k.Identifier, int) for k in nodes):
        raise StandardSpaceError("only namespace-0 numeric NodeIds are stored")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    ids, offsets = array("Q"), array("Q")
    crc = 0
    try:
        with tmp.open("wb") as f:
            def put(data: bytes) -> None:
                nonlocal crc
                f.write(data)
                crc = zlib.crc32(data, crc)

            head = json.dumps(header(), sort_keys=True).encode()
            put(MAGIC + _HEAD.pack(len(head)) + head)
            pos = len(MAGIC) + _HEAD.size + len(head)
            for nodeid in sorted(nodes, key=lambda k: k.Identifier):
                blob = zlib.compress(pickle.dumps(nodes[nodeid], PROTOCOL))
                ids.append(nodeid.Identifier)
                offsets.append(pos)
                put(blob)
                pos += len(blob)
            offsets.append(pos)
            put(ids.tobytes() + offsets.tobytes())
            f.write(_TAIL.pack(pos, len(ids), crc) + MAGIC)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    # The rename itself must survive a power cut, or the next start rebuilds for nothing.
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class NodeFile:
    """A checked node file, open for reading single nodes (os.pread: no shared offset)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            self._ids, self._offsets = self._check()
        except BaseException:
            os.close(self._fd)
            raise

    def _read(self, size: int, at: int) -> bytes:
        data = os.pread(self._fd, size, at)
        if len(data) != size:
            raise StandardSpaceError(f"{self.path.name}: short read")
        return data

    def _check(self) -> tuple[array, array]:
        size = os.fstat(self._fd).st_size
        tail = _TAIL.size + len(MAGIC)
        if size < 2 * len(MAGIC) + _HEAD.size + _TAIL.size:
            raise StandardSpaceError(f"{self.path.name}: truncated ({size} bytes)")
        trailer = self._read(tail, size - tail)
        if trailer[_TAIL.size:] != MAGIC:
            raise StandardSpaceError(f"{self.path.name}: truncated (no trailer)")
        index_at, count, want_crc = _TAIL.unpack(trailer[:_TAIL.size])
        body = size - tail
        crc = 0
        # One small buffer read into again and again: a megabyte-sized bytes object per
        # chunk would leave glibc's heap (and RSS) that much bigger for good.
        buf = bytearray(_CHUNK)
        for at in range(0, body, _CHUNK):
            view = memoryview(buf)[:min(_CHUNK, body - at)]
            if os.preadv(self._fd, [view], at) != len(view):
                raise StandardSpaceError(f"{self.path.name}: short read")
            crc = zlib.crc32(view, crc)
        if crc != want_crc:
            raise StandardSpaceError(f"{self.path.name}: corrupt (CRC mismatch)")
        start = self._read(len(MAGIC) + _HEAD.size, 0)
        if start[:len(MAGIC)] != MAGIC:
            raise StandardSpaceError(f"{self.path.name}: not a node file")
        (head_len,) = _HEAD.unpack(start[len(MAGIC):])
        if head_len > index_at:
            raise StandardSpaceError(f"{self.path.name}: header does not fit the file")
        made = json.loads(self._read(head_len, len(start)))
        if made != header():
            raise StandardSpaceError(f"{self.path.name}: made by another version ({made})")
        if index_at + 8 * (2 * count + 1) != body:
            raise StandardSpaceError(f"{self.path.name}: index does not fit the file")
        ids, offsets = array("Q"), array("Q")
        ids.frombytes(self._read(8 * count, index_at))
        offsets.frombytes(self._read(8 * (count + 1), index_at + 8 * count))
        return ids, offsets

    def __len__(self) -> int:
        return len(self._ids)

    def _find(self, nodeid: object) -> int:
        if not isinstance(nodeid, ua.NodeId) or nodeid.NamespaceIndex != 0 \
                or not isinstance(nodeid.Identifier, int):
            return -1
        i = bisect_left(self._ids, nodeid.Identifier)
        return i if i < len(self._ids) and self._ids[i] == nodeid.Identifier else -1

    def __contains__(self, nodeid: object) -> bool:
        return self._find(nodeid) >= 0

    def load(self, nodeid: ua.NodeId) -> Any | None:
        """A fresh NodeData for `nodeid`, or None when it is not a standard node."""
        i = self._find(nodeid)
        if i < 0:
            return None
        at, end = self._offsets[i], self._offsets[i + 1]
        return pickle.loads(zlib.decompress(self._read(end - at, at)))

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class LazyNodes(MutableMapping[ua.NodeId, Any]):
    """asyncua's `aspace._nodes` over a NodeFile: standard nodes are copied from the file
    into `cache` when first read; our own nodes live in `cache` only.  Iteration and len()
    see the cache alone (as asyncua's own shelf mapping does): walking every standard node
    would load them all, and asyncua iterates only to find nodes of a namespace or
    references to a node being deleted, which standard nodes not yet loaded cannot hold."""

    def __init__(self, source: NodeFile) -> None:
        self.source = source
        self.cache: dict[ua.NodeId, Any] = {}
        self.deleted: set[ua.NodeId] = set()  # standard nodes deleted: not to come back

    def __getitem__(self, key: ua.NodeId) -> Any:
        try:
            return self.cache[key]
        except KeyError:
            pass
        node = None if key in self.deleted else self.source.load(key)
        if node is None:
            raise KeyError(key)
        self.cache[key] = node
        return node

    def get(self, key: ua.NodeId, default: Any = None) -> Any:  # type: ignore[override]
        node = self.cache.get(key)  # the hot path (every read) stays one dict lookup
        if node is not None:
            return node
        try:
            return self[key]
        except KeyError:
            return default

    def __setitem__(self, key: ua.NodeId, value: Any) -> None:
        self.cache[key] = value
        self.deleted.discard(key)

    def __delitem__(self, key: ua.NodeId) -> None:
        in_file = key not in self.deleted and key in self.source
        if self.cache.pop(key, None) is None and not in_file:
            raise KeyError(key)
        if in_file:
            self.deleted.add(key)

    def __contains__(self, key: object) -> bool:
        return key in self.cache or (key not in self.deleted and key in self.source)

    def __iter__(self) -> Iterator[ua.NodeId]:
        return iter(self.cache)

    def __len__(self) -> int:
        return len(self.cache)


def build_file(path: Path) -> int:
    """Fill the standard address space as asyncua's InternalServer does and write it to
    `path`; the number of nodes.  Costs the full in-memory build: run it in a child."""
    from asyncua.server.address_space import AddressSpace, NodeManagementService
    from asyncua.server.standard_address_space import standard_address_space

    aspace = AddressSpace()
    standard_address_space.fill_address_space(NodeManagementService(aspace))
    write_nodes(aspace._nodes, path)
    return len(aspace._nodes)


async def build_in_child(path: Path, timeout_s: float = FORK_TIMEOUT_S) -> None:
    """Build the node file in a forked child; raises StandardSpaceError."""
    try:
        await run_forked(lambda: build_file(path), timeout_s)
    except ForkedJobError as exc:
        raise StandardSpaceError(str(exc)) from exc


def _remove_stale(keep: Path) -> None:
    """Node files of earlier versions and temporaries left by a power cut."""
    for old in keep.parent.glob(f"{PREFIX}*"):
        if old != keep:
            try:
                old.unlink()
            except OSError:
                pass


async def prepare(state_dir: Path, log: Any, image_dir: Path = IMAGE_DIR) -> NodeFile | None:
    """The node file of `state_dir`, else the image's (`image_dir`), else one built now
    into `state_dir`; None (and one warning) when it cannot be made: the caller then lets
    asyncua build the nodes in memory."""
    path = file_path(state_dir)
    try:
        nodes = NodeFile(path)
        _remove_stale(path)  # e.g. a temporary left by a power cut during a build
        return nodes
    except FileNotFoundError:
        reason = "missing"
    except (OSError, ValueError, StandardSpaceError) as exc:
        reason = str(exc)
    try:  # the frozen image's own, read-only: no build on a gateway's first start
        return NodeFile(file_path(image_dir))
    except FileNotFoundError:
        pass
    except (OSError, ValueError, StandardSpaceError) as exc:
        log.warning("the image's OPC-UA standard address space file is not usable",
                    path=str(file_path(image_dir)), error=str(exc))
    started = time.monotonic()
    try:
        await build_in_child(path)
        nodes = NodeFile(path)
    except Exception as exc:  # whatever went wrong, the daemon starts without the file
        log.warning("OPC-UA standard address space file not usable; building it in memory "
                    "(about 50 MB more RSS)", path=str(path), reason=reason, error=str(exc))
        return None
    _remove_stale(path)
    log.info("OPC-UA standard address space file built", path=str(path), reason=reason,
             nodes=len(nodes), bytes=path.stat().st_size,
             seconds=round(time.monotonic() - started, 2))
    return nodes


def install(server: Server, nodes: NodeFile) -> None:
    """Make `server.init()` serve the standard nodes from `nodes` instead of building them
    (asyncua's own shelf check looks for file names that dbm.dumb never writes)."""
    iserver = server.iserver

    async def load_standard_address_space(shelf_file: Path | None = None) -> None:
        iserver.aspace._nodes = LazyNodes(nodes)

    iserver.load_standard_address_space = load_standard_address_space  # type: ignore[method-assign]

