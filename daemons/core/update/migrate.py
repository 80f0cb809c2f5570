"""Configuration migrations an image version applies to gateway.toml before it runs.

`wellgate update apply` asks the NEW version (its own `wellgate update migrate-config`)
to migrate a copy of the running configuration and then to validate it, before anything
is switched: only the code that will read the file knows what it needs.  Each migration
takes the file's text and returns it changed or unchanged, and must be idempotent (a
file migrated once may be migrated again by a later version).  Text, not parsed TOML,
so that the technicians' comments survive.

No migration exists yet: the configuration format has not changed since the first
image.  The first one that renames or moves an option goes here.
"""

from __future__ import annotations

from collections.abc import Callable

Migration = Callable[[str], str]
MIGRATIONS: tuple[Migration, ...] = ()


def migrate(text: str, migrations: tuple[Migration, ...] | None = None) -> str:
    for step in MIGRATIONS if migrations is None else migrations:
        text = step(text)
    return text
