"""What ``wdh-etl`` says when a run ends: the per-file tables, the errors below them,
``--summary-json``, the debug log of unexpected errors, and a closing line that
tells the truth (never "no failed rows" when a file failed or nothing ran)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd
from rich.console import Console

from work_data_hub.analysis import FrameView
from work_data_hub.cli.console import print_log_link, say
from work_data_hub.errors import OutputWriteError, WorkDataHubError
from work_data_hub.infrastructure.atomic_file import write_replacing
from work_data_hub.infrastructure.validation import ErrorType, FailureExporter, holds_entries
from work_data_hub.workflows import DomainResult, FileResult

__all__ = ["closing_line", "report"]


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
    if args.debug and sys.stderr is not None:  # (None: started with stderr closed)
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


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def closing_line(
    results: list[DomainResult], session_id: str, source: Path, *, logged: bool
) -> str | None:
    """The run's last word when something went wrong or nothing ran (None: all ran,
    and the log, or its absence, says the rest).

    >>> ok, bad = FileResult("a.csv"), FileResult("b.csv", error="b.csv is empty")
    >>> closing_line([DomainResult("x", files=[ok, bad])], "etl_1", Path("d"), logged=False)
    '1 file loaded, 1 could not be processed, no failed rows logged in session etl_1.'
    >>> closing_line([DomainResult("x")], "etl_1", Path("d"), logged=False)
    'Nothing ran in session etl_1: no source files for x in d.'
    """
    files = [file for result in results for file in result.files]
    failed = sum(1 for file in files if file.error)
    blocked = [result.domain for result in results if result.error]
    if not files and not blocked:
        domains = ", ".join(result.domain for result in results)
        return f"Nothing ran in session {session_id}: no source files for {domains} in {source}."
    if not failed and not blocked:
        return None
    parts = [f"{_count(len(files) - failed, 'file')} loaded"]
    if failed:
        parts.append(f"{failed} could not be processed")
    if blocked:
        parts.append(f"{', '.join(blocked)} could not run")
    if not logged:
        parts.append(f"no failed rows logged in session {session_id}")
    return ", ".join(parts) + "."


def _holds_entries(log: Path) -> bool:
    """Whether the log holds a finished export: never "saved" for an empty file that a
    failed first export left (an unreadable log counts as there: its reader says why)."""
    try:
        return holds_entries(log)
    except (WorkDataHubError, OSError):
        return log.exists()


def report(
    results: list[DomainResult], args: argparse.Namespace, session_id: str, out: Console
) -> int:
    """Write --summary-json, print the summary, say every error; return the exit status.

    The JSON comes first: a reader of the output that went away (``| head``)
    ends the printing (Rich exits 1), never the record of the run. It replaces
    the file whole; one that cannot be written (a full disk) is said in one
    line and makes the status 1, and the summary is printed all the same."""
    log = FailureExporter(session_id, args.logs_dir).output_file
    logged = _holds_entries(log)
    errors = 0
    if args.summary_json:
        data = json.dumps(_summary_json(session_id, log, results), ensure_ascii=False, indent=2)
        try:
            write_replacing(args.summary_json, data.encode("utf-8"))
        except OutputWriteError as error:
            where = f"failure log: {log}" if logged else "no failed rows logged"
            say(f"wdh-etl: --summary-json not written: {error} (the loads are done; {where})")
            errors += 1
    summary = _summary_frame(results)
    out.print(f"Session {session_id}", markup=False)
    for domain, files in summary.groupby("domain", sort=False):
        out.print(FrameView(files.drop(columns="domain"), title=str(domain)))
    for result in results:
        for name, why in result.skipped.items():
            out.print(f"{result.domain}: skipped {name}: {why}", markup=False, soft_wrap=True)
        if result.error:
            say(f"wdh-etl: {result.domain}: {result.error}")
            errors += 1
        for file in result.files:
            if file.error:  # below the tables, whole: an error never squeezes a table
                say(f"wdh-etl: {result.domain}: {file.source_file}: {file.error}")
                errors += 1
    _report_details(results, args, session_id)
    last = closing_line(results, session_id, args.source, logged=logged)
    if last is not None:
        out.print(last, markup=False, soft_wrap=True)
    if logged:
        print_log_link(out, "Saved failure log to ", log)
    elif last is None:
        out.print(f"No failed rows in session {session_id}.", markup=False)
    return 1 if errors else 0
