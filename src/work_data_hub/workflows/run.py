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

import hashlib
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pandas as pd
from sqlalchemy.exc import SQLAlchemyError

from work_data_hub.domain.pipeline import run_steps
from work_data_hub.domain.reference import Reference
from work_data_hub.domain.registry import DOMAINS
from work_data_hub.domain.spec import NOTHING_LOADED, DomainSpec
from work_data_hub.errors import ResumeConflictError, SourceFileError, WorkDataHubError
from work_data_hub.infrastructure.validation import ErrorType, FailureExporter, read_failures
from work_data_hub.io.database import Database, sqlite_file
from work_data_hub.io.file_loads import FileLoad, LoadKind
from work_data_hub.io.sources import list_sources, read_reference, read_tables, source_name
from work_data_hub.workflows._memory import release_memory, share_one_allocator
from work_data_hub.workflows.workspace import Workspace, reference_tables

__all__ = ["DomainResult", "FileResult", "describe_error", "load_reference", "run_domain"]


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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _EarlierEntries:
    """What this session logged of one domain's files before (a resumed session),
    read once, when first needed: latest entries by file, indexed by row."""

    def __init__(self, exporter: FailureExporter, domain: str) -> None:
        self.exporter, self.domain = exporter, domain
        self._by_file: dict[str, pd.DataFrame] | None = None

    def of(self, source_file: str) -> pd.DataFrame:
        if self._by_file is None:
            self._by_file = {}
            path = self.exporter.output_file
            if path.exists():
                failures = read_failures(path)
                mine = failures[failures["domain"] == self.domain]
                for name, rows in mine.groupby("source_file", observed=True):
                    placed = rows[rows["row_index"].notna()]
                    self._by_file[str(name)] = placed.set_index(
                        placed["row_index"].astype("int64").to_numpy()
                    )
        return self._by_file.get(source_file, _NO_ENTRIES)

    def counts(self, source_file: str) -> dict[str, int]:
        logged = self.of(source_file)["error_type"].astype(str).value_counts()
        return {e.value: int(logged.get(e.value, 0)) for e in ErrorType}


_NO_ENTRIES = pd.DataFrame(columns=["error_type", "raw_data"])


def _resume(result: FileResult, earlier: pd.Series, entries: _EarlierEntries) -> None:
    result.resumed = True
    result.read, result.loaded = int(earlier["rows_read"]), int(earlier["rows_loaded"])
    result.failed = entries.counts(result.source_file)


def _not_logged_yet(
    failures: pd.DataFrame, earlier: pd.DataFrame, source_file: str
) -> pd.DataFrame:
    """The failures this session has not logged yet; refuse rows it logged that pass now."""
    if earlier.empty:
        return failures
    rows = failures["row_index"].astype("int64")
    passing = earlier.index.difference(pd.Index(rows))
    if len(passing):
        raise ResumeConflictError(
            f"{source_file}: this session logged rows {passing.tolist()[:5]} of it as failed "
            "in a run whose load did not commit (or of other contents), and they would load "
            "now (the file or the reference data changed since): run the file in a new "
            "session (without --session-id), so that one log tells one story",
            source_file=source_file,
            labels=passing.tolist(),
        )
    same = earlier.reindex(rows.to_numpy())
    same_type = same["error_type"].astype(str).to_numpy() == failures["error_type"].astype(str)
    same_row = same["raw_data"].to_numpy() == failures["raw_data"].to_numpy()
    fresh: pd.DataFrame = failures[~(same_type.to_numpy() & same_row)]
    return fresh


def _tables_of(path: Path, sheets: tuple[str, ...] | None) -> list[str]:
    """The ``source_file`` labels a file's tables will carry, before reading it."""
    name = source_name(path)
    if sheets is None or path.suffix.lower() == ".csv":
        return [name]
    return [f"{name}[{sheet}]" for sheet in sheets]


def _resumed(
    path: Path, digest: str, spec: DomainSpec, session_id: str, database: Database
) -> pd.DataFrame | None:
    """The ledger rows of this session's committed load of the file, byte for byte the
    same (one per table), or None when the file must run."""
    labels = _tables_of(path, spec.sheets)
    loads = database.loads(spec.name, labels)
    mine = loads[
        (loads["kind"] == LoadKind.LOAD.value)
        & (loads["session_id"] == session_id)
        & (loads["file_sha256"] == digest)
    ].drop_duplicates("source_file", keep="last")
    return mine.set_index("source_file") if set(mine["source_file"]) == set(labels) else None


def _run_file(
    path: Path,
    *,
    spec: DomainSpec,
    session_id: str,
    database: Database,
    reference: Reference,
    exporter: FailureExporter,
    earlier: _EarlierEntries | None,
    seconds: dict[str, float],
) -> list[FileResult]:
    clock = _Clock(seconds)
    digest = _sha256(path)
    if earlier is not None:  # a resumed session
        done = _resumed(path, digest, spec, session_id, database)
        if done is not None:
            results = [FileResult(str(label)) for label in done.index]
            for result, (_, earlier_load) in zip(results, done.iterrows(), strict=True):
                _resume(result, earlier_load, earlier)
            return results
    with clock("read"):
        tables = read_tables(path, spec.sheets)
    with clock("steps"):
        steps = spec.steps(reference, NOTHING_LOADED)
        runs = {}  # each table's raw frame is let go once its steps are done
        for label in list(tables):
            raw = tables.pop(label)
            run = run_steps(raw, steps, session_id=session_id, domain=spec.name, source_file=label)
            runs[label] = (len(raw), run)
            del raw
    with clock("log"):
        logged = [
            _not_logged_yet(
                run.failures, _NO_ENTRIES if earlier is None else earlier.of(label), label
            )
            for label, (_, run) in runs.items()
        ]
        exporter.export(pd.concat(logged, ignore_index=True))  # the file's failures at once
    results, parts = [], []
    for label, (read, run) in runs.items():
        result = FileResult(label, read=read, failed=run.failed_by_type())
        entry = FileLoad(
            spec.name,
            label,
            session_id,
            rows_read=read,
            rows_loaded=len(run.kept),
            rows_logged=len(run.failures),
            file_sha256=digest,
        )
        results.append(result)
        parts.append((run.kept, entry))
    with clock("load"):
        loaded = database.load_all(parts)
    for result, count in zip(results, loaded, strict=True):
        result.loaded = count
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
        earlier = _EarlierEntries(exporter, domain) if resume else None
    except Exception as error:  # any failure of the domain is the domain's error
        result.error, result.detail = describe_error(error)
        return result
    for path in listing.files:
        try:
            files = _run_file(
                path,
                spec=spec,
                session_id=session_id,
                database=workspace.database,
                reference=workspace.reference,
                exporter=exporter,
                earlier=earlier,
                seconds=result.seconds,
            )
        except Exception as error:  # any failure of one file is that file's error
            failed = FileResult(source_name(path))
            failed.error, failed.detail = describe_error(error)
            files = [failed]
        result.files.extend(files)
        release_memory()  # this file's peak is not the next file's floor
        for file in files:
            if on_file is not None:
                on_file(file)
    return result


def load_reference(db_url: str, folder: Path, domains: list[str]) -> dict[str, str]:
    """Upsert the reference files ``domains`` need from ``folder`` into the database
    (an SQLite file's folder is made); return why a domain cannot run, for the
    domains whose reference file is missing.

    Raises:
        SourceFileError: there is no such folder, or a file in it cannot be read.
    """
    if not folder.is_dir():
        raise SourceFileError(f"no reference folder {folder}", path=folder)
    specs = reference_tables(domains)
    missing = {spec for spec in specs if not (folder / spec.file).is_file()}
    frames = read_reference(folder, [spec for spec in specs if spec not in missing])
    file = sqlite_file(db_url)
    if file is not None:  # the default works on a fresh clone
        file.parent.mkdir(parents=True, exist_ok=True)
    Database(db_url).upsert_reference(frames)
    return {
        domain: f"reference data: no {spec.file} in {folder}"
        for domain in domains
        for spec in DOMAINS[domain].reference
        if spec in missing
    }
