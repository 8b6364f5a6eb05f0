"""``wdh-etl``: run domain pipelines over source files into a database.

    wdh-etl --all-domains
    wdh-etl --domain annuity_performance --source data/samples --db sqlite:///data/wdh.db
    wdh-etl replay [SESSION|FILE] ...   (see wdh-etl replay --help)

Every rejected row of the run lands in one failure log,
``<logs-dir>/wdh_etl_failures_<session>.csv``, and how the session ran in
its sidecar ``<logs-dir>/wdh_etl_session_<session>.json``. A file or domain
that cannot be processed is reported in one line and the others still run;
the summary (and ``--summary-json``) is always written. Unexpected errors
keep their traceback in ``<logs-dir>/wdh_etl_debug_<session>.log``
(``--debug``: on stderr). Ctrl-C stops the run: what it loaded stays
loaded, and one line says how to resume. Exit status: 0 done (failed rows
are data, not errors), 1 a domain or a source file could not be processed,
2 bad arguments (checked before any work), 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from work_data_hub.cli._arguments import bad_arguments, parse
from work_data_hub.cli._exit import INTERRUPTED
from work_data_hub.cli._interrupts import (
    interrupts_kept,
    raise_if_interrupted,
    say_last,
    take_ctrl_c_from_arrow,
)

if TYPE_CHECKING:  # the run imports pandas and pandera: only once the arguments are good
    from work_data_hub.workflows import DomainResult, FileResult

__all__ = ["main", "program", "workers_for"]

#: At most this many worker processes per CPU, however many --jobs ask for.
WORKERS_PER_CPU = 4
#: What a cluster's tasks run: a local cluster's workers start with it imported.
CLUSTER_TASKS = ("work_data_hub.workflows.cluster",)


@dataclass
class _RunState:
    """What an interrupted run can say: its session, its database, whether files ran."""

    argv: list[str]
    session_id: str | None = None
    db_url: str | None = None
    running: bool = False
    whole_process: bool = False  # run as the program (not called from Python)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``wdh-etl``; return the exit status.

    >>> main(["--domain", "annuity_perf"])  # says why on stderr, before any work
    2
    """
    state = _RunState(list(sys.argv[1:] if argv is None else argv), whole_process=argv is None)
    with interrupts_kept():
        try:
            args = parse(state.argv)
            if args.command == "replay":
                from work_data_hub.cli import replay

                status = replay.run(args)
            else:
                status = _run(args, state)
            raise_if_interrupted()  # a Ctrl-C that something swallowed: an interrupt all the same
        except KeyboardInterrupt:
            if state.argv[:1] == ["replay"]:
                from work_data_hub.cli import replay

                status = replay.interrupted()
            else:
                status = _interrupted(state)
    return status


def program() -> None:
    """``wdh-etl`` as the program (its entry point): ``main()``, then the process ends
    at once (``cli._exit.run_program``: 0.2-0.3 s of interpreter teardown saved)."""
    from work_data_hub.cli._exit import run_program

    run_program(main, "wdh-etl")


def _run(args: argparse.Namespace, state: _RunState) -> int:
    from work_data_hub.cli.console import say

    problem = bad_arguments(args)
    if problem:
        say(f"wdh-etl: {problem}")
        return 2
    if args.scheduler is not None:  # a local cluster's workers: their imports start now
        from work_data_hub.io.scheduler import parse_scheduler, start_worker_server

        if parse_scheduler(args.scheduler)[0] is None:
            start_worker_server(CLUSTER_TASKS)
    from work_data_hub.cli._run_report import report
    from work_data_hub.cli.console import log_warnings, make_console
    from work_data_hub.domain.registry import DOMAINS
    from work_data_hub.errors import UnknownDomainError
    from work_data_hub.infrastructure.validation.session import generate_session_id
    from work_data_hub.io.database import DEFAULT_DB
    from work_data_hub.workflows import (
        DomainResult,
        describe_error,
        freeze_imports,
        load_reference,
    )

    take_ctrl_c_from_arrow()
    session_id = args.session_id or generate_session_id()  # a given one is checked already
    requested = list(DOMAINS) if args.all_domains else list(dict.fromkeys(args.domain))
    for name in requested:
        if name not in DOMAINS:  # a domain folder the registry does not name
            say(f"wdh-etl: {UnknownDomainError(name, known=list(DOMAINS))}")
            return 2
    db_url = args.db or DEFAULT_DB
    reference = args.reference or args.source / "reference"
    state.session_id, state.db_url = session_id, db_url
    out = make_console(plain=args.plain)
    try:
        blocked = load_reference(db_url, reference, requested)
    except Exception as error:
        message, _ = describe_error(error)
        say(f"wdh-etl: reference data: {message}")
        return 1
    runnable = [d for d in requested if d not in blocked]
    _save_record(args, session_id, db_url, reference, requested)
    state.running = True
    if state.whole_process:  # it runs one job: the collector need not walk the imports
        freeze_imports()
    with log_warnings("wdh-etl") as torn:  # a resumed log's unfinished tail, set aside
        ran = _run_domains(runnable, args, session_id, db_url, out)
    for message in torn:
        say(f"wdh-etl: warning: {message}")
    finished = {r.domain: r for r in ran}
    results = [finished.get(d) or DomainResult(d, error=blocked[d]) for d in requested]
    return report(results, args, session_id, out)


def _save_record(
    args: argparse.Namespace, session_id: str, db_url: str, reference: Path, domains: list[str]
) -> None:
    """Write how this session runs next to its log (a failure to is said, not fatal)."""
    from work_data_hub.cli.console import say
    from work_data_hub.workflows.session_record import (
        SessionRecord,
        database_url_for_record,
        write_session_record,
    )

    record = SessionRecord(
        session_id,
        db_url=database_url_for_record(db_url),
        source_dir=args.source.absolute(),
        reference_dir=reference.absolute(),
        domains=tuple(domains),
    )
    try:
        write_session_record(record, args.logs_dir)
    except OSError as error:
        say(f"wdh-etl: session record not saved ({error.strerror}); the run goes on")


def _resume_command(argv: list[str], session_id: str) -> str:
    """The command that resumes the session: ``argv`` with ``--session-id`` set to it.

    >>> _resume_command(["--all-domains", "--session-id", "etl_x", "--jobs=2"], "etl_y")
    'wdh-etl --all-domains --jobs=2 --session-id etl_y'
    """
    kept, skip = [], False
    for arg in argv:
        name = arg.split("=", 1)[0]
        if skip or (len(name) >= 4 and "--session-id".startswith(name)):  # argparse's prefixes
            skip = not skip and "=" not in arg
            continue
        kept.append(arg)
    return shlex.join(["wdh-etl", *kept, "--session-id", session_id])


def _interrupted(state: _RunState) -> int:
    """Say in one line what an interrupted run committed and how to resume it; 130."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the line short
    if state.session_id is None or state.db_url is None or not state.running:
        line = "wdh-etl: interrupted before any source file ran: nothing was loaded; run it again"
    else:
        from work_data_hub.workflows.session_record import committed_files

        try:
            count = committed_files(state.db_url, state.session_id)
            loaded = f"{count} file{'' if count == 1 else 's'} loaded and kept"
        except Exception:  # the database cannot say: what committed is kept all the same
            loaded = "the files loaded so far are kept"
        resume = _resume_command(state.argv, state.session_id)
        session = state.session_id
        line = f"wdh-etl: interrupted: {loaded} in session {session}; resume with: {resume}"
    say_last(line)  # (not console.say: an import cut short by Ctrl-C must not be retried)
    return INTERRUPTED


def workers_for(jobs: int, units: int) -> int:
    """Worker processes for ``jobs`` asked over ``units`` work units: never more than
    the units, nor than ``WORKERS_PER_CPU`` per CPU.

    >>> workers_for(100_000, 2)
    2
    """
    return max(1, min(jobs, units, WORKERS_PER_CPU * (os.cpu_count() or 1)))


def _run_domains(
    domains: list[str], args: argparse.Namespace, session_id: str, db_url: str, out: Any
) -> list[DomainResult]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from work_data_hub.errors import SourceFileError
    from work_data_hub.io.sources import list_sources
    from work_data_hub.workflows import run_domain

    options = {
        "session_id": session_id,
        "source_dir": args.source,
        "db_url": db_url,
        "logs_dir": args.logs_dir,
        "resume": args.session_id is not None,
    }
    totals = {}
    for domain in domains:
        try:
            totals[domain] = len(list_sources(args.source, domain).files)
        except SourceFileError:
            totals[domain] = 0
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[file]}"),
        console=out,
        transient=True,
        disable=not out.is_terminal,
        # drawn as each file ends, by this thread: no thread of Rich's drawing 10 times a
        # second, which the --jobs workers would be forked beside (a child of a process
        # with threads can inherit a lock one of them held, and hang on it)
        auto_refresh=False,
    )
    with progress:
        tasks = {d: progress.add_task(d, total=totals[d] or 1, file="") for d in domains}
        progress.refresh()

        def advance(domain: str, file: FileResult) -> None:
            progress.update(tasks[domain], advance=1, file=file.source_file, refresh=True)
            raise_if_interrupted()  # the file is done: a swallowed Ctrl-C stops the run here

        if args.scheduler is not None:
            return _on_cluster(domains, args.scheduler, options, advance, out)
        workers = workers_for(args.jobs, sum(totals.values()))  # each file a unit
        if workers > 1:
            from work_data_hub.workflows.pool import run_in_processes

            return run_in_processes(domains, workers=workers, on_file=advance, **options)
        results = []
        for domain in domains:

            def one(file: FileResult, domain: str = domain) -> None:
                advance(domain, file)

            results.append(run_domain(domain, on_file=one, **options))
            progress.update(tasks[domain], completed=totals[domain] or 1, refresh=True)
        return results


def _on_cluster(
    domains: list[str],
    scheduler: str,
    options: dict[str, Any],
    advance: Callable[[str, FileResult], None],
    out: Any,
) -> list[DomainResult]:
    """The domains' files as tasks of a Dask cluster (``--scheduler``)."""
    from work_data_hub.io.scheduler import dashboard_link, open_cluster
    from work_data_hub.workflows import DomainResult, describe_error
    from work_data_hub.workflows.cluster import run_on_cluster

    with ExitStack() as stack:
        try:
            client = stack.enter_context(open_cluster(scheduler, worker_imports=CLUSTER_TASKS))
        except Exception as error:  # no scheduler there, or no local cluster: no domain runs
            message, detail = describe_error(error)
            problem = f"Dask cluster {scheduler}: {message}"
            return [DomainResult(domain, error=problem, detail=detail) for domain in domains]
        link = dashboard_link(client)
        if link is not None:
            out.print(f"Dask dashboard: [link={link}]{link}[/link]")
        return run_on_cluster(client, domains, on_file=advance, **options)


if __name__ == "__main__":
    program()
