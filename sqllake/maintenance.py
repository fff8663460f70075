"""Automatic maintenance: sqllake makes the small files, so it compacts them, and it
expires the history it keeps making.

After a flush of the insert buffer, on the interactive shell's timer, and in
``sqllake maintain`` (for cron), each table's due work is done:

- compaction, when a partition holds ``write.maintenance.small-files`` (10) files
  smaller than ``write.maintenance.small-file-bytes`` (16 MiB): those files are
  rewritten into files of the target size, the most crowded partitions first, at most
  ``write.maintenance.rewrite-bytes`` (256 MiB) in one run (or one partition's worth,
  up to the target file size, when that is more);
- snapshot expiry, when a snapshot is older than ``history.expire.max-snapshot-age-ms``
  (5 days) and not among the newest ``history.expire.min-snapshots-to-keep`` (1) of
  its branch (Iceberg's properties and defaults; branch and tag retention apply); an
  automatic run waits until a tenth of the snapshots can go;
- a manifest rewrite, when the current snapshot lists more than
  ``write.maintenance.max-manifests`` (64) data manifests;
- with ``sqllake maintain``, also the removal of orphan files older than 3 days.

Inside a flush (and on the shell's timer) the work stops starting new steps once
``write.maintenance.budget-ms`` (1,000 ms) have passed: a flush stays quick, and what is
left is done next time. Finding out that nothing is due costs no more than reading the
table's metadata: the files of every partition are counted only when enough flushes
have passed since the last count for one to hold ``small-files`` small files.
``write.maintenance.auto = false`` turns automatic maintenance off for a table
(``sqllake maintain`` still maintains it when named).

Failure semantics: each step commits on its own (or not at all) with the guarantees of
the procedure it shares its code with; a failed step is logged and never fails the
flush or statement that triggered it.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from pyiceberg.expressions import AlwaysTrue
from pyiceberg.manifest import ManifestContent
from pyiceberg.table import Table

from sqllake.catalog import TableName
from sqllake.errors import ProgrammingError
from sqllake.execute.compact import (
    RewriteRequest,
    Rewritten,
    candidate_files,
    rewrite_data_files,
)
from sqllake.read import manifests as cached
from sqllake.read.locations import RelocatedFileIO
from sqllake.write.buffer import flushed_sequence
from sqllake.write.compact import (
    CompactOptions,
    FileGroup,
    candidates_by_partition,
    plan_groups,
)
from sqllake.write.expire import Expired, ExpiryRequest, expire, may_expire, plan_expiry
from sqllake.write.manifest_rewrite import ManifestsRewritten, rewrite_manifests
from sqllake.write.orphans import DEFAULT_ORPHAN_AGE_MS, remove_orphan_files

if TYPE_CHECKING:
    from sqllake.context import Context

_log = logging.getLogger("sqllake")

AUTO = "write.maintenance.auto"
SMALL_FILE_BYTES = "write.maintenance.small-file-bytes"
SMALL_FILES = "write.maintenance.small-files"
REWRITE_BYTES = "write.maintenance.rewrite-bytes"
MAX_MANIFESTS = "write.maintenance.max-manifests"
BUDGET_MS = "write.maintenance.budget-ms"
# How often the shell's timer looks at a table again.
RECHECK_SECONDS = 60.0


@dataclass(frozen=True)
class Policy:
    """A table's maintenance settings, from its properties (see the module docs)."""

    auto: bool = True
    small_file_bytes: int = 16 * 1024 * 1024
    small_files: int = 10
    rewrite_bytes: int = 256 * 1024 * 1024
    max_manifests: int = 64
    budget_ms: int = 1000

    @classmethod
    def of(cls, properties: Mapping[str, str]) -> Policy:
        defaults = cls()

        def number(key: str, default: int, least: int = 1) -> int:
            text = properties.get(key)
            if text is None:
                return default
            try:
                value = int(text)
            except ValueError:
                value = least - 1
            if value < least:
                raise ProgrammingError(
                    f"table property {key} must be a whole number of at least {least}, not {text!r}"
                )
            return value

        auto = properties.get(AUTO, "true").strip().lower()
        if auto not in ("true", "false"):
            raise ProgrammingError(f"table property {AUTO} must be true or false, not {auto!r}")
        return cls(
            auto=auto == "true",
            small_file_bytes=number(SMALL_FILE_BYTES, defaults.small_file_bytes),
            small_files=number(SMALL_FILES, defaults.small_files, least=2),
            rewrite_bytes=number(REWRITE_BYTES, defaults.rewrite_bytes),
            max_manifests=number(MAX_MANIFESTS, defaults.max_manifests, least=2),
            budget_ms=number(BUDGET_MS, defaults.budget_ms, least=0),
        )


@dataclass(frozen=True)
class Maintained:
    """What one run did to one table."""

    table: TableName
    compacted: Rewritten = Rewritten()
    expired: Expired = Expired()
    manifests: ManifestsRewritten = ManifestsRewritten()
    orphans: int = 0
    skipped: tuple[str, ...] = ()  # steps left for next time (time budget)
    failed: tuple[str, ...] = ()  # "step: error" of steps that failed

    def describe(self) -> str:
        done = []
        if self.compacted.rewritten_files:
            done.append(
                f"compacted {self.compacted.rewritten_files} files into "
                f"{self.compacted.added_files}"
            )
        if self.expired.snapshots:
            files = self.expired.data_files + self.expired.manifests
            done.append(f"expired {self.expired.snapshots} snapshots ({files} files deleted)")
        if self.manifests.rewritten:
            done.append(f"rewrote {self.manifests.rewritten} manifests into {self.manifests.added}")
        if self.orphans:
            done.append(f"removed {self.orphans} orphan files")
        done += [f"left {step} for later" for step in self.skipped]
        done += [f"{step} failed" for step in self.failed]
        return f"{self.table}: {', '.join(done) or 'nothing to do'}"


def _most_crowded_first(limit: int) -> Callable[[list[FileGroup]], list[FileGroup]]:
    def choose(groups: list[FileGroup]) -> list[FileGroup]:
        chosen: list[FileGroup] = []
        total = 0
        for group in sorted(groups, key=lambda g: -len(g.files)):
            if chosen and total + group.bytes > limit:
                break
            chosen.append(group)
            total += group.bytes
        return chosen

    return choose


@dataclass(frozen=True)
class CompactionCheck:
    request: RewriteRequest | None  # the compaction due, if any
    crowd: int  # the most small files one partition holds


def compaction_check(table: Table, policy: Policy) -> CompactionCheck:
    """The automatic compaction of ``table`` if one is due (cheap to ask)."""
    snapshot = table.current_snapshot()
    total = snapshot.summary.get("total-data-files") if snapshot and snapshot.summary else None
    if snapshot is None or (total is not None and int(total) < policy.small_files):
        return CompactionCheck(None, int(total or 0))  # no partition holds that many
    target = CompactOptions.resolve(table.properties).target_file_size
    options = CompactOptions(
        target_file_size=target,
        min_file_size=min(policy.small_file_bytes, target),
        max_file_size=2**62,  # large files are fine where they are
        min_input_files=policy.small_files,
        max_group_size=max(policy.rewrite_bytes, target),  # a run does one group at least
        move_old_specs=False,
    )
    files = candidate_files(table, snapshot, AlwaysTrue())
    spec_id = table.metadata.default_spec_id
    crowd = max(map(len, candidates_by_partition(files, spec_id, options).values()), default=0)
    if not plan_groups(files, spec_id, options):
        return CompactionCheck(None, crowd)
    choose = _most_crowded_first(policy.rewrite_bytes)
    return CompactionCheck(RewriteRequest(options=options, choose=choose), crowd)


def _manifests_due(table: Table, policy: Policy) -> bool:
    snapshot = table.current_snapshot()
    if snapshot is None:
        return False
    listed = cached.manifests(table.io, snapshot)
    return sum(1 for m in listed if m.content == ManifestContent.DATA) > policy.max_manifests


@dataclass(frozen=True)
class _Run:
    """One maintenance run of one table."""

    session: Context
    name: TableName
    policy: Policy
    automatic: bool  # within a budget, after a flush or on the shell's timer


def maintain(
    session: Context,
    name: TableName,
    budget_seconds: float | None = None,
    orphans: bool = False,
    compaction: bool = True,
) -> Maintained:
    """Do the table's due maintenance; within ``budget_seconds`` if given (an automatic
    run: steps not started in time are reported as skipped). Each step's failure is
    logged and reported. ``compaction`` False leaves it out (no partition needs it yet)."""
    started = time.monotonic()
    lakehouse = session.lakehouse
    table = lakehouse.load(name)
    if isinstance(table.io, RelocatedFileIO) or table.metadata.format_version > 2:
        return Maintained(name)  # tables sqllake reads but does not write
    run = _Run(session, name, Policy.of(table.properties), budget_seconds is not None)
    result = Maintained(name)
    steps = (["compaction"] if compaction else []) + ["expiry", "manifests"]
    steps += ["orphans"] if orphans else []
    for step in steps:
        if budget_seconds is not None and time.monotonic() - started > budget_seconds:
            result = replace(result, skipped=(*result.skipped, step))
            continue
        try:
            result = _STEPS[step](run, lakehouse.load(name), result)
        except Exception as exc:  # one step failing leaves the others to do
            _log.warning("maintenance of %s: %s failed", name, step, exc_info=True)
            result = replace(result, failed=(*result.failed, f"{step}: {exc}"))
    return result


def _compaction(run: _Run, table: Table, result: Maintained) -> Maintained:
    check = compaction_check(table, run.policy)
    # After a compaction, look again at the next flush.
    crowd = check.crowd if check.request is None else run.policy.small_files
    _crowds.setdefault(run.session, {})[run.name] = _Crowd(crowd, 0)
    if check.request is None:
        return result
    compacted = rewrite_data_files(run.session.lakehouse, run.name, check.request)
    return replace(result, compacted=compacted)


# An automatic run expires once a tenth of the snapshots can go (or any, for a short
# history): finding which files the kept snapshots still need reads all their manifest
# lists, too much to do for every snapshot that ages out in a busy table.
EXPIRY_BATCH = 10


def _expiry(run: _Run, table: Table, result: Maintained) -> Maintained:
    request = ExpiryRequest(now_ms=int(time.time() * 1000))
    if not may_expire(table.metadata, request.now_ms):
        return result
    expiring = len(plan_expiry(table.metadata, request).snapshot_ids)
    enough = len(table.metadata.snapshots) // EXPIRY_BATCH if run.automatic else 0
    if not expiring or expiring < enough:
        return result
    session = run.session
    if session.buffer is not None:  # see execute/maintenance.py: _settle_buffer
        session.buffer.delete_through(run.name, flushed_sequence(table.metadata))
    return replace(result, expired=expire(session.lakehouse, run.name, request))


def _manifests(run: _Run, table: Table, result: Maintained) -> Maintained:
    if not _manifests_due(table, run.policy):
        return result
    return replace(result, manifests=rewrite_manifests(run.session.lakehouse, run.name))


def _orphans(run: _Run, table: Table, result: Maintained) -> Maintained:
    older_than = int(time.time() * 1000) - DEFAULT_ORPHAN_AGE_MS
    found = remove_orphan_files(run.session.lakehouse, run.name, older_than)
    return replace(result, orphans=len(found))


_STEPS: dict[str, Callable[[_Run, Table, Maintained], Maintained]] = {
    "compaction": _compaction,
    "expiry": _expiry,
    "manifests": _manifests,
    "orphans": _orphans,
}

# When each table a session flushed was last looked at, for the shell's timer.
_checked: weakref.WeakKeyDictionary[Context, dict[TableName, float]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class _Crowd:
    """The most small files a partition held at the last check, and this session's
    flushes since. A flush adds at most one small file to a partition, so no partition
    can hold ``small_files`` before ``crowd + flushes`` reaches it (other processes'
    flushes aside: their own checks count them)."""

    crowd: int
    flushes: int


_crowds: weakref.WeakKeyDictionary[Context, dict[TableName, _Crowd]] = weakref.WeakKeyDictionary()


def after_flush(session: Context, name: TableName) -> None:
    """The due maintenance of a table this session just flushed, within its budget.
    Never raises: the flush succeeded whatever maintenance does."""
    crowds = _crowds.setdefault(session, {})
    seen = crowds.get(name)
    if seen is not None:
        crowds[name] = seen = _Crowd(seen.crowd, seen.flushes + 1)
    _automatic(session, name, seen)


def maintain_recent(session: Context) -> None:
    """The due maintenance of the tables this session flushed, each at most once a
    minute (the interactive shell's timer calls this). Never raises."""
    now = time.monotonic()
    for name, checked in sorted(_checked.get(session, {}).items()):
        if now - checked >= RECHECK_SECONDS and session.lakehouse.exists(name):
            _automatic(session, name, None)


def _automatic(session: Context, name: TableName, seen: _Crowd | None) -> None:
    """Due maintenance within the table's budget; compaction is looked for unless
    ``seen`` says no partition can need it yet."""
    _checked.setdefault(session, {})[name] = time.monotonic()
    try:
        policy = Policy.of(session.lakehouse.load(name).properties)
        if policy.auto:
            compaction = seen is None or seen.crowd + seen.flushes >= policy.small_files
            done = maintain(session, name, policy.budget_ms / 1000, compaction=compaction)
            if done.compacted.rewritten_files or done.expired.snapshots or done.skipped:
                _log.info("automatic maintenance: %s", done.describe())
    except Exception:
        _log.warning("automatic maintenance of %s failed", name, exc_info=True)
