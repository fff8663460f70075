"""Every --format on one small query, checked against golden output."""

from __future__ import annotations

import pytest

from sqllake.cli.render import RENDERERS
from tests.cli.conftest import CliRunner

QUERY = (
    "SELECT * FROM (VALUES (1, 'a', 1.50::DECIMAL(4,2), DATE '2026-01-02'), "
    "(2, NULL, NULL, NULL), (3, 'x|y', -0.25, DATE '2026-12-31')) t(n, s, d, day) ORDER BY n"
)

GOLDEN = {
    "table": """\
 n |  s   |   d   |    day
---+------+-------+------------
 1 | a    |  1.50 | 2026-01-02
 2 | NULL |  NULL | NULL
 3 | x|y  | -0.25 | 2026-12-31
(3 rows)

""",
    "csv": """\
n,s,d,day
1,a,1.50,2026-01-02
2,,,
3,x|y,-0.25,2026-12-31
""",
    "json": """\
[
{"n": 1, "s": "a", "d": "1.50", "day": "2026-01-02"},
{"n": 2, "s": null, "d": null, "day": null},
{"n": 3, "s": "x|y", "d": "-0.25", "day": "2026-12-31"}
]
""",
    "jsonl": """\
{"n": 1, "s": "a", "d": "1.50", "day": "2026-01-02"}
{"n": 2, "s": null, "d": null, "day": null}
{"n": 3, "s": "x|y", "d": "-0.25", "day": "2026-12-31"}
""",
    "markdown": """\
|   n | s    |     d | day        |
| --: | ---- | ----: | ---------- |
|   1 | a    |  1.50 | 2026-01-02 |
|   2 | NULL |  NULL | NULL       |
|   3 | x\\|y | -0.25 | 2026-12-31 |
""",
    "line": """\
  n = 1
  s = a
  d = 1.50
day = 2026-01-02

  n = 2
  s = NULL
  d = NULL
day = NULL

  n = 3
  s = x|y
  d = -0.25
day = 2026-12-31
""",
}


def test_every_format_has_a_golden_output() -> None:
    assert set(GOLDEN) == set(RENDERERS)


@pytest.mark.parametrize("fmt", sorted(GOLDEN))
def test_format_output(cli: CliRunner, fmt: str) -> None:
    run = cli("--format", fmt, "-c", QUERY)
    assert (run.code, run.err) == (0, "")
    assert run.out == GOLDEN[fmt]


@pytest.mark.parametrize("fmt", sorted(GOLDEN))
def test_statements_without_rows_print_nothing(cli: CliRunner, fmt: str) -> None:
    run = cli("--format", fmt, "-c", "CREATE TABLE t (x INT); INSERT INTO t VALUES (1)")
    assert (run.code, run.out, run.err) == (0, "", "")


@pytest.mark.parametrize(
    ("fmt", "shown"),
    [("table", "'NULL' | NULL"), ("markdown", "| 'NULL' | NULL |"), ("line", "s = 'NULL'")],
)
def test_null_and_the_string_null_look_different(cli: CliRunner, fmt: str, shown: str) -> None:
    run = cli("--format", fmt, "-c", "SELECT 'NULL' AS s, NULL AS n")
    assert run.code == 0
    assert shown in run.out
