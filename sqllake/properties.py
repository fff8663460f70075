"""The Iceberg table properties sqllake checks, and what each accepts.

Table properties are read by every engine that writes the table, so a value none of
them can use (``'1024KB'`` for a size in bytes, a codec no writer has) is refused when
it is set, naming the property and what it accepts, rather than failing the next write.
Keys sqllake does not know are stored as they are (they may be another engine's).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqllake.errors import NotSupportedError, ProgrammingError


@dataclass(frozen=True)
class Rule:
    """A check of a property's value (it raises :class:`ValueError` with what the
    property accepts), and whether a value it refuses is valid Iceberg that sqllake
    cannot honour (a :class:`NotSupportedError`) rather than a mistake."""

    check: Callable[[str], None]
    unsupported: bool = False


def _whole(minimum: int) -> Callable[[str], None]:
    def check(value: str) -> None:
        if not re.fullmatch(r"[+]?\d+", value.strip()) or int(value) < minimum:
            raise ValueError(f"a whole number of at least {minimum}")

    return check


_UNITS = {"kb": 1000, "mb": 1000**2, "gb": 1000**3, "kib": 1024, "mib": 1024**2, "gib": 1024**3}


def _bytes(value: str) -> None:
    if re.fullmatch(r"[+]?\d+", value.strip()) and int(value) > 0:
        return
    spelled = re.fullmatch(r"\s*(\d+)\s*([kmg]i?b)\s*", value.lower())
    hint = ""
    if spelled:
        number = int(spelled.group(1)) * _UNITS[spelled.group(2)]
        hint = f" ({value.strip()} is {number})"
    raise ValueError(f"a whole number of bytes greater than 0, without a unit{hint}")


def _one_of(*choices: str) -> Callable[[str], None]:
    def check(value: str) -> None:
        if value.strip().lower() not in choices:
            raise ValueError("one of " + ", ".join(choices))

    return check


def _boolean(value: str) -> None:
    if value.strip().lower() not in ("true", "false"):
        raise ValueError("true or false")


def _metrics_mode(value: str) -> None:
    text = value.strip().lower()
    truncated = re.fullmatch(r"truncate\((\d+)\)", text)
    if text not in ("none", "counts", "full") and not (truncated and int(truncated[1]) > 0):
        raise ValueError("none, counts, full or truncate(N) with N > 0")


def _probability(value: str) -> None:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0.0 < number < 1.0:
        raise ValueError("a number between 0 and 1 (exclusive)")


def _format_version(value: str) -> None:
    if value.strip() not in ("1", "2", "3"):
        raise ValueError("1, 2 or 3")


def _name_mapping(value: str) -> None:
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = None
    if not isinstance(parsed, list) or not all(isinstance(f, dict) for f in parsed):
        raise ValueError("a JSON list of {'field-id': ..., 'names': [...]} objects")


# What sqllake's Parquet writers can write (Iceberg also names lzo, which none has).
CODECS = ("uncompressed", "snappy", "gzip", "zstd", "brotli", "lz4")


def _codec(value: str) -> None:
    if value.strip().lower() not in CODECS:
        raise ValueError("one of " + ", ".join(CODECS))


_SIZE = Rule(_bytes)
_COUNT = Rule(_whole(1))
_NATURAL = Rule(_whole(0))
_FLAG = Rule(_boolean)
_WRITE_MODE = Rule(_one_of("copy-on-write", "merge-on-read"))
_ISOLATION = Rule(_one_of("serializable", "snapshot"))

# Property key -> its rule.
RULES: dict[str, Rule] = {
    "format-version": Rule(_format_version),
    "write.target-file-size-bytes": _SIZE,
    "write.delete.target-file-size-bytes": _SIZE,
    "write.parquet.row-group-size-bytes": _SIZE,
    "write.parquet.page-size-bytes": _SIZE,
    "write.parquet.dict-size-bytes": _SIZE,
    "write.parquet.bloom-filter-max-bytes": _SIZE,
    "commit.manifest.target-size-bytes": _SIZE,
    "read.split.target-size": _SIZE,
    "write.parquet.row-group-limit": _COUNT,
    "write.parquet.page-row-limit": _COUNT,
    "write.metadata.previous-versions-max": _COUNT,
    "history.expire.min-snapshots-to-keep": _COUNT,
    "commit.retry.num-retries": _NATURAL,
    "commit.retry.min-wait-ms": _NATURAL,
    "commit.retry.max-wait-ms": _NATURAL,
    "commit.retry.total-timeout-ms": _NATURAL,
    "commit.manifest.min-count-to-merge": _NATURAL,
    "history.expire.max-snapshot-age-ms": _NATURAL,
    "history.expire.max-ref-age-ms": _NATURAL,
    "write.summary.partition-limit": _NATURAL,
    "write.metadata.metrics.max-inferred-column-defaults": _NATURAL,
    "write.inline.rows": _NATURAL,
    "write.parquet.compression-codec": Rule(_codec),
    "write.delete.parquet.compression-codec": Rule(_codec),
    "write.parquet.compression-level": Rule(_whole(0)),
    "write.metadata.compression-codec": Rule(_one_of("none", "gzip")),
    "write.metadata.metrics.default": Rule(_metrics_mode),
    "write.format.default": Rule(_one_of("parquet"), unsupported=True),
    "write.delete.format.default": Rule(_one_of("parquet"), unsupported=True),
    "write.distribution-mode": Rule(_one_of("none", "hash", "range")),
    "write.delete.mode": _WRITE_MODE,
    "write.update.mode": _WRITE_MODE,
    "write.merge.mode": _WRITE_MODE,
    "write.delete.isolation-level": _ISOLATION,
    "write.update.isolation-level": _ISOLATION,
    "write.merge.isolation-level": _ISOLATION,
    "write.metadata.delete-after-commit.enabled": _FLAG,
    "write.object-storage.enabled": _FLAG,
    "write.object-storage.partitioned-paths": _FLAG,
    "write.wap.enabled": _FLAG,
    "write.spark.fanout.enabled": _FLAG,
    "commit.manifest-merge.enabled": _FLAG,
    "gc.enabled": _FLAG,
    "schema.name-mapping.default": Rule(_name_mapping),
}

# Key prefix (per column properties) -> its rule.
PREFIX_RULES: dict[str, Rule] = {
    "write.metadata.metrics.column.": Rule(_metrics_mode),
    "write.parquet.bloom-filter-enabled.column.": _FLAG,
    "write.parquet.bloom-filter-fpp.column.": Rule(_probability),
}

# Formats sqllake cannot write, named in the refusal.
_OTHER_FORMATS = ("orc", "avro")


def _rule(key: str) -> Rule | None:
    found = RULES.get(key)
    if found is not None:
        return found
    return next((rule for prefix, rule in PREFIX_RULES.items() if key.startswith(prefix)), None)


def check_table_property(key: str, value: str, offset: int | None = None) -> None:
    """Refuse a value of ``key`` that the property cannot take, naming what it takes."""
    rule = _rule(key)
    if rule is None:
        return
    try:
        rule.check(value)
    except ValueError as exc:
        if rule.unsupported and value.strip().lower() in _OTHER_FORMATS:
            raise NotSupportedError(
                f"table property '{key}' = '{value}': sqllake writes Parquet files only",
                offset=offset,
            ) from None
        raise ProgrammingError(
            f"table property '{key}' must be {exc}, not '{value}'", offset=offset
        ) from None


def table_property(properties: Mapping[str, str], key: str, default: str) -> str:
    """A property of a table as a writer reads it. A value stored before it was checked
    (or by another engine) that the property cannot take is a ProgrammingError naming
    it, not a failure halfway through a write."""
    value = properties.get(key)
    if value is None:
        return default
    try:
        check_table_property(key, value)
    except (ProgrammingError, NotSupportedError) as exc:
        raise type(exc)(
            f"{exc.message}; set it again with ALTER TABLE ... SET TBLPROPERTIES"
        ) from None
    return value
