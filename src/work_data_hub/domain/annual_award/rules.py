"""The rules of awarded mandates: business types, product lines, plan types and numbers.

All vectorised over a column; each returns a Series aligned with its input.
"""

from __future__ import annotations

from typing import Final

import pandas as pd

__all__ = [
    "BUSINESS_TYPES",
    "DEFAULT_PLANS",
    "PLAN_TYPES",
    "PRODUCT_LINES",
    "business_type",
    "default_plan",
    "plan_type",
    "product_line",
]

#: What a report may say -> the canonical business type.
BUSINESS_TYPES: Final = {
    "受托": "企年受托",
    "投资": "企年投资",
    "投管": "企年投资",
    "企年受托": "企年受托",
    "企年投资": "企年投资",
}
#: The product line of each canonical business type.
PRODUCT_LINES: Final = {"企年受托": "PL202", "企年投资": "PL201"}
#: What a report may say -> the canonical plan type.
PLAN_TYPES: Final = {
    "集合": "集合计划",
    "单一": "单一计划",
    "集合计划": "集合计划",
    "单一计划": "单一计划",
}
#: The plan number an award of each plan type gets when it names none.
DEFAULT_PLANS: Final = {"集合计划": "AN001", "单一计划": "AN002"}


def _text(values: pd.Series) -> pd.Series:
    return values.astype("string").str.strip()


def business_type(values: pd.Series) -> pd.Series:
    """The canonical business type; NA where it is not one.

    >>> business_type(pd.Series(["受托", " 投管", "企年投资", "其他"])).tolist()
    ['企年受托', '企年投资', '企年投资', <NA>]
    """
    return _text(values).map(BUSINESS_TYPES).astype("string")


def product_line(business_types: pd.Series) -> pd.Series:
    """The product line code of canonical business types.

    >>> product_line(pd.Series(["企年受托", "企年投资"])).tolist()
    ['PL202', 'PL201']
    """
    return business_types.map(PRODUCT_LINES).astype("string")


def plan_type(values: pd.Series) -> pd.Series:
    """The canonical plan type; NA where empty or not one.

    >>> plan_type(pd.Series(["集合", "单一计划", "", None, "混合"])).tolist()
    ['集合计划', '单一计划', <NA>, <NA>, <NA>]
    """
    return _text(values).map(PLAN_TYPES).astype("string")


def default_plan(numbers: pd.Series, plan_types: pd.Series) -> pd.Series:
    """Each plan number, trimmed; an empty one defaults by plan type (NA if it cannot).

    >>> default_plan(pd.Series(["P1 ", "", None]), pd.Series(["集合", "单一", None])).tolist()
    ['P1', 'AN002', <NA>]
    """
    given = _text(numbers).replace("", pd.NA)
    return given.fillna(plan_type(plan_types).map(DEFAULT_PLANS).astype("string"))
