"""SQL text -> statements with positions -> syntax trees (sqllake dialect)."""

from sqllake.sql.parse import parse
from sqllake.sql.split import Statement, is_complete, split

__all__ = ["Statement", "is_complete", "parse", "split"]
