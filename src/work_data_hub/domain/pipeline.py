"""Domain pipelines as named steps; every rejected row is logged exactly once.

A step takes the rows that are still in play (index = source row numbers)
and returns the rows it keeps; rows it does not keep are rejected with the
step's error type. Validation steps may instead raise a pandera error, whose
failing rows are rejected. The runner turns each step's rejects into the
failure-log frame at once, with ``raw_data`` taken from the source rows as
read, and checks conservation: read = kept + rejected, disjoint.

With ``explain=True`` it also says why each row was rejected: the step, the
columns involved and a reason (pandera's failing checks and values, or the
step's own ``why``). The failure log itself never carries reasons; they are
worked out again on demand (see ``domain.rerun``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pandera.errors as pa_errors

from work_data_hub.domain.reasons import (
    pandera_reasons,
    reasons_frame,
)
from work_data_hub.errors import RowConservationError
from work_data_hub.infrastructure.validation import (
    ErrorType,
    dropped_rows,
    pandera_failing_labels,
    to_failed_frame,
)

__all__ = ["PipelineRun", "RowConservationError", "Step", "run_steps"]

StepFunction = Callable[[pd.DataFrame], pd.DataFrame]
#: (rows given to the step, labels it rejected) -> reasons frame for those labels
WhyFunction = Callable[[pd.DataFrame, pd.Index], pd.DataFrame]


@dataclass(frozen=True)
class Step:
    """One named step: ``run`` returns the rows it keeps (possibly transformed).

    ``why`` explains the rows ``run`` dropped (``columns`` and ``reason`` per
    label, see ``reasons_frame``); a step that raises pandera errors needs
    none, the error says why.
    """

    name: str
    error_type: ErrorType
    run: StepFunction
    why: WhyFunction | None = None

    def reasons(self, rows: pd.DataFrame, rejected: pd.Index) -> pd.DataFrame:
        """Why this step rejected ``rejected`` out of ``rows``."""
        if self.why is None:
            return reasons_frame(rejected, "", f"dropped by {self.name}")
        return self.why(rows, rejected).reindex(rejected).fillna(f"dropped by {self.name}")


@dataclass
class PipelineRun:
    """What a pipeline did to one source file."""

    kept: pd.DataFrame
    failures: pd.DataFrame
    rejected_by_step: dict[str, int] = field(default_factory=dict)
    #: with ``explain``: ``step``, ``error_type``, ``columns``, ``reason`` per rejected label
    reasons: pd.DataFrame | None = None

    def failed_by_type(self) -> dict[str, int]:
        counts = self.failures["error_type"].astype(str).value_counts()
        return {e.value: int(counts.get(e.value, 0)) for e in ErrorType}


def _apply(step: Step, rows: pd.DataFrame, *, explain: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run one step; return (kept rows, the rejected rows' reasons frame).

    Without ``explain`` only the frame's index (the rejected labels) means
    anything; its texts are blank: reasons cost time the hot path does not
    spend.
    """
    try:
        kept = step.run(rows)
    except (pa_errors.SchemaErrors, pa_errors.SchemaError) as error:
        if explain:
            reasons = pandera_reasons(error)
        else:
            reasons = reasons_frame(pandera_failing_labels(error), "", "")
        return rows.drop(index=reasons.index), reasons
    unknown = kept.index.difference(rows.index)
    if len(unknown) or not kept.index.is_unique:
        raise RowConservationError(
            f"step {step.name!r} returned rows that were not given to it or twice "
            f"(labels {unknown.tolist()[:5]}): steps may only keep, drop or change rows"
        )
    rejected = dropped_rows(rows, kept).index
    if explain:
        return kept, step.reasons(rows, rejected)
    return kept, reasons_frame(rejected, "", "")


def _failures(
    rejected: pd.DataFrame, parts: Sequence[tuple[pd.Index, ErrorType]], **log: Any
) -> pd.DataFrame:
    """The failure-log frame of the ``rejected`` rows, which are each step's rejects
    (``parts``: labels and error type) in turn: one ``to_failed_frame`` for them all (a
    call's own cost is many times a row's), the error types set after."""
    first = parts[0][1] if parts else ErrorType.VALIDATION_FAILED
    failures = to_failed_frame(rejected, error_type=first, **log)
    if len({error_type for _, error_type in parts}) > 1:
        types = np.repeat(
            [error_type.value for _, error_type in parts], [len(labels) for labels, _ in parts]
        )
        failures["error_type"] = pd.Series(types, index=failures.index).astype(
            failures["error_type"].dtype  # (the log's categories)
        )
    return failures


def _unbalanced(
    raw: pd.DataFrame, rows: pd.DataFrame, logged: pd.Index, source_file: str
) -> RowConservationError:
    return RowConservationError(
        f"{source_file}: {len(raw)} rows read but {len(rows)} kept and {len(logged)} "
        "logged (or a row both): a step lost or duplicated rows",
        source_file=source_file,
    )


def run_steps(
    raw: pd.DataFrame,
    steps: Sequence[Step],
    *,
    session_id: str,
    domain: str,
    source_file: str,
    explain: bool = False,
) -> PipelineRun:
    """Run ``steps`` over ``raw`` (the source as read); log each rejected row once.

    >>> raw = pd.DataFrame({"计划代码": ["P1", "小计", "P2"]})
    >>> not_subtotal = Step("drop_subtotals", ErrorType.DROPPED_IN_PIPELINE,
    ...                     lambda rows: rows[~rows["计划代码"].str.contains("计")])
    >>> run = run_steps(raw, [not_subtotal], session_id="etl_20240101_120000_abcdef",
    ...                 domain="annuity_performance", source_file="a.csv")
    >>> run.kept.index.tolist(), run.failures["row_index"].tolist()
    ([0, 2], [1])
    """
    rows = raw
    stamp = pd.Timestamp.now(tz="UTC")  # one per run: the file's failures are one attempt
    parts: list[tuple[pd.Index, ErrorType]] = []
    why: list[pd.DataFrame] = []
    counts: dict[str, int] = {}
    for step in steps:
        if rows.empty:  # nothing left; later steps may need columns a bad file lacks
            counts[step.name] = 0
            continue
        rows, reasons = _apply(step, rows, explain=explain)
        rejected = reasons.index
        counts[step.name] = len(rejected)
        if explain:
            why.append(reasons.assign(step=step.name, error_type=step.error_type.value))
        if len(rejected):
            parts.append((rejected, step.error_type))
    rejected = parts[0][0].append([labels for labels, _ in parts[1:]]) if parts else raw.index[:0]
    if rejected.has_duplicates:  # (before the log frame, which would refuse them otherwise)
        raise _unbalanced(raw, rows, rejected, source_file)
    failures = _failures(
        raw.loc[rejected],
        parts,
        raw=raw,
        session_id=session_id,
        domain=domain,
        source_file=source_file,
        timestamp=stamp,
    )
    logged = pd.Index(failures["row_index"].astype("int64"))
    if (
        logged.has_duplicates
        or len(logged.intersection(rows.index))
        or (len(logged) + len(rows) != len(raw))
    ):
        raise _unbalanced(raw, rows, logged, source_file)
    explained: pd.DataFrame | None = None
    if explain:
        empty = reasons_frame(pd.Index([], dtype="int64"), "", "").assign(step="", error_type="")
        explained = pd.concat([empty, *why])[["step", "error_type", "columns", "reason"]]
    return PipelineRun(kept=rows, failures=failures, rejected_by_step=counts, reasons=explained)
