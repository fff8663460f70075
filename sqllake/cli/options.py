"""The options that say which lakehouse to open, shared by ``sqllake`` and ``sqllake changes``."""

from __future__ import annotations

import argparse

import sqllake

# The result formats of ``--format`` and ``.mode``: the keys of
# :data:`sqllake.cli.render.RENDERERS`, named here so that parsing the arguments does
# not import the renderers (and PyArrow) first.
FORMATS = ("table", "csv", "json", "jsonl", "markdown", "line")


def _property(text: str) -> tuple[str, str]:
    key, equals, value = text.partition("=")
    if not equals or not key.strip():
        raise argparse.ArgumentTypeError(f"'{text}' is not KEY=VALUE")
    return key.strip(), value


def add_connection_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--warehouse",
        metavar="PATH",
        help="folder or object-store URI of the tables (default $SQLLAKE_WAREHOUSE or "
        "./lakehouse); a named catalog's own warehouse comes first",
    )
    p.add_argument(
        "--catalog",
        metavar="URI_OR_NAME",
        help="SQLAlchemy URI or PyIceberg catalog name (default $SQLLAKE_CATALOG or "
        "SQLite at WAREHOUSE/catalog.db)",
    )
    p.add_argument(
        "--property",
        dest="properties",
        action="append",
        default=[],
        type=_property,
        metavar="KEY=VALUE",
        help="a catalog property, such as s3.endpoint=http://host:9000 (repeatable; "
        "over PyIceberg's configuration and the AWS variables)",
    )
    p.add_argument(
        "--state",
        metavar="URI",
        help="SQLAlchemy URI of a SQL database for the insert buffer and subscriptions, "
        "for a catalog that is not a SQL catalog (default $SQLLAKE_STATE; none: every "
        "write commits at once)",
    )


def connect(args: argparse.Namespace, autocommit: bool = True) -> sqllake.Connection:
    """The connection the options name."""
    return sqllake.connect(
        args.warehouse,
        catalog=args.catalog,
        autocommit=autocommit,
        properties=dict(args.properties) or None,
        state=args.state,
    )
