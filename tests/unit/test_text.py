"""The SQL text sqllake writes: names and strings quoted one way, read back the same."""

from __future__ import annotations

import duckdb
import pytest

from sqllake.sql.text import (
    cast_literal,
    qualified_name,
    quote_identifier,
    quote_string,
    string_list,
    unquote_identifier,
    unquote_string,
)

AWKWARD = ["plain", "Mixed Case", 'say "hi"', "it's", "semi;colon", "", "ünï", "a''b", '""']


@pytest.mark.parametrize("name", AWKWARD)
def test_a_quoted_name_names_the_column(name: str) -> None:
    con = duckdb.connect()
    if name == "":
        pytest.raises(duckdb.Error, con.sql, f"SELECT 1 AS {quote_identifier(name)}")
        return
    result = con.sql(f"SELECT 1 AS {quote_identifier(name)}")
    assert result.columns == [name]
    assert unquote_identifier(quote_identifier(name)) == name


@pytest.mark.parametrize("text", AWKWARD)
def test_a_quoted_string_is_the_value(text: str) -> None:
    con = duckdb.connect()
    assert con.execute(f"SELECT {quote_string(text)}").fetchall() == [(text,)]
    assert unquote_string(quote_string(text)[1:-1]) == text


def test_lists_casts_and_qualified_names() -> None:
    con = duckdb.connect()
    items = string_list(["a", "b'c"])
    assert con.execute(f"SELECT {items}").fetchall() == [(["a", "b'c"],)]
    assert con.execute(f"SELECT {cast_literal('2024-02-29', 'DATE')}::VARCHAR").fetchall() == [
        ("2024-02-29",)
    ]
    con.sql('CREATE SCHEMA "odd ""s"""; CREATE TABLE "odd ""s"""."t.1" (x INT)')
    name = qualified_name(['odd "s"', "t.1"])
    assert con.execute(f"SELECT count(*) FROM {name}").fetchall() == [(0,)]


def test_a_name_still_being_typed_unquotes() -> None:
    assert unquote_identifier('"Ev') == "Ev"
    assert unquote_identifier('"') == ""
    assert unquote_identifier("bare") == "bare"
