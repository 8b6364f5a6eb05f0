"""``explain_failures`` on a generated run: the seeded step and reason of every seeded row."""

import pandas as pd
from openpyxl import Workbook

from tests.helpers import table_names
from tests.workflows.runs import fixed_reference
from work_data_hub.infrastructure.validation import generate_session_id
from work_data_hub.io.database import Database
from work_data_hub.io.sources import read_reference, read_source
from work_data_hub.workflows import (
    EXPLAIN_COLUMNS,
    Verdict,
    Workspace,
    explain_failures,
    reference_tables,
    replay_failures,
    run_domain,
)


def _seeds(manifest):
    for key, entry in manifest["files"].items():
        domain, source_file = key.split("/")
        for seed in entry["seeded"]:
            yield domain, source_file, seed


def test_every_seeded_row_is_explained_at_its_step_with_its_column(first_run):
    explained = explain_failures(first_run.failures(), first_run.workspace())
    assert list(explained.columns) == list(EXPLAIN_COLUMNS)
    by_row = explained.set_index(["domain", "source_file", "row_index"])
    seeds = list(_seeds(first_run.manifest))
    assert len(explained) == len(seeds)
    for domain, source_file, seed in seeds:
        row = by_row.loc[(domain, source_file, seed["row"])]
        assert row["verdict"] == Verdict.FAILS
        assert row["step"] == seed["step"], (source_file, seed)
        assert row["error_type"] == row["error_type_now"] == seed["error_type"]
        if seed["column"]:
            assert seed["column"] in row["columns"].split(", "), (row["columns"], seed)


def test_reasons_name_the_failing_value(first_run):
    explained = explain_failures(first_run.failures(), first_run.workspace())
    reasons = explained.groupby("step")["reason"].agg(set)
    assert reasons["plan_exists"] == {
        "plan code 'P9999' is not in plans",  # the annuity domains
        "plan number 'P9999' is not in plans",  # annual_award
    }
    assert reasons["enrich_branch"] == {"branch '未登记分行' has no branch code mapping"}
    assert reasons["drop_duplicates"] == {"exact duplicate of row 1 (loaded)"}
    assert all(r.startswith("subtotal row") and "'合计'" in r for r in reasons["drop_subtotals"])
    assert all(
        r.startswith("customer '未登记客户") and r.endswith("has no company mapping")
        for r in reasons["enrich_company"]
    )
    bronze = reasons["bronze_validation"]
    assert "月度 is_month fails on '2024-13'" in bronze
    assert "上报月份 is_month fails on '2024-13'" in bronze
    assert "业务类型 known_business_type fails on '其他'" in bronze
    assert any("not_negative fails on" in r for r in bronze)


def test_rows_that_would_pass_against_fixed_reference_say_so(first_run, tmp_path):
    fixed = fixed_reference(first_run, tmp_path / "fixed")
    workspace = Workspace.open(first_run.db_url, reference_dir=fixed)  # overlaid, not loaded
    explained = explain_failures(first_run.failures(), workspace)
    fixable = explained["error_type"].isin(["ENRICHMENT_FAILED", "FK_CONSTRAINT_VIOLATION"])
    assert (explained.loc[fixable, "verdict"] == Verdict.PASSES_NOW).all()
    assert explained.loc[fixable, ["step", "reason"]].isna().all().all()
    assert (explained.loc[~fixable, "verdict"] == Verdict.FAILS).all()


def test_a_selection_explains_only_its_rows(first_run):
    failures = first_run.failures()
    one = (failures["error_type"] == "FK_CONSTRAINT_VIOLATION") & (
        failures["source_file"] == "2024-03.xlsx"
    )
    explained = explain_failures(failures, first_run.workspace(), selected=one)
    assert len(explained) == one.sum() == 2  # one per domain
    assert set(explained["step"]) == {"plan_exists"}


def test_rows_a_replay_loaded_are_reported_as_already_loaded(first_run, tmp_path):
    fixed = fixed_reference(first_run, tmp_path / "fixed")
    workspace = Workspace.open(first_run.db_url, reference_dir=fixed, upsert=True)
    replay = replay_failures(
        first_run.failures(), workspace, session_id=generate_session_id(), logs_dir=first_run.logs
    )
    explained = explain_failures(first_run.failures(), first_run.workspace())
    loaded = explained[explained["verdict"] == Verdict.ALREADY_LOADED]
    assert len(loaded) == replay.fixed > 0
    assert set(loaded["reason"]) == {f"loaded by session {replay.session_id}"}


def test_an_empty_log_explains_to_an_empty_frame(first_run):
    explained = explain_failures(first_run.failures().iloc[:0], first_run.workspace())
    assert explained.empty
    assert list(explained.columns) == list(EXPLAIN_COLUMNS)
    assert isinstance(explained, pd.DataFrame)


def test_a_place_that_holds_another_row_now_is_superseded(first_run):
    failures = first_run.failures()
    fk = failures[failures["error_type"] == "FK_CONSTRAINT_VIOLATION"].iloc[0]
    # the file is edited (the bad plan code fixed in place) and loaded again
    path = first_run.sources / fk["domain"] / fk["source_file"]
    edited = read_source(path)
    edited.loc[fk["row_index"], "计划代码"] = "P0012"
    if path.suffix == ".csv":
        edited.to_csv(path, index=False)
    else:
        book = Workbook()
        book.active.append(list(edited.columns))
        for row in edited.itertuples(index=False):
            book.active.append(list(row))
        book.save(path)
    result_session = generate_session_id()
    result = run_domain(
        fk["domain"],
        session_id=result_session,
        source_dir=first_run.sources,
        db_url=first_run.db_url,
        logs_dir=first_run.root / "other_logs",
    )
    assert result.ok
    explained = explain_failures(failures, first_run.workspace()).set_index(
        ["domain", "source_file", "row_index"]
    )
    row = explained.loc[(fk["domain"], fk["source_file"], fk["row_index"])]
    assert row["verdict"] == Verdict.SUPERSEDED
    assert f"{fk['source_file']} was loaded again by session {result_session}" in row["reason"]


def test_explaining_creates_nothing_in_the_database(first_run, make_db_url):
    url = make_db_url("reference_only")
    database = Database(url)
    database.upsert_reference(read_reference(first_run.sources / "reference", reference_tables()))
    before = table_names(url)
    explained = explain_failures(first_run.failures(), Workspace.open(url))
    # no load of these files committed here: nothing of them counts
    assert set(explained["verdict"]) == {Verdict.NOT_RUN}
    assert explained["reason"].str.contains("never committed a load").all()
    assert table_names(url) == before
    assert "plans" in before
    assert "annuity_performance" not in before


def test_rows_of_an_unknown_domain_are_not_run_and_say_why(first_run):
    failures = first_run.failures().assign(domain="annuity_retired")
    explained = explain_failures(failures, first_run.workspace())
    assert set(explained["verdict"]) == {Verdict.NOT_RUN}
    assert explained["reason"].str.startswith("unknown domain 'annuity_retired'").all()
