"""``run_on_cluster``: a session's source files as tasks on a Dask cluster, one log.

Each source file of each domain is a work unit. A worker reads it, runs its
domain's steps (``prepare_file``) and keeps the result; the client fetches
only the file's failures, appends them to the session's log — the one place
the log is written, once per file — and then asks the worker holding the
file to load its kept rows (``load_prepared``: its tables in one
transaction, replacing their earlier rows, the ledger row with them).

So a file's failures are logged before its rows commit, as in a local run,
and what a worker's death does is what Dask does: a task it held runs again
on another worker (the prepared file too, when it was lost with the worker).
A retried load replaces the rows the lost one may have committed; the
client logs each file's failures once, from the first result it receives.
A client killed at any moment is resumed with the same ``--session-id``,
as a local run is.

Workers need the source files at the same path as the client (a shared
folder) and the database; never the client's disk for the log. An SQLite
file is shared by the processes of one host only (``io.scheduler``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from work_data_hub.domain.registry import DOMAINS
from work_data_hub.infrastructure.validation import FailureExporter
from work_data_hub.io.sources import source_name
from work_data_hub.workflows._memory import release_memory, share_one_allocator
from work_data_hub.workflows._resume import EarlierEntries
from work_data_hub.workflows.run import (
    DomainResult,
    FileResult,
    PreparedFile,
    describe_error,
    load_prepared,
    log_prepared,
    prepare_file,
)
from work_data_hub.workflows.units import (
    Unit,
    WorkerRun,
    absolute_sqlite,
    add_seconds,
    collect,
    plan_units,
    worker_workspace,
)

__all__ = ["run_on_cluster"]


def run_on_cluster(
    client: Any,
    domains: list[str],
    *,
    session_id: str,
    source_dir: Path,
    db_url: str,
    logs_dir: Path,
    resume: bool = False,
    on_file: Callable[[str, FileResult], None] | None = None,
) -> list[DomainResult]:
    """Run ``domains`` over their source files as tasks of ``client``'s cluster;
    never raises for bad input, reports it (as ``run_domain`` does).

    ``on_file(domain, result)`` is called as each source table finishes.
    """
    from distributed import as_completed

    exporter = FailureExporter(session_id, logs_dir)
    plan = plan_units(domains, source_dir, db_url)
    earlier = {d: EarlierEntries(exporter, d) if resume else None for d in domains}
    run = WorkerRun(session_id, absolute_sqlite(db_url), resume, tag=uuid.uuid4().hex[:8])
    stage: dict[Any, tuple[Unit, str, Any, list[FileResult] | None]] = {}
    done: dict[Unit, list[FileResult]] = {}
    running = as_completed()
    for unit in plan.units:
        name = f"{unit.domain}/{source_name(unit.path)} {run.tag}-{unit.order}"  # the dashboard's
        prepared = client.submit(_prepare, unit.domain, unit.path, run, key=f"prepare {name}")
        failures = client.submit(
            PreparedFile.without_kept_rows, prepared, key=f"failures {name}", priority=1
        )
        stage[failures] = (unit, name, prepared, None)
        running.add(failures)
    for future in running:
        unit, name, prepared, files = stage.pop(future)
        seconds = plan.results[unit.domain].seconds
        try:
            if files is None:  # the file's failures: log them, then load it
                brief: PreparedFile = future.result()
                files = log_prepared(brief, exporter, earlier[unit.domain])
                add_seconds(seconds, brief.seconds)
                if brief.committed is None:  # else: loaded before in this session
                    load = client.submit(
                        _load, prepared, run, key=f"load {name}", priority=1
                    )  # before the next file's reading: a worker holds few files at once
                    stage[load] = (unit, name, None, files)
                    running.add(load)
                    continue
            else:
                loaded, load_seconds = future.result()
                add_seconds(seconds, load_seconds)
                for result, count in zip(files, loaded, strict=True):
                    result.loaded = count
        except Exception as error:  # any failure of one file is that file's error
            failed = FileResult(source_name(unit.path))
            failed.error, failed.detail = describe_error(error)
            files = [failed]
        finally:
            del prepared  # the worker lets the file's frames go once nothing needs them
        done[unit] = files
        for file in files:
            if on_file is not None:
                on_file(unit.domain, file)
    return collect(plan, done)


def _prepare(domain: str, path: Path, run: WorkerRun) -> PreparedFile:
    """Task: the file read and through its domain's steps, kept on the worker."""
    share_one_allocator()
    workspace = worker_workspace(run, domain)
    return prepare_file(
        path,
        spec=DOMAINS[domain],
        session_id=run.session_id,
        database=workspace.database,
        reference=workspace.reference,
        resume=run.resume,
    )


def _load(prepared: PreparedFile, run: WorkerRun) -> tuple[list[int], dict[str, float]]:
    """Task: the prepared file's kept rows loaded; rows per table, and the seconds."""
    workspace = worker_workspace(run, prepared.domain)
    before = prepared.seconds["load"]
    loaded = load_prepared(prepared, run.session_id, workspace.database)
    release_memory()
    return loaded, {"load": prepared.seconds["load"] - before}
