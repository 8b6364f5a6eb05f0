"""notebooks/failure_analysis.ipynb runs top to bottom on a real kernel."""

from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

from tests.helpers import NEW, OLD, ROOT, commit_loads, wdh_etl, write_two_sessions
from work_data_hub.analysis import list_sessions, summarize
from work_data_hub.domain.reference import COMPANIES, PLANS
from work_data_hub.infrastructure.validation import read_failures
from work_data_hub.io.database import Database
from work_data_hub.notebook_support import FONT_FAMILY, cjk_font, installed_fonts
from work_data_hub.workflows.session_record import SessionRecord, write_session_record

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "failure_analysis.ipynb"
CJK_INSTALLED = cjk_font(installed_fonts()) is not None
FONT_WARNING = "No CJK font installed: Chinese text in charts shows as boxes"
# A last cell the tests add: what the kernel's matplotlib was told to draw text with.
SHOW_FONTS = "import matplotlib\nprint(matplotlib.rcParams['font.sans-serif'])"


def _run(
    logs: Path, monkeypatch: pytest.MonkeyPatch, db_url: str | None, *extra: str
) -> list[nbformat.NotebookNode]:
    """The notebook's code cells after running it with ``WDH_DB_URL`` set to ``db_url``
    (None: unset), and ``extra`` cells at the end."""
    monkeypatch.setenv("WDH_LOGS_DIR", str(logs))
    if db_url is None:
        monkeypatch.delenv("WDH_DB_URL", raising=False)
    else:
        monkeypatch.setenv("WDH_DB_URL", db_url)
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    notebook.cells.extend(nbformat.v4.new_code_cell(source) for source in extra)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()
    cells = [c for c in notebook.cells if c.cell_type == "code"]
    assert not any(o.get("output_type") == "error" for c in cells for o in c.get("outputs", []))
    return cells


def _text(cell: nbformat.NotebookNode) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        data = output.get("data", {})
        parts.append(data.get("text/html", "") + data.get("text/plain", ""))
    return "\n".join(parts)


def _assert_fonts_named(setup: nbformat.NotebookNode) -> None:
    """The tables' CSS names the CJK fallback list; one line says when none is installed."""
    html = "".join(o.get("data", {}).get("text/html", "") for o in setup["outputs"])
    assert "<style>" in html
    assert "font-family: 'Noto Sans CJK SC', 'Noto Sans CJK JP', 'WenQuanYi Zen Hei'" in html
    warnings = [line for line in _text(setup).splitlines() if line.startswith("No CJK font")]
    if CJK_INSTALLED:
        assert warnings == []
    else:
        assert len(warnings) == 1
        assert warnings[0].startswith(FONT_WARNING)
        assert "apt-get install fonts-noto-cjk" in warnings[0]


def test_notebook_answers_what_where_and_is_it_new(tmp_path, monkeypatch):
    raw = pd.DataFrame({"计划代码": ["P1", "P2", "P3"], "客户名称": ["甲", "乙", "丙"]})
    logs = write_two_sessions(tmp_path / "logs", raw)
    db_url = f"sqlite:///{tmp_path / 'wdh.db'}"
    Database(db_url).upsert_reference(
        {
            PLANS: pd.DataFrame({"计划代码": ["P1"], "计划名称": ["一"]}),
            COMPANIES: pd.DataFrame({"客户名称": ["甲"], "company_id": ["C1"]}),
        }
    )
    commit_loads(db_url, logs / f"wdh_etl_failures_{NEW}.csv")
    # no WDH_DB_URL: the notebook explains against the database the session ran with
    write_session_record(SessionRecord(NEW, db_url=db_url), logs)
    cells = _run(logs, monkeypatch, None)
    setup, sessions, summary, chart, top_files, drill, cards, diff, explain = cells[1:]
    _assert_fonts_named(setup)
    assert NEW in _text(sessions)
    assert OLD in _text(sessions)
    assert "wdh-etl" not in _text(sessions)  # logs exist: no sample job
    assert f"wdh_etl_failures_{NEW}.csv" in _text(summary)
    assert "annuity_performance" in _text(summary)
    assert any("image/png" in o.get("data", {}) for o in chart["outputs"])
    assert "a.csv" in _text(top_files)
    assert "2 failed rows in annuity_income" in _text(drill)
    assert "计划代码" in _text(drill)
    assert "丙" in _text(cards)
    assert f"Compared with wdh_etl_failures_{OLD}.csv: 2 new, 1 persisting, 1 resolved" in _text(
        diff
    )
    # the logged rows lack the domain's month column: bronze validation names it
    assert f"Database: {db_url} (the one the session ran with)" in _text(explain)
    assert "Why rows of annuity_income fail today" in _text(explain)
    assert "bronze_validation" in _text(explain)
    assert "月度" in _text(explain)


def test_notebook_on_a_fresh_clone_first_runs_the_make_run_job(tmp_path, monkeypatch):
    db = tmp_path / "data" / "wdh.db"
    cells = _run(tmp_path / "logs", monkeypatch, f"sqlite:///{db}", SHOW_FONTS)
    setup, sessions, top_files, diff, explain, fonts = (cells[i] for i in (1, 2, 5, 8, 9, 10))
    assert (
        f"No failure log in {tmp_path / 'logs'} yet: the make run job, wdh-etl --all-domains"
        in _text(sessions)
    )
    assert "Saved failure log to" in _text(sessions)
    # the make run job, not the quickstart's one-file demo: every domain, every sample
    ran = list_sessions(tmp_path / "logs")
    assert len(ran) == 1
    for domain in ("annuity_performance", "annuity_income", "annual_award"):
        assert domain in _text(sessions)
    assert "2024-01.xlsx" in _text(top_files)
    assert not any("annuity_performance_2024-03.csv" in _text(cell) for cell in cells)
    # ... logging what `wdh-etl --all-domains` logs over the same samples
    make_run = wdh_etl(
        "--all-domains",
        "--source",
        str(ROOT / "data" / "samples"),
        "--db",
        f"sqlite:///{tmp_path / 'make_run.db'}",
        "--logs-dir",
        str(tmp_path / "make_run_logs"),
        cwd=tmp_path,
    )
    assert make_run.returncode == 0, make_run.stderr
    expected = read_failures(list_sessions(tmp_path / "make_run_logs")["path"].iloc[0])
    pd.testing.assert_frame_equal(
        summarize(read_failures(ran["path"].iloc[0])), summarize(expected)
    )
    # ... and loading into DB_URL, which the notebook then explains its rows against
    assert db.is_file()
    assert "No earlier session to compare with." in _text(diff)
    assert f"Database: sqlite:///{db} (DB_URL)" in _text(explain)
    assert "fail today" in _text(explain)
    assert "Not explained" not in _text(explain)
    # the chart draws text with the CJK fallback list
    _assert_fonts_named(setup)
    assert _text(fonts).startswith(str(list(FONT_FAMILY))[:-1])


def test_notebook_without_a_database_says_which_variable_to_set(tmp_path, monkeypatch):
    raw = pd.DataFrame({"计划代码": ["P1", "P2", "P3"]})
    logs = write_two_sessions(tmp_path / "logs", raw)
    missing = tmp_path / "no" / "such.db"
    # WDH_DB_URL (DB_URL) wins over the database the session ran with
    write_session_record(SessionRecord(NEW, db_url=f"sqlite:///{tmp_path / 'wdh.db'}"), logs)
    explain = _run(logs, monkeypatch, f"sqlite:///{missing}")[-1]
    text = _text(explain)
    assert f"Not explained: no database at {missing} (DB_URL): set DB_URL in the parameters" in text
    assert "--db" not in text
    assert not missing.parent.exists()
