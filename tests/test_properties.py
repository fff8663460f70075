"""Table properties stored before they were checked (or by another engine)."""

from __future__ import annotations

from pathlib import Path

import pytest

import sqllake
from sqllake.catalog import TableName


def test_a_bad_stored_size_fails_the_write_naming_the_property(tmp_path: Path) -> None:
    con = sqllake.connect(str(tmp_path / "wh"), autocommit=True, inline_rows=0)
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id INT)")
    table = con.session.lakehouse.load(TableName(("default",), "t"))
    with table.transaction() as tx:  # as another engine would store it
        tx.set_properties({"write.target-file-size-bytes": "1024KB"})
    with pytest.raises(sqllake.ProgrammingError, match="write.target-file-size-bytes"):
        cur.execute("INSERT INTO t SELECT * FROM range(10)")
    cur.execute("ALTER TABLE t SET TBLPROPERTIES ('write.target-file-size-bytes' = '1048576')")
    cur.execute("INSERT INTO t SELECT * FROM range(10)")
    cur.execute("SELECT count(*) FROM t")
    assert cur.fetchone() == (10,)
    con.close()
