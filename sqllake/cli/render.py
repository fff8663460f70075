"""Output formats: each renderer writes a result's columns and Arrow batches to a stream.

A renderer takes the result columns, an iterable of record batches and a text stream,
and returns the number of rows written. ``csv``, ``json`` and ``jsonl`` stream batch by
batch; ``table`` and ``markdown`` hold the rendered cells to compute column widths.

NULL: ``table`` and ``markdown`` show ``NULL`` (as psql's ``\\pset null NULL`` and
DuckDB do), so a NULL and the string ``'NULL'`` look alike there; ``csv`` writes an
empty field and ``json``/``jsonl`` write ``null``, which keep them apart. Value
spellings (dates, decimals, bytes, nested values) are decided in :mod:`.values`.
"""

from __future__ import annotations

import csv
import json
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TextIO

import pyarrow as pa

from sqllake.cli.values import rows, to_json, to_text
from sqllake.result import Column

Renderer = Callable[[Sequence[Column], Iterable[pa.RecordBatch], TextIO], int]

NULL_TEXT = "NULL"

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


def _cells(batches: Iterable[pa.RecordBatch], escapes: dict[int, str]) -> list[list[str]]:
    return [
        [to_text(value, NULL_TEXT).translate(escapes) for value in row]
        for batch in batches
        for row in rows(batch)
    ]


def _widths(header: list[str], body: list[list[str]], minimum: int = 1) -> list[int]:
    return [
        max([minimum, display_width(name)] + [display_width(row[i]) for row in body])
        for i, name in enumerate(header)
    ]


def table(columns: Sequence[Column], batches: Iterable[pa.RecordBatch], out: TextIO) -> int:
    """An aligned table in psql's style, with a ``(N rows)`` footer and a blank line."""
    if not columns:
        return 0
    header = [c.name.translate(_ESCAPES) for c in columns]
    body = _cells(batches, _ESCAPES)
    widths = _widths(header, body)
    right = [is_numeric(c) for c in columns]
    out.write((" " + " | ".join(map(_center, header, widths))).rstrip() + "\n")
    out.write("+".join("-" * (w + 2) for w in widths) + "\n")
    for row in body:
        out.write((" " + " | ".join(map(_pad, row, widths, right))).rstrip() + "\n")
    out.write(f"({len(body)} {'row' if len(body) == 1 else 'rows'})\n\n")
    return len(body)


def markdown(columns: Sequence[Column], batches: Iterable[pa.RecordBatch], out: TextIO) -> int:
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


def csv_rows(columns: Sequence[Column], batches: Iterable[pa.RecordBatch], out: TextIO) -> int:
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


def json_array(columns: Sequence[Column], batches: Iterable[pa.RecordBatch], out: TextIO) -> int:
    """One JSON array of objects, one object per line, streamed."""
    count = 0
    out.write("[")
    for count, obj in enumerate(_objects(columns, batches), start=1):
        out.write(("\n" if count == 1 else ",\n") + obj)
    out.write("\n]\n" if count else "]\n")
    return count


def json_lines(columns: Sequence[Column], batches: Iterable[pa.RecordBatch], out: TextIO) -> int:
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
}
