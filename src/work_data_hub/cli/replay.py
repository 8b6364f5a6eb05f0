"""``wdh-etl replay``: a session's failed rows through their domains again, in a new session.

    wdh-etl replay [SESSION|FILE] [--domain D] [--error-type T] [--source-file F] [--row N]
                   [--db URL] [--reference DIR] [--logs-dir DIR] [--plain] [--summary-json PATH]

Fix the cause first (a company mapping, a plan), then replay. Rows that pass
now are loaded with their original source file and row; rows that still
fail go to the new session's failure log. Replaying twice loads nothing
twice. Exit status: 0 done, 1 bad input or rows that could not be
replayed (each reported on stderr), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from work_data_hub.analysis import FrameView, resolve_log
from work_data_hub.cli.console import (
    json_records,
    log_warnings,
    make_console,
    print_log_link,
    say,
)
from work_data_hub.cli.failures import add_selection_options, selection
from work_data_hub.errors import WorkDataHubError
from work_data_hub.infrastructure.validation import generate_session_id, read_failures
from work_data_hub.io.database import DEFAULT_DB
from work_data_hub.workflows import ReplayResult, Workspace, replay_failures

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wdh-etl replay", description=__doc__.split("\n")[0])
    parser.add_argument(
        "log", nargs="?", metavar="SESSION|FILE", help="default: the newest session"
    )
    add_selection_options(parser)
    parser.add_argument("--db", default=DEFAULT_DB, help=f"SQLAlchemy URL (default: {DEFAULT_DB})")
    parser.add_argument(
        "--reference",
        type=Path,
        help="load the reference files (plans.csv, company_mapping.csv, branches.csv) in this "
        "folder into the database first",
    )
    parser.add_argument("--logs-dir", type=Path, default=Path("logs"), help="default: logs")
    parser.add_argument("--plain", action="store_true", help="no colour or links")
    parser.add_argument("--summary-json", type=Path, help="write a machine-readable summary")
    return parser


def _summary_json(result: ReplayResult, replayed: Path) -> dict[str, Any]:
    counts = result.counts.reset_index()
    return {
        "session_id": result.session_id,
        "replayed_log": str(replayed.resolve()),
        "replayed_from": result.replayed_from,
        "failure_log": str(result.log.resolve()) if result.log.exists() else None,
        "counts": json_records(counts),
        "errors": result.errors,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``wdh-etl replay``; return the exit status."""
    args = _parser().parse_args(argv)
    out = make_console(plain=args.plain)
    with log_warnings() as torn:
        try:
            replayed = _replay(args, out)
        except (WorkDataHubError, OSError, SQLAlchemyError) as error:
            say(f"wdh-etl replay: {error}")
            return 1
    for message in torn:
        say(f"wdh-etl replay: warning: {message}")
    if replayed is None:
        return 1 if torn else 0
    log, result = replayed
    out.print(f"Session {result.session_id} replays {result.replayed_from}", markup=False)
    for domain, counts in result.counts.groupby(level="domain", sort=False):
        shown = counts.droplevel("domain").rename(columns=lambda name: name.replace("_", " "))
        out.print(FrameView(shown, title=str(domain)))
    for where, message in result.errors.items():
        say(f"wdh-etl replay: {where}: {message}")
    if args.summary_json:
        args.summary_json.write_text(
            json.dumps(_summary_json(result, log), ensure_ascii=False, indent=2),
            encoding="utf-8",
        )
    if result.log.exists():
        print_log_link(out, "Rows still failing: ", result.log)
    else:
        out.print(f"No rows still failing in session {result.session_id}.", markup=False)
    return 1 if result.errors or torn else 0


def _replay(args: argparse.Namespace, out: Console) -> tuple[Path, ReplayResult] | None:
    """Replay what ``args`` select; None (said on ``out``) when they select nothing."""
    path = resolve_log(args.log, args.logs_dir)
    failures = read_failures(path)
    chosen = selection(args, failures)
    if not chosen.any():
        out.print(f"Nothing to replay: no row of {path.name} matches.", markup=False)
        return None
    workspace = Workspace.open(args.db, reference_dir=args.reference, upsert=True)
    result = replay_failures(
        failures,
        workspace,
        selected=chosen,
        session_id=generate_session_id(),
        logs_dir=args.logs_dir,
    )
    return path, result
