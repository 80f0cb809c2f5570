"""What access control talks about: the eight roles, the modules and operations, users,
scopes and decisions, as frozen data.

Ids are what technicians type (`--role field_operator`) and what the permission file and
the audit log hold; the names are for people, in both languages.  Order matters where a
table is printed: roles go from the field to the office, modules follow the brief.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple

ROLES: Mapping[str, tuple[str, str]] = MappingProxyType({
    "field_operator": ("Field Operator", "Operador de campo"),
    "production_engineer": ("Production Engineer", "Ingeniero de producción"),
    "reservoir_engineer": ("Reservoir Engineer", "Ingeniero de yacimientos"),
    "drilling_engineer": ("Drilling Engineer", "Ingeniero de perforación"),
    "supervisor": ("Supervisor", "Supervisor"),
    "manager": ("Manager", "Gerente"),
    "administrator": ("Administrator", "Administrador"),
    "contractor": ("External Contractor", "Contratista externo"),
})
MODULES: Mapping[str, tuple[str, str]] = MappingProxyType({
    "production": ("production", "producción"),
    "lift": ("artificial lift", "levantamiento artificial"),
    "well_test": ("well test", "prueba de pozo"),
    "drilling": ("drilling", "perforación"),
    "coiled_tubing": ("coiled tubing", "tubería continua"),
    "integrity": ("integrity", "integridad"),
    "alarms": ("alarms", "alarmas"),
    "configuration": ("configuration", "configuración"),
    "users": ("users", "usuarios"),
    "system": ("system", "sistema"),
})
OPERATIONS: Mapping[str, tuple[str, str]] = MappingProxyType({
    "read": ("read", "leer"),
    "write": ("write", "escribir"),
    "execute": ("execute", "ejecutar"),
    "approve": ("approve", "aprobar"),
})
# Where an audit entry comes from (the list; acqd's command sources map onto it).
SOURCES = ("cli", "web", "opcua", "sparkplug", "system")
LANGUAGE_IDS = ("es", "en")
USER_NAME = re.compile(r"^[a-z_][a-z0-9_.\-]{0,31}$")  # a portable Unix-like login name
SYSTEM_NAME = "system"


@dataclass(frozen=True, slots=True)
class Scope:
    """Field → well scope.  Empty means the whole gateway (the organisation level)."""

    fields: frozenset[str] = frozenset()
    wells: frozenset[str] = frozenset()

    @property
    def everything(self) -> bool:
        return not self.fields and not self.wells

    def items(self) -> tuple[str, ...]:
        """As typed on the command line: FIELD, or FIELD/WELL (the well's field)."""
        return tuple(sorted(self.fields) + sorted(self.wells))

    @staticmethod
    def parse(items: tuple[str, ...] | list[str]) -> Scope:
        """From stored items: 'FIELD' or 'FIELD/WELL' (validated by the caller)."""
        fields, wells = set(), set()
        for item in items:
            if "/" in item:
                wells.add(item.split("/", 1)[1])
            else:
                fields.add(item)
        return Scope(frozenset(fields), frozenset(wells))

    def stored(self, field_of: Mapping[str, str]) -> tuple[str, ...]:
        """Items to store: wells keep their field in front so a listing reads naturally."""
        return tuple(sorted(self.fields)) + tuple(
            sorted(f"{field_of.get(w, '')}/{w}" for w in self.wells))


@dataclass(frozen=True, slots=True)
class User:
    """A gateway identity as `authorize` sees it (no credentials in here)."""

    name: str
    roles: frozenset[str]
    scope: Scope = Scope()
    enabled: bool = True
    display_name: str = ""
    language: str = "es"
    system: bool = False  # root, the service user, the daemons themselves
    # Bit per role in ROLES order, computed once: authorize tests it against the matrix
    # with one AND instead of a set intersection per call.
    role_mask: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        mask = 0
        for i, role in enumerate(ROLES):
            if role in self.roles:
                mask |= 1 << i
        object.__setattr__(self, "role_mask", mask)


SYSTEM = User(SYSTEM_NAME, frozenset(), system=True, display_name="wellgate system")


def system_user(name: str) -> User:
    """The system acting through a named Unix account (root, wellgate)."""
    return User(name, frozenset(), system=True, display_name="wellgate system")


class Decision(NamedTuple):
    """The answer of `authorize` and why.  The words are made only when someone reads
    them (`en`, `es`, `reason`): most decisions are only tested for truth.

    A NamedTuple, not a frozen dataclass like the rest: one is made for every check (an
    OPC-UA server checks every browse and write), and a frozen dataclass's __init__ costs
    about four times a tuple's (bench/access.py).  It is just as immutable.
    """

    allowed: bool
    code: str  # allowed, system, disabled, unknown, role, scope, wide, no-well, identity
    user: str = ""
    module: str = ""
    operation: str = ""
    well: str | None = None
    text: tuple[str, str] | None = None  # given words (identity problems)

    def __bool__(self) -> bool:
        return self.allowed

    @property
    def en(self) -> str:
        return _words(self)[0]

    @property
    def es(self) -> str:
        return _words(self)[1]

    def reason(self, lang: str = "en") -> str:
        return self.es if lang == "es" else self.en


def _words(d: Decision) -> tuple[str, str]:
    if d.text is not None:
        return d.text
    op_en, op_es = OPERATIONS.get(d.operation, (d.operation, d.operation))
    mod_en, mod_es = MODULES.get(d.module, (d.module, d.module))
    on_en = f" on well {d.well}" if d.well else ""
    on_es = f" en el pozo {d.well}" if d.well else ""
    if d.code == "system":
        return ("the system account may do everything",
                "la cuenta del sistema puede hacerlo todo")
    if d.code == "allowed":
        return (f"{d.user} may {op_en} {mod_en}{on_en}",
                f"{d.user} puede {op_es} en {mod_es}{on_es}")
    if d.code == "disabled":
        return (f"user '{d.user}' is disabled", f"el usuario '{d.user}' está deshabilitado")
    if d.code == "unknown":
        if d.module not in MODULES:
            return (f"unknown module '{d.module}'", f"módulo desconocido '{d.module}'")
        return (f"unknown operation '{d.operation}'", f"operación desconocida '{d.operation}'")
    if d.code == "role":
        return (f"no role of {d.user} may {op_en} {mod_en}",
                f"ningún rol de {d.user} puede {op_es} en {mod_es}")
    if d.code == "no-well":
        return (f"well '{d.well}' is not on this gateway",
                f"el pozo '{d.well}' no está en este gateway")
    if d.code == "wide":
        return (f"{d.user} is limited to some wells and may only read what is not one "
                f"well's ({mod_en})", f"{d.user} está limitado a algunos pozos y solo puede "
                f"leer lo que no es de un pozo ({mod_es})")
    return (f"well {d.well} is outside {d.user}'s scope",
            f"el pozo {d.well} está fuera del alcance de {d.user}")


def role_mask(roles: tuple[str, ...] | frozenset[str]) -> int:
    return sum(1 << i for i, r in enumerate(ROLES) if r in roles)
