"""What every simulated device shares: parameters, time stepping, noise, register layout.

A model describes its Modbus register map as a tuple of `Point`s (the device's "manual"),
keeps engineering values in `self.values` and lets `publish` encode them into the
`RegisterBank`.  The same points render the reference tag map (`tagmaps/<device>.csv`,
see `daemons.sim.devices.tagmaps`), so the map and the device cannot drift apart; the tag
map test decodes the bank with its own decoder to check both sides.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from daemons.sim.bank import RegisterBank, encode, encode_string, registers_of

_ARRAY = re.compile(r"^(?P<base>[a-z0-9:]+)\[(?P<n>[0-9]+)\]$")
_INT_RANGE = {"int16": (-(2**15), 2**15 - 1), "uint16": (0, 2**16 - 1),
              "int32": (-(2**31), 2**31 - 1), "uint32": (0, 2**32 - 1),
              "int64": (-(2**63), 2**63 - 1), "uint64": (0, 2**64 - 1)}
_STRUCT = {"int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I", "int64": ">q",
           "uint64": ">Q", "float32": ">f", "float64": ">d"}


@dataclass(frozen=True, slots=True)
class Point:
    """One value a device exposes, with everything its reference tag-map row says.

    `well` is an index into the model's wells, or None for site equipment (e.g. the test
    separator itself).  `lo`..`hi` is the engineering range the value stays within.
    """

    key: str  # tag name after the prefix: "THP" -> "W101.THP"
    table: str  # hr | ir | co | di
    address: int  # 0-based
    type: str  # bool | bit:N | int16 ... float64 | string:N | TYPE[COUNT]
    scale: float = 1.0
    offset: float = 0.0
    order: str = "ABCD"
    units: str = ""
    access: str = "r"
    lo: float = 0.0
    hi: float = 0.0
    role: str = ""
    scan: str = "fast"
    deadband: float = 0.0
    well: int | None = 0
    description: str = ""

    @property
    def base(self) -> str:
        m = _ARRAY.match(self.type)
        return m["base"] if m else self.type

    @property
    def count(self) -> int:
        m = _ARRAY.match(self.type)
        return int(m["n"]) if m else 1

    @property
    def width(self) -> int:
        """Registers (or bits) one element occupies."""
        base = self.base
        if base == "bool" or base.startswith("bit:"):
            return 1
        if base.startswith("string:"):
            return int(base.split(":")[1])
        return registers_of(base)

    @property
    def span(self) -> int:
        return self.width * self.count


def _saturate(base: str, raw: float) -> float:
    """A device clips an out-of-range value into its register, as firmware does."""
    if not math.isfinite(raw):
        raw = 0.0
    lim = _INT_RANGE.get(base)
    if lim is not None:
        return float(min(max(round(raw), lim[0]), lim[1]))
    return raw


def encode_point(point: Point, value: Any) -> list[int]:
    """Engineering value(s) -> the registers of `point` (not for bool/bit points)."""
    base = point.base
    if base.startswith("string:"):
        return encode_string(str(value), point.width)
    values = value if point.count > 1 else [value]
    words: list[int] = []
    for v in values:
        raw = _saturate(base, (float(v) - point.offset) / point.scale)
        words.extend(encode(base, raw, point.order))
    return words


def decode_point(point: Point, words: Sequence[int]) -> float:
    """Registers of a scalar numeric point -> engineering value (for masters' writes)."""
    chunks = [int(w).to_bytes(2, "big") for w in words]
    if point.order in ("BADC", "DCBA"):
        chunks = [c[::-1] for c in chunks]
    if point.order in ("CDAB", "DCBA"):
        chunks.reverse()
    (raw,) = struct.unpack(_STRUCT[point.base], b"".join(chunks))
    return raw * point.scale + point.offset


class Drift:
    """A mean-reverting random wander (Ornstein–Uhlenbeck), stepped exactly for any h.

    x relaxes to `mean` with time constant `tau_s` and wanders with stationary standard
    deviation `sigma` (Gillespie, Phys. Rev. E 54, 2084 (1996), exact update formula), so
    a big time gap neither blows up nor freezes the drift.
    """

    __slots__ = ("mean", "sigma", "tau_s", "x")

    def __init__(self, mean: float, sigma: float, tau_s: float, x: float | None = None) -> None:
        self.mean = mean
        self.sigma = sigma
        self.tau_s = tau_s
        self.x = mean if x is None else x

    def advance(self, h: float, rng: np.random.Generator) -> float:
        decay = math.exp(-h / self.tau_s)
        self.x = (self.mean + (self.x - self.mean) * decay
                  + self.sigma * math.sqrt(1.0 - decay * decay) * float(rng.standard_normal()))
        return self.x


def relax(x: float, target: float, h: float, tau_s: float) -> float:
    """First-order lag towards `target`, exact for a constant target (stable for any h)."""
    return target + (x - target) * math.exp(-h / tau_s)


def resolve_params(model: str, defaults: Mapping[str, Any],
                   params: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults overlaid with `params`; unknown names and wrong kinds raise ValueError."""
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ValueError(f"{model}: unknown parameter(s) {', '.join(map(repr, unknown))}; "
                         f"known: {', '.join(sorted(defaults))}")
    out = dict(defaults)
    for name, value in params.items():
        want = defaults[name]
        if isinstance(want, bool):
            if not isinstance(value, bool):
                raise ValueError(f"{model}: parameter {name!r} must be true or false")
        elif isinstance(want, int | float):
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or not math.isfinite(value):
                raise ValueError(f"{model}: parameter {name!r} must be a number")
            value = float(value) if isinstance(want, float) else value
        elif isinstance(want, str) and not isinstance(value, str):
            raise ValueError(f"{model}: parameter {name!r} must be text")
        elif isinstance(want, tuple | list):
            if not isinstance(value, tuple | list) or len(value) != len(want) or not all(
                    isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                    for v in value):
                raise ValueError(f"{model}: parameter {name!r} must be a list of "
                                 f"{len(want)} numbers")
            value = tuple(value)
        out[name] = value
    return out


def require(model: str, ok: bool, what: str) -> None:
    """A parameter range check: ValueError naming the model and the rule."""
    if not ok:
        raise ValueError(f"{model}: {what}")


class DeviceModel:
    """Base of every simulated device (the contract is in docs/simulated-devices.md).

    Subclasses set `model`, `DEFAULTS`, `WELLS` and implement `layout`, `start`,
    `advance`, `apply_write`, `truth` and `inject`.  Time: `step(now)` integrates from the
    last call to `now` in sub-steps of at most `MAX_STEP_S`, but never more than
    `MAX_SUBSTEPS` per call, so a big gap (a suspended laptop, a test jumping a day) costs a
    bounded amount of work; models use exact or unconditionally stable updates for that.
    """

    model: ClassVar[str] = ""
    DEFAULTS: ClassVar[Mapping[str, Any]] = {}
    WELLS: ClassVar[int] = 1
    MAX_STEP_S: ClassVar[float] = 1.0
    MAX_SUBSTEPS: ClassVar[int] = 3600

    def __init__(self, bank: RegisterBank, *, wells: Sequence[str],
                 params: Mapping[str, Any], seed: int = 0) -> None:
        if isinstance(wells, str) or len(wells) != self.WELLS:
            raise ValueError(f"{self.model}: needs {self.WELLS} well(s), got {list(wells)!r}")
        self.bank = bank
        self.wells = tuple(str(w) for w in wells)
        self.p = resolve_params(self.model, self.DEFAULTS, params)
        self.rng = np.random.default_rng(seed)
        self.points: tuple[Point, ...] = self.layout()
        self._by_key = {(pt.key, pt.well): pt for pt in self.points}
        self.values: dict[tuple[str, int | None], Any] = {}
        self._written: dict[tuple[str, int | None], Any] = {}
        self._arrays: dict[tuple[str, int | None], Any] = {}  # last array object encoded
        self.t: float | None = None
        self.check_params()
        for pt in self.points:
            bank.declare(pt.table, pt.address, pt.span)
        self.setup()
        self.publish()

    # --- for subclasses --------------------------------------------------------------
    def layout(self) -> tuple[Point, ...]:
        raise NotImplementedError

    def check_params(self) -> None:
        """Range checks of self.p (ValueError); the base only checked names and kinds."""

    def setup(self) -> None:
        """Initial state and initial register values (set points, identity strings)."""

    def start(self, now: float) -> None:
        """Called at the first step with the wall-clock time."""

    def advance(self, t: float, h: float) -> None:
        """Integrate the physics from t to t + h seconds."""
        raise NotImplementedError

    def refresh(self, now: float) -> None:
        """Set the register values (measurements with their noise) for time `now`."""

    def apply_write(self, point: Point, value: float) -> None:
        """A master wrote `value` (engineering units) to a writable point."""

    def truth(self) -> dict[str, Any]:
        raise NotImplementedError

    def inject(self, event: str, **kwargs: Any) -> None:
        raise ValueError(f"{self.model}: unknown event {event!r}")

    # --- the contract ------------------------------------------------------------------
    def step(self, now: float) -> None:
        if self.t is None or now < self.t - 3600.0:  # first call, or the clock was reset
            self.t = now
            self.start(now)
            self.refresh(now)
            self.publish()
            return
        gap = now - self.t
        if gap <= 0.0:
            return
        n = min(max(1, math.ceil(gap / self.MAX_STEP_S)), self.MAX_SUBSTEPS)
        h = gap / n
        t = self.t
        for _ in range(n):
            self.advance(t, h)
            t += h
        self.t = now
        self.refresh(now)
        self.publish()

    def on_write(self, table: str, address: int, values: list[int]) -> None:
        """Decode from `values` (the bank may already hold newer model output)."""
        end = address + len(values)
        for pt in self.points:
            if pt.table != table or pt.access != "rw":
                continue
            if pt.address + pt.span <= address or pt.address >= end:
                continue
            if pt.base == "bool":
                value = float(bool(values[pt.address - address]))
            else:
                words = list(self.bank.read(table, pt.address, pt.span) or [0] * pt.span)
                for i in range(pt.span):
                    if address <= pt.address + i < end:
                        words[i] = values[pt.address + i - address]
                value = decode_point(pt, words)
            self.apply_write(pt, value)
            self._written.pop((pt.key, pt.well), None)  # re-publish the accepted value
            self._arrays.pop((pt.key, pt.well), None)
        self.publish()

    # --- values and registers ----------------------------------------------------------
    def put(self, key: str, value: Any, well: int | None = 0) -> None:
        self.values[(key, well)] = value

    def get(self, key: str, well: int | None = 0) -> Any:
        return self.values.get((key, well))

    def noisy(self, value: float, sigma: float) -> float:
        return value + sigma * float(self.rng.standard_normal())

    def publish(self) -> None:
        """Encode every value whose registers changed; a master's pending write to a set
        point is not overwritten unless the model itself changed that value."""
        bank = self.bank
        for pt in self.points:
            k = (pt.key, pt.well)
            if k not in self.values:
                continue
            value = self.values[k]
            base = pt.base
            if base == "bool":
                if self._written.get(k) != bool(value):
                    bank.set_bit(pt.table, pt.address, bool(value))
                    self._written[k] = bool(value)
                continue
            if base.startswith("bit:"):
                bit = int(base.split(":")[1])
                if self._written.get(k) != bool(value):
                    bank.set_register_bit(pt.table, pt.address, bit, bool(value))
                    self._written[k] = bool(value)
                continue
            if pt.count > 1:  # a card: encode only when a new array object arrives
                if self._arrays.get(k) is value:
                    continue
                self._arrays[k] = value
            words = encode_point(pt, value)
            if self._written.get(k) != words:
                bank.set_registers(pt.table, pt.address, words)
                self._written[k] = words

    def point(self, key: str, well: int | None = 0) -> Point:
        return self._by_key[(key, well)]
