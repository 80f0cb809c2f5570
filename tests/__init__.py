"""wellgate's tests as a regular package.

Subprocesses import helpers as `tests.sim.conftest:…` (e.g. the simulator's `--models`):
without this file `tests` would be a namespace package, and a regular package of the same
name installed by a dependency (gmqtt ships one) would win the import.
"""
