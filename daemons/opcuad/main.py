"""opcuad: the OPC-UA server for SCADA masters, as a wellgate service.

`run(config)` is the daemon; `entry()` the console script (`opcuad --config PATH`).
The address space comes from the tag maps and the rings (model.py, space.py), values
from the rings (live.py), history from the historian (history.py), writes go to acqd
(writes.py); certificates, the trust list and user logins are security.py's.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from types import MappingProxyType
from typing import Any

from asyncua import Server, ua
from asyncua.common.callback import CallbackType

from daemons.core.access.accounts import Accounts
from daemons.core.access.audit import AuditLog
from daemons.core.access.policy import load_policy
from daemons.core.access.users import UserStore
from daemons.core.config import GatewayConfig
from daemons.core.history.reader import default_paths
from daemons.core.opcua_pki import (
    application_uri,
    der,
    describe,
    ensure_certificate,
    make_certificate,
    namespace_uri,
    pki_of,
)
from daemons.core.problems import ValidationError
from daemons.core.ring import RingDirectory, RingError
from daemons.core.service import Availability, ServiceContext, daemon_main
from daemons.core.tagmap import TagMap, TagMapContext, load_tagmaps, store
from daemons.opcuad import encode, monitor, standard_space
from daemons.opcuad.forked import ForkedJobError, run_forked
from daemons.opcuad.history import History
from daemons.opcuad.live import LiveValues
from daemons.opcuad.logins import OffLoopPasswords, check_passwords_off_loop
from daemons.opcuad.model import build_model
from daemons.opcuad.scope import ReadScope, track_session_user
from daemons.opcuad.security import SOURCE, GatewayUsers, TrustList, track_channel_mode
from daemons.opcuad.space import Space
from daemons.opcuad.writes import Ruleset, Writes

TAGMAP_CHECK_S = 2.0  # how often the installed tag-map version is looked at
STATUS_S = 10.0


def policy_types(names: tuple[str, ...], allow_none: bool) -> list[ua.SecurityPolicyType]:
    """Config names (Basic256Sha256/Sign …) as asyncua's SecurityPolicyType members."""
    out = [ua.SecurityPolicyType[n.replace("_", "").replace("/", "_")] for n in names]
    if allow_none:
        out.append(ua.SecurityPolicyType.NoSecurity)
    return out


def load_tagmap(config: GatewayConfig) -> TagMap | None:
    files = store.active_files(config.paths.tagmap_dir)
    if not files:
        return None
    return load_tagmaps(files, TagMapContext.from_config(config),
                        version=store.current_version(config.paths.tagmap_dir))


class OpcuaDaemon:
    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.server: Server | None = None
        self.standard_nodes: standard_space.NodeFile | None = None
        self.audit: AuditLog | None = None
        self.users: UserStore | None = None
        self.rings: RingDirectory | None = None
        self.live: LiveValues | None = None
        self.space: Space | None = None
        self.writes: Writes | None = None
        self.user_manager: GatewayUsers | None = None
        self.reads: ReadScope | None = None
        self.passwords = OffLoopPasswords()  # one login thread for the daemon's life
        self.tagmap: TagMap | None = None
        self.tagmap_version = -2
        self.ring_names: tuple[str, ...] = ()
        self.endpoint = ""

    # -- start ---------------------------------------------------------------------------
    def _accounts(self, config: GatewayConfig, log: Any) -> Accounts:
        assert self.audit is not None
        if self.users is not None:
            self.users.close()
        self.users = UserStore(config.paths.state_dir)
        return Accounts(self.users, self.audit, load_policy(config), config.access,
                        hasher=self.passwords)

    async def _certificate(self, pki: Any, log: Any) -> tuple[Any, bool]:
        """The application certificate; on the first start its RSA key is generated in a
        forked child (forked.py): OpenSSL keeps about 1.5 MB from doing it here."""
        made = False
        if not (pki.cert.is_file() and pki.key.is_file()):
            try:
                await run_forked(lambda: make_certificate(self.config, pki))
                made = True
            except ForkedJobError as exc:  # then ensure_certificate makes it here
                log.warning("could not make the certificate in a child process",
                            error=str(exc))
        cert, made_here = ensure_certificate(self.config, pki)
        return cert, made or made_here

    async def start(self, ctx: ServiceContext) -> None:
        cfg = self.config
        opc = cfg.opcua
        if not opc.enabled:
            ctx.log.warning("[opcua] enabled = false: serving nothing")
            return
        site = cfg.gateway.site
        # First, before any database is open: a missing node file or certificate is made
        # in a forked child, which should inherit as little as possible.  The node file
        # (about 1.7 s to build, once) is awaited only where the server needs it: the
        # certificate's child and the rest of the start run meanwhile.
        nodes = asyncio.ensure_future(standard_space.prepare(cfg.paths.state_dir, ctx.log))
        await asyncio.sleep(0)  # let it fork now, before the certificate's child
        pki = pki_of(cfg)
        try:
            cert, made = await self._certificate(pki, ctx.log)
        except BaseException:
            nodes.cancel()
            raise
        self.audit = AuditLog(cfg.paths.state_dir, log=ctx.log)
        info = describe(cert)
        if made:
            ctx.log.info("application certificate created", **info)
            self.audit.append("system", SOURCE, "opcua.certificate.created", info["thumbprint"],
                              {"hostnames": info["hostnames"], "not_after": info["not_after"]})
        # asyncua logs every request at INFO: at SCADA poll rates that is most of the CPU.
        logging.getLogger("asyncua").setLevel(
            logging.DEBUG if ctx.settings.log_level == "debug" else logging.WARNING)
        monitor.install()
        encode.install()
        track_channel_mode()
        check_passwords_off_loop()
        track_session_user()
        self.user_manager = GatewayUsers(self._accounts(cfg, ctx.log), opc.anonymous, ctx.log)
        server = self.server = Server(user_manager=self.user_manager)
        self.standard_nodes = await nodes
        if self.standard_nodes is not None:
            standard_space.install(server, self.standard_nodes)
        await server.init()
        self.endpoint = f"opc.tcp://{opc.bind}:{opc.port}{opc.path}"
        server.set_endpoint(self.endpoint)
        server.set_server_name(f"wellgate {site}")
        await server.set_application_uri(application_uri(site))
        server.set_security_policy(policy_types(opc.policies, opc.allow_none),
                                   permission_ruleset=Ruleset(read_only=False))
        tokens: list[type] = [ua.UserNameIdentityToken]
        if opc.anonymous:
            tokens.append(ua.AnonymousIdentityToken)
        server.set_identity_tokens(tokens)
        # As bytes, not paths: asyncua reads a path through anyio, whose asyncio back end
        # and worker thread cost about 1.5 MB of RSS for two small files.
        await server.load_certificate(der(cert), format="der")
        key = pki.key.read_bytes()
        await server.load_private_key(
            key, format="pem" if key.lstrip().startswith(b"-----BEGIN") else "der")
        server.set_certificate_validator(TrustList(pki, self.audit, ctx.log))
        ns = await server.register_namespace(namespace_uri(site))
        iserver = server.iserver
        history = iserver.history_manager = History(iserver, ns, lambda: default_paths(
            self.config.paths.state_dir), opc.history_max_values)
        self.writes = Writes(ns, iserver.attribute_service.write, cfg.paths.state_dir,
                             cfg.paths.runtime_dir, load_policy(cfg),
                             MappingProxyType({w.id: w.type for w in cfg.wells.values()}),
                             self.audit, ctx.log)
        iserver.attribute_service.write = self.writes.write  # type: ignore[method-assign]
        self.reads = ReadScope(ns, self.writes.lookup, self.writes.policy, cfg.wells,
                               self.writes.well_types)
        # asyncua keeps one listener per event and priority: a priority each
        for priority, listener in enumerate((self.reads.after_read,
                                             self.writes.user_access_levels)):
            iserver.callback_service.addListener(CallbackType.PostRead, listener, priority)
        history.refuses = self.reads.refuses
        monitor.set_read_guard(self.reads.refuses)
        self.rings = RingDirectory(cfg.paths.runtime_dir)
        self.live = LiveValues(self.rings, iserver.aspace, ns)
        self.space = Space(server, ns, self.live.read)
        await self._sync(ctx, announce=False)
        await server.start()
        for factory in server._policies:  # security None: read-only whoever logs in
            if factory.mode == ua.MessageSecurityMode.None_:
                factory.permission_ruleset = Ruleset(read_only=True)
        ctx.log.info("listening", endpoint=self.endpoint, namespace=namespace_uri(site),
                     namespace_index=ns, policies=list(opc.policies), allow_none=opc.allow_none,
                     anonymous=opc.anonymous, nodes=len(self.space.model.variables),
                     standard_space=str(self.standard_nodes.path) if self.standard_nodes
                     else "in memory", nodes_in_memory=len(iserver.aspace._nodes))
        self.audit.append("system", SOURCE, "service.start", "opcuad", {"pid": os.getpid()})

    # -- address space -------------------------------------------------------------------
    async def _sync(self, ctx: ServiceContext, *, announce: bool = True) -> None:
        """Rebuild the model from the tag map and ring slots; apply the difference."""
        assert self.live is not None and self.space is not None and self.writes is not None
        try:
            tagmap = load_tagmap(self.config)
        except ValidationError as exc:
            ctx.log.error("tag map rejected; keeping the last good one",
                          problems=[p.en for p in exc.problems[:5]])
            tagmap = self.tagmap
        self.tagmap = tagmap
        self.tagmap_version = store.current_version(self.config.paths.tagmap_dir)
        self.writes.tagmap = tagmap
        if self.reads is not None:
            self.reads.tagmap = tagmap
        try:
            slots = self.live.slots()
        except RingError:
            slots = {}
        self.ring_names = tuple(slots)
        tags = {t.name: t for t in tagmap} if tagmap is not None else {}
        model = build_model(self.config.gateway.site, self.config.wells, tags, slots)
        added, removed = self.space.apply(model)
        monitor.set_spans(self.space.spans())
        self.live.bind(dict(model.variables))
        if added or removed:
            ctx.log.info("address space updated", added=len(added), removed=len(removed),
                         nodes=len(model.variables))
        if announce:
            await self.space.announce(added, removed)

    # -- run -----------------------------------------------------------------------------
    async def run(self, ctx: ServiceContext) -> None:
        if self.server is None:
            while True:
                ctx.heartbeat()
                await asyncio.sleep(1.0)
        assert self.live is not None
        period = self.config.opcua.poll_ms / 1000.0
        rings_up = Availability(ctx.log, "rings")
        last_check = last_status = 0.0
        changes = 0
        while True:
            started = time.monotonic()
            try:
                changes += self.live.poll()
                await self.live.flush()
                rings_up.ok("rings")
            except RingError as exc:
                rings_up.failed("rings", exc)
            if started - last_check > TAGMAP_CHECK_S:
                last_check = started
                version = store.current_version(self.config.paths.tagmap_dir)
                relaid = bool(self.live.names) and set(self.live.names) != set(self.ring_names)
                if version != self.tagmap_version or relaid:
                    await self._sync(ctx)
            if started - last_status > STATUS_S:
                last_status = started
                sessions = len(getattr(self.server.iserver, "_external_sessions", {}) or {})
                ctx.set_status(f"{len(self.space.model.variables) if self.space else 0} nodes, "
                               f"{changes} changes, {self.live.delivered} notifications, "
                               f"{sessions} sessions")
            ctx.heartbeat(time.monotonic() - started)
            await asyncio.sleep(max(0.0, period - (time.monotonic() - started)))

    async def reload(self, config: Any, ctx: ServiceContext) -> None:
        """Users, policy and tag maps change in place; a new endpoint needs a restart."""
        old = self.config.opcua
        if (config.opcua.bind, config.opcua.port, config.opcua.path, config.opcua.policies,
                config.opcua.allow_none, config.opcua.anonymous) != (
                old.bind, old.port, old.path, old.policies, old.allow_none, old.anonymous):
            ctx.log.warning("OPC-UA endpoint or security changed: restart opcuad to use it")
        self.config = config
        if self.server is None:
            return
        assert self.user_manager is not None and self.writes is not None
        self.user_manager.accounts = self._accounts(config, ctx.log)
        self.writes.policy = load_policy(config)
        self.writes.state_dir = config.paths.state_dir
        self.writes.well_types = MappingProxyType({w.id: w.type for w in config.wells.values()})
        if self.reads is not None:
            self.reads.policy, self.reads.wells = self.writes.policy, config.wells
            self.reads.well_types = self.writes.well_types
        await self._sync(ctx)

    async def close(self) -> None:
        if self.server is not None:
            try:
                await asyncio.wait_for(self.server.stop(), 3.0)
            except (TimeoutError, Exception):  # closing whatever happens
                pass
        if self.rings is not None:
            self.rings.close()
        if self.audit is not None:
            try:
                self.audit.append("system", SOURCE, "service.stop", "opcuad",
                                  {"pid": os.getpid()})
            finally:
                self.audit.close()
        if self.users is not None:
            self.users.close()
        if self.standard_nodes is not None:
            self.standard_nodes.close()
        self.passwords.close()


def run(config: GatewayConfig) -> OpcuaDaemon:
    """The component for `config` (DESIGN.md: each daemon's main.py has run(config))."""
    return OpcuaDaemon(config)


def entry() -> None:
    sys.exit(daemon_main("opcuad", run))


if __name__ == "__main__":
    entry()

