"""The ISA-18.2 / IEC 62682 alarm states alarmd publishes, and one state transition.

A state is derived, never stored: from the process condition (`active`), the operator's
acknowledgement and the three ways an alarm is taken out of annunciation (out of service,
shelved until a time, suppressed by design), in that order of precedence.
"""

from __future__ import annotations

from dataclasses import dataclass

NORMAL, UNACK, ACKED, RTN_UNACK, SHELVED, SUPPRESSED, OUT_OF_SERVICE = range(7)
STATE_NAMES = ("normal", "unacknowledged", "acknowledged", "rtn_unacknowledged", "shelved",
               "suppressed", "out_of_service")
STATE_NAMES_ES = ("normal", "no reconocida", "reconocida", "normalizada sin reconocer",
                  "archivada", "suprimida", "fuera de servicio")


@dataclass(frozen=True, slots=True)
class Transition:
    """One change of one alarm, as the journal stores it and the ring publishes it.

    The fields after `value` are the alarm's whole persistent state after the change, so
    the journal's last row of an alarm is enough to restore it after a restart.
    """

    alarm_id: str
    at: float  # UTC seconds
    old: int
    new: int
    value: float
    active: bool
    acked: bool
    shelved_until: float  # 0 = not shelved
    out_of_service: bool
    action: str = "eval"  # eval | ack | shelve | unshelve | disable | enable | expire
    user: str = ""
    comment: str = ""
    first_out: bool = False

    @property
    def old_name(self) -> str:
        return STATE_NAMES[self.old]

    @property
    def new_name(self) -> str:
        return STATE_NAMES[self.new]


@dataclass(frozen=True, slots=True)
class SavedState:
    """What survives a restart or a reload for one alarm."""

    active: bool
    acked: bool
    shelved_until: float
    out_of_service: bool
    since: float
    acked_by: str = ""
    suppressed: bool = False  # as last evaluated: a restart does not journal it again
