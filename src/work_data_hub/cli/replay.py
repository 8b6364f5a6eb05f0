"""``wdh-etl replay``: a session's failed rows through their domains again, in a new session.

    wdh-etl replay [SESSION|FILE] [--domain D] [--error-type T] [--source-file F] [--row N]
                   [--db URL] [--reference DIR] [--logs-dir DIR] [--plain] [--summary-json PATH]

Fix the cause first (a company mapping, a plan), then replay. Rows that pass
now are loaded with their original source file and row; rows that still
fail go to the new session's failure log. Replaying twice loads nothing
twice. ``--db`` and ``--reference`` default to what the replayed session
ran with (its sidecar, ``wdh_etl_session_<id>.json``). Exit status: 0 done,
1 bad input or rows that could not be replayed (each reported on stderr),
2 bad arguments, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from work_data_hub.cli._arguments import DEFAULT_DB_FILE, database_problem, summary_json_problem
from work_data_hub.cli._exit import INTERRUPTED
from work_data_hub.cli._interrupts import say_last, take_ctrl_c_from_arrow
from work_data_hub.cli.failures import add_selection_options, selection

if TYPE_CHECKING:
    from rich.console import Console

    from work_data_hub.workflows import ReplayResult

__all__ = ["add_arguments", "command_line", "interrupted", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add replay's arguments to ``parser`` (the ``replay`` subcommand of ``wdh-etl``)."""
    parser.add_argument(
        "log", nargs="?", metavar="SESSION|FILE", help="default: the newest session"
    )
    add_selection_options(parser)
    parser.add_argument(
        "--db",
        metavar="URL",
        help="SQLAlchemy URL (default: the replayed session's database, "
        f"else sqlite:///{DEFAULT_DB_FILE})",
    )
    parser.add_argument(
        "--reference",
        type=Path,
        help="load the reference files (plans.csv, company_mapping.csv, branches.csv) in this "
        "folder into the database first (default: the replayed run's reference folder)",
    )
    parser.add_argument("--logs-dir", type=Path, default=Path("logs"), help="default: logs")
    parser.add_argument("--plain", action="store_true", help="no colour or links")
    parser.add_argument("--summary-json", type=Path, help="write a machine-readable summary")


def command_line(args: argparse.Namespace, path: Path) -> str:
    """The ``wdh-etl replay`` command for the rows ``wdh-failures explain`` selected
    with ``args`` in the log at ``path``, with the same options: one line to paste.

    >>> options = dict(domain=None, error_type=None, source_file="2024-03.csv", row=None)
    >>> more = dict(reference=None, db=None, logs_dir=Path("logs"))
    >>> command_line(argparse.Namespace(**options, **more), Path("logs/f.csv"))
    'wdh-etl replay logs/f.csv --source-file 2024-03.csv'
    """
    words = ["wdh-etl", "replay", str(path)]
    for option in ("domain", "error_type", "source_file", "row", "reference", "db"):
        value = getattr(args, option)
        if value is not None:
            words += [f"--{option.replace('_', '-')}", str(value)]
    if args.logs_dir != Path("logs"):
        words += ["--logs-dir", str(args.logs_dir)]
    return shlex.join(words)


def _summary_json(result: ReplayResult, replayed: Path) -> dict[str, Any]:
    from work_data_hub.cli.console import json_records

    counts = result.counts.reset_index()
    return {
        "session_id": result.session_id,
        "replayed_log": str(replayed.resolve()),
        "replayed_from": result.replayed_from,
        "failure_log": str(result.log.resolve()) if result.log.exists() else None,
        "counts": json_records(counts),
        "errors": result.errors,
    }


def run(args: argparse.Namespace) -> int:
    """Run ``wdh-etl replay`` with parsed ``args``; return the exit status."""
    problem = database_problem(args.db) if args.db is not None else None
    if problem is None and args.summary_json is not None:
        problem = summary_json_problem(args.summary_json)
    if problem is not None:
        say_last(f"wdh-etl replay: {problem}")
        return 2
    try:
        return _run(args)
    except KeyboardInterrupt:
        return interrupted()


def interrupted() -> int:
    """Say in one line what an interrupted replay leaves; return 130."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the line short
    say_last(
        "wdh-etl replay: interrupted: what it loaded stays loaded, each file's rows whole; "
        "replaying again loads nothing twice"
    )
    return INTERRUPTED


def _run(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from work_data_hub.analysis import FrameView
    from work_data_hub.cli.console import log_warnings, make_console, print_log_link, say
    from work_data_hub.errors import WorkDataHubError

    out = make_console(plain=args.plain)
    with log_warnings("wdh-etl replay") as torn:
        try:
            replayed = _replay(args, out)
        except (WorkDataHubError, OSError, SQLAlchemyError) as error:
            say(f"wdh-etl replay: {error}")
            return 1
    for message in torn:
        say(f"wdh-etl replay: warning: {message}")
    if isinstance(replayed, str):
        say(f"wdh-etl replay: {replayed}")
        return 1
    if replayed is None:
        return 1 if torn else 0
    log, result = replayed
    out.print(f"Session {result.session_id} replays {result.replayed_from}", markup=False)
    for domain, counts in result.counts.groupby(level="domain", sort=False):
        shown = counts.droplevel("domain").rename(columns=lambda name: name.replace("_", " "))
        out.print(FrameView(shown, title=str(domain)))
    for where, message in result.errors.items():
        say(f"wdh-etl replay: {where}: {message}")
    unwritten = 0
    if args.summary_json:
        from work_data_hub.errors import OutputWriteError
        from work_data_hub.infrastructure.atomic_file import write_replacing

        data = json.dumps(_summary_json(result, log), ensure_ascii=False, indent=2)
        try:
            write_replacing(args.summary_json, data.encode("utf-8"))
        except OutputWriteError as error:
            say(f"wdh-etl replay: --summary-json not written: {error} (the replay is done)")
            unwritten = 1
    if result.log.exists():
        print_log_link(out, "Rows still failing: ", result.log)
    else:
        out.print(f"No rows still failing in session {result.session_id}.", markup=False)
    return 1 if result.errors or torn or unwritten else 0


def _replay(args: argparse.Namespace, out: Console) -> tuple[Path, ReplayResult] | str | None:
    """Replay what ``args`` select; None (said on ``out``) when they select nothing, a
    message when the replayed session's own database cannot be used."""
    from work_data_hub.analysis import resolve_log
    from work_data_hub.infrastructure.validation import generate_session_id, read_failures
    from work_data_hub.io.database import DEFAULT_DB
    from work_data_hub.workflows import Workspace, replay_failures
    from work_data_hub.workflows.session_record import (
        SessionRecord,
        database_url_for_record,
        session_settings,
        write_session_record,
    )

    take_ctrl_c_from_arrow()
    path = resolve_log(args.log, args.logs_dir)
    failures = read_failures(path)
    chosen = selection(args, failures)
    if not chosen.any():
        out.print(f"Nothing to replay: no row of {path.name} matches.", markup=False)
        return None
    ran = session_settings(path)  # what the replayed session ran with: defaults, not orders
    db_url, reference = args.db, args.reference
    if db_url is None and ran is not None:
        if problem := database_problem(ran.db_url):
            return f"the database of session {ran.session_id}: {problem}; pass --db"
        db_url = ran.db_url
    if reference is None and ran is not None and ran.reference_dir is not None:
        reference = ran.reference_dir if ran.reference_dir.is_dir() else None
    workspace = Workspace.open(db_url or DEFAULT_DB, reference_dir=reference, upsert=True)
    session_id = generate_session_id()
    record = SessionRecord(
        session_id,
        db_url=database_url_for_record(db_url or DEFAULT_DB),
        reference_dir=None if reference is None else reference.absolute(),
        domains=tuple(sorted(failures.loc[chosen, "domain"].astype(str).unique())),
        replays=", ".join(sorted(failures.loc[chosen, "session_id"].astype(str).unique())),
    )
    args.logs_dir.mkdir(parents=True, exist_ok=True)
    write_session_record(record, args.logs_dir)
    result = replay_failures(
        failures,
        workspace,
        selected=chosen,
        session_id=session_id,
        logs_dir=args.logs_dir,
        source_dir=None if ran is None else ran.source_dir,
    )
    return path, result
