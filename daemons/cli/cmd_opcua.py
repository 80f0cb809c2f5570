"""`wellgate opcua`: the OPC-UA server's certificate and its trust list.

    wellgate opcua cert [--renew] [--json]   show (or make anew) opcuad's certificate
    wellgate opcua trust FILE|THUMBPRINT     trust a client certificate (a file, or one
                                             kept in the rejected folder by thumbprint)
    wellgate opcua rejected                  certificates of refused clients

Renewing and trusting are audited and need `system write` (the same `authorize` as
every interface).  opcuad reads the trusted folder at each new session, so a trusted
client connects at once; a renewed server certificate is used after opcuad restarts.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from daemons.cli.access_common import record, require
from daemons.cli.common import EXIT_OK, CommandError, Console, load_gateway
from daemons.core.opcua_pki import (
    der,
    describe,
    ensure_certificate,
    load_any,
    make_certificate,
    pki_of,
    thumbprint,
)


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("opcua", parents=[common],
                       help="OPC-UA server certificate and trusted client certificates")
    inner = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    cert = inner.add_parser("cert", parents=[common],
                            help="show opcuad's certificate (made if there is none)")
    cert.add_argument("--renew", action="store_true",
                      help="make a new key and certificate (opcuad uses it after a restart)")
    cert.add_argument("--json", action="store_true", help="machine-readable output")
    cert.set_defaults(func=show_cert, with_console=True)
    trust = inner.add_parser("trust", parents=[common], help="trust a client certificate")
    trust.add_argument("what", metavar="FILE|THUMBPRINT")
    trust.set_defaults(func=trust_cert, with_console=True)
    rejected = inner.add_parser("rejected", parents=[common],
                                help="client certificates refused so far")
    rejected.set_defaults(func=list_rejected, with_console=True)


def _print(console: Console, info: dict) -> None:
    console.say(f"subject:          {info['subject']}\n"
                f"thumbprint:       {info['thumbprint']}\n"
                f"application URI:  {info['application_uri']}\n"
                f"host names:       {', '.join(info['hostnames'])}\n"
                f"valid:            {info['not_before']} .. {info['not_after']}",
                f"sujeto:           {info['subject']}\n"
                f"huella:           {info['thumbprint']}\n"
                f"URI de aplicación: {info['application_uri']}\n"
                f"nombres de host:  {', '.join(info['hostnames'])}\n"
                f"válido:           {info['not_before']} .. {info['not_after']}")


def show_cert(args: argparse.Namespace, console: Console) -> int:
    cfg = load_gateway(args, console)
    pki = pki_of(cfg)
    if args.renew:
        require(cfg, console, "system", "write", "opcua.certificate.renew", "opcuad")
        cert = make_certificate(cfg, pki)
        info = describe(cert)
        record(cfg, console, "opcua.certificate.renew", info["thumbprint"],
               {"not_after": info["not_after"], "hostnames": info["hostnames"]})
        console.warn("renewed: restart opcuad to use it; clients must trust the new one",
                     "renovado: reinicie opcuad para usarlo; los clientes deben confiar en él")
    else:
        cert, made = ensure_certificate(cfg, pki)
        info = describe(cert)
        if made:
            record(cfg, console, "opcua.certificate.created", info["thumbprint"],
                   {"not_after": info["not_after"], "hostnames": info["hostnames"]})
    if args.json:
        console.say(json.dumps({**info, "file": str(pki.cert)}, indent=2))
    else:
        _print(console, info)
        console.say(f"file:             {pki.cert}", f"archivo:          {pki.cert}")
    return EXIT_OK


def _find(pki_rejected: Path, what: str) -> Path:
    path = Path(what)
    if path.is_file():
        return path
    wanted = what.lower().replace(":", "")
    found = [p for p in sorted(pki_rejected.glob("*")) if p.stem.lower().startswith(wanted)]
    if len(wanted) >= 8 and len(found) == 1:
        return found[0]
    raise CommandError(
        f"'{what}' is neither a certificate file nor the thumbprint (at least 8 digits) of "
        f"one certificate in {pki_rejected}",
        f"'{what}' no es un archivo de certificado ni la huella (8 dígitos o más) de un "
        f"certificado en {pki_rejected}")


def trust_cert(args: argparse.Namespace, console: Console) -> int:
    cfg = load_gateway(args, console)
    pki = pki_of(cfg)
    pki.make_dirs()
    source = _find(pki.rejected, args.what)
    try:
        cert = load_any(source)
    except (OSError, ValueError) as exc:
        raise CommandError(f"{source}: not an X.509 certificate ({exc})",
                           f"{source}: no es un certificado X.509 ({exc})") from exc
    thumb = thumbprint(der(cert))
    require(cfg, console, "system", "write", "opcua.certificate.trust", thumb)
    target = pki.trusted / f"{thumb}.der"
    target.write_bytes(der(cert))
    if source.parent.resolve() == pki.rejected.resolve():
        source.unlink(missing_ok=True)
    info = describe(cert)
    record(cfg, console, "opcua.certificate.trust", thumb,
           {"subject": info["subject"], "application_uri": info["application_uri"],
            "from": str(source)})
    console.say(f"trusted {info['subject']} ({thumb})", f"confiable: {info['subject']} "
                f"({thumb})")
    return EXIT_OK


def list_rejected(args: argparse.Namespace, console: Console) -> int:
    cfg = load_gateway(args, console)
    pki = pki_of(cfg)
    found = sorted(pki.rejected.glob("*.der")) if pki.rejected.is_dir() else []
    if not found:
        console.say("no rejected client certificates", "no hay certificados rechazados")
    for p in found:
        try:
            info = describe(load_any(p))
        except (OSError, ValueError):
            continue
        console.say(f"{info['thumbprint']}  {info['application_uri'] or info['subject']}")
    return EXIT_OK

