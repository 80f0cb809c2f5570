"""hostd to a broker that wants TLS, a client certificate and a password (mosquitto)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest


def self_signed(tmp_path, name):
    cert, key = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", f"/CN={name}", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


@pytest.mark.skipif(shutil.which("openssl") is None or shutil.which("mosquitto_passwd") is None,
                    reason="openssl and mosquitto_passwd are needed")
def test_tls_with_client_certificate_and_password(tmp_path, pg_dsn, suffix, helpers,
                                                  start_hostd):
    server_cert, server_key = self_signed(tmp_path, "127.0.0.1")
    client_cert, client_key = self_signed(tmp_path, "hostd")
    trusted = tmp_path / "trusted.pem"  # the broker trusts our self-signed client cert
    trusted.write_text(server_cert.read_text() + client_cert.read_text())
    passwords = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwords), "hostd", "s3cret"],
                   check=True, capture_output=True)
    broker = helpers.Mosquitto(tmp_path)
    broker.conf.write_text(
        f"listener {broker.port} 127.0.0.1\nallow_anonymous false\n"
        f"password_file {passwords}\ncafile {trusted}\ncertfile {server_cert}\n"
        f"keyfile {server_key}\nrequire_certificate true\npersistence false\n"
        # as root mosquitto drops to its own user, which cannot read pytest's tmp dir
        + ("user root\n" if os.geteuid() == 0 else ""))
    broker.start()
    try:
        (tmp_path / "password").write_text("s3cret\n")
        group, schema = f"tls_{suffix}", f"t_tls_{suffix}"
        cfg = helpers.write_hostd_config(tmp_path / "hostd.toml", port=broker.port,
                                         dsn=pg_dsn, host_id=f"tls-{suffix}",
                                         tenants=[(group, schema, f"{schema}_reader")])
        cfg.write_text(cfg.read_text().replace("[mqtt]\n", (
            f'[mqtt]\ntls = true\nca_file = "{server_cert}"\ncert_file = "{client_cert}"\n'
            f'key_file = "{client_key}"\nusername = "hostd"\npassword_file = "password"\n')))
        hostd = start_hostd(cfg)
        helpers.wait_for(lambda: '"primary host online"' in hostd.output(), 20,
                         "online over TLS")
        assert '"broker unavailable"' not in hostd.output()
        hostd.stop()
        # a wrong password: refused, logged once, retried, hostd keeps running
        (tmp_path / "password").write_text("wrong\n")
        again = start_hostd(cfg)
        helpers.wait_for(lambda: '"broker unavailable"' in again.output(), 20, "refusal")
        time.sleep(2.5)  # a few more attempts
        assert again.alive()
        assert again.output().count('"broker unavailable"') == 1
        assert '"primary host online"' not in again.output()
    finally:
        broker.stop()
