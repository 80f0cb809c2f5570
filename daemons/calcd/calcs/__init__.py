"""calcd's calculations, one module per well type (plus integrity, for every well)."""
