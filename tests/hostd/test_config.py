"""hostd's own configuration file: frozen sections, errors with file:line, unknown keys."""

from __future__ import annotations

import pytest

from daemons.core.problems import ValidationError
from daemons.hostd.config import load_hostd_config, loads_hostd_config

GOOD = """
[hostd]
host_id = "cloud-a"

[mqtt]
host = "broker.example"
shared_group = "hosts"

[database]
dsn = "host=db user=hostd"

[[tenant]]
group_id = "Acme-East"

[[tenant]]
group_id = "globex"
schema = "globex"
reader_role = "globex_grafana"
"""


def test_a_complete_file_loads_into_frozen_sections(tmp_path):
    path = tmp_path / "hostd.toml"
    path.write_text(GOOD)
    cfg = load_hostd_config(path)
    assert cfg.host.host_id == "cloud-a" and cfg.mqtt.version == 5
    assert [(t.group_id, t.schema, t.reader_role) for t in cfg.tenants] == [
        ("Acme-East", "sp_acme_east", "sp_acme_east_reader"),
        ("globex", "globex", "globex_grafana")]
    assert cfg.tenant("globex").schema == "globex" and cfg.tenant("nope") is None
    assert cfg.service("hostd").log_level == "info" and cfg.paths.runtime_dir is None
    with pytest.raises(AttributeError):
        cfg.host.host_id = "x"


def problems(text):
    with pytest.raises(ValidationError) as err:
        loads_hostd_config(text, "/etc/wellgate/hostd.toml")
    return [p.render() for p in err.value.problems]


def test_unknown_keys_are_errors_naming_file_and_line():
    out = problems(GOOD.replace('shared_group = "hosts"', 'shared_grop = "hosts"'))
    assert out == ["/etc/wellgate/hostd.toml:7:1: unknown key 'shared_grop' in mqtt (valid: "
                   "ca_file, cert_file, client_id, host, keepalive, key_file, password_file, "
                   "port, shared_group, tls, username, version)"]


def test_bad_values_each_named_with_their_place():
    text = GOOD.replace('host_id = "cloud-a"', 'host_id = "cloud/a"').replace(
        'schema = "globex"', 'schema = "Globex"') + '[[tenant]]\ngroup_id = "globex"\n'
    out = problems(text)
    assert any(p.startswith("/etc/wellgate/hostd.toml:3:1: 'host_id'") for p in out)
    assert any(":17:1: 'schema' = 'Globex' must be lower-case" in p for p in out)
    assert any(":20:1: group_id 'globex' is already used by tenant[1]" in p for p in out)


def test_shared_subscriptions_need_mqtt5_and_a_tenant_is_required():
    out = problems('[hostd]\nhost_id = "h"\n[mqtt]\nversion = 4\nshared_group = "s"\n'
                   '[database]\ndsn = "x"\n')
    assert any(":5:1: shared subscriptions need MQTT 5" in p for p in out)
    assert any("at least one [[tenant]]" in p for p in out)


def test_missing_file_and_syntax_errors_are_reported_not_raised_raw(tmp_path):
    with pytest.raises(ValidationError, match="cannot read the configuration"):
        load_hostd_config(tmp_path / "absent.toml")
    assert problems("[hostd\n")[0].startswith("/etc/wellgate/hostd.toml:1:")
