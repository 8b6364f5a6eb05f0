import io

from rich.console import Console

from tests.helpers import write_log
from work_data_hub.analysis import FailureCards, FrameView, summarize
from work_data_hub.infrastructure.validation import read_failures

SESSION = "etl_20240302_090000_bbbbbb"


def _render(renderable, width: int = 80) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None, legacy_windows=False)
    console.print(renderable)
    return console.file.getvalue()


def _failures(tmp_path, raw):
    return read_failures(
        write_log(
            tmp_path,
            SESSION,
            [("annuity_income", "2024-03.xlsx", "FK_CONSTRAINT_VIOLATION", raw.iloc[[1, 3]])],
        )
    )


def test_frame_view_renders_the_same_data_in_terminal_and_html(tmp_path, raw):
    view = FrameView(summarize(_failures(tmp_path, raw)), title="Summary")
    text = _render(view)
    assert "Summary" in text
    assert "annuity_income" in text
    header = next(line for line in text.splitlines() if "domain" in line).split()
    assert header == ["domain", "source_file", "invalid", "dropped", "enrich", "fk", "total"]
    row = next(line for line in text.splitlines() if "annuity_income" in line).split()
    assert row == ["annuity_income", "2024-03.xlsx", "0", "0", "0", "2", "2"]
    assert all(len(line) <= 80 for line in text.splitlines())
    page = view._repr_html_()
    assert "<h4>Summary</h4>" in page
    assert "annuity_income" in page
    assert "FK_CONSTRAINT_VIOLATION" in page


def test_cards_show_each_failure_with_its_source_row_at_80_columns(tmp_path, raw):
    text = _render(FailureCards(_failures(tmp_path, raw)))
    assert "annuity_income · 2024-03.xlsx · row 1 · FK_CONSTRAINT_VIOLATION" in text
    assert "row 3" in text
    assert "计划代码" in text
    assert "P4" in text
    assert all(len(line) <= 80 for line in text.splitlines())


def test_html_is_escaped(tmp_path):
    import pandas as pd

    view = FrameView(pd.DataFrame({"a": ["<script>alert(1)</script>"]}))
    assert "<script>" not in view._repr_html_()
    cards = FailureCards(
        read_failures(
            write_log(
                tmp_path, SESSION, [("d", "<b>", "VALIDATION_FAILED", pd.DataFrame({"x": ["<i>"]}))]
            )
        )
    )
    assert "<b>" not in cards._repr_html_()
    assert "&lt;i&gt;" in cards._repr_html_()


def test_no_failures():
    import pandas as pd

    empty = pd.DataFrame(columns=["domain", "source_file", "row_index", "error_type", "raw_data"])
    assert "no failed rows" in _render(FailureCards(empty))
