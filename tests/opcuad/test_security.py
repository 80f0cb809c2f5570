"""opcuad's security with the asyncua client: every offered policy, wrong passwords and
unknown users refused (with the access module's lockout), anonymous off, an untrusted
client certificate refused and kept, then trusted with `wellgate opcua trust` (audited);
`wellgate opcua cert` shows the certificate the server presents."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest
from asyncua import ua

from daemons.core.access.audit import AuditReader
from daemons.core.opcua_pki import der, load_any, thumbprint

from .conftest import REPO, connect, make_client_cert

pytestmark = pytest.mark.timeout(90)


def wellgate(site, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "daemons.cli.main", "--lang", "en",
                           "--config", str(site.root / "gateway.toml"), *args],
                          env=env, capture_output=True, text=True, timeout=60)


async def _refused(site, code: int = ua.StatusCodes.BadUserAccessDenied, **kw) -> None:
    with pytest.raises(ua.UaStatusCodeError) as err:
        c = await connect(site, **kw)
        await c.disconnect()
    assert err.value.code == code, err.value


@pytest.mark.parametrize("policy,mode", [
    ("Basic256Sha256", "Sign"), ("Basic256Sha256", "SignAndEncrypt"),
    ("Aes128Sha256RsaOaep", "SignAndEncrypt"), ("Aes256Sha256RsaPss", "SignAndEncrypt")])
def test_policies_offered_and_negotiated(site, policy, mode):
    async def main():
        c = await connect(site, user="ana", policy=policy, mode=mode)  # reads every well
        try:
            ns = await c.get_namespace_index("urn:wellgate:opc test pad")
            assert await c.get_node(f"ns={ns};s=B201.THP").read_value() == 300
            assert c.security_policy.URI.endswith(policy.replace("Sha256Rsa", "_Sha256_Rsa"))
        finally:
            await c.disconnect()

    asyncio.run(main())


def test_endpoints_list_policies_and_none_is_opt_in(site):
    async def main():
        from asyncua import Client

        client = Client(site.url, timeout=10)
        endpoints = await client.connect_and_get_server_endpoints()
        offered = {(e.SecurityPolicyUri.rsplit("#", 1)[1], e.SecurityMode.name)
                   for e in endpoints}
        assert ("Basic256Sha256", "SignAndEncrypt") in offered
        assert ("Aes256_Sha256_RsaPss", "Sign") in offered
        assert ("None", "None_") in offered  # this site's config has allow_none = true
        tokens = {t.TokenType for e in endpoints for t in e.UserIdentityTokens}
        assert tokens == {ua.UserTokenType.UserName}  # anonymous is off by default
        return endpoints

    endpoints = asyncio.run(main())
    shown = wellgate(site, "opcua", "cert", "--json")
    assert shown.returncode == 0, shown.stderr
    import json
    info = json.loads(shown.stdout)
    served = endpoints[0].ServerCertificate
    assert info["thumbprint"] == thumbprint(served)
    assert info["application_uri"] == "urn:wellgate:opc%20test%20pad:opcuad"


def test_wrong_password_unknown_user_and_anonymous_are_refused(site):
    async def main():
        await _refused(site, user="oscar", password="not-his-password")
        await _refused(site, user="nobody", password="whatever-123")
        await _refused(site, ua.StatusCodes.BadIdentityTokenRejected, user=None)  # not offered
        # rita: three wrong passwords lock her out, then even the right one is refused.
        for _ in range(3):
            await _refused(site, user="rita", password="wrong-password-1")
        await _refused(site, user="rita")

    asyncio.run(main())
    reader = AuditReader(site.cfg.paths.state_dir)
    try:
        entries = list(reader.entries())
    finally:
        reader.close()
    assert any(e.action == "login.failed" and e.actor == "oscar" and e.source == "opcua"
               for e in entries)
    assert any(e.action == "login.lockout" and e.object == "rita" for e in entries)


def test_untrusted_certificate_is_kept_and_can_be_trusted(site, tmp_path):
    stranger = make_client_cert(tmp_path, "stranger")
    thumb = thumbprint(der(load_any(stranger[0])))

    async def attempt():
        c = await connect(site, user="oscar", cert=stranger)
        await c.disconnect()

    with pytest.raises(ua.UaStatusCodeError) as err:
        asyncio.run(attempt())
    assert err.value.code == ua.StatusCodes.BadCertificateUntrusted
    kept = site.pki / "rejected" / f"{thumb}.der"
    assert kept.is_file()
    listed = wellgate(site, "opcua", "rejected")
    assert thumb in listed.stdout
    trusted = wellgate(site, "opcua", "trust", thumb[:12])
    assert trusted.returncode == 0, trusted.stderr + trusted.stdout
    assert not kept.exists() and (site.pki / "trusted" / f"{thumb}.der").is_file()
    asyncio.run(attempt())  # the next session is accepted, no restart
    bad = wellgate(site, "opcua", "trust", "00000000")
    assert bad.returncode == 1 and "neither a certificate file" in bad.stderr + bad.stdout
    reader = AuditReader(site.cfg.paths.state_dir)
    try:
        actions = [(e.action, e.object) for e in reader.entries()]
    finally:
        reader.close()
    assert ("opcua.certificate.rejected", thumb) in actions
    assert ("opcua.certificate.trust", thumb) in actions
