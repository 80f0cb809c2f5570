"""Tag maps: which Modbus registers hold which tag, validated once at the edge.

model   the frozen definitions (TagDef, TagMap, TagMapContext)
parse   CSV files in and out: parse_tagmap_file, load_tagmaps, write_tagmap_csv
rows    the checks of one row (used by parse)
diff    what changes between two maps, rendered for an 80-column console
store   installed versions (apply, rollback) — imported on its own: `from … import store`
"""

from daemons.core.tagmap.diff import TagMapDiff, changed_fields, diff_tagmaps, render_diff
from daemons.core.tagmap.model import (
    ACCESS,
    ADDRESS_SPACE,
    BASE_TYPES,
    BIT_TABLES,
    COLUMNS,
    INPUT_TABLES,
    ORDERS,
    REGISTER_TABLES,
    REQUIRED_COLUMNS,
    RESERVED_PREFIX,
    TABLES,
    DeviceRef,
    TagDef,
    TagMap,
    TagMapContext,
    format_type,
    unit_range,
)
from daemons.core.tagmap.parse import (
    load_tagmaps,
    parse_tagmap_bytes,
    parse_tagmap_file,
    tag_row,
    write_tagmap_csv,
)

__all__ = [
    "ACCESS", "ADDRESS_SPACE", "BASE_TYPES", "BIT_TABLES", "COLUMNS", "INPUT_TABLES", "ORDERS",
    "REGISTER_TABLES", "REQUIRED_COLUMNS", "RESERVED_PREFIX", "TABLES", "DeviceRef", "TagDef",
    "TagMap", "TagMapContext", "TagMapDiff", "changed_fields", "diff_tagmaps", "format_type",
    "load_tagmaps", "parse_tagmap_bytes", "parse_tagmap_file", "render_diff", "tag_row",
    "unit_range", "write_tagmap_csv",
]
