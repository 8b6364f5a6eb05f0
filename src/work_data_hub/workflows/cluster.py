"""``run_on_cluster``: a session's source files as tasks on a Dask cluster, one log.

Each source file of each domain is a task. A worker reads the file, runs its
domain's steps, loads its kept rows (``load_prepared``: its tables in one
transaction, replacing their earlier rows, the ledger row with them) and
returns the file's failures; the client appends them to the session's log —
the one place the log is written, once per file, from the one result Dask
gives it for the task.

What a worker's death does is what Dask does: the task runs again on
another worker, and its load replaces the rows a lost attempt may have
committed. The client killed between a worker's load and its own append of
the file's failures leaves a load whose failures the log does not hold: a
resume (the same ``--session-id``) runs such a file again (the ledger counts
the failures a load logged; ``committed_load``). In a resumed session each
task takes what the log holds of its file, so that it logs nothing twice and
refuses, before loading, a file whose logged rows would load now.

Workers need the source files at the same path as the client (a shared
folder) and the database; never the client's disk for the log. An SQLite
file is shared by the processes of one host only (``io.scheduler``).
"""

from __future__ import annotations

import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from work_data_hub.domain.registry import DOMAINS
from work_data_hub.infrastructure.validation import FailureExporter
from work_data_hub.io.sources import source_name
from work_data_hub.workflows._memory import release_memory, share_one_allocator
from work_data_hub.workflows._resume import EarlierEntries, tables_of
from work_data_hub.workflows.run import (
    DomainResult,
    FileResult,
    add_seconds,
    committed_results,
    fresh_failures,
    load_prepared,
    prepare_file,
)
from work_data_hub.workflows.units import (
    Unit,
    WorkerRun,
    absolute_sqlite,
    collect,
    largest_first,
    plan_units,
    worker_workspace,
)

__all__ = ["run_on_cluster"]


@dataclass
class _Done:
    """A task's outcome: the file's results per table, the failures for the log."""

    files: list[FileResult]
    #: None: nothing to log (a file loaded and logged before in this session)
    to_log: pd.DataFrame | None
    seconds: dict[str, float]


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
    earlier = {d: EarlierEntries(exporter, d) if resume else None for d in domains}
    plan = plan_units(domains, source_dir, db_url, earlier=earlier)
    run = WorkerRun(session_id, absolute_sqlite(db_url), resume, tag=uuid.uuid4().hex[:8])
    units = largest_first(plan.units)
    logged = []  # what the log holds of each file (a resume): the workers have no log
    for unit in units:
        entries = earlier[unit.domain]
        sheets = DOMAINS[unit.domain].sheets
        logged.append(None if entries is None else entries.only(tables_of(unit.path, sheets)))
    # One task group ("wdh-file", the keys' prefix) submitted at once: a group larger
    # than twice the cluster's threads, the scheduler holds it and sends each task, in
    # the order given, to a worker thread that frees up (Dask's root-task queuing);
    # tasks submitted one by one went to workers at once, where a file could wait
    # behind a long one while another worker idled.
    names = [f"wdh-file-{run.tag} {u.domain}/{source_name(u.path)} #{u.order}" for u in units]
    futures = client.map(_run_unit, units, [run] * len(units), logged, key=names)
    tasks = dict(zip(futures, units, strict=True))
    done: dict[Unit, list[FileResult]] = {}

    def finish(future: Any) -> None:
        unit = tasks[future]
        outcome = _outcome(future, unit)  # (Ctrl-C while it waits leaves the task in tasks)
        with _ctrl_c_held():  # the file's failures appended and the file done: both or neither
            files = _logged(outcome, unit, exporter, plan.results[unit.domain].seconds)
            del tasks[future]
            done[unit] = files
        for file in files:
            if on_file is not None:
                on_file(unit.domain, file)

    try:
        for future in as_completed(list(tasks)):
            finish(future)
    except KeyboardInterrupt:  # the files being loaded finish and are logged; no more start
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C waits as well
        for future in as_completed(_stop_the_rest(client, list(tasks))):
            finish(future)
        raise
    return collect(plan, done)


def _stop_the_rest(client: Any, futures: list[Any]) -> list[Any]:
    """The ``futures`` whose tasks started (or ended); the others cancelled, so that
    none of them starts. One step in the scheduler's own loop: a look at the
    tasks, then a cancel, would let a queued task start in between and load its
    file, unlogged (a resume would run it again, as a killed client's load)."""

    def started_and_cancel_the_rest(keys: list[str], client: str, dask_scheduler: Any) -> list[str]:
        # (defined here, so that it travels by value: a scheduler needs no work_data_hub)
        begun = ("processing", "memory", "erred")
        started = [k for k in keys if getattr(dask_scheduler.tasks.get(k), "state", "") in begun]
        rest = sorted(set(keys) - set(started))
        dask_scheduler.stimulus_cancel(rest, client, False, "wdh-etl interrupted", "")
        return started

    keys = [future.key for future in futures]
    try:
        started = set(client.run_on_scheduler(started_and_cancel_the_rest, keys, client.id))
    except Exception:  # a scheduler whose cancel takes other arguments: look, then cancel
        running = {key for keys in client.processing().values() for key in keys}
        started = {f.key for f in futures if f.done() or f.key in running}
        client.cancel([future for future in futures if future.key not in started])
    return [future for future in futures if future.key in started]


def _outcome(future: Any, unit: Unit) -> _Done | FileResult:
    """A task's outcome, or the file's error if its task failed for good."""
    try:
        outcome: _Done = future.result()
        return outcome
    except Exception as error:  # any failure of one file is that file's error
        return FileResult.of_error(unit.path, error)


def _logged(
    outcome: _Done | FileResult, unit: Unit, exporter: FailureExporter, seconds: dict[str, float]
) -> list[FileResult]:
    """A task's results, its failures appended to the log (once: the task's one
    result); a log that cannot be appended to is that file's error."""
    if isinstance(outcome, FileResult):
        return [outcome]
    add_seconds(seconds, outcome.seconds)
    if outcome.to_log is not None:
        start = time.perf_counter()
        try:
            exporter.export(outcome.to_log)
        except Exception as error:  # any failure of one file is that file's error
            return [FileResult.of_error(unit.path, error)]
        seconds["log"] += time.perf_counter() - start
    return outcome.files


@contextmanager
def _ctrl_c_held() -> Iterator[None]:
    """Ctrl-C (in the main thread) held back until the block ends, then raised."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda number, _frame: caught.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught and callable(previous):  # Python's handler, or the CLI's (cli._interrupts)
        previous(signal.SIGINT, None)


def _run_unit(unit: Unit, run: WorkerRun, earlier: EarlierEntries | None) -> _Done:
    """Task: one file read, through its domain's steps and loaded; its failures not
    yet logged, for the client to log."""
    share_one_allocator()
    workspace = worker_workspace(run, unit.domain)
    prepared = prepare_file(
        unit.path,
        spec=DOMAINS[unit.domain],
        session_id=run.session_id,
        database=workspace.database,
        reference=workspace.reference,
        earlier=earlier,
    )
    if prepared.committed is not None:  # loaded and logged before in this session
        return _Done(committed_results(prepared, earlier), None, prepared.seconds)
    to_log = fresh_failures(prepared, earlier)  # a resume conflict: refused before loading
    files = prepared.results()
    loaded = load_prepared(prepared, run.session_id, workspace.database)
    for result, count in zip(files, loaded, strict=True):
        result.loaded = count
    seconds = prepared.seconds
    del prepared  # the file's frames, before the worker takes its next task
    release_memory()
    return _Done(files, to_log, seconds)
