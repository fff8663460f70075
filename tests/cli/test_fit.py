"""Results that fit the terminal: long values cut with a marker, wide rows expanded,
``.mode line``, and ``.maxrows``."""

from __future__ import annotations

import io

import pyarrow as pa

from sqllake.cli.render import fitted_widths, line, table, truncate
from sqllake.result import Column

COLUMNS = [Column("id", "BIGINT"), Column("note", "VARCHAR")]
LONG = "a rather long note that will not fit in a narrow terminal"


def _batch(ids: list[int], notes: list[str | None]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({"id": pa.array(ids), "note": pa.array(notes)})


def _table(width: int | None, columns: list[Column], batch: pa.RecordBatch) -> str:
    out = io.StringIO()
    table(columns, [batch], out, width=width)
    return out.getvalue()


def test_truncate_marks_the_cut() -> None:
    assert truncate("abcdef", 6) == "abcdef"
    assert truncate("abcdef", 4) == "abc…"
    assert truncate("日本語です", 5) == "日本…"


def test_widest_columns_give_way_first() -> None:
    assert fitted_widths([3, 50], 80) == [3, 50]
    assert fitted_widths([3, 50, 40], 40) == [3, 14, 14]
    assert fitted_widths([30] * 10, 40) is None


def test_long_values_are_cut_to_the_width() -> None:
    out = _table(30, COLUMNS, _batch([1, 2], [LONG, "short"]))
    assert out == (
        " id |          note\n"
        "----+-------------------------\n"
        "  1 | a rather long note tha…\n"
        "  2 | short\n"
        "(2 rows)\n\n"
    )
    assert all(len(row) <= 30 for row in out.splitlines())
    assert LONG in _table(None, COLUMNS, _batch([1], [LONG]))  # scripts keep values whole


def test_rows_that_cannot_fit_are_expanded() -> None:
    columns = [Column(f"column_{i}", "VARCHAR") for i in range(6)]
    batch = pa.RecordBatch.from_pydict(
        {c.name: pa.array([f"value {i}" * 3]) for i, c in enumerate(columns)}
    )
    out = _table(40, columns, batch)
    lines = out.splitlines()
    assert lines[0] == "-[ RECORD 1 ]" + "-" * 27
    assert lines[1] == "column_0 | value 0value 0value 0"
    assert lines[-2:] == ["(1 row)", ""]
    assert all(len(row) <= 40 for row in lines)


def test_line_mode_has_one_line_per_column() -> None:
    out = io.StringIO()
    assert line(COLUMNS, [_batch([1, 22], ["x", None])], out) == 2
    assert out.getvalue() == "  id = 1\nnote = x\n\n  id = 22\nnote = NULL\n"
