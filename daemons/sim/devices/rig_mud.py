"""The rig's mud system: returns, pits and trip tank, gas at the shakers, and the well
control side of a kick (influx, U-tube, shut-in pressures with gas migration).

Split out of `drilling_rig` for size: `RigMud` is mixed into `DrillingRig`.  Sources as
there (Bourgoyne et al., Applied Drilling Engineering, SPE 1986, ch. 4 and 6); gas
migration in a shut-in well raises both gauges by 0.052*MW*v_migration*t.
"""

from __future__ import annotations

import math

from daemons.sim.devices.base import relax
from daemons.sim.devices.rig_points import DRILLING, PSI_PER_FT_PPG, SHUT_IN


class RigMud:
    """Mud and well-control part of `DrillingRig` (a mixin over its state)."""

    # --- mud, pits, gas, well control ------------------------------------------------------
    def _fluids(self, now: float, h: float) -> None:
        q_in = self._flow_in()
        rate = self._influx_rate(now, h)  # bbl/min
        self.influx += rate * h / 60.0
        losing = now < self.lost_until and q_in > 50.0
        loss = self.lost_rate if losing else 0.0
        self.lost_total += loss * h / 60.0
        shut = self.activity == SHUT_IN
        target = 0.0 if shut else max(q_in + 42.0 * (rate - loss), 0.0)
        # returns follow the pumps within seconds; the well flows back slowly when they stop
        self.q_out = relax(self.q_out, target, h, 15.0 if target >= self.q_out else 45.0)
        lines_before = self.lines
        self.lines = relax(self.lines, 6.0 if q_in > 50.0 else 0.0, h, 40.0)
        new_hole = self.rop / 3600.0 * h if self.activity == DRILLING else 0.0
        hole_cap = self.p["bit_diameter_in"] ** 2 / 1029.4
        used = new_hole * (hole_cap - self._steel_bbl_ft()) + (
            1.5 * h / 3600.0 if self.activity == DRILLING else 0.0)  # solids control
        gained = 0.0 if shut else rate * h / 60.0
        self.pit_gain += gained
        self.active += (lines_before - self.lines) - used + gained - loss * h / 60.0
        if self.kick and self.kick.get("killed"):  # the influx goes out through the buster
            out = self.pit_gain * (1.0 - math.exp(-h / 1200.0))
            self.pit_gain -= out
            self.active -= out
            self.influx = max(self.influx - out, 0.0)
        self._transfer(h)
        self._gas(now, h, q_in)
        self._pressures(now, h)

    def _influx_rate(self, now: float, h: float) -> float:
        """bbl/min: the injected rate until the injected volume is in; after a shut-in the
        well flows on briefly until the bottom-hole pressure has built up."""
        k = self.kick
        if k is None or k.get("killed"):
            return 0.0
        if self.activity == SHUT_IN:
            return k["rate"] * math.exp(-(now - k["shut_in_time"]) / 40.0)
        return min(k["rate"], max(k["volume"] - self.influx, 0.0) * 60.0 / h)

    def _transfer(self, h: float) -> None:
        """The derrickman tops up the active system from the reserve pit now and then."""
        cap = sum(self.p["pit_capacity_bbl"][:3])
        if self.transfer_left <= 0 and self.active < 0.6 * cap and self.reserve > 40.0 \
                and self.kick is None:
            self.transfer_left = min(30.0, self.reserve - 10.0)
            self.events.append({"time": self.t, "transfer_bbl": self.transfer_left})
        if self.transfer_left > 0:
            moved = min(3.0 * h / 60.0, self.transfer_left)  # 3 bbl/min transfer pump
            self.transfer_left -= moved
            self.reserve -= moved
            self.active += moved

    def _gas(self, now: float, h: float, q_in: float) -> None:
        bg = self.p["gas_background_pct"]
        spikes = 0.0
        for arrival, amount, length in self.gas_queue:
            if arrival <= now <= arrival + length:
                spikes += amount * (1.0 - abs((now - arrival) / length * 2.0 - 1.0))
        self.gas_queue = [g for g in self.gas_queue if now <= g[0] + g[2]]
        # no returns over the gas trap: the detector reads air
        target = 0.2 if self.q_out < 20.0 else bg + 0.01 * self.rop + spikes
        self.gas = relax(self.gas, target, h, 20.0)

    def _pressures(self, now: float, h: float) -> None:
        k = self.kick
        if self.activity == SHUT_IN and k is not None and not k.get("killed"):
            rise = 0.0
            if k["fluid"] == "gas":  # migrating gas carries bottom-hole pressure upwards
                rise = PSI_PER_FT_PPG * self.mw * self.p["migration_ft_h"] * (
                    now - k["shut_in_time"]) / 3600.0
            sidpp, sicp = self._shut_in_pressures()
            self.sidpp = relax(self.sidpp, sidpp + rise, h, 90.0)
            self.sicp = relax(self.sicp, sicp + rise, h, 90.0)
        else:
            self.sidpp = relax(self.sidpp, 0.0, h, 20.0)
            self.sicp = relax(self.sicp, 0.0, h, 20.0)

    def _shut_in_pressures(self) -> tuple[float, float]:
        """Stabilised SIDPP and SICP for the influx now in the well (before migration)."""
        k = self.kick
        if k is None:
            return 0.0, 0.0
        rho = 2.5 if k["fluid"] == "gas" else 8.6
        sidpp = k["underbalance_psi"]
        return sidpp, sidpp + PSI_PER_FT_PPG * (self.mw - rho) * self._influx_height_ft()

