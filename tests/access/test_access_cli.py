"""`wellgate user …` and `wellgate audit …` as a technician runs them (real processes),
and the [access] configuration section."""

from __future__ import annotations

import json
import os
import pwd
import sqlite3
from pathlib import Path

import pytest

from daemons.core.access.audit import AuditLog
from daemons.core.config import loads_config
from daemons.core.problems import ValidationError

MINIMAL = '[gateway]\nsite = "s"\n'
GOOD = "granite-ridge-42\n"


def test_user_commands_end_to_end(wg):
    out = wg("user", "add", "boss", "--role", "administrator")
    assert out.returncode == 0, out.stderr
    assert "one-time password (shown once" in out.stdout
    secret = out.stdout.split(": ")[-1].strip()
    assert len(secret) == 20
    out = wg("user", "add", "ana", "--role", "field_operator", "--scope", "Lagunillas/W101",
             "--scope", "Bachaquero", "--password-stdin", stdin=GOOD)
    assert out.returncode == 0 and "one-time" not in out.stdout, out.stderr
    assert wg("user", "role", "ana", "field_operator", "supervisor").returncode == 0
    assert wg("user", "disable", "ana").returncode == 0
    listing = json.loads(wg("user", "list", "--json").stdout)
    ana = next(u for u in listing if u["name"] == "ana")
    assert ana["roles"] == ["field_operator", "supervisor"] and ana["enabled"] is False
    assert ana["scope"] == ["Bachaquero", "Lagunillas/W101"]
    table = wg("user", "list").stdout
    assert "boss" in table and "administrator" in table and "(all)" in table
    key = wg("user", "apikey", "ana").stdout.strip().splitlines()[-1]
    assert key.startswith("wg_")
    # Neither secret is stored or logged anywhere in clear.
    blob = b"".join(p.read_bytes() for p in wg.state.iterdir())
    assert secret.encode() not in blob and key.encode() not in blob
    assert GOOD.strip().encode() not in blob
    actions = [e["action"] for e in json.loads(wg("audit", "list", "--json").stdout)]
    assert actions == ["user.add", "user.add", "user.role", "user.disable", "user.apikey"]


@pytest.mark.parametrize(("args", "stdin", "code", "message"), [
    (("user", "add", "bob", "--role", "pilot"), None, 1, "unknown role 'pilot'"),
    (("user", "add", "bob", "--role", "manager", "--scope", "W999"), None, 1,
     "scope 'W999' is neither a field nor a well"),
    (("user", "add", "bob", "--role", "manager", "--password-stdin"), "bob12345678\n", 1,
     "must not contain the user name"),
    (("user", "add", "bob"), None, 2, "--role"),
    (("user", "scope", "bob"), None, 2, "give FIELD or FIELD/WELL items, or --all"),
    (("user", "passwd", "nobody"), None, 1, "no user 'nobody'"),
    (("audit", "verify", "--head", "nonsense"), None, 2, "neither SEQ:HASH nor a file"),
])
def test_user_mistakes_exit_codes(wg, args, stdin, code, message):
    wg("user", "add", "seed", "--role", "manager")  # so the audit log exists
    out = wg(*args, stdin=stdin)
    assert out.returncode == code, out.stdout + out.stderr
    assert message in out.stderr


def test_messages_in_spanish(wg):
    out = wg("user", "add", "bob", "--role", "piloto", lang="es")
    assert out.returncode == 1 and "rol desconocido 'piloto'" in out.stderr
    assert "usuario 'x' creado" in wg("user", "add", "x", "--role", "manager", lang="es").stdout


def test_audit_verify_head_and_list(wg):
    for name in ("ana", "bob", "carla"):
        wg("user", "add", name, "--role", "manager")
    ok = wg("audit", "verify")
    assert ok.returncode == 0 and ok.stdout.startswith("audit chain OK: 3 entries, head 3:")
    head = wg("audit", "head")
    seq_hash = head.stdout.split()[0]
    assert seq_hash.startswith("3:") and len(seq_hash) == 66
    exported = wg.config.parent / "head.txt"
    exported.write_text(head.stdout)
    jhead = json.loads(wg("audit", "head", "--json").stdout)
    assert f"{jhead['seq']}:{jhead['hash']}" == seq_hash
    assert "matches" in wg("audit", "verify", "--head", str(exported)).stdout
    listing = wg("audit", "list", "--since", "1h", "--actor", "root").stdout
    assert listing.count("user.add") == 3 and "carla" in listing
    assert wg("audit", "list", "--since", "2999-01-01").stdout.strip() == "no entries"
    # Edit entry 2 behind the log's back.
    conn = sqlite3.connect(wg.state / "audit.db")
    conn.execute("DROP TRIGGER audit_append_only")
    conn.execute("UPDATE audit SET object = 'mallory' WHERE seq = 2")
    conn.commit()
    conn.close()
    bad = wg("audit", "verify")
    assert bad.returncode == 1
    assert "audit chain BROKEN at entry 2 (edited)" in bad.stdout
    assert "ROTA en la entrada 2" in wg("audit", "verify", lang="es").stdout


def test_a_cut_tail_is_caught_with_the_exported_head(wg):
    for name in ("ana", "bob", "carla", "dario"):
        wg("user", "add", name, "--role", "manager")
    head = wg("audit", "head").stdout.split()[0]
    conn = sqlite3.connect(wg.state / "audit.db")
    conn.execute("DROP TRIGGER audit_no_delete")
    conn.execute("DELETE FROM audit WHERE seq > 2")
    conn.commit()
    conn.close()
    assert wg("audit", "verify").returncode == 0
    out = wg("audit", "verify", "--head", head)
    assert out.returncode == 1 and "entries 3–4 were removed" in out.stdout


def test_audit_prune_keeps_a_verifiable_chain(wg):
    log = AuditLog(wg.state, clock=lambda: 1_000_000_000_000_000_000)  # in 2001
    for i in range(5):
        log.append("system", "system", "service.start", "acqd", {"i": i})
    log.close()
    wg("user", "add", "ana", "--role", "manager")
    out = wg("audit", "prune", "--months", "24")
    assert out.returncode == 0 and out.stdout.startswith("5 entries older than 24 months")
    ok = wg("audit", "verify")
    assert ok.returncode == 0 and "kept since entry 6" in ok.stdout, ok.stdout
    assert wg("audit", "prune", "--months", "0").returncode == 2


def test_no_audit_log_yet(wg):
    out = wg("audit", "verify")
    assert out.returncode == 1 and "no audit log yet" in out.stderr


def test_a_user_without_rights_is_refused_by_the_cli(wg, tmp_path):
    """A non-root Unix user acting through the CLI passes the same authorize."""
    if os.geteuid() != 0:
        pytest.skip("needs root to act as another user")
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no 'nobody' user")
    wg("user", "add", "seed", "--role", "manager")
    from daemons.cli.access_common import invoker
    from daemons.cli.common import CommandError
    from daemons.core.access.users import UserStore

    store = UserStore(wg.state)
    pid = os.fork()
    if pid == 0:  # as nobody, who has no gateway user
        code = 3
        try:
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            invoker(store)
        except CommandError as exc:
            code = 0 if "'nobody' has no gateway user" in exc.en else 4
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    store.close()
    assert os.waitstatus_to_exitcode(status) == 0


def test_config_access_section():
    cfg = loads_config(MINIMAL + '[access]\npassword_min_length = 14\nlockout_failures = 3\n'
                       'lockout_minutes = 30\naudit_retention_months = 36\n'
                       'permissions = "site.csv"\n', "/etc/wg/gw.toml")
    a = cfg.access
    assert (a.password_min_length, a.lockout_failures, a.lockout_minutes,
            a.audit_retention_months) == (14, 3, 30.0, 36)
    assert a.permissions == Path("/etc/wg/site.csv")
    defaults = loads_config(MINIMAL, "gw.toml").access
    assert (defaults.password_min_length, defaults.lockout_failures, defaults.lockout_minutes,
            defaults.audit_retention_months, defaults.permissions) == (12, 5, 15.0, 24, None)


@pytest.mark.parametrize(("text", "expected"), [
    ("[access]\npasword_min_length = 10\n", "gw.toml:4:1: unknown key 'pasword_min_length' "
     "in access"),
    ("[access]\npassword_min_length = 4\n", "gw.toml:4:1: 'password_min_length' = 4 is below "
     "the minimum 8"),
    ("[access]\nlockout_minutes = \"15\"\n", "'lockout_minutes' must be a number"),
    ("[access]\naudit_retention_months = -1\n", "below the minimum 0"),
])
def test_config_access_mistakes(text, expected):
    with pytest.raises(ValidationError) as info:
        loads_config(MINIMAL + text, "gw.toml")
    assert any(expected in p.render("en") for p in info.value.problems), info.value


def test_config_validate_reports_the_site_permission_file(wg):
    site = wg.config.parent / "site.csv"
    site.write_text("module,operation,field_operator,production_engineer,reservoir_engineer,"
                    "drilling_engineer,supervisor,manager,administrator,contractor\n"
                    "lift,wirte,x,,,,,,,\n")
    wg.config.write_text(wg.config.read_text() + 'permissions = "site.csv"\n')
    out = wg("config", "validate")
    assert out.returncode == 1
    assert f"{site}:2:2: unknown operation 'wirte' (did you mean 'write'?)" in out.stdout


def test_tag_map_changes_are_audited(tmp_path):
    from daemons.core.access.audit import AuditReader

    from .conftest import Wellgate, write_gateway

    wg = Wellgate(write_gateway(tmp_path, '[[device]]\nname = "plc1"\nprotocol = "modbus-tcp"'
                                          '\nhost = "127.0.0.1"\nport = 1502\nunit = 1\n'))
    (tmp_path / "pad.csv").write_text("tag,device,table,address,type,well\n"
                                      "W101.THP,plc1,hr,0,uint16,W101\n")
    out = wg("tagmap", "apply", str(tmp_path / "pad.csv"), "--note", "new THP")
    assert out.returncode == 0, out.stderr
    (tmp_path / "pad.csv").write_text("tag,device,table,address,type,well\n"
                                      "W101.THP,plc1,hr,1,uint16,W101\n")
    assert wg("tagmap", "apply", str(tmp_path / "pad.csv")).returncode == 0
    assert wg("tagmap", "rollback").returncode == 0
    reader = AuditReader(wg.state)
    entries = reader.entries()
    reader.close()
    me = pwd.getpwuid(os.getuid()).pw_name
    assert [(e.actor, e.action, e.object) for e in entries] == [
        (me, "tagmap.apply", "version 1"), (me, "tagmap.apply", "version 2"),
        (me, "tagmap.rollback", "version 3")]
    assert entries[0].details_dict()["note"] == "new THP"
    assert entries[0].details_dict()["files"] == ["pad.csv"]
