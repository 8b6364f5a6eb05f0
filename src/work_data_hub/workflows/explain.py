"""``explain_failures``: why each logged row fails today, step by step.

Each row is run again through its domain's steps (``domain.rerun``) against
the current reference data; nothing is loaded, logged or created. The row's
verdict is ``fails`` (the first step that rejects it, with the columns and
the reason), ``passes now``, ``already loaded`` (a replay or a later run
put this row in the database), ``superseded`` (the file was loaded again
after this row's load, or its place in the file holds another row now), or
``not run`` (with the reason: its load never committed, an unknown domain,
no row index, a database error).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Final

import pandas as pd

from work_data_hub.infrastructure.validation import generate_session_id
from work_data_hub.workflows.rerun import rerun_failures
from work_data_hub.workflows.workspace import Workspace

__all__ = ["EXPLAIN_COLUMNS", "Verdict", "explain_failures"]


class Verdict(StrEnum):
    """What rerunning a logged row says about it today."""

    FAILS = "fails"
    PASSES_NOW = "passes now"
    ALREADY_LOADED = "already loaded"
    SUPERSEDED = "superseded"
    NOT_RUN = "not run"


#: The columns ``explain_failures`` returns, in order.
EXPLAIN_COLUMNS: Final = (
    "session_id",
    "domain",
    "source_file",
    "row_index",
    "error_type",
    "verdict",
    "step",
    "error_type_now",
    "columns",
    "reason",
)


def explain_failures(
    failures: pd.DataFrame,
    workspace: Workspace,
    *,
    selected: pd.Series | None = None,
    source_dir: Path | None = None,
) -> pd.DataFrame:
    """Return one row per selected failed row: the step that rejects it today and why.

    A row logged more than once (a session that ran its file twice) is
    explained once, by its latest entry. Nothing is loaded, logged or created.

    Args:
        failures: a failure log (``read_failures``). Pass the whole log and
            choose rows with ``selected``: the other rows of the same file
            decide which copy of a duplicate is the first.
        workspace: the database whose loads and reference data count
            (``Workspace.open``, perhaps with a reference folder overlaid).
        selected: a boolean mask over ``failures`` (default: every row).
        source_dir: the folder the logged session read, if known: rows of a file
            changed since its load are not run (``not_run``, with why).

    Columns: ``EXPLAIN_COLUMNS``. ``error_type`` is as logged;
    ``error_type_now``, ``step``, ``columns`` and ``reason`` are empty when
    the row passes now.

    >>> import tempfile
    >>> from work_data_hub.domain import annuity_performance
    >>> from work_data_hub.domain.reference import COMPANIES, PLANS
    >>> from work_data_hub.io.file_loads import FileLoad
    >>> workspace = Workspace.open(f"sqlite:///{tempfile.mkdtemp()}/wdh.db", must_exist=False)
    >>> db = workspace.database
    >>> plans = pd.DataFrame({"计划代码": ["P1"], "计划名称": ["一"]})
    >>> companies = pd.DataFrame({"客户名称": ["甲公司"], "company_id": ["C1"]})
    >>> db.upsert_reference({PLANS: plans, COMPANIES: companies})
    >>> # the run that logged row 17 loaded the rest of its file (none here)
    >>> db.add_domain(annuity_performance.TABLE)
    >>> db.load(pd.DataFrame(), FileLoad("annuity_performance", "2024-03.xlsx",
    ...         "etl_20240401_120000_abcdef", rows_read=1, rows_loaded=0, rows_logged=1))
    0
    >>> row = ('{"月度":"202403","计划代码":"P9","客户名称":"甲公司","期初资产规模":"1",'
    ...        '"期末资产规模":"2","投资收益":"1","当期收益率":"0.5"}')
    >>> log = pd.DataFrame({"session_id": ["etl_20240401_120000_abcdef"],
    ...                     "domain": ["annuity_performance"], "source_file": ["2024-03.xlsx"],
    ...                     "row_index": [17], "error_type": ["FK_CONSTRAINT_VIOLATION"],
    ...                     "raw_data": [row]})
    >>> workspace = Workspace.open(str(db.engine.url))  # its reference data, as loaded now
    >>> explain_failures(log, workspace)[["row_index", "step", "reason"]].to_dict("records")
    [{'row_index': 17, 'step': 'plan_exists', 'reason': "plan code 'P9' is not in plans"}]
    """
    runs = rerun_failures(
        failures,
        workspace,
        selected=selected,
        session_id=generate_session_id(),
        explain=True,
        create_tables=False,
        source_dir=source_dir,
    )
    parts = []
    for rerun in runs:
        logged = rerun.logged
        verdicts = pd.DataFrame(index=logged.index, columns=list(EXPLAIN_COLUMNS[5:]), dtype="str")
        if rerun.error is not None:
            verdicts["verdict"] = Verdict.NOT_RUN
            verdicts["reason"] = rerun.error
            parts.append(pd.concat([logged[list(EXPLAIN_COLUMNS[:5])], verdicts], axis=1))
            continue
        verdicts["verdict"] = Verdict.PASSES_NOW
        if rerun.run is not None and rerun.run.reasons is not None:
            reasons = rerun.run.reasons
            failing = reasons.index.intersection(rerun.todo)
            verdicts.loc[failing, "verdict"] = Verdict.FAILS
            for column, source in (
                ("step", "step"),
                ("error_type_now", "error_type"),
                ("columns", "columns"),
                ("reason", "reason"),
            ):
                verdicts.loc[failing, column] = reasons.loc[failing, source]
        slots = rerun.slots
        same, other = slots.index[slots["same_row"]], slots.index[~slots["same_row"]]
        verdicts.loc[same, "verdict"] = Verdict.ALREADY_LOADED
        verdicts.loc[same, "reason"] = "loaded by session " + slots.loc[same, "session_id"]
        verdicts.loc[other, "verdict"] = Verdict.SUPERSEDED
        verdicts.loc[other, "reason"] = (
            "its place in the file holds another row, loaded by session "
            + slots.loc[other, "session_id"]
            + ": the file changed and was loaded again"
        )
        verdicts.loc[rerun.superseded.index, "verdict"] = Verdict.SUPERSEDED
        verdicts.loc[rerun.superseded.index, "reason"] = rerun.superseded
        verdicts.loc[rerun.not_run.index, "verdict"] = Verdict.NOT_RUN
        verdicts.loc[rerun.not_run.index, "reason"] = rerun.not_run
        parts.append(pd.concat([logged[list(EXPLAIN_COLUMNS[:5])], verdicts], axis=1))
    if not parts:
        return pd.DataFrame(columns=list(EXPLAIN_COLUMNS))
    explained = pd.concat(parts, ignore_index=True)
    # files in the order the log names them, rows in source order
    return explained[list(EXPLAIN_COLUMNS)]
