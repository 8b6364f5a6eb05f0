"""Runs of every domain over generated sources into a real database, and their fixes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from work_data_hub.domain.reference import BRANCHES, COMPANIES, PLANS
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


def run_all(root: Path, sources: Path, reference: Path, db_url: str) -> Run:
    """Load ``reference`` into the empty database at ``db_url`` (SQLite or PostgreSQL),
    run every domain that has sources."""
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


#: Per domain: the raw columns of the customer, the plan and the branch (if any).
LOOKED_UP = {
    "annuity_performance": ("客户名称", "计划代码", None),
    "annuity_income": ("客户名称", "计划代码", None),
    "annual_award": ("客户全称", "年金计划号", "机构"),
}


def fixed_reference(run: Run, folder: Path) -> Path:
    """The run's reference files plus a mapping for every unknown customer, plan and
    branch logged (the names the enrichment and plan checks missed)."""
    files = read_reference(run.sources / "reference", reference_tables())
    failures = run.failures()
    raw = failures["raw_data"].map(json.loads)
    names, plans, branches = set(), set(), set()
    for row, error_type, domain in zip(
        raw, failures["error_type"], failures["domain"], strict=True
    ):
        customer, plan, branch = LOOKED_UP[domain]
        if error_type == ErrorType.ENRICHMENT_FAILED.value:
            names.add(str(row[customer]).strip())
            if branch and str(row[branch] or "").strip():
                branches.add(str(row[branch]).strip())
        if error_type == ErrorType.FK_CONSTRAINT_VIOLATION.value:
            plans.add(str(row[plan]).strip())
    assert names
    assert plans
    known = {
        COMPANIES: set(files[COMPANIES]["客户名称"]),
        BRANCHES: set(files[BRANCHES]["机构名称"]) if BRANCHES in files else set(),
    }
    additions = {
        PLANS: pd.DataFrame({"计划代码": sorted(plans), "计划名称": "补录计划"}),
        COMPANIES: pd.DataFrame(
            {
                "客户名称": sorted(names - known[COMPANIES]),
                "company_id": [f"N{n:03d}" for n in range(len(names - known[COMPANIES]))],
            }
        ),
        BRANCHES: pd.DataFrame(
            {
                "机构名称": sorted(branches - known[BRANCHES]),
                "机构代码": [f"N{n:02d}" for n in range(len(branches - known[BRANCHES]))],
            }
        ),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for spec, frame in files.items():
        pd.concat([frame, additions.get(spec, frame.iloc[:0])]).to_csv(
            folder / spec.file, index=False
        )
    return folder
