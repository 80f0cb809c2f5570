"""Notifications: a real local HTTP receiver and a real local SMTP server; the queue
survives a network outage and a flood goes out as one digest."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
import warnings

import pytest

from daemons.alarmd.journal import AlarmJournal
from daemons.alarmd.notify import Notifier, senders
from daemons.alarmd.states import NORMAL, UNACK, Transition
from daemons.core.alarms import AlarmDef
from daemons.core.config import loads_config
from daemons.core.config.model import NotifySection
from daemons.core.problems import ValidationError


def alarm(tag, priority="critical", group=""):
    return AlarmDef(tag, "hi", priority, limit=1.0, message_en=f"{tag} high",
                    message_es=f"{tag} alto", group=group)


def raised(a, at):
    return Transition(a.id, at, NORMAL, UNACK, 5.0, True, False, 0.0, False)


@pytest.fixture
def journal(tmp_path):
    j = AlarmJournal(tmp_path)
    yield j
    j.close()


def test_webhook_queue_survives_an_outage_and_filters(journal, net):
    free_port, Receiver = net.free_port, net.Receiver
    port = free_port()  # nothing listens there yet: the network is "down"
    cfg = NotifySection(priorities=("critical",), groups=("TRIP",),
                        webhook_url=f"http://127.0.0.1:{port}/hook")
    n = Notifier(journal.conn, cfg, senders(cfg))
    a, b = alarm("W1.P", group="TRIP"), alarm("W1.Q", group="TRIP")
    low, other = alarm("W1.R", "low", "TRIP"), alarm("W1.S", group="X")
    alarms = {x.id: x for x in (a, b, low, other)}
    assert n.enqueue([raised(x, 100.0) for x in (a, b, low, other)], alarms) == 2
    assert n.pump(100.0) == {"webhook": 0}
    assert n.pending() == 2
    assert n.pump(101.0) == {"webhook": 0}  # backing off: not retried yet
    rx = Receiver(port)
    try:
        assert n.pump(103.0) == {"webhook": 2}
    finally:
        rx.close()
    assert [x["id"] for x in rx.bodies] == ["W1.P:hi", "W1.Q:hi"]
    assert rx.bodies[0]["message_es"] == "W1.P alto" and rx.bodies[0]["priority"] == "critical"
    assert n.pending() == 0


def test_flood_goes_out_as_one_digest_within_the_rate(journal, net):
    free_port, Receiver = net.free_port, net.Receiver
    port = free_port()
    rx = Receiver(port)
    cfg = NotifySection(rate_per_minute=3, webhook_url=f"http://127.0.0.1:{port}/")
    n = Notifier(journal.conn, cfg, senders(cfg))
    many = [alarm(f"W{i}.P") for i in range(20)]
    try:
        n.enqueue([raised(x, 0.0) for x in many[:2]], {x.id: x for x in many})
        assert n.pump(0.0) == {"webhook": 2}
        n.enqueue([raised(x, 1.0) for x in many[2:]], {x.id: x for x in many})
        assert n.pump(1.0) == {"webhook": 1}  # 18 waiting, 1 message left in the minute
        n.enqueue([raised(many[0], 2.0)], {x.id: x for x in many})
        assert n.pump(2.0) == {"webhook": 0}  # rate reached: waits
        assert n.pump(61.0) == {"webhook": 1}
    finally:
        rx.close()
    digest = rx.bodies[2]
    assert digest["digest"] is True and digest["count"] == 18
    assert rx.bodies[3]["id"] == "W0.P:hi"


def test_email_through_a_local_smtp_server(journal, net):
    free_port = net.free_port
    # The standard library's SMTP server (gone in Python 3.12), plain SMTP; STARTTLS and
    # LOGIN are exercised with aiosmtpd below.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        asyncore = pytest.importorskip("asyncore")
        smtpd = pytest.importorskip("smtpd")

    got = []

    class Server(smtpd.SMTPServer):
        def process_message(self, peer, mailfrom, rcpttos, data, **kw):
            got.append((mailfrom, rcpttos, data.decode()))

    port = free_port()
    server = Server(("127.0.0.1", port), None, decode_data=False)
    thread = threading.Thread(target=asyncore.loop, kwargs={"timeout": 0.05, "count": 200},
                              daemon=True)
    thread.start()
    cfg = NotifySection(email_to=("ops@example.com",), smtp_host="127.0.0.1",
                        smtp_port=port, smtp_starttls=False, smtp_from="gw@example.com")
    n = Notifier(journal.conn, cfg, senders(cfg))
    a = alarm("W101.THP")
    n.enqueue([raised(a, 0.0)], {a.id: a})
    try:
        assert n.pump(0.0) == {"email": 1}
    finally:
        server.close()
        thread.join(timeout=15)
    ((sender, rcpt, text),) = got
    assert (sender, rcpt) == ("gw@example.com", ["ops@example.com"])
    assert "CRITICAL W101.THP:hi" in text and "W101.THP high" in text


def _self_signed(tmp_path):
    """A certificate for 127.0.0.1 (openssl from the base system), and its key."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def test_email_with_starttls_and_login_through_aiosmtpd(journal, net, tmp_path,
                                                         monkeypatch):
    controller_mod = pytest.importorskip("aiosmtpd.controller")
    from aiosmtpd.smtp import AuthResult, LoginPassword
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = _self_signed(tmp_path)
    # The notifier verifies the server with the system's trust store: point it at ours.
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    got, logins = [], []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            got.append((session.ssl is not None, session.authenticated, envelope.mail_from,
                        envelope.rcpt_tos, envelope.content.decode()))
            return "250 OK"

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and \
            (auth_data.login, auth_data.password) == (b"wellgate", b"s3cret-pw")
        logins.append((auth_data.login, ok))
        return AuthResult(success=ok)

    port = net.free_port()
    server = controller_mod.Controller(
        Handler(), hostname="127.0.0.1", port=port, tls_context=tls, require_starttls=True,
        authenticator=authenticator, auth_require_tls=True)
    server.start()
    password = tmp_path / "smtp-password"
    password.write_text("s3cret-pw\n")
    cfg = NotifySection(email_to=("ops@example.com",), smtp_host="127.0.0.1",
                        smtp_port=port, smtp_starttls=True, smtp_username="wellgate",
                        smtp_password_file=str(password), smtp_from="gw@example.com")
    n = Notifier(journal.conn, cfg, senders(cfg))
    a = alarm("W101.THP")
    n.enqueue([raised(a, 0.0)], {a.id: a})
    try:
        assert n.pump(0.0) == {"email": 1}
    finally:
        server.stop()
    ((tls_used, authenticated, sender, rcpt, text),) = got
    assert tls_used and authenticated and logins == [(b"wellgate", True)]
    assert (sender, rcpt) == ("gw@example.com", ["ops@example.com"])
    assert "CRITICAL W101.THP:hi" in text and "W101.THP high" in text



def test_routes_send_each_priority_and_group_to_its_own_recipients(journal, net):
    """[[notify.route]]: the rig's trips to the drilling webhook, every critical alarm to
    the supervisor's; each route a channel with its own queue."""
    rig_port, sup_port = net.free_port(), net.free_port()
    text = f"""[gateway]
site = "s"
[notify]
[[notify.route]]
priorities = ["critical", "high"]
groups = ["RIG.TRIP"]
webhook_url = "http://127.0.0.1:{rig_port}/rig"
[[notify.route]]
priorities = ["critical"]
webhook_url = "http://127.0.0.1:{sup_port}/supervisor"
"""
    cfg = loads_config(text, "gw.toml").notify
    n = Notifier(journal.conn, cfg, senders(cfg))
    assert sorted(n.channels) == [f"webhook:http://127.0.0.1:{p}/{name}"
                                  for p, name in sorted([(rig_port, "rig"),
                                                         (sup_port, "supervisor")])]
    trip_high = alarm("RIG.HOOKLOAD", "high", "RIG.TRIP")
    trip_crit = alarm("RIG.PIT", "critical", "RIG.TRIP")
    well_crit = alarm("W101.THP", "critical")
    well_low = alarm("W101.TEMP", "low")
    alarms = {x.id: x for x in (trip_high, trip_crit, well_crit, well_low)}
    assert n.enqueue([raised(x, 0.0) for x in alarms.values()], alarms) == 4
    rig, sup = net.Receiver(rig_port), net.Receiver(sup_port)
    try:
        assert sum(n.pump(0.0).values()) == 4
    finally:
        rig.close()
        sup.close()
    assert [b["id"] for b in rig.bodies] == ["RIG.HOOKLOAD:hi", "RIG.PIT:hi"]
    assert [b["id"] for b in sup.bodies] == ["RIG.PIT:hi", "W101.THP:hi"]


@pytest.mark.parametrize(("route", "message"), [
    ('priorities = ["urgent"]\nwebhook_url = "http://x/"\n', "priority 'urgent' is not one of"),
    ('priorities = ["high"]\n', "a route needs 'email_to' or 'webhook_url'"),
    ('email_to = ["a@b"]\n', "'email_to' needs 'smtp_host'"),
    ('webhook_url = "ftp://x"\n', "'webhook_url' must start with http"),
    ('webhook_url = "http://x/"\ncolour = "red"\n', "unknown key 'colour'"),
])
def test_a_bad_route_is_reported_with_its_position(route, message):
    text = '[gateway]\nsite = "s"\n[notify]\n[[notify.route]]\n' + route
    with pytest.raises(ValidationError) as err:
        loads_config(text, "gw.toml")
    rendered = err.value.render("en")
    assert message in rendered and "gw.toml:" in rendered, rendered
