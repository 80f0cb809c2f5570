"""The [opcua] section: defaults, and bad values named with file:line."""

from __future__ import annotations

import pytest

from daemons.core.config import loads_config
from daemons.core.problems import ValidationError

BASE = '[gateway]\nsite = "pad"\n'


def test_defaults_are_secure():
    cfg = loads_config(BASE, "gw.toml")
    o = cfg.opcua
    assert (o.bind, o.port, o.path) == ("0.0.0.0", 4840, "/wellgate")
    assert not o.allow_none and not o.anonymous
    assert "Basic256Sha256/SignAndEncrypt" in o.policies and o.pki_dir is None


def test_bad_values_are_named_with_their_line():
    text = BASE + ('[opcua]\npolicies = ["Basic128Rsa15/Sign"]\npath = "wellgate"\n'
                   'anonymus = true\n')
    with pytest.raises(ValidationError) as err:
        loads_config(text, "gw.toml")
    rendered = err.value.render("en")
    assert "gw.toml:4" in rendered and "Basic128Rsa15/Sign" in rendered
    assert "gw.toml:5" in rendered and "'path' must start with '/'" in rendered
    assert "gw.toml:6" in rendered and "anonymus" in rendered


def test_no_policy_and_no_none_is_an_error():
    with pytest.raises(ValidationError) as err:
        loads_config(BASE + "[opcua]\npolicies = []\n", "gw.toml")
    assert "no security policy left" in err.value.render("en")
