"""Reference tag maps (tagmaps/<device>.csv) rendered from the simulated devices' maps.

The demo site's devices and wells are listed here once; `render(...)` turns a model's
`Point`s into tag-map rows.  Run `python -m daemons.sim.devices.tagmaps [DIR]` to rewrite
the CSV files after changing a register map; tests/sim/test_tagmaps_match_devices.py checks
the files against the running models with an independent decoder.
"""

from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass
from pathlib import Path

from daemons.sim.devices.base import Point

COLUMNS = ("tag", "device", "unit", "table", "address", "type", "order", "scale", "offset",
           "units", "scan", "deadband", "access", "min", "max", "well", "role", "description")


@dataclass(frozen=True, slots=True)
class DemoDevice:
    name: str
    model: str
    unit: int
    wells: tuple[str, ...]
    site_prefix: str = ""  # prefix of tags that belong to no well (site equipment)


DEMO_DEVICES: tuple[DemoDevice, ...] = (
    DemoDevice("rpc1", "rod_pump_controller", 1, ("W101",)),
    DemoDevice("vsd1", "esp_drive", 2, ("W102",)),
    DemoDevice("annuli1", "annulus_monitor", 3, ("W101", "W102", "W103")),
    DemoDevice("glc1", "gas_lift_controller", 1, ("W103",)),
    DemoDevice("testsep1", "test_separator", 1, ("W104", "W105", "W106"), "TS1"),
    DemoDevice("rig1", "drilling_rig", 1, ("D201",)),
    DemoDevice("ctu1", "coiled_tubing_unit", 1, ("W107",)),
    DemoDevice("pcp1", "pcp_drive", 1, ("W108",)),
)
WELL_TYPES = {"W101": "rod_pump", "W102": "esp", "W103": "gas_lift", "W104": "flowing",
              "W105": "flowing", "W106": "flowing", "W107": "coiled_tubing", "W108": "pcp",
              "D201": "drilling"}


def _num(x: float) -> str:
    if float(x).is_integer():
        return str(int(x))
    return repr(float(x))


def tag_name(point: Point, dev: DemoDevice) -> str:
    owner = dev.site_prefix if point.well is None else dev.wells[point.well]
    return f"{owner}.{point.key}"


def render_rows(points: tuple[Point, ...], dev: DemoDevice) -> list[dict[str, str]]:
    rows = []
    for pt in sorted(points, key=lambda p: (("co", "di", "ir", "hr").index(p.table),
                                             p.address, p.type)):
        bits = pt.base == "bool" or pt.base.startswith("bit:")
        rows.append({
            "tag": tag_name(pt, dev), "device": dev.name, "unit": str(dev.unit),
            "table": pt.table, "address": str(pt.address), "type": pt.type,
            "order": "" if bits or pt.base.startswith("string:") else pt.order,
            "scale": _num(pt.scale), "offset": _num(pt.offset), "units": pt.units,
            "scan": pt.scan, "deadband": _num(pt.deadband), "access": pt.access,
            "min": "" if pt.base.startswith("string:") else _num(pt.lo),
            "max": "" if pt.base.startswith("string:") else _num(pt.hi),
            "well": "" if pt.well is None else dev.wells[pt.well], "role": pt.role,
            "description": pt.description,
        })
    return rows


def render_csv(points: tuple[Point, ...], dev: DemoDevice) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(render_rows(points, dev))
    return out.getvalue()


def expected_files() -> dict[str, str]:
    """file name -> CSV text for every demo device."""
    from daemons.sim.devices import MODELS

    files = {}
    for dev in DEMO_DEVICES:
        cls = MODELS[dev.model]
        points = cls.layout(cls.__new__(cls))  # the map is static: no instance state needed
        files[f"{dev.name}.csv"] = render_csv(points, dev)
    return files


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0]) if args else Path(__file__).resolve().parents[3] / "tagmaps"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in expected_files().items():
        (folder / name).write_text(text, encoding="utf-8")
        print(f"wrote {folder / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
