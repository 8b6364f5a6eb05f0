"""``wdh-etl``'s arguments: the parser, and the checks made before any work.

A bad argument is said in one line and exits 2 in a fraction of a second:
these checks import only the standard library and SQLAlchemy's URL parser,
never the domains' schemas (pandera) nor the data stack (pandas).
"""

from __future__ import annotations

import argparse
import os
import pkgutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Final
from urllib.parse import unquote

__all__ = [
    "DEFAULT_DB_FILE",
    "bad_arguments",
    "database_problem",
    "domain_names",
    "parse",
    "summary_json_problem",
]

#: The SQLite file of ``io.database.DEFAULT_DB``, for help texts that must not import it.
DEFAULT_DB_FILE: Final = "data/wdh.db"

#: What to install for a database driver that is missing, by the module it imports.
_INSTALL: Final = {
    "psycopg": 'pip install -e ".[postgres]"',
    "psycopg2": "pip install psycopg2-binary, or use postgresql+psycopg:// after "
    'pip install -e ".[postgres]"',
}
#: The databases the loads and replays are written for (``INSERT ... ON CONFLICT``).
_SUPPORTED: Final = ("sqlite", "postgresql")


def domain_names() -> tuple[str, ...]:
    """The domains, one subpackage of ``work_data_hub.domain`` each, found without
    importing them (their schemas import pandera). The registry stays the authority:
    a name found here that it lacks is still refused once the run imports it.

    >>> domain_names()
    ('annual_award', 'annuity_income', 'annuity_performance')
    """
    from work_data_hub import domain

    return tuple(sorted(m.name for m in pkgutil.iter_modules(domain.__path__) if m.ispkg))


def database_problem(url: str) -> str | None:
    """Why ``url`` cannot be the database (a bad URL, a database the loads are not
    written for, a driver that is not installed), or None; nothing is connected to.

    >>> database_problem("sqlite:///data/wdh.db") is None
    True
    >>> database_problem("notaurl")
    "--db 'notaurl' is not a database URL: give one like sqlite:///data/wdh.db or ..."
    >>> database_problem("mysql://wdh:secret@db/wdh")
    '--db mysql://wdh:***@db/wdh: loads and replays are written for SQLite and PostgreSQL ...'
    >>> database_problem("sqlite://")
    '--db sqlite://: an in-memory SQLite database keeps nothing after the run...'
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return (
            f"--db {url!r} is not a database URL: give one like sqlite:///{DEFAULT_DB_FILE} "
            "or postgresql+psycopg://user@host/database"
        )
    shown = parsed.render_as_string(hide_password=True)
    try:
        dialect = parsed.get_dialect()
    except NoSuchModuleError:
        return f"--db {shown}: SQLAlchemy knows no database {parsed.drivername!r}"
    if dialect.name not in _SUPPORTED:
        return (
            f"--db {shown}: loads and replays are written for SQLite and PostgreSQL "
            f'(pip install -e ".[postgres]"), not {dialect.name}'
        )
    if getattr(dialect, "is_async", False):
        return f"--db {shown}: {dialect.driver} is an asyncio driver; use postgresql+psycopg://"
    if dialect.name == "sqlite" and _in_memory(parsed.database, parsed.query):
        return (
            f"--db {unquote(shown)}: an in-memory SQLite database keeps nothing after the run, and "
            f"each connection sees its own: name a file, e.g. sqlite:///{DEFAULT_DB_FILE}"
        )
    if dialect.name == "sqlite":
        from work_data_hub.io._sqlite import wait_seconds

        try:
            wait_seconds(url)
        except ValueError as error:
            return f"--db {shown}: {error}"
    try:
        dialect.import_dbapi()
    except ImportError as error:
        module = error.name or dialect.driver
        install = _INSTALL.get(module, f"pip install {module}")
        return f"--db {shown}: its driver {module} is not installed: {install}"
    return None


def _in_memory(database: str | None, query: Mapping[str, object]) -> bool:
    """Whether an SQLite URL's database is in memory: none, ``:memory:``, or a URI
    (``?uri=true``) for ``file::memory:`` or with ``mode=memory``.

    >>> _in_memory(":memory:", {}), _in_memory("file:x", {"uri": "true", "mode": "memory"})
    (True, True)
    """
    if database in (None, "", ":memory:"):
        return True
    uri = str(query.get("uri", "")).lower() in ("true", "1")
    return uri and (str(database).startswith("file::memory:") or query.get("mode") == "memory")


def _parser() -> argparse.ArgumentParser:
    from work_data_hub.cli import replay  # which checks its --db here too

    parser = argparse.ArgumentParser(
        prog="wdh-etl",
        usage="wdh-etl (--domain NAME [--domain NAME ...] | --all-domains) [options]\n"
        "       wdh-etl replay [SESSION|FILE] [options]",
        description="Run domain pipelines over source files into a database.",
        epilog="wdh-etl replay [SESSION|FILE]: run a session's failed rows again once their "
        "cause is fixed (wdh-etl replay --help)",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--domain",
        action="append",
        metavar="NAME",
        help=f"repeatable; one of {', '.join(domain_names())}",
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
        help="folder with plans.csv, company_mapping.csv and branches.csv "
        "(default: <source>/reference)",
    )
    parser.add_argument(
        "--db", help=f"SQLAlchemy URL (default: sqlite:///{DEFAULT_DB_FILE})", metavar="URL"
    )
    parser.add_argument("--logs-dir", type=Path, default=Path("logs"), help="default: logs")
    parser.add_argument("--session-id", help="append to this existing session (a resume)")
    parser.add_argument(
        "--jobs", type=int, default=1, help="run the source files in N worker processes"
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run each source file as a task on a Dask cluster: tcp://HOST:8786 (a running "
        "scheduler; sources at the same path on every worker, a PostgreSQL --db) or local:N "
        "(N worker processes here, for the run); needs the dask extra",
    )
    parser.add_argument("--plain", action="store_true", help="no colour, links or progress")
    parser.add_argument("--summary-json", type=Path, help="write a machine-readable summary")
    parser.add_argument(
        "--debug", action="store_true", help="print tracebacks of unexpected errors on stderr"
    )
    commands = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")
    replay.add_arguments(
        commands.add_parser(
            "replay",
            prog="wdh-etl replay",
            help="run a session's failed rows again, once their cause is fixed",
            description="A session's failed rows through their domains again, in a new session.",
        )
    )
    return parser


def parse(argv: list[str]) -> argparse.Namespace:
    """The arguments; bad ones end the process with status 2 (argparse's way)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is not None:
        if argv[:1] != [args.command]:  # else the run's options would be silently dropped
            parser.error(f"options go after the command: wdh-etl {args.command} [options]")
        return args
    if not (args.domain or args.all_domains):
        parser.error("one of the arguments --domain --all-domains is required")
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if args.jobs != 1 and args.scheduler is not None:
        parser.error("--jobs and --scheduler: give one (local:N runs N worker processes)")
    return args


def bad_arguments(args: argparse.Namespace) -> str | None:
    """Why the arguments cannot run (checked before any work), or None."""
    known = domain_names()
    for name in args.domain or ():
        if name not in known:
            return f"unknown domain {name!r}; known: {', '.join(known)}"
    if args.db is not None and (problem := database_problem(args.db)):
        return problem
    if args.scheduler is not None and (problem := _scheduler_problem(args)):
        return problem
    if args.session_id is not None:
        from work_data_hub.errors import InvalidSessionIdError
        from work_data_hub.infrastructure.validation.session import validate_session_id

        try:
            validate_session_id(args.session_id)
        except InvalidSessionIdError as error:
            return str(error)
    return _writable_outputs(args)


def _installed(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it."""
    from importlib.util import find_spec

    if module in sys.modules:
        return sys.modules[module] is not None
    return find_spec(module) is not None


def _scheduler_problem(args: argparse.Namespace) -> str | None:
    """Why ``--scheduler`` cannot run with these arguments, or None (nothing is started)."""
    if not _installed("distributed"):
        return '--scheduler needs Dask: pip install -e ".[dask]"'
    from work_data_hub.io.scheduler import parse_scheduler, workers_can_share

    try:
        parse_scheduler(args.scheduler)
    except ValueError as error:
        return str(error)
    if not workers_can_share(args.scheduler, args.db or f"sqlite:///{DEFAULT_DB_FILE}"):
        return (
            f"--scheduler {args.scheduler} with an SQLite database: workers on other hosts "
            "cannot share an SQLite file; give a PostgreSQL --db, or --scheduler local:N"
        )
    return None


def _writable_outputs(args: argparse.Namespace) -> str | None:
    """Why an output of the run cannot be written (checked before any work), or None."""
    try:
        args.logs_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        return f"--logs-dir {args.logs_dir}: cannot create it ({error.strerror})"
    if not os.access(args.logs_dir, os.W_OK | os.X_OK):
        return f"--logs-dir {args.logs_dir} is not writable"
    if args.summary_json is not None:
        return summary_json_problem(args.summary_json)
    return None


def summary_json_problem(target: Path) -> str | None:
    """Why ``--summary-json`` cannot be written at ``target`` (checked before any work;
    nothing is created), or None.

    >>> summary_json_problem(Path("L" * 300 + ".json"))
    '--summary-json LLL...: cannot be written there (File name too long)'
    """
    try:
        if target.is_dir():
            return f"--summary-json {target} is a folder: name a file"
        if not target.parent.is_dir():
            return f"--summary-json {target}: no folder {target.parent}"
        if not os.access(target.parent, os.W_OK | os.X_OK) or (
            target.exists() and not os.access(target, os.W_OK)
        ):
            return f"--summary-json {target} is not writable"
    except OSError as error:  # a name too long for the file system, a loop of links
        return f"--summary-json {target}: cannot be written there ({error.strerror})"
    return None
