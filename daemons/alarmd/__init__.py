"""alarmd: ISA-18.2 alarm management over the rings, with a durable alarm journal."""
