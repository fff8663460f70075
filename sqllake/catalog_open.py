"""Which catalog a connection opens, with which properties, and where new tables go.

``catalog`` is a SQLAlchemy URI of an Iceberg SQL catalog (named ``sqllake``), the
name of a catalog configured for PyIceberg (``~/.pyiceberg.yaml`` or
``PYICEBERG_CATALOG__<NAME>__*``), or nothing: a SQLite catalog inside a local
warehouse folder. Properties come, lowest first, from the AWS variables (see
:mod:`sqllake.storage`), PyIceberg's configuration of that name (``sqllake`` for a URI
catalog), and those given to ``connect(properties=...)`` / ``--property``.

A named catalog keeps its own ``warehouse``: the warehouse argument only says where
new tables go when the catalog has no say (it has no ``warehouse`` of its own and is
not a REST catalog, whose server places tables).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqllake.errors import ProgrammingError

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.catalog.sql import SqlCatalog

# PyIceberg is imported when a catalog is opened, not with this module: settings are
# resolved at connect, and a statement that reads no table never opens the catalog.

DEFAULT_WAREHOUSE = "lakehouse"
CATALOG_NAME = "sqllake"
STORAGE_IO = "sqllake.storage.StorageFileIO"
WAREHOUSE = "warehouse"

_CATALOG_NAME = re.compile(r"[\w.-]+")


@dataclass(frozen=True)
class CatalogSettings:
    """Where the warehouse is, which catalog holds the table pointers, its properties."""

    warehouse: str
    catalog: str | None = None
    properties: Mapping[str, str] = field(default_factory=dict)
    warehouse_given: bool = True  # said by the user, not the default ./lakehouse
    state: str | None = None  # a SQL database for the insert buffer and subscriptions

    @classmethod
    def resolve(
        cls,
        warehouse: str | None = None,
        catalog: str | None = None,
        properties: Mapping[str, str] | None = None,
        state: str | None = None,
    ) -> CatalogSettings:
        """Arguments first, then ``SQLLAKE_WAREHOUSE`` / ``SQLLAKE_CATALOG`` /
        ``SQLLAKE_STATE``, then defaults."""
        given = warehouse or os.environ.get("SQLLAKE_WAREHOUSE") or None
        warehouse = given or DEFAULT_WAREHOUSE
        catalog = catalog or os.environ.get("SQLLAKE_CATALOG") or None
        state = state or os.environ.get("SQLLAKE_STATE") or None
        if "://" not in warehouse:
            warehouse = str(Path(warehouse).expanduser().resolve())
        return cls(warehouse, catalog, dict(properties or {}), given is not None, state)

    @property
    def warehouse_uri(self) -> str:
        return self.warehouse if "://" in self.warehouse else f"file://{self.warehouse}"


def configured(name: str) -> dict[str, str]:
    """PyIceberg's configuration of catalog ``name``, read now (PyIceberg reads its
    variables once, when imported)."""
    from pyiceberg.utils.config import Config

    found = Config().get_catalog_config(name) or {}
    return {str(k): str(v) for k, v in found.items()}


def catalog_properties(settings: CatalogSettings, name: str) -> dict[str, str]:
    """The properties a catalog opens with (see the module doc); sqllake's file IO
    unless the configuration names another."""
    from pyiceberg.io import PY_IO_IMPL

    from sqllake.storage import environment_properties, merge

    merged = merge(environment_properties(), configured(name), settings.properties)
    merged.setdefault(PY_IO_IMPL, STORAGE_IO)
    return merged


def open_catalog(settings: CatalogSettings) -> Catalog:
    if settings.catalog is None:
        if "://" in settings.warehouse:
            raise ProgrammingError(
                "a warehouse in object storage needs a catalog (--catalog URI or NAME)"
            )
        Path(settings.warehouse).mkdir(parents=True, exist_ok=True)
        uri = f"sqlite:///{settings.warehouse}/catalog.db"
        return _sql_catalog(settings, uri)
    if "://" in settings.catalog:
        return _sql_catalog(settings, settings.catalog)
    if not _CATALOG_NAME.fullmatch(settings.catalog):
        # A URI without its scheme (``user:password@host/db``): PyIceberg would echo it,
        # upper-cased, in the name of the variable it looked for.
        raise ProgrammingError(
            f"catalog '{settings.catalog}' is neither a SQLAlchemy URI (scheme://...) nor "
            "the name of a PyIceberg catalog"
        )
    name = settings.catalog
    if not configured(name) and not settings.properties:
        raise ProgrammingError(
            f"catalog '{name}' is not configured: give a SQLAlchemy URI, or configure it for "
            f"PyIceberg in ~/.pyiceberg.yaml or PYICEBERG_CATALOG__{name.upper()}__* variables"
        )
    from pyiceberg.catalog import load_catalog

    properties: dict[str, Any] = catalog_properties(settings, name)
    return load_catalog(name, **properties)


def _sql_catalog(settings: CatalogSettings, uri: str) -> SqlCatalog:
    from pyiceberg.catalog.sql import SqlCatalog

    properties = catalog_properties(settings, CATALOG_NAME)
    properties.update(uri=uri, warehouse=settings.warehouse_uri)
    return SqlCatalog(CATALOG_NAME, **properties)


def places_tables(catalog: Catalog, settings: CatalogSettings) -> bool:
    """Whether the catalog says where a new table goes (sqllake then passes no location)."""
    if settings.catalog is None or "://" in settings.catalog:
        return False  # a URI catalog: under the warehouse sqllake was given
    from pyiceberg.catalog.rest import RestCatalog

    if isinstance(catalog, RestCatalog):
        return True
    return bool(catalog.properties.get(WAREHOUSE)) or not settings.warehouse_given
