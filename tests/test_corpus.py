"""Tables written by Spark and the Iceberg Java library read exactly as their writers expect.

Every table of ``tests/corpus`` is registered where it lies (the files were
moved after they were written, so this also exercises relocation) and every answer in
its ``expected.json`` is reproduced: counts, sums, counts at each snapshot, the listed
queries, and the error for a snapshot whose manifest list is missing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

import sqllake
from tests.conftest import CORPUS, CatalogTarget

# Read at collection: the corpus is part of the repository, so a missing one fails loudly.
EXPECTED = json.loads((CORPUS / "expected.json").read_text())


def _id(case: dict[str, Any]) -> str:
    detail = case.get("column") or case.get("snapshot") or case.get("sql", "")[:40]
    return f"{case['table']}-{case['query_kind']}-{detail}"


def _sql(case: dict[str, Any]) -> str:
    table = case["table"]
    kind = case["query_kind"]
    if kind == "count":
        return f"SELECT count(*) FROM {table}"
    if kind == "sum":
        return f"SELECT sum({case['column']}) FROM {table}"
    if kind == "count_at_snapshot":
        return f"SELECT count(*) FROM {table} FOR VERSION AS OF {case['snapshot']}"
    return str(case["sql"]).format(t=table)


def _same(got: Any, expected: Any) -> bool:
    if isinstance(got, Decimal | int) and not isinstance(got, bool):
        return Decimal(got) == Decimal(str(expected))
    return bool(got == expected)


@pytest.fixture
def corpus(target: CatalogTarget) -> Iterator[sqllake.Connection]:
    con = target.connect(autocommit=True)
    cur = con.cursor()
    for table in sorted({case["table"] for case in EXPECTED}):
        metadata = next(c["metadata_file"] for c in EXPECTED if c["table"] == table)
        cur.execute("CALL system.register_table(?, ?)", (table, str(CORPUS / table / metadata)))
    yield con
    con.close()


@pytest.mark.parametrize("case", EXPECTED, ids=[_id(c) for c in EXPECTED])
def test_corpus_answer(corpus: sqllake.Connection, case: dict[str, Any]) -> None:
    cur = corpus.cursor()
    if case.get("expected_error"):
        with pytest.raises(sqllake.OperationalError, match="cannot be read"):
            cur.execute(_sql(case))
            cur.fetchall()
        return
    cur.execute(_sql(case))
    rows = cur.fetchall()
    expected = case["expected"]
    if not isinstance(expected, list):
        expected = [[expected]]
    assert len(rows) == len(expected), rows
    for got_row, want_row in zip(rows, expected, strict=True):
        assert all(_same(g, w) for g, w in zip(got_row, want_row, strict=True)), (got_row, want_row)


def test_metadata_tables_of_a_spark_table(corpus: sqllake.Connection) -> None:
    cur = corpus.cursor()
    cur.execute('SELECT count(*) FROM "spec2_pyspark$snapshots"')
    assert cur.fetchone() == (7,)
    cur.execute('SELECT count(*) FROM "spec2_pyspark$history"')
    assert cur.fetchone() == (7,)
    cur.execute(
        'SELECT count(*) FROM "spec2_pyspark$files" WHERE content = 1'  # position delete files
    )
    (deletes,) = cur.fetchone()
    assert deletes > 0
    cur.execute('SELECT name FROM "spec2_pyspark$refs"')
    assert cur.fetchall() == [("main",)]


def test_drop_keeps_the_files_of_a_registered_table(corpus: sqllake.Connection) -> None:
    before = sorted(p.name for p in (CORPUS / "eq_deletes" / "data").iterdir())
    corpus.cursor().execute("DROP TABLE eq_deletes")
    assert sorted(p.name for p in (CORPUS / "eq_deletes" / "data").iterdir()) == before


def test_table_statistics_count_rows_exactly_despite_delete_files(
    corpus: sqllake.Connection,
) -> None:
    expected = {c["table"]: c["expected"] for c in EXPECTED if c["query_kind"] == "count"}
    cur = corpus.cursor()
    cur.execute("SELECT table_name, row_count, delete_files FROM information_schema.tables")
    found = {name: (rows, deletes) for name, rows, deletes in cur.fetchall()}
    assert {name: found[name][0] for name in expected} == expected
    assert found["eq_deletes"][1] > 0 and found["spec2_pyspark"][1] > 0
