"""forwardd's MQTT link (gmqtt): servers tried in turn, TLS, credentials, MQTT 3.1.1 or 5.

Every connection is a new gmqtt client with a clean session and its own Will (the
NDEATH with that connection's bdSeq); gmqtt's own reconnect is switched off because it
would reconnect with the previous Will.  Incoming messages are queued for the daemon.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from gmqtt import Client, Message
from gmqtt.mqtt.constants import MQTTv50, MQTTv311
from gmqtt.mqtt.handler import MQTTConnectError

from daemons.core.config import MqttSection

CONNECT_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class Server:
    host: str
    port: int
    tls: bool

    def __str__(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def servers_of(cfg: MqttSection) -> list[Server]:
    if not cfg.servers:
        return [Server(cfg.host, cfg.port, cfg.tls)]
    out = []
    for url in cfg.servers:
        u = urlparse(url)
        tls = u.scheme == "mqtts"
        out.append(Server(u.hostname or "127.0.0.1", u.port or (8883 if tls else 1883), tls))
    return out


def tls_context(cfg: MqttSection) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=cfg.ca_file or None)
    if cfg.cert_file:
        ctx.load_cert_chain(cfg.cert_file, cfg.key_file or None)
    return ctx


def read_password(cfg: MqttSection) -> str | None:
    if not cfg.password_file:
        return None
    return Path(cfg.password_file).read_text(encoding="utf-8").rstrip("\r\n")


class Link:
    """One connection at a time; `connect` tries each server once, in turn."""

    def __init__(self, cfg: MqttSection, client_id: str,
                 on_message: Callable[[str, bytes], None]) -> None:
        self.cfg = cfg
        self.client_id = client_id
        self.on_message = on_message
        self.servers = servers_of(cfg)
        self.client: Client | None = None
        self.server: Server | None = None
        self._next = 0
        self.lost = asyncio.Event()
        # gmqtt logs every lost connection with a traceback; forwardd logs it once.
        logging.getLogger("gmqtt").setLevel(logging.CRITICAL)

    @property
    def connected(self) -> bool:
        return self.client is not None and self.client.is_connected and not self.lost.is_set()

    async def connect(self, will: Callable[[], tuple[str, bytes]],
                      not_sent: Callable[[], None]) -> Server:
        """Connect to the next server that answers; raises ConnectionError otherwise.

        `will()` makes each attempt's Will (the NDEATH with the next bdSeq, persisted
        first); `not_sent()` is called when an attempt failed before its CONNECT packet
        left (TCP or TLS refused) or the broker refused it in its CONNACK (credentials),
        so that attempt's bdSeq is not counted as used.
        """
        last: Exception | None = None
        for _ in range(len(self.servers)):
            server = self.servers[self._next % len(self.servers)]
            self._next += 1
            will_topic, will_payload = will()
            try:
                await self._connect_one(server, will_topic, will_payload)
                return server
            except TimeoutError as exc:  # (an OSError) the CONNECT may have left: bdSeq used
                last = exc
                await self._drop()
            except OSError as exc:  # refused, unreachable, TLS handshake: no CONNECT sent
                last = exc
                not_sent()
                await self._drop()
            except MQTTConnectError as exc:
                # The broker refused the CONNECT (bad credentials, not authorised): no
                # session began, so its Will can never be published and no host saw that
                # bdSeq; the next attempt reuses it instead of burning one per retry.
                last = exc
                not_sent()
                await self._drop()
            except Exception as exc:  # CONNECT sent but no (or a refusing) CONNACK
                last = exc
                await self._drop()
        raise ConnectionError(f"no MQTT server reachable ({last})")

    async def _connect_one(self, server: Server, will_topic: str, will_payload: bytes) -> None:
        will = Message(will_topic, will_payload, qos=1, retain=False)
        v5 = self.cfg.version == "5"
        kwargs = {"session_expiry_interval": 0} if v5 else {}
        client = Client(self.client_id, clean_session=True, will_message=will, **kwargs)
        client.set_config({"reconnect_retries": 0})
        password = read_password(self.cfg)
        if self.cfg.username:
            client.set_auth_credentials(self.cfg.username, password)
        self.lost = asyncio.Event()
        lost = self.lost

        def _on_message(_c: Client, topic: str, payload: bytes, _qos: int, _p: object) -> int:
            self.on_message(topic, payload)
            return 0

        def _on_disconnect(_c: Client, *_a: object, **_k: object) -> None:
            lost.set()

        client.on_message = _on_message
        client.on_disconnect = _on_disconnect
        self.client = client
        self.server = server
        await asyncio.wait_for(
            client.connect(server.host, server.port,
                           ssl=tls_context(self.cfg) if server.tls else False,
                           keepalive=self.cfg.keepalive, version=MQTTv50 if v5 else MQTTv311),
            CONNECT_TIMEOUT_S)
        client.stop_reconnect()

    def subscribe(self, topic: str, qos: int = 1) -> None:
        assert self.client is not None
        self.client.subscribe(topic, qos=qos)

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> None:
        if self.client is None:
            raise ConnectionError("not connected")
        self.client.publish(topic, payload, qos=qos, retain=retain)

    async def disconnect(self) -> None:
        """A clean DISCONNECT (the broker then drops the Will: send NDEATH first)."""
        await self._drop()

    async def _drop(self) -> None:
        client, self.client = self.client, None
        self.lost.set()
        if client is None:
            return
        try:
            await asyncio.wait_for(client.disconnect(), 2.0)
        except Exception:
            pass  # the connection is already gone

    def abort(self) -> None:
        """Forget a dead connection without a DISCONNECT (the broker sends the Will)."""
        client, self.client = self.client, None
        self.lost.set()
        if client is not None:
            try:
                client._connection._transport.abort()
            except Exception:
                pass
