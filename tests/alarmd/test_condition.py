"""suppress_when: grammar, errors with positions, and evaluation failing open."""

import pytest

from daemons.core.alarms.condition import (
    BoolOp,
    Compare,
    ConditionError,
    Not,
    condition_tags,
    evaluate,
    parse_condition,
)


def test_precedence_and_over_or_and_parentheses():
    node = parse_condition("A.X or B.Y == 1 and not (C.Z < 2.5)")
    assert node == BoolOp("or", (Compare("A.X", None),
                                 BoolOp("and", (Compare("B.Y", "==", 1.0),
                                                Not(Compare("C.Z", "<", 2.5))))))
    assert condition_tags(node) == ("A.X", "B.Y", "C.Z")


def test_keywords_are_case_insensitive_and_tag_to_tag():
    node = parse_condition("W1.A >= W1.B AND W1.C")
    assert node == BoolOp("and", (Compare("W1.A", ">=", other="W1.B"), Compare("W1.C", None)))


def test_empty_is_none():
    assert parse_condition("  ") is None
    assert evaluate(None, lambda t: 1.0) is False


@pytest.mark.parametrize(("text", "position", "fragment"), [
    ("W1.A ==", 7, "number or a tag"),
    ("W1.A == 1 W1.B", 10, "unexpected 'W1.B'"),
    ("(W1.A", 5, "')' is missing"),
    ("W1.A = 1", 5, "unexpected character '='"),
    ("and W1.A", 0, "expected a tag name"),
    ("W1.A and", 8, "found the end"),
    ("__import__('os')", 0, "unexpected character '_'"),
])
def test_errors_name_the_character(text, position, fragment):
    with pytest.raises(ConditionError) as e:
        parse_condition(text)
    assert e.value.position == position
    assert fragment in e.value.en
    assert e.value.es


@pytest.mark.parametrize(("text", "values", "expected"), [
    ("W1.OFF", {"W1.OFF": 1.0}, True),
    ("W1.OFF", {"W1.OFF": 0.0}, False),
    ("W1.RUN == 0", {"W1.RUN": 0.0}, True),
    ("W1.RUN != 0", {"W1.RUN": 0.0}, False),
    ("W1.P > W1.SP", {"W1.P": 5.0, "W1.SP": 4.0}, True),
    ("W1.P <= 4", {"W1.P": 4.0}, True),
    ("W1.OFF or W1.RUN == 0", {"W1.OFF": 0.0, "W1.RUN": 0.0}, True),
    ("W1.OFF and W1.RUN == 0", {"W1.OFF": 1.0, "W1.RUN": 1.0}, False),
    # Missing / Bad values never suppress, not even under `not`.
    ("W1.OFF", {}, False),
    ("not W1.OFF", {}, False),
    ("W1.P > W1.SP", {"W1.P": 5.0}, False),
    ("not W1.OFF", {"W1.OFF": 0.0}, True),
])
def test_evaluate(text, values, expected):
    assert evaluate(parse_condition(text), values.get) is expected
