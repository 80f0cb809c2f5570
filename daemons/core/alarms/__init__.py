"""Alarm definitions, shared by alarmd, the CLI and every interface that shows alarms.

condition    the `suppress_when` language (parsed without eval)
definitions  alarm CSV files validated into frozen AlarmDef / AlarmSet
Installed versions and rollback: daemons/core/tagmap/store.py on `alarm_dir(...)`.
"""

from daemons.core.alarms.condition import ConditionError, evaluate, parse_condition
from daemons.core.alarms.definitions import (
    COLUMNS,
    PRIORITIES,
    TYPES,
    AlarmDef,
    AlarmSet,
    alarm_dir,
    load_alarms,
    parse_alarm_files,
)

__all__ = ["COLUMNS", "PRIORITIES", "TYPES", "AlarmDef", "AlarmSet", "ConditionError",
           "alarm_dir", "evaluate", "load_alarms", "parse_alarm_files", "parse_condition"]
