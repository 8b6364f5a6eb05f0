"""``wdh-failures``: what failed in a run, where, and is it new.

    wdh-failures sessions
    wdh-failures summary [SESSION|FILE]
    wdh-failures show [SESSION|FILE] [--domain D] [--error-type T] [--source-file F] [--limit N]
    wdh-failures diff OLD NEW
    wdh-failures excel [SESSION|FILE] -o PATH
    wdh-failures explain [SESSION|FILE] [--source-file F] [--row N] [--db URL] [--reference DIR]

SESSION is a session id or a unique prefix of one; without it, the newest
session in --logs-dir. Exit status: 0 done, 1 bad input or a log with an
interrupted export (reported), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from work_data_hub.analysis import (
    FailureCards,
    FrameView,
    diff_sessions,
    list_sessions,
    resolve_log,
    summarize,
    to_excel,
)
from work_data_hub.analysis.views import SHORT_HEADERS
from work_data_hub.cli.console import json_records, log_warnings, make_console, say
from work_data_hub.errors import LogNotFoundError, WorkDataHubError
from work_data_hub.infrastructure.validation import ErrorType, read_failures
from work_data_hub.infrastructure.validation.raw_data import raw_objects
from work_data_hub.io.database import DEFAULT_DB
from work_data_hub.workflows import Verdict, Workspace, explain_failures

__all__ = ["add_selection_options", "main", "selection"]


def _sessions(args: argparse.Namespace, out: Console) -> Any:
    sessions = list_sessions(args.logs_dir)
    if sessions.empty:
        raise LogNotFoundError(f"no failure logs in {args.logs_dir}", path=args.logs_dir)
    if args.json:
        return json_records(sessions.astype({"started": str}))
    # the start time is in the id; the path is --logs-dir plus the id
    shown = sessions.drop(columns=["path", "started"])
    out.print(FrameView(shown, title=f"Failure logs in {args.logs_dir}"))
    return None


def _summary(args: argparse.Namespace, out: Console) -> Any:
    path = resolve_log(args.log, args.logs_dir)
    summary = summarize(read_failures(path))
    if args.json:
        return {"log": str(path), "summary": json_records(summary.reset_index())}
    out.print(FrameView(summary, title=path.name))
    return None


def add_selection_options(parser: argparse.ArgumentParser) -> None:
    """The options that select failed rows: domain, error type, source file, row."""
    parser.add_argument("--domain")
    parser.add_argument("--error-type", choices=[e.value for e in ErrorType])
    parser.add_argument(
        "--source-file", help="a source file name, as logged (a workbook's: all its sheets)"
    )
    parser.add_argument("--row", type=int, help="a row index in the source file, as logged")


def selection(args: argparse.Namespace, failures: pd.DataFrame) -> pd.Series:
    """A boolean mask over ``failures``: the rows the selection options name."""
    keep = pd.Series(True, index=failures.index)
    if args.domain:
        keep &= failures["domain"] == args.domain
    if args.error_type:
        keep &= failures["error_type"] == args.error_type
    if args.source_file:  # a workbook's name stands for each of its sheets too
        names = failures["source_file"].astype(str)
        keep &= (names == args.source_file) | names.str.startswith(f"{args.source_file}[")
    if args.row is not None:
        keep &= failures["row_index"] == args.row
    return keep


def _show(args: argparse.Namespace, out: Console) -> Any:
    path = resolve_log(args.log, args.logs_dir)
    failures = read_failures(path)
    selected = failures[selection(args, failures)]
    shown = selected.head(args.limit)
    if args.json:
        rows = shown.drop(columns="raw_data").astype({"timestamp": str})
        return [
            {**record, "raw": raw}
            for record, raw in zip(json_records(rows), raw_objects(shown), strict=True)
        ]
    out.print(FailureCards(shown))
    more = len(selected) - len(shown)
    out.print(
        f"{len(shown)} of {len(selected)} failed rows"
        + (f" (--limit {args.limit})" if more else "")
    )
    return None


def _diff(args: argparse.Namespace, out: Console) -> Any:
    old_path, new_path = (resolve_log(ref, args.logs_dir) for ref in (args.old, args.new))
    diff = diff_sessions(read_failures(old_path), read_failures(new_path))
    counts = diff["status"].value_counts().reindex(["new", "resolved", "persisting"], fill_value=0)
    if args.json:
        rows = diff.astype({"timestamp": str})
        return {
            "old": str(old_path),
            "new": str(new_path),
            "counts": counts.to_dict(),
            "failures": json_records(rows),
        }
    out.print(
        f"{old_path.name} -> {new_path.name}: " + ", ".join(f"{n} {s}" for s, n in counts.items())
    )
    changed = diff[diff["status"] != "persisting"].head(args.limit)
    out.print(FailureCards(changed))
    return None


def _excel(args: argparse.Namespace, out: Console) -> Any:
    path = resolve_log(args.log, args.logs_dir)
    failures = read_failures(path)
    written = to_excel(failures[selection(args, failures)], args.output)
    if args.json:
        return {"log": str(path), "excel": str(written.resolve())}
    out.print(f"Wrote {written.resolve()}", markup=False)
    return None


def _explain(args: argparse.Namespace, out: Console) -> Any:
    path = resolve_log(args.log, args.logs_dir)
    failures = read_failures(path)
    workspace = Workspace.open(args.db, reference_dir=args.reference)
    explained = explain_failures(failures, workspace, selected=selection(args, failures))
    shown = explained.head(args.limit)
    if args.json:
        return {"log": str(path), "explained": json_records(shown)}
    for domain, rows in shown.groupby("domain", sort=False):
        view = pd.DataFrame(
            {
                "file": rows["source_file"],
                "row": rows["row_index"],
                "logged": rows["error_type"].map(SHORT_HEADERS),
                "now": rows["step"].fillna(rows["verdict"]),
                "reason": rows["reason"],
            }
        )
        out.print(FrameView(view, title=str(domain)))
    verdicts = explained["verdict"].value_counts()
    tally = ", ".join(f"{n} {verdict}" for verdict, n in verdicts.items())
    more = f" (--limit {args.limit})" if len(shown) < len(explained) else ""
    out.print(f"{len(shown)} of {len(explained)} failed rows{more}: {tally}", markup=False)
    if verdicts.get(Verdict.PASSES_NOW, 0):
        # one unwrapped line, to copy and paste
        command = _replay_command(args, path)
        out.print(f"Load the rows that pass now: {command}", markup=False, soft_wrap=True)
    return None


def _replay_command(args: argparse.Namespace, path: Path) -> str:
    """The ``wdh-etl replay`` command for the rows just explained, with the same options."""
    words = ["wdh-etl", "replay", str(path)]
    for option in ("domain", "error_type", "source_file", "row", "reference"):
        value = getattr(args, option)
        if value is not None:
            words += [f"--{option.replace('_', '-')}", str(value)]
    if args.db != DEFAULT_DB:
        words += ["--db", args.db]
    if args.logs_dir != Path("logs"):
        words += ["--logs-dir", str(args.logs_dir)]
    return shlex.join(words)


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--logs-dir", type=Path, default=Path("logs"), help="default: logs")
    common.add_argument("--json", action="store_true", help="machine-readable output")
    common.add_argument("--plain", action="store_true", help="no colour or links")
    parser = argparse.ArgumentParser(
        prog="wdh-failures", description=__doc__.split("\n")[0], parents=[common]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("sessions", parents=[common], help="list the sessions, newest first")
    summary = commands.add_parser("summary", parents=[common], help="counts by domain and file")
    summary.add_argument("log", nargs="?", metavar="SESSION|FILE")
    show = commands.add_parser("show", parents=[common], help="failed rows, as read")
    show.add_argument("log", nargs="?", metavar="SESSION|FILE")
    add_selection_options(show)
    show.add_argument("--limit", type=int, default=20)
    diff = commands.add_parser("diff", parents=[common], help="new, resolved, persisting")
    diff.add_argument("old", metavar="OLD")
    diff.add_argument("new", metavar="NEW")
    diff.add_argument("--limit", type=int, default=20, help="new and resolved rows shown")
    excel = commands.add_parser("excel", parents=[common], help="write an Excel workbook")
    excel.add_argument("log", nargs="?", metavar="SESSION|FILE")
    add_selection_options(excel)
    excel.add_argument("-o", "--output", type=Path, required=True)
    explain = commands.add_parser(
        "explain", parents=[common], help="why each row fails now, step by step"
    )
    explain.add_argument("log", nargs="?", metavar="SESSION|FILE")
    add_selection_options(explain)
    explain.add_argument("--limit", type=int, default=50)
    explain.add_argument("--db", default=DEFAULT_DB, help=f"default: {DEFAULT_DB}")
    explain.add_argument(
        "--reference",
        type=Path,
        help="check against this folder's reference files too (plans.csv, "
        "company_mapping.csv, branches.csv; the database is not changed)",
    )
    return parser


COMMANDS: dict[str, Callable[[argparse.Namespace, Console], Any]] = {
    "sessions": _sessions,
    "summary": _summary,
    "show": _show,
    "diff": _diff,
    "excel": _excel,
    "explain": _explain,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``wdh-failures``; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if getattr(args, "limit", 1) < 1:
        parser.error("--limit must be at least 1")
    out = make_console(plain=args.plain)
    with log_warnings() as torn:
        try:
            result = COMMANDS[args.command](args, out)
        except (WorkDataHubError, OSError, SQLAlchemyError) as error:
            say(f"wdh-failures: {error}")
            return 1
    if args.json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    for message in torn:
        say(f"wdh-failures: warning: {message}")
    return 1 if torn else 0


if __name__ == "__main__":
    sys.exit(main())
