"""Notifications of new alarms by webhook (JSON POST) and e-mail (SMTP, STARTTLS).

Which alarms, to whom: transitions to `unacknowledged` whose priority and group a route
of the gateway's `[notify]` section names (`[[notify.route]]` tables, or the section's
own fields as one route); each route's recipients (a webhook URL, a list of e-mail
addresses) form a channel of their own, so the shift supervisor's e-mail and the rig
manager's do not share a queue or a rate.  Each goes first into the `outbox` table of events.db,
durably, then out; a failed send stays queued (network down) and is retried with a
growing back-off until it goes.  Per channel at most `rate_per_minute` messages leave a
minute; when more are waiting than the rate allows (a flood) they leave as one digest.
"""

from __future__ import annotations

import json
import smtplib
import ssl
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from daemons.alarmd.states import UNACK, Transition
from daemons.core.alarms import AlarmDef
from daemons.core.config.model import NotifyRoute, NotifySection
from daemons.core.store.sqlite import durable

MAX_BACKOFF_S = 300.0
Sender = Callable[[list[dict[str, Any]], bool], None]  # (alarms, digest?) -> raises on failure


def _post(url: str) -> Sender:
    def send(alarms: list[dict[str, Any]], digest: bool) -> None:
        body = {"digest": True, "count": len(alarms), "alarms": alarms} if digest \
            else alarms[0]
        req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()

    return send


def _mail(cfg: NotifySection, to: tuple[str, ...]) -> Sender:
    def send(alarms: list[dict[str, Any]], digest: bool) -> None:
        msg = EmailMessage()
        first = alarms[0]
        msg["Subject"] = (f"[wellgate] {len(alarms)} alarms / alarmas" if digest else
                          f"[wellgate] {first['priority'].upper()} {first['id']}: "
                          f"{first['message_es']}")
        msg["From"], msg["To"] = cfg.smtp_from, ", ".join(to)
        msg.set_content("\n".join(f"{a['priority']:<8} {a['id']}  value/valor {a['value']}\n"
                                  f"  {a['message_es']}\n  {a['message_en']}" for a in alarms))
        with smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=15) as smtp:
            if cfg.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if cfg.smtp_username:
                password = Path(cfg.smtp_password_file).read_text().strip() \
                    if cfg.smtp_password_file else ""
                smtp.login(cfg.smtp_username, password)
            smtp.send_message(msg)

    return send


def _channel(kind: str, target: str, default: str) -> str:
    # The section's own recipients keep the plain names ("webhook", "email").
    return kind if target == default else f"{kind}:{target}"


def channel_routes(cfg: NotifySection) -> dict[str, tuple[NotifyRoute, ...]]:
    """Every channel and the routes that feed it."""
    out: dict[str, list[NotifyRoute]] = {}
    for r in cfg.effective_routes():
        if r.webhook_url:
            out.setdefault(_channel("webhook", r.webhook_url, cfg.webhook_url), []).append(r)
        if r.email_to and cfg.smtp_host:
            out.setdefault(_channel("email", ",".join(r.email_to), ",".join(cfg.email_to)),
                           []).append(r)
    return {k: tuple(v) for k, v in out.items()}


def senders(cfg: NotifySection) -> dict[str, Sender]:
    out: dict[str, Sender] = {}
    for channel, routes in channel_routes(cfg).items():
        if channel.startswith("webhook"):
            out[channel] = _post(routes[0].webhook_url)
        else:
            out[channel] = _mail(cfg, routes[0].email_to)
    return out


def payload(t: Transition, a: AlarmDef) -> dict[str, Any]:
    return {"id": a.id, "tag": a.tag, "well": a.well, "type": a.type, "priority": a.priority,
            "state": "unacknowledged", "value": None if t.value != t.value else t.value,
            "message_en": a.message("en"), "message_es": a.message("es"), "at": t.at,
            "group": a.group}


class Notifier:
    def __init__(self, conn: Any, cfg: NotifySection, channels: Mapping[str, Sender]) -> None:
        self.conn, self.cfg, self.channels = conn, cfg, dict(channels)
        self.routes = channel_routes(cfg)

    def wanted(self, a: AlarmDef, channel: str) -> bool:
        """Whether a route of this channel names the alarm's priority and group."""
        return any(a.priority in r.priorities and (not r.groups or a.group in r.groups)
                   for r in self.routes.get(channel, ()))

    def enqueue(self, transitions: Iterable[Transition], alarms: Mapping[str, AlarmDef]
                ) -> int:
        rows = [(t.at, channel, json.dumps(payload(t, alarms[t.alarm_id])), t.at)
                for t in transitions if t.new == UNACK and t.alarm_id in alarms
                for channel in self.channels if self.wanted(alarms[t.alarm_id], channel)]
        if rows:
            with durable(self.conn) as c:
                c.executemany("INSERT INTO outbox (created, channel, payload, next_try) "
                              "VALUES (?, ?, ?, ?)", rows)
        return len(rows)

    def pending(self, channel: str | None = None) -> int:
        q = "SELECT count(*) FROM outbox WHERE sent IS NULL"
        args: tuple = ()
        if channel:
            q, args = q + " AND channel = ?", (channel,)
        return int(self.conn.execute(q, args).fetchone()[0])

    def pump(self, now: float) -> dict[str, int]:
        """Send what is due on every channel; messages sent per channel.  Blocking (I/O):
        alarmd runs it in a thread."""
        return {ch: self._pump(ch, send, now) for ch, send in self.channels.items()}

    def _pump(self, channel: str, send: Sender, now: float) -> int:
        rows = self.conn.execute(
            "SELECT id, payload, attempts FROM outbox WHERE channel = ? AND sent IS NULL "
            "AND next_try <= ? ORDER BY id", (channel, now)).fetchall()
        if not rows:
            return 0
        recent = self.conn.execute("SELECT count(DISTINCT sent) FROM outbox WHERE channel = ? "
                                   "AND sent > ?", (channel, now - 60.0)).fetchone()[0]
        budget = self.cfg.rate_per_minute - int(recent)
        if budget <= 0:
            return 0
        if len(rows) > budget:  # a flood: everything waiting as one message
            batches: Sequence[list] = [rows]
        else:
            batches = [[r] for r in rows]
        sent = 0
        for k, batch in enumerate(batches):
            alarms = [json.loads(r[1]) for r in batch]
            try:
                send(alarms, len(batch) > 1)
            except (OSError, smtplib.SMTPException, ValueError):
                self._failed(batches[k:], now)
                break
            stamp = now + sent * 1e-6  # one distinct `sent` per message for the rate
            with durable(self.conn) as c:
                c.executemany("UPDATE outbox SET sent = ? WHERE id = ?",
                              [(stamp, r[0]) for r in batch])
            sent += 1
        return sent

    def _failed(self, batches: Sequence[list], now: float) -> None:
        rows = [r for b in batches for r in b]
        with durable(self.conn) as c:
            c.executemany("UPDATE outbox SET attempts = attempts + 1, next_try = ? "
                          "WHERE id = ?",
                          [(now + min(MAX_BACKOFF_S, 2.0 ** (r[2] + 1)), r[0]) for r in rows])
