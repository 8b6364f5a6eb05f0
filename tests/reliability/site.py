"""A working folder for the reliability tests: sources, reference, a database, logs.

``Site`` runs the real commands (``wdh-etl``, ``wdh-etl replay``) in
subprocesses against a database of either dialect, and reads back what they
loaded through ``tests.helpers.query``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd

from tests.helpers import is_sqlite, query, wdh_etl
from work_data_hub.infrastructure.validation import FailureExporter

PERFORMANCE = [
    "月度",
    "计划代码",
    "客户名称",
    "期初资产规模",
    "期末资产规模",
    "投资收益",
    "当期收益率",
]


def performance_row(customer: str, plan: str = "P0012", month: str = "202403") -> list[str]:
    """A source row of ``annuity_performance`` for ``customer``, good amounts."""
    return [month, plan, customer, "100", "110", "10", "0.1"]


class Site:
    """A working folder: sources, reference, database, logs; commands run in it.

    ``db_url`` defaults to the SQLite file ``data/wdh.db`` under ``root``.
    """

    def __init__(self, root: Path, db_url: str | None = None) -> None:
        self.root = root
        self.sources = root / "data" / "samples"
        self.db = root / "data" / "wdh.db"
        self.db_url = db_url or f"sqlite:///{self.db}"
        self.logs = root / "logs"

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.db_url)

    def write_reference(self, customers: list[str]) -> None:
        folder = self.sources / "reference"
        folder.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"计划代码": ["P0012", "P0013"], "计划名称": ["一", "二"]}).to_csv(
            folder / "plans.csv", index=False
        )
        pd.DataFrame(
            {"客户名称": customers, "company_id": [f"C{n}" for n in range(len(customers))]}
        ).to_csv(folder / "company_mapping.csv", index=False)

    def write_csv(
        self, domain: str, name: str, rows: list[list[str]], columns: list[str] = PERFORMANCE
    ) -> Path:
        folder = self.sources / domain
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        pd.DataFrame(rows, columns=columns).to_csv(path, index=False)
        return path

    def options(self) -> list[str]:
        return [
            "--source",
            str(self.sources),
            "--db",
            self.db_url,
            "--logs-dir",
            str(self.logs),
            "--plain",
            "--summary-json",
            str(self.root / "run.json"),
        ]

    def etl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return wdh_etl(*self.options(), *args, cwd=self.root)

    def summary(self) -> dict:
        return json.loads((self.root / "run.json").read_text(encoding="utf-8"))

    def replay(self, *args: str) -> subprocess.CompletedProcess[str]:
        return wdh_etl(
            "replay",
            *args,
            "--db",
            self.db_url,
            "--logs-dir",
            str(self.logs),
            "--plain",
            "--summary-json",
            str(self.root / "replay.json"),
            cwd=self.root,
        )

    def replayed(self) -> dict:
        return json.loads((self.root / "replay.json").read_text(encoding="utf-8"))

    def log(self, session: str) -> Path:
        return FailureExporter(session, self.logs).output_file

    def loaded(self, domain: str = "annuity_performance") -> list[tuple]:
        """(source_file, row_index, 客户名称) of each loaded row, in file and row order."""
        rows = query(self.db_url, f'SELECT source_file, row_index, "客户名称" FROM {domain}')
        return sorted(rows, key=lambda row: (str(row[0]).encode(), row[1]))
