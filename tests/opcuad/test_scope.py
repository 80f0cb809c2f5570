"""ReadScope alone: which nodes a session's user may read, with a site matrix that takes
a module's read away, the user cache's lifetime, and names outside our namespace."""

from __future__ import annotations

from pathlib import Path

from asyncua import ua

from daemons.core.access.matrix import load_matrix
from daemons.core.access.model import Scope, User
from daemons.core.access.policy import Policy
from daemons.opcuad.scope import SESSION_USER, USER_TTL_S, ReadScope

NS = 2
WELLS = {"W101": "Lagunillas", "B201": "Bachaquero"}
TYPES = {"W101": "rod_pump", "B201": "flowing"}


def scope_with(users: dict[str, User], site_rows: str = "", tmp: Path | None = None
               ) -> tuple[ReadScope, list[float]]:
    matrix = None
    if site_rows:
        assert tmp is not None
        path = tmp / "site.csv"
        header = ("module,operation,field_operator,production_engineer,reservoir_engineer,"
                  "drilling_engineer,supervisor,manager,administrator,contractor\n")
        path.write_text(header + site_rows)
        matrix = load_matrix(path)
    now = [0.0]
    reads = ReadScope(NS, users.get, Policy(matrix or load_matrix(None), WELLS), WELLS, TYPES,
                      clock=lambda: now[0])
    return reads, now


def node(name: str, ns: int = NS) -> ua.NodeId:
    return ua.NodeId(name, ns)


def refused(reads: ReadScope, user: str | None, *names: str) -> list[bool]:
    token = SESSION_USER.set(user)
    try:
        return [reads.refuses(node(n)) for n in names]
    finally:
        SESSION_USER.reset(token)


def test_scope_refuses_other_wells_and_never_anonymous_or_other_namespaces():
    users = {"oscar": User("oscar", frozenset({"field_operator"}),
                           Scope(frozenset({"Lagunillas"}))),
             "ana": User("ana", frozenset({"administrator"}))}
    reads, _ = scope_with(users)
    assert refused(reads, "oscar", "W101.THP", "B201.THP", "B201.CALC.RATE", "SITE.T") == [
        False, True, True, False]  # calc tags go by their well's prefix; site tags to all
    assert refused(reads, "ana", "W101.THP", "B201.THP") == [False, False]
    assert refused(reads, None, "B201.THP") == [False]  # anonymous: read-only, everything
    token = SESSION_USER.set("oscar")
    try:
        assert not reads.refuses(node("B201.THP", ns=0))  # not one of our tags
    finally:
        SESSION_USER.reset(token)


def test_a_site_matrix_without_read_is_honoured_for_unscoped_users(tmp_path):
    users = {"carl": User("carl", frozenset({"contractor"}))}
    reads, _ = scope_with(users, "production,read,x,x,x,x,x,x,x,\n", tmp_path)
    # contractors may no longer read production tags (B201 is a flowing well: production)
    assert refused(reads, "carl", "B201.THP", "W101.THP") == [True, True]


def test_a_user_is_looked_up_again_after_the_cache_lifetime():
    users = {"oscar": User("oscar", frozenset({"field_operator"}),
                           Scope(frozenset({"Lagunillas"})))}
    reads, now = scope_with(users)
    assert refused(reads, "oscar", "B201.THP") == [True]
    users["oscar"] = User("oscar", frozenset({"field_operator"}))  # scope widened
    assert refused(reads, "oscar", "B201.THP") == [True]  # still the cached user
    now[0] += USER_TTL_S + 0.1
    assert refused(reads, "oscar", "B201.THP") == [False]
    del users["oscar"]  # removed
    now[0] += USER_TTL_S + 0.1
    assert refused(reads, "oscar", "W101.THP") == [True]
