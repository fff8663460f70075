"""A sqllogictest-style runner for the golden files under ``tests/sql/**/*.test``.

File format (one record after another, records separated by blank lines)::

    # a comment: lines starting with '#' outside a record are ignored

    statement ok
    CREATE TABLE t (id INT, name VARCHAR)

    statement count 2
    INSERT INTO t VALUES (1, 'a'), (2, 'b')

    statement error
    INSERT INTO t VALUES ('x', 'a')
    ----
    DataError: value 'x' does not fit column id @1:1

    query IT rowsort
    SELECT id, name FROM t
    ----
    1	a
    2	b

Records:

- ``statement ok``: the SQL (every line up to the next blank line) must succeed.
- ``statement count N``: it must succeed and report ``cursor.rowcount == N``.
- ``statement error``: the SQL (up to ``----``) must fail. The line after ``----`` is
  ``ErrorClass: text`` where ``ErrorClass`` is the name of a ``sqllake`` error class
  (the raised error must be an instance of it) and ``text`` a substring of the message.
  An optional trailing ``@L:C`` also requires the error's 1-based line and column.
  Only ``sqllake`` errors count: any other exception fails the record.
- ``query <types> [rowsort]``: the SQL (up to ``----``) must return the rows that follow,
  up to the next blank line (no rows: ``----`` then the blank line). ``<types>`` has one
  letter per result column, checked against the column's type: ``I`` an integer,
  ``R`` a float, double or decimal, ``B`` a boolean, ``T`` any other type (text, dates,
  times, UUID, BLOB, nested values), ``?`` any type. ``rowsort`` sorts the actual and
  expected rows (as rendered strings) before comparing; without it order counts.
  When the expected rows are one line ``<REGEX>:pattern`` (or ``<!REGEX>:pattern``), the
  rendered rows joined by newlines must (must not) contain a match of the Python regular
  expression (``re.MULTILINE``: ``^`` and ``$`` match at each row), for output such as
  EXPLAIN whose details vary.

A record may be preceded by ``skipif CONFIG [CONFIG...]`` lines (sqllogictest's
directive): it does not run on those catalog configurations of ``tests/test_golden.py``
(``sqlite``, ``postgres``, ``s3``, ``rest``). A comment beside it says why.

Every header may end with ``con=NAME``: the record runs on a second connection called
NAME (opened on first use, same warehouse and catalog). Records without it use the
main connection. All connections are in autocommit mode, as in the CLI.

Values in result rows are separated by one tab and compared as rendered strings:
``NULL``; ``true``/``false``; integers in decimal; decimals with their scale and no
exponent (``1.50``); doubles as Python's shortest round-trip ``repr`` (``0.1``,
``1e+20``, ``nan``, ``inf``); REAL (FLOAT) values as the shortest decimal that reads
back as the same 32-bit float (``0.1``); dates, times and timestamps as Python's
``str`` (``2024-01-01 08:00:00+00:00``; the session time zone is UTC); UUIDs in their
canonical form; BLOBs with printable ASCII as is and other bytes as ``\\xHH``; lists
``[1, 2, NULL]``, structs ``{'x': 1, 'y': 'a'}`` and maps ``{'k'=1}`` (an empty map
``{}``, but ``[]`` when nested in another value), with strings inside nested values
quoted; an empty string or BLOB as ``(empty)``; a tab, newline or
backslash in a string as ``\\t``, ``\\n``, ``\\\\``.

``${DATA_DIR}`` in SQL is replaced by the absolute path of ``tests/sql/data``, and
``${CORPUS_DIR}`` by that of ``tests/corpus`` (tables other engines wrote).
"""

from __future__ import annotations

import datetime
import decimal
import difflib
import re
import struct
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import sqllake

SKIPIF = "skipif "
SQL_DIR = Path(__file__).resolve().parent / "sql"
DATA_DIR = SQL_DIR / "data"
CORPUS_DIR = SQL_DIR.parent / "corpus"
SEPARATOR = "----"
REGEX_PREFIXES = ("<REGEX>:", "<!REGEX>:")

_ERROR_LINE = re.compile(r"^(?P<cls>\w+):\s*(?P<text>.*?)(?:\s*@(?P<line>\d+):(?P<col>\d+))?$")
_INTEGER_TYPES = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
)
_REAL_TYPES = ("FLOAT", "DOUBLE", "DECIMAL", "REAL")


@dataclass(frozen=True)
class ExpectedError:
    """What a ``statement error`` record expects."""

    class_name: str
    text: str
    line: int | None = None
    col: int | None = None


@dataclass(frozen=True)
class Record:
    """One record of a golden file; ``line`` is the 1-based line of its header."""

    kind: str  # "statement" or "query"
    line: int
    sql: str
    connection: str = "main"
    count: int | None = None
    error: ExpectedError | None = None
    types: str = ""
    rowsort: bool = False
    rows: tuple[str, ...] = ()
    skip_on: frozenset[str] = frozenset()  # configurations the record does not run on


class FormatError(Exception):
    """A golden file that does not follow the format above."""


def parse_file(path: Path) -> list[Record]:
    """The records of one golden file."""
    lines = path.read_text(encoding="utf-8").split("\n")
    records: list[Record] = []
    skip_on: set[str] = set()
    i = 0
    while i < len(lines):
        header = lines[i].strip()
        if not header or header.startswith("#"):
            i += 1
            continue
        if header.startswith(SKIPIF):
            skip_on.update(header[len(SKIPIF) :].split())
            i += 1
            continue
        start = i + 1
        words = header.split()
        connection = "main"
        if words[-1].startswith("con="):
            connection = words.pop()[len("con=") :]
        sql, i = _block(lines, i + 1, stop_at_separator=True)
        if not sql:
            raise FormatError(f"{path}:{start}: record without SQL")
        has_result = i < len(lines) and lines[i].strip() == SEPARATOR
        result, i = _block(lines, i + 1) if has_result else ([], i)
        record = _record(words, start, "\n".join(sql), connection, has_result, result)
        records.append(replace(_check_record(record, path), skip_on=frozenset(skip_on)))
        skip_on = set()
    return records


def _block(lines: list[str], i: int, stop_at_separator: bool = False) -> tuple[list[str], int]:
    """Lines from ``i`` up to a blank line (or ``----``); returns them and where it stopped."""
    block: list[str] = []
    while i < len(lines) and lines[i].strip():
        if stop_at_separator and lines[i].strip() == SEPARATOR:
            break
        block.append(lines[i].rstrip("\r"))
        i += 1
    return block, i


def _record(
    words: list[str], line: int, sql: str, connection: str, has_result: bool, result: list[str]
) -> Record:
    where = f"line {line}"
    if words[0] == "statement" and len(words) == 2 and words[1] == "ok":
        return Record("statement", line, sql, connection)
    if words[0] == "statement" and len(words) == 3 and words[1] == "count":
        return Record("statement", line, sql, connection, count=int(words[2]))
    if words[0] == "statement" and words[1:] == ["error"]:
        if not has_result or len(result) != 1:
            raise FormatError(f"{where}: statement error needs ---- and one error line")
        match = _ERROR_LINE.match(result[0].strip())
        if match is None:
            raise FormatError(f"{where}: expected 'ErrorClass: text [@L:C]'")
        error = ExpectedError(
            match["cls"],
            match["text"],
            int(match["line"]) if match["line"] else None,
            int(match["col"]) if match["col"] else None,
        )
        return Record("statement", line, sql, connection, error=error)
    if words[0] == "query" and len(words) in (2, 3):
        options = words[2:]
        if options not in ([], ["rowsort"]):
            raise FormatError(f"{where}: unknown query option {options}")
        if not has_result:
            raise FormatError(f"{where}: query needs ---- before its rows")
        return Record(
            "query",
            line,
            sql,
            connection,
            types=words[1],
            rowsort=bool(options),
            rows=tuple(result),
        )
    raise FormatError(f"{where}: unknown record header {' '.join(words)!r}")


def _check_record(record: Record, path: Path) -> Record:
    if record.kind == "query" and not set(record.types) <= set("IRBT?"):
        raise FormatError(f"{path}:{record.line}: query types must be letters of IRBT?")
    if record.error is not None and not isinstance(
        getattr(sqllake, record.error.class_name, None), type
    ):
        raise FormatError(f"{path}:{record.line}: unknown error class {record.error.class_name}")
    return record


# Rendering values


def _escape(text: str) -> str:
    if text == "":
        return "(empty)"
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _float32(value: float) -> str:
    exact = struct.unpack("f", struct.pack("f", value))[0]
    for digits in range(1, 10):
        text = f"{value:.{digits}g}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == exact:
            return repr(float(text))
    return repr(value)


def _blob(value: bytes) -> str:
    return "".join(chr(b) if 32 <= b < 127 and b != ord("\\") else f"\\x{b:02X}" for b in value)


def render(value: Any, type_name: str = "", nested: bool = False) -> str:
    """The golden-file text of one value (see the module docstring)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float32(value) if type_name.upper() in ("FLOAT", "REAL") else repr(value)
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, str):
        return f"'{value}'" if nested else _escape(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return _blob(bytes(value)) or "(empty)"
    if isinstance(value, uuid.UUID | datetime.date | datetime.time | datetime.timedelta):
        return str(value)
    if isinstance(value, dict):
        inner = ", ".join(f"'{k}': {render(v, nested=True)}" for k, v in value.items())
        return "{" + inner + "}"
    is_map = type_name.upper().startswith("MAP(")
    if isinstance(value, list) and (is_map or value) and all(isinstance(v, tuple) for v in value):
        inner = ", ".join(f"{render(k, nested=True)}={render(v, nested=True)}" for k, v in value)
        return "{" + inner + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(render(v, nested=True) for v in value) + "]"
    return _escape(str(value))


def _type_letter_ok(letter: str, type_name: str) -> bool:
    name = type_name.upper()
    if letter == "I":
        return name in _INTEGER_TYPES
    if letter == "R":
        return name.startswith(_REAL_TYPES)
    if letter == "B":
        return name == "BOOLEAN"
    if letter == "T":
        return name not in _INTEGER_TYPES and name != "BOOLEAN" and not name.startswith(_REAL_TYPES)
    return True


# Running


@dataclass
class Runner:
    """Runs the records of one file; ``connect`` opens a new autocommit connection."""

    path: Path
    connect: Callable[[], sqllake.Connection]
    configuration: str = ""  # records marked ``skipif`` it are not run
    connections: dict[str, sqllake.Connection] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def run(self) -> list[str]:
        """Every record in order; returns the failure messages (empty: all passed)."""
        try:
            for record in parse_file(self.path):
                if self.configuration in record.skip_on:
                    continue
                problem = self._run_record(record)
                if problem:
                    self.failures.append(self._describe(record, problem))
        finally:
            self._close()
        return self.failures

    def _close(self) -> None:
        # Closing flushes what a connection still holds, so it can fail too.
        for name, con in self.connections.items():
            try:
                con.close()
            except Exception as exc:
                self.failures.append(
                    f"{self.path.name}: closing connection {name} raised "
                    f"{type(exc).__module__}.{type(exc).__name__}: {exc}"
                )

    def _cursor(self, name: str) -> sqllake.Cursor:
        if name not in self.connections:
            self.connections[name] = self.connect()
        return self.connections[name].cursor()

    def _describe(self, record: Record, problem: str) -> str:
        try:
            shown = self.path.relative_to(SQL_DIR.parent.parent)
        except ValueError:
            shown = self.path
        sql = "\n".join("    " + line for line in record.sql.split("\n"))
        return f"{shown}:{record.line}: {problem}\n{sql}"

    def _run_record(self, record: Record) -> str | None:
        cursor = self._cursor(record.connection)
        sql = record.sql.replace("${DATA_DIR}", str(DATA_DIR)).replace(
            "${CORPUS_DIR}", str(CORPUS_DIR)
        )
        try:
            cursor.execute(sql)
            rows = cursor.fetchall() if cursor.description is not None else None
        except sqllake.Error as exc:
            if record.error is None:
                return f"unexpected {type(exc).__name__}: {exc}"
            return _check_error(record.error, exc)
        except Exception as exc:
            return f"foreign exception escaped: {type(exc).__module__}.{type(exc).__name__}: {exc}"
        if record.error is not None:
            return f"expected {record.error.class_name} but the statement succeeded"
        if record.count is not None and cursor.rowcount != record.count:
            return f"expected rowcount {record.count}, got {cursor.rowcount}"
        if record.kind == "query":
            if rows is None or cursor.description is None:
                return "expected rows but the statement returned none"
            return _check_rows(record, [d[1] for d in cursor.description], rows)
        return None


def _check_error(expected: ExpectedError, exc: sqllake.Error) -> str | None:
    klass = getattr(sqllake, expected.class_name)
    actual = f"{type(exc).__name__}: {exc}"
    if not isinstance(exc, klass):
        return f"expected {expected.class_name}, got {actual}"
    if expected.text not in exc.message:
        return f"expected message containing {expected.text!r}, got {actual}"
    if expected.line is not None:
        location = exc.location
        where = f"@{location.line}:{location.col}" if location else "no location"
        if location is None or (location.line, location.col) != (expected.line, expected.col):
            return f"expected location @{expected.line}:{expected.col}, got {where} ({actual})"
    return None


def _check_rows(record: Record, types: list[str], rows: list[tuple[Any, ...]]) -> str | None:
    if len(record.types) != len(types):
        return f"query declares {len(record.types)} columns, the result has {len(types)}"
    for i, (letter, type_name) in enumerate(zip(record.types, types, strict=True)):
        if not _type_letter_ok(letter, type_name):
            return f"column {i + 1} has type {type_name}, declared {letter!r}"
    actual = ["\t".join(render(v, t) for v, t in zip(row, types, strict=True)) for row in rows]
    expected = list(record.rows)
    if len(expected) == 1 and expected[0].startswith(REGEX_PREFIXES):
        return _check_regex(expected[0], actual)
    if record.rowsort:
        actual, expected = sorted(actual), sorted(expected)
    if actual == expected:
        return None
    diff = difflib.unified_diff(expected, actual, "expected", "actual", lineterm="")
    return "wrong result\n" + "\n".join(diff)


def _check_regex(expected: str, actual: list[str]) -> str | None:
    negate = expected.startswith("<!REGEX>:")
    pattern = expected.split(":", 1)[1]
    found = re.search(pattern, "\n".join(actual), re.MULTILINE) is not None
    if found != negate:
        return None
    shown = "\n".join("    | " + line for line in actual)
    verb = "matches" if negate else "does not match"
    return f"result {verb} {pattern!r}:\n{shown}"


def golden_files() -> Iterator[Path]:
    """Every golden file, in a stable order."""
    yield from sorted(SQL_DIR.rglob("*.test"))
