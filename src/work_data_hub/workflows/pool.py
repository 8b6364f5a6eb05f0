"""``run_in_processes``: a session's source files over N local worker processes.

Each source file of each domain is a work unit (``--jobs N``), so two
workers share the work of one domain as of several. A worker runs its file
whole, as a serial run does: read, steps, its failures appended to the
session's log (under the log's lock: the workers share this machine's
disk), then its load. The workers ignore Ctrl-C (the terminal sends it to
them too): the run stops handing out files and waits for the files in
progress, so no file is left half-done by it; they die with the run if it is
killed (Linux).
"""

from __future__ import annotations

import os
import signal
import sys
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from pathlib import Path

from work_data_hub.domain.registry import DOMAINS
from work_data_hub.infrastructure.validation import FailureExporter
from work_data_hub.workflows._memory import own_libc, release_memory, share_one_allocator
from work_data_hub.workflows._resume import EarlierEntries
from work_data_hub.workflows.run import PHASES, DomainResult, FileResult, add_seconds, run_file
from work_data_hub.workflows.units import (
    Unit,
    WorkerRun,
    absolute_sqlite,
    collect,
    largest_first,
    plan_units,
    worker_workspace,
)

__all__ = ["run_in_processes"]


def run_in_processes(
    domains: list[str],
    *,
    workers: int,
    session_id: str,
    source_dir: Path,
    db_url: str,
    logs_dir: Path,
    resume: bool = False,
    on_file: Callable[[str, FileResult], None] | None = None,
) -> list[DomainResult]:
    """Run ``domains`` over their source files in ``workers`` processes; never raises
    for bad input, reports it (as ``run_domain`` does). ``on_file(domain, result)``
    is called as each source table finishes.

    Raises:
        KeyboardInterrupt: after the files in progress have finished.
    """
    log = FailureExporter(session_id, logs_dir)
    earlier = {d: EarlierEntries(log, d) for d in domains} if resume else None
    plan = plan_units(domains, source_dir, db_url, earlier=earlier)
    run = WorkerRun(
        session_id, absolute_sqlite(db_url), resume, uuid.uuid4().hex[:8], logs_dir.absolute()
    )
    done: dict[Unit, list[FileResult]] = {}
    pool = ProcessPoolExecutor(
        max_workers=workers, initializer=_worker_setup, initargs=(os.getpid(),)
    )
    try:
        with _sigint_held():  # no worker may start before it ignores Ctrl-C
            units = largest_first(plan.units)
            futures = {pool.submit(_run_unit, unit, run): unit for unit in units}
        for future in as_completed(futures):
            unit = futures[future]
            files, seconds = _outcome(future, unit)
            add_seconds(plan.results[unit.domain].seconds, seconds)
            done[unit] = files
            for file in files:
                if on_file is not None:
                    on_file(unit.domain, file)
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C waits as well
        pool.shutdown(wait=True, cancel_futures=True)  # the files in progress finish
        raise
    pool.shutdown()
    return collect(plan, done)


def _outcome(
    future: Future[tuple[list[FileResult], dict[str, float]]], unit: Unit
) -> tuple[list[FileResult], dict[str, float]]:
    """A worker's result; a worker that died or raised is that file's error."""
    try:
        return future.result()
    except Exception as error:  # BrokenProcessPool (a worker killed), or a bug
        return [FileResult.of_error(unit.path, error)], {}


def _run_unit(unit: Unit, run: WorkerRun) -> tuple[list[FileResult], dict[str, float]]:
    """In a worker: one file run whole; its results and seconds per phase."""
    share_one_allocator()
    seconds = dict.fromkeys(PHASES, 0.0)
    assert run.logs_dir is not None, "process workers write the log themselves"
    try:
        workspace = worker_workspace(run, unit.domain)
        exporter = FailureExporter(run.session_id, run.logs_dir)
        files = run_file(
            unit.path,
            spec=DOMAINS[unit.domain],
            session_id=run.session_id,
            workspace=workspace,
            exporter=exporter,
            earlier=EarlierEntries(exporter, unit.domain) if run.resume else None,
            seconds=seconds,
        )
    except Exception as error:  # any failure of one file is that file's error
        files = [FileResult.of_error(unit.path, error)]
    release_memory()  # this file's peak is not the next file's floor
    return files, seconds


def _worker_setup(parent: int) -> None:
    """Worker initializer: Ctrl-C is the parent's to handle; the kernel kills this
    worker when the parent dies (Linux), so a killed wdh-etl leaves no orphaned
    workers loading files."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):  # POSIX
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # held while forking
    if sys.platform.startswith("linux"):
        own_libc().prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


@contextmanager
def _sigint_held() -> Iterator[None]:
    """Hold Ctrl-C back (pending, not lost) while worker processes are forked, so none
    starts before it ignores it."""
    if not hasattr(signal, "pthread_sigmask"):  # Windows: workers are spawned, not forked
        yield
        return
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
