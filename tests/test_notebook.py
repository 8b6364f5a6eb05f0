"""notebooks/failure_analysis.ipynb runs top to bottom on a real kernel."""

from pathlib import Path

import nbformat
import pandas as pd
from nbclient import NotebookClient

from tests.helpers import NEW, OLD, commit_loads, write_two_sessions
from work_data_hub.domain.reference import COMPANIES, PLANS
from work_data_hub.io.database import Database

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "failure_analysis.ipynb"


def _run(logs: Path, monkeypatch, db_url: str = "sqlite:///no/such.db") -> nbformat.NotebookNode:
    monkeypatch.setenv("WDH_LOGS_DIR", str(logs))
    monkeypatch.setenv("WDH_DB_URL", db_url)
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()
    return notebook


def _text(cell: nbformat.NotebookNode) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        data = output.get("data", {})
        parts.append(data.get("text/html", "") + data.get("text/plain", ""))
    return "\n".join(parts)


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
    cells = [c for c in _run(logs, monkeypatch, db_url).cells if c.cell_type == "code"]
    assert not any(o.get("output_type") == "error" for c in cells for o in c.get("outputs", []))
    sessions, summary, chart, top_files, drill, cards, diff, explain = cells[1:]
    assert NEW in _text(sessions)
    assert OLD in _text(sessions)
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
    assert "Why rows of annuity_income fail today" in _text(explain)
    assert "bronze_validation" in _text(explain)
    assert "月度" in _text(explain)


def test_notebook_runs_on_a_fresh_clone_with_no_logs(tmp_path, monkeypatch):
    cells = [c for c in _run(tmp_path / "logs", monkeypatch).cells if c.cell_type == "code"]
    assert not any(o.get("output_type") == "error" for c in cells for o in c.get("outputs", []))
    assert "No earlier session to compare with." in _text(cells[-2])
    assert "Not explained: no database at no/such.db" in _text(cells[-1])
