"""`wellgate tagmap apply|rollback` pass the same authorize as every other interface:
configuration / write.  A Unix user whose gateway user lacks it is refused (exit 1),
nothing is installed, and the refusal is in the audit chain."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

import pytest

from daemons.cli import access_common
from daemons.cli.main import main as cli_main
from daemons.core.access.audit import AuditReader
from daemons.core.config import load_config

from .conftest import Wellgate, write_gateway

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")

OPERATOR = "wgtest-op"
TAGMAP = "tag,device,unit,table,address,type\nW101.THP,plc1,1,hr,0,uint16\n"


def _unix_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        if shutil.which("useradd") is None:
            pytest.skip("useradd is not available to create a test user")
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", name], check=True, capture_output=True)
        return pwd.getpwnam(name)


@pytest.fixture
def shared_dir():
    """A gateway directory the operator can reach (pytest's tmp_path sits under a 0700
    directory of root's), removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="wellgate-access-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_tagmap_apply_needs_configuration_write(shared_dir, monkeypatch):
    account = _unix_user(OPERATOR)
    tmp_path = shared_dir
    gateway = write_gateway(tmp_path)
    wg = Wellgate(gateway)
    gateway.write_text(gateway.read_text() + '\n[[device]]\nname = "plc1"\n'
                       'protocol = "modbus-tcp"\nhost = "127.0.0.1"\n')
    assert wg("user", "add", OPERATOR, "--role", "field_operator", "--password-stdin",
              stdin="pump-jack-2026\n").returncode == 0
    new = tmp_path / "plc1.csv"
    new.write_text(TAGMAP)
    for path in [tmp_path, *tmp_path.rglob("*")]:  # the operator may read and write here
        path.chmod(0o777 if path.is_dir() else 0o666)
    # The child cannot read the interpreter's library under /root once it is the operator:
    # the same command as a dry run, here, imports everything it will need.
    assert cli_main(["--config", str(gateway), "tagmap", "apply", "--dry-run", str(new)]) == 0
    # The shipped matrix sits in the checkout, which CI may clone into a directory only
    # root can enter: the child gets the policy read here (its decision is under test).
    policy = access_common.policy_of(load_config(gateway))
    monkeypatch.setattr(access_common, "policy_of", lambda cfg: policy)
    stderr = tmp_path / "stderr.txt"
    stderr.touch()
    stderr.chmod(0o666)
    pid = os.fork()
    if pid == 0:  # as the operator (in-process: the venv's interpreter may sit in /root)
        code = 99
        try:
            os.setgroups([])
            os.setgid(account.pw_gid)
            os.setuid(account.pw_uid)
            fd = os.open(stderr, os.O_WRONLY)
            os.dup2(fd, 2)
            sys.stderr = os.fdopen(2, "w", buffering=1)
            code = cli_main(["--config", str(gateway), "--lang", "en", "tagmap", "apply",
                         str(new)])
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    message = stderr.read_text()
    assert os.waitstatus_to_exitcode(status) == 1, message  # refused: invalid input
    assert not (tmp_path / "tagmaps" / "current").exists()  # nothing installed
    reader = AuditReader(wg.state)
    try:
        denied = [e for e in reader.entries() if e.action == "tagmap.apply.denied"]
    finally:
        reader.close()
    assert [e.actor for e in denied] == [OPERATOR]
    assert "configuration" in json.loads(denied[0].details)["reason"], denied[0].details
    # Root on the gateway is the system: the same command installs the map.
    ok = wg("tagmap", "apply", str(new))
    assert ok.returncode == 0 and (tmp_path / "tagmaps" / "current").exists(), ok.stderr
