import duckdb
import pytest
import sqlglot.errors

from sqllake import errors
from sqllake.translation import translate


def test_location_is_one_based_line_and_column() -> None:
    text = "SELECT 1;\nSELECT nope FROM t"
    loc = errors.Location.of(text, text.index("nope"))
    assert (loc.line, loc.col) == (2, 8)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (duckdb.ConversionException("Conversion Error: bad"), errors.DataError),
        (duckdb.BinderException("Binder Error: x"), errors.ProgrammingError),
        (duckdb.CatalogException("Catalog Error: x"), errors.ProgrammingError),
        (duckdb.InterruptException("INTERRUPT Error: x"), errors.OperationalError),
        (sqlglot.errors.ParseError("x"), errors.ProgrammingError),
        (RuntimeError("boom"), errors.InternalError),
    ],
)
def test_foreign_exceptions_map_to_pep249_classes(exc: Exception, expected: type) -> None:
    assert type(translate(exc)) is expected


def test_duckdb_message_loses_prefix_and_generated_sql() -> None:
    exc = duckdb.BinderException(
        'Binder Error: Referenced column "nope" not found\n\nLINE 1: SELECT nope FROM "__v"'
    )
    error = translate(exc, locate_name=lambda name: 7 if name == "nope" else None)
    assert error.message == 'Referenced column "nope" not found'
    assert error.offset == 7


def test_str_includes_location_once_located() -> None:
    error = errors.ProgrammingError("bad", offset=4).locate("ab\ncdef")
    assert str(error) == "bad (line 2, column 2)"


def test_credentials_are_masked_in_sqllake_errors() -> None:
    error = errors.OperationalError("cannot open catalog postgresql://u:hunter2@db/x")
    assert error.message == "cannot open catalog postgresql://u:***@db/x"
    assert "hunter2" not in str(error) and "hunter2" not in repr(error.args)


def test_translate_masks_the_message_and_the_chained_exception() -> None:
    exc = duckdb.IOException('IO Error: No files found that match "ftp://u:hunter2@h/x.csv"')
    error = translate(exc)
    assert error.message == 'No files found that match "ftp://u:***@h/x.csv"'
    assert error.__cause__ is exc and "hunter2" not in str(exc)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (duckdb.InvalidInputException("Invalid Input Error: Division by zero in (1 // 0)"), "Data"),
        # Raised while Arrow pulls batches, DuckDB's error arrives as a plain OSError.
        (OSError("Invalid Input Error: Division by zero in expression (a % 0)"), "Data"),
        (duckdb.InvalidInputException('Invalid Input Error: Could not parse string "x"'), "Data"),
        (duckdb.InvalidInputException("Invalid Input Error: Malformed JSON at byte 1"), "Data"),
        (duckdb.InvalidInputException("Invalid Input Error: Unknown setting"), "Programming"),
        (RuntimeError("Division by zero"), "Internal"),  # not DuckDB's
    ],
)
def test_duckdb_errors_of_a_broad_kind_are_told_apart_by_message(
    exc: Exception, expected: str
) -> None:
    assert type(translate(exc)).__name__ == f"{expected}Error"


def test_a_diagnostic_names_what_the_error_is_about() -> None:
    error = errors.DataError(
        "bad value", offset=3, table="s.t", column="ts", row=2, value="x"
    ).locate("ab\ncdef")
    assert error.diag == errors.Diagnostic("s.t", "ts", 2, "x", 4)
    assert errors.ProgrammingError("bad").locate("text").diag == errors.Diagnostic()


def test_a_diagnostic_masks_a_credential_in_the_value() -> None:
    error = errors.DataError("bad", value="postgresql://u:hunter2@db/x")
    assert error.diag.value == "postgresql://u:***@db/x"


@pytest.mark.parametrize(
    ("exc", "table", "column"),
    [
        (duckdb.BinderException('Binder Error: Referenced column "nope" not found'), None, "nope"),
        (duckdb.CatalogException("Catalog Error: Table with name zz does not exist!"), "zz", None),
        (duckdb.ConversionException("Conversion Error: bad"), None, None),
    ],
)
def test_translation_fills_the_names_duckdb_reports(
    exc: Exception, table: str | None, column: str | None
) -> None:
    diag = translate(exc).diag
    assert (diag.table_name, diag.column_name) == (table, column)


def test_a_hint_places_and_classes_a_foreign_exception() -> None:
    exc = duckdb.NotImplementedException('Not implemented Error: "nope" unknown')
    errors.add_hint(exc, offset=5, kind=errors.ProgrammingError)
    errors.add_hint(exc, offset=9)  # an outer block's hint does not replace the inner one
    error = translate(exc, locate_name=lambda name: 1)
    assert type(error) is errors.ProgrammingError and error.offset == 5


def test_located_points_a_foreign_exception_only_when_no_name_is_found() -> None:
    def raised(message: str) -> BaseException:
        try:
            with errors.located(4):
                raise duckdb.BinderException(message)
        except duckdb.BinderException as exc:
            return exc
        raise AssertionError("not raised")

    quoting = raised('Binder Error: Referenced column "a" not found')
    assert translate(quoting, locate_name=lambda name: 11).offset == 11
    plain = raised("Binder Error: something")
    assert translate(plain, locate_name=lambda name: 11).offset == 4


def test_markers_of_sqllake_errors_are_read_in_one_place() -> None:
    from sqllake.translation import NOT_NULL, OUT_OF_RANGE, marked

    exc = duckdb.InvalidInputException(f"Invalid Input Error: {OUT_OF_RANGE}17")
    assert marked(exc, OUT_OF_RANGE) == 17
    assert marked(exc, NOT_NULL) is None
