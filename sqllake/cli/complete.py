"""What to suggest at the cursor: keywords, functions, dot commands, schemas, tables and
the columns of the tables the statement names (aliases too).

Plain Python over the text before and after the cursor (the prompt_toolkit adapter is
in :mod:`.repl`). The statement is read with the shared tolerant lexer
(:mod:`sqllake.sql.lexer`), since the text being typed is rarely valid SQL; :func:`suggest`
never raises on any text. The names come from a :class:`NameCache`, refreshed on a
background thread after DDL so that completing never waits for the catalog.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from sqllake.catalog import TableName
from sqllake.session import Session
from sqllake.sql.lexer import Token, lex, semicolons
from sqllake.sql.text import quote_identifier, unquote_identifier

_KEYWORD_TEXT = """
    SELECT FROM WHERE GROUP BY HAVING ORDER LIMIT OFFSET DISTINCT AS AND OR NOT IN IS NULL
    LIKE ILIKE BETWEEN CASE WHEN THEN ELSE END JOIN LEFT RIGHT FULL INNER OUTER CROSS ON USING
    UNION ALL EXCEPT INTERSECT WITH INSERT INTO VALUES UPDATE SET DELETE MERGE MATCHED CREATE
    TABLE SCHEMA IF EXISTS DROP ALTER ADD COLUMN RENAME TO TYPE PARTITIONED PARTITION FIELD
    REPLACE USE SHOW TABLES SCHEMAS DESCRIBE EXPLAIN BEGIN COMMIT ROLLBACK CALL FLUSH CASCADE
    ABORT START TRANSACTION WORK RESET PRAGMA SESSION GLOBAL SORTED
    PRIMARY KEY DEFAULT COMMENT PROPERTIES TBLPROPERTIES WRITE ORDERED ASC DESC NULLS FIRST
    LAST TRUE FALSE CAST INTERVAL FOR SYSTEM_TIME VERSION TIMESTAMP OF BIGINT INTEGER INT
    SMALLINT DOUBLE FLOAT REAL DECIMAL BOOLEAN VARCHAR DATE TIME TIMESTAMPTZ UUID BLOB LIST
    STRUCT MAP"""
KEYWORDS = tuple(_KEYWORD_TEXT.split())
SCHEMA_WORDS = frozenset({"USE", "SCHEMA", "SCHEMAS", "IN"})
# Words after which a DuckDB setting's name comes (SET [SESSION | GLOBAL] name ...).
SETTING_WORDS = frozenset({"SET", "RESET", "PRAGMA"})
_SCOPE_WORDS = frozenset({"SESSION", "GLOBAL", "LOCAL"})
TABLE_WORDS = frozenset({"FROM", "JOIN", "INTO", "UPDATE", "TABLE", "DESCRIBE"})

_TYPED = re.compile(r'(?:(?:[A-Za-z_][\w$]*|"(?:[^"]|"")*")\.)*[A-Za-z_\w$]*$')
_SIMPLE = re.compile(r"[a-z_][a-z0-9_$]*")


@dataclass(frozen=True)
class Suggestion:
    """``text`` replaces the ``replace`` characters before the cursor; ``kind`` says
    what it is (keyword, function, table, column, schema, command, value)."""

    text: str
    kind: str
    replace: int


@dataclass(frozen=True)
class Names:
    """What completion knows: names of schemas, tables (per schema) and columns."""

    current: str = "default"
    schemas: tuple[str, ...] = ()
    tables: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    columns: Mapping[TableName, tuple[str, ...]] = field(default_factory=dict)
    functions: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()
    formats: tuple[str, ...] = ()
    settings: tuple[str, ...] = ()  # DuckDB's settings (SET name = ...)


def tokens(text: str) -> list[Token]:
    """Tokens of ``text``, blanks and comments left out; unterminated literals allowed."""
    return [t for t in lex(text) if t.kind not in ("blank", "comment")]


def ident(name: str) -> str:
    """``name`` as SQL spells it: bare when it is plain lower case, else quoted."""
    return name if _SIMPLE.fullmatch(name) else quote_identifier(name)


def _current_statement(before: str, after: str) -> tuple[str, str]:
    """The statement the cursor is in: its text before and after the cursor."""
    start = max((i + 1 for i in semicolons(before)), default=0)
    end = next(semicolons(after), len(after))
    return before[start:], after[:end]


def _in_literal(before: str) -> bool:
    """Is the cursor inside a string, a quoted name left open, or a comment?"""
    found = list(lex(before))
    last = found[-1] if found else None
    if last is None or last.end != len(before):
        return False
    text = last.text
    if last.kind == "comment":
        return not text.startswith("/*") or not text.endswith("*/") or len(text) < 4
    if last.kind in ("string", "quoted"):
        return len(text) == 1 or not text.endswith(text[0]) or text.count(text[0]) % 2 == 1
    return False


def _name_at(words: list[Token], i: int) -> tuple[list[str], int]:
    """The dotted name starting at ``words[i]``: its parts and the index after it."""
    parts: list[str] = []
    while i < len(words) and words[i].kind in ("word", "quoted"):
        parts.append(unquote_identifier(words[i].text))
        if i + 1 < len(words) and words[i + 1].text == ".":
            i += 2
            continue
        return parts, i + 1
    return parts, i


def referenced(statement: str, current: str) -> dict[str, TableName]:
    """The tables ``statement`` reads or writes, by the name or alias that qualifies
    their columns (lower case): ``FROM events e JOIN s.t`` -> ``e``, ``events``, ``t``."""
    words = tokens(statement)
    found: dict[str, TableName] = {}
    i = 0
    while i < len(words):
        if words[i].text.upper() not in TABLE_WORDS:
            i += 1
            continue
        i += 1
        while True:
            parts, i = _name_at(words, i)
            if not parts:
                break
            table = TableName(tuple(parts[:-1]) or (current,), parts[-1].split("$")[0])
            found[parts[-1].lower()] = table
            if i < len(words) and words[i].text.upper() == "AS":
                i += 1
            if i < len(words) and words[i].kind == "word" and words[i].text.upper() not in KEYWORDS:
                found[words[i].text.lower()] = table
                i += 1
            if i < len(words) and words[i].text == "," and words[i - 1].text != "(":
                i += 1
                continue
            break
    return found


def _matching(prefix: str, candidates: Iterable[str], kind: str) -> list[Suggestion]:
    low = prefix.lower()
    return [Suggestion(c, kind, len(prefix)) for c in candidates if c.lower().startswith(low)]


def _keywords(prefix: str) -> list[Suggestion]:
    # Keywords follow the case the user types in.
    lower = prefix[:1].islower()
    return [
        Suggestion(s.text.lower() if lower else s.text, s.kind, s.replace)
        for s in _matching(prefix, KEYWORDS, "keyword")
    ]


def _tables(names: Names, prefix: str) -> list[Suggestion]:
    own = names.tables.get(names.current, ())
    return _matching(prefix, (ident(t) for t in own), "table") + _matching(
        prefix, (ident(s) for s in names.schemas), "schema"
    )


def _columns(names: Names, tables: Iterable[TableName]) -> list[str]:
    seen: dict[str, None] = {}
    for table in tables:
        for column in names.columns.get(table, ()):
            seen.setdefault(ident(column))
    return list(seen)


def _qualified(names: Names, statement: str, qualifier: str, prefix: str) -> list[Suggestion]:
    """After ``x.``: the columns of the table or alias ``x``, or the tables of schema ``x``."""
    table = referenced(statement, names.current).get(qualifier.lower())
    if table is not None and table in names.columns:
        return _matching(prefix, _columns(names, [table]), "column")
    schema = next((s for s in names.schemas if s.lower() == qualifier.lower()), None)
    if schema is not None:
        return _matching(prefix, (ident(t) for t in names.tables.get(schema, ())), "table")
    return []


def _dot_command(names: Names, before: str) -> list[Suggestion]:
    head, blank, rest = before.partition(" ")
    if not blank:
        return _matching(head, ["." + c for c in names.commands], "command")
    prefix = rest.split(" ")[-1]
    values: Callable[[Names], Iterable[str]] = _DOT_ARGUMENTS.get(head[1:], lambda n: ())
    return _matching(prefix, values(names), "value")


_DOT_ARGUMENTS: dict[str, Callable[[Names], Iterable[str]]] = {
    "tables": lambda n: n.schemas,
    "schema": lambda n: n.tables.get(n.current, ()),
    "snapshots": lambda n: n.tables.get(n.current, ()),
    "mode": lambda n: n.formats,
    "timer": lambda n: ("on", "off"),
}


def _sql(names: Names, statement: str, before: str) -> list[Suggestion]:
    typed = _TYPED.search(before)
    word = typed.group(0) if typed else ""
    if "." in word:
        qualifier, _, prefix = word.rpartition(".")
        return _qualified(names, statement, unquote_identifier(qualifier.split(".")[-1]), prefix)
    previous = tokens(before[: len(before) - len(word)])
    last = previous[-1].text.upper() if previous else ""
    if _names_setting(previous):
        return _matching(word, names.settings, "setting")
    if last in SCHEMA_WORDS:
        return _matching(word, (ident(s) for s in names.schemas), "schema")
    if last in TABLE_WORDS or last == ",":
        tables = _tables(names, word)
        if last in TABLE_WORDS:
            return tables
    else:
        tables = []
    columns = _columns(names, referenced(statement, names.current).values())
    found = _matching(word, columns, "column") + tables
    if not word:
        return found
    return found + _matching(word, names.functions, "function") + _keywords(word)


def _names_setting(previous: list[Token]) -> bool:
    """Whether the word at the cursor is a setting's name: the statement so far is
    SET, RESET or PRAGMA, perhaps with a scope (ALTER TABLE ... SET is not)."""
    words = [t.text.upper() for t in previous]
    if words and words[-1] in _SCOPE_WORDS:
        words = words[:-1]
    return len(words) == 1 and words[0] in SETTING_WORDS


def suggest(names: Names, before: str, after: str = "") -> list[Suggestion]:
    """Suggestions for the cursor between ``before`` and ``after``; never raises."""
    try:
        head, tail = _current_statement(before, after)
        if _in_literal(head):
            return []
        if head.lstrip().startswith("."):
            return _dot_command(names, head.lstrip())
        return _sql(names, head + tail, head)
    except Exception:  # completion must never break the prompt
        return []


class NameCache:
    """The names completion offers, read from the lakehouse on a background thread.

    DuckDB's function names are read once, on the caller's thread (the engine is not
    shared between threads); schemas, tables and columns are re-read by :meth:`refresh`,
    which returns at once. Reading names never raises: what fails is left out.
    """

    MAX_TABLES = 500  # columns are read for at most this many tables

    def __init__(self, session: Session, commands: Iterable[str], formats: Iterable[str]) -> None:
        self.session = session
        self.names = Names(commands=tuple(sorted(commands)), formats=tuple(formats))
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._again = False
        try:
            rows = session.engine.relation(
                "SELECT DISTINCT function_name FROM duckdb_functions() ORDER BY 1"
            ).fetchall()
            functions = tuple(str(r[0]) for r in rows if not str(r[0]).startswith("__"))
        except Exception:
            functions = ()
        try:
            listed = session.engine.relation("SELECT name FROM duckdb_settings() ORDER BY 1")
            rows = listed.fetchall()
            settings = tuple(str(r[0]) for r in rows)
        except Exception:
            settings = ()
        self.names = Names(
            commands=self.names.commands,
            formats=self.names.formats,
            functions=functions,
            settings=settings,
        )

    def refresh(self) -> None:
        """Re-read the names in the background (once more if a reading is under way)."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                self._again = True
                return
            self._thread = threading.Thread(target=self._run, name="sqllake-names", daemon=True)
            self._thread.start()

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a refresh under way (tests)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            # When the catalog cannot be read, the names we had stay.
            with contextlib.suppress(Exception):
                self.names = self._read()
            with self._lock:
                if not self._again:
                    return
                self._again = False

    def _read(self) -> Names:
        lakehouse = self.session.lakehouse
        schemas = tuple(lakehouse.namespaces())
        tables: dict[str, tuple[str, ...]] = {}
        columns: dict[TableName, tuple[str, ...]] = {}
        for schema in schemas:
            listed = lakehouse.tables(tuple(schema.split(".")))
            tables[schema] = tuple(t.name for t in listed)
            for table in listed:
                if len(columns) < self.MAX_TABLES:
                    fields = lakehouse.load(table).schema().fields
                    columns[table] = tuple(f.name for f in fields)
        old = self.names
        return Names(
            ".".join(self.session.schema),
            schemas,
            tables,
            columns,
            old.functions,
            old.commands,
            old.formats,
            old.settings,
        )
