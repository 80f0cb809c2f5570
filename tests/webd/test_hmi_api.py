"""The API endpoints the HMI pages added: 401 without a caller, 403 by role and scope,
CSRF on changes, audited changes; overview, writable tags, system health, the alarm
journal (alarmd's events.db, written by alarmd's own journal code), CSV trends, the page
language, users and roles."""

from __future__ import annotations

import pytest

from daemons.alarmd.journal import AlarmJournal
from daemons.core.access.audit import AuditReader
from daemons.webd.site import well_status

from .conftest import FakeDaemon, login

pytestmark = pytest.mark.timeout(60)

NEW_ENDPOINTS = [("get", "/api/overview"), ("get", "/api/tags/writable"),
                 ("get", "/api/system"), ("get", "/api/alarms/journal"),
                 ("post", "/api/me/language"), ("post", "/api/me/password"),
                 ("get", "/api/users"), ("post", "/api/users"),
                 ("post", "/api/users/oscar/enabled"), ("post", "/api/users/oscar/roles"),
                 ("get", "/api/history/W101.THP?format=csv")]
ALARMS = [{"id": "W101.THP:hi", "tag": "W101.THP", "well": "W101", "priority": "high",
           "state": "unacknowledged"},
          {"id": "W101.THP:hihi", "tag": "W101.THP", "well": "W101", "priority": "critical",
           "state": "acknowledged"},
          {"id": "B201.THP:hi", "tag": "B201.THP", "well": "B201", "priority": "low",
           "state": "normal"}]


def audit(site) -> list[tuple[str, str, str, str]]:
    reader = AuditReader(site.cfg.paths.state_dir)
    try:
        return [(e.actor, e.source, e.action, e.object) for e in reader.entries()]
    finally:
        reader.close()


@pytest.fixture
def alarmd(site):
    fake = FakeDaemon(site.cfg.paths.runtime_dir / "alarmd.sock",
                      lambda m: {"ok": True, "alarms": ALARMS})
    yield fake
    fake.close()


@pytest.mark.parametrize(("method", "path"), NEW_ENDPOINTS)
def test_every_new_endpoint_needs_a_caller(client, method, path):
    r = getattr(client, method)(path)
    assert r.status_code == 401, r.text
    assert r.json()["error"]["es"]


@pytest.mark.parametrize(("method", "path"), [m for m in NEW_ENDPOINTS if m[0] == "post"])
def test_every_new_change_needs_the_csrf_token(client, method, path):
    login(client, "ana")
    r = client.post(path, json={"language": "en", "name": "x", "roles": ["manager"],
                                "enabled": True})
    assert r.status_code == 403 and "CSRF" in r.json()["detail"], r.text


@pytest.mark.parametrize(("user", "path"), [
    ("carl", "/api/overview"), ("carl", "/api/tags/writable"),
    ("carl", "/api/alarms/journal"), ("oscar", "/api/system"), ("oscar", "/api/users"),
    ("oscar", "/api/overview?well=B201"),  # outside oscar's field
    ("oscar", "/api/history/B201.THP?format=csv")])
def test_reads_refused_by_role_or_scope(client, user, path):
    login(client, user)
    r = client.get(path)
    assert r.status_code == 403, r.text
    assert r.json()["error"]["es"]


def test_schema_lists_the_new_endpoints(client):
    paths = client.get("/schema/openapi.json").json()["paths"]
    for _method, path in NEW_ENDPOINTS:
        path = path.split("?")[0].replace("W101.THP", "{tag}").replace("oscar", "{name}")
        assert path in paths, path
    assert not [p for p in paths if not p.startswith("/api/")]  # pages are not API


def test_overview_status_key_values_and_alarm_counts(client, alarmd, site):
    login(client, "eva")  # production engineer, Lagunillas: W101 only
    body = client.get("/api/overview").json()
    assert [w["id"] for w in body["wells"]] == ["W101"]
    w101 = body["wells"][0]
    assert w101["status"] == "alarm"  # an active alarm wins
    assert w101["alarms"] == {"active": 2, "unacknowledged": 1, "critical": 1, "high": 1,
                              "medium": 0, "low": 0}
    assert [r["tag"] for r in w101["key_values"]] == ["W101.THP"]
    login(client, "sam")
    one = client.get("/api/overview?well=B201").json()["wells"]
    assert [(w["id"], w["status"]) for w in one] == [("B201", "unknown")]
    assert client.get("/api/overview?well=NOPE").status_code == 404


@pytest.mark.parametrize(("kind", "values", "alarms", "status"), [
    ("rod_pump", {"RUNNING": 1.0}, 0, "running"),
    ("rod_pump", {"RUNNING": 0.0}, 0, "stopped"),
    ("rod_pump", {"RUNNING": 1.0, "PUMPED_OFF": 1.0}, 0, "pumped_off"),
    ("rod_pump", {"RUNNING": 1.0, "CALC.PUMPED_OFF": 1.0}, 0, "pumped_off"),
    ("flowing", {"TEST_VALVE": 1.0}, 0, "on_test"),
    ("drilling", {}, 0, "drilling"),
    ("esp", {"RUNNING": 1.0}, 3, "alarm"),
    ("flowing", {"THP": 300.0}, 0, "unknown"),
    ("flowing", {"THP": 300.0, "PROD_VALVE": 1.0}, 0, "running"),
    ("flowing", {"THP": 300.0, "PROD_VALVE": 0.0}, 0, "stopped"),
    ("flowing", {"PROD_VALVE": 0.0, "TEST_VALVE": 1.0}, 0, "on_test"),
    ("gas_lift", {"ENABLE": 1.0, "INJ_RATE": 450.0}, 0, "running"),
    ("gas_lift", {"ENABLE": 0.0, "INJ_RATE": 450.0}, 0, "stopped"),
    ("gas_lift", {"ENABLE": 1.0, "INJ_RATE": 0.0}, 0, "stopped"),
    ("coiled_tubing", {"SPEED": -35.0, "PUMP_RATE": 0.0}, 0, "running"),
    ("coiled_tubing", {"SPEED": 0.0, "PUMP_RATE": 0.0}, 0, "stopped"),
    ("gas_lift", {"THP": 120.0}, 0, "unknown")])
def test_well_status_rules(kind, values, alarms, status):
    assert well_status(kind, values, alarms) == status


def test_writable_tags_follow_the_matrix_and_the_scope(client):
    login(client, "eva")
    assert [t["tag"] for t in client.get("/api/tags/writable").json()] == ["W101.SPM_SET"]
    row = client.get("/api/tags/writable?pattern=SPM_SET").json()[0]
    assert (row["min"], row["max"], row["units"]) == (0.0, 20.0, "spm")
    login(client, "rita")  # reservoir engineers read, never write
    assert client.get("/api/tags/writable").json() == []


def test_system_adds_devices_and_disk(client):
    login(client, "ana")
    body = client.get("/api/system").json()
    assert body["devices"] == [{"name": "rtu1", "tags": 4, "good": 3, "uncertain": 0,
                                "bad": 0, "absent": 1}]  # B201.CHOKE_SET not in the ring
    assert body["disk"]["total_bytes"] >= body["disk"]["used_bytes"] > 0
    assert "daemons" in body and body["version"]


def test_alarm_journal_is_searchable_and_scoped(client, site):
    journal = AlarmJournal(site.cfg.paths.state_dir)  # alarmd's own writer and schema
    rows = [(100.0, "W101.THP:hi", "normal", "unacknowledged", "raise", "", ""),
            (160.0, "W101.THP:hi", "unacknowledged", "acknowledged", "ack", "eva",
             "choke checked"),
            (170.0, "B201.THP:hi", "normal", "unacknowledged", "raise", "", "")]
    with journal.conn:
        journal.conn.executemany(
            "INSERT INTO transitions (at, alarm_id, old, new, value, active, acked, "
            "shelved_until, out_of_service, action, user, comment, first_out) "
            "VALUES (?, ?, ?, ?, 1.0, 1, 0, 0, 0, ?, ?, ?, 0)", rows)
    journal.close()
    login(client, "oscar")  # Lagunillas: W101's alarms, not B201's
    got = client.get("/api/alarms/journal?since=0").json()
    assert [(r["alarm_id"], r["action"]) for r in got] == [("W101.THP:hi", "ack"),
                                                          ("W101.THP:hi", "raise")]
    found = client.get("/api/alarms/journal?since=0&text=choke").json()
    assert [(r["user"], r["comment"]) for r in found] == [("eva", "choke checked")]
    assert client.get("/api/alarms/journal?since=0&until=120").json()[0]["at"] == 100.0
    bad = client.get("/api/alarms/journal?limit=0")
    assert bad.status_code == 400 and bad.json()["error"]["es"]
    assert client.get("/api/alarms/journal?since=yesterday").status_code == 400


def test_history_csv_matches_the_json(client):
    login(client, "eva")
    q = "start=1764000000&end=1764000010&points=100"
    js = client.get(f"/api/history/W101.THP?{q}").json()
    r = client.get(f"/api/history/W101.THP?{q}&format=csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="W101.THP.csv"' in r.headers["content-disposition"]
    lines = r.text.strip().split("\r\n")
    assert lines[0] == "ts,value,min,max,quality"
    assert len(lines) - 1 == len(js["ts"])
    assert lines[1].split(",")[:2] == [js["ts"][0], repr(js["value"][0])]
    assert client.get(f"/api/history/W101.THP?{q}&format=xml").status_code == 400


def test_language_is_remembered_audited_and_used_by_the_pages(client, site):
    csrf = login(client, "eva")
    assert 'lang="es"' in client.get("/overview").text  # eva's account language
    r = client.post("/api/me/language", headers=csrf, json={"language": "en"})
    assert r.status_code == 200 and r.json() == {"language": "en"}
    page = client.get("/overview").text
    assert 'lang="en"' in page and "Site overview" in page
    bad = client.post("/api/me/language", headers=csrf, json={"language": "fr"})
    assert bad.status_code == 400 and bad.json()["error"]["es"]
    assert ("eva", "web", "preference.language", "eva") in audit(site)
    client.post("/api/logout", headers=csrf)
    login(client, "eva")  # a new session keeps the choice (it is in webd.db)
    assert 'lang="en"' in client.get("/overview").text


def test_users_and_roles_by_an_administrator_audited(client, site):
    csrf = login(client, "ana")
    names = [u["name"] for u in client.get("/api/users").json()]
    assert {"ana", "oscar", "eva"} <= set(names)
    r = client.post("/api/users", headers=csrf,
                    json={"name": "nina", "roles": ["field_operator"], "scope": ["Lagunillas"]})
    assert r.status_code == 201, r.text
    assert len(r.json()["one_time_password"]) >= 16
    assert client.post("/api/users", headers=csrf,
                       json={"name": "nina", "roles": ["manager"]}).status_code == 409
    bad = client.post("/api/users", headers=csrf, json={"name": "x", "roles": ["wizard"]})
    assert bad.status_code == 400 and "wizard" in bad.json()["detail"]
    r = client.post("/api/users/nina/roles", headers=csrf, json={"roles": ["supervisor"]})
    assert r.status_code == 200, r.text
    r = client.post("/api/users/nina/enabled", headers=csrf, json={"enabled": False})
    assert r.status_code == 200, r.text
    nina = next(u for u in client.get("/api/users").json() if u["name"] == "nina")
    assert (nina["roles"], nina["enabled"]) == (["supervisor"], False)
    assert client.post("/api/users/ghost/enabled", headers=csrf,
                       json={"enabled": False}).status_code == 404
    last = client.post("/api/users/ana/enabled", headers=csrf, json={"enabled": False})
    assert last.status_code == 409  # the last administrator stays
    entries = audit(site)
    for action in ("user.add", "user.role", "user.disable"):
        assert ("ana", "web", action, "nina") in entries


def test_users_changes_refused_for_other_roles_audited(client, site):
    csrf = login(client, "sam")  # supervisors may read users, not change them
    assert client.get("/api/users").status_code == 200
    r = client.post("/api/users", headers=csrf, json={"name": "nina", "roles": ["manager"]})
    assert r.status_code == 403 and r.json()["error"]["es"]
    r = client.post("/api/users/oscar/roles", headers=csrf, json={"roles": ["manager"]})
    assert r.status_code == 403
    entries = audit(site)
    assert ("sam", "web", "user.add.denied", "nina") in entries
    assert ("sam", "web", "user.role.denied", "oscar") in entries


def test_a_one_time_password_is_changed_at_the_first_login(client, site):
    csrf = login(client, "ana")
    one_time = client.post("/api/users", headers=csrf, json={
        "name": "nina", "roles": ["field_operator"]}).json()["one_time_password"]
    client.post("/api/logout", headers=csrf)
    r = client.post("/api/login", json={"user": "nina", "password": one_time})
    assert r.status_code == 200 and r.json()["must_change_password"] is True
    csrf = {"X-CSRF-Token": r.json()["csrf_token"]}
    assert client.get("/overview", follow_redirects=False).headers["location"] == "/password"
    assert client.get("/password").status_code == 200
    wrong = client.post("/api/me/password", headers=csrf,
                        json={"old": "not-it", "new": "a-long-new-secret-77"})
    assert wrong.status_code == 403 and wrong.json()["error"]["es"]
    weak = client.post("/api/me/password", headers=csrf, json={"old": one_time, "new": "x"})
    assert weak.status_code == 400 and weak.json()["error"]["es"]
    ok = client.post("/api/me/password", headers=csrf,
                     json={"old": one_time, "new": "a-long-new-secret-77"})
    assert ok.status_code == 200, ok.text
    assert client.get("/overview", follow_redirects=False).status_code == 200
    r = client.post("/api/login", json={"user": "nina", "password": "a-long-new-secret-77"})
    assert r.json()["must_change_password"] is False
    entries = audit(site)
    assert ("nina", "web", "user.passwd.denied", "nina") in entries
    assert ("nina", "web", "user.passwd", "nina") in entries
