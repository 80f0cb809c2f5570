"""One-time, memory-hungry start-up jobs run in a forked child process.

Python rarely gives memory back to the system once it has been used (objects are freed
into the allocator's pools, which stay mapped), so a job that needs tens of MB once, such
as building the OPC-UA standard nodeset or generating the RSA key of the application
certificate, would keep the daemon that big for good.  Forked, the job runs in a copy of
the daemon (nothing to import again, nothing to locate: this works the same in the
frozen multi-call bundle, where `sys.executable -m …` does not), writes its result to
files, and its memory goes when it exits.
"""

from __future__ import annotations

import asyncio
import os
import select
import signal
import time
from collections.abc import Callable

FORK_TIMEOUT_S = 300.0  # a slow ARM gateway needs seconds; a hung child is killed


class ForkedJobError(Exception):
    """The job failed in the child (its error text), timed out, or could not start."""


def _child(job: Callable[[], object], report: int) -> None:
    """The forked side: never returns.  Only this thread exists in the child; it does not
    touch the parent's event loop, sockets or databases, and leaves by os._exit so that
    no inherited finaliser or atexit handler runs twice."""
    code = 1
    try:
        # A signal for the child must not reach the parent's event loop through the
        # wake-up fd it inherited, and SIGTERM (systemd stopping the unit) must end it.
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        job()
        code = 0
    except BaseException as exc:  # everything goes to the parent's log
        try:
            os.write(report, f"{type(exc).__name__}: {exc}".encode()[:2000])
        except OSError:
            pass
    finally:
        os._exit(code)


def _wait_child(pid: int, report: int, timeout_s: float) -> str:
    """The child's error text ('' on success); kills it after `timeout_s`."""
    message = b""
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                message = b"timed out"
                break
            ready, _, _ = select.select([report], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(report, 4096)
                if not chunk:  # EOF: the child has exited (or closed its end)
                    break
                message += chunk
    finally:
        os.close(report)
        _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        return message.decode(errors="replace") or f"the child exited with {code}"
    return ""


async def run_forked(job: Callable[[], object], timeout_s: float = FORK_TIMEOUT_S) -> None:
    """Run `job()` in a forked child and wait for it without blocking the event loop;
    raises ForkedJobError when it fails."""
    report, child_end = os.pipe()
    try:
        pid = os.fork()
    except OSError as exc:
        os.close(report)
        os.close(child_end)
        raise ForkedJobError(f"cannot fork: {exc}") from exc
    if pid == 0:
        os.close(report)
        _child(job, child_end)
    os.close(child_end)
    try:
        error = await asyncio.shield(asyncio.to_thread(_wait_child, pid, report, timeout_s))
    except asyncio.CancelledError:  # stopping while it runs: do not leave it running
        os.kill(pid, signal.SIGKILL)
        raise
    if error:
        raise ForkedJobError(error)
