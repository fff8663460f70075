"""The renderers and value spellings, on Arrow batches built here (no session)."""

from __future__ import annotations

import datetime
import decimal
import io
import json
from collections.abc import Iterator

import pyarrow as pa
import pytest

from sqllake.cli.render import RENDERERS, csv_rows, display_width, json_array, markdown, table
from sqllake.cli.values import interval_text, to_json, to_text
from sqllake.result import Column

UTC = datetime.UTC


def _batch(**columns: pa.Array) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict(columns)


def _render(renderer: str, columns: list[Column], *batches: pa.RecordBatch) -> str:
    out = io.StringIO()
    RENDERERS[renderer](columns, batches, out)
    return out.getvalue()


def test_table_aligns_numbers_right_and_escapes_line_breaks() -> None:
    # psql's layout: centred headers, numbers right-aligned, NULL spelled out, a footer.
    columns = [Column("id", "BIGINT"), Column("note", "VARCHAR")]
    batch = _batch(id=pa.array([1, 100]), note=pa.array(["two\nlines", None]))
    assert _render("table", columns, batch) == (
        " id  |    note\n-----+------------\n   1 | two\\nlines\n 100 | NULL\n(2 rows)\n\n"
    )


def test_table_pads_wide_characters_by_display_width() -> None:
    columns = [Column("w", "VARCHAR"), Column("n", "INTEGER")]
    out = _render("table", columns, _batch(w=pa.array(["日本", "ab"]), n=pa.array([1, 2])))
    lines = out.splitlines()
    assert display_width("日本") == 4
    assert lines[2] == " 日本 | 1" and lines[3] == " ab   | 2"


def test_empty_results() -> None:
    columns = [Column("a", "INTEGER")]
    assert _render("table", columns) == " a\n---\n(0 rows)\n\n"
    assert _render("csv", columns) == "a\n"
    assert _render("json", columns) == "[]\n"
    assert _render("jsonl", columns) == ""
    assert _render("markdown", columns) == "|   a |\n| --: |\n"


def test_duplicate_column_names_keep_both_columns_in_text_formats() -> None:
    columns = [Column("a", "INTEGER"), Column("a", "INTEGER")]
    batch = pa.RecordBatch.from_arrays([pa.array([1]), pa.array([2])], names=["a", "a"])
    assert _render("csv", columns, batch) == "a,a\n1,2\n"


def test_csv_quotes_and_writes_null_as_an_empty_field() -> None:
    columns = [Column("s", "VARCHAR"), Column("n", "INTEGER")]
    batch = _batch(s=pa.array(["a,b", 'say "hi"', None]), n=pa.array([1, None, 3]))
    assert _render("csv", columns, batch) == 's,n\n"a,b",1\n"say ""hi""",\n,3\n'


def test_markdown_escapes_pipes_and_line_breaks() -> None:
    columns = [Column("s", "VARCHAR")]
    assert _render("markdown", columns, _batch(s=pa.array(["a|b\nc"]))) == (
        "| s         |\n| --------- |\n| a\\|b<br>c |\n"
    )


def test_json_values_of_every_kind() -> None:
    row = {
        "d": pa.array([decimal.Decimal("12345678901234567890.12")], pa.decimal128(22, 2)),
        "f": pa.array([float("nan")]),
        "b": pa.array([b"\x00\xff"]),
        "ts": pa.array(
            [datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)], pa.timestamp("us", "UTC")
        ),
        "day": pa.array([datetime.date(2026, 1, 2)]),
        "l": pa.array([[1, None]]),
        "st": pa.array([{"x": 1, "y": "z"}]),
        "m": pa.array([[("k", 1)]], pa.map_(pa.string(), pa.int64())),
        "yes": pa.array([True]),
    }
    columns = [Column(name, "ANY") for name in row]
    out = _render("jsonl", columns, _batch(**row))
    assert json.loads(out) == {
        "d": "12345678901234567890.12",
        "f": "NaN",
        "b": "\\x00ff",
        "ts": "2026-01-02T03:04:05+00:00",
        "day": "2026-01-02",
        "l": [1, None],
        "st": {"x": 1, "y": "z"},
        "m": {"k": 1},
        "yes": True,
    }


def test_text_spellings() -> None:
    ts = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert to_text(ts, "NULL") == "2026-01-02 03:04:05+00:00"
    assert to_text(decimal.Decimal("0E-10"), "NULL") == "0.0000000000"
    assert to_text(None, "∅") == "∅"
    assert to_text(False, "") == "false"
    assert to_text({"a": [1, "x"]}, "") == '{"a": [1, "x"]}'
    assert to_text(b"\x01", "") == "\\x01"
    assert to_json(float("-inf")) == "-Infinity"


@pytest.mark.parametrize(
    ("months", "days", "nanos", "text"),
    [
        (14, 3, 4 * 3600 * 10**9 + 5 * 60 * 10**9 + 6 * 10**9, "1 year 2 months 3 days 04:05:06"),
        (0, 1, 0, "1 day"),
        (0, 0, 0, "00:00:00"),
        (-1, 0, -1500 * 10**6, "-1 months -00:00:01.500000"),
    ],
)
def test_interval_text(months: int, days: int, nanos: int, text: str) -> None:
    assert interval_text(pa.MonthDayNano([months, days, nanos])) == text


def test_streaming_renderers_write_each_batch_before_the_next_is_read() -> None:
    out = io.StringIO()
    seen: list[str] = []

    def batches() -> Iterator[pa.RecordBatch]:
        yield _batch(n=pa.array([1]))
        seen.append(out.getvalue())  # what was written once the first batch was consumed
        yield _batch(n=pa.array([2]))

    columns = [Column("n", "INTEGER")]
    for renderer in (csv_rows, json_array):
        out.seek(0)
        out.truncate()
        seen.clear()
        renderer(columns, batches(), out)
        assert seen[0] and "1" in seen[0] and "2" not in seen[0], renderer.__name__


def test_renderers_return_the_row_count() -> None:
    columns = [Column("n", "INTEGER")]
    batch = _batch(n=pa.array([1, 2, 3]))
    for renderer in (table, markdown, csv_rows, json_array, RENDERERS["jsonl"]):
        assert renderer(columns, [batch, batch], io.StringIO()) == 6
