"""The cloud link's state as forwardd last wrote it, for `wellgate cloud status`.

``<runtime_dir>/status/forwardd-cloud.json``, replaced atomically (temporary file and
rename) about once a second while forwardd runs.  A reader compares ``updated`` with the
clock: a file older than `STALE_AFTER_S` means forwardd is not running (or hung).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

FILE_NAME = "forwardd-cloud.json"
STALE_AFTER_S = 15.0


def path_of(runtime_dir: Path) -> Path:
    return Path(runtime_dir) / "status" / FILE_NAME


def write_cloud_status(runtime_dir: Path, doc: dict[str, Any]) -> None:
    path = path_of(runtime_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({**doc, "updated": time.time()}, indent=1, sort_keys=True))
    os.replace(tmp, path)


def read_cloud_status(runtime_dir: Path) -> dict[str, Any] | None:
    """The last status, with ``stale`` set when it is too old; None when there is none."""
    try:
        doc = json.loads(path_of(runtime_dir).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict):
        return None
    updated = doc.get("updated")
    doc["stale"] = not isinstance(updated, (int, float)) or \
        time.time() - updated > STALE_AFTER_S
    return doc
