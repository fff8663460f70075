"""The change set of a DELETE, UPDATE or MERGE as one DuckDB query.

The target is read with each row's data file and position (``__sqllake_file``,
``__sqllake_pos``), joined with the source as the statement says, and every row some
clause acts on comes out once per match: its file and position (NULL for a row a MERGE
inserts), the number of the clause that acts (``__sqllake_clause``, the first whose
condition holds, as the SQL standard orders WHEN clauses), whether it writes a row
(``__sqllake_write``: UPDATE and INSERT do) and the new row's values, cast to the
table's column types (``__sqllake_c0``...). DuckDB lets later select items name earlier
ones, so each value is a ``CASE`` on the clause number.
"""

from __future__ import annotations

from pyiceberg.types import NestedField
from sqlglot import exp

from sqllake.errors import ProgrammingError
from sqllake.plan import nodes
from sqllake.read.scan_sql import ROW_FILE, ROW_POS
from sqllake.sql.dialect import DIALECT
from sqllake.sql.text import quote_identifier, quote_string
from sqllake.types import default_sql, duckdb_type

CLAUSE = "__sqllake_clause"
WRITE = "__sqllake_write"
_SOURCE_MARK = "__sqllake_src"
_SOURCE_ALIAS = "__sqllake_source"


def value_column(position: int) -> str:
    return f"__sqllake_c{position}"


def _sql_with_files(node: exp.Expr, text: str) -> str:
    """``node`` as DuckDB SQL, keeping file paths read as tables (``FROM 'x.csv'``) in
    single quotes: the generator would quote them as names, and the query would then
    look for a lakehouse table of that name."""
    copy = node.copy()
    files: dict[str, str] = {}
    for table in copy.find_all(exp.Table):
        ident = table.this
        start = ident.meta.get("start") if isinstance(ident, exp.Identifier) else None
        if start is not None and text[start : start + 1] == "'":
            marker = f"__sqllake_file_literal_{len(files)}"
            files[marker] = ident.name
            table.set("this", exp.to_identifier(marker, quoted=True))
    sql = copy.sql(dialect=DIALECT)
    for marker, path in files.items():
        sql = sql.replace(quote_identifier(marker), quote_string(path))
    return sql


class _Builder:
    def __init__(self, plan: nodes.ChangeRows, fields: list[NestedField], table_name: str) -> None:
        self.plan = plan
        self.fields = fields
        self.table_name = table_name
        self.target = quote_identifier(plan.alias)
        self.source_alias = ""

    def sql(self, node: exp.Expr) -> str:
        return _sql_with_files(node, self.plan.text)

    def _source(self, node: exp.Expr) -> tuple[str, str]:
        """A MERGE source as ``(SELECT *, TRUE AS mark FROM ...)`` and its alias (column
        aliases, ``AS s(id, v)``, name the inner relation's columns)."""
        copy = node.copy()
        alias = copy.alias or (copy.name if isinstance(copy, exp.Table) else "") or _SOURCE_ALIAS
        given = copy.args.get("alias")
        columns = [c.name for c in given.columns] if isinstance(given, exp.TableAlias) else []
        copy.set("alias", None)
        inner = (
            self.sql(copy.this)
            if isinstance(copy, exp.Subquery)
            else f"SELECT * FROM {self.sql(copy)}"
        )
        named = f"({', '.join(quote_identifier(c) for c in columns)})" if columns else ""
        return f"(SELECT *, TRUE AS {_SOURCE_MARK} FROM ({inner}) AS __sqllake_in{named})", alias

    def match_sql(self, match: str) -> str:
        source = f"{quote_identifier(self.source_alias)}.{_SOURCE_MARK}"
        target = f"{self.target}.{ROW_FILE}"
        return {
            "matched": f"({target} IS NOT NULL AND {source} IS NOT NULL)",
            "not_matched": f"({target} IS NULL)",
            "not_matched_by_source": f"({source} IS NULL)",
        }[match]

    def clause_sql(self) -> str:
        if self.plan.statement != "merge":
            return "1"
        whens = []
        for number, clause in enumerate(self.plan.clauses, start=1):
            test = self.match_sql(clause.match)
            if clause.condition is not None:
                test += f" AND ({self.sql(clause.condition)})"
            whens.append(f"WHEN {test} THEN {number}")
        return f"CASE {' '.join(whens)} END"

    def _cast(self, value: str, field: NestedField) -> str:
        return f"CAST({value} AS {duckdb_type(field.field_type)})"

    def _from_source(self, field: NestedField) -> str:
        return self._cast(
            f"{quote_identifier(self.source_alias)}.{quote_identifier(field.name)}", field
        )

    def _update_values(self, clause: nodes.WhenClause) -> list[str]:
        if clause.assignments is None:  # UPDATE SET *
            return [self._from_source(f) for f in self.fields]
        by_name = {f.name.lower(): f for f in self.fields}
        assigned: dict[int, str] = {}
        for item in clause.assignments:
            field = by_name.get(item.column.lower())
            if field is None:
                raise ProgrammingError(
                    f"table {self.table_name} has no column {item.column}", offset=item.offset
                )
            if field.field_id in assigned:
                raise ProgrammingError(
                    f"column {item.column} is assigned twice", offset=item.offset
                )
            assigned[field.field_id] = self._cast(self.sql(item.value), field)
        return [
            assigned.get(f.field_id, f"{self.target}.{quote_identifier(f.name)}")
            for f in self.fields
        ]

    def _insert_values(self, clause: nodes.WhenClause) -> list[str]:
        if clause.values is None:  # INSERT *
            return [self._from_source(f) for f in self.fields]
        if clause.columns is None:
            if len(clause.values) != len(self.fields):
                raise ProgrammingError(
                    f"INSERT into {self.table_name} has {len(self.fields)} columns but "
                    f"{len(clause.values)} values",
                    offset=clause.offset,
                )
            columns = [(f.name, clause.offset) for f in self.fields]
        else:
            columns = list(clause.columns)
            if len(columns) != len(clause.values):
                raise ProgrammingError(
                    f"INSERT lists {len(columns)} columns but {len(clause.values)} values",
                    offset=clause.offset,
                )
        by_name = {f.name.lower(): f for f in self.fields}
        given: dict[int, str] = {}
        for (column, offset), value in zip(columns, clause.values, strict=True):
            field = by_name.get(column.lower())
            if field is None:
                raise ProgrammingError(
                    f"table {self.table_name} has no column {column}", offset=offset
                )
            if field.field_id in given:
                raise ProgrammingError(f"column {column} is listed twice", offset=offset)
            given[field.field_id] = self._cast(self.sql(value), field)
        return [
            given.get(f.field_id, default_sql(f.write_default, f.field_type)) for f in self.fields
        ]

    def values_sql(self) -> list[str]:
        """Each column's new value: one CASE on the clause number."""
        per_clause: list[tuple[int, list[str]]] = []
        for number, clause in enumerate(self.plan.clauses, start=1):
            if clause.action == "update":
                per_clause.append((number, self._update_values(clause)))
            elif clause.action == "insert":
                per_clause.append((number, self._insert_values(clause)))
        columns = []
        for i, field in enumerate(self.fields):
            if not per_clause:
                value = f"CAST(NULL AS {duckdb_type(field.field_type)})"
            elif self.plan.statement != "merge":
                value = per_clause[0][1][i]
            else:
                whens = " ".join(f"WHEN {n} THEN {values[i]}" for n, values in per_clause)
                value = f"CASE {CLAUSE} {whens} END"
            columns.append(f"{value} AS {value_column(i)}")
        writes = [str(n) for n, _ in per_clause]
        write = f"{CLAUSE} IN ({', '.join(writes)})" if writes else "FALSE"
        return [f"{write} AS {WRITE}", *columns]

    def from_sql(self, target_view: str) -> str:
        target = f"{quote_identifier(target_view)} AS {self.target}"
        plan = self.plan
        if plan.statement != "merge":
            sources = "".join(f", {self.sql(s)}" for s in plan.sources)
            where = f" WHERE {self.sql(plan.condition)}" if plan.condition is not None else ""
            return f"{target}{sources}{where}"
        source, self.source_alias = self._source(plan.sources[0])
        matches = {c.match for c in plan.clauses}
        keep_target = "not_matched_by_source" in matches
        keep_source = "not_matched" in matches
        join = {
            (False, False): "JOIN",
            (True, False): "LEFT JOIN",
            (False, True): "RIGHT JOIN",
            (True, True): "FULL JOIN",
        }[(keep_target, keep_source)]
        assert plan.condition is not None
        return (
            f"{target} {join} {source} AS {quote_identifier(self.source_alias)} "
            f"ON {self.sql(plan.condition)}"
        )


def change_set_sql(
    plan: nodes.ChangeRows, fields: list[NestedField], table_name: str, target_view: str
) -> str:
    """The change set query (see the module docs) over the target read by ``target_view``."""
    builder = _Builder(plan, fields, table_name)
    source = builder.from_sql(target_view)  # sets the source alias the clauses use
    items = [
        f"{builder.target}.{ROW_FILE} AS {ROW_FILE}",
        f"{builder.target}.{ROW_POS} AS {ROW_POS}",
        f"{builder.clause_sql()} AS {CLAUSE}",
        *builder.values_sql(),
    ]
    return f"SELECT * FROM (SELECT {', '.join(items)} FROM {source}) WHERE {CLAUSE} IS NOT NULL"
