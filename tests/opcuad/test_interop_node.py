"""Interop with an independent client: node-opcua (hil-tests/opcua-node/client.js, installed
by `make npm-deps`) browses, reads values with units and ranges, sees changes, reads
history through continuation points, is refused a write as the wrong user and writes as
the right one, and is refused a wrong password; which policies it negotiated is kept for
docs/opcua.md."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from datetime import UTC, datetime

import pytest
from asyncua.crypto import cert_gen
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from .conftest import PASSWORD, REPO, SITE, TS

pytestmark = pytest.mark.timeout(120)
CLIENT_DIR = REPO / "hil-tests" / "opcua-node"
POLICIES = [["Basic256Sha256", "Sign"], ["Basic256Sha256", "SignAndEncrypt"],
            ["Aes128_Sha256_RsaOaep", "SignAndEncrypt"],
            ["Aes256_Sha256_RsaPss", "SignAndEncrypt"]]


def _node_client_cert(root):
    key = cert_gen.generate_private_key()
    uri = "urn:test:node-opcua"
    cert = cert_gen.generate_self_signed_app_certificate(
        key, "node-opcua interop", {}, [cert_gen.x509.UniformResourceIdentifier(uri)],
        [ExtendedKeyUsageOID.CLIENT_AUTH], days=30)
    cert_pem, key_pem = root / "node.pem", root / "node.key"
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(cert_gen.dump_private_key_as_pem(key))
    return cert, cert_pem, key_pem, uri


def test_node_opcua_client(site, tmp_path):
    node = shutil.which("node")
    assert node, "Node.js is needed for the interop test (Debian package nodejs)"
    assert (CLIENT_DIR / "node_modules" / "node-opcua-client").is_dir(), \
        "node-opcua-client is not installed: run `make npm-deps`"
    cert, cert_pem, key_pem, uri = _node_client_cert(tmp_path)
    (site.pki / "trusted" / "node.der").write_bytes(
        cert.public_bytes(serialization.Encoding.DER))
    stop = threading.Event()

    def move():  # the ring changes while the client watches
        v = 820.0
        while not stop.is_set():
            v += 5.0
            site.write(v)
            time.sleep(0.2)

    mover = threading.Thread(target=move, daemon=True)
    mover.start()
    args = {"endpoint": site.url, "cert": str(cert_pem), "key": str(key_pem),
            "applicationUri": uri, "pki": str(tmp_path / "node-pki"), "password": PASSWORD,
            "namespaceUri": f"urn:wellgate:{SITE}", "site": SITE, "policies": POLICIES,
            "historyStart": datetime.fromtimestamp(TS / 1e9, UTC).isoformat(),
            "historyEnd": datetime.fromtimestamp(TS / 1e9 + 600, UTC).isoformat()}
    try:
        proc = subprocess.run([node, str(CLIENT_DIR / "client.js"), json.dumps(args)],
                              capture_output=True, text=True, timeout=100, cwd=CLIENT_DIR)
    finally:
        stop.set()
        mover.join(2)
    assert proc.stdout.strip(), proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "error" not in out, out["error"] + "\n" + site.logtext()[-2000:]
    (tmp_path / "interop.json").write_text(json.dumps(out, indent=2))
    print("node-opcua interop:", json.dumps(out["policies"]), out["negotiated"])

    assert all(v == "Good" for v in out["policies"].values()), out["policies"]
    assert {"W101", "B201", "Site", "System"} <= set(out["folders"])
    assert f"ns={out['ns']};s=W101.THP" in out["w101"]
    assert out["thp"]["status"] == "Good" and out["thp"]["source"]
    assert out["outOfScope"] == "BadUserAccessDenied"  # B201 is outside oscar's scope
    assert out["range"] == [0, 5000]
    assert out["units"] == {"text": "psi", "unitId": 0x5053}
    assert out["flareStatus"] == "BadNoCommunication"
    assert len(set(out["changes"])) >= 4, out["changes"]
    assert out["history"] == {"values": 600, "calls": 6}
    assert out["writeAsRita"] == "BadUserAccessDenied"
    assert out["writeAsOscar"] == "Good"
    assert any(r["user"] == "oscar" and r["source"] == "opcuad" and r["value"] == 9.5
               for r in site.acqd.requests)
    assert not any(r["user"] == "rita" for r in site.acqd.requests)
    assert out["wrongPassword"].startswith("refused")
    assert out["negotiated"]["policy"].endswith("Basic256Sha256")
    assert out["negotiated"]["mode"] == "SignAndEncrypt"
