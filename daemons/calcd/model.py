"""What a calculation declares: inputs (roles), parameters, outputs — and its base class.

Definitions are frozen data, so the catalogue (`wellgate calcs`, docs/calcs.md) is read
from the code itself.  A calculation works on *all* the wells of its type at once (numpy
arrays, one element per well): the engine gathers its inputs with one fancy index per role
and scatters its outputs the same way, so a 1 Hz cycle over hundreds of wells costs a few
array operations per calculation, not Python per tag.  Calculations with per-well logic
(a state machine, a new dynamometer card) loop over their wells inside `compute`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from daemons.calcd.batch import Batch

RATES = ("scan", "card", "test")
KINDS = ("number", "flag", "code", "array")


@dataclass(frozen=True, slots=True)
class Input:
    """A tag the calculation reads, found by (well, role) — or by (None, role) for `site`
    equipment such as the test separator."""

    role: str
    required: bool = True
    site: bool = False
    array: bool = False


@dataclass(frozen=True, slots=True)
class Param:
    """A `[[well]]` parameter (the well type's table, then `[well.reservoir]`)."""

    name: str
    required: bool = True
    default: Any = None  # used when the well does not give it (then never "missing")
    text: bool = False  # a string or list, not a number


@dataclass(frozen=True, slots=True)
class Code:
    """One value of a coded output (a state, a diagnosis) and what it means."""

    value: int
    name: str
    en: str
    es: str


@dataclass(frozen=True, slots=True)
class Output:
    """One result tag, `<WELL>.CALC.<name>`."""

    name: str
    units: str
    kind: str  # number | flag | code | array
    en: str
    es: str
    method: str
    source: str
    codes: tuple[Code, ...] = ()
    length_from: str = ""  # array outputs: their length is that of this input role's tag

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"output {self.name}: kind {self.kind!r} not in {KINDS}")
        if self.kind == "array" and not self.length_from:
            raise ValueError(f"output {self.name}: an array needs length_from")


@dataclass(frozen=True, slots=True)
class CalcDef:
    key: str  # e.g. "esp.flow"; stable: durable state is stored under it
    well_type: str  # a type of daemons/core/roles.py WELL_TYPES, or "*" for every well
    rate: str  # scan (every cycle) | card (per new dynamometer card) | test (per well test)
    en: str
    es: str
    inputs: tuple[Input, ...]
    params: tuple[Param, ...]
    outputs: tuple[Output, ...]
    # A well is part of this calculation only if the tag maps give it one of these roles
    # (a well without annulus gauges has no annulus results, and nothing is "missing").
    applies: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.rate not in RATES:
            raise ValueError(f"{self.key}: rate {self.rate!r} not in {RATES}")

    def output(self, name: str) -> Output:
        return next(o for o in self.outputs if o.name == name)


def tag_name(well: str, output: str) -> str:
    """`W101`, `FILLAGE` → `W101.CALC.FILLAGE` (upper case, like measured tags)."""
    return f"{well}.CALC.{output}".upper()


class Calculation:
    """Base of every calculation; one instance serves all the wells of its type.

    `wells` are the ids of the wells it computes (those whose inputs and parameters are
    all there), in the order of the arrays `compute` sees.  Durable state goes through
    `export_state` / `import_state`: a mapping from a scope (usually the well id; the
    coiled-tubing string id for fatigue) to a JSON-serialisable dict.  The engine saves it
    to calcd's database at least every minute and hands it over across a reload.
    """

    DEF: ClassVar[CalcDef]

    def __init__(self, wells: tuple[str, ...]) -> None:
        self.wells = wells
        # What the daemon lends (the well-test record store, the site's time zone); set
        # by the engine after construction, empty in unit tests.
        self.services: dict[str, Any] = {}

    def compute(self, b: Batch) -> None:
        raise NotImplementedError

    def export_state(self) -> dict[str, dict[str, Any]]:
        return {}

    def import_state(self, state: Mapping[str, Mapping[str, Any]]) -> None:
        """Take back what `export_state` gave (from the database or the previous config)."""
