"""`wellgate calcs` on a serial console: 80 columns, and every input role whole."""

from __future__ import annotations

import pytest

from daemons.calcd.catalogue import CALCULATIONS, render_text


@pytest.mark.parametrize("lang", ["en", "es"])
def test_catalogue_fits_80_columns_and_names_every_role(lang):
    text = render_text(lang)
    assert max(len(line) for line in text.splitlines()) <= 80
    words = set(text.replace(",", " ").split())
    for cls in CALCULATIONS:
        for i in cls.DEF.inputs:
            assert i.role + ("" if i.required else "?") in words, (cls.DEF.key, i.role)
