"""Real failure logs in tmp_path for the analysis tests."""

from __future__ import annotations

import pandas as pd
import pytest


@pytest.fixture
def raw() -> pd.DataFrame:
    return pd.DataFrame(
        {"计划代码": ["P1", "P2", "P3", "P4", "P5"], "客户名称": ["甲", "乙", "丙", "丁", "戊"]}
    )
