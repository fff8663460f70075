"""The values that cross the parent/child boundary, as frozen dataclasses.

The parent and every measured child exchange these as JSON, so each is flat and
made of JSON-friendly fields only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

PREPARED = "prepared.json"  # what the prepare job leaves in its scratch folder
Status = Literal["ok", "not supported", "error"]
Detail = dict[str, float | int | str]


@dataclass(frozen=True)
class Inputs:
    """Everything a case reads or writes; all paths absolute."""

    lineitem: str  # the generated TPC-H lineitem Parquet file
    events: str  # the generated 365-day events Parquet file
    warehouse: str  # the prepared sqllake warehouse (tables lineitem and events)
    lineitem_files: tuple[str, ...] = ()  # data files sqllake wrote for lineitem
    events_files: tuple[str, ...] = ()  # ... and for events (empty if not prepared)
    scratch: str = ""  # an empty folder owned by this one run
    # The object-storage cases: the S3 server, its bucket, and the prepared table there.
    s3_endpoint: str = ""
    s3_bucket: str = ""
    s3_warehouse: str = ""  # s3://bucket/prefix of the prepared lineitem table
    s3_catalog: str = ""  # the SQLite catalog (a SQLAlchemy URI) that holds it

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Inputs:
        data = dict(data)
        data["lineitem_files"] = tuple(data["lineitem_files"])
        data["events_files"] = tuple(data["events_files"])
        return cls(**data)


@dataclass(frozen=True)
class Outcome:
    """What a case function returns: the seconds of its measured section and facts."""

    seconds: float | None
    status: Status = "ok"
    detail: Detail = field(default_factory=dict)


@dataclass(frozen=True)
class RunRecord:
    """One run of one case in its own process, as the child reports it."""

    outcome: Outcome
    peak_rss_kib: int  # the child's own peak (RUSAGE_SELF), imports included
    import_rss_kib: int  # the peak once imports were done, before the case ran

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunRecord:
        return cls(
            outcome=Outcome(**data["outcome"]),
            peak_rss_kib=int(data["peak_rss_kib"]),
            import_rss_kib=int(data["import_rss_kib"]),
        )
