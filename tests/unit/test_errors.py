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
