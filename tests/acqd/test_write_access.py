"""Writes carry an identity: a real acqd against the simulator, clients as real Unix users.

The kernel tells acqd who is on the other end of its socket (SO_PEERCRED).  Root and the
service user are the system; another Unix user is the gateway user of the same name, or
is refused; a trusted caller may act for a named gateway user.  Refusals are journalled
and audited, and so are the writes that go ahead (old value, new value, read-back).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

import pytest

from daemons.core.access.accounts import Accounts
from daemons.core.access.audit import AuditLog, AuditReader
from daemons.core.access.model import SYSTEM
from daemons.core.access.passwords import HashParams, Passwords
from daemons.core.access.policy import load_policy
from daemons.core.access.users import UserStore
from daemons.core.commands import request, socket_path
from daemons.core.config import load_config

pytestmark = [pytest.mark.timeout(120),
              pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as other users")]

OPERATOR = "wgtest-op"  # a Unix user with a gateway user of the same name
STRANGER = "wgtest-nogw"  # a Unix user without one
EXTRA_ROWS = ("W9.SET,gw1,hr,240,uint16,,,,rw,0,5000,W9,\n"
              "W8.SET,gw1,hr,241,uint16,,,,rw,0,5000,W8,\n")


def unix_user(name: str) -> pwd.struct_passwd:
    """The test's Unix account, created if this machine (or CI) does not have it."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        if shutil.which("useradd") is None:
            pytest.skip("useradd is not available to create a test user")
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", name], check=True, capture_output=True)
        return pwd.getpwnam(name)


def as_user(name: str, runtime_dir: Path, message: dict) -> dict:
    """One command-API round trip from a child process running as Unix user `name`."""
    account = unix_user(name)
    runtime_dir = runtime_dir.resolve()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop to the user, then talk to acqd as it would
        code = 0
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(account.pw_gid)
            os.setuid(account.pw_uid)
            reply = request(runtime_dir, message, timeout=20)
            os.write(write, json.dumps(reply).encode())
        except BaseException as exc:
            os.write(write, json.dumps({"child_error": repr(exc)}).encode())
            code = 1
        finally:
            os._exit(code)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    reply = json.loads(b"".join(chunks))
    assert "child_error" not in reply, reply
    return reply


@pytest.fixture
def site(acqd_site):
    """acqd_site with two wells in two fields, a tag on each, and gateway users."""
    text = acqd_site.config.read_text()
    text = text.replace('id = "W9"\ntype = "rod_pump"',
                        'id = "W9"\nfield = "Pad9"\ntype = "rod_pump"\n\n'
                        '[[well]]\nid = "W8"\nfield = "Other"\ntype = "flowing"')
    acqd_site.config.write_text(text)
    tagmap = acqd_site.root / "tagmaps" / "test.csv"
    tagmap.write_text(tagmap.read_text() + EXTRA_ROWS)
    cfg = load_config(acqd_site.config)
    state = cfg.paths.state_dir
    users, audit = UserStore(state), AuditLog(state)
    accounts = Accounts(users, audit, load_policy(cfg), cfg.access,
                        hasher=Passwords(HashParams(1, 1024, 1)))
    accounts.add(SYSTEM, "cli", OPERATOR, ["field_operator"], ["Pad9"],
                 password="granite-ridge-42")
    accounts.add(SYSTEM, "cli", "ct", ["contractor"], ["W9"], password="granite-ridge-42")
    users.close()
    audit.close()
    unix_user(OPERATOR)
    unix_user(STRANGER)
    # pytest's temp directories are root's alone (0700): other users could not reach the
    # socket.  The runtime directory goes where they can, as /run/wellgate is on a gateway.
    run = Path(tempfile.mkdtemp(prefix="wellgate-run-"))
    run.chmod(0o755)
    (acqd_site.root / "run").symlink_to(run)
    acqd_site.start()
    try:
        assert acqd_site.wait(lambda s: s.get("W9.SET")[2] == 0, timeout=15), acqd_site.log()
        # On a gateway the socket's group is wellgate and its users are in it; here the
        # clients are in no group, so open it up.
        os.chmod(socket_path(run), 0o666)
        yield acqd_site
    finally:
        if acqd_site.proc is not None and acqd_site.proc.poll() is None:
            acqd_site.stop()
        shutil.rmtree(run, ignore_errors=True)


def write(tag: str, value: float, **extra) -> dict:
    return {"op": "write", "tag": tag, "value": value, "reason": "access test",
            "source": "cli", **extra}


def audit_entries(site) -> list:
    reader = AuditReader(site.root / "state")
    try:
        return [e for e in reader.entries() if e.action.startswith("tag.write")]
    finally:
        reader.close()


def journal_last(site) -> tuple:
    conn = sqlite3.connect(site.root / "state" / "commands.db")
    try:
        return conn.execute("SELECT user, uid, state, error FROM commands ORDER BY id DESC"
                            " LIMIT 1").fetchone()
    finally:
        conn.close()


def gw1_writes(site) -> list:
    return [w for w in site.sim.sim.models["gw1"].writes if w[1] in (240, 241)]


def test_a_unix_user_without_a_gateway_user_is_refused_and_audited(site):
    reply = as_user(STRANGER, site.root / "run", write("W9.SET", 7))
    assert reply["ok"] is False and reply["state"] == "rejected"
    uid = pwd.getpwnam(STRANGER).pw_uid
    assert reply["error"]["en"] == f"Unix user '{STRANGER}' (uid {uid}) has no gateway user"
    assert gw1_writes(site) == []  # nothing reached the device
    assert journal_last(site) == (STRANGER, uid, "rejected", reply["error"]["en"])
    last = audit_entries(site)[-1]
    assert (last.actor, last.source, last.action, last.object) == (
        STRANGER, "cli", "tag.write.denied", "W9.SET")
    details = last.details_dict()
    assert details["unix_user"] == STRANGER and details["well"] == "W9"
    assert details["module"] == "lift" and details["value"] == 7


def test_a_gateway_user_writes_in_scope_and_is_refused_outside(site):
    ok = as_user(OPERATOR, site.root / "run", write("W9.SET", 21))
    assert ok["ok"] is True and ok["readback"] == 21, ok
    assert ("hr", 240, [21]) in gw1_writes(site)
    done = audit_entries(site)[-1]
    assert (done.actor, done.action) == (OPERATOR, "tag.write")
    d = done.details_dict()
    assert (d["old"], d["value"], d["readback"], d["state"]) == (1240, 21, 21, "confirmed")
    assert d["reason"] == "access test"

    refused = as_user(OPERATOR, site.root / "run", write("W8.SET", 5))
    assert refused["ok"] is False
    assert refused["error"]["en"] == f"well W8 is outside {OPERATOR}'s scope"
    assert ("hr", 241, [5]) not in gw1_writes(site)
    assert audit_entries(site)[-1].action == "tag.write.denied"
    # A site tag (no well) is gateway-wide: a scoped user may not write it.
    wide = as_user(OPERATOR, site.root / "run", write("G.SET", 5))
    assert wide["ok"] is False and "limited to some wells" in wide["error"]["en"]


def test_only_the_system_may_act_for_someone_else(site):
    spoof = as_user(OPERATOR, site.root / "run", write("W9.SET", 3, user="admin"))
    assert spoof["ok"] is False and "may not act for 'admin'" in spoof["error"]["en"]
    # Root (or the service user) forwarding for an authenticated user: that user's rights.
    run = site.root / "run"
    contractor = request(run, write("W9.SET", 3, user="ct", source="webd"))
    assert contractor["ok"] is False
    assert contractor["error"]["en"] == "no role of ct may write artificial lift"
    ghost = request(run, write("W9.SET", 3, user="ghost", source="webd"))
    assert ghost["ok"] is False and "'ghost' is not a gateway user" in ghost["error"]["en"]
    delegated = request(run, write("W9.SET", 4, user=OPERATOR, source="webd"))
    assert delegated["ok"] is True, delegated
    last = audit_entries(site)[-1]
    assert (last.actor, last.source) == (OPERATOR, "web")
    assert last.details_dict()["delegated"] is True


def test_root_still_writes_as_the_system_and_the_chain_verifies(site):
    out = site.cli("write", "W8.SET", "9", "--reason", "root on the gateway")
    assert out.returncode == 0, out.stderr
    last = audit_entries(site)[-1]
    # The system, named by the account it acts through.
    assert (last.actor, last.action, last.details_dict()["state"]) == (
        "root", "tag.write", "confirmed")
    assert last.details_dict()["unix_user"] == "root"
    assert site.cli("audit", "verify").returncode == 0
    assert site.stop() == 0
    actions = [e.action for e in AuditReader(site.root / "state").entries()]
    assert actions[:2] == ["user.add", "user.add"]
    assert "service.start" in actions and actions[-1] == "service.stop"
