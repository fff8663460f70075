"""Output formats: each renderer writes a result's columns and Arrow batches to a stream.

A renderer takes the result columns, an iterable of record batches and a text stream,
and returns the number of rows written. ``csv``, ``json`` and ``jsonl`` stream batch by
batch; ``table`` and ``markdown`` hold the rendered cells to compute column widths.

NULL: ``table``, ``markdown`` and ``line`` show ``NULL`` (as psql's ``\\pset null NULL``
and DuckDB do) and the string ``'NULL'`` quoted, so the two never look alike; ``csv``
writes an empty field and ``json``/``jsonl`` write ``null``. Value
spellings (dates, decimals, bytes, nested values) are decided in :mod:`.values`.
"""

from __future__ import annotations

import csv
import json
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol, TextIO

import pyarrow as pa

from sqllake.cli.values import rows, to_json, to_text
from sqllake.result import Column


class Renderer(Protocol):
    """Writes the rows to ``out``; the number of rows written. ``width`` is the terminal's
    width for the formats that fit it (``table``, ``line``); None keeps every value whole."""

    def __call__(
        self,
        columns: Sequence[Column],
        batches: Iterable[pa.RecordBatch],
        out: TextIO,
        /,
        *,
        width: int | None = None,
    ) -> int: ...


NULL_TEXT = "NULL"
MORE = "…"  # marks a value cut to fit the terminal
MIN_CELL = 10  # a table whose columns would be narrower than this is shown expanded

# DuckDB type names whose values are right-aligned, as psql and DuckDB align numbers.
_NUMERIC = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT"}
    | {"UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "REAL", "DECIMAL"}
)

# Control characters would break a table's lines; show them escaped.
_ESCAPES = str.maketrans({"\n": "\\n", "\r": "\\r", "\t": "\\t"})
_MARKDOWN_ESCAPES = str.maketrans({"\n": "<br>", "\r": "", "\t": " ", "|": "\\|"})


def is_numeric(column: Column) -> bool:
    return column.type_name.split("(")[0].strip().upper() in _NUMERIC


def display_width(text: str) -> int:
    """Terminal columns ``text`` takes: wide East Asian characters take two, combining none."""
    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        for ch in text
    )


def _pad(text: str, width: int, right: bool) -> str:
    fill = " " * (width - display_width(text))
    return fill + text if right else text + fill


def _center(text: str, width: int) -> str:
    room = width - display_width(text)
    return " " * (room // 2) + text + " " * (room - room // 2)


def _display(value: Any) -> str:
    """A value as people read it: NULL as ``NULL``, and the string 'NULL' quoted so the
    two never look alike."""
    if isinstance(value, str) and value == NULL_TEXT:
        return f"'{NULL_TEXT}'"
    return to_text(value, NULL_TEXT)


def _cells(batches: Iterable[pa.RecordBatch], escapes: dict[int, str]) -> list[list[str]]:
    return [
        [_display(value).translate(escapes) for value in row]
        for batch in batches
        for row in rows(batch)
    ]


def _widths(header: list[str], body: list[list[str]], minimum: int = 1) -> list[int]:
    return [
        max([minimum, display_width(name)] + [display_width(row[i]) for row in body])
        for i, name in enumerate(header)
    ]


def truncate(text: str, width: int) -> str:
    """``text`` cut to ``width`` terminal columns, ending in ``…`` when cut."""
    if display_width(text) <= width:
        return text
    kept: list[str] = []
    used = 0
    for ch in text:
        used += display_width(ch)
        if used > width - 1:
            break
        kept.append(ch)
    return "".join(kept) + MORE


def fitted_widths(widths: list[int], width: int) -> list[int] | None:
    """Column widths capped so a table row fits ``width`` columns (the widest columns
    give way first); None when that would leave a column narrower than ``MIN_CELL``."""
    room = width - 2 - 3 * (len(widths) - 1)  # the rule line: "-+-" between, "-" at each end
    if sum(widths) <= room:
        return widths
    cap = max(widths)
    while cap > MIN_CELL and sum(min(w, cap) for w in widths) > room:
        cap -= 1
    if sum(min(w, cap) for w in widths) > room:
        return None
    return [min(w, cap) for w in widths]


def _footer(count: int) -> str:
    return f"({count} {'row' if count == 1 else 'rows'})\n\n"


def table(
    columns: Sequence[Column],
    batches: Iterable[pa.RecordBatch],
    out: TextIO,
    /,
    *,
    width: int | None = None,
) -> int:
    """An aligned table in psql's style, with a ``(N rows)`` footer and a blank line.

    Given a terminal ``width``, long values are cut with ``…`` so rows fit, and rows
    that cannot fit are shown expanded, one ``column | value`` line each (psql's ``\\x``).
    """
    if not columns:
        return 0
    header = [c.name.translate(_ESCAPES) for c in columns]
    body = _cells(batches, _ESCAPES)
    widths = _widths(header, body)
    if width is not None:
        fitted = fitted_widths(widths, width)
        if fitted is None:
            return _expanded(header, body, width, out)
        if fitted != widths:
            widths = fitted
            header = [truncate(h, w) for h, w in zip(header, widths, strict=True)]
            body = [[truncate(v, w) for v, w in zip(row, widths, strict=True)] for row in body]
    right = [is_numeric(c) for c in columns]
    out.write((" " + " | ".join(map(_center, header, widths))).rstrip() + "\n")
    out.write("+".join("-" * (w + 2) for w in widths) + "\n")
    for row in body:
        out.write((" " + " | ".join(map(_pad, row, widths, right))).rstrip() + "\n")
    out.write(_footer(len(body)))
    return len(body)


def _expanded(header: list[str], body: list[list[str]], width: int, out: TextIO) -> int:
    name_width = max(display_width(h) for h in header)
    room = max(MIN_CELL, width - name_width - 3)
    for number, row in enumerate(body, start=1):
        title = f"-[ RECORD {number} ]"
        out.write(title + "-" * max(0, min(width, name_width + 3 + room) - len(title)) + "\n")
        for name, value in zip(header, row, strict=True):
            out.write(f"{_pad(name, name_width, False)} | {truncate(value, room)}".rstrip() + "\n")
    out.write(_footer(len(body)))
    return len(body)


def line(
    columns: Sequence[Column],
    batches: Iterable[pa.RecordBatch],
    out: TextIO,
    /,
    *,
    width: int | None = None,
) -> int:
    """One ``column = value`` line per column, a blank line between rows (DuckDB's and
    SQLite's ``.mode line``); values are cut to fit ``width`` when given."""
    if not columns:
        return 0
    header = [c.name.translate(_ESCAPES) for c in columns]
    name_width = max(display_width(h) for h in header)
    count = 0
    for row in _cells(batches, _ESCAPES):
        out.write("\n" if count else "")
        for name, value in zip(header, row, strict=True):
            shown = (
                value if width is None else truncate(value, max(MIN_CELL, width - name_width - 3))
            )
            out.write(f"{_pad(name, name_width, True)} = {shown}\n")
        count += 1
    return count


def markdown(
    columns: Sequence[Column],
    batches: Iterable[pa.RecordBatch],
    out: TextIO,
    /,
    *,
    width: int | None = None,
) -> int:
    """A GitHub-flavoured pipe table; numbers are right-aligned (``---:``)."""
    if not columns:
        return 0
    header = [c.name.translate(_MARKDOWN_ESCAPES) for c in columns]
    body = _cells(batches, _MARKDOWN_ESCAPES)
    widths = _widths(header, body, minimum=3)
    right = [is_numeric(c) for c in columns]
    rule = ["-" * (w - 1) + ":" if r else "-" * w for w, r in zip(widths, right, strict=True)]
    for row in [header, rule, *body]:
        out.write("| " + " | ".join(map(_pad, row, widths, right)) + " |\n")
    return len(body)


def csv_rows(
    columns: Sequence[Column],
    batches: Iterable[pa.RecordBatch],
    out: TextIO,
    /,
    *,
    width: int | None = None,
) -> int:
    """RFC 4180 CSV with a header line; NULL is an empty field."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.name for c in columns])
    count = 0
    for batch in batches:
        writer.writerows([to_text(value, "") for value in row] for row in rows(batch))
        count += batch.num_rows
    return count


def _objects(columns: Sequence[Column], batches: Iterable[pa.RecordBatch]) -> Iterator[str]:
    names = [c.name for c in columns]
    for batch in batches:
        for row in rows(batch):
            obj: dict[str, Any] = {n: to_json(v) for n, v in zip(names, row, strict=True)}
            yield json.dumps(obj, ensure_ascii=False)


def json_array(
    columns: Sequence[Column],
    batches: Iterable[pa.RecordBatch],
    out: TextIO,
    /,
    *,
    width: int | None = None,
) -> int:
    """One JSON array of objects, one object per line, streamed."""
    count = 0
    out.write("[")
    for count, obj in enumerate(_objects(columns, batches), start=1):
        out.write(("\n" if count == 1 else ",\n") + obj)
    out.write("\n]\n" if count else "]\n")
    return count


def json_lines(
    columns: Sequence[Column],
    batches: Iterable[pa.RecordBatch],
    out: TextIO,
    /,
    *,
    width: int | None = None,
) -> int:
    """One JSON object per line (JSON Lines), streamed."""
    count = 0
    for obj in _objects(columns, batches):
        out.write(obj + "\n")
        count += 1
    return count


RENDERERS: dict[str, Renderer] = {
    "table": table,
    "csv": csv_rows,
    "json": json_array,
    "jsonl": json_lines,
    "markdown": markdown,
    "line": line,
}

# Formats that end with their own row count; the REPL adds one after the others.
COUNTED = frozenset({"table"})
