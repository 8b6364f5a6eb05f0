"""``replay_failures``: fixed rows loaded once with their lineage, the rest logged anew."""

import json

import pandas as pd
import sqlalchemy

from tests.workflows.runs import fixed_reference, run_all
from work_data_hub.domain import annuity_performance
from work_data_hub.domain.reference import COMPANIES, PLANS
from work_data_hub.domain.registry import DOMAINS
from work_data_hub.infrastructure.validation import generate_session_id, read_failures
from work_data_hub.io.database import Database
from work_data_hub.io.sources import read_reference
from work_data_hub.workflows import reference_tables, replay_failures

RUN_COLUMNS = ["id", "session_id", "replayed_from"]  # differ between runs by design
LOG_KEY = ["domain", "source_file", "row_index", "error_type", "raw_data"]


def _fix(run, folder):
    run.database.upsert_reference(read_reference(fixed_reference(run, folder), reference_tables()))
    return folder


def _replay(run, failures=None, selected=None):
    return replay_failures(
        run.failures() if failures is None else failures,
        run.workspace(),
        selected=selected,
        session_id=generate_session_id(),
        logs_dir=run.logs,
    )


def _table(db_url, domain):
    database = Database(db_url)
    database.add_domain(DOMAINS[domain].table)
    rows = database.rows(domain).drop(columns=RUN_COLUMNS)
    return rows.sort_values(["source_file", "row_index"], ignore_index=True)


def test_replay_after_a_fix_loads_what_a_clean_run_over_fixed_data_loads(
    first_run, tmp_path, make_db_url
):
    fixed = _fix(first_run, tmp_path / "fixed")
    result = _replay(first_run)
    assert not result.errors
    clean = run_all(tmp_path, first_run.sources, fixed, make_db_url("clean"))
    for domain in ("annuity_performance", "annuity_income"):
        replayed, expected = _table(first_run.db_url, domain), _table(clean.db_url, domain)
        assert len(replayed) == len(expected) > 0
        pd.testing.assert_frame_equal(replayed, expected)
    # what still fails is what a clean run logs, byte for byte
    still = read_failures(result.log)[LOG_KEY].sort_values(LOG_KEY, ignore_index=True)
    expected_log = clean.failures()[LOG_KEY].sort_values(LOG_KEY, ignore_index=True)
    pd.testing.assert_frame_equal(still, expected_log)


def test_replay_counts_fixed_and_still_failing_per_error_type(first_run, tmp_path):
    _fix(first_run, tmp_path / "fixed")
    counts = _replay(first_run).counts
    failed = pd.DataFrame(
        [
            {"domain": key.split("/")[0], "error_type": seed["error_type"]}
            for key, entry in first_run.manifest["files"].items()
            for seed in entry["seeded"]
        ]
    ).value_counts()
    assert counts["selected"].to_dict() == failed.to_dict()
    fixable = counts.index.get_level_values("error_type").isin(
        ["ENRICHMENT_FAILED", "FK_CONSTRAINT_VIOLATION"]
    )
    assert (counts.loc[fixable, "fixed"] == counts.loc[fixable, "selected"]).all()
    assert (counts.loc[~fixable, "still_failing"] == counts.loc[~fixable, "selected"]).all()
    assert counts["already_loaded"].sum() == 0


def test_fixed_rows_carry_their_original_lineage(first_run, tmp_path):
    _fix(first_run, tmp_path / "fixed")
    result = _replay(first_run)
    rows = first_run.database
    rows.add_domain(annuity_performance.TABLE)
    loaded = rows.rows(annuity_performance.NAME)
    replayed = loaded[loaded["replayed_from"].notna()]
    assert set(replayed["replayed_from"]) == {first_run.session_id}
    assert set(replayed["session_id"]) == {result.session_id}
    failures = first_run.failures()
    fixed = failures[
        (failures["domain"] == annuity_performance.NAME)
        & failures["error_type"].isin(["ENRICHMENT_FAILED", "FK_CONSTRAINT_VIOLATION"])
    ]
    assert sorted(zip(replayed["source_file"], replayed["row_index"], strict=False)) == sorted(
        zip(fixed["source_file"], fixed["row_index"], strict=False)
    )


def test_replaying_twice_loads_nothing_twice(first_run, tmp_path):
    _fix(first_run, tmp_path / "fixed")
    first = _replay(first_run)
    before = _table(first_run.db_url, "annuity_performance")
    second = _replay(first_run)
    assert first.fixed > 0
    assert second.fixed == 0
    assert second.counts["already_loaded"].sum() == first.fixed
    pd.testing.assert_frame_equal(_table(first_run.db_url, "annuity_performance"), before)


def test_a_replay_log_replays_in_turn(first_run, tmp_path):
    # fix only the company mapping first; plans later
    fixed = read_reference(fixed_reference(first_run, tmp_path / "fixed"), reference_tables())
    database = first_run.database
    database.upsert_reference({COMPANIES: fixed[COMPANIES]})
    first = _replay(first_run)
    assert first.counts.xs("FK_CONSTRAINT_VIOLATION", level="error_type")["fixed"].sum() == 0
    database.upsert_reference({PLANS: fixed[PLANS]})
    second = _replay(first_run, failures=read_failures(first.log))
    seeded_fk = sum(
        entry["failed"].get("FK_CONSTRAINT_VIOLATION", 0)
        for entry in first_run.manifest["files"].values()
    )
    fixed = second.counts.xs("FK_CONSTRAINT_VIOLATION", level="error_type")["fixed"]
    assert fixed.sum() == seeded_fk
    assert second.replayed_from == first.session_id


def _duplicate_source(run_root):
    """Row 3 copies row 0, whose customer is unknown; row 1 is fine; row 2 copies row 1."""
    sources = run_root / "dup_sources"
    folder = sources / "annuity_performance"
    folder.mkdir(parents=True)
    unknown = ["202403", "P0012", "新客户有限公司", "10", "11", "1", "0.1", ""]
    good = ["202403", "P0013", "上海浦江制造有限公司", "5", "6", "1", "0.2", ""]
    columns = [*annuity_performance.COLUMNS, "备注"]
    pd.DataFrame([unknown, good, good, unknown], columns=columns).to_csv(
        folder / "2024-03.csv", index=False
    )
    (sources / "annuity_income").mkdir()
    reference = sources / "reference"
    reference.mkdir()
    pd.DataFrame({"计划代码": ["P0012", "P0013"], "计划名称": ["一", "二"]}).to_csv(
        reference / "plans.csv", index=False
    )
    pd.DataFrame({"客户名称": ["上海浦江制造有限公司"], "company_id": ["C1"]}).to_csv(
        reference / "company_mapping.csv", index=False
    )
    (sources / "manifest.json").write_text(json.dumps({"files": {}}), encoding="utf-8")
    return sources


def _map_new_customer(run):
    run.database.upsert_reference(
        {
            PLANS: pd.DataFrame({"计划代码": ["P0012"], "计划名称": ["一"]}),
            COMPANIES: pd.DataFrame({"客户名称": ["新客户有限公司"], "company_id": ["C9"]}),
        }
    )


def _loaded_rows(run):
    return sorted(_table(run.db_url, annuity_performance.NAME)["row_index"].tolist())


def test_a_duplicate_stays_dropped_while_the_row_it_copies_is_loaded(tmp_path, db_url):
    run = run_all(tmp_path, _duplicate_source(tmp_path), tmp_path / "dup_sources/reference", db_url)
    assert sorted(run.failures()["row_index"]) == [0, 2, 3]  # 0 unknown, 2 and 3 copies
    _map_new_customer(run)
    result = _replay(run)
    assert _loaded_rows(run) == [0, 1]
    still = read_failures(result.log)
    assert still[["row_index", "error_type"]].values.tolist() == [
        [2, "DROPPED_IN_PIPELINE"],
        [3, "DROPPED_IN_PIPELINE"],
    ]


def test_a_duplicate_replayed_alone_stays_dropped_when_its_first_copy_is_still_logged(
    tmp_path, db_url
):
    run = run_all(tmp_path, _duplicate_source(tmp_path), tmp_path / "dup_sources/reference", db_url)
    _map_new_customer(run)
    failures = run.failures()
    dropped_only = failures["error_type"] == "DROPPED_IN_PIPELINE"
    first = _replay(run, selected=dropped_only)
    assert first.fixed == 0
    assert _loaded_rows(run) == [1]
    second = _replay(run, selected=~dropped_only)  # now row 0 itself
    assert second.fixed == 1
    assert _loaded_rows(run) == [0, 1]
    third = _replay(run)
    assert third.fixed == 0
    assert _loaded_rows(run) == [0, 1]


def _forget_fingerprints(run):
    engine = sqlalchemy.create_engine(run.db_url, poolclass=sqlalchemy.pool.NullPool)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text("UPDATE annuity_performance SET raw_hash = NULL"))
    engine.dispose()


def test_rows_loaded_without_fingerprints_keep_their_copies_from_being_replayed(tmp_path, db_url):
    run = run_all(tmp_path, _duplicate_source(tmp_path), tmp_path / "dup_sources/reference", db_url)
    _forget_fingerprints(run)  # as if row 1 was loaded by a version without raw_hash
    _map_new_customer(run)
    result = _replay(run)
    counts = result.counts.loc["annuity_performance"]
    assert counts.loc["DROPPED_IN_PIPELINE", "not_run"] == 2  # rows 2 and 3
    assert counts.loc["ENRICHMENT_FAILED", "fixed"] == 1
    assert _loaded_rows(run) == [0, 1]
    assert "run wdh-etl over the file again" in result.errors["annuity_performance/2024-03.csv"]


def test_a_file_that_cannot_run_does_not_stop_the_others(first_run, tmp_path):
    _fix(first_run, tmp_path / "fixed")
    failures = first_run.failures()
    stranger = failures.iloc[[0]].assign(domain="annuity_retired", source_file="old.xlsx")
    unplaced = failures.iloc[[1]].assign(source_file="lost.xlsx", row_index=pd.NA)
    negative = failures.iloc[[2]].assign(source_file="edited.xlsx", row_index=-3)  # by hand
    log = pd.concat([stranger, unplaced, negative, failures], ignore_index=True)
    result = _replay(first_run, failures=log)
    fixable = sum(
        entry["failed"].get(error_type, 0)
        for entry in first_run.manifest["files"].values()
        for error_type in ("ENRICHMENT_FAILED", "FK_CONSTRAINT_VIOLATION")
    )
    assert result.fixed == fixable  # every fixable row of every domain
    assert "unknown domain 'annuity_retired'" in result.errors["annuity_retired/old.xlsx"]
    assert "no row_index" in result.errors[f"{unplaced['domain'].iloc[0]}/lost.xlsx"]
    assert "a negative one" in result.errors[f"{negative['domain'].iloc[0]}/edited.xlsx"]
    assert result.counts["not_run"].sum() == 3


def test_a_row_logged_twice_counts_once_by_its_latest_entry(first_run, tmp_path):
    _fix(first_run, tmp_path / "fixed")
    failures = first_run.failures()
    fk = failures[failures["error_type"] == "FK_CONSTRAINT_VIOLATION"].iloc[[0]]
    earlier = fk.assign(
        error_type="VALIDATION_FAILED", timestamp=fk["timestamp"] - pd.Timedelta("1h")
    )
    log = pd.concat([failures, earlier], ignore_index=True)  # appended last, but older
    only_earlier = pd.Series(False, index=log.index)
    only_earlier.iloc[-1] = True
    nothing = _replay(first_run, failures=log, selected=only_earlier)
    assert nothing.counts.empty
    assert nothing.fixed == 0
    result = _replay(first_run, failures=log)
    assert result.counts["selected"].sum() == len(failures)


def test_a_source_changed_since_its_load_replays_nothing_and_says_so(first_run, tmp_path):
    """Rows logged from a file corrected since (not run again) may be gone from it:
    loading them would put back what the file no longer says."""
    _fix(first_run, tmp_path / "fixed")
    failures = first_run.failures()
    changed = failures[failures["error_type"] == "ENRICHMENT_FAILED"].iloc[0]
    domain, name = str(changed["domain"]), str(changed["source_file"])
    path = first_run.sources / domain / name.rsplit("[", 1)[0]
    unchanged_bytes = path.read_bytes()
    path.write_bytes(unchanged_bytes + b"\n")  # a byte more: not the file its load read

    def rows_of_file():
        return int((_table(first_run.db_url, domain)["source_file"] == name).sum())

    before = rows_of_file()
    result = replay_failures(
        failures,
        first_run.workspace(),
        session_id=generate_session_id(),
        logs_dir=first_run.logs,
        source_dir=first_run.sources,
    )
    in_file = failures[(failures["domain"] == domain) & (failures["source_file"] == name)]
    assert (
        f"{len(in_file)} rows not run: {path} changed after session"
        in result.errors[f"{domain}/{name}"]
    )
    assert rows_of_file() == before  # nothing of that file added
    assert result.counts["fixed"].sum() > 0  # the other files replayed
    path.write_bytes(unchanged_bytes)  # the file as loaded again: its rows replay
    again = _replay(first_run)
    assert f"{domain}/{name}" not in again.errors
    assert rows_of_file() > before


def test_the_hint_to_resume_names_only_a_session_that_can_resume():
    """A log an older release named with no real date (month 13) cannot be resumed:
    the reason its rows do not run does not tell the operator to try."""
    from work_data_hub.io.file_loads import LEDGER_COLUMNS
    from work_data_hub.workflows.rerun import _stale_sessions

    real, odd = "etl_20240301_090000_0a1b2c", "etl_20241301_090000_0a1b2c"
    nothing_committed = pd.DataFrame(columns=list(LEDGER_COLUMNS))
    _, _, uncommitted = _stale_sessions(nothing_committed, pd.Series([real, odd]), "a.csv")
    assert uncommitted[real].endswith(f"or resume the session with --session-id {real}")
    assert uncommitted[odd].endswith("run wdh-etl over the file again")
