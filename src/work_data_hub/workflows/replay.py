"""``replay_failures``: logged rows back through their domains, in a new session.

Rows that pass now are added to their domain table with their original
lineage (source file and row), the new session's id and ``replayed_from``
(the session whose log held them). Rows that still fail are logged in the
new session's failure log, again with their original source file and row,
so that log can be explained and replayed in turn. Rows whose place in
their file is taken in the database are skipped (``already_loaded``):
replaying a log twice loads nothing twice. Only rows of a file's current
load are replayed (the ledger, ``io.file_loads``): rows whose load never
committed, or was superseded by a later run of the file, are ``not_run``
with the reason. Rows that cannot be run, and files whose load fails, are
counted as ``not_run`` and reported in ``errors``; the other files still
replay. Each file's replay is recorded in the ledger with its rows, so a
replay's own log can be replayed in turn. A source file changed since its
load (when the logged session's source folder is known) replays nothing:
its rows are ``not_run``, and running the file again is the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import pandas as pd
from sqlalchemy.exc import SQLAlchemyError

from work_data_hub.errors import WorkDataHubError
from work_data_hub.infrastructure.validation import ErrorType, FailureExporter
from work_data_hub.workflows.rerun import rerun_failures
from work_data_hub.workflows.workspace import Workspace

__all__ = ["Outcome", "ReplayResult", "replay_failures"]


class Outcome(StrEnum):
    """Per domain and logged error type: rows selected, and what became of them (the
    columns of ``ReplayResult.counts``, in this order)."""

    SELECTED = "selected"
    FIXED = "fixed"
    STILL_FAILING = "still_failing"
    ALREADY_LOADED = "already_loaded"
    NOT_RUN = "not_run"


@dataclass
class ReplayResult:
    """What a replay did: counts per (domain, logged error type), and file errors."""

    session_id: str
    replayed_from: str
    log: Path
    counts: pd.DataFrame
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def fixed(self) -> int:
        return int(self.counts["fixed"].sum())


def _tally(logged: pd.Series, outcome: Outcome, counts: dict[tuple[str, str, str], int]) -> None:
    for error_type, number in logged.value_counts().items():
        key = (str(logged.name), str(error_type), outcome.value)
        counts[key] = counts.get(key, 0) + int(number)


def _counts_frame(counts: dict[tuple[str, str, str], int]) -> pd.DataFrame:
    if not counts:
        index = pd.MultiIndex.from_tuples([], names=["domain", "error_type"])
        return pd.DataFrame({c.value: pd.Series([], dtype="int64") for c in Outcome}, index=index)
    frame = pd.DataFrame(
        [(*key, rows) for key, rows in counts.items()],
        columns=["domain", "error_type", "outcome", "rows"],
    )
    table = frame.pivot_table(
        index=["domain", "error_type"], columns="outcome", values="rows", aggfunc="sum"
    )
    table = table.reindex(columns=[c.value for c in Outcome]).fillna(0).astype("int64")
    table.columns.name = None
    # domains in the log's order, error types in ErrorType's
    order = {e.value: n for n, e in enumerate(ErrorType)}
    order |= {domain: n for n, domain in enumerate(dict.fromkeys(key[0] for key in counts))}
    return table.sort_index(key=lambda level: level.map(order))


def replay_failures(
    failures: pd.DataFrame,
    workspace: Workspace,
    *,
    session_id: str,
    logs_dir: Path,
    selected: pd.Series | None = None,
    source_dir: Path | None = None,
) -> ReplayResult:
    """Replay the ``selected`` rows (default: all) of one session's log as ``session_id``.

    ``failures`` is the whole log (``read_failures``): rows of the same source
    file that are not selected still decide which copy of a duplicate is the
    first. ``workspace``: the database to load into, and the reference data to
    check against now. ``source_dir``: the folder the logged session read, if
    known: rows of a file changed since its load are not run (``rerun_failures``).

    >>> import tempfile
    >>> from work_data_hub.domain import annuity_performance
    >>> from work_data_hub.domain.reference import COMPANIES, PLANS
    >>> from work_data_hub.io.file_loads import FileLoad
    >>> folder = Path(tempfile.mkdtemp())
    >>> workspace = Workspace.open(f"sqlite:///{folder}/wdh.db", must_exist=False)
    >>> db = workspace.database
    >>> plans = pd.DataFrame({"计划代码": ["P1"], "计划名称": ["一"]})
    >>> companies = pd.DataFrame({"客户名称": ["甲公司"], "company_id": ["C1"]})
    >>> db.upsert_reference({PLANS: plans, COMPANIES: companies})
    >>> # the run that logged row 17 loaded the rest of its file (none here)
    >>> db.add_domain(annuity_performance.TABLE)
    >>> db.load(pd.DataFrame(), FileLoad("annuity_performance", "2024-03.xlsx",
    ...         "etl_20240401_120000_abcdef", rows_read=1, rows_loaded=0, rows_logged=1))
    0
    >>> row = ('{"月度":"202403","计划代码":"P1","客户名称":"甲公司","期初资产规模":"1",'
    ...        '"期末资产规模":"2","投资收益":"1","当期收益率":"0.5"}')
    >>> log = pd.DataFrame({"session_id": ["etl_20240401_120000_abcdef"],
    ...                     "domain": ["annuity_performance"], "source_file": ["2024-03.xlsx"],
    ...                     "row_index": [17], "error_type": ["FK_CONSTRAINT_VIOLATION"],
    ...                     "raw_data": [row]})
    >>> result = replay_failures(log, Workspace.open(str(db.engine.url)),
    ...                          session_id="etl_20240402_090000_fedcba", logs_dir=folder)
    >>> result.counts.reset_index().to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'domain': 'annuity_performance', 'error_type': 'FK_CONSTRAINT_VIOLATION',
      'selected': 1, 'fixed': 1, 'still_failing': 0, 'already_loaded': 0, 'not_run': 0}]
    >>> db.rows("annuity_performance")[["source_file", "row_index", "replayed_from"]].values
    array([['2024-03.xlsx', 17, 'etl_20240401_120000_abcdef']], dtype=object)
    """
    if selected is None:
        selected = pd.Series(True, index=failures.index)
    replayed_from = ", ".join(sorted(failures.loc[selected, "session_id"].astype(str).unique()))
    exporter = FailureExporter(session_id, logs_dir)
    counts: dict[tuple[str, str, str], int] = {}
    errors: dict[str, str] = {}
    database = workspace.database
    runs = rerun_failures(
        failures, workspace, selected=selected, session_id=session_id, source_dir=source_dir
    )
    for rerun in runs:
        logged_type = rerun.logged["error_type"].astype(str).rename(rerun.domain)
        _tally(logged_type, Outcome.SELECTED, counts)
        where = f"{rerun.domain}/{rerun.source_file}"
        if rerun.error is not None:
            _tally(logged_type, Outcome.NOT_RUN, counts)
            errors[where] = rerun.error
            continue
        _tally(logged_type.loc[rerun.slots.index], Outcome.ALREADY_LOADED, counts)
        reasons = pd.concat([rerun.not_run, rerun.superseded])
        _tally(logged_type.loc[reasons.index], Outcome.NOT_RUN, counts)
        if len(reasons):
            errors[where] = f"{len(reasons)} rows not run: {reasons.iloc[0]}"
        if rerun.load_session is None or rerun.todo.empty:
            continue
        still = rerun.failures_selected()
        kept = rerun.kept_selected()
        try:
            if still is not None and len(still):
                exporter.export(still)
        except (WorkDataHubError, OSError) as error:
            _tally(logged_type.loc[rerun.todo], Outcome.NOT_RUN, counts)
            errors[where] = f"nothing replayed: {' '.join(str(error).split())}"
            continue
        if still is not None:
            _tally(
                logged_type.loc[still["row_index"].astype("int64")], Outcome.STILL_FAILING, counts
            )
        try:
            added = database.add_replayed(
                rerun.domain,
                kept,
                source_file=rerun.source_file,
                session_id=session_id,
                replayed_from=rerun.logged.loc[kept.index, "session_id"].astype(str),
                load_session=rerun.load_session,
                rows_logged=0 if still is None else len(still),
            )
        except (WorkDataHubError, SQLAlchemyError) as error:
            _tally(logged_type.loc[kept.index], Outcome.NOT_RUN, counts)
            errors[where] = f"fixed rows not loaded: {' '.join(str(error).split())}"
            continue
        _tally(logged_type.loc[added], Outcome.FIXED, counts)
        # rows whose slot another run filled between the rerun and the insert
        _tally(logged_type.loc[kept.index.difference(added)], Outcome.ALREADY_LOADED, counts)
    return ReplayResult(
        session_id=session_id,
        replayed_from=replayed_from,
        log=exporter.output_file,
        counts=_counts_frame(counts),
        errors=errors,
    )
