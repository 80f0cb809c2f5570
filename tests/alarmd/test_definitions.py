"""Alarm definition files: the reference files, every column's checks, es/en messages."""

from pathlib import Path

import pytest

from daemons.core.alarms import load_alarms, parse_alarm_files
from daemons.core.problems import ValidationError

REPO = Path(__file__).resolve().parents[2]
HEADER = ("tag,type,limit,priority,deadband,on_delay,off_delay,message_es,message_en,"
          "suppress_when,group,description\n")


def write(tmp_path: Path, body: str, header: str = HEADER, name: str = "a.csv") -> Path:
    p = tmp_path / name
    p.write_text(header + body, encoding="utf-8")
    return p


def test_reference_files_are_valid():
    alarms = load_alarms(sorted((REPO / "alarms").glob("*.csv")))
    ids = {a.id for a in alarms.alarms}
    assert "W101.MOTOR_CURRENT:lo" in ids and "D201.CALC.KICK:event" in ids
    types = {a.type for a in alarms.alarms}
    assert types == {"hihi", "hi", "lo", "lolo", "deviation", "roc", "state", "quality",
                     "event"}


def test_a_valid_row_in_full(tmp_path):
    p = write(tmp_path, "W1.THP,hi,W1.THP_SP,high,10,5,2.5,Alta,High,W1.OFF or W1.RUN == 0,"
                        "W1.TRIP,note\n"
                        "W1.INJ,deviation,W1.SP +- 50,low,,,,,,,,\n")
    hi, dev = load_alarms([p]).alarms
    assert (hi.id, hi.well, hi.limit, hi.limit_tag, hi.deadband, hi.on_delay, hi.off_delay) \
        == ("W1.THP:hi", "W1", None, "W1.THP_SP", 10.0, 5.0, 2.5)
    assert hi.inputs() == ("W1.THP", "W1.THP_SP", "W1.OFF", "W1.RUN")
    assert hi.message("es") == "Alta" and hi.group == "W1.TRIP" and hi.line == 2
    assert (dev.limit_tag, dev.band, dev.message("en")) == ("W1.SP", 50.0, "W1.INJ deviation")


def test_semicolon_files_take_a_decimal_comma(tmp_path):
    p = write(tmp_path, "W1.THP;hi;450,5;high;0,5;;;;;;;\n", header=HEADER.replace(",", ";"))
    (a,) = load_alarms([p]).alarms
    assert (a.limit, a.deadband) == (450.5, 0.5)


@pytest.mark.parametrize(("row", "column", "en"), [
    ("W1.THP,high,1,high,,,,,,,,", 2, "type 'high' is not one of"),
    ("W1.THP,hi,1,urgent,,,,,,,,", 4, "priority 'urgent' is not one of"),
    ("W1.THP,hi,,high,,,,,,,,", 3, "a hi alarm needs a limit"),
    ("W1.THP,hi,abc def,high,,,,,,,,", 3, "is not a tag name"),
    ("W1.THP,hi,1x,high,,,,,,,,", 3, "limit '1x' is not a number"),
    ("W1.THP,roc,-2,high,,,,,,,,", 3, "must be above 0"),
    ("W1.THP,deviation,W1.SP,high,,,,,,,,", 3, "SETPOINT_TAG +- BAND"),
    ("W1.THP,deviation,W1.SP +- 0,high,,,,,,,,", 3, "band must be above 0"),
    ("W1.THP,quality,3,high,,,,,,,,", 3, "takes no limit"),
    ("W1.THP,hi,1,high,-1,,,,,,,", 5, "must not be negative"),
    ("W1.THP,hi,1,high,,90000,,,,,,", 6, "at most 86400"),
    ("W1.THP,hi,1,high,,,x,,,,,", 7, "not a number"),
    ("W1.THP,hi,1,high,,,,,,W1.A ==,,", 10, "suppress_when, at character 8"),
    ("W1.THP,hi,1,high,,,,,,,bad group,", 11, "group 'bad group'"),
    (",hi,1,high,,,,,,,,", 1, "'tag' is empty"),
    ("1W.THP,hi,1,high,,,,,,,,", 1, "is not a tag name"),
])
def test_row_problems_name_line_and_column(tmp_path, row, column, en):
    p = write(tmp_path, "# a comment\n" + row + "\n")
    alarms, problems = parse_alarm_files([p])
    assert alarms == []
    assert len(problems) == 1, problems
    (pr,) = problems
    assert (pr.file, pr.line, pr.column) == (str(p), 3, column)
    assert en in pr.en, pr.en
    assert pr.es and pr.es != pr.en


def test_header_problems(tmp_path):
    p = write(tmp_path, "W1.A,hi,1,high\n", header="tag,typ,limit,priority\n")
    _, problems = parse_alarm_files([p])
    assert [(x.line, x.column) for x in problems] == [(1, 0), (1, 2)]
    assert "'type' is missing" in problems[0].en
    assert "did you mean 'type'" in problems[1].en
    assert "¿quiso decir 'type'?" in problems[1].es


def test_duplicates_across_files_and_case(tmp_path):
    a = write(tmp_path, "W1.THP,hi,1,high,,,,,,,,\n", name="a.csv")
    b = write(tmp_path, "w1.thp,HI,2,low,,,,,,,,\n", name="b.csv")
    with pytest.raises(ValidationError) as e:
        load_alarms([a, b])
    (pr,) = e.value.problems
    assert pr.file == str(b) and pr.line == 2
    assert f"first at {a}:2" in pr.en


def test_known_tags_are_checked(tmp_path):
    p = write(tmp_path, "W1.THP,hi,W1.NOPE,high,,,,,,W1.GONE,,\n")
    _, problems = parse_alarm_files([p], known=lambda t: t == "W1.THP")
    assert [(x.column, x.en.split("'")[1]) for x in problems] == [(3, "W1.NOPE"),
                                                                  (10, "W1.GONE")]


def test_missing_and_empty_files(tmp_path):
    empty = tmp_path / "e.csv"
    empty.write_text("")
    _, problems = parse_alarm_files([tmp_path / "none.csv", empty])
    assert [x.en for x in problems] == ["the file does not exist",
                                        "the file has no header row (it is empty)"]
