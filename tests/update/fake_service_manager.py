#!/usr/bin/env python3
"""A service manager hook for `wellgate update … --service-manager command:…` where
systemd is not PID 1 (the tests).

    fake_service_manager.py ROOT restart UNIT
    fake_service_manager.py ROOT state UNIT…

`restart wellgate.target` runs each daemon of the version `ROOT/opt/wellgate/current`
names, once, as systemd would start it: exit 0 means it reached READY (the stand-in
images' daemons print and exit), anything else is a failed unit.  The states are kept
in ROOT/run/fake-systemd.json; every call is appended to ROOT/run/fake-systemd.log.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

DAEMONS = ("acqd", "calcd", "alarmd", "forwardd", "opcuad", "webd")


def main(argv: list[str]) -> int:
    root, command, units = Path(argv[1]), argv[2], argv[3:]
    run = root / "run"
    run.mkdir(parents=True, exist_ok=True)
    with (run / "fake-systemd.log").open("a") as log:
        log.write(" ".join([command, *units]) + "\n")
    states_file = run / "fake-systemd.json"
    states = json.loads(states_file.read_text()) if states_file.exists() else {}
    if command == "restart":
        current = root / "opt" / "wellgate" / "current"
        for daemon in DAEMONS:
            program = current / daemon
            if not program.exists():
                continue
            unit = f"wellgate-{daemon}.service"
            done = subprocess.run([str(program), "--config", "/dev/null"], capture_output=True,
                                  timeout=60)
            before = states.get(unit, {"restarts": 0})
            states[unit] = {"active": "active" if done.returncode == 0 else "failed",
                            "restarts": before["restarts"]}
        states_file.write_text(json.dumps(states))
        return 0
    if command == "state":
        for unit in units:
            s = states.get(unit, {"active": "inactive", "restarts": 0})
            print(unit, s["active"], s["restarts"])
        return 0
    print(f"unknown command {command}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
