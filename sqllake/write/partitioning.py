"""Partition specs from PARTITIONED BY, and splitting rows into partitions as Iceberg does.

Partition values come from PyIceberg's transforms (bucket hashing included, through
pyiceberg-core), so other engines compute the same values and prune the same files.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
from pyiceberg.partitioning import PartitionField, PartitionSpec, partition_record_value
from pyiceberg.schema import Schema
from pyiceberg.transforms import IdentityTransform
from pyiceberg.typedef import Record

from sqllake.errors import ProgrammingError
from sqllake.plan.nodes import PartitionItem

FIRST_PARTITION_FIELD_ID = 1000

_SUFFIX = {
    "year": "_year",
    "month": "_month",
    "day": "_day",
    "hour": "_hour",
}


def _field_name(source: str, item: PartitionItem) -> str:
    """Spark's partition field names: ``ts_day``, ``id_bucket``, ``s_trunc``, ``a``."""
    transform = str(item.transform)
    if isinstance(item.transform, IdentityTransform):
        return source
    if transform.startswith("bucket"):
        return f"{source}_bucket"
    if transform.startswith("truncate"):
        return f"{source}_trunc"
    return source + _SUFFIX.get(transform, f"_{transform}")


def build_spec(schema: Schema, items: tuple[PartitionItem, ...]) -> PartitionSpec:
    fields = []
    names: set[str] = set()
    for i, item in enumerate(items):
        source = next((f for f in schema.fields if f.name.lower() == item.source.lower()), None)
        if source is None:
            raise ProgrammingError(
                f"PARTITIONED BY names unknown column {item.source}", offset=item.offset
            )
        if not item.transform.can_transform(source.field_type):
            raise ProgrammingError(
                f"cannot partition by {item.transform}({source.name}): the transform does not "
                f"apply to {source.field_type}",
                offset=item.offset,
            )
        name = _field_name(source.name, item)
        if name in names:
            raise ProgrammingError(f"partition field {name} is listed twice", offset=item.offset)
        names.add(name)
        fields.append(
            PartitionField(source.field_id, FIRST_PARTITION_FIELD_ID + i, item.transform, name)
        )
    return PartitionSpec(*fields)


@dataclass(frozen=True)
class PartitionedBatch:
    partition: Record
    key: tuple[object, ...]
    batch: pa.RecordBatch


def split(batch: pa.RecordBatch, spec: PartitionSpec, schema: Schema) -> Iterator[PartitionedBatch]:
    """The rows of ``batch`` grouped by partition, with each group's partition tuple."""
    if not spec.fields:
        yield PartitionedBatch(Record(), (), batch)
        return
    columns = {}
    for i, field in enumerate(spec.fields):
        source = schema.find_field(field.source_id)
        values = batch.column(schema.fields.index(source))
        transformed = field.transform.pyarrow_transform(source.field_type)(values)
        # Arrow cannot group by an extension type (a UUID); its storage groups alike.
        if isinstance(transformed.type, pa.BaseExtensionType):
            transformed = transformed.storage
        columns[f"p{i}"] = transformed
    keys = pa.table({**columns, "__row": pa.array(range(batch.num_rows), pa.int64())})
    groups = keys.group_by(list(columns), use_threads=False).aggregate([("__row", "list")])
    # Row numbers stay in Arrow: only the (few) partition keys become Python values.
    lists = groups.column("__row_list").combine_chunks()
    rows, offsets = lists.flatten(), lists.offsets.to_pylist()
    offsets = [offset - offsets[0] for offset in offsets]
    for i, group in enumerate(groups.select(list(columns)).to_pylist()):
        key = tuple(group[name] for name in columns)
        record = Record(
            *(
                partition_record_value(field, value, schema)
                for field, value in zip(spec.fields, key, strict=True)
            )
        )
        positions = rows.slice(offsets[i], offsets[i + 1] - offsets[i])
        yield PartitionedBatch(record, key, batch.take(positions))
