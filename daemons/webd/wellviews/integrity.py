"""Annulus pressures against their limits, for every well type.

A producing well's annuli are held below their MAWOP (`[well.integrity]`, API RP 90;
calcd's ANN_x_MARGIN); a drilling well's annulus (the casing/choke pressure) below the
MAASP of the last shoe (calcd's MAASP, IWCF).
"""

from __future__ import annotations

from typing import Any

from daemons.webd.wellviews.source import ViewSource


def annuli(src: ViewSource) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if src.well.type == "drilling":
        src.use_roles("casing_pressure")
        src.use_calcs("MAASP")
        if "casing_pressure" in src.tags:
            out.append({"annulus": "A", "key": "casing_pressure", "limit": "MAASP",
                        "limit_psi": src.value("MAASP"), "limit_key": "MAASP",
                        "margin_key": None})
        return out
    for letter in ("a", "b", "c"):
        role = f"annulus_{letter}_pressure"
        src.use_roles(role)
        if role not in src.tags:
            continue
        margin = f"ANN_{letter.upper()}_MARGIN"
        src.use_calcs(margin)
        out.append({"annulus": letter.upper(), "key": role, "limit": "MAWOP",
                    "limit_psi": src.well.param(f"mawop_{letter}_psi"), "limit_key": None,
                    "margin_key": margin})
    if out:
        src.use_calcs("SCP_SUSPECTED")
    return out
