"""Well integrity, for every well with annulus gauges: pressure margin to each annulus's
MAWOP and sustained casing pressure (build-up after a bleed-down, API RP 90).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from daemons.calcd import quality as qm
from daemons.calcd.batch import Batch
from daemons.calcd.model import CalcDef, Calculation, Input, Output, Param

API_RP_90 = "API RP 90, Annular Casing Pressure Management for Offshore Wells (2006)"
LETTERS = ("A", "B", "C")


def _annulus_calc(letter: str) -> type[Calculation]:
    role = f"annulus_{letter.lower()}_pressure"
    param = f"mawop_{letter.lower()}_psi"

    class AnnulusMargin(Calculation):
        DEF = CalcDef(
            f"integrity.annulus_{letter.lower()}", "*", "scan",
            f"{letter} annulus pressure margin", f"Margen de presión del anular {letter}",
            inputs=(Input(role),), params=(Param(param),), applies=(role,),
            outputs=(Output(
                f"ANN_{letter}_MARGIN", "psi", "number",
                f"{letter} annulus pressure below its MAWOP",
                f"presión del anular {letter} por debajo de su MAWOP",
                "MAWOP − annulus pressure (negative: above the MAWOP)",
                f"{API_RP_90}, MAWOP definition"),))

        def compute(self, b: Batch) -> None:
            b.set(f"ANN_{letter}_MARGIN", b.param(param) - b.value(role))

    AnnulusMargin.__name__ = AnnulusMargin.__qualname__ = f"Annulus{letter}Margin"
    return AnnulusMargin


AnnulusAMargin = _annulus_calc("A")
AnnulusBMargin = _annulus_calc("B")
AnnulusCMargin = _annulus_calc("C")

ROLES = tuple(f"annulus_{x.lower()}_pressure" for x in LETTERS)
RING = 30  # one sample a minute: the bleed-down is judged against the last 30 minutes
BLEED_FRACTION = 0.5  # a drop to half the recent maximum ...
BLEED_MIN_PSI = 50.0  # ... by at least this much is a bleed-down


class SustainedCasingPressure(Calculation):
    DEF = CalcDef(
        "integrity.scp", "*", "scan", "Sustained casing pressure",
        "Presión sostenida en el revestidor",
        inputs=tuple(Input(r, required=False) for r in ROLES),
        params=(Param("scp_buildup_psi", default=100.0), Param("scp_window_h", default=24.0)),
        applies=ROLES,
        outputs=(Output(
            "SCP_SUSPECTED", "", "flag", "sustained casing pressure suspected",
            "se sospecha presión sostenida en el revestidor",
            "per annulus: a bleed-down (pressure falls to half its maximum of the last 30 "
            "min, by 50 psi or more) followed, within `scp_window_h`, by a build-up of "
            "`scp_buildup_psi` or more above the lowest pressure after the bleed; a purely "
            "thermal pressure does not build up again.  Latched until a later bleed-down "
            "shows no build-up", f"{API_RP_90}, sect. 4 (diagnostic bleed-down/build-up "
                                  "test)"),))

    def __init__(self, wells: tuple[str, ...]) -> None:
        super().__init__(wells)
        n = len(wells)
        self.ring = np.full((n, 3, RING), np.nan)
        self.minute = -1
        self.bled = np.zeros((n, 3), bool)
        self.bleed_ns = np.zeros((n, 3), np.int64)
        self.p_min = np.full((n, 3), np.nan)
        self.built = np.zeros((n, 3), bool)  # built up since the current bleed
        self.flag = np.zeros((n, 3), bool)

    def compute(self, b: Batch) -> None:
        p = np.stack([np.where(b.usable(r), b.value(r), np.nan) for r in ROLES], axis=1)
        minute = b.now_ns // 60_000_000_000
        if minute != self.minute:
            self.minute = minute
            self.ring = np.roll(self.ring, 1, axis=2)
            self.ring[:, :, 0] = p
        with np.errstate(invalid="ignore"):
            recent = np.nanmax(np.where(np.isnan(self.ring), -np.inf, self.ring), axis=2)
            bleed = (p <= BLEED_FRACTION * recent) & (recent - p >= BLEED_MIN_PSI)
        new = bleed & ~self.bled
        self.bled |= new
        self.bleed_ns = np.where(new, b.now_ns, self.bleed_ns)
        self.p_min = np.where(new, p, self.p_min)
        self.built = np.where(new, False, self.built)
        self.p_min = np.where(self.bled, np.fmin(self.p_min, p), self.p_min)
        buildup = b.param("scp_buildup_psi")[:, None]
        up = self.bled & (p - self.p_min >= buildup)
        self.built |= up
        self.flag |= up
        window = (b.param("scp_window_h")[:, None] * 3.6e12).astype(np.int64)
        over = self.bled & (b.now_ns - self.bleed_ns > window)
        self.flag = np.where(over & ~self.built, False, self.flag)  # bled and stayed down
        self.bled &= ~over
        mapped = np.stack([b.mapped(r) for r in ROLES], axis=1)
        q = qm.worst(*(np.where(b.mapped(r), b.quality(r), qm.GOOD) for r in ROLES))
        b.set("SCP_SUSPECTED", (self.flag & mapped).any(axis=1).astype(float), q)

    def export_state(self) -> dict[str, dict[str, Any]]:
        return {w: {"ring": self.ring[i].tolist(), "bled": self.bled[i].tolist(),
                    "bleed_ns": self.bleed_ns[i].tolist(), "p_min": self.p_min[i].tolist(),
                    "built": self.built[i].tolist(), "flag": self.flag[i].tolist(),
                    "minute": int(self.minute)}
                for i, w in enumerate(self.wells)}

    def import_state(self, state: Mapping[str, Mapping[str, Any]]) -> None:
        for i, w in enumerate(self.wells):
            s = state.get(w)
            if not s:
                continue
            ring = np.array(s["ring"], dtype=float)  # JSON null (NaN) comes back as nan
            if ring.shape == (3, RING):
                self.ring[i] = ring
            self.bled[i] = s["bled"]
            self.bleed_ns[i] = s["bleed_ns"]
            self.p_min[i] = np.array(s["p_min"], dtype=float)
            self.built[i] = s["built"]
            self.flag[i] = s["flag"]
            self.minute = max(self.minute, int(s.get("minute", -1)))
