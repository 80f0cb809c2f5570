"""The life of a daemon: load, start, READY=1, run, reload on SIGHUP, stop on SIGTERM.

Each daemon's ``main.py`` hands a factory to `daemon_main`; everything a systemd service
must get right (sd_notify, watchdog, signals, exit codes, status file, metrics, logging)
is done here once.  Exit codes: 0 clean stop, 1 configuration rejected at start, 70
(EX_SOFTWARE, sysexits.h) anything else — a crash in ``run()``, a failed ``start()`` or
a ``close()`` that missed the stop deadline — so that ``Restart=on-failure`` restarts it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from ..problems import ValidationError
from .context import Component, ServiceContext, ServiceSettings
from .logsetup import LOG_FORMATS, Availability, configure_logging, get_logger, set_level
from .metrics import DaemonMetrics, MetricsServer
from .status import StatusWriter
from .systemd import SystemdNotifier

EXIT_OK = 0
EXIT_CONFIG = 1
EXIT_INTERNAL = 70
DEFAULT_CONFIG = Path("/etc/wellgate/gateway.toml")
STOP_TIMEOUT_S = 5.0  # systemd's TimeoutStopSec in our units is longer; this is our promise
_COOPERATIVE_SHARE = 0.8  # of the stop timeout for run()/close(); the rest for cleanup
_HOUSEKEEPING_S = 0.5

Loader = Callable[[Path], Any]
Factory = Callable[[Any], Component]


def wellgate_version() -> str:
    try:
        return metadata.version("wellgate")
    except metadata.PackageNotFoundError:
        return "0+unknown"  # running from a source checkout that was never installed


def _default_load(path: Path) -> Any:
    from ..config import load_config  # imported lazily: tests bring their own loader

    return load_config(path)


def _log_problems(log: Any, exc: ValidationError, event: str) -> None:
    for p in exc.problems:
        log.error(event, file=p.file, line=p.line, column=p.column, problem=p.en,
                  problema=p.es)


class _Service:
    """One run of one daemon; all state lives here, none at module level."""

    def __init__(self, name: str, config_path: Path, factory: Factory, load: Loader,
                 notifier: SystemdNotifier, version: str, argv: Sequence[str] | None,
                 stop_timeout_s: float) -> None:
        self.name, self.config_path, self.factory, self.load = name, config_path, factory, load
        self.notifier, self.version, self.argv = notifier, version, argv
        self.stop_timeout_s = stop_timeout_s
        self.log = get_logger(f"wellgate.{name}", daemon=name)
        self.stop_event: asyncio.Event | None = None
        self.stop_at: float | None = None
        self.ctx: ServiceContext | None = None
        self.component: Component | None = None
        self.ready = False
        self.reload_task: asyncio.Task[None] | None = None
        self.reload_pending = False
        self.hard_timer: threading.Timer | None = None

    # -- signals ------------------------------------------------------------------------
    def _on_stop_signal(self, signame: str) -> None:
        assert self.stop_event is not None
        if self.stop_event.is_set():
            self.log.warning("already stopping", signal=signame)
            return
        self.log.info("stop requested", signal=signame)
        self.stop_at = time.monotonic()
        self.notifier.stopping()
        self._arm_hard_deadline()
        self.stop_event.set()

    def _on_sighup(self) -> None:
        if self.stop_event is not None and self.stop_event.is_set():
            return
        self.reload_pending = True
        if self.ready and (self.reload_task is None or self.reload_task.done()):
            self.reload_task = asyncio.get_running_loop().create_task(self._reload())

    def _arm_hard_deadline(self) -> None:
        # A close() that blocks the event loop (a synchronous call into a stuck driver)
        # cannot be timed out from inside the loop: a thread enforces the promise.
        def expire() -> None:
            self.log.error("stop deadline passed; exiting without finishing cleanup",
                           timeout_s=self.stop_timeout_s)
            logging.shutdown()
            os._exit(EXIT_INTERNAL)

        self.hard_timer = threading.Timer(self.stop_timeout_s, expire)
        self.hard_timer.daemon = True
        self.hard_timer.start()

    def _remaining(self) -> float:
        start = self.stop_at if self.stop_at is not None else time.monotonic()
        return max(0.0, start + self.stop_timeout_s * _COOPERATIVE_SHARE - time.monotonic())

    # -- main ---------------------------------------------------------------------------
    async def main(self) -> int:
        loop = asyncio.get_running_loop()
        self.stop_event = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_stop_signal, sig.name)
        loop.add_signal_handler(signal.SIGHUP, self._on_sighup)
        try:
            return await self._main()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)

    async def _main(self) -> int:
        assert self.stop_event is not None
        try:
            config = await asyncio.to_thread(self.load, self.config_path)
        except ValidationError as exc:
            _log_problems(self.log, exc, "configuration rejected")
            return EXIT_CONFIG
        settings = ServiceSettings.of(config, self.name)
        set_level(settings.log_level)
        metrics = DaemonMetrics(self.name, self.version)
        status = None
        if settings.runtime_dir is not None:
            status = StatusWriter(settings.runtime_dir, self.name, config_file=self.config_path,
                                  version=self.version, argv=self.argv)
        self.ctx = ctx = ServiceContext(self.name, config, self.config_path, log=self.log,
                                        metrics=metrics, notifier=self.notifier, status=status)
        if status is not None:
            status.write()
        server = self._serve_metrics(metrics, settings.metrics_port)
        if self.notifier.watchdog_note:
            self.log.warning("systemd watchdog disabled", reason=self.notifier.watchdog_note)
        housekeeping = asyncio.get_running_loop().create_task(self._housekeeping())
        try:
            code = await self._lifetime(ctx)
        finally:
            housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await housekeeping
            if server is not None:
                server.close()
        if status is not None:
            if code == EXIT_OK:
                status.remove()
            else:
                status.write()  # left behind on purpose: `wellgate status` shows the crash
        self.log.info("stopped", exit_code=code)
        return code

    async def _lifetime(self, ctx: ServiceContext) -> int:
        assert self.stop_event is not None
        try:
            self.component = self.factory(ctx.config)
        except ValidationError as exc:
            _log_problems(self.log, exc, "configuration rejected")
            return EXIT_CONFIG
        except Exception:
            self.log.exception("could not build the component")
            return EXIT_INTERNAL
        code = await self._phase(self.component.start(ctx), "start")
        if code is not None or self.stop_event.is_set():
            return await self._shutdown(code if code is not None else EXIT_OK)
        self.ready = True
        self.notifier.ready("running")
        ctx.status_text = "running"
        if ctx.status is not None:
            ctx.status.text("running")
            ctx.status.set_state("ready")
        self.log.info("ready", config=str(self.config_path), version=self.version,
                      watchdog_s=self.notifier.watchdog_interval())
        if self.reload_pending:  # SIGHUP arrived while starting
            self._on_sighup()
        code = await self._phase(self.component.run(ctx), "run")
        if code is None and not self.stop_event.is_set():
            self.log.warning("run() returned; stopping")
        return await self._shutdown(code if code is not None else EXIT_OK)

    async def _phase(self, coro: Any, what: str) -> int | None:
        """Run start() or run() until it ends or a stop is requested; an exit code on error."""
        assert self.stop_event is not None and self.ctx is not None
        task = asyncio.ensure_future(coro)
        stopper = asyncio.ensure_future(self.stop_event.wait())
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=self._remaining())
            if not task.done():
                self.log.error(f"{what}() ignored cancellation")
                return EXIT_INTERNAL
        if task.cancelled():
            return None
        exc = task.exception()
        if exc is None:
            return None
        self.ctx.error(what, exc)
        if isinstance(exc, ValidationError) and what == "start":
            _log_problems(self.log, exc, "configuration rejected")
            return EXIT_CONFIG
        self.log.error(f"{what}() failed", exc_info=exc)
        return EXIT_INTERNAL

    async def _shutdown(self, code: int) -> int:
        assert self.component is not None and self.ctx is not None
        if self.stop_at is None:  # stopping on our own (crash, failed start)
            self.stop_at = time.monotonic()
            self.notifier.stopping()
            self._arm_hard_deadline()
        if self.ctx.status is not None:
            self.ctx.status.set_state("stopping")
        if self.reload_task is not None and not self.reload_task.done():
            self.reload_task.cancel()
            await asyncio.wait({self.reload_task}, timeout=self._remaining())
        close = asyncio.ensure_future(self.component.close())
        done, _ = await asyncio.wait({close}, timeout=self._remaining())
        if not done:
            close.cancel()
            self.log.error("close() did not finish in time",
                           timeout_s=round(self.stop_timeout_s * _COOPERATIVE_SHARE, 2))
            return EXIT_INTERNAL
        if not close.cancelled() and close.exception() is not None:
            self.log.error("close() failed", exc_info=close.exception())
            return EXIT_INTERNAL
        return code

    # -- reload -------------------------------------------------------------------------
    async def _reload(self) -> None:
        assert self.ctx is not None and self.component is not None
        ctx = self.ctx
        while self.reload_pending:
            self.reload_pending = False
            self.notifier.reloading()
            if ctx.status is not None:
                ctx.status.set_state("reloading")
            self.log.info("reloading", config=str(self.config_path))
            ok = await self._reload_once(ctx, self.component)
            ctx.metrics.reloads.labels(result="ok" if ok else "failed").inc()
            text = "running" if ok else "running on the previous configuration (reload failed)"
            self.notifier.ready(text)
            ctx.set_status(text)
            if ctx.status is not None:
                ctx.status.set_state("ready")

    async def _reload_once(self, ctx: ServiceContext, component: Component) -> bool:
        try:
            config = await asyncio.to_thread(self.load, self.config_path)
        except ValidationError as exc:
            _log_problems(self.log, exc, "reload rejected")
            if ctx.status is not None:
                ctx.status.error(f"reload: {len(exc.problems)} problem(s) in the configuration")
            return False
        except Exception:
            self.log.exception("reload failed while reading the configuration")
            return False
        try:
            await component.reload(config, ctx)
        except Exception as exc:
            ctx.error("reload", exc)
            self.log.error("reload failed; keeping the previous configuration", exc_info=exc)
            return False
        old_port = ctx.settings.metrics_port
        ctx.config = config
        settings = ctx.settings
        set_level(settings.log_level)
        if settings.metrics_port != old_port:
            self.log.warning("metrics_port changes take effect at the next restart",
                             metrics_port=settings.metrics_port)
        self.log.info("reloaded")
        return True

    # -- helpers ------------------------------------------------------------------------
    def _serve_metrics(self, metrics: DaemonMetrics, port: int) -> MetricsServer | None:
        try:
            server = metrics.serve(port)
        except OSError as exc:
            # Metrics are for diagnosis; a taken port must not stop the acquisition.
            metrics.errors.labels(kind="metrics").inc()
            self.log.error("metrics endpoint unavailable", port=port, reason=str(exc))
            return None
        if server is not None:
            self.log.info("metrics endpoint", url=f"http://{server.host}:{server.port}/metrics")
        return server

    async def _housekeeping(self) -> None:
        assert self.ctx is not None
        status = self.ctx.status
        files = Availability(self.log, "status_file")
        while True:
            if status is not None:
                status.flush()
                # write_error also reflects the state changes written outside this task.
                if status.write_error is not None:
                    files.failed(str(status.path), status.write_error)
                else:
                    files.ok(str(status.path))
            await asyncio.sleep(_HOUSEKEEPING_S)


def run_service(name: str, config_path: Path, factory: Factory, *, load: Loader | None = None,
                argv: Sequence[str] | None = None, log_format: str = "auto",
                version: str | None = None, stop_timeout_s: float = STOP_TIMEOUT_S,
                notifier: SystemdNotifier | None = None) -> int:
    """Run one daemon until it is stopped; returns its exit code.

    `argv` is only recorded in the status file; `notifier` defaults to one built from
    this process's environment (and removed from it, so children do not inherit it).
    """
    configure_logging(log_format)
    log = get_logger(f"wellgate.{name}", daemon=name)
    own_notifier = notifier is None
    notify = SystemdNotifier.from_environ(unset=True) if notifier is None else notifier
    service = _Service(name, Path(config_path).absolute(), factory, load or _default_load, notify,
                       version or wellgate_version(), argv, stop_timeout_s)
    try:
        return asyncio.run(service.main())
    except Exception:
        log.exception("internal error")
        return EXIT_INTERNAL
    finally:
        if service.hard_timer is not None:
            service.hard_timer.cancel()
        if own_notifier:
            notify.close()


def daemon_main(name: str, factory: Factory, argv: Sequence[str] | None = None, *,
                load: Loader | None = None, version: str | None = None,
                stop_timeout_s: float = STOP_TIMEOUT_S) -> int:
    """Command-line entry of a daemon: ``sys.exit(daemon_main("acqd", Acquisition))``."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog=f"wellgate-{name}",
                                     description=f"wellgate {name} daemon")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG,
                        help=f"gateway configuration (default {DEFAULT_CONFIG})")
    parser.add_argument("--log-format", choices=LOG_FORMATS, default="auto",
                        help="json for the journal, console for people; auto picks by "
                             "whether stdout is a terminal")
    args = parser.parse_args(args_in)
    return run_service(name, args.config, factory, load=load, argv=[name, *args_in],
                       log_format=args.log_format, version=version,
                       stop_timeout_s=stop_timeout_s)
