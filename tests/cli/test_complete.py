"""Completion: every prefix of real statements completes without raising, and the
suggestions at chosen cursor positions are the expected ones."""

from __future__ import annotations

from pathlib import Path

import pytest

import sqllake
from sqllake.catalog import TableName
from sqllake.cli.commands import COMMANDS
from sqllake.cli.complete import NameCache, Names, referenced, suggest
from sqllake.cli.render import RENDERERS

EVENTS = TableName(("default",), "events")
USERS = TableName(("shop",), "users")
NAMES = Names(
    current="default",
    schemas=("default", "shop"),
    tables={"default": ("events", "Mixed Case"), "shop": ("users",)},
    columns={EVENTS: ("id", "kind", "ts"), USERS: ("user_id", "name")},
    functions=("count", "concat", "date_trunc", "sum"),
    commands=tuple(sorted(COMMANDS)),
    formats=tuple(RENDERERS),
    settings=("TimeZone", "temp_directory", "threads"),
)

STATEMENTS = [
    "SELECT e.kind, count(*) AS n FROM events e WHERE e.ts > '2026-01-01' GROUP BY e.kind;",
    'SELECT u.name, "Mixed Case".x FROM shop.users AS u, "Mixed Case" -- note\nORDER BY 1;',
    "INSERT INTO events (id, kind) SELECT user_id, 'x''y' FROM shop.users;",
    "UPDATE events SET kind = 'b' WHERE id IN (SELECT user_id FROM shop.users);",
    "CREATE TABLE shop.orders (id BIGINT, at TIMESTAMPTZ) PARTITIONED BY (day(at));",
    'SELECT * FROM "events$snapshots" /* block */ JOIN events ON 1 = 1;',
    "USE shop; SELECT * FROM users;",
    ".schema events",
    ".mode csv",
    "SET GLOBAL threads = 2; RESET TimeZone; PRAGMA threads = 1;",
    "SELECT $$dollar$$, '/* not */', \"half",
]


def _texts(before: str, after: str = "") -> list[str]:
    return [s.text for s in suggest(NAMES, before, after)]


@pytest.mark.parametrize("statement", STATEMENTS)
def test_every_prefix_completes_without_raising(statement: str) -> None:
    for cut in range(len(statement) + 1):
        found = suggest(NAMES, statement[:cut], statement[cut:])
        assert all(0 <= s.replace <= cut for s in found), (statement[:cut], found)


def test_keywords_and_functions_follow_the_typed_prefix() -> None:
    assert _texts("SEL") == ["SELECT"]
    assert _texts("sel") == ["select"]
    assert "count" in _texts("SELECT cou") and "concat" in _texts("SELECT co")


def test_tables_and_schemas_after_from() -> None:
    assert _texts("SELECT * FROM ev") == ["events"]
    assert _texts("SELECT * FROM ") == ["events", '"Mixed Case"', "default", "shop"]
    assert _texts("SELECT * FROM shop.") == ["users"]
    assert _texts("USE s") == ["shop"]


def test_columns_of_the_tables_the_statement_names() -> None:
    text = "SELECT e. FROM events e"
    at = text.index(".") + 1
    assert _texts(text[:at], text[at:]) == ["id", "kind", "ts"]
    assert _texts("SELECT u.n", " FROM shop.users AS u") == ["name"]
    assert _texts("SELECT k", " FROM events") == ["kind", "key"]  # columns come first
    assert _texts("SELECT * FROM events WHERE t")[0] == "ts"


def test_setting_names_after_set_reset_and_pragma() -> None:
    assert _texts("SET t") == ["TimeZone", "temp_directory", "threads"]
    assert _texts("set th") == ["threads"]
    assert _texts("SET GLOBAL thr") == ["threads"]
    assert _texts("RESET Ti") == ["TimeZone"]
    assert _texts("PRAGMA th") == ["threads"]
    assert "threads" not in _texts("UPDATE events SET th")  # a column, not a setting


def test_nothing_inside_strings_and_comments() -> None:
    assert _texts("SELECT 'ev") == []
    assert _texts("SELECT 1 -- ev") == []
    assert _texts("SELECT /* ev") == []


def test_dot_commands_and_their_arguments() -> None:
    assert _texts(".ti") == [".timer"]
    assert _texts(".mode c") == ["csv"]
    assert _texts(".schema e") == ["events"]
    assert _texts(".timer o") == ["on", "off"]


def test_the_statement_under_the_cursor_is_the_one_read() -> None:
    assert "id" not in _texts("SELECT * FROM events; SELECT i")
    assert _texts("SELECT * FROM events; SELECT i", " FROM events")[0] == "id"
    assert referenced("SELECT * FROM events e, shop.users u", "default") == {
        "events": EVENTS,
        "e": EVENTS,
        "users": USERS,
        "u": USERS,
    }


def test_names_are_read_from_the_lakehouse_and_refreshed(tmp_path: Path) -> None:
    connection = sqllake.connect(str(tmp_path / "wh"), autocommit=True)
    try:
        session = connection.session
        cache = NameCache(session, COMMANDS, RENDERERS)
        assert "date_trunc" in cache.names.functions
        assert {"TimeZone", "threads", "memory_limit"} <= set(cache.names.settings)
        session.execute("CREATE SCHEMA shop")
        session.execute("CREATE TABLE shop.users (user_id BIGINT, name VARCHAR)")
        cache.refresh()
        cache.wait(30)
        assert cache.names.tables["shop"] == ("users",)
        assert cache.names.columns[USERS] == ("user_id", "name")
    finally:
        connection.close()
