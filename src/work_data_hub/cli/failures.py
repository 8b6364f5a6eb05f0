"""``wdh-failures``: what failed in a run, where, and is it new.

    wdh-failures sessions
    wdh-failures summary [SESSION|FILE]
    wdh-failures show [SESSION|FILE] [--domain D] [--error-type T] [--source-file F] [--limit N]
    wdh-failures diff OLD NEW
    wdh-failures excel [SESSION|FILE] -o PATH
    wdh-failures explain [SESSION|FILE] [--source-file F] [--row N] [--db URL] [--reference DIR]

SESSION is a session id or a unique prefix of one; without it, the newest
session in --logs-dir. --logs-dir, --json and --plain go before or after the
command. Exit status: 0 done, 1 bad input (a --domain the log does not name)
or a log with an interrupted export (reported), 2 bad arguments.

Heavy modules (pandas, the analysis, the workflows) are imported once the
arguments are parsed, and only by the command that needs them: ``--help``
and a mistake in the arguments answer at once.
"""

from __future__ import annotations

import argparse
import glob
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from work_data_hub.cli._exit import run_program
from work_data_hub.cli._interrupts import take_ctrl_c_from_arrow
from work_data_hub.errors import DomainNotInLogError, LogNotFoundError, WorkDataHubError
from work_data_hub.infrastructure.validation.error_types import ErrorType

if TYPE_CHECKING:
    import pandas as pd
    from pydantic import BaseModel
    from rich.console import Console

__all__ = ["add_selection_options", "main", "program", "selection"]

#: What ``--db`` means when not given (``work_data_hub.io.database.DEFAULT_DB``).
DB_HELP = "SQLAlchemy URL (default: wdh-etl's, sqlite:///data/wdh.db)"


def _sessions(args: argparse.Namespace, out: Console) -> BaseModel | None:
    from work_data_hub.analysis.sessions import list_sessions
    from work_data_hub.cli._json_shapes import SessionsOutput, records

    sessions = list_sessions(args.logs_dir)  # a missing folder is an error; an empty one is not
    if args.json:
        return SessionsOutput.model_validate(records(sessions))
    if sessions.empty:
        out.print(f"No failure logs in {args.logs_dir}", markup=False, soft_wrap=True)
        return None
    from work_data_hub.analysis.views import FrameView

    # the start time is in the id; the path is --logs-dir plus the id
    shown = sessions.drop(columns=["path", "started"])
    out.print(FrameView(shown, title=f"Failure logs in {args.logs_dir}"))
    return None


def _summary(args: argparse.Namespace, out: Console) -> BaseModel | None:
    from work_data_hub.analysis.summary import summarize
    from work_data_hub.analysis.views import FrameView
    from work_data_hub.cli._json_shapes import SummaryOutput, records

    try:
        path, failures = _read(args)
    except LogNotFoundError:
        clean = _session_without_failures(args)
        if clean is None:
            raise
        if args.json:
            log = args.logs_dir / f"wdh_etl_failures_{clean}.csv"
            return SummaryOutput.model_validate({"log": str(log), "summary": []})
        out.print(f"No failed rows in session {clean}.", markup=False, soft_wrap=True)
        return None
    summary = summarize(failures)
    if args.json:
        rows = records(summary.reset_index())
        return SummaryOutput.model_validate({"log": str(path), "summary": rows})
    out.print(FrameView(summary, title=path.name))
    return None


def _session_without_failures(args: argparse.Namespace) -> str | None:
    """The session ``args.log`` names (an id or unique prefix) that ran and logged no
    failed row: it has a session record beside where its log would be, and no log."""
    reference = args.log
    if not reference or str(reference).endswith(".csv") or not args.logs_dir.is_dir():
        return None
    found = sorted(
        path.name[len("wdh_etl_session_") : -len(".json")]
        for path in args.logs_dir.glob(f"wdh_etl_session_{glob.escape(str(reference))}*.json")
    )
    return found[0] if len(found) == 1 else None


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
    import pandas as pd

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


def _read(args: argparse.Namespace) -> tuple[Path, pd.DataFrame]:
    """The log the arguments name, read; a ``--domain`` it does not name is refused."""
    from work_data_hub.analysis.sessions import resolve_log
    from work_data_hub.infrastructure.validation.reader import read_failures

    path = resolve_log(args.log, args.logs_dir)
    failures = read_failures(path)
    domain = getattr(args, "domain", None)
    if domain:
        present = sorted(failures["domain"].astype(str).unique())
        if domain not in present:
            from work_data_hub.domain.registry import DOMAINS

            if domain not in DOMAINS:  # a domain that ran clean just has no failed rows
                raise DomainNotInLogError(domain, log=path, present=present)
    return path, failures


def _show(args: argparse.Namespace, out: Console) -> BaseModel | None:
    _, failures = _read(args)
    selected = failures[selection(args, failures)]
    shown = selected.head(args.limit)
    if args.json:
        from work_data_hub.cli._json_shapes import ShowOutput, failed_rows

        return ShowOutput.model_validate(failed_rows(shown))
    from work_data_hub.analysis.views import FailureCards

    out.print(FailureCards(shown))
    more = len(selected) - len(shown)
    out.print(
        f"{len(shown)} of {len(selected)} failed rows"
        + (f" (--limit {args.limit})" if more else "")
    )
    return None


def _diff(args: argparse.Namespace, out: Console) -> BaseModel | None:
    from work_data_hub.analysis.diff import DiffStatus, diff_sessions
    from work_data_hub.analysis.sessions import resolve_log
    from work_data_hub.infrastructure.validation.reader import read_failures

    old_path, new_path = (resolve_log(ref, args.logs_dir) for ref in (args.old, args.new))
    diff = diff_sessions(read_failures(old_path), read_failures(new_path))
    counts = {
        status.value: int((diff["status"] == status).sum())
        for status in (DiffStatus.NEW, DiffStatus.RESOLVED, DiffStatus.PERSISTING)
    }
    if args.json:
        from work_data_hub.cli._json_shapes import DiffOutput, failed_rows

        return DiffOutput.model_validate(
            {
                "old": str(old_path),
                "new": str(new_path),
                "counts": counts,
                "failures": failed_rows(diff),
            }
        )
    names = f"{old_path.name} -> {new_path.name}"
    if not counts[DiffStatus.NEW] and not counts[DiffStatus.RESOLVED]:
        persisting = counts[DiffStatus.PERSISTING]
        out.print(
            f"{names}: no new or resolved failed rows"
            + (f" ({persisting} persisting)" if persisting else " (no failed rows in either)"),
            markup=False,
            soft_wrap=True,
        )
        return None
    out.print(
        f"{names}: " + ", ".join(f"{n} {s}" for s, n in counts.items()),
        markup=False,
        soft_wrap=True,
    )
    from work_data_hub.analysis.views import FailureCards

    changed = diff[diff["status"] != DiffStatus.PERSISTING].head(args.limit)
    out.print(FailureCards(changed))
    return None


def _excel(args: argparse.Namespace, out: Console) -> BaseModel | None:
    from work_data_hub.analysis.excel import to_excel

    path, failures = _read(args)
    written = to_excel(failures[selection(args, failures)], args.output, log=path)
    if args.json:
        from work_data_hub.cli._json_shapes import ExcelOutput

        return ExcelOutput(log=str(path), excel=str(written.resolve()))
    out.print(f"Wrote {written.resolve()}", markup=False, soft_wrap=True)
    return None


def _explain(args: argparse.Namespace, out: Console) -> BaseModel | None:
    import pandas as pd

    from work_data_hub.analysis.views import SHORT_HEADERS, FrameView
    from work_data_hub.io.database import DEFAULT_DB
    from work_data_hub.workflows import Verdict, Workspace, explain_failures, session_settings

    path, failures = _read(args)
    record = session_settings(path)  # how the session ran, for what the options leave out
    db = args.db or (record.db_url if record else None) or DEFAULT_DB
    reference = args.reference
    if reference is None and record is not None and record.reference_dir is not None:
        reference = record.reference_dir if record.reference_dir.is_dir() else None
    workspace = Workspace.open(db, reference_dir=reference)
    chosen, source_dir = selection(args, failures), record.source_dir if record else None
    explained = explain_failures(failures, workspace, selected=chosen, source_dir=source_dir)
    shown = explained.head(args.limit)
    if args.json:
        from work_data_hub.cli._explain_shape import ExplainOutput, with_logged
        from work_data_hub.cli._json_shapes import failed_rows

        explained_rows = failed_rows(with_logged(shown, failures))
        return ExplainOutput.model_validate({"log": str(path), "explained": explained_rows})
    if explained.empty:
        out.print(f"No failed rows selected in {path.name}", markup=False, soft_wrap=True)
        return None
    for domain, rows in shown.groupby("domain", sort=False):
        view = pd.DataFrame(
            {
                "file": rows["source_file"],
                "row_index": rows["row_index"],
                "sheet_row": rows["row_index"] + 2,
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
        from work_data_hub.cli.replay import command_line

        command = command_line(args, path)
        out.print(f"Load the rows that pass now: {command}", markup=False, soft_wrap=True)
    return None


def _add_common_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """``--logs-dir``, ``--json``, ``--plain``: declared once, for the top-level parser
    (``defaults``) and each command. A command's copy has no default, so it sets
    the value only when given after the command, never undoes one given before."""

    def default(value: object) -> object:
        return value if defaults else argparse.SUPPRESS

    parser.add_argument(
        "--logs-dir", type=Path, default=default(Path("logs")), help="default: logs"
    )
    parser.add_argument(
        "--json", action="store_true", default=default(False), help="machine-readable output"
    )
    parser.add_argument(
        "--plain", action="store_true", default=default(False), help="no colour or links"
    )


def _command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help: str
) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, help=help, description=help)
    _add_common_options(parser, defaults=False)
    return parser


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wdh-failures", description=__doc__.split("\n")[0])
    _add_common_options(parser, defaults=True)
    commands = parser.add_subparsers(dest="command", required=True)
    _command(commands, "sessions", "list the sessions, newest first")
    summary = _command(commands, "summary", "counts by domain and file")
    summary.add_argument("log", nargs="?", metavar="SESSION|FILE")
    show = _command(commands, "show", "failed rows, as read")
    show.add_argument("log", nargs="?", metavar="SESSION|FILE")
    add_selection_options(show)
    show.add_argument("--limit", type=int, default=20)
    diff = _command(commands, "diff", "new, resolved, persisting")
    diff.add_argument("old", metavar="OLD")
    diff.add_argument("new", metavar="NEW")
    diff.add_argument("--limit", type=int, default=20, help="new and resolved rows shown")
    excel = _command(commands, "excel", "write an Excel workbook")
    excel.add_argument("log", nargs="?", metavar="SESSION|FILE")
    add_selection_options(excel)
    excel.add_argument(
        "-o", "--output", type=Path, required=True, help="an .xlsx file in an existing folder"
    )
    explain = _command(commands, "explain", "why each row fails now, step by step")
    explain.add_argument("log", nargs="?", metavar="SESSION|FILE")
    add_selection_options(explain)
    explain.add_argument("--limit", type=int, default=50)
    explain.add_argument("--db", help=DB_HELP)
    explain.add_argument(
        "--reference",
        type=Path,
        help="check against this folder's reference files too (plans.csv, "
        "company_mapping.csv, branches.csv; the database is not changed)",
    )
    return parser


def _bad_argument(args: argparse.Namespace) -> str | None:
    """What is wrong with arguments the parser accepted, checked before any work."""
    if args.command == "explain" and args.db is not None:
        from work_data_hub.cli._arguments import database_problem

        return database_problem(args.db)
    if args.command == "excel":
        from work_data_hub.analysis.excel import workbook_path
        from work_data_hub.errors import OutputPathError

        try:
            workbook_path(args.output)
        except OutputPathError as error:
            return f"-o {error}"
    return None


COMMANDS: dict[str, Callable[[argparse.Namespace, Console], BaseModel | None]] = {
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
    from sqlalchemy.exc import SQLAlchemyError

    from work_data_hub.cli.console import log_warnings, make_console, say

    problem = _bad_argument(args)
    if problem is not None:
        say(f"wdh-failures {args.command}: {problem}")
        return 2
    out = make_console(plain=args.plain)
    take_ctrl_c_from_arrow()  # (the logs are read with pyarrow)
    with log_warnings("wdh-failures") as torn:
        try:
            result = COMMANDS[args.command](args, out)
        except (WorkDataHubError, OSError, SQLAlchemyError) as error:
            say(f"wdh-failures: {error}")
            return 1
    if args.json and result is not None and sys.stdout is not None:  # (None: closed)
        from work_data_hub.cli._json_shapes import dumps

        sys.stdout.write(dumps(result) + "\n")
    for message in torn:
        say(f"wdh-failures: warning: {message}")
    return 1 if torn else 0


def program() -> None:
    """``wdh-failures`` as the program (its entry point): ``main()``, then the process
    ends at once (``cli._exit.run_program``: 0.14 s of interpreter teardown saved)."""
    run_program(main, "wdh-failures")


if __name__ == "__main__":
    program()
