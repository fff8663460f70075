"""SharedBudget: partitions written at once share one memory budget for row groups."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from sqllake.write.parquet import RollingParquetWriter, SharedBudget, WriterOptions

KIB = 1024


def test_one_writer_is_never_limited_by_the_shared_budget() -> None:
    budget = SharedBudget(100 * KIB)
    budget.add(500 * KIB, first=True)
    assert not budget.over_for(500 * KIB)


def test_writers_over_the_budget_write_once_they_hold_an_equal_share() -> None:
    budget = SharedBudget(100 * KIB)
    budget.add(60 * KIB, first=True)
    budget.add(30 * KIB, first=True)
    assert not budget.over_for(60 * KIB)  # 90 KiB in all: under the budget
    budget.add(20 * KIB, first=False)  # the second writer now holds 50 KiB
    assert budget.over_for(50 * KIB)
    assert not budget.over_for(40 * KIB)
    budget.release(50 * KIB)
    assert not budget.over_for(60 * KIB)  # one writer left


def _batch(rows: int) -> pa.RecordBatch:
    return pa.record_batch({"s": pa.array(["x" * 100] * rows)})


def _row_groups(path: str) -> list[int]:
    metadata = pq.ParquetFile(path).metadata
    return [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]


def test_interleaved_partitions_write_smaller_row_groups_instead_of_holding_them(
    tmp_path: Path,
) -> None:
    schema = _batch(1).schema
    shared = SharedBudget(200 * KIB)
    writers = [
        RollingParquetWriter(None, str(tmp_path / p), schema, WriterOptions(), shared)
        for p in ("a", "b")
    ]
    held = []
    for _ in range(20):  # 20 x 100 rows of ~100 bytes to each: 400 KiB in all
        for writer in writers:
            writer.write(_batch(100))
            held.append(shared.held)
    assert max(held) <= 200 * KIB + _batch(100).nbytes
    files = [writer.close()[0] for writer in writers]
    for file in files:
        groups = _row_groups(file.location)
        assert sum(groups) == 2000 and len(groups) > 1


def test_a_lone_writer_keeps_whole_row_groups(tmp_path: Path) -> None:
    writer = RollingParquetWriter(
        None, str(tmp_path), _batch(1).schema, WriterOptions(), SharedBudget(10 * KIB)
    )
    for _ in range(20):
        writer.write(_batch(100))
    assert _row_groups(writer.close()[0].location) == [2000]
