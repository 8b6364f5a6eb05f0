"""The annuity pipelines: each kind of bad row is logged once, at its step."""

import json

import pandas as pd
import pytest

from tests.helpers import SESSION
from work_data_hub.domain import annuity_income, annuity_performance
from work_data_hub.domain.pipeline import RowConservationError, Step, run_steps
from work_data_hub.domain.reference import Reference
from work_data_hub.domain.spec import NOTHING_LOADED
from work_data_hub.infrastructure.validation import ErrorType

REFERENCE = Reference(
    {
        "plans": pd.DataFrame(
            {"计划代码": ["P0012", "P0013", "P0014"], "计划名称": ["一", "二", "三"]}
        ),
        "company_mapping": pd.DataFrame(
            {
                "客户名称": ["上海浦江制造有限公司", "北京长城科技（集团）有限公司"],
                "company_id": ["C1", "C2"],
            }
        ),
    }
)

PERFORMANCE = pd.DataFrame(
    {
        "月度": [
            "202403",
            "2024-03",
            "2024年3月",
            "bad",
            "202403",
            "202403",
            "202403",
            "202403",
            "202403",
            "202403",
        ],
        "计划代码": [
            "P0012",
            "P0013",
            "P0012",
            "P0012",
            "合计",
            "P0012",
            "P0099",
            "",
            "P0012",
            "P0013",
        ],
        "客户名称": [
            "上海浦江制造有限公司",
            " 北京长城科技(集团)有限公司 ",
            "未知公司",
            "上海浦江制造有限公司",
            "",
            "上海浦江制造有限公司",
            "上海浦江制造有限公司",
            "上海浦江制造有限公司",
            "上海浦江制造有限公司",
            "上海浦江制造有限公司",
        ],
        "期初资产规模": ["100", "1,000.5", "5", "1", "999", "100", "3", "1", "-5", "abc"],
        "期末资产规模": ["110", "1001", "6", "1", "999", "110", "4", "1", "1", "2"],
        "投资收益": ["10", "0.5", "1", "0", "", "10", "1", "0", "0", "0"],
        "当期收益率": ["0.1", "0.0005", "0.2", "0", "", "0.1", "0.33", "0", "0", "0"],
        "备注": ["", "全角名称", "", "", "", "与第0行重复", "", "", "", ""],
    }
)


def _run(raw, domain):
    return run_steps(
        raw,
        domain.steps(REFERENCE, NOTHING_LOADED),
        session_id=SESSION,
        domain=domain.NAME,
        source_file="2024-03.csv",
    )


def test_performance_rows_are_loaded_or_logged_once_at_the_right_step():
    run = _run(PERFORMANCE, annuity_performance)
    by_row = dict(
        zip(run.failures["row_index"], run.failures["error_type"].astype(str), strict=True)
    )
    assert by_row == {
        3: "VALIDATION_FAILED",  # month 'bad'
        7: "VALIDATION_FAILED",  # blank plan code
        8: "VALIDATION_FAILED",  # negative opening assets
        9: "VALIDATION_FAILED",  # amount 'abc'
        4: "DROPPED_IN_PIPELINE",  # subtotal
        2: "ENRICHMENT_FAILED",  # unknown customer
        6: "FK_CONSTRAINT_VIOLATION",  # plan P0099 not in plans
    }
    # row 5 differs from row 0 only in 备注, so it is not a duplicate
    assert run.kept.index.tolist() == [0, 1, 5]
    assert run.kept["company_id"].tolist() == ["C1", "C2", "C1"]  # full-width name matched
    assert run.kept["月度"].astype(str).tolist() == ["2024-03-01"] * 3
    assert run.kept.loc[1, "期初资产规模"] == 1000.5
    assert run.failed_by_type() == {
        "VALIDATION_FAILED": 4,
        "DROPPED_IN_PIPELINE": 1,
        "ENRICHMENT_FAILED": 1,
        "FK_CONSTRAINT_VIOLATION": 1,
    }
    # raw_data is the row as read, not the standardised one
    logged = json.loads(run.failures.set_index("row_index").loc[2, "raw_data"])
    assert logged["月度"] == "2024年3月"


def test_exact_duplicates_keep_the_first():
    raw = pd.concat([PERFORMANCE.iloc[[0]], PERFORMANCE.iloc[[0]]], ignore_index=True)
    run = _run(raw, annuity_performance)
    assert run.kept.index.tolist() == [0]
    assert run.failures["row_index"].tolist() == [1]
    assert run.failures["error_type"].astype(str).tolist() == ["DROPPED_IN_PIPELINE"]
    assert run.rejected_by_step["drop_duplicates"] == 1


def test_missing_required_column_fails_every_row_once():
    run = _run(PERFORMANCE.drop(columns="期末资产规模"), annuity_performance)
    assert run.kept.empty
    assert sorted(run.failures["row_index"]) == list(range(len(PERFORMANCE)))
    assert set(run.failures["error_type"].astype(str)) == {"VALIDATION_FAILED"}


def test_income_business_type_must_be_known():
    raw = pd.DataFrame(
        {
            "月度": ["202403", "202403"],
            "计划代码": ["P0012", "P0012"],
            "客户名称": ["上海浦江制造有限公司", "上海浦江制造有限公司"],
            "业务类型": ["企年受托", "其他"],
            "固费": ["1", "1"],
            "浮费": ["2", "2"],
            "回补": ["0", "0"],
            "税": ["0.1", "0.1"],
        }
    )
    run = _run(raw, annuity_income)
    assert run.kept.index.tolist() == [0]
    assert run.failures["row_index"].tolist() == [1]
    assert run.failures["error_type"].astype(str).tolist() == ["VALIDATION_FAILED"]


def test_a_step_that_invents_rows_is_refused():
    def invent(rows):
        return pd.concat([rows, rows.iloc[:1].set_axis([999])])

    with pytest.raises(RowConservationError, match="not given to it"):
        run_steps(
            PERFORMANCE,
            [Step("invent", ErrorType.DROPPED_IN_PIPELINE, invent)],
            session_id=SESSION,
            domain="d",
            source_file="f",
        )
