"""webd over HTTPS: `[web] tls_cert`/`tls_key` checked when the configuration is loaded
(file:line errors), served by the whole daemon and verified by real HTTPS clients (httpx
and curl) against a self-signed certificate made here with the openssl CLI; the session
cookie is Secure; the plain-HTTP listener redirects to HTTPS."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from daemons.core.config import loads_config
from daemons.core.problems import ValidationError

from .conftest import GATEWAY, PASSWORD
from .test_live import free_port

pytestmark = pytest.mark.timeout(90)
REPO = Path(__file__).resolve().parents[2]


def make_pair(folder: Path, name: str, *, passphrase: str | None = None) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 / localhost and its EC key (openssl CLI)."""
    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=30)
    if passphrase is not None:
        subprocess.run(["openssl", "ec", "-in", str(key), "-aes256", "-passout",
                        f"pass:{passphrase}", "-out", str(key)],
                       check=True, capture_output=True, timeout=30)
    return cert, key


def web_config(tmp_path: Path, lines: str) -> str:
    return GATEWAY.replace("port = 0\n", f"port = 0\n{lines}\n")


def problems_of(tmp_path: Path, lines: str) -> list[tuple[int, str]]:
    """(line, English message) of each problem of the configuration."""
    with pytest.raises(ValidationError) as err:
        loads_config(web_config(tmp_path, lines), tmp_path / "gateway.toml")
    return [(p.line, p.en) for p in err.value.problems]


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_a_good_pair_enables_tls_with_paths_relative_to_the_file(tmp_path):
    make_pair(tmp_path, "web")
    cfg = loads_config(web_config(tmp_path, 'tls_cert = "web.crt"\ntls_key = "web.key"'),
                       tmp_path / "gateway.toml")
    assert cfg.web.tls and cfg.web.tls_cert == tmp_path / "web.crt"
    plain = loads_config(GATEWAY, tmp_path / "gateway.toml")
    assert not plain.web.tls and plain.web.session_idle_minutes == 30.0
    assert plain.web.session_max_hours == 12.0


@pytest.mark.parametrize(("lines", "needle", "message"), [
    ('tls_cert = "missing.crt"\ntls_key = "web.key"', "tls_cert", "does not exist"),
    ('tls_cert = "web.crt"\ntls_key = "."', "tls_key", "cannot be read"),
    ('tls_cert = "web.crt"\ntls_key = "other.key"', "tls_key", "does not match"),
    ('tls_cert = "web.crt"\ntls_key = "locked.key"', "tls_key", "encrypted"),
    ('tls_cert = "web.key"\ntls_key = "web.key"', "tls_cert", "not a valid PEM certificate"),
    ('tls_cert = "gateway.toml"\ntls_key = "web.key"', "tls_cert", "not a PEM file"),
    ('tls_cert = "web.crt"', "tls_cert", "needs 'tls_key'"),
    ("http_redirect_port = 8081", "http_redirect_port", "set 'tls_cert'"),
    ("session_idle_minutes = 0", "session_idle_minutes", "below the minimum"),
    ('session_max_hours = "12"', "session_max_hours", "must be a number"),
])
def test_bad_web_settings_are_reported_at_their_line(tmp_path, lines, needle, message):
    make_pair(tmp_path, "web")
    make_pair(tmp_path, "other")
    make_pair(tmp_path, "locked", passphrase="secret-phrase")
    (tmp_path / "gateway.toml").write_text("x")
    found = problems_of(tmp_path, lines)
    line = line_of(web_config(tmp_path, lines), needle)
    assert any(ln == line and message in en for ln, en in found), found


@pytest.fixture
def https_daemon(site):
    cert, _key = make_pair(site.cfg.source.parent, "web")
    port, redirect = free_port(), free_port()
    config = site.cfg.source
    config.write_text(config.read_text().replace(
        "port = 0\n", f'port = {port}\ntls_cert = "web.crt"\ntls_key = "web.key"\n'
        f"http_redirect_port = {redirect}\n"))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("NOTIFY_SOCKET", None)
    proc = subprocess.Popen([sys.executable, "-m", "daemons.webd", "--config", str(config)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"https://127.0.0.1:{port}"
    verify = ssl.create_default_context(cafile=str(cert))
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(base + "/api/me", timeout=1, verify=verify)
            break
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(proc.stdout.read().decode())
            time.sleep(0.1)
    yield base, verify, cert, redirect, proc
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0


def test_https_with_a_verified_certificate_secure_cookie_and_redirect(https_daemon):
    base, verify, cert, redirect, _proc = https_daemon
    with httpx.Client(base_url=base, verify=verify, timeout=10) as http:
        r = http.post("/api/login", json={"user": "sam", "password": PASSWORD})
        assert r.status_code == 200, r.text
        cookies = r.headers.get_list("set-cookie")
        session = next(c for c in cookies if c.startswith("wg_session="))
        assert "Secure" in session and "HttpOnly" in session
        assert http.get("/api/me").json()["user"] == "sam"
    # A client that trusts only the system's authorities refuses the self-signed one.
    with pytest.raises(httpx.ConnectError):
        httpx.get(base + "/api/me", timeout=5)
    # curl, an independent TLS stack, verifies it against the same certificate.
    out = subprocess.run(["curl", "-sS", "--cacert", str(cert), "-o", "/dev/null", "-w",
                          "%{http_code} %{ssl_verify_result}", base + "/api/me"],
                         capture_output=True, text=True, timeout=30)
    assert out.stdout == "401 0", out.stderr
    # Plain HTTP on the redirect port: 308 to the same path and query over HTTPS.
    r = httpx.get(f"http://127.0.0.1:{redirect}/api/tags?pattern=W1*", timeout=5)
    assert r.status_code == 308
    assert r.headers["location"] == f"{base}/api/tags?pattern=W1*"
    assert "server" not in r.headers
    r = httpx.get(f"http://127.0.0.1:{redirect}/api/me", timeout=5, verify=verify,
                  follow_redirects=True)
    assert r.status_code == 401 and str(r.url).startswith("https://")
    # Plain HTTP on the HTTPS port gets no answer.
    with pytest.raises(httpx.TransportError):
        httpx.get(base.replace("https", "http") + "/api/me", timeout=5)


def test_a_renewed_certificate_is_served_after_sighup(https_daemon):
    base, old_verify, cert, _redirect, proc = https_daemon
    make_pair(cert.parent, "web")  # a new key and certificate at the same paths
    new_verify = ssl.create_default_context(cafile=str(cert))
    proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 15
    while True:
        try:
            assert httpx.get(base + "/api/me", verify=new_verify, timeout=5).status_code == 401
            break
        except httpx.ConnectError:  # still the old certificate
            assert time.monotonic() < deadline, "the renewed certificate was not served"
            time.sleep(0.2)
    with pytest.raises(httpx.ConnectError):
        httpx.get(base + "/api/me", verify=old_verify, timeout=5)
    assert proc.poll() is None
