"""The permission matrix: the shipped file, the table in docs/access.md, and authorize()
agree on every role × module × operation; site rows override; bad files name file:line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from daemons.core.access.matrix import SHIPPED, load_matrix, render_markdown
from daemons.core.access.model import MODULES, OPERATIONS, ROLES, Scope, User
from daemons.core.access.policy import Policy
from daemons.core.problems import ValidationError

DOC = Path(__file__).resolve().parents[2] / "docs" / "access.md"
BEGIN, END = "<!-- permission matrix: begin -->", "<!-- permission matrix: end -->"


def documented() -> dict[tuple[str, str, str], bool]:
    """The table in docs/access.md, read as a person would: ✓ = allowed."""
    text = DOC.read_text("utf-8")
    block = text[text.index(BEGIN) + len(BEGIN):text.index(END)]
    rows = [r.strip() for r in block.strip().splitlines()]
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    assert header[:2] == ["module", "operation"]
    out = {}
    for row in rows[2:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        for role, cell in zip(header[2:], cells[2:], strict=True):
            assert cell in ("", "✓"), row
            out[(cells[0], cells[1], role)] = cell == "✓"
    return out


DOCUMENTED = documented()
POLICY = Policy(load_matrix(), {"W101": "Lagunillas"})


def test_the_documented_table_is_the_shipped_file_rendered():
    text = DOC.read_text("utf-8")
    block = text[text.index(BEGIN) + len(BEGIN):text.index(END)]
    assert block.strip() == render_markdown(load_matrix()).strip(), \
        "docs/access.md is stale: paste the output of `python -c 'from daemons.core.access." \
        "matrix import *; print(render_markdown(load_matrix()))'` between the marks"
    assert len(DOCUMENTED) == len(ROLES) * len(MODULES) * len(OPERATIONS) == 320


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("operation", OPERATIONS)
def test_authorize_matches_the_documented_table(role, module, operation):
    user = User("u", frozenset({role}))
    expected = DOCUMENTED[(module, operation, role)]
    assert bool(POLICY.authorize(user, module, operation)) is expected
    # The same on a well, for an unscoped user (the organisation level sees every well).
    assert bool(POLICY.authorize(user, module, operation, "W101")) is expected


def test_contractors_never_write_in_the_shipped_matrix():
    for module in MODULES:
        for op in ("write", "execute", "approve"):
            assert not DOCUMENTED[(module, op, "contractor")], (module, op)
    assert DOCUMENTED[("production", "read", "contractor")]
    assert not DOCUMENTED[("users", "read", "contractor")]


def test_several_roles_add_up():
    user = User("u", frozenset({"field_operator", "drilling_engineer"}))
    assert POLICY.authorize(user, "lift", "write", "W101")  # field operator's
    assert POLICY.authorize(user, "drilling", "write", "W101")  # drilling engineer's
    assert not POLICY.authorize(user, "users", "write")


def test_a_site_file_replaces_only_its_rows(tmp_path):
    site = tmp_path / "site.csv"
    site.write_text("module,operation," + ",".join(ROLES) + "\n"
                    "production,write,,,,,x,,,\n"
                    "# contractors on this site may acknowledge alarms\n"
                    "alarms,execute,x,x,,x,x,,,x\n")
    matrix = load_matrix(site)
    assert matrix.roles_for("production", "write") == {"supervisor"}
    assert "contractor" in matrix.roles_for("alarms", "execute")
    assert matrix.roles_for("lift", "write") == load_matrix().roles_for("lift", "write")
    assert matrix.sources == (str(SHIPPED), str(site))


HEAD = "module,operation," + ",".join(ROLES) + "\n"
ROW_OK = "lift,read,x,x,x,x,x,x,x,x\n"


@pytest.mark.parametrize(("text", "expected"), [
    (HEAD + ROW_OK + "produccion,read,x,,,,,,,\n",
     "p.csv:3:1: unknown module 'produccion' (did you mean 'production'?)"),
    (HEAD + "lift,wrte,x,,,,,,,\n",
     "p.csv:2:2: unknown operation 'wrte' (did you mean 'write'?)"),
    (HEAD + "lift,write,x,maybe,,,,,,\n",
     "p.csv:2:4: 'maybe' under production_engineer: write x for allowed"),
    (HEAD + ROW_OK + "\n# a comment\n" + ROW_OK,
     "p.csv:5:1: lift/read is already given at line 2"),
    (HEAD.replace("supervisor", "superviser") + ROW_OK,
     "p.csv:1:7: unknown column 'superviser' (did you mean 'supervisor'?)"),
    (HEAD.replace(",contractor", "") + "lift,read,x,x,x,x,x,x,x\n",
     "p.csv:1: required column 'contractor' is missing from the header"),
    (HEAD + 'lift,read,"x,x,x,x,x,x,x,x\n', "p.csv:2: a quote (\") opened in this record"),
    (HEAD + "lift,read,x,x,x,x,x,x,x,x,x\n", "p.csv:2:11: value 'x' after the last column"),
    ("", "p.csv: the file has no header row (it is empty)"),
])
def test_malformed_permission_files_name_file_line_and_column(tmp_path, text, expected):
    path = tmp_path / "p.csv"
    path.write_text(text)
    with pytest.raises(ValidationError) as info:
        load_matrix(path)
    rendered = [p.render("en").replace(str(tmp_path) + "/", "") for p in info.value.problems]
    assert any(r.startswith(expected) for r in rendered), rendered


def test_problems_come_all_at_once_and_in_spanish(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(HEAD + "lift,wrte,x,,,,,,,\nfoo,read,x,,,,,,,\n")
    with pytest.raises(ValidationError) as info:
        load_matrix(path)
    assert [p.line for p in info.value.problems] == [2, 3]
    assert "operación desconocida 'wrte'" in info.value.render("es")


def test_an_incomplete_shipped_file_is_refused(tmp_path):
    shipped = tmp_path / "permissions.csv"
    shipped.write_text(HEAD + ROW_OK)
    with pytest.raises(ValidationError) as info:
        load_matrix(shipped=shipped)
    assert "missing: production/read" in str(info.value)


def test_a_spreadsheet_saved_file_reads_the_same(tmp_path):
    """Excel in a Spanish locale: `;`, a BOM, Windows-1252 and upper-case X."""
    path = tmp_path / "p.csv"
    text = HEAD.replace(",", ";") + "# revisión\nlift;write;X;sí;;;X;;;\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert load_matrix(path).roles_for("lift", "write") == {
        "field_operator", "production_engineer", "supervisor"}


def test_scope_of_a_contractor(gateway):
    from daemons.core.access.policy import load_policy

    policy = load_policy(gateway)
    ct = User("ct", frozenset({"contractor"}), Scope(wells=frozenset({"W101"})))
    assert policy.authorize(ct, "production", "read", "W101")
    assert policy.authorize(ct, "production", "read", "W102").code == "scope"
    assert policy.authorize(ct, "production", "write", "W101").code == "role"
    assert re.search("outside ct's scope", policy.authorize(ct, "lift", "read", "B201").en)
