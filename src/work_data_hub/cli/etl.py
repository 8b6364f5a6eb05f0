"""``wdh-etl``: run domain pipelines over source files into a database.

    wdh-etl --all-domains
    wdh-etl --domain annuity_performance --source data/samples --db sqlite:///data/wdh.db
    wdh-etl replay [SESSION|FILE] ...   (see wdh-etl replay --help)

Every rejected row of the run lands in one failure log,
``<logs-dir>/wdh_etl_failures_<session>.csv``. A file or domain that cannot
be processed is reported in one line and the others still run; the summary
(and ``--summary-json``) is always written. Unexpected errors keep their
traceback in ``<logs-dir>/wdh_etl_debug_<session>.log`` (``--debug``: on
stderr). Exit status: 0 done (failed rows are data, not errors), 1 a domain
or a source file could not be processed, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import json
import os
import signal
import sys
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from work_data_hub.analysis import FrameView
from work_data_hub.cli import replay
from work_data_hub.cli.console import make_console, print_log_link, say
from work_data_hub.domain.registry import DOMAINS
from work_data_hub.errors import SourceFileError, UnknownDomainError, WorkDataHubError
from work_data_hub.infrastructure.validation import (
    ErrorType,
    FailureExporter,
    generate_session_id,
    validate_session_id,
)
from work_data_hub.io.database import DEFAULT_DB
from work_data_hub.io.sources import list_sources
from work_data_hub.workflows import (
    DomainResult,
    FileResult,
    describe_error,
    load_reference,
    run_domain,
)

__all__ = ["main"]

#: At most this many worker processes per CPU, however many --jobs ask for.
WORKERS_PER_CPU = 4


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wdh-etl",
        description=__doc__.split("\n")[0],
        epilog="wdh-etl replay [SESSION|FILE]: run a session's failed rows again once their "
        "cause is fixed (wdh-etl replay --help)",
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--domain", action="append", metavar="NAME", help=f"repeatable; one of {', '.join(DOMAINS)}"
    )
    which.add_argument("--all-domains", action="store_true")
    parser.add_argument(
        "--source",
        type=Path,
        default=Path("data/samples"),
        help="folder with <domain>/*.xlsx|*.csv (default: data/samples)",
    )
    parser.add_argument(
        "--reference",
        type=Path,
        default=None,
        help="folder with plans.csv and company_mapping.csv (default: <source>/reference)",
    )
    parser.add_argument("--db", default=DEFAULT_DB, help=f"SQLAlchemy URL (default: {DEFAULT_DB})")
    parser.add_argument("--logs-dir", type=Path, default=Path("logs"))
    parser.add_argument("--session-id", help="append to this existing session")
    parser.add_argument("--jobs", type=int, default=1, help="run domains in N processes")
    parser.add_argument("--plain", action="store_true", help="no colour, links or progress")
    parser.add_argument("--summary-json", type=Path, help="write a machine-readable summary")
    parser.add_argument(
        "--debug", action="store_true", help="print tracebacks of unexpected errors on stderr"
    )
    return parser


def _status(file: FileResult) -> str:
    if file.error:
        return "error"
    return "resumed" if file.resumed else "loaded"


def _summary_frame(results: list[DomainResult]) -> pd.DataFrame:
    """One row per source file (or per domain that could not run); errors are said apart."""
    rows: list[dict[str, object]] = []
    for result in results:
        if result.error:
            rows.append({"domain": result.domain, "file": "", "status": "error"})
        for file in result.files:
            counts = {} if file.error else {"read": file.read, "loaded": file.loaded, **file.failed}
            rows.append(
                {
                    "domain": result.domain,
                    "file": file.source_file,
                    "status": _status(file),
                    **counts,
                }
            )
    columns = ["domain", "file", "status", "read", "loaded", *(e.value for e in ErrorType)]
    return pd.DataFrame(rows, columns=columns).astype(dict.fromkeys(columns[3:], "Int64"))


def _summary_json(session_id: str, log: Path, results: list[DomainResult]) -> dict[str, object]:
    return {
        "session_id": session_id,
        "failure_log": str(log.resolve()),
        "domains": {
            r.domain: {
                "error": r.error,
                "skipped": r.skipped,
                "seconds": {phase: round(spent, 4) for phase, spent in r.seconds.items()},
                "files": {
                    f.source_file: {
                        "status": _status(f),
                        "read": f.read,
                        "loaded": f.loaded,
                        "failed": f.failed,
                        "error": f.error,
                    }
                    for f in r.files
                },
            }
            for r in results
        },
    }


def _die_with_parent(parent: int) -> None:
    """Worker initializer: the kernel kills this worker when the parent dies (Linux),
    so a killed wdh-etl leaves no orphaned workers loading files."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def workers_for(jobs: int, units: int) -> int:
    """Worker processes for ``jobs`` asked over ``units`` work units: never more than
    the units, nor than ``WORKERS_PER_CPU`` per CPU.

    >>> workers_for(100_000, 2)
    2
    """
    return max(1, min(jobs, units, WORKERS_PER_CPU * (os.cpu_count() or 1)))


def _run_domains(
    domains: list[str], args: argparse.Namespace, session_id: str, out: Console
) -> list[DomainResult]:
    options = {
        "session_id": session_id,
        "source_dir": args.source,
        "db_url": args.db,
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
    )
    with progress:
        tasks = {d: progress.add_task(d, total=totals[d] or 1, file="") for d in domains}
        workers = workers_for(args.jobs, len(domains))
        if workers > 1:
            with ProcessPoolExecutor(
                max_workers=workers, initializer=_die_with_parent, initargs=(os.getpid(),)
            ) as pool:
                futures = {pool.submit(run_domain, d, **options): d for d in domains}
                for future in as_completed(futures):
                    domain = futures[future]
                    progress.update(tasks[domain], completed=totals[domain] or 1, file="done")
                return [_outcome(future, futures[future]) for future in futures]
        results = []
        for domain in domains:

            def advance(file: FileResult, domain: str = domain) -> None:
                progress.update(tasks[domain], advance=1, file=file.source_file)

            results.append(run_domain(domain, on_file=advance, **options))
            progress.update(tasks[domain], completed=totals[domain] or 1)
        return results


def _outcome(future: Future[DomainResult], domain: str) -> DomainResult:
    """A worker's result; a worker that died or raised is that domain's error."""
    try:
        return future.result()
    except Exception as error:  # BrokenProcessPool (a worker killed), or a bug
        result = DomainResult(domain)
        result.error, result.detail = describe_error(error)
        return result


def _writable_outputs(args: argparse.Namespace) -> str | None:
    """Why an output of the run cannot be written (checked before any work), or None."""
    try:
        args.logs_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        return f"--logs-dir {args.logs_dir}: cannot create it ({error.strerror})"
    if not os.access(args.logs_dir, os.W_OK | os.X_OK):
        return f"--logs-dir {args.logs_dir} is not writable"
    if args.summary_json is not None:
        target = args.summary_json
        if target.is_dir():
            return f"--summary-json {target} is a folder: name a file"
        if not target.parent.is_dir():
            return f"--summary-json {target}: no folder {target.parent}"
        if not os.access(target.parent, os.W_OK | os.X_OK) or (
            target.exists() and not os.access(target, os.W_OK)
        ):
            return f"--summary-json {target} is not writable"
    return None


def _report_details(results: list[DomainResult], args: argparse.Namespace, session_id: str) -> None:
    """Tracebacks of unexpected errors: on stderr with --debug, else in the debug log."""
    details = [
        (f"{r.domain}/{f.source_file}" if f else r.domain, (f or r).detail)
        for r in results
        for f in [None, *r.files]
        if (f or r).detail
    ]
    if not details:
        return
    text = "".join(f"== {where}\n{detail}\n" for where, detail in details)
    if args.debug:
        sys.stderr.write(text)
        return
    debug_log = args.logs_dir / f"wdh_etl_debug_{session_id}.log"
    try:
        with debug_log.open("a", encoding="utf-8") as file:
            file.write(text)
    except OSError as error:
        say(f"wdh-etl: tracebacks not saved ({error.strerror}): run again with --debug")
        return
    say(f"wdh-etl: details of unexpected errors: {debug_log}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``wdh-etl``; return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["replay"]:
        return replay.main(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    try:
        session_id = (
            validate_session_id(args.session_id) if args.session_id else generate_session_id()
        )
    except WorkDataHubError as error:
        say(f"wdh-etl: {error}")
        return 2
    requested = list(DOMAINS) if args.all_domains else list(dict.fromkeys(args.domain))
    unknown = [d for d in requested if d not in DOMAINS]
    for name in unknown:
        say(f"wdh-etl: {UnknownDomainError(name, known=list(DOMAINS))}")
    domains = [d for d in requested if d in DOMAINS]
    problem = _writable_outputs(args)
    if problem:
        say(f"wdh-etl: {problem}")
        return 2
    out = make_console(plain=args.plain)
    try:
        blocked = load_reference(args.db, args.reference or args.source / "reference", domains)
    except Exception as error:
        message, _ = describe_error(error)
        say(f"wdh-etl: reference data: {message}")
        return 1
    runnable = [d for d in domains if d not in blocked]
    finished = {r.domain: r for r in _run_domains(runnable, args, session_id, out)}
    results = [finished.get(d) or DomainResult(d, error=blocked[d]) for d in domains]
    return _report(results, args, session_id, out, status=2 if unknown else 0)


def _report(
    results: list[DomainResult],
    args: argparse.Namespace,
    session_id: str,
    out: Console,
    status: int,
) -> int:
    """Print the summary, write --summary-json, say every error; return the exit status."""
    summary = _summary_frame(results)
    out.print(f"Session {session_id}", markup=False)
    for domain, files in summary.groupby("domain", sort=False):
        out.print(FrameView(files.drop(columns="domain"), title=str(domain)))
    errors = 0
    for result in results:
        for name, why in result.skipped.items():
            out.print(f"{result.domain}: skipped {name}: {why}", markup=False, soft_wrap=True)
        if result.error:
            say(f"wdh-etl: {result.domain}: {result.error}")
            errors += 1
        for file in result.files:
            if file.error:
                say(f"wdh-etl: {result.domain}: {file.source_file}: {file.error}")
                errors += 1
    _report_details(results, args, session_id)
    log = FailureExporter(session_id, args.logs_dir).output_file
    if args.summary_json:
        args.summary_json.write_text(
            json.dumps(_summary_json(session_id, log, results), ensure_ascii=False, indent=2),
            encoding="utf-8",
        )
    if log.exists():
        print_log_link(out, "Saved failure log to ", log)
    elif errors:
        out.print(f"No failure log in session {session_id}: {errors} could not be processed.")
    else:
        out.print(f"No failed rows in session {session_id}.")
    return max(status, 1) if errors else status


if __name__ == "__main__":
    sys.exit(main())
