"""A catalog that is not a SQL catalog, for tests of what needs one.

It stands in for a REST or Glue catalog: it keeps its tables in a SQL catalog it does
not show, so sqllake sees a catalog without a database of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyiceberg.catalog import Catalog
from pyiceberg.catalog.sql import SqlCatalog


class OtherCatalog(Catalog):
    def __init__(self, name: str, **properties: str) -> None:
        super().__init__(name, **properties)
        self.inner = SqlCatalog(name, **properties)


def _forward(method: str) -> Callable[..., Any]:
    def forwarded(self: OtherCatalog, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.inner, method)(*args, **kwargs)

    return forwarded


# Every operation a catalog must have is the hidden SQL catalog's.
for _method in Catalog.__abstractmethods__:
    setattr(OtherCatalog, _method, _forward(_method))
OtherCatalog.__abstractmethods__ = frozenset()
