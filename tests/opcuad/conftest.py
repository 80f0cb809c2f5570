"""opcuad's tests: a small gateway (two wells), users, a ring and history written with the
core writers, a fake acqd socket speaking its protocol, and opcuad itself as a process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from asyncua.crypto import cert_gen
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from daemons.core.access.accounts import Accounts
from daemons.core.access.audit import AuditLog
from daemons.core.access.model import system_user
from daemons.core.access.policy import load_policy
from daemons.core.access.users import UserStore
from daemons.core.config import GatewayConfig, load_config
from daemons.core.history.writer import HistoryWriter
from daemons.core.quality import Quality
from daemons.core.ring import RingWriter, SlotSpec
from daemons.core.tagmap import store
from tests import site_toml
from tests.fake_daemon import FakeDaemon

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-42"
SITE = "opc test pad"
TS = 1_764_000_000_000_000_000
TAGMAP = """\
tag,device,table,address,type,scale,scan,units,access,min,max,well,role,description
W101.THP,rtu1,hr,0,uint16,0.1,,psi,,0,5000,W101,,tubing head pressure
W101.SPM_SET,rtu1,hr,1,uint16,0.1,,spm,rw,0,20,W101,,stroke rate set point
B201.THP,rtu1,hr,2,uint16,,,psi,,,,B201,,
B201.CHOKE_SET,rtu1,hr,3,uint16,,,1/64 in,rw,0,128,B201,,
SITE.FLARE_T,rtu1,hr,4,int16,,,degF,,,,,,flare temperature
W101.CARD_LOAD,rtu1,hr,10,float32[4],,,lbf,,,,W101,,
"""
USERS = {"ana": (["administrator"], []), "oscar": (["field_operator"], ["Lagunillas"]),
         "rita": (["reservoir_engineer"], [])}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gateway_toml(port: int, extra: str = "") -> str:
    opcua = (f'[opcua]\nbind = "127.0.0.1"\nport = {port}\npoll_ms = 100\n'
             f"history_max_values = 100\n{extra}")
    return site_toml.gateway_toml(SITE, opcua, "[service.opcuad]\nmetrics_port = 0\n",
                                  site_toml.TWO_WELLS, site_toml.DEVICE, site_toml.access())


def make_client_cert(root: Path, name: str) -> tuple[Path, Path]:
    key = cert_gen.generate_private_key()
    cert = cert_gen.generate_self_signed_app_certificate(
        key, name, {}, [cert_gen.x509.UniformResourceIdentifier(f"urn:test:{name}")],
        [ExtendedKeyUsageOID.CLIENT_AUTH], days=30)
    cert_path, key_path = root / f"{name}.der", root / f"{name}.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    key_path.write_bytes(cert_gen.dump_private_key_as_pem(key))
    return cert_path, key_path


class FakeAcqd(FakeDaemon):
    """acqd's command socket: answers writes 'confirmed' (or what `answer` says)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, lambda msg: {"ok": True, "id": 1, "state": "confirmed",
                                            "readback": msg["value"]})


class Site:
    def __init__(self, root: Path, extra: str = "") -> None:
        self.root = root
        self.port = free_port()
        (root / "gateway.toml").write_text(gateway_toml(self.port, extra))
        self.cfg: GatewayConfig = load_config(root / "gateway.toml")
        (root / "maps").mkdir()
        (root / "maps" / "site.csv").write_text(TAGMAP)
        store.apply(self.cfg.paths.tagmap_dir, {"site.csv": root / "maps" / "site.csv"}, "test")
        users = UserStore(self.cfg.paths.state_dir)
        audit = AuditLog(self.cfg.paths.state_dir)
        accounts = Accounts(users, audit, load_policy(self.cfg), self.cfg.access)
        for name, (roles, scope) in USERS.items():
            accounts.add(system_user("root"), "cli", name, roles, scope, PASSWORD)
        users.close()
        audit.close()
        self.cfg.paths.runtime_dir.mkdir(parents=True, exist_ok=True)
        slots = [SlotSpec("W101.THP", 0, "psi"), SlotSpec("W101.SPM_SET", 0, "spm"),
                 SlotSpec("B201.THP", 0, "psi"), SlotSpec("B201.CHOKE_SET", 0, "1/64 in"),
                 SlotSpec("SITE.FLARE_T", 0, "degF"), SlotSpec("W101.CARD_LOAD", 4, "lbf"),
                 SlotSpec("_sys.rtu1.status", 0, "")]
        self.ring = RingWriter.create(self.cfg.paths.runtime_dir / "acq.ring", slots,
                                      tagmap_version=1)
        self.write(812.5)
        self.ring.write_array(5, np.array([1.0, 2.0, 3.0, 4.0]), TS, int(Quality.GOOD))
        writer = HistoryWriter(self.cfg.paths.state_dir / "history.db")
        ids = writer.ensure_series([("W101.THP", "float", 1.0, 0.0, "psi")])
        ts = TS + np.arange(600, dtype=np.int64) * 1_000_000_000
        writer.append(np.full(600, ids[0]), ts, np.linspace(100.0, 699.0, 600),
                      np.full(600, int(Quality.GOOD), np.uint32))
        writer.flush(fold_all=True)
        writer.close()
        self.certs = root / "client-certs"
        self.certs.mkdir()
        self.client_cert, self.client_key = make_client_cert(self.certs, "trusted-client")
        self.pki = self.cfg.paths.state_dir / "opcua-pki"
        (self.pki / "trusted").mkdir(parents=True)
        (self.pki / "trusted" / "trusted-client.der").write_bytes(self.client_cert.read_bytes())
        self.acqd = FakeAcqd(self.cfg.paths.runtime_dir / "acqd.sock")
        self.proc: subprocess.Popen | None = None
        self.url = f"opc.tcp://127.0.0.1:{self.port}/wellgate"

    def write(self, thp: float, quality: int = int(Quality.GOOD), ts: int | None = None) -> None:
        ts = ts or time.time_ns()
        self.ring.write_batch(np.array([0, 1, 2, 3, 4, 6]),
                              np.array([thp, 7.5, 300.0, 32.0, -5.0, 1.0]), ts,
                              np.array([quality, 0, 0, 0, int(Quality.BAD_NO_COMMUNICATION), 0],
                                       dtype=np.uint32))

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.log = open(self.root / "opcuad.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([sys.executable, "-m", "daemons.opcuad", "--config",
                                      str(self.root / "gateway.toml")], env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail("opcuad exited:\n" + self.logtext())
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        pytest.fail("opcuad did not listen:\n" + self.logtext())

    def logtext(self) -> str:
        return (self.root / "opcuad.log").read_text(errors="replace")

    def stop(self) -> int | None:
        code = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            code = self.proc.wait(15)
        self.acqd.close()
        self.ring.close()
        return code


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One opcuad for a test module (starting one costs about a second)."""
    s = Site(tmp_path_factory.mktemp("opcuad"), "allow_none = true\n")
    s.start()
    yield s
    s.stop()


async def connect(site: Site, user: str | None = "ana", password: str = PASSWORD,
                  cert: tuple[Path, Path] | None = None, policy: str = "Basic256Sha256",
                  mode: str = "SignAndEncrypt") -> Any:
    """A connected asyncua client (policy "None": no security)."""
    from asyncua import Client

    client = Client(site.url, timeout=10)
    if user is not None:
        client.set_user(user)
        client.set_password(password)
    if policy != "None":
        cert_path, key_path = cert or (site.client_cert, site.client_key)
        client.application_uri = f"urn:test:{cert_path.stem}"
        await client.set_security_string(f"{policy},{mode},{cert_path},{key_path}")
    await client.connect()
    return client
