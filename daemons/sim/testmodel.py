"""A test slave with known register contents, for commissioning and for tests.

Like a Modbus test slave on a bench: holding and input registers hold known ramps, a
counter advances with every physics step, and a write to one register shows up (doubled)
in an input register, so a master can check reads, word order, writes and read-back
without any device physics.  Model key: "test_counter".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from daemons.sim.bank import RegisterBank


class StaticModel:
    """A device whose registers only hold what its constructor put there: the base of
    test and benchmark models (no physics, writes ignored, no events)."""

    model: ClassVar[str] = "static"

    def step(self, now: float) -> None:
        pass

    def on_write(self, table: str, address: int, values: list[int]) -> None:
        pass

    def truth(self) -> dict[str, Any]:
        return {}

    def inject(self, event: str, **kwargs: Any) -> None:
        raise ValueError(f"unknown event {event!r}")


HR_BASE = 1000  # hr[i] = HR_BASE + i for i in 0..249
IR_BASE = 2000  # ir[i] = IR_BASE + i for i in 0..9
COUNTER_IR = 10  # ir[10] = physics steps (mod 65536)
ECHO_HR = 300  # a write to hr[300] shows up, doubled, in ir[20] (via the model's on_write)
ECHO_IR = 20
GAP_HR = 260  # hr 250..299 are NOT declared: reads there are exception 02


class CounterModel:
    model: ClassVar[str] = "test_counter"

    def __init__(self, bank: RegisterBank, *, wells: list[str], params: Mapping[str, Any],
                 seed: int = 0) -> None:
        unknown = set(params) - {"offset"}
        if unknown:
            raise ValueError(f"unknown param {sorted(unknown)[0]!r}")
        self.bank = bank
        self.offset = int(params.get("offset", 0))
        self.steps = 0
        self.writes: list[tuple[str, int, list[int]]] = []
        self.events: list[tuple[str, dict[str, Any]]] = []
        bank.set_registers("hr", 0, [HR_BASE + self.offset + i for i in range(250)])
        bank.set_registers("hr", ECHO_HR, [0])
        bank.set_registers("ir", 0, [IR_BASE + self.offset + i for i in range(10)])
        bank.set_registers("ir", COUNTER_IR, [0])
        bank.set_registers("ir", ECHO_IR, [0])
        for i in range(2000):
            bank.set_bit("co", i, i % 3 == 0)
        for i in range(16):
            bank.set_bit("di", i, i % 2 == 1)

    def step(self, now: float) -> None:
        self.steps += 1
        self.bank.set_registers("ir", COUNTER_IR, [self.steps & 0xFFFF])

    def on_write(self, table: str, address: int, values: list[int]) -> None:
        self.writes.append((table, address, list(values)))
        if table == "hr" and address <= ECHO_HR < address + len(values):
            self.bank.set_registers("ir", ECHO_IR, [(values[ECHO_HR - address] * 2) & 0xFFFF])

    def truth(self) -> dict[str, Any]:
        return {"steps": self.steps, "writes": len(self.writes),
                "events": [e for e, _ in self.events]}

    def inject(self, event: str, **kwargs: Any) -> None:
        if event != "bump":
            raise ValueError(f"unknown event {event!r}")
        self.events.append((event, kwargs))
        self.bank.set_registers("hr", 0, [int(kwargs.get("to", 7))])


MODELS: Mapping[str, type] = {"test_counter": CounterModel}
