"""Communication faults injected into the simulated slaves on demand.

A fault belongs to one device (a unit on a bus or behind a TCP port).  The servers ask the
`FaultBoard` for a `Decision` on every request they are about to answer, so TCP and RTU
misbehave in exactly the same way.  `disconnect` is not decided per request: the site
reconciles it, taking a whole bus or TCP port down while any of its devices has one.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from daemons.core.problems import Problem, ValidationError
from daemons.sim.pdu import Span

KINDS = ("slow", "exception", "drop", "crc", "garbage", "disconnect")
RTU_ONLY = frozenset({"crc"})
MAX_GARBAGE_BYTES = 256
MAX_DELAY_MS = 60_000.0
SOURCE = "<request>"


@dataclass(frozen=True, slots=True)
class Fault:
    """One active fault; `until` is a time.time() deadline or None (until cleared)."""

    device: str
    kind: str
    started: float
    until: float | None = None
    delay_ms: float = 0.0
    code: int = 4
    first: int | None = None
    last: int | None = None
    probability: float = 1.0
    nbytes: int = 8

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """A short human description for the CLI's status (fits 80 columns with the name)."""
        detail = {
            "slow": f"+{self.delay_ms:g} ms",
            "exception": f"code {self.code}"
            + (f" at {self.first}..{self.last}" if self.first is not None else ""),
            "drop": f"p={self.probability:g}",
            "garbage": f"{self.nbytes} bytes",
        }.get(self.kind, "")
        return f"{self.kind} {detail}".strip()


@dataclass(frozen=True, slots=True)
class Decision:
    """What the server does to the reply of one request."""

    drop: bool = False
    exception_code: int | None = None
    delay_s: float = 0.0
    garbage: bytes = b""
    corrupt_crc: bool = False


NO_FAULT = Decision()


def _problem(en: str, es: str) -> Problem:
    return Problem(SOURCE, 0, 0, en=en, es=es)


def _number(params: Mapping[str, Any], key: str, low: float, high: float,
            problems: list[Problem], *, integer: bool = False) -> float | None:
    value = params.get(key)
    if value is None:
        return None
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok and integer:
        ok = float(value).is_integer()
    if not ok or not low <= value <= high:
        kind_en, kind_es = ("an integer", "un entero") if integer else ("a number", "un número")
        problems.append(_problem(
            f"{key} must be {kind_en} from {low:g} to {high:g}, not {value!r}",
            f"{key} debe ser {kind_es} entre {low:g} y {high:g}, no {value!r}"))
        return None
    return float(value)


def make_faults(kind: str, devices: Sequence[str], params: Mapping[str, Any], *,
                rtu: bool, now: float) -> list[Fault]:
    """Validate one fault request and build a Fault per device; ValidationError if wrong.

    params: duration_s, delay_ms (slow), code/first/last (exception), probability (drop),
    bytes (garbage).  `rtu` says whether every target sits on a serial bus.
    """
    problems: list[Problem] = []
    if kind not in KINDS:
        problems.append(_problem(
            f"unknown fault kind {kind!r}; use one of {', '.join(KINDS)}",
            f"tipo de falla desconocido {kind!r}; use uno de {', '.join(KINDS)}"))
        raise ValidationError(problems)
    if kind in RTU_ONLY and not rtu:
        problems.append(_problem(
            "a crc fault applies to Modbus RTU devices only (TCP has no CRC)",
            "una falla crc solo aplica a equipos Modbus RTU (TCP no tiene CRC)"))
    duration = _number(params, "duration_s", 0.001, 10 * 365 * 86400.0, problems)
    delay = _number(params, "delay_ms", 0.0, MAX_DELAY_MS, problems)
    code = _number(params, "code", 1, 255, problems, integer=True)
    first = _number(params, "first", 0, 65535, problems, integer=True)
    last = _number(params, "last", 0, 65535, problems, integer=True)
    probability = _number(params, "probability", 0.0, 1.0, problems)
    nbytes = _number(params, "bytes", 1, MAX_GARBAGE_BYTES, problems, integer=True)
    if kind == "slow" and params.get("delay_ms") is None:
        problems.append(_problem("a slow fault needs delay_ms (--delay-ms)",
                                 "una falla slow necesita delay_ms (--delay-ms)"))
    if first is not None and last is None:
        last = first
    if first is not None and last is not None and last < first:
        problems.append(_problem(f"address range {first:g}..{last:g} is reversed",
                                 f"el rango de direcciones {first:g}..{last:g} está invertido"))
    if problems:
        raise ValidationError(problems)
    return [Fault(
        device=name, kind=kind, started=now,
        until=None if duration is None else now + duration,
        delay_ms=delay or 0.0,
        code=int(code) if code is not None else 4,
        first=None if first is None else int(first),
        last=None if last is None else int(last),
        probability=1.0 if probability is None else probability,
        nbytes=8 if nbytes is None else int(nbytes),
    ) for name in devices]


class FaultBoard:
    """The active faults of a site, keyed by (device, kind); used from the event loop only."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._faults: dict[tuple[str, str], Fault] = {}

    def add(self, faults: Iterable[Fault]) -> None:
        """Install faults; a new fault replaces the same kind on the same device."""
        for fault in faults:
            self._faults[(fault.device, fault.kind)] = fault

    def clear(self, devices: Iterable[str] | None = None) -> list[Fault]:
        """Remove every fault (of `devices` if given); returns what was removed."""
        wanted = None if devices is None else set(devices)
        gone = [f for f in self._faults.values() if wanted is None or f.device in wanted]
        for fault in gone:
            del self._faults[(fault.device, fault.kind)]
        return gone

    def expire(self, now: float) -> list[Fault]:
        """Remove the faults whose duration has run out; returns them."""
        gone = [f for f in self._faults.values() if f.until is not None and f.until <= now]
        for fault in gone:
            del self._faults[(fault.device, fault.kind)]
        return gone

    def all(self) -> list[Fault]:
        return sorted(self._faults.values(), key=lambda f: (f.device, f.kind))

    def has(self, device: str, kind: str) -> bool:
        return (device, kind) in self._faults

    def decide(self, device: str, request_spans: Sequence[Span], now: float) -> Decision:
        """The fate of one reply of `device` to a request touching `request_spans`."""
        if not any(f.device == device for f in self._faults.values()):
            return NO_FAULT

        def active(kind: str) -> Fault | None:
            fault = self._faults.get((device, kind))
            if fault is None or (fault.until is not None and fault.until <= now):
                return None
            return fault

        drop = active("drop")
        if drop is not None and self._rng.random() < drop.probability:
            return Decision(drop=True)
        exception_code = None
        exc = active("exception")
        if exc is not None and (exc.first is None or any(
                s.overlaps(exc.first, exc.last if exc.last is not None else exc.first)
                for s in request_spans)):
            exception_code = exc.code
        slow = active("slow")
        garbage = active("garbage")
        return Decision(
            exception_code=exception_code,
            delay_s=slow.delay_ms / 1000.0 if slow is not None else 0.0,
            garbage=self._rng.randbytes(garbage.nbytes) if garbage is not None else b"",
            corrupt_crc=active("crc") is not None,
        )
