from tests.helpers import write_log
from work_data_hub.analysis import summarize
from work_data_hub.infrastructure.validation import read_failures

SESSION = "etl_20240302_090000_bbbbbb"


def test_counts_by_domain_file_and_type_with_totals(tmp_path, raw):
    path = write_log(
        tmp_path,
        SESSION,
        [
            ("annuity_performance", "b.xlsx", "ENRICHMENT_FAILED", raw.iloc[:3]),
            ("annuity_performance", "b.xlsx", "FK_CONSTRAINT_VIOLATION", raw.iloc[3:4]),
            ("annuity_income", "c.csv", "DROPPED_IN_PIPELINE", raw.iloc[4:]),
        ],
    )
    summary = summarize(read_failures(path))
    assert summary.index.tolist() == [
        ("annuity_income", "c.csv"),
        ("annuity_performance", "b.xlsx"),
        ("total", ""),
    ]
    assert summary.columns.tolist() == [
        "VALIDATION_FAILED",
        "DROPPED_IN_PIPELINE",
        "ENRICHMENT_FAILED",
        "FK_CONSTRAINT_VIOLATION",
        "total",
    ]
    assert summary.loc[("annuity_performance", "b.xlsx")].tolist() == [0, 0, 3, 1, 4]
    assert summary.loc[("total", "")].tolist() == [0, 1, 3, 1, 5]


def test_empty_log_summarises_to_zero_totals(tmp_path):
    import pandas as pd

    empty = pd.DataFrame({"domain": [], "source_file": [], "error_type": []}, dtype=str)
    summary = summarize(empty)
    assert summary.loc[("total", "")].tolist() == [0, 0, 0, 0, 0]
