"""Runs of every domain over generated sources into a real SQLite file, and their fixes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from work_data_hub.domain.reference import COMPANIES, PLANS
from work_data_hub.domain.registry import DOMAINS
from work_data_hub.infrastructure.validation import (
    ErrorType,
    FailureExporter,
    generate_session_id,
    read_failures,
)
from work_data_hub.io.database import Database
from work_data_hub.io.sources import read_reference
from work_data_hub.workflows import Workspace, load_reference, reference_tables, run_domain


@dataclass
class Run:
    """One wdh-etl-like run: where its data is, and its failure log."""

    root: Path
    sources: Path
    db_url: str
    logs: Path
    session_id: str
    manifest: dict

    @property
    def database(self) -> Database:
        return Database(self.db_url)

    def failures(self) -> pd.DataFrame:
        return read_failures(FailureExporter(self.session_id, self.logs).output_file)

    def workspace(self) -> Workspace:
        """The run's database and its reference data as they are now."""
        return Workspace.open(self.db_url)


def run_all(root: Path, sources: Path, reference: Path, name: str) -> Run:
    """Load ``reference`` into a new database ``root/name.db``, run every domain that
    has sources."""
    db_url = f"sqlite:///{root / name}.db"
    domains = [domain for domain in DOMAINS if (sources / domain).is_dir()]
    assert not load_reference(db_url, reference, domains)
    session_id = generate_session_id()
    for domain in domains:
        result = run_domain(
            domain,
            session_id=session_id,
            source_dir=sources,
            db_url=db_url,
            logs_dir=root / "logs",
        )
        assert result.ok, result
    manifest = json.loads((sources / "manifest.json").read_text(encoding="utf-8"))
    return Run(root, sources, db_url, root / "logs", session_id, manifest)


def fixed_reference(run: Run, folder: Path) -> Path:
    """The run's reference files plus a mapping for every unknown customer and plan logged."""
    files = read_reference(run.sources / "reference", reference_tables())
    plans, companies = files[PLANS], files[COMPANIES]
    failures = run.failures()
    raw = failures["raw_data"].map(json.loads)
    unknown_names = sorted(
        {
            row["客户名称"]
            for row, t in zip(raw, failures["error_type"], strict=False)
            if t == "ENRICHMENT_FAILED"
        }
    )
    unknown_plans = sorted(
        {
            str(row["计划代码"]).strip()
            for row, t in zip(raw, failures["error_type"], strict=False)
            if t == ErrorType.FK_CONSTRAINT_VIOLATION.value
        }
    )
    assert unknown_names
    assert unknown_plans
    folder.mkdir(parents=True, exist_ok=True)
    pd.concat([plans, pd.DataFrame({"计划代码": unknown_plans, "计划名称": "补录计划"})]).to_csv(
        folder / "plans.csv", index=False
    )
    pd.concat(
        [
            companies,
            pd.DataFrame(
                {
                    "客户名称": unknown_names,
                    "company_id": [f"N{n:03d}" for n in range(len(unknown_names))],
                }
            ),
        ]
    ).to_csv(folder / "company_mapping.csv", index=False)
    for spec, frame in files.items():  # the other tables as they were
        if spec not in (PLANS, COMPANIES):
            frame.to_csv(folder / spec.file, index=False)
    return folder
