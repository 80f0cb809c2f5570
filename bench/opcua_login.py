"""opcuad: how long an OPC-UA username login stops the server's event loop.

Everything opcuad serves (publishing to every subscription, reads, history) waits while
its event loop is busy.  asyncua checks a login's password synchronously, so the argon2id
check (the gateway's parameters, daemons/core/access/passwords.py) ran on the loop; opcuad
now checks it on a thread of its own (daemons/opcuad/logins.py).

An asyncua server in this process with opcuad's user manager over a scratch user store,
Basic256Sha256 SignAndEncrypt (the password RSA-encrypted, as SCADA clients send it), and
a ticker task that sleeps 10 ms at a time and records how late it wakes: the loop's
stall.  N logins (half right, half wrong passwords) are made one after another by an
asyncua client in a subprocess, first with asyncua's own handling (the baseline), then
with opcuad's off-loop check installed.  Printed: the worst and median stall during the
logins, and the login time seen by the client.

    .venv/bin/python bench/opcua_login.py [--logins 10]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from asyncua import Client, Server, ua  # noqa: E402
from asyncua.crypto import cert_gen  # noqa: E402
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID  # noqa: E402

from daemons.core.access.accounts import Accounts  # noqa: E402
from daemons.core.access.audit import AuditLog  # noqa: E402
from daemons.core.access.matrix import load_matrix  # noqa: E402
from daemons.core.access.model import system_user  # noqa: E402
from daemons.core.access.policy import Policy  # noqa: E402
from daemons.core.access.users import UserStore  # noqa: E402
from daemons.core.config.model import AccessSection  # noqa: E402
from daemons.core.service import get_logger  # noqa: E402
from daemons.opcuad.logins import OffLoopPasswords, check_passwords_off_loop  # noqa: E402
from daemons.opcuad.security import GatewayUsers, track_channel_mode  # noqa: E402
from daemons.opcuad.writes import Ruleset  # noqa: E402

PASSWORD = "correct-horse-42"
TICK_S = 0.010


def certificate(root: Path, name: str) -> tuple[Path, Path]:
    key = cert_gen.generate_private_key()
    cert = cert_gen.generate_self_signed_app_certificate(
        key, name, {}, [cert_gen.x509.UniformResourceIdentifier(f"urn:bench:{name}")],
        [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH], days=30)
    cert_path, key_path = root / f"{name}.der", root / f"{name}.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    key_path.write_bytes(cert_gen.dump_private_key_as_pem(key))
    return cert_path, key_path


async def ticker(lateness: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        t0 = time.perf_counter()
        await asyncio.sleep(TICK_S)
        lateness.append(time.perf_counter() - t0 - TICK_S)


async def logins(url: str, cert: tuple[Path, Path], n: int) -> list[float]:
    """n logins, alternately wrong and right, each timed from connect to its answer."""
    times = []
    for i in range(n):
        client = Client(url, timeout=30)
        await client.set_security(SecurityPolicyBasic256Sha256, str(cert[0]), str(cert[1]),
                                  mode=ua.MessageSecurityMode.SignAndEncrypt)
        client.set_user("oscar")
        client.set_password(PASSWORD if i % 2 else f"wrong-{i:04d}-password")
        t0 = time.perf_counter()
        try:
            await client.connect()
            await client.disconnect()
        except ua.UaStatusCodeError:
            pass
        times.append(time.perf_counter() - t0)
    return times


def client_main(url: str, cert: str, key: str, n: int) -> None:
    times = asyncio.run(logins(url, (Path(cert), Path(key)), n))
    print(" ".join(f"{t:.4f}" for t in times))


async def phase(work: Path, off_loop: bool, n: int) -> tuple[list[float], list[float]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"opc.tcp://127.0.0.1:{port}/bench"
    state = work / ("off" if off_loop else "on")
    state.mkdir()
    passwords = OffLoopPasswords()
    accounts = Accounts(UserStore(state), AuditLog(state), Policy(load_matrix(None), {}),
                        AccessSection(lockout_failures=10_000), hasher=passwords)
    accounts.add(system_user("root"), "cli", "oscar", ["field_operator"], [], PASSWORD)
    track_channel_mode()
    if off_loop:
        check_passwords_off_loop()
    server = Server(user_manager=GatewayUsers(accounts, False, get_logger("bench")))
    await server.init()
    server.set_endpoint(url)
    cert = certificate(work, "server")
    await server.load_certificate(str(cert[0]))
    await server.load_private_key(str(cert[1]))
    server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt],
                               permission_ruleset=Ruleset(read_only=False))
    server.set_identity_tokens([ua.UserNameIdentityToken])
    await server.start()
    client_cert = certificate(work, "client")
    lateness: list[float] = []
    stop = asyncio.Event()
    tick = asyncio.ensure_future(ticker(lateness, stop))
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--client", url, str(client_cert[0]),
            str(client_cert[1]), str(n), stdout=asyncio.subprocess.PIPE)
        out, _ = await proc.communicate()
        times = [float(x) for x in out.split()]
    finally:
        stop.set()
        await tick
        await server.stop()
        passwords.close()
    return lateness, times


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        client_main(*sys.argv[2:5], int(sys.argv[5]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=10)
    args = parser.parse_args()
    logging.getLogger("asyncua").setLevel(logging.ERROR)  # opcuad sets WARNING; less noise
    with tempfile.TemporaryDirectory(prefix="opcua-login-") as tmp:
        work = Path(tmp)
        # The baseline first: the off-loop wrapper, once installed, stays for the process.
        base_late, base_times = asyncio.run(phase(work, False, args.logins))
        ours_late, ours_times = asyncio.run(phase(work, True, args.logins))
    ms = 1000.0
    print(f"event-loop stall during {args.logins} OPC-UA logins (Basic256Sha256, argon2id "
          "as on a gateway): "
          f"worst {max(ours_late) * ms:.0f} ms with the off-loop check, "
          f"{max(base_late) * ms:.0f} ms with asyncua's ({max(base_late) / max(ours_late):.0f}×)")
    for label, late, times in (("asyncua's check on the loop", base_late, base_times),
                               ("opcuad's check off the loop", ours_late, ours_times)):
        print(f"  {label:28}: stall worst {max(late) * ms:6.1f} ms, p99 "
              f"{statistics.quantiles(late, n=100)[98] * ms:6.1f} ms; login "
              f"median {statistics.median(times) * ms:6.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
