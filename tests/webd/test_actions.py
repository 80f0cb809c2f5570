"""Writes and alarm operations go to their owners' sockets with the user passed along;
webd refuses (403, audited) what `authorize` refuses before asking them."""

from __future__ import annotations

import pytest

from daemons.core.access.audit import AuditReader

from .conftest import FakeDaemon, login

pytestmark = pytest.mark.timeout(60)

ALARMS = [{"id": "W101.THP:hi", "tag": "W101.THP", "well": "W101", "priority": "high",
           "state": "unack_active"},
          {"id": "B201.THP:hi", "tag": "B201.THP", "well": "B201", "priority": "low",
           "state": "unack_active"}]


def alarmd_answer(msg):
    if msg["op"] == "list":
        return {"ok": True, "alarms": ALARMS}
    if msg["op"] == "shelve" and msg["seconds"] > 3600:
        return {"ok": False, "error": {"en": "too long", "es": "demasiado largo"}}
    return {"ok": True, "changed": [msg["id"]]}


@pytest.fixture
def acqd(site):
    fake = FakeDaemon(site.cfg.paths.runtime_dir / "acqd.sock",
                      lambda m: {"ok": True, "id": 7, "state": "confirmed",
                                 "readback": m["value"]})
    yield fake
    fake.close()


@pytest.fixture
def alarmd(site):
    fake = FakeDaemon(site.cfg.paths.runtime_dir / "alarmd.sock", alarmd_answer)
    yield fake
    fake.close()


def actions(site):
    reader = AuditReader(site.cfg.paths.state_dir)
    try:
        return [(e.actor, e.source, e.action, e.object) for e in reader.entries()]
    finally:
        reader.close()


def test_write_goes_to_acqd_with_the_user(client, acqd):
    csrf = login(client, "eva")
    r = client.post("/api/write", headers=csrf,
                    json={"tag": "W101.SPM_SET", "value": 8.5, "reason": "fillage low"})
    assert r.status_code == 200, r.text
    assert r.json() == {"id": 7, "state": "confirmed", "readback": 8.5}
    assert acqd.requests == [{"op": "write", "tag": "W101.SPM_SET", "value": 8.5,
                              "reason": "fillage low", "user": "eva", "source": "webd"}]


def test_write_out_of_scope_or_role_is_403_and_audited(client, acqd, site):
    csrf = login(client, "eva")  # Lagunillas only
    r = client.post("/api/write", headers=csrf,
                    json={"tag": "B201.CHOKE_SET", "value": 32, "reason": "x"})
    assert r.status_code == 403 and r.json()["error"]["es"]
    csrf = login(client, "rita")  # reservoir engineer: no lift write
    r = client.post("/api/write", headers=csrf,
                    json={"tag": "W101.SPM_SET", "value": 8, "reason": "x"})
    assert r.status_code == 403
    assert acqd.requests == []
    denied = [a for a in actions(site) if a[2] == "tag.write.denied"]
    assert [(a[0], a[3]) for a in denied] == [("eva", "B201.CHOKE_SET"),
                                              ("rita", "W101.SPM_SET")]
    r = client.post("/api/write", headers=csrf, json={"tag": "NOPE", "value": 1, "reason": ""})
    assert r.status_code == 404


def test_acqd_refusal_and_absence(client, site):
    csrf = login(client, "eva")
    body = {"tag": "W101.SPM_SET", "value": 8, "reason": "x"}
    assert client.post("/api/write", headers=csrf, json=body).status_code == 503
    fake = FakeDaemon(site.cfg.paths.runtime_dir / "acqd.sock", lambda m: {
        "ok": False, "id": 9, "state": "rejected", "error": {"en": "out of range",
                                                             "es": "fuera de rango"}})
    try:
        r = client.post("/api/write", headers=csrf, json=body)
    finally:
        fake.close()
    assert r.status_code == 409 and r.json()["error"]["es"] == "fuera de rango"


def test_alarms_follow_the_scope(client, alarmd):
    login(client, "oscar")
    assert [a["id"] for a in client.get("/api/alarms").json()] == ["W101.THP:hi"]
    login(client, "sam")
    assert len(client.get("/api/alarms").json()) == 2


def test_ack_and_shelve_go_to_alarmd_with_the_user(client, alarmd):
    csrf = login(client, "sam")
    r = client.post("/api/alarms/W101.THP:hi/ack", headers=csrf, json={"comment": "seen"})
    assert r.status_code == 200 and r.json() == {"changed": ["W101.THP:hi"]}
    r = client.post("/api/alarms/W101.THP:hi/shelve", headers=csrf,
                    json={"seconds": 600, "comment": "sensor swap"})
    assert r.status_code == 200
    sent = [m for m in alarmd.requests if m["op"] != "list"]
    assert sent == [{"op": "ack", "id": "W101.THP:hi", "comment": "seen", "user": "sam",
                     "source": "webd"},
                    {"op": "shelve", "id": "W101.THP:hi", "comment": "sensor swap",
                     "user": "sam", "source": "webd", "seconds": 600.0}]
    r = client.post("/api/alarms/W101.THP:hi/shelve", headers=csrf,
                    json={"seconds": 7200, "comment": "long"})
    assert r.status_code == 409 and r.json()["error"]["es"] == "demasiado largo"
    assert client.post("/api/alarms/X.Y:hi/ack", headers=csrf).status_code == 404


def test_alarm_operations_refused_by_role_and_scope(client, alarmd, site):
    csrf = login(client, "eva")  # production engineer, Lagunillas
    assert client.post("/api/alarms/B201.THP:hi/ack", headers=csrf).status_code == 403
    r = client.post("/api/alarms/W101.THP:hi/shelve", headers=csrf,
                    json={"seconds": 60, "comment": "x"})
    assert r.status_code == 403  # shelving needs approve: supervisors and managers
    assert client.post("/api/alarms/W101.THP:hi/ack").status_code == 403  # no CSRF token
    assert all(m["op"] == "list" for m in alarmd.requests)
    assert {a[2] for a in actions(site) if a[0] == "eva"} >= {"alarms.ack.denied",
                                                             "alarms.shelve.denied"}


@pytest.mark.parametrize("body", ['{"seconds": "soon", "comment": "x"}', '{"comment": "x"}',
                                  "[1]"])
def test_malformed_shelve_bodies_are_400(client, alarmd, body):
    csrf = login(client, "sam")
    r = client.post("/api/alarms/W101.THP:hi/shelve", content=body,
                    headers={**csrf, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["detail"]
