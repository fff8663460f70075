from sqllake.sql import is_complete, split


def texts(sql: str) -> list[str]:
    return [s.text for s in split(sql)]


def test_split_on_semicolons_outside_literals_and_comments() -> None:
    sql = "SELECT ';' AS a; SELECT \"x;y\" FROM t -- c;\n; /* ; */ SELECT $$a;b$$;"
    assert texts(sql) == [
        "SELECT ';' AS a",
        'SELECT "x;y" FROM t -- c;',
        "SELECT $$a;b$$",
    ]


def test_statement_start_offsets_point_into_the_source() -> None:
    sql = "\n  SELECT 1;\nSELECT 2"
    starts = [s.start for s in split(sql)]
    assert [sql[i : i + 8] for i in starts] == ["SELECT 1", "SELECT 2"]


def test_doubled_quotes_and_escape_strings() -> None:
    assert texts("SELECT 'it''s;'; SELECT E'a\\';b'; SELECT 3") == [
        "SELECT 'it''s;'",
        "SELECT E'a\\';b'",
        "SELECT 3",
    ]


def test_dot_commands_are_statements_of_their_own_line() -> None:
    parts = list(split(".tables\nSELECT 1;\n.mode csv\n"))
    assert [(p.text, p.is_dot_command) for p in parts] == [
        (".tables", True),
        ("SELECT 1", False),
        (".mode csv", True),
    ]


def test_empty_statements_are_dropped() -> None:
    assert texts(";;  ; -- only a comment\n") == []


def test_is_complete() -> None:
    assert is_complete("SELECT 1;")
    assert is_complete("SELECT 1;  -- done\n")
    assert not is_complete("SELECT 1")
    assert not is_complete("SELECT ';")
    assert not is_complete("SELECT 1; SELECT 2")
    assert not is_complete("/* ; */")
    assert is_complete(".tables")
    assert not is_complete("")
