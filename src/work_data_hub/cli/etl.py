"""``wdh-etl``: run domain pipelines over source files into a database.

    wdh-etl --all-domains
    wdh-etl --domain annuity_performance --source data/samples --db sqlite:///data/wdh.db
    wdh-etl replay [SESSION|FILE] ...   (see wdh-etl replay --help)

Every rejected row of the run lands in one failure log,
``<logs-dir>/wdh_etl_failures_<session>.csv``. Exit status: 0 done (failed
rows are data, not errors), 1 a domain or a source file could not be
processed, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from sqlalchemy.exc import SQLAlchemyError

from work_data_hub.analysis import FrameView
from work_data_hub.cli import replay
from work_data_hub.cli.console import make_console, print_log_link, say
from work_data_hub.domain.registry import DOMAINS
from work_data_hub.domain.service import DomainResult, FileResult, execute_domain, source_files
from work_data_hub.errors import SourceFileError, WorkDataHubError
from work_data_hub.infrastructure.validation import (
    ErrorType,
    FailureExporter,
    generate_session_id,
    validate_session_id,
)
from work_data_hub.io.database import DEFAULT_DB, Database, sqlite_file
from work_data_hub.io.sources import read_reference

__all__ = ["main"]


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
    return parser


def _load_reference(folder: Path, db_url: str) -> None:
    plans, companies = read_reference(folder)
    file = sqlite_file(db_url)
    if file is not None:  # the default works on a fresh clone
        file.parent.mkdir(parents=True, exist_ok=True)
    Database(db_url).upsert_reference(plans=plans, companies=companies)


def _summary_frame(results: list[DomainResult]) -> pd.DataFrame:
    """One row per source file (or per domain that could not run)."""
    rows: list[dict[str, object]] = []
    for result in results:
        if result.error:
            rows.append({"domain": result.domain, "file": result.error})
        for file in result.files:
            if file.error:
                rows.append({"domain": result.domain, "file": f"{file.source_file}: {file.error}"})
            else:
                rows.append(
                    {
                        "domain": result.domain,
                        "file": file.source_file,
                        "read": file.read,
                        "loaded": file.loaded,
                        **file.failed,
                    }
                )
    columns = ["domain", "file", "read", "loaded", *(e.value for e in ErrorType)]
    return pd.DataFrame(rows, columns=columns).astype(dict.fromkeys(columns[2:], "Int64"))


def _summary_json(session_id: str, log: Path, results: list[DomainResult]) -> dict[str, object]:
    return {
        "session_id": session_id,
        "failure_log": str(log.resolve()),
        "domains": {
            r.domain: {
                "error": r.error,
                "files": {
                    f.source_file: {
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


def _run_domains(
    domains: list[str], args: argparse.Namespace, session_id: str, out: Console
) -> list[DomainResult]:
    options = {
        "session_id": session_id,
        "source_dir": args.source,
        "db_url": args.db,
        "logs_dir": args.logs_dir,
    }
    totals = {}
    for domain in domains:
        try:
            totals[domain] = len(source_files(args.source, domain))
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
        if args.jobs > 1 and len(domains) > 1:
            with ProcessPoolExecutor(max_workers=args.jobs) as pool:
                futures = {pool.submit(execute_domain, d, **options): d for d in domains}
                for future in as_completed(futures):
                    domain = futures[future]
                    progress.update(tasks[domain], completed=totals[domain] or 1, file="done")
                return [future.result() for future in futures]
        results = []
        for domain in domains:

            def advance(file: FileResult, domain: str = domain) -> None:
                progress.update(tasks[domain], advance=1, file=file.source_file)

            results.append(execute_domain(domain, on_file=advance, **options))
            progress.update(tasks[domain], completed=totals[domain] or 1)
        return results


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
        say(f"wdh-etl: unknown domain {name!r}; known: {', '.join(DOMAINS)}")
    domains = [d for d in requested if d in DOMAINS]
    out = make_console(plain=args.plain)
    try:
        _load_reference(args.reference or args.source / "reference", args.db)
    except (WorkDataHubError, OSError, SQLAlchemyError) as error:
        say(f"wdh-etl: reference data: {error}")
        return 1
    results = _run_domains(domains, args, session_id, out)
    summary = _summary_frame(results)
    out.print(f"Session {session_id}", markup=False)
    for domain, files in summary.groupby("domain", sort=False):
        out.print(FrameView(files.drop(columns="domain"), title=str(domain)))
    status = 2 if unknown else 0
    for result in results:
        if result.error:
            say(f"wdh-etl: {result.domain}: {result.error}")
            status = max(status, 1)
        for file in result.files:
            if file.error:
                say(f"wdh-etl: {result.domain}: {file.source_file}: {file.error}")
                status = max(status, 1)
    log = FailureExporter(session_id, args.logs_dir).output_file
    if args.summary_json:
        args.summary_json.write_text(
            json.dumps(_summary_json(session_id, log, results), ensure_ascii=False, indent=2),
            encoding="utf-8",
        )
    if log.exists():
        print_log_link(out, "Saved failure log to ", log)
    else:
        out.print(f"No failed rows in session {session_id}.")
    return status


if __name__ == "__main__":
    sys.exit(main())
