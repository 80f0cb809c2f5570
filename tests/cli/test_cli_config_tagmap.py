"""`wellgate config` and `wellgate tagmap`, run as a technician would run them."""

MAP_V1 = """\
tag,device,table,address,type,units,well,role
W1.THP,plc1,hr,0,float32,psi,W1,thp
W1.CHP,plc1,hr,2,float32,psi,W1,chp
W1.SPM,plc1,ir,0,uint16,spm,W1,spm
"""


def assert_fits_80(text: str) -> None:
    # A path is printed on a line of its own and may be longer than the screen.
    assert all(len(line) <= 80 for line in text.splitlines()
               if not line.strip().startswith("/")), text


def test_config_validate_ok_and_errors(gateway):
    ok = gateway.run("config", "validate", str(gateway.config), check=True)
    assert "OK" in ok.stdout and "1 device(s)" in ok.stdout
    bad = gateway.write("bad.toml", '[gateway]\nsite = "x"\ncolour = "red"\n[scan.f]\n'
                        'interval = "1"\n')
    proc = gateway.run("config", "validate", str(bad))
    assert proc.returncode == 1
    assert f"{bad}:3:1: unknown key 'colour'" in proc.stdout
    assert f"{bad}:5:1: 'interval' must be a number" in proc.stdout
    es = gateway.run("config", "validate", str(bad), lang="es")
    assert "clave desconocida 'colour'" in es.stdout and es.returncode == 1


def test_usage_errors_exit_2(gateway):
    assert gateway.run("frobnicate").returncode == 2
    assert gateway.run("tagmap").returncode == 2
    assert gateway.run("tagmap", "rollback", "notanumber").returncode == 2


def test_language_follows_lang_env_when_config_is_unreadable(gateway, tmp_path):
    proc = gateway.run("--config", str(tmp_path / "none.toml"), "tagmap", "list",
                       env={"LANG": "es_VE.UTF-8"})
    assert proc.returncode == 1
    assert "no se puede leer" in proc.stderr


def test_tagmap_validate_reports_file_line_column(gateway):
    bad = gateway.write("bad.csv", MAP_V1 + "W1.THP,plc1,ir,9,float32,psi,W1,thp\n"
                                            "W1.X,nodev,hr,20,int16,,,\n")
    proc = gateway.run("tagmap", "validate", str(bad))
    assert proc.returncode == 1
    assert f"{bad}:5:1:" in proc.stdout and "W1.THP" in proc.stdout  # duplicate tag
    assert f"{bad}:6:2:" in proc.stdout and "nodev" in proc.stdout  # unknown device
    good = gateway.write("good.csv", MAP_V1)
    ok = gateway.run("tagmap", "validate", str(good), check=True)
    assert "3 tags" in ok.stdout


def test_apply_diff_list_rollback_cycle(gateway):
    v1 = gateway.write("pad.csv", MAP_V1)
    out = gateway.run("tagmap", "apply", str(v1), "--note", "first", check=True).stdout
    assert "version 1" in out and "no running daemon" in out
    # A new version of the same file name: move CHP, drop SPM, add a tag.
    (gateway.root / "new").mkdir()
    new = gateway.root / "new" / "pad.csv"
    new.write_text("tag,device,table,address,type,units,well,role\n"
                   "W1.THP,plc1,hr,0,float32,psi,W1,thp\n"
                   "W1.CHP,plc1,hr,4,float32,psi,W1,chp\n"
                   "W1.MOTOR_A,plc1,ir,1,uint16,A,W1,motor_current\n")
    diff = gateway.run("tagmap", "diff", "installed", str(new), check=True).stdout
    assert "W1.MOTOR_A" in diff and "W1.SPM" in diff and "W1.CHP" in diff
    assert_fits_80(diff)
    applied = gateway.run("tagmap", "apply", str(new), check=True).stdout
    assert "version 2" in applied
    listing = gateway.run("tagmap", "list", check=True).stdout
    assert "*   2" in listing and "pad.csv" in listing and "first" in listing
    assert_fits_80(listing)
    back = gateway.run("tagmap", "rollback", check=True).stdout
    assert "version 1 reinstalled as version 3" in back
    active = (gateway.root / "tagmaps" / "current" / "pad.csv").read_text()
    assert active == MAP_V1


def test_apply_refuses_an_invalid_set_and_keeps_the_old(gateway):
    gateway.run("tagmap", "apply", str(gateway.write("pad.csv", MAP_V1)), check=True)
    (gateway.root / "new").mkdir()
    bad = gateway.root / "new" / "pad.csv"
    bad.write_text(MAP_V1 + "W1.Y,plc1,hr,1,int16,,,\n")  # overlaps W1.THP
    proc = gateway.run("tagmap", "apply", str(bad))
    assert proc.returncode == 1 and "W1.THP" in proc.stdout
    assert (gateway.root / "tagmaps" / "current" / "pad.csv").read_text() == MAP_V1


def test_a_missing_or_non_csv_file_is_reported_not_a_traceback(gateway):
    for args in (["validate", "rpc1.txt"], ["diff", "installed", "missing.csv"],
                 ["apply", "missing.csv"]):
        proc = gateway.run("tagmap", *args, lang="en")
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert "problem(s) in the tag maps" in proc.stderr
    assert "must be a .csv file" in gateway.run("tagmap", "validate", "rpc1.txt").stdout
