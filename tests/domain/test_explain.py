"""``explain_failures`` on a generated run: the seeded step and reason of every seeded row."""

import pandas as pd

from tests.domain.conftest import fixed_reference
from work_data_hub.domain.explain import EXPLAIN_COLUMNS, Verdict, explain_failures
from work_data_hub.domain.reference import Reference
from work_data_hub.domain.replay import replay_failures
from work_data_hub.infrastructure.validation import generate_session_id
from work_data_hub.io.sources import read_reference


def _seeds(manifest):
    for key, entry in manifest["files"].items():
        domain, source_file = key.split("/")
        for seed in entry["seeded"]:
            yield domain, source_file, seed


def test_every_seeded_row_is_explained_at_its_step_with_its_column(first_run):
    explained = explain_failures(first_run.failures(), first_run.db_url)
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
    explained = explain_failures(first_run.failures(), first_run.db_url)
    reasons = explained.groupby("step")["reason"].agg(set)
    assert reasons["plan_exists"] == {"plan code 'P9999' is not in plans"}
    assert reasons["drop_duplicates"] == {"exact duplicate of row 1 (loaded)"}
    assert all(r.startswith("subtotal row") and "'合计'" in r for r in reasons["drop_subtotals"])
    assert all(
        r.startswith("customer '未登记客户") and r.endswith("has no company mapping")
        for r in reasons["enrich_company"]
    )
    bronze = reasons["bronze_validation"]
    assert "月度 is_month fails on '2024-13'" in bronze
    assert any("not_negative fails on" in r for r in bronze)


def test_rows_that_would_pass_against_fixed_reference_say_so(first_run, tmp_path):
    plans, companies = read_reference(fixed_reference(first_run, tmp_path / "fixed"))
    explained = explain_failures(
        first_run.failures(),
        first_run.db_url,
        reference=Reference.from_frames(plans=plans, companies=companies),
    )
    fixable = explained["error_type"].isin(["ENRICHMENT_FAILED", "FK_CONSTRAINT_VIOLATION"])
    assert (explained.loc[fixable, "verdict"] == Verdict.PASSES_NOW).all()
    assert explained.loc[fixable, ["step", "reason"]].isna().all().all()
    assert (explained.loc[~fixable, "verdict"] == Verdict.FAILS).all()


def test_a_selection_explains_only_its_rows(first_run):
    failures = first_run.failures()
    one = (failures["error_type"] == "FK_CONSTRAINT_VIOLATION") & (
        failures["source_file"] == "2024-03.xlsx"
    )
    explained = explain_failures(failures, first_run.db_url, selected=one)
    assert len(explained) == one.sum() == 2  # one per domain
    assert set(explained["step"]) == {"plan_exists"}


def test_rows_a_replay_loaded_are_reported_as_already_loaded(first_run, tmp_path):
    plans, companies = read_reference(fixed_reference(first_run, tmp_path / "fixed"))
    database = first_run.database
    database.upsert_reference(plans=plans, companies=companies)
    replay = replay_failures(
        first_run.failures(),
        session_id=generate_session_id(),
        database=database,
        reference=first_run.reference(),
        logs_dir=first_run.logs,
    )
    explained = explain_failures(first_run.failures(), first_run.db_url)
    loaded = explained[explained["verdict"] == Verdict.ALREADY_LOADED]
    assert len(loaded) == replay.fixed > 0
    assert set(loaded["reason"]) == {f"loaded by session {replay.session_id}"}


def test_an_empty_log_explains_to_an_empty_frame(first_run):
    explained = explain_failures(first_run.failures().iloc[:0], first_run.db_url)
    assert explained.empty
    assert list(explained.columns) == list(EXPLAIN_COLUMNS)
    assert isinstance(explained, pd.DataFrame)
