"""hostd as a process between a real mosquitto and the real PostgreSQL, fed by a Sparkplug
edge node simulated with the shared codec."""

from __future__ import annotations

import asyncio
import json
import signal
import time

import psycopg
import pytest
from gmqtt import Client


def rows(dsn, schema, node, metric=None):
    q = f"SELECT metric, time, value, is_historical FROM {schema}.samples_named WHERE node = %s"
    args = [node]
    if metric:
        q += " AND metric = %s"
        args.append(metric)
    with psycopg.connect(dsn) as conn:
        try:
            return conn.execute(q + " ORDER BY metric, time", args).fetchall()
        except psycopg.errors.UndefinedTable:
            return []  # hostd has not created this tenant's schema yet


async def retained_state(port, host_id, timeout=5.0):
    """What a newly connecting edge node sees on spBv1.0/STATE/<host_id>."""
    got: list[bytes] = []
    c = Client(f"state-reader-{time.monotonic_ns()}")
    c.on_message = lambda _c, _t, payload, _q, _p: got.append(payload) or 0
    await c.connect("127.0.0.1", port)
    c.subscribe(f"spBv1.0/STATE/{host_id}", qos=1)
    deadline = time.monotonic() + timeout
    while not got and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await c.disconnect()
    return json.loads(got[-1]) if got else None


@pytest.fixture
def setup(tmp_path, broker, pg_dsn, suffix, helpers, start_hostd):
    """One hostd for group `g_<suffix>` on our own broker."""
    group = f"g_{suffix}_{tmp_path.name[-6:]}".replace("-", "_")
    schema = f"t_{group}".lower()
    host_id = f"cloud-{suffix}"
    cfg = helpers.write_hostd_config(tmp_path / "hostd.toml", port=broker.port, dsn=pg_dsn,
                                     host_id=host_id,
                                     tenants=[(group, schema, f"{schema}_reader")])
    hostd = start_hostd(cfg)
    return hostd, group, schema, host_id


def test_state_births_data_rebirths_and_orderly_stop(setup, broker, pg_dsn, edge_sim, helpers):
    hostd, group, schema, host_id = setup

    async def scenario():
        edge = edge_sim(broker.port, group, "pad-1")
        await edge.connect(host_id)
        await helpers.async_wait_for(lambda: edge.state, 20, "STATE from hostd")
        state = json.loads(edge.state[-1])
        assert state["online"] is True and isinstance(state["timestamp"], int)
        t0 = int(time.time() * 1000) // 1000 * 1000 - 60_000
        edge.nbirth(t0, {"T1": 1.0, "T2": 2.0})
        edge.dbirth(t0)
        for k in range(1, 31):
            edge.ndata(t0 + k * 1000, {1: float(k), 2: -float(k)})
            edge.ddata(t0 + k * 1000, {100: k * 10.0})
        await helpers.async_wait_for(lambda: len(rows(pg_dsn, schema, "pad-1")) == 94, 15,
                                     "94 samples (birth values + 30 s of 3 tags)")
        assert edge.rebirths() == 0
        names = [r[0] for r in rows(pg_dsn, schema, "pad-1")]
        assert len(names) == 94 and names.count("Node Control/Rebirth") == 1, names
        got = rows(pg_dsn, schema, "pad-1", "T1")
        assert [r[2] for r in got] == [1.0] + [float(k) for k in range(1, 31)]
        assert [r[2] for r in rows(pg_dsn, schema, "pad-1", "dev/D1")][-1] == 300.0

        # the same seconds replayed as history: stored once
        edge.ndata(t0 + 5000, {1: 5.0}, historical=True)
        edge.ndata(t0 + 6000, {1: 6.0}, historical=True)
        # a seq gap: the host asks for a Rebirth, and keeps the data
        edge.ndata(t0 + 31_000, {1: 31.0}, seq=(edge.seq + 7) % 256)
        await helpers.async_wait_for(lambda: edge.rebirths() == 1, 10, "rebirth on seq gap")
        await asyncio.sleep(0.6)  # rebirth_min_interval_s = 0.5 in the test config
        edge.ndata(t0 + 32_000, {42: 1.0})  # unknown alias
        await helpers.async_wait_for(lambda: edge.rebirths() == 2, 10, "rebirth on alias")
        # a node that never sent its birth
        other = edge_sim(broker.port, group, "pad-2")
        await other.connect()
        other.ndata(t0, {1: 1.0})
        await helpers.async_wait_for(lambda: other.rebirths() == 1, 10, "rebirth, no birth")
        await helpers.async_wait_for(
            lambda: len(rows(pg_dsn, schema, "pad-1", "T1")) == 32, 10, "T1 31")
        assert rows(pg_dsn, schema, "pad-2") == []
        await edge.disconnect()
        await other.disconnect()

    asyncio.run(scenario())
    assert hostd.alive()
    with psycopg.connect(pg_dsn) as conn:
        node = conn.execute(f"SELECT online, bdseq, rebirths_requested, last_seq FROM "
                            f"{schema}.node_status WHERE node = 'pad-1'").fetchone()
    assert node[0] is True and node[1] == 0 and node[2] == 2 and node[3] is not None
    assert hostd.stop(signal.SIGTERM) == 0
    state = asyncio.run(retained_state(broker.port, host_id))
    assert state is not None and state["online"] is False


def test_kill_9_leaves_the_will_offline_with_the_online_timestamp(setup, broker, helpers):
    hostd, _group, _schema, host_id = setup
    online = helpers.wait_for(lambda: asyncio.run(retained_state(broker.port, host_id, 0.5)),
                              20, "online STATE")
    assert online["online"] is True
    hostd.stop(signal.SIGKILL)
    offline = helpers.wait_for(
        lambda: (s := asyncio.run(retained_state(broker.port, host_id, 0.5))) and
        not s["online"] and s, 30, "the Will (offline STATE)")
    assert offline["timestamp"] == online["timestamp"]


def test_hostd_reconnects_after_a_broker_restart_and_republishes_state(setup, broker, pg_dsn,
                                                                        edge_sim, helpers):
    hostd, group, schema, host_id = setup
    helpers.wait_for(lambda: asyncio.run(retained_state(broker.port, host_id, 0.5)), 20,
                     "online STATE")
    broker.stop()  # persistence off: the retained STATE is gone with it
    time.sleep(1.5)
    broker.start()
    state = helpers.wait_for(lambda: asyncio.run(retained_state(broker.port, host_id, 0.5)),
                             30, "STATE online again after the restart")
    assert state["online"] is True

    async def after():
        edge = edge_sim(broker.port, group, "pad-r")
        await edge.connect()
        t0 = int(time.time() * 1000)
        edge.nbirth(t0)
        edge.ndata(t0 + 1000, {1: 5.0})
        await helpers.async_wait_for(lambda: len(rows(pg_dsn, schema, "pad-r", "T1")) == 2,
                                     10, "data after the restart")
        await edge.disconnect()

    asyncio.run(after())
    assert hostd.alive()
    assert '"broker unavailable"' in hostd.output() and '"broker recovered"' in hostd.output()


def test_a_bad_configuration_stops_hostd_with_file_and_line(tmp_path, start_hostd):
    cfg = tmp_path / "hostd.toml"
    cfg.write_text('[hostd]\nhost_id = "h"\n[database]\ndsn = "x"\nbatchmax = 5\n'
                   '[[tenant]]\ngroup_id = "g"\n')
    hostd = start_hostd(cfg)
    assert hostd.proc.wait(20) == 1
    out = hostd.output()
    assert '"configuration rejected"' in out and '"line": 5' in out
    assert "unknown key 'batchmax' in database" in out


def test_sighup_applies_what_can_change_and_refuses_the_rest(setup, helpers):
    hostd, _group, _schema, _host_id = setup
    helpers.wait_for(lambda: '"primary host online"' in hostd.output(), 20, "online")
    text = hostd.config.read_text()
    hostd.config.write_text(text.replace("rebirth_min_interval_s = 0.5",
                                         "rebirth_min_interval_s = 2.0"))
    hostd.proc.send_signal(signal.SIGHUP)
    helpers.wait_for(lambda: '"reloaded"' in hostd.output(), 10, "reloaded")
    hostd.config.write_text(text.replace("flush_ms = 50", "flush_ms = 60"))
    hostd.proc.send_signal(signal.SIGHUP)
    helpers.wait_for(lambda: "need a restart" in hostd.output(), 10, "reload refused")
    assert hostd.alive()


async def publish_state(port, host_id, online, ts):
    c = Client(f"intruder-{time.monotonic_ns()}")
    await c.connect("127.0.0.1", port)
    c.publish(f"spBv1.0/STATE/{host_id}", json.dumps({"online": online, "timestamp": ts}),
              qos=1, retain=True)
    await asyncio.sleep(0.2)
    await c.disconnect()


def test_own_state_set_offline_by_someone_else_is_put_right(setup, broker, helpers):
    hostd, _group, _schema, host_id = setup
    first = helpers.wait_for(lambda: asyncio.run(retained_state(broker.port, host_id, 0.5)),
                             20, "online STATE")
    # an older offline (a late Will): edges ignore it; hostd puts its online STATE back
    asyncio.run(publish_state(broker.port, host_id, False, first["timestamp"] - 1000))
    again = helpers.wait_for(
        lambda: (s := asyncio.run(retained_state(broker.port, host_id, 0.5))) and s["online"]
        and s,
        10, "online STATE re-published")
    assert again["timestamp"] == first["timestamp"]
    # a newer offline: edges believe it, so hostd comes back with a newer timestamp
    newer = first["timestamp"] + 5000
    asyncio.run(publish_state(broker.port, host_id, False, newer))
    back = helpers.wait_for(
        lambda: (s := asyncio.run(retained_state(broker.port, host_id, 0.5))) and s["online"]
        and s["timestamp"] > newer and s, 15, "a newer online STATE")
    assert back["online"] is True
    assert hostd.alive()


def test_a_restarted_host_asks_running_nodes_for_their_births(setup, broker, pg_dsn, edge_sim,
                                                                helpers, start_hostd):
    hostd, group, schema, _host_id = setup

    async def scenario():
        edge = edge_sim(broker.port, group, "pad-s")
        await edge.connect()
        await helpers.async_wait_for(lambda: '"primary host online"' in hostd.output(), 20,
                                     "online")
        t0 = int(time.time() * 1000)
        edge.nbirth(t0)
        edge.ndata(t0 + 1000, {1: 1.0})
        await helpers.async_wait_for(lambda: len(rows(pg_dsn, schema, "pad-s", "T1")) == 2,
                                     10, "first data")
        assert hostd.stop() == 0
        again = start_hostd(hostd.config)
        await helpers.async_wait_for(lambda: '"primary host online"' in again.output(), 20,
                                     "the new hostd online")
        edge.ndata(t0 + 2000, {1: 2.0})  # the new host has no session for this node
        await helpers.async_wait_for(lambda: edge.rebirths() == 1, 10, "a rebirth request")
        edge.nbirth(t0 + 3000)
        edge.ndata(t0 + 4000, {1: 4.0})
        await helpers.async_wait_for(lambda: len(rows(pg_dsn, schema, "pad-s", "T1")) == 4,
                                     10, "data after the rebirth")
        await edge.disconnect()

    asyncio.run(scenario())
    assert [r[2] for r in rows(pg_dsn, schema, "pad-s", "T1")] == [0.0, 1.0, 0.0, 4.0]


def test_a_tenant_added_at_reload_is_provisioned_and_subscribed(setup, broker, pg_dsn,
                                                                 suffix, edge_sim, helpers):
    hostd, _group, _schema, _host_id = setup
    helpers.wait_for(lambda: '"primary host online"' in hostd.output(), 20, "online")
    group = f"late_{suffix}"
    schema = f"t_late_{suffix}"
    hostd.config.write_text(hostd.config.read_text() + f'[[tenant]]\ngroup_id = "{group}"\n'
                            f'schema = "{schema}"\nreader_role = "{schema}_reader"\n')
    hostd.proc.send_signal(signal.SIGHUP)
    helpers.wait_for(lambda: '"tenants changed"' in hostd.output(), 10, "reloaded")

    async def scenario():
        edge = edge_sim(broker.port, group, "pad-new")
        await edge.connect()
        t0 = int(time.time() * 1000)
        edge.nbirth(t0)
        edge.ndata(t0 + 1000, {1: 7.0})
        await helpers.async_wait_for(
            lambda: len(rows(pg_dsn, schema, "pad-new", "T1")) == 2, 15, "the new tenant's data")
        await edge.disconnect()

    asyncio.run(scenario())
    assert hostd.alive()


def test_mqtt_3_1_1_works_too(tmp_path, broker, pg_dsn, suffix, helpers, start_hostd,
                              edge_sim):
    group = f"v4_{suffix}"
    schema = f"t_v4_{suffix}"
    cfg = helpers.write_hostd_config(tmp_path / "hostd.toml", port=broker.port, dsn=pg_dsn,
                                     host_id=f"v4-{suffix}",
                                     tenants=[(group, schema, f"{schema}_reader")])
    cfg.write_text(cfg.read_text().replace("[mqtt]\n", "[mqtt]\nversion = 4\n"))
    hostd = start_hostd(cfg)
    state = helpers.wait_for(lambda: asyncio.run(retained_state(broker.port, f"v4-{suffix}",
                                                                0.5)), 20, "online STATE")
    assert state["online"] is True

    async def scenario():
        edge = edge_sim(broker.port, group, "pad-4")
        await edge.connect()
        t0 = int(time.time() * 1000)
        edge.nbirth(t0)
        edge.ndata(t0 + 1000, {1: 4.0})
        await helpers.async_wait_for(lambda: len(rows(pg_dsn, schema, "pad-4", "T1")) == 2,
                                     10, "data over MQTT 3.1.1")
        await edge.disconnect()

    asyncio.run(scenario())
    assert hostd.alive()


def test_a_database_role_without_rights_stops_hostd_with_the_reason(tmp_path, broker, pg_dsn,
                                                                      suffix, helpers,
                                                                      start_hostd):
    user = f"norights_{suffix}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{user}" LOGIN')
    cfg = helpers.write_hostd_config(
        tmp_path / "hostd.toml", port=broker.port,
        dsn=pg_dsn.replace("user=postgres", f"user={user}"), host_id=f"nr-{suffix}",
        tenants=[(f"nr_{suffix}", f"t_nr_{suffix}", f"t_nr_{suffix}_reader")])
    hostd = start_hostd(cfg)
    assert hostd.proc.wait(30) == 70  # EX_SOFTWARE: systemd restarts it, the log says why
    out = hostd.output()
    assert '"cannot provision the database"' in out and "permission denied" in out
    assert '"postgresql unavailable"' not in out
