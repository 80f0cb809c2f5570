"""Two hostd instances share the load on one mosquitto with MQTT 5 shared subscriptions,
partitioned by Sparkplug group: every sample lands once, written by its group's owner."""

from __future__ import annotations

import asyncio
import signal
import time

import psycopg


def stored(dsn, schema):
    with psycopg.connect(dsn) as conn:
        return conn.execute(f"SELECT node, metric, time, value FROM {schema}.samples_named "
                            "ORDER BY node, metric, time").fetchall()


def instances_of(dsn, schema):
    with psycopg.connect(dsn) as conn:
        return dict(conn.execute(f"SELECT edge_node_id, host_instance FROM {schema}.edge_nodes"
                                 ).fetchall())


def test_two_instances_partitioned_by_group_store_every_sample_once(
        tmp_path, broker, pg_dsn, suffix, helpers, start_hostd, edge_sim):
    groups = [f"east_{suffix}", f"west_{suffix}"]
    schemas = [f"t_{g}" for g in groups]
    hosts = []
    for i, (group, schema) in enumerate(zip(groups, schemas, strict=True)):
        d = tmp_path / f"h{i}"
        d.mkdir()
        cfg = helpers.write_hostd_config(d / "hostd.toml", port=broker.port, dsn=pg_dsn,
                                         host_id=f"cloud-{i}-{suffix}",
                                         client_id=f"hostd-{i}-{suffix}", shared_group="hosts",
                                         tenants=[(group, schema, f"{schema}_reader")])
        hosts.append(start_hostd(cfg))
    for h in hosts:
        helpers.wait_for(lambda h=h: '"primary host online"' in h.output(), 20, "online")
        assert "$share/hosts/spBv1.0/" in h.output()

    async def scenario():
        edges = [edge_sim(broker.port, g, f"pad-{n}") for g in groups for n in range(3)]
        for e in edges:
            await e.connect()
        t0 = int(time.time() * 1000) // 1000 * 1000 - 50_000
        for e in edges:
            e.nbirth(t0)
        for k in range(1, 41):
            for e in edges:
                e.ndata(t0 + k * 1000, {1: float(k), 2: float(-k)})
        # per group: 3 nodes x (3 birth values + 40 s x 2 tags)
        for schema in schemas:
            await helpers.async_wait_for(lambda s=schema: len(stored(pg_dsn, s)) == 3 * 83, 20,
                                         f"all samples of {schema}")
        for e in edges:
            assert e.rebirths() == 0  # no instance saw a stranger's messages or a gap
            await e.disconnect()

    asyncio.run(scenario())
    for i, schema in enumerate(schemas):
        rows = stored(pg_dsn, schema)
        assert len(rows) == len({(r[0], r[1], r[2]) for r in rows}) == 249
        assert set(instances_of(pg_dsn, schema).values()) == {f"hostd-{i}-{suffix}"}
    # losing one instance leaves the other's partition flowing
    hosts[0].stop(signal.SIGKILL)

    async def west_only():
        e = edge_sim(broker.port, groups[1], "pad-late")
        await e.connect()
        t0 = int(time.time() * 1000)
        e.nbirth(t0)
        e.ndata(t0 + 1000, {1: 1.0})
        await helpers.async_wait_for(
            lambda: any(r[0] == "pad-late" and r[1] == "T1" and r[3] == 1.0
                        for r in stored(pg_dsn, schemas[1])), 10, "west still stored")
        await e.disconnect()

    asyncio.run(west_only())
    assert hosts[1].alive()


def test_a_standby_takes_over_when_the_primary_dies(tmp_path, broker, pg_dsn, suffix,
                                                    helpers, start_hostd, edge_sim):
    group, schema, host_id = f"ha_{suffix}", f"t_ha_{suffix}", f"ha-{suffix}"
    hosts = []
    for name, standby in (("a", False), ("b", True)):
        d = tmp_path / name
        d.mkdir()
        cfg = helpers.write_hostd_config(
            d / "hostd.toml", port=broker.port, dsn=pg_dsn, host_id=host_id,
            client_id=f"hostd-{name}-{suffix}", extra=f"standby = {str(standby).lower()}",
            tenants=[(group, schema, f"{schema}_reader")])
        hosts.append(start_hostd(cfg))
        helpers.wait_for(lambda h=hosts[-1]: '"primary host online"' in h.output()
                         or '"standing by"' in h.output(), 20, f"{name} up")
    primary, standby = hosts
    assert '"primary host online"' in primary.output()
    assert '"standing by"' in standby.output() and '"primary host online"' not in \
        standby.output()

    async def scenario():
        edge = edge_sim(broker.port, group, "pad-ha")
        await edge.connect()
        t0 = int(time.time() * 1000) // 1000 * 1000 - 30_000
        edge.nbirth(t0)
        for k in range(1, 6):
            edge.ndata(t0 + k * 1000, {1: float(k)})
        await helpers.async_wait_for(lambda: len(stored(pg_dsn, schema)) == 3 + 5, 10,
                                     "data through the primary")
        primary.stop(signal.SIGKILL)  # its Will says offline; the standby takes over
        await helpers.async_wait_for(lambda: '"primary host online"' in standby.output(),
                                     15, "the standby online")
        # The new primary has no session: data asks for a rebirth.  The edge keeps sending
        # (as at 1 Hz) since the standby's subscription may trail its STATE by a moment.
        deadline = time.monotonic() + 15
        while edge.rebirths() == 0 and time.monotonic() < deadline:
            edge.ndata(t0 + 6000, {1: 6.0})
            await asyncio.sleep(0.5)
        assert edge.rebirths() == 1, "one rebirth request (at most one per interval)"
        edge.nbirth(t0 + 7000)
        for k in range(8, 11):
            edge.ndata(t0 + k * 1000, {1: float(k)})
        await helpers.async_wait_for(
            lambda: {r[3] for r in stored(pg_dsn, schema) if r[1] == "T1"} >= {8.0, 9.0, 10.0},
            10, "data through the standby")
        await edge.disconnect()

    asyncio.run(scenario())
    values = [r[3] for r in stored(pg_dsn, schema) if r[1] == "T1"]
    assert values == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 0.0, 8.0, 9.0, 10.0]
    # the node's last birth went through the standby, now the primary
    assert set(instances_of(pg_dsn, schema).values()) == {f"hostd-b-{suffix}"}
    assert standby.alive()


def test_a_lone_standby_serves_and_steps_down_for_a_newer_primary(tmp_path, broker, pg_dsn,
                                                                   suffix, helpers,
                                                                   start_hostd):
    group, schema, host_id = f"sd_{suffix}", f"t_sd_{suffix}", f"sd-{suffix}"
    configs = {}
    for name, standby in (("a", False), ("b", True)):
        d = tmp_path / name
        d.mkdir()
        configs[name] = helpers.write_hostd_config(
            d / "hostd.toml", port=broker.port, dsn=pg_dsn, host_id=host_id,
            client_id=f"hostd-{name}-{suffix}", extra=f"standby = {str(standby).lower()}",
            tenants=[(group, schema, f"{schema}_reader")])
    standby = start_hostd(configs["b"])
    # nobody publishes a STATE for this host id: the standby takes the role itself
    helpers.wait_for(lambda: '"primary host online"' in standby.output(), 20, "takeover")
    assert '"taking over as the primary host"' in standby.output()
    primary = start_hostd(configs["a"])
    helpers.wait_for(lambda: '"primary host online"' in primary.output(), 20, "primary")
    helpers.wait_for(lambda: standby.output().count('"standing by"') == 2, 15,
                     "the standby stepping down")
    assert '"another instance is the primary host now' in standby.output()
    assert primary.alive() and standby.alive()
