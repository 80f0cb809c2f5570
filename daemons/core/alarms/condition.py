"""`suppress_when`: a small condition language over tag values, parsed without eval.

Grammar (keywords are case-insensitive; docs/alarms.md shows examples):

    expr       := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | "(" expr ")" | comparison
    comparison := TAG [OP (NUMBER | TAG)]        OP: == != < <= > >=

A bare TAG is true when its value is non-zero (a flag such as W101.PUMPED_OFF).  A tag
whose value is missing or of Bad quality makes its comparison *false*: an unreadable
condition must never hide an alarm, so suppression fails open.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

OPERATORS = ("==", "!=", "<=", ">=", "<", ">")
_TOKEN = re.compile(r"""\s*(?:
    (?P<op>==|!=|<=|>=|<|>)
  | (?P<paren>[()])
  | (?P<num>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)(?![A-Za-z_.])
  | (?P<word>[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)
  )""", re.VERBOSE)
_KEYWORDS = ("and", "or", "not")

Lookup = Callable[[str], "float | None"]


class ConditionError(ValueError):
    """A syntax error at `position` (0-based character offset), in English and Spanish."""

    def __init__(self, position: int, en: str, es: str) -> None:
        super().__init__(f"at character {position + 1}: {en}")
        self.position, self.en, self.es = position, en, es


@dataclass(frozen=True, slots=True)
class Compare:
    tag: str
    op: str | None  # None: the tag is a flag (true when non-zero)
    number: float | None = None
    other: str | None = None  # a second tag instead of a number

    def tags(self) -> tuple[str, ...]:
        return (self.tag,) if self.other is None else (self.tag, self.other)


@dataclass(frozen=True, slots=True)
class Not:
    arg: Node


@dataclass(frozen=True, slots=True)
class BoolOp:
    op: str  # and | or
    args: tuple[Node, ...]


Node = Compare | Not | BoolOp


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            start = pos + len(text[pos:]) - len(text[pos:].lstrip())
            raise ConditionError(start, f"unexpected character '{text[start]}'",
                                 f"carácter inesperado '{text[start]}'")
        kind = m.lastgroup or ""
        value, start = m[kind], m.start(kind)
        if kind == "word" and value.lower() in _KEYWORDS:
            kind, value = "kw", value.lower()
        out.append((kind, value, start))
        pos = m.end()
    out.append(("end", "", len(text)))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str, int]:
        return self.toks[self.i]

    def take(self) -> tuple[str, str, int]:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expr(self) -> Node:
        args = [self.and_expr()]
        while self.peek()[:2] == ("kw", "or"):
            self.take()
            args.append(self.and_expr())
        return args[0] if len(args) == 1 else BoolOp("or", tuple(args))

    def and_expr(self) -> Node:
        args = [self.not_expr()]
        while self.peek()[:2] == ("kw", "and"):
            self.take()
            args.append(self.not_expr())
        return args[0] if len(args) == 1 else BoolOp("and", tuple(args))

    def not_expr(self) -> Node:
        kind, value, pos = self.take()
        if (kind, value) == ("kw", "not"):
            return Not(self.not_expr())
        if (kind, value) == ("paren", "("):
            inner = self.expr()
            kind, value, pos = self.take()
            if (kind, value) != ("paren", ")"):
                raise ConditionError(pos, "a ')' is missing here", "falta un ')' aquí")
            return inner
        if kind != "word":
            what = value or "the end"
            raise ConditionError(pos, f"expected a tag name, found {what!r}"
                                 if value else "expected a tag name, found the end",
                                 f"se esperaba un nombre de etiqueta, se encontró {value!r}"
                                 if value else "se esperaba un nombre de etiqueta; "
                                 "la condición termina antes")
        tag = value
        if self.peek()[0] != "op":
            return Compare(tag, None)
        op = self.take()[1]
        kind, value, pos = self.take()
        if kind == "num":
            return Compare(tag, op, number=float(value))
        if kind == "word":
            return Compare(tag, op, other=value)
        raise ConditionError(pos, f"expected a number or a tag after '{op}'",
                             f"se esperaba un número o una etiqueta tras '{op}'")


def parse_condition(text: str) -> Node | None:
    """The condition's tree; None for an empty text.  Raises ConditionError."""
    if not text.strip():
        return None
    p = _Parser(text)
    node = p.expr()
    kind, value, pos = p.peek()
    if kind != "end":
        raise ConditionError(pos, f"unexpected '{value}' (missing 'and' / 'or'?)",
                             f"'{value}' inesperado (¿falta 'and' / 'or'?)")
    return node


def condition_tags(node: Node | None) -> tuple[str, ...]:
    """Every tag a condition reads, in order of first use."""
    seen: dict[str, None] = {}

    def walk(n: Node) -> None:
        if isinstance(n, Compare):
            for t in n.tags():
                seen.setdefault(t)
        elif isinstance(n, Not):
            walk(n.arg)
        else:
            for a in n.args:
                walk(a)

    if node is not None:
        walk(node)
    return tuple(seen)


def _compare(a: float, op: str, b: float) -> bool:
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


def evaluate(node: Node | None, lookup: Lookup) -> bool:
    """Whether the condition holds; `lookup(tag)` gives a Good value or None (fails open)."""
    if node is None:
        return False
    if isinstance(node, Compare):
        a = lookup(node.tag)
        if a is None:
            return False
        if node.op is None:
            return a != 0
        b = node.number if node.other is None else lookup(node.other)
        return b is not None and _compare(a, node.op, b)
    if isinstance(node, Not):
        # not(unknown) stays false: a Bad tag under `not` must not suppress either.
        return not evaluate(node.arg, lookup) and all(
            lookup(t) is not None for t in condition_tags(node.arg))
    if node.op == "and":
        return all(evaluate(a, lookup) for a in node.args)
    return any(evaluate(a, lookup) for a in node.args)
