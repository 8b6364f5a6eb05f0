"""``execute_domain``: one domain's source files through its pipeline into the database.

Every rejected row goes to the session's failure log (appended, so several
domains and processes share one file), every kept row to the domain's table
with its lineage. Per source file: rows read = rows loaded + rows logged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from work_data_hub.domain.pipeline import RowConservationError, run_steps
from work_data_hub.domain.reference import Reference
from work_data_hub.domain.registry import DOMAINS
from work_data_hub.errors import SourceFileError, WorkDataHubError
from work_data_hub.infrastructure.validation import ErrorType, FailureExporter
from work_data_hub.io.database import Database
from work_data_hub.io.sources import SOURCE_SUFFIXES, read_source

__all__ = ["DomainResult", "FileResult", "execute_domain", "source_files"]


@dataclass
class FileResult:
    """What happened to one source file."""

    source_file: str
    read: int = 0
    loaded: int = 0
    failed: dict[str, int] = field(default_factory=lambda: {e.value: 0 for e in ErrorType})
    error: str | None = None

    @property
    def logged(self) -> int:
        return sum(self.failed.values())


@dataclass
class DomainResult:
    """What happened to one domain: its files, or why it could not run."""

    domain: str
    files: list[FileResult] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and all(f.error is None for f in self.files)


def source_files(source_dir: Path, domain: str) -> list[Path]:
    """The domain's source files: ``source_dir/<domain>/*.xlsx|*.csv``, sorted."""
    folder = source_dir / domain
    if not folder.is_dir():
        raise SourceFileError(f"no source folder {folder} for domain {domain}")
    return sorted(
        p for p in folder.iterdir() if p.suffix.lower() in SOURCE_SUFFIXES and p.is_file()
    )


def execute_domain(
    domain: str,
    *,
    session_id: str,
    source_dir: Path,
    db_url: str,
    logs_dir: Path,
    on_file: Callable[[FileResult], None] | None = None,
) -> DomainResult:
    """Run ``domain`` over its source files; never raises for bad input, reports it.

    ``on_file`` is called after each source file (for progress displays).
    """
    result = DomainResult(domain)
    spec = DOMAINS[domain]
    try:
        paths = source_files(source_dir, domain)
    except SourceFileError as error:
        result.error = str(error)
        return result
    database = Database(db_url)
    database.add_domain(domain, amounts=spec.amounts, texts=spec.texts)
    plans, companies = database.reference_frames()
    steps = spec.steps(Reference.from_frames(plans=plans, companies=companies))
    exporter = FailureExporter(session_id, logs_dir)
    for path in paths:
        file_result = FileResult(path.name)
        result.files.append(file_result)
        try:
            raw = read_source(path)
            run = run_steps(raw, steps, session_id=session_id, domain=domain, source_file=path.name)
            exporter.export(run.failures)
            file_result.read = len(raw)
            file_result.failed = run.failed_by_type()
            file_result.loaded = database.load(
                domain,
                run.kept,
                source_file=path.name,
                session_id=session_id,
            )
            if file_result.read != file_result.loaded + file_result.logged:
                raise RowConservationError(
                    f"{file_result.read} rows read but {file_result.loaded} loaded and "
                    f"{file_result.logged} logged"
                )
        except (WorkDataHubError, SQLAlchemyError) as error:
            file_result.error = " ".join(str(error).split())
        if on_file is not None:
            on_file(file_result)
    return result
