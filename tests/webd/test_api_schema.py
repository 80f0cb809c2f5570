"""Every operation of webd's OpenAPI schema, enumerated at test time (an endpoint added
later is covered without touching this file): 401 without a caller, 403 for the role or
scope that `REFUSALS` names (an operation missing from the table fails, saying so),
and 4xx with a message for malformed bodies and parameters."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from .conftest import FakeDaemon, login
from .test_actions import alarmd_answer

pytestmark = pytest.mark.timeout(60)


@dataclass(frozen=True)
class Refused:
    """`user` is refused (403) at `path`; `allowed` is not (so the 403 is about the role
    or scope, not a broken endpoint)."""

    path: str
    user: str
    allowed: str
    why: str
    body: dict[str, Any] | None = None


@dataclass(frozen=True)
class NoRoleNeeded:
    """Any authenticated caller may use it: there is no role to refuse."""

    path: str
    why: str
    body: dict[str, Any] | None = field(default=None)


@dataclass(frozen=True)
class Public:
    why: str


WRITE = {"tag": "W101.SPM_SET", "value": 8.0, "reason": "test"}
# Users (tests/webd/conftest.py): oscar field operator and eva production engineer, both
# Lagunillas (W101) only; rita reservoir engineer; carl contractor, whom this site's
# matrix gives no production or alarms read; sam supervisor; ana administrator.
REFUSALS: dict[tuple[str, str], Refused | NoRoleNeeded | Public] = {
    ("POST", "/api/login"): Public("logging in is how a caller gets a session"),
    ("POST", "/api/logout"): NoRoleNeeded("/api/logout", "ending one's own session"),
    ("GET", "/api/me"): NoRoleNeeded("/api/me", "who am I"),
    ("GET", "/api/tags"): Refused("/api/tags", "carl", "oscar", "no production read"),
    ("GET", "/api/history/{tag}"): Refused("/api/history/B201.THP", "oscar", "sam",
                                           "B201 is out of oscar's scope"),
    ("GET", "/api/wells"): Refused("/api/wells", "carl", "oscar", "no production read"),
    ("GET", "/api/wells/{well}"): Refused("/api/wells/B201", "oscar", "sam",
                                          "B201 is out of oscar's scope"),
    ("GET", "/api/alarms"): Refused("/api/alarms", "carl", "oscar", "no alarms read"),
    ("POST", "/api/alarms/{alarm_id}/ack"): Refused(
        "/api/alarms/B201.THP:hi/ack", "eva", "sam", "B201 is out of eva's scope",
        {"comment": "seen"}),
    ("POST", "/api/alarms/{alarm_id}/shelve"): Refused(
        "/api/alarms/W101.THP:hi/shelve", "eva", "sam", "shelving needs alarms/approve",
        {"seconds": 60, "comment": "sensor swap"}),
    ("POST", "/api/write"): Refused("/api/write", "rita", "eva",
                                    "a reservoir engineer does not write lift tags", WRITE),
    ("GET", "/api/events"): Refused("/api/events", "carl", "oscar", "no production read"),
    ("GET", "/api/status"): Refused("/api/status", "oscar", "ana", "system read"),
    # The pages' endpoints (branch webui, daemons/webd/hmi_routes.py):
    ("GET", "/api/overview"): Refused("/api/overview", "carl", "oscar",
                                      "no production read"),
    ("GET", "/api/tags/writable"): Refused("/api/tags/writable", "carl", "eva",
                                           "no production read"),
    ("GET", "/api/system"): Refused("/api/system", "oscar", "ana", "system read"),
    ("GET", "/api/alarms/journal"): Refused("/api/alarms/journal", "carl", "oscar",
                                            "no alarms read"),
    ("POST", "/api/me/language"): NoRoleNeeded("/api/me/language",
                                               "one's own page language"),
    ("POST", "/api/me/password"): NoRoleNeeded("/api/me/password", "one's own password"),
    ("GET", "/api/users"): Refused("/api/users", "oscar", "ana", "users read"),
    ("POST", "/api/users"): Refused(
        "/api/users", "oscar", "ana", "users write",
        {"name": "newbie", "roles": ["field_operator"], "scope": ["Lagunillas"]}),
    ("POST", "/api/users/{name}/enabled"): Refused(
        "/api/users/carl/enabled", "oscar", "ana", "users write", {"enabled": True}),
    ("POST", "/api/users/{name}/roles"): Refused(
        "/api/users/carl/roles", "oscar", "ana", "users write", {"roles": ["contractor"]}),
    # The per-type well views (branch wellviews):
    ("GET", "/api/wells/{well}/view"): Refused("/api/wells/B201/view", "oscar", "sam",
                                               "B201 is out of oscar's scope"),
}
# Rows for operations that are not (yet) in this tree's schema are allowed: branches are
# merged one by one, and the table is written for all of them.
METHODS = ("get", "post", "put", "patch", "delete")


def operations(client) -> list[tuple[str, str, dict[str, Any]]]:
    schema = client.get("/schema/openapi.json").json()
    return [(method.upper(), path, op) for path, item in schema["paths"].items()
            for method, op in item.items() if method in METHODS]


def concrete(method: str, path: str) -> str:
    """A request path for the operation: the table's example, else parameters as 'x'."""
    case = REFUSALS.get((method, path))
    if isinstance(case, Refused | NoRoleNeeded):
        return case.path
    return re.sub(r"\{[^}]+\}", "x", path)


@pytest.fixture
def owners(site):
    """acqd and alarmd as fakes speaking their protocol, so allowed calls get answers."""
    acqd = FakeDaemon(site.cfg.paths.runtime_dir / "acqd.sock",
                      lambda m: {"ok": True, "id": 1, "state": "confirmed",
                                 "readback": m["value"]})
    alarmd = FakeDaemon(site.cfg.paths.runtime_dir / "alarmd.sock", alarmd_answer)
    yield
    acqd.close()
    alarmd.close()


def call(client, method: str, path: str, body: Any = None, headers: dict | None = None):
    r = client.request(method, path, json=body, headers=headers or {})
    return r.status_code, r.content


def test_every_operation_is_in_the_refusal_table(client):
    missing = [f"{m} {p}" for m, p, _ in operations(client) if (m, p) not in REFUSALS]
    assert not missing, (
        "operations in the OpenAPI schema without a row in REFUSALS "
        f"(tests/webd/test_api_schema.py): {missing} — add which user is refused (403) "
        "and which is allowed, or NoRoleNeeded/Public with the reason")


def test_every_operation_is_401_without_a_caller(client):
    ops = operations(client)
    assert len(ops) >= 13
    for method, path, _ in ops:
        if isinstance(REFUSALS.get((method, path)), Public):
            continue
        url = concrete(method, path)
        for headers in ({}, {"Authorization": "Bearer wg_not-a-key"},
                        {"Cookie": "wg_session=forged"}):
            status, body = call(client, method, url, {}, headers)
            assert status == 401, f"{method} {url} with {headers}: {status} {body[:200]!r}"
            assert b'"es"' in body, f"{method} {url}: no message in both languages"


def test_every_operation_is_403_for_the_wrong_role_or_scope(client, owners):
    checked = 0
    for method, path, _ in operations(client):
        case = REFUSALS.get((method, path))
        if not isinstance(case, Refused):
            continue
        csrf = login(client, case.user)
        status, body = call(client, method, case.path, case.body, csrf)
        assert status == 403, f"{method} {case.path} as {case.user} ({case.why}): {status} " \
                              f"{body[:200]!r}"
        assert b'"es"' in body
        checked += 1
        if path == "/api/events":
            continue  # an allowed stream never ends here; test_live.py reads one for real
        csrf = login(client, case.allowed)
        status, body = call(client, method, case.path, case.body, csrf)
        assert status < 400, f"{method} {case.path} as {case.allowed}: {status} {body[:200]!r}"
    assert checked >= 10


def wrong_value(schema: dict[str, Any], components: dict[str, Any]) -> Any:
    """A JSON value of the wrong type for `schema`."""
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    kinds = {schema.get("type")} | {s.get("type") for s in schema.get("oneOf", [])
                                    + schema.get("anyOf", [])}
    return [1] if kinds & {"string", "number", "integer"} else "not-this"


def body_schema(op: dict[str, Any], components: dict[str, Any]) -> dict[str, Any] | None:
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return None
    schema = content["schema"]
    for alt in schema.get("oneOf", []) + schema.get("anyOf", []):
        if "$ref" in alt:
            schema = alt
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def test_malformed_bodies_and_parameters_are_4xx_with_a_message(client, owners):
    schema = client.get("/schema/openapi.json").json()
    components = schema.get("components", {}).get("schemas", {})
    csrf = login(client, "ana")
    bad_requests = 0
    for method, path, op in operations(client):
        url = concrete(method, path)
        cases: list[tuple[str, dict[str, Any]]] = []
        body = body_schema(op, components)
        if body is not None:
            props = body.get("properties", {})
            cases += [("not json", {"content": b"{not json"}),
                      ("a list", {"content": b"[1, 2]"})]
            if props:
                cases.append(("every field of the wrong type", {"json": {
                    k: wrong_value(v, components) for k, v in props.items()}}))
        for p in op.get("parameters", []):
            if p["in"] == "query" and p.get("schema", {}).get("type") == "integer":
                cases.append((f"{p['name']} not a number",
                              {"params": {p["name"]: "not-a-number"}}))
        for what, kwargs in cases:
            headers = {**csrf, "Content-Type": "application/json"}
            r = client.request(method, url, headers=headers, **kwargs)
            assert 400 <= r.status_code < 500, f"{method} {url} with {what}: {r.status_code} " \
                                               f"{r.text[:300]}"
            assert r.json().get("detail"), f"{method} {url} with {what}: no message: {r.text}"
            bad_requests += 1
            csrf = login(client, "ana") if path == "/api/logout" else csrf
    assert bad_requests >= 12


@pytest.mark.parametrize("params", [{"start": "inf"}, {"end": "1e30"}, {"start": "nan"},
                                    {"start": "0001-01-01"}, {"start": "-5", "end": "10"},
                                    {"end": "9999-12-31T23:59:59"}])
def test_history_times_out_of_range_are_400_with_a_message(client, params):
    login(client, "sam")
    r = client.get("/api/history/W101.THP", params=params)
    assert r.status_code == 400, r.text
    assert r.json()["detail"] and r.json().get("error", {"es": "-"})["es"]
