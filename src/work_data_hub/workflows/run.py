"""``run_domain``: one domain's source files through its pipeline into the database.

Every rejected row goes to the session's failure log (appended, so several
domains and processes share one file), every kept row to the domain's table
with its lineage; the ledger records each committed file load in the same
transaction. Per source table (a file, or one sheet of a workbook): rows
read = rows loaded + rows logged, checked before the load commits; a
workbook's sheets load together or not at all.

Nothing one file does stops the others: any failure of a file (unreadable,
a row that does not line up, a log or database error, a bug) is that file's
error; any failure before the first file (a locked database, an old table)
is the domain's error. Unexpected errors keep their traceback in ``detail``
for the operator's debug log.

A session run again with the same id (a resume after a kill or an outage)
skips the files whose load it already committed, byte for byte the same:
they are not read, logged or loaded twice. A file it runs again keeps its
log exactly once: failures the session logged already are not logged again,
and a file whose earlier-logged rows would load now (the file or the
reference data changed since) is refused, so the session's log never says
that a row it loaded failed.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pandas as pd
from sqlalchemy.exc import SQLAlchemyError

from work_data_hub.domain.pipeline import PipelineRun, run_steps
from work_data_hub.domain.reference import Reference
from work_data_hub.domain.registry import DOMAINS
from work_data_hub.domain.spec import NOTHING_LOADED, DomainSpec
from work_data_hub.errors import WorkDataHubError
from work_data_hub.infrastructure.validation import ErrorType, FailureExporter
from work_data_hub.io.database import Database
from work_data_hub.io.file_loads import FileLoad
from work_data_hub.io.sources import list_sources, read_tables, source_digest, source_name
from work_data_hub.workflows._memory import release_memory, share_one_allocator
from work_data_hub.workflows._resume import (
    NO_ENTRIES,
    EarlierEntries,
    committed_load,
    files_gone,
    not_logged_yet,
)
from work_data_hub.workflows.workspace import Workspace

__all__ = [
    "DomainResult",
    "FileResult",
    "PreparedFile",
    "add_seconds",
    "committed_results",
    "describe_error",
    "fresh_failures",
    "load_prepared",
    "log_prepared",
    "prepare_file",
    "run_domain",
    "run_file",
]


#: The phases of a file's run, timed: reading, the domain's steps, logging, loading.
PHASES: Final = ("read", "steps", "log", "load")


@dataclass
class FileResult:
    """What happened to one source table (a file, or a sheet of a workbook)."""

    source_file: str
    read: int = 0
    loaded: int = 0
    failed: dict[str, int] = field(default_factory=lambda: {e.value: 0 for e in ErrorType})
    error: str | None = None
    #: the traceback of an unexpected error, for the debug log
    detail: str | None = None
    #: loaded earlier in this session (a resume): counts are that load's
    resumed: bool = False

    @property
    def logged(self) -> int:
        return sum(self.failed.values())

    @classmethod
    def of_error(cls, path: Path, error: BaseException) -> FileResult:
        """The result of a file that could not be processed: ``error`` said in one
        line (``describe_error``), its traceback kept when it is unexpected."""
        failed = cls(source_name(path))
        failed.error, failed.detail = describe_error(error)
        return failed


@dataclass
class DomainResult:
    """What happened to one domain: its files, or why it could not run."""

    domain: str
    files: list[FileResult] = field(default_factory=list)
    error: str | None = None
    detail: str | None = None
    #: files in the domain's folder that are not sources (lock files, hidden files)
    skipped: dict[str, str] = field(default_factory=dict)
    #: seconds spent per phase over the domain's files: read, steps, log, load
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))

    @property
    def ok(self) -> bool:
        return self.error is None and all(f.error is None for f in self.files)


def add_seconds(seconds: dict[str, float], more: dict[str, float]) -> None:
    """Add ``more``'s seconds per phase to ``seconds``.

    >>> seconds = dict.fromkeys(PHASES, 0.0)
    >>> add_seconds(seconds, {"read": 1.5}); seconds["read"]
    1.5
    """
    for phase in PHASES:
        seconds[phase] += more.get(phase, 0.0)


def describe_error(error: BaseException) -> tuple[str, str | None]:
    """One line for the operator, and the traceback when the error is unexpected.

    Errors of this package and of the database say what is wrong in their
    message; anything else is a bug or a library's surprise, whose traceback
    goes to the debug log.

    >>> describe_error(ValueError("bad\\n value"))[0]
    'ValueError: bad value'
    """
    if isinstance(error, SQLAlchemyError):
        cause = getattr(error, "orig", None) or error
        message = f"database error: {cause}"
    elif isinstance(error, WorkDataHubError):
        message = str(error)
    else:
        message = f"{type(error).__name__}: {error}"
    detail = None
    if not isinstance(error, WorkDataHubError | SQLAlchemyError):
        detail = "".join(traceback.format_exception(error))
    return " ".join(message.split()), detail


@dataclass
class PreparedFile:
    """A source file read and through its domain's steps, not yet logged nor loaded
    (``prepare_file``); or, in a resumed session, the ledger rows of its committed load.

    A local run finishes it with ``log_prepared`` then ``load_prepared``, so
    a file's failures are in the log before its rows commit (a load that
    never commits leaves logged rows a resume or a replay can tell apart); a
    cluster's task loads it and hands its ``fresh_failures`` to the client to
    log (``workflows.cluster``).
    """

    domain: str
    source_file: str
    digest: str
    #: label -> (rows read, the pipeline's run), one per table (a file, or a sheet)
    runs: dict[str, tuple[int, PipelineRun]] = field(default_factory=dict)
    #: this session's committed load of the same bytes (a resume), one row per table
    committed: pd.DataFrame | None = None
    #: seconds spent reading and in the steps
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))

    def results(self) -> list[FileResult]:
        """One result per table, as counted so far (loaded: 0 until it loads)."""
        return [
            FileResult(label, read=read, failed=run.failed_by_type())
            for label, (read, run) in self.runs.items()
        ]


def prepare_file(
    path: Path,
    *,
    spec: DomainSpec,
    session_id: str,
    database: Database,
    reference: Reference,
    earlier: EarlierEntries | None,
) -> PreparedFile:
    """Read ``path`` and run its tables through ``spec``'s steps; in a resumed session
    (``earlier``: what it logged), return its committed load instead when this session
    loaded the same bytes and logged their failures."""
    prepared = PreparedFile(spec.name, source_name(path), source_digest(path))
    if earlier is not None:
        prepared.committed = committed_load(
            path, prepared.digest, spec, session_id, database, earlier
        )
        if prepared.committed is not None:
            return prepared
    clock = _Clock(prepared.seconds)
    with clock("read"):
        tables = read_tables(path, spec.sheets)
    with clock("steps"):
        steps = spec.steps(reference, NOTHING_LOADED)
        for label in list(tables):  # each table's raw frame is let go once its steps are done
            raw = tables.pop(label)
            run = run_steps(raw, steps, session_id=session_id, domain=spec.name, source_file=label)
            prepared.runs[label] = (len(raw), run)
            del raw
    return prepared


def log_prepared(
    prepared: PreparedFile, exporter: FailureExporter, earlier: EarlierEntries | None
) -> list[FileResult]:
    """Append the file's failures to the session's log, at once, leaving out those a
    resumed session logged already; return its results (a committed load's counts).

    Raises:
        ResumeConflictError: rows this session logged as failed would load now.
    """
    if prepared.committed is not None:
        return committed_results(prepared, earlier)
    with _Clock(prepared.seconds)("log"):
        exporter.export(fresh_failures(prepared, earlier))
    return prepared.results()


def fresh_failures(prepared: PreparedFile, earlier: EarlierEntries | None) -> pd.DataFrame:
    """The file's failures a resumed session has not logged yet (all of them in a new
    session), as one frame.

    Raises:
        ResumeConflictError: rows this session logged as failed would load now.
    """
    return pd.concat(
        [
            not_logged_yet(run.failures, earlier.of(label) if earlier else NO_ENTRIES, label)
            for label, (_, run) in prepared.runs.items()
        ],
        ignore_index=True,
    )


def committed_results(prepared: PreparedFile, earlier: EarlierEntries | None) -> list[FileResult]:
    """The results of a file this session loaded before (a resume): the ledger's counts
    and the log's."""
    assert prepared.committed is not None, "a file this session loaded before"
    assert earlier is not None, "a committed load is looked up in resumed sessions only"
    results = []
    for label, load in prepared.committed.iterrows():
        result = FileResult(str(label), resumed=True)
        result.read, result.loaded = int(load["rows_read"]), int(load["rows_loaded"])
        result.failed = earlier.counts(result.source_file)
        results.append(result)
    return results


def load_prepared(prepared: PreparedFile, session_id: str, database: Database) -> list[int]:
    """Load the file's kept rows (its tables in one transaction, replacing their
    earlier rows, with the ledger rows); return the rows loaded per table."""
    parts = [
        (
            run.kept,
            FileLoad(
                prepared.domain,
                label,
                session_id,
                rows_read=read,
                rows_loaded=len(run.kept),
                rows_logged=len(run.failures),
                file_sha256=prepared.digest,
            ),
        )
        for label, (read, run) in prepared.runs.items()
    ]
    if not parts:  # a committed load: nothing to do
        return []
    with _Clock(prepared.seconds)("load"):
        return database.load_all(parts)


def run_file(
    path: Path,
    *,
    spec: DomainSpec,
    session_id: str,
    workspace: Workspace,
    exporter: FailureExporter,
    earlier: EarlierEntries | None,
    seconds: dict[str, float],
) -> list[FileResult]:
    """One source file whole: prepared, its failures logged, then loaded; its
    results per table (``seconds`` gains the time of each phase)."""
    prepared = prepare_file(
        path,
        spec=spec,
        session_id=session_id,
        database=workspace.database,
        reference=workspace.reference,
        earlier=earlier,
    )
    results = log_prepared(prepared, exporter, earlier)
    loaded = load_prepared(prepared, session_id, workspace.database)
    for result, count in zip(results, loaded, strict=False):  # none for a committed load
        result.loaded = count
    add_seconds(seconds, prepared.seconds)
    return results


class _Clock:
    """Adds the seconds each ``with clock(phase):`` block takes to ``seconds[phase]``."""

    def __init__(self, seconds: dict[str, float]) -> None:
        self.seconds = seconds

    @contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[phase] += time.perf_counter() - start


def run_domain(
    domain: str,
    *,
    session_id: str,
    source_dir: Path,
    db_url: str,
    logs_dir: Path,
    resume: bool = False,
    on_file: Callable[[FileResult], None] | None = None,
) -> DomainResult:
    """Run ``domain`` over its source files; never raises for bad input, reports it.

    ``resume``: the session may have run before (an id given again): skip
    the files it loaded, and log nothing twice. ``on_file`` is called after
    each source table (for progress displays).
    """
    result = DomainResult(domain)
    share_one_allocator()
    try:
        spec = DOMAINS[domain]
        listing = list_sources(source_dir, domain)
        result.skipped = listing.skipped
        workspace = Workspace.open(db_url, must_exist=False)
        workspace.database.add_domain(spec.table)
        exporter = FailureExporter(session_id, logs_dir)
        earlier = EarlierEntries(exporter, domain) if resume else None
        gone = {} if earlier is None else files_gone(
            earlier, listing.files, spec, workspace.database, source_dir / domain
        )  # fmt: skip
    except Exception as error:  # any failure of the domain is the domain's error
        result.error, result.detail = describe_error(error)
        return result
    result.files += [FileResult.of_error(path, error) for path, error in gone.items()]
    for path in listing.files:
        try:
            files = run_file(
                path,
                spec=spec,
                session_id=session_id,
                workspace=workspace,
                exporter=exporter,
                earlier=earlier,
                seconds=result.seconds,
            )
        except Exception as error:  # any failure of one file is that file's error
            files = [FileResult.of_error(path, error)]
        result.files.extend(files)
        release_memory()  # this file's peak is not the next file's floor
        for file in files:
            if on_file is not None:
                on_file(file)
    return result
