"""The engine's one-pass stream and the relation API it falls back to agree."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pyarrow as pa
import pytest

from sqllake.read.engine import ONE_PASS, Engine


@pytest.fixture(params=[True, False], ids=["one-pass", "relation"])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    made = Engine(one_pass=request.param)
    yield made
    made.close()


def test_the_installed_client_runs_a_query_in_one_pass() -> None:
    assert ONE_PASS


def test_columns_are_named_and_typed_as_duckdb_binds_them(engine: Engine) -> None:
    stream = engine.stream(
        "SELECT 1.5::DECIMAL(15, 2) AS price, 'x' AS flag, [1, 2] AS xs, {'a': 1} AS s, ? AS p",
        [7],
    )
    assert stream.columns.names == ("price", "flag", "xs", "s", "p")
    assert stream.columns.types == (
        "DECIMAL(15,2)",
        "VARCHAR",
        "INTEGER[]",
        "STRUCT(a INTEGER)",
        "INTEGER",
    )
    assert stream.batches.read_all().to_pylist() == [
        {"price": pytest.approx(1.5), "flag": "x", "xs": [1, 2], "s": {"a": 1}, "p": 7}
    ]


def test_rows_arrive_in_batches_of_the_size_asked(engine: Engine) -> None:
    stream = engine.stream("SELECT range AS n FROM range(25000)", batch_rows=10_000)
    sizes = [batch.num_rows for batch in stream.batches]
    assert sum(sizes) == 25_000
    assert max(sizes) <= 10_000 and len(sizes) >= 3


def test_registered_tables_and_inline_views_are_read(engine: Engine) -> None:
    arrow = engine.register(pa.table({"id": [1, 2, 3]}))
    scan = engine.view(f'SELECT id * 10 AS id FROM "{arrow}"')
    stream = engine.stream(f'SELECT sum(id) AS total FROM "{scan}" WHERE id > ?', [10])
    assert stream.batches.read_all().to_pylist() == [{"total": 50}]


def test_a_statement_that_does_not_bind_fails_when_it_is_run(engine: Engine) -> None:
    with pytest.raises(duckdb.BinderException, match="no_such_column"):
        engine.stream("SELECT no_such_column FROM range(3)")


def test_parquet_prefetching_is_off_for_local_files_and_on_for_urls(engine: Engine) -> None:
    setting = "current_setting('disable_parquet_prefetching')"
    assert engine.row(f"SELECT {setting}") == (True,)
    assert engine.row(f"SELECT {setting}, 's3://bucket/t/data/x.parquet'")[0] is False
    assert engine.stream(f"SELECT {setting} AS off").batches.read_all().to_pylist() == [
        {"off": True}
    ]


def test_a_stream_left_part_way_frees_the_engine_once_closed(engine: Engine) -> None:
    with engine.stream("SELECT * FROM range(1000000)", batch_rows=1000) as stream:
        assert stream.batches.read_next_batch().num_rows == 1000
        with pytest.raises(duckdb.Error, match="open result"):
            engine.row("SELECT 1")
    assert engine.row("SELECT 1") == (1,)


def test_a_cancel_before_the_first_query_cancels_the_statement() -> None:
    engine = Engine()
    engine.start_statement()
    engine.interrupt()  # no query is running yet: the statement is still planning
    with pytest.raises(duckdb.InterruptException):
        engine.relation("SELECT 1").fetchall()
    engine.start_statement()  # the next statement runs
    assert engine.relation("SELECT 1").fetchall() == [(1,)]
    engine.close()
