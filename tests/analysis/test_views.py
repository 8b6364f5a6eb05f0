import io
import subprocess
import sys

import pandas as pd
import pytest
from rich.cells import cell_len
from rich.console import Console

from tests.helpers import NEW, OLD, write_log
from work_data_hub.analysis import FailureCards, FrameView, diff_sessions, summarize
from work_data_hub.cli.console import make_console
from work_data_hub.infrastructure.validation import read_failures

SESSION = "etl_20240302_090000_bbbbbb"


def _render(renderable, width: int = 80, *, terminal: bool = False) -> str:
    """What ``renderable`` prints: on a terminal ``width`` wide, else as plain text."""
    console = Console(
        file=io.StringIO(),
        width=width,
        color_system=None,
        legacy_windows=False,
        force_terminal=terminal,
    )
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
    assert all(len(line) <= 80 and not line.endswith(" ") for line in text.splitlines())
    on_terminal = _render(view, terminal=True)
    header = next(line for line in on_terminal.splitlines() if "domain" in line).split()
    assert header == ["domain", "source_file", "invalid", "dropped", "enrich", "fk", "total"]
    page = view._repr_html_()
    assert "<h4>Summary</h4>" in page
    assert "annuity_income" in page
    assert "FK_CONSTRAINT_VIOLATION" in page


def test_cards_show_each_failure_with_its_source_row_at_80_columns(tmp_path, raw):
    for terminal in (True, False):
        text = _render(FailureCards(_failures(tmp_path, raw)), terminal=terminal)
        title = "annuity_income · 2024-03.xlsx · row 1 (sheet row 3) · FK_CONSTRAINT_VIOLATION"
        assert title in text
        assert "row 3 (sheet row 5)" in text
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


def test_a_card_shows_its_own_fields_and_tells_empty_from_missing(tmp_path):
    income = pd.DataFrame({"计划代码": ["P1", "P2"], "业务类型": ["", "其他"], "税": [None, "0.1"]})
    performance = pd.DataFrame({"计划代码": ["P3"], "期末资产规模": [None]})
    write_log(tmp_path, OLD, [("annuity_income", "a.csv", "VALIDATION_FAILED", income[:1])])
    write_log(
        tmp_path,
        NEW,
        [
            ("annuity_income", "a.csv", "VALIDATION_FAILED", income[1:]),
            ("annuity_performance", "b.xlsx", "ENRICHMENT_FAILED", performance),
        ],
    )
    old, new = (read_failures(tmp_path / f"wdh_etl_failures_{s}.csv") for s in (OLD, NEW))
    cards = FailureCards(diff_sessions(old, new))
    text = repr(cards)
    performance_card = text[text.index("new · annuity_performance") :].split("\n\n")[0]
    assert performance_card.splitlines() == [
        "new · annuity_performance · b.xlsx · row 0 (sheet row 2) · ENRICHMENT_FAILED",
        "  计划代码      P3",
        "  期末资产规模  (empty cell)",
    ]
    resolved = text[text.index("resolved · annuity_income") :].splitlines()
    assert resolved[1:] == ["  计划代码  P1", '  业务类型  ""', "  税        (empty cell)"]
    assert text == _render(cards).rstrip("\n")  # a pipe shows what the REPL shows
    on_terminal = _render(cards, terminal=True)
    card = on_terminal[
        on_terminal.index("new · annuity_performance") : on_terminal.index("resolved")
    ]
    assert "计划代码" in card
    assert "业务类型" not in card
    assert "税" not in card
    assert "(empty cell)" in card
    page = cards._repr_html_()
    assert "<th>期末资产规模</th><td>(empty cell)</td>" in page
    assert "<th>业务类型</th><td>&quot;&quot;</td>" in page
    assert page.count("<th>业务类型</th>") == 2  # the two income rows, not the performance one


def test_plain_text_is_one_line_per_row_with_every_value_whole(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    reason = " ".join(["customer '未登记客户151有限公司' has no company mapping"] * 4)
    frame = pd.DataFrame(
        {
            "file": ["a_source_file_with_a_long_name.csv", "b.csv"],
            "row": [7, 1234],
            "reason": [reason, "line one\nline two\tand a tab"],
            "note": ["", ""],
        }
    )
    lines = repr(FrameView(frame, title="why")).splitlines()
    assert len(lines) == 4
    assert lines[0] == "why"
    assert lines[1].split() == ["file", "row", "reason", "note"]
    assert lines[2] == f"a_source_file_with_a_long_name.csv     7  {reason}"
    assert lines[3] == "b.csv".ljust(34) + "  1234  line one\\x0aline two\\x09and a tab"
    # piped through the commands' console at any $COLUMNS: the same lines
    make_console(plain=True).print(FrameView(frame, title="why"))
    assert capsys.readouterr().out.splitlines() == lines


@pytest.mark.parametrize("width", [120, 80, 60, 40])
def test_terminal_tables_keep_headers_and_texts_whole(width):
    reason = (
        "customer '未登记客户151有限公司' has no company mapping for domain annuity_performance"
    )
    frame = pd.DataFrame(
        {
            "file": ["2024-03.xlsx"],
            "row": [7],
            "VALIDATION_FAILED": [1],
            "DROPPED_IN_PIPELINE": [0],
            "now": ["enrich_company"],
            "reason": [reason],
        }
    )
    text = _render(FrameView(frame, title="annuity_performance"), width, terminal=True)
    assert all(cell_len(line) <= width for line in text.splitlines()), text
    words = text.split()
    for whole in ["file", "row", "invalid", "dropped", "now", "reason", "2024-03.xlsx", "7"]:
        assert whole in words, text
    assert " ".join(words).count(" ".join(reason.split()[2:])) == 1, text  # wrapped, not cut


def test_a_view_in_a_plain_python_repl_prints_its_table():
    session = "\n".join(
        [
            "import pandas as pd",
            "from work_data_hub.analysis import FrameView",
            "FrameView(pd.DataFrame({'file': ['a.csv'], 'rows': [3]}), title='demo')",
        ]
    )
    result = subprocess.run(
        [sys.executable, "-i", "-q"], input=session, capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines() == ["demo", "file   rows", "a.csv     3"]
