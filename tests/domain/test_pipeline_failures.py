"""A file's failure-log frame: every rejected row once, in step order, each with its own
step's error type and its raw row as read; the same frame as one log frame per step."""

import pandas as pd

from tests.helpers import SESSION
from work_data_hub.domain.pipeline import Step, run_steps
from work_data_hub.infrastructure.validation import ErrorType, to_failed_frame

RAW = pd.DataFrame(
    {"code": ["P1", "x", "小计", "P2", "y", "P3", "z"], "n": [1, 2, 3, 4, 5, 6, 7]},
    index=[10, 3, 7, 0, 5, 8, 2],
)
STEPS = [
    Step("subtotals", ErrorType.DROPPED_IN_PIPELINE, lambda r: r[r["code"] != "小计"]),
    Step("enrich", ErrorType.ENRICHMENT_FAILED, lambda r: r[~r["code"].isin(["x", "z"])]),
    Step("exists", ErrorType.FK_CONSTRAINT_VIOLATION, lambda r: r[r["code"] != "y"]),
    Step("late", ErrorType.DROPPED_IN_PIPELINE, lambda r: r[r["n"] != 6]),
]
LOG = {"session_id": SESSION, "domain": "annuity_performance", "source_file": "a.csv"}


def test_rejected_rows_are_logged_in_step_order_with_their_steps_types():
    run = run_steps(RAW, STEPS, **LOG)
    assert run.kept.index.tolist() == [10, 0]
    assert run.failures["row_index"].tolist() == [7, 3, 2, 5, 8]
    assert run.failures["error_type"].astype(str).tolist() == [
        "DROPPED_IN_PIPELINE",
        "ENRICHMENT_FAILED",
        "ENRICHMENT_FAILED",
        "FK_CONSTRAINT_VIOLATION",
        "DROPPED_IN_PIPELINE",
    ]
    stamp = run.failures["timestamp"].iloc[0]
    assert (run.failures["timestamp"] == stamp).all()  # one attempt, one timestamp
    per_step = pd.concat(
        [
            to_failed_frame(RAW.loc[labels], raw=RAW, error_type=kind, timestamp=stamp, **LOG)
            for labels, kind in (
                ([7], ErrorType.DROPPED_IN_PIPELINE),
                ([3, 2], ErrorType.ENRICHMENT_FAILED),
                ([5], ErrorType.FK_CONSTRAINT_VIOLATION),
                ([8], ErrorType.DROPPED_IN_PIPELINE),
            )
        ],
        ignore_index=True,
    )
    pd.testing.assert_frame_equal(run.failures, per_step)


def test_a_run_without_rejects_logs_an_empty_frame_of_the_log_columns():
    run = run_steps(RAW.iloc[:1], STEPS, **LOG)  # P1: kept by every step
    assert run.failures.empty
    empty = to_failed_frame(RAW.iloc[:0], error_type=ErrorType.VALIDATION_FAILED, **LOG)
    pd.testing.assert_frame_equal(run.failures, empty)
