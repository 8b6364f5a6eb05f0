"""A realistic synthetic annuity frame, as a reader would give it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from work_data_hub.infrastructure.validation import to_failed_frame

SESSION = "etl_20240301_090000_0a1b2c"

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
CITIES = ["上海", "北京", "广州", "深圳", "杭州", "成都", "南京", "武汉", "西安", "苏州"]
TRADES = ["制造", "科技", "贸易", "能源", "医药", "食品", "物流", "建设", "传媒", "金融"]
BUSINESS_TYPES = ["企年受托", "企年投资", "职年受托", "职年投资"]


def annuity_frame(rows: int, seed: int = 7) -> pd.DataFrame:
    """Return ``rows`` rows of 12 annuity columns: dates, codes, Chinese names,
    floats with NaN, optional strings and ints, with a reader's RangeIndex."""
    rng = np.random.default_rng(seed)
    companies = np.array(
        [f"{c}{s}{t}有限公司" for c in CITIES for s in SURNAMES for t in TRADES], dtype=object
    )
    months = pd.date_range("2023-01-01", periods=24, freq="MS")
    opening = rng.gamma(2.0, 5e6, rows).round(2)
    closing = (opening * rng.normal(1.01, 0.05, rows)).round(2)
    rate = (closing - opening) / opening
    rate[rng.random(rows) < 0.05] = np.nan
    opening[rng.random(rows) < 0.02] = np.nan
    notes = np.where(rng.random(rows) < 0.9, None, "补录，见附件\r\n“说明”")
    portfolio = np.where(rng.random(rows) < 0.3, None, rng.integers(1, 999, rows).astype(str))
    frame = pd.DataFrame(
        {
            "月度": months[rng.integers(0, len(months), rows)],
            "计划代码": np.char.add("P", rng.integers(0, 10_000, rows).astype(str)),
            "客户名称": companies[rng.integers(0, len(companies), rows)],
            "业务类型": np.array(BUSINESS_TYPES, dtype=object)[rng.integers(0, 4, rows)],
            "期初资产规模": opening,
            "期末资产规模": closing,
            "投资收益": (closing - opening).round(2),
            "当期收益率": rate,
            "组合代码": pd.Series(portfolio, dtype="str"),
            "户数": rng.integers(1, 50_000, rows),
            "机构代码": np.char.add("G", rng.integers(100, 999, rows).astype(str)),
            "备注": pd.Series(notes, dtype="str"),
        }
    )
    for column in ("计划代码", "客户名称", "业务类型", "机构代码"):
        frame[column] = frame[column].astype("str")
    return frame


def failed_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Every row of ``frame`` as failure-log rows (as a dropped-rows diff would be)."""
    return to_failed_frame(
        frame,
        session_id=SESSION,
        domain="annuity_performance",
        source_file="2024-03.xlsx",
        error_type="DROPPED_IN_PIPELINE",
    )
