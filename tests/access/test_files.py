"""Files root creates for the access stores stay usable by the service user, and the
pure rules of writes.py (which module a tag is, who a caller is)."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

from daemons.core.access.audit import AuditLog, AuditReader
from daemons.core.access.model import User
from daemons.core.access.users import UserStore
from daemons.core.access.writes import WriteGuard, module_of
from daemons.core.tagmap import TagDef


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_root_created_stores_belong_to_the_state_directory_owner():
    service = pwd.getpwnam("nobody")  # stands in for the wellgate account
    # Not under pytest's temp directories, which only root may enter.
    base = Path(tempfile.mkdtemp(prefix="wellgate-state-"))
    try:
        base.chmod(0o755)
        _check_sharing(base / "state", service)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _check_sharing(state: Path, service: pwd.struct_passwd) -> None:
    state.mkdir()
    os.chown(state, service.pw_uid, service.pw_gid)
    log = AuditLog(state)
    log.append("root", "cli", "user.add", "ana")
    log.close()
    UserStore(state).close()
    for name in ("audit.db", "audit.db.lock", "users.db"):
        st = (state / name).stat()
        assert (st.st_uid, st.st_gid) == (service.pw_uid, service.pw_gid), name
        assert stat.S_IMODE(st.st_mode) == 0o660, name
    pid = os.fork()
    if pid == 0:  # the service user appends to what root created
        code = 1
        try:
            os.setgroups([])
            os.setgid(service.pw_gid)
            os.setuid(service.pw_uid)
            child = AuditLog(state)
            child.append("system", "system", "service.start", "acqd")
            child.close()
            code = 0
        except BaseException as exc:
            os.write(2, f"child: {exc!r}\n".encode())
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    reader = AuditReader(state)
    assert reader.verify().count == 2
    reader.close()


def tag(name: str, well: str | None = None, role: str | None = None) -> TagDef:
    return TagDef(name=name, device="d", unit=1, table="hr", address=0, type="uint16",
                  well=well, role=role)


WELLS = {"W1": "rod_pump", "W2": "esp", "D1": "drilling", "C1": "coiled_tubing",
         "F1": "flowing"}


@pytest.mark.parametrize(("t", "module"), [
    (tag("W1.SPM", "W1", "spm"), "lift"),
    (tag("W1.X", "W1"), "lift"),
    (tag("W2.HZ", "W2", "frequency_setpoint"), "lift"),
    (tag("W2.THP", "W2", "thp"), "production"),
    (tag("W1.ANN", "W1", "annulus_b_pressure"), "integrity"),
    (tag("W1.HV", "W1", "header_valve_test"), "well_test"),
    (tag("D1.WOB", "D1", "wob"), "drilling"),
    (tag("D1.THP", "D1", "thp"), "drilling"),
    (tag("C1.SPD", "C1", "ct_speed"), "coiled_tubing"),
    (tag("F1.CHOKE", "F1", "choke_position"), "production"),
    (tag("TS.P", None, "test_pressure"), "well_test"),
    (tag("HDR.P", None, "header_pressure"), "production"),
    (tag("X", None), "production"),
])
def test_module_of_a_tag(t, module):
    assert module_of(t, WELLS) == module


class FakeGuard(WriteGuard):
    def __init__(self, users: dict[str, User]) -> None:
        self.users = users
        self.trusted = frozenset({0, 500})

    def lookup(self, name: str) -> User | None:
        return self.users.get(name)


def test_identify_callers():
    ana = User("ana", frozenset({"field_operator"}))
    g = FakeGuard({"ana": ana})
    assert g.identify(0, None).user.system
    assert g.identify(500, "").user.system
    assert g.identify(500, "ana").user is ana and g.identify(500, "ana").delegated
    assert g.identify(500, "ghost").user is None
    assert g.identify(None, None).user is None
    # 65534 is nobody; a user without a gateway account, or speaking for another, is refused
    assert g.identify(65534, None).user is None
    assert "may not act for" in g.identify(65534, "ana").en
