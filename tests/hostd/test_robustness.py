"""Malformed input never stops hostd (hypothesis fuzz through the real broker), and a
PostgreSQL outage loses nothing that was received (a TCP proxy we cut and restore)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time

import psycopg
from gmqtt import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemons.core.sparkplug import BDSEQ, DataType, add_metric, compress, encode_payload
from daemons.core.sparkplug import new_payload as payload_at


class ThreadedPublisher:
    """An MQTT client on its own loop thread, so hypothesis can drive it synchronously."""

    def __init__(self, port: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.client = Client(f"fuzzer-{time.monotonic_ns()}")
        asyncio.run_coroutine_threadsafe(self.client.connect("127.0.0.1", port),
                                         self.loop).result(5)

    def publish(self, topic: str, data: bytes) -> None:
        self.loop.call_soon_threadsafe(self.client.publish, topic, data, 0)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.client.disconnect(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def valid_payloads() -> list[bytes]:
    birth = payload_at(1_000, 0)
    add_metric(birth, DataType.Int64, 1, name=BDSEQ)
    add_metric(birth, DataType.Double, 1.5, name="T1", alias=1, properties={"engUnit": "psi"})
    add_metric(birth, DataType.Int32Array, [1, -2, 3], name="CARD", alias=2)
    data = payload_at(2_000, 1)
    add_metric(data, DataType.Double, 2.5, alias=1, timestamp_ms=2_000, with_datatype=False)
    add_metric(data, DataType.String, "x", alias=3, timestamp_ms=2_000)
    raw = encode_payload(birth)
    return [raw, encode_payload(data), compress(raw, "DEFLATE", seq=0),
            compress(b"\x00garbage", "GZIP", seq=1)]


_VALUE_FIELDS = ("int_value", "long_value", "float_value", "double_value", "boolean_value",
                 "string_value", "bytes_value")


@st.composite
def raw_payloads(draw) -> bytes:
    """Well-formed protobuf, hostile content: any names, aliases, timestamps, datatypes."""
    from daemons.core.sparkplug.sparkplug_b_pb2 import Payload

    p = Payload()
    if draw(st.booleans()):
        p.timestamp = draw(st.integers(0, (1 << 64) - 1))
    if draw(st.booleans()):
        p.seq = draw(st.integers(0, (1 << 64) - 1))
    for _ in range(draw(st.integers(0, 4))):
        m = p.metrics.add()
        if draw(st.booleans()):
            m.name = draw(st.sampled_from(["bdSeq", "T1", "Node Control/Rebirth"])
                          | st.text(max_size=20))
        if draw(st.booleans()):
            m.alias = draw(st.integers(0, (1 << 64) - 1))
        if draw(st.booleans()):
            m.timestamp = draw(st.integers(0, (1 << 64) - 1))
        if draw(st.booleans()):
            m.datatype = draw(st.integers(0, 40))
        m.is_historical = draw(st.booleans())
        m.is_null = draw(st.booleans())
        field = draw(st.sampled_from(_VALUE_FIELDS))
        value = {"int_value": st.integers(0, (1 << 32) - 1),
                 "long_value": st.integers(0, (1 << 64) - 1),
                 "float_value": st.floats(width=32), "double_value": st.floats(),
                 "boolean_value": st.booleans(), "string_value": st.text(max_size=20),
                 "bytes_value": st.binary(max_size=20)}[field]
        setattr(m, field, draw(value))
    return p.SerializeToString()


def mutate(data: bytes, position: int, patch: bytes, cut: int) -> bytes:
    i = position % (len(data) + 1)
    out = data[:i] + patch + data[i + len(patch):]
    return out[: max(1, len(out) - cut)]


def stored(dsn, schema, node):
    with psycopg.connect(dsn) as conn:
        return conn.execute(f"SELECT metric, time, value FROM {schema}.samples_named WHERE "
                            "node = %s ORDER BY metric, time", (node,)).fetchall()


def hostd_for(tmp_path, broker, dsn, suffix, helpers, start_hostd, name):
    group = f"{name}_{suffix}"
    schema = f"t_{group}"
    cfg = helpers.write_hostd_config(tmp_path / "hostd.toml", port=broker.port, dsn=dsn,
                                     host_id=f"{name}-{suffix}",
                                     tenants=[(group, schema, f"{schema}_reader")])
    return start_hostd(cfg), group, schema


def test_malformed_topics_and_payloads_are_rejected_logged_and_survived(
        tmp_path, broker, pg_dsn, suffix, helpers, start_hostd, edge_sim):
    hostd, group, schema = hostd_for(tmp_path, broker, pg_dsn, suffix, helpers, start_hostd,
                                     "fuzz")
    helpers.wait_for(lambda: '"primary host online"' in hostd.output(), 20, "hostd online")
    base = f"spBv1.0/{group}"
    topics = [f"{base}/{k}/fz" for k in ("NBIRTH", "NDATA", "NDEATH", "NCMD")] + [
        f"{base}/{k}/fz/dev" for k in ("DBIRTH", "DDATA", "DDEATH")] + [
        f"{base}/NDATA", f"{base}/BOGUS/fz", f"{base}/NDATA/fz/dev/extra",
        f"{base}/NBIRTH/fz/dev", f"spBv1.0/STATE/fuzz-{suffix}"]
    valid = valid_payloads()
    pub = ThreadedPublisher(broker.port)
    sent = [0]

    @settings(max_examples=400, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(topics), st.one_of(
        st.binary(max_size=120), raw_payloads(),
        st.builds(mutate, st.sampled_from(valid), st.integers(0, 10_000),
                  st.binary(min_size=1, max_size=6), st.integers(0, 8)),
        st.sampled_from(valid)))
    def send(topic, data):
        pub.publish(topic, data)
        sent[0] += 1

    try:
        send()
    finally:
        pub.close()
    assert sent[0] >= 100

    async def after():
        edge = edge_sim(broker.port, group, "fz")  # the fuzzed node, born properly now
        await edge.connect()
        t0 = int(time.time() * 1000)
        edge.nbirth(t0)
        edge.ndata(t0 + 1000, {1: 11.0, 2: 22.0})
        await helpers.async_wait_for(lambda: [r for r in stored(pg_dsn, schema, "fz")
                                              if r[0] == "T1" and r[2] == 11.0], 15,
                                     "valid data after the fuzz")
        await edge.disconnect()

    asyncio.run(after())
    assert hostd.alive()
    out = hostd.output()
    assert '"malformed message rejected"' in out
    assert "Traceback" not in out


class CuttableProxy:
    """TCP proxy to PostgreSQL that a test can cut (close everything, refuse) and restore."""

    def __init__(self, target_port: int = 5432) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.port = self.listener.getsockname()[1]
        self.up = threading.Event()
        self.up.set()
        self.socks: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up.is_set():
                client.close()
                continue
            try:
                server = socket.create_connection(self.target, 5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.socks += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.up.clear()
        with self.lock:
            for s in self.socks:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            self.socks.clear()

    def restore(self) -> None:
        self.up.set()

    def close(self) -> None:
        self.cut()
        self.listener.close()


def test_a_postgresql_outage_loses_nothing_received(tmp_path, broker, pg_dsn, suffix, helpers,
                                                     start_hostd, edge_sim):
    proxy = CuttableProxy()
    dsn = pg_dsn.replace("port=5432", f"port={proxy.port}")
    try:
        hostd, group, schema = hostd_for(tmp_path, broker, dsn, suffix, helpers, start_hostd,
                                         "dbcut")

        async def scenario():
            edge = edge_sim(broker.port, group, "pad-db")
            await helpers.async_wait_for(lambda: '"primary host online"' in hostd.output(),
                                         20, "hostd online")
            await edge.connect()
            t0 = int(time.time() * 1000) // 1000 * 1000 - 100_000
            edge.nbirth(t0)
            for k in range(1, 21):
                edge.ndata(t0 + k * 1000, {1: float(k)})
            await helpers.async_wait_for(
                lambda: len(stored(pg_dsn, schema, "pad-db")) == 23, 10, "first 20 s")
            proxy.cut()
            for k in range(21, 81):
                edge.ndata(t0 + k * 1000, {1: float(k)})
                await asyncio.sleep(0.02)
            await helpers.async_wait_for(lambda: '"postgresql unavailable"' in hostd.output(),
                                         10, "the outage noticed")
            await asyncio.sleep(1.0)
            proxy.restore()
            await helpers.async_wait_for(
                lambda: len(stored(pg_dsn, schema, "pad-db")) == 83, 20, "all 80 s stored")
            await edge.disconnect()

        asyncio.run(scenario())
        t1 = [r for r in stored(pg_dsn, schema, "pad-db") if r[0] == "T1"]
        assert [r[2] for r in t1] == [0.0] + [float(k) for k in range(1, 81)]
        out = hostd.output()
        assert out.count('"postgresql unavailable"') == 1
        assert out.count('"postgresql recovered"') == 1
        assert hostd.alive()
    finally:
        proxy.close()


def test_timestamps_no_clock_can_hold_are_dropped_not_fatal(
        tmp_path, broker, pg_dsn, suffix, helpers, start_hostd, edge_sim):
    hostd, group, schema = hostd_for(tmp_path, broker, pg_dsn, suffix, helpers, start_hostd,
                                     "clock")
    helpers.wait_for(lambda: '"primary host online"' in hostd.output(), 20, "hostd online")
    huge = (1 << 63) - 1

    async def scenario():
        edge = edge_sim(broker.port, group, "pad-t")
        await edge.connect()
        edge.nbirth(huge)  # payload and metric timestamps in the year 292 million
        now = int(time.time() * 1000)
        edge.ndata(1 << 62, {1: 1.0})
        edge.ndata(now, {1: 2.0, 2: 3.0})
        await helpers.async_wait_for(
            lambda: [r for r in stored(pg_dsn, schema, "pad-t") if r[2] == 2.0], 15,
            "the sane sample stored")
        await edge.disconnect()

    asyncio.run(scenario())
    rows = stored(pg_dsn, schema, "pad-t")
    assert sorted(r[2] for r in rows) == [2.0, 3.0]
    assert hostd.alive()
    out = hostd.output()
    assert '"samples dropped' in out and "Traceback" not in out
