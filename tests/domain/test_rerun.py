"""A row replayed from its raw_data is processed exactly as the row read from the file."""

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from tests.strategies import amount_cells, month_cells, name_cells, nasty_text, plan_cells
from work_data_hub.domain import annuity_performance
from work_data_hub.domain.pipeline import run_steps
from work_data_hub.domain.reference import Reference
from work_data_hub.domain.spec import NOTHING_LOADED
from work_data_hub.infrastructure.validation._raw_columns import encode_rows
from work_data_hub.infrastructure.validation.raw_data import source_rows

REFERENCE = Reference(
    {
        "plans": pd.DataFrame(
            {"计划代码": ["P0012", "P0013", "0012"], "计划名称": ["一", "二", "三"]}
        ),
        "company_mapping": pd.DataFrame(
            {"客户名称": ["上海浦江制造有限公司"], "company_id": ["C1"]}
        ),
    }
)


def _as_csv_text(value: object) -> str:
    """What a CSV cell holds for a value: its text, empty for none."""
    return "" if value is None else str(value)


@st.composite
def source_rows_as_read(draw: st.DrawFn) -> pd.DataFrame:
    """Annuity rows as a reader gives them, good and bad, some exact copies of others:
    a workbook (typed ``object`` cells) or a CSV (``str`` cells, ``""`` when empty)."""
    size = draw(st.integers(min_value=1, max_value=8))
    cells = {
        "月度": month_cells,
        "计划代码": plan_cells,
        "客户名称": name_cells,
        **dict.fromkeys(annuity_performance.AMOUNTS, amount_cells),
        "备注": st.one_of(st.none(), nasty_text, month_cells),
    }
    rows = [{name: draw(cell) for name, cell in cells.items()} for _ in range(size)]
    copies = draw(st.lists(st.integers(0, size - 1), max_size=3))
    frame = pd.DataFrame(rows + [rows[n] for n in copies], dtype=object)
    if draw(st.booleans()):
        return frame.map(_as_csv_text).astype("str")
    return frame


def _run(raw: pd.DataFrame):
    return run_steps(
        raw,
        annuity_performance.steps(REFERENCE, NOTHING_LOADED),
        session_id="etl_20240401_120000_abcdef",
        domain=annuity_performance.NAME,
        source_file="2024-03.xlsx",
        explain=True,
    )


@given(source_rows_as_read())
def test_replayed_rows_meet_the_same_fate_at_the_same_step(raw):
    replayed = source_rows(pd.DataFrame({"raw_data": encode_rows(raw)}, index=raw.index))
    first, again = _run(raw), _run(replayed)
    # the same rows kept, loaded with the same values
    assert again.kept.index.tolist() == first.kept.index.tolist()
    assert encode_rows(again.kept).tolist() == encode_rows(first.kept).tolist()
    # the same rows logged, with the same error type and the same raw_data bytes
    columns = ["row_index", "error_type", "raw_data"]
    assert again.failures[columns].equals(first.failures[columns])
    assert again.reasons is not None
    assert first.reasons is not None
    assert again.reasons["step"].equals(first.reasons["step"])
