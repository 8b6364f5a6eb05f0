"""Work units: one source file of one domain, as worker processes and clusters run them.

A run over worker processes (``--jobs``) or a Dask cluster (``--scheduler``)
plans its units here, in the order of the domains' listings, and hands them
out largest first (``largest_first``); each worker
opens the database and reference data once per run; the results come back
into one ``DomainResult`` per domain, files in listing order, whatever order
they finished in.

>>> import tempfile
>>> from pathlib import Path
>>> plan = plan_units(["annuity_performance"], Path("nowhere"), f"sqlite:///{tempfile.mkdtemp()}/w.db")
>>> plan.units, plan.results["annuity_performance"].error
([], 'no source folder nowhere/annuity_performance for domain annuity_performance')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from work_data_hub.domain.registry import DOMAINS
from work_data_hub.io.database import Database, sqlite_file
from work_data_hub.io.sources import list_sources, parse_size
from work_data_hub.workflows._resume import EarlierEntries, files_gone
from work_data_hub.workflows.run import DomainResult, FileResult, describe_error
from work_data_hub.workflows.workspace import Workspace

__all__ = [
    "Plan",
    "Unit",
    "WorkerRun",
    "absolute_sqlite",
    "collect",
    "largest_first",
    "plan_units",
    "worker_workspace",
]


@dataclass(frozen=True)
class Unit:
    """One source file of one domain; ``order``: its place among the run's files;
    ``size``: the bytes its read parses (``io.sources.parse_size``)."""

    order: int
    domain: str
    path: Path
    size: int


def largest_first(units: list[Unit]) -> list[Unit]:
    """The order to hand ``units`` out in: the largest first, so that no large file
    starts last while the other workers run out of work (ties in listing order).

    >>> units = [Unit(0, "d", Path("a.csv"), 10), Unit(1, "d", Path("b.xlsx"), 900)]
    >>> [unit.path.name for unit in largest_first(units)]
    ['b.xlsx', 'a.csv']
    """
    return sorted(units, key=lambda unit: (-unit.size, unit.order))


@dataclass
class Plan:
    """The run's units, and a result per domain (its error, if it cannot run)."""

    results: dict[str, DomainResult]
    units: list[Unit] = field(default_factory=list)


def plan_units(
    domains: list[str],
    source_dir: Path,
    db_url: str,
    *,
    earlier: Mapping[str, EarlierEntries | None] | None = None,
) -> Plan:
    """List each domain's files (absolute paths) and make its table before any worker
    loads; a domain that cannot (no folder, a locked database, an old table) is that
    domain's error. ``earlier``: per domain, what the session run again logged
    before; its files gone from the folder since are errors (``files_gone``)."""
    plan = Plan({domain: DomainResult(domain) for domain in domains})
    for domain in domains:
        result = plan.results[domain]
        try:
            listing = list_sources(source_dir, domain)
            result.skipped = listing.skipped
            database = Database(db_url)
            database.add_domain(DOMAINS[domain].table)
            entries = None if earlier is None else earlier.get(domain)
            gone = {} if entries is None else files_gone(
                entries, listing.files, DOMAINS[domain], database, source_dir / domain
            )  # fmt: skip
        except Exception as error:  # any failure of the domain is the domain's error
            result.error, result.detail = describe_error(error)
            continue
        result.files += [FileResult.of_error(path, error) for path, error in gone.items()]
        plan.units += [
            Unit(len(plan.units) + n, domain, path.absolute(), parse_size(path))
            for n, path in enumerate(listing.files)
        ]
    return plan


def collect(plan: Plan, done: dict[Unit, list[FileResult]]) -> list[DomainResult]:
    """The domains' results, each file's in the order of the listings."""
    for unit in sorted(done, key=lambda unit: unit.order):
        plan.results[unit.domain].files.extend(done[unit])
    return list(plan.results.values())


def absolute_sqlite(db_url: str) -> str:
    """``db_url`` with a relative SQLite file made absolute: a worker's working folder
    need not be the client's.

    >>> absolute_sqlite("postgresql+psycopg://wdh@db/wdh")
    'postgresql+psycopg://wdh@db/wdh'
    """
    file = sqlite_file(db_url)
    if file is None or file.is_absolute():
        return db_url
    return make_url(db_url).set(database=str(file.absolute())).render_as_string(False)


@dataclass(frozen=True)
class WorkerRun:
    """What every unit of one ``wdh-etl`` run shares, as its workers see it."""

    session_id: str
    #: the database as the workers reach it (``absolute_sqlite``)
    db_url: str
    resume: bool
    #: this run, among the runs a long-lived worker serves
    tag: str
    #: where workers that share the client's disk append the log (None: the client does)
    logs_dir: Path | None = None


#: A worker's database and reference data for the run it serves: the reference data
#: is upserted before the run's first unit and not changed during it (a later run,
#: even of the same session, may have changed it: it reads it again).
_WORKSPACES: dict[WorkerRun, Workspace] = {}


def worker_workspace(run: WorkerRun, domain: str) -> Workspace:
    """The run's database (with ``domain``'s table declared) and reference data, opened
    once per worker process and run."""
    if run not in _WORKSPACES:
        _WORKSPACES.clear()  # one run at a time per worker
        _WORKSPACES[run] = Workspace.open(run.db_url)
    workspace = _WORKSPACES[run]
    workspace.database.add_domain(DOMAINS[domain].table, create=False)
    return workspace
