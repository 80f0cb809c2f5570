"""The catalogue of calcd's results, read from the calculations' own definitions.

`wellgate calcs [--json]` prints it; docs/calcs.md is generated from it
(`python -m daemons.calcd.catalogue --write docs/calcs.md`) and a test fails when the page
and the code disagree.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

from daemons.calcd.calcs.coiled_tubing import CtFatigue, CtMechanics
from daemons.calcd.calcs.drilling import DrillingHydraulics, DrillingMechanics, KillSheet
from daemons.calcd.calcs.esp import EspFlow, EspIntake, EspMotor
from daemons.calcd.calcs.gaslift import GasLift
from daemons.calcd.calcs.integrity import (
    AnnulusAMargin,
    AnnulusBMargin,
    AnnulusCMargin,
    SustainedCasingPressure,
)
from daemons.calcd.calcs.pcp import Pcp
from daemons.calcd.calcs.rigwatch import RigWatch
from daemons.calcd.calcs.rodpump import RodPumpCard, RodPumpRuntime
from daemons.calcd.calcs.welltest import WellTest
from daemons.calcd.model import Calculation

CALCULATIONS: tuple[type[Calculation], ...] = (
    RodPumpCard, RodPumpRuntime,
    EspIntake, EspFlow, EspMotor,
    GasLift,
    Pcp,
    WellTest,
    DrillingMechanics, DrillingHydraulics, RigWatch, KillSheet,
    CtMechanics, CtFatigue,
    AnnulusAMargin, AnnulusBMargin, AnnulusCMargin, SustainedCasingPressure,
)

TYPE_TITLES = {
    "rod_pump": ("Rod pump", "Bombeo mecánico"), "esp": ("ESP", "BES"),
    "gas_lift": ("Gas lift", "Levantamiento artificial por gas"),
    "pcp": ("PCP", "BCP"), "flowing": ("Flowing wells on a test header",
                                       "Pozos fluyentes en un múltiple de prueba"),
    "drilling": ("Drilling", "Perforación"), "coiled_tubing": ("Coiled tubing",
                                                             "Tubería flexible"),
    "*": ("Integrity (every well with annulus gauges)",
          "Integridad (todo pozo con manómetros de anular)"),
}


def entries() -> list[dict[str, Any]]:
    """One dict per result: what `wellgate calcs --json` prints."""
    out = []
    for cls in CALCULATIONS:
        d = cls.DEF
        for o in d.outputs:
            out.append({
                "name": o.name, "tag": f"<WELL>.CALC.{o.name}", "units": o.units,
                "kind": o.kind, "well_type": d.well_type, "calculation": d.key,
                "rate": d.rate, "en": o.en, "es": o.es,
                "inputs": [{"role": i.role, "required": i.required, "site": i.site}
                           for i in d.inputs],
                "params": [{"name": p.name, "required": p.required and p.default is None,
                            "default": p.default} for p in d.params],
                "method": o.method, "source": o.source,
                "codes": [{"value": c.value, "name": c.name, "en": c.en, "es": c.es}
                          for c in o.codes],
            })
    return out


def render_json() -> str:
    return json.dumps(entries(), indent=2, ensure_ascii=False)


def render_text(lang: str = "en", width: int = 80) -> str:
    """For the console: per calculation its inputs, then its results with units."""
    es = lang == "es"
    rows = ["Resultados de calcd (<POZO>.CALC.<NOMBRE>); '?' = entrada opcional" if es
            else "calcd results (<WELL>.CALC.<NAME>); '?' = optional input"]
    current = None
    for cls in CALCULATIONS:
        d = cls.DEF
        if d.well_type != current:
            current = d.well_type
            rows += ["", TYPE_TITLES.get(current, (current, current))[es]]
        roles = ", ".join(i.role + ("" if i.required else "?") for i in d.inputs)
        rate = {"scan": ("every scan", "cada barrido"), "card": ("per card", "por carta"),
                "test": ("per test", "por prueba")}[d.rate][es]
        rows.append(f"  {d.es if es else d.en} [{d.key}, {rate}]"[:width])
        # Wrapped, not cut: a technician needs every role to write the tag maps.
        rows += textwrap.wrap(roles, width, initial_indent="    " + ("entradas: " if es
                                                                  else "inputs: "),
                              subsequent_indent="      ", break_on_hyphens=False)
        for o in d.outputs:
            rows.append(f"    {o.name:<22} {o.units or '-':<8} {o.es if es else o.en}"[:width])
    return "\n".join(rows) + "\n"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown() -> str:
    lines = [
        "# calcd results (generated)",
        "",
        "Every result calcd publishes, generated from the calculations' definitions by",
        "`python -m daemons.calcd.catalogue --write docs/calcs.md` (a test fails when this",
        "page and the code disagree).  Results are tags `<WELL>.CALC.<NAME>` with units and",
        "quality; inputs are found by (well, role) in the tag maps, parameters in the",
        "well's `[[well]]` tables (`?` marks an optional input; a parameter with a default",
        "is optional).  See docs/calcd.md for how the daemon runs them.",
    ]
    by_calc: dict[str, list[dict[str, Any]]] = {}
    for e in entries():
        by_calc.setdefault(e["calculation"], []).append(e)
    current = None
    for cls in CALCULATIONS:
        d = cls.DEF
        if d.well_type != current:
            current = d.well_type
            lines += ["", f"## {TYPE_TITLES.get(current, (current, ''))[0]}"]
        ins = ", ".join(f"`{i.role}`{'' if i.required else '?'}"
                        + (" (site)" if i.site else "") for i in d.inputs) or "—"
        pars = ", ".join(f"`{p.name}`" + ("" if p.default is None else f" = {p.default}")
                         for p in d.params) or "—"
        lines += ["", f"### {d.en} — `{d.key}` (per {d.rate})", "",
                  f"Inputs: {ins}.  Parameters: {pars}.", "",
                  "| result | units | meaning | method | source |",
                  "|---|---|---|---|---|"]
        for e in by_calc[d.key]:
            lines.append(f"| `{e['name']}` | {e['units'] or '—'} | {_md_cell(e['en'])} | "
                         f"{_md_cell(e['method'])} | {_md_cell(e['source'])} |")
        for e in by_calc[d.key]:
            if e["codes"]:
                lines += ["", f"`{e['name']}` codes:", "", "| code | name | meaning |",
                          "|---|---|---|"]
                lines += [f"| {c['value']} | `{c['name']}` | {_md_cell(c['en'])} |"
                          for c in e["codes"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="calcd's result catalogue")
    ap.add_argument("--write", type=Path, help="write the Markdown page here")
    args = ap.parse_args(argv)
    text = render_markdown()
    if args.write:
        args.write.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
