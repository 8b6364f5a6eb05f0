"""Explain and replay from the command line: real sources, real subprocesses, a real
database of each dialect (``db_url``).

The operator's path: a run fails rows; ``wdh-failures explain`` says why;
the reference data is fixed; ``wdh-etl replay`` loads what passes now. The run
gets ``--db``; explain and replay find the database in the session's record.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import SQLITE_ONLY, query, wdh_etl, wdh_failures
from tests.workflows.runs import Run, fixed_reference
from work_data_hub.infrastructure.validation import read_failures
from work_data_hub.samples.generate import generate
from work_data_hub.workflows import session_settings


@pytest.fixture
def ran(tmp_path, db_url) -> Run:
    """``wdh-etl --all-domains --db db_url`` over generated sources, the other options
    the defaults, relative to tmp_path."""
    generate(tmp_path / "data" / "samples", rows=8, seed=5)
    result = wdh_etl(
        "--all-domains", "--db", db_url, "--plain", "--summary-json", "run.json", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))
    manifest = json.loads((tmp_path / "data/samples/manifest.json").read_text(encoding="utf-8"))
    return Run(
        root=tmp_path,
        sources=tmp_path / "data" / "samples",
        db_url=db_url,
        logs=tmp_path / "logs",
        session_id=summary["session_id"],
        manifest=manifest,
    )


def _seed(run: Run, source: str, step: str) -> int:
    seeded = run.manifest["files"][f"annuity_performance/{source}"]["seeded"]
    return next(seed["row"] for seed in seeded if seed["step"] == step)


def _loaded(run: Run) -> list[tuple]:
    return query(
        run.db_url,
        "SELECT source_file, row_index, session_id, replayed_from FROM annuity_performance "
        "ORDER BY source_file, row_index",
    )


def test_from_a_failed_row_to_its_reason_in_one_command(ran):
    row = _seed(ran, "2024-03.xlsx", "enrich_company")
    result = wdh_failures(
        "explain", "--source-file", "2024-03.xlsx", "--row", str(row), "--plain", cwd=ran.root
    )
    assert result.returncode == 0, result.stderr
    shown = " ".join(result.stdout.split())  # the table wraps the reason at 100 columns
    assert "enrich_company" in shown
    assert "has no company mapping" in shown
    assert "1 of 1 failed rows: 1 fails" in shown


def test_explain_json_has_one_record_per_failed_row(ran):
    result = wdh_failures("explain", ran.session_id, "--json", "--limit", "1000", cwd=ran.root)
    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout)["explained"]
    assert len(records) == len(ran.failures())
    assert {r["verdict"] for r in records} == {"fails"}
    assert {r["step"] for r in records} >= {"bronze_validation", "plan_exists", "drop_duplicates"}


def test_explain_with_fixed_reference_files_says_passes_now_and_changes_nothing(ran):
    fixed = fixed_reference(ran, ran.root / "fixed")
    before = _loaded(ran)
    result = wdh_failures(
        "explain", "--error-type", "ENRICHMENT_FAILED", "--reference", str(fixed), cwd=ran.root
    )
    assert result.returncode == 0, result.stderr
    assert "6 passes now" in result.stdout  # 2 domains x 3 files
    log = Path("logs") / f"wdh_etl_failures_{ran.session_id}.csv"
    hint = f"wdh-etl replay {log} --error-type ENRICHMENT_FAILED --reference {fixed}"
    assert f"Load the rows that pass now: {hint}\n" in result.stdout
    assert _loaded(ran) == before


def test_fix_then_replay_loads_the_fixed_rows_once(ran):
    fixed = fixed_reference(ran, ran.root / "fixed")
    before = _loaded(ran)
    result = wdh_etl(
        "replay", ran.session_id, "--reference", str(fixed), "--summary-json", "r1.json",
        "--plain", cwd=ran.root,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"replays {ran.session_id}" in result.stdout
    assert "Rows still failing:" in result.stdout
    summary = json.loads((ran.root / "r1.json").read_text(encoding="utf-8"))
    fixed_rows = {
        (c["domain"], c["error_type"]): c["fixed"] for c in summary["counts"] if c["fixed"]
    }
    seeded = {}  # (domain, error type) -> rows the fix lets through, from the manifest
    for key, entry in ran.manifest["files"].items():
        for error_type in ("ENRICHMENT_FAILED", "FK_CONSTRAINT_VIOLATION"):
            domain_type = (key.split("/")[0], error_type)
            seeded[domain_type] = seeded.get(domain_type, 0) + entry["failed"][error_type]
    assert fixed_rows == seeded
    new_rows = sorted(set(_loaded(ran)) - set(before))
    assert len(new_rows) == 6  # this domain's share
    assert {(r[2], r[3]) for r in new_rows} == {(summary["session_id"], ran.session_id)}
    still = read_failures(summary["failure_log"])
    assert set(still["error_type"]) == {"VALIDATION_FAILED", "DROPPED_IN_PIPELINE"}
    assert set(still["session_id"]) == {summary["session_id"]}

    again = wdh_etl("replay", ran.session_id, "--summary-json", "r2.json", cwd=ran.root)
    assert again.returncode == 0, again.stderr
    second = json.loads((ran.root / "r2.json").read_text(encoding="utf-8"))
    assert sum(c["fixed"] for c in second["counts"]) == 0
    assert sum(c["already_loaded"] for c in second["counts"]) == sum(seeded.values())
    assert sorted(_loaded(ran)) == sorted(before + new_rows)


def test_replay_filters_by_error_type_and_domain(ran):
    fixed = fixed_reference(ran, ran.root / "fixed")
    result = wdh_etl(
        "replay", "--domain", "annuity_income", "--error-type", "FK_CONSTRAINT_VIOLATION",
        "--reference", str(fixed), "--summary-json", "r.json", cwd=ran.root,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    counts = json.loads((ran.root / "r.json").read_text(encoding="utf-8"))["counts"]
    assert [(c["domain"], c["error_type"], c["selected"], c["fixed"]) for c in counts] == [
        ("annuity_income", "FK_CONSTRAINT_VIOLATION", 3, 3)
    ]
    assert "No rows still failing" in result.stdout


@SQLITE_ONLY
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_a_replay_summary_json_that_cannot_be_written_is_one_line(ran):
    result = wdh_etl("replay", ran.session_id, "--summary-json", "/dev/full", cwd=ran.root)
    assert result.returncode == 1
    assert result.stderr == (
        "wdh-etl replay: --summary-json not written: cannot write /dev/full: "
        "No space left on device (the replay is done)\n"
    )
    assert "Rows still failing: " in result.stdout


def test_nothing_selected_is_said_and_is_not_an_error(ran):
    result = wdh_etl("replay", "--source-file", "no-such.xlsx", cwd=ran.root)
    assert result.returncode == 0, result.stderr
    assert "Nothing to replay" in result.stdout


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["replay", "etl_19990101"], 1, "no session in logs starts with 'etl_19990101'"),
        # a missing SQLite file, whichever database the run used
        (["replay", "--db", "sqlite:///missing/wdh.db"], 1, "no database at missing/wdh.db"),
        (["replay", "--reference", "nowhere"], 1, "no reference folder nowhere"),
        (["replay", "--error-type", "NOPE"], 2, "invalid choice"),
    ],
)
@SQLITE_ONLY  # bad arguments and a missing SQLite file: the database plays no part
def test_replay_bad_input(ran, args, status, message):
    result = wdh_etl(*args, cwd=ran.root)
    assert result.returncode == status
    assert message in result.stderr
    if status == 1:
        assert result.stderr.count("\n") == 1
        assert result.stderr.startswith("wdh-etl replay: ")


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("nodir/r.json", "--summary-json nodir/r.json: no folder nodir"),
        (".", "--summary-json . is a folder: name a file"),
        ("L" * 300 + ".json", "cannot be written there (File name too long)"),
    ],
    ids=["no folder", "a folder", "name too long"],
)
@SQLITE_ONLY  # a refused argument: the database plays no part
def test_a_summary_json_that_cannot_be_written_is_refused_before_the_replay(ran, target, message):
    before = sorted(path.name for path in ran.logs.iterdir())
    result = wdh_etl("replay", "--summary-json", target, cwd=ran.root)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("wdh-etl replay: --summary-json ")
    assert message in result.stderr
    assert result.stdout == ""
    assert sorted(path.name for path in ran.logs.iterdir()) == before  # no replay session


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file descriptors")
@SQLITE_ONLY  # a refused URL: the database plays no part
def test_replay_bad_database_with_stderr_closed_still_exits_2(ran):
    """``wdh-etl replay --db ... 2>&-``: no stream to say it on, the status all the same."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "work_data_hub.cli.etl",
            "replay",
            "--db",
            "sqlite:///w.db?timeout=-1",
        ],
        cwd=ran.root,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: os.close(2),
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stdout


@SQLITE_ONLY  # a missing SQLite file
def test_explain_without_a_database_says_how_to_get_one(ran):
    result = wdh_failures("explain", "--db", "sqlite:///nope.db", cwd=ran.root)
    assert result.returncode == 1
    assert "no database at nope.db: run wdh-etl first, or pass --db" in result.stderr


def test_help_mentions_replay(tmp_path):
    result = wdh_etl("--help", cwd=tmp_path)
    assert "wdh-etl replay" in result.stdout
    replay_help = wdh_etl("replay", "--help", cwd=tmp_path)
    assert replay_help.returncode == 0
    assert "--reference" in replay_help.stdout


def _record(logs: Path, session_id: str) -> dict:
    return json.loads((logs / f"wdh_etl_session_{session_id}.json").read_text(encoding="utf-8"))


def _seeded_fixes(run: Run) -> int:
    """Rows that a reference fix lets through, from the manifest."""
    return sum(
        entry["failed"][error_type]
        for entry in run.manifest["files"].values()
        for error_type in ("ENRICHMENT_FAILED", "FK_CONSTRAINT_VIOLATION")
    )


def _own_db(work: Path, db_url: str) -> tuple[str, str]:
    """The URL to pass (an SQLite file relative to ``work``) and the URL a record keeps."""
    if db_url.startswith("sqlite"):
        return "sqlite:///own.db", f"sqlite:///{work / 'own.db'}"
    return db_url, db_url


def test_replay_defaults_to_the_database_and_reference_folder_its_run_used(tmp_path, db_url):
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    generate(work / "in", rows=8, seed=5)
    elsewhere.mkdir()
    given, kept = _own_db(work, db_url)
    result = wdh_etl(
        "--all-domains", "--source", "in", "--db", given, "--summary-json", "run.json", cwd=work,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    session = json.loads((work / "run.json").read_text(encoding="utf-8"))["session_id"]
    manifest = json.loads((work / "in" / "manifest.json").read_text(encoding="utf-8"))
    run = Run(work, work / "in", kept, work / "logs", session, manifest)
    fixed_reference(run, work / "in" / "reference")  # the fix, where the run read it
    replay = wdh_etl(
        "replay", session, "--logs-dir", str(work / "logs"), "--summary-json", "r.json",
        cwd=elsewhere,
    )  # fmt: skip
    assert replay.returncode == 0, replay.stderr
    summary = json.loads((elsewhere / "r.json").read_text(encoding="utf-8"))
    assert sum(c["fixed"] for c in summary["counts"]) == _seeded_fixes(run)
    assert not (elsewhere / "data").exists()  # not the default database
    record = _record(work / "logs", summary["session_id"])
    assert (record["kind"], record["replays"]) == ("replay", session)
    assert record["db_url"] == run.db_url
    assert record["reference_dir"] == str(work / "in" / "reference")


def test_explicit_options_win_over_the_replayed_sessions_record(ran):
    # an SQLite file that is not there, whichever database the run used
    result = wdh_etl("replay", "--db", "sqlite:///elsewhere.db", cwd=ran.root)
    assert result.returncode == 1
    assert result.stderr == (
        "wdh-etl replay: no database at elsewhere.db: run wdh-etl first, or pass --db\n"
    )
    assert _record(ran.logs, ran.session_id)["db_url"] == ran.db_url


def test_a_replay_that_fixes_every_row_names_its_session_and_leaves_its_record(ran):
    fixed = fixed_reference(ran, ran.root / "fixed")
    result = wdh_etl(
        "replay", "--error-type", "ENRICHMENT_FAILED", "--reference", str(fixed), "--plain",
        cwd=ran.root,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    said = re.search(r"^No rows still failing in session (etl_\w+)\.$", result.stdout, re.M)
    assert said, result.stdout
    replay = said[1]
    assert not (ran.logs / f"wdh_etl_failures_{replay}.csv").exists()
    settings = session_settings(ran.logs / f"wdh_etl_failures_{replay}.csv")
    assert settings is not None
    assert (settings.replays, settings.reference_dir) == (ran.session_id, fixed)


def test_summary_of_a_session_that_logged_nothing_says_so(ran):
    fixed = fixed_reference(ran, ran.root / "fixed")
    result = wdh_etl(
        "replay", "--error-type", "ENRICHMENT_FAILED", "--reference", str(fixed), "--plain",
        cwd=ran.root,
    )  # fmt: skip
    replay = re.search(r"in session (etl_\w+)\.$", result.stdout, re.M)[1]
    summary = wdh_failures("summary", replay, cwd=ran.root)
    assert summary.returncode == 0, summary.stderr
    assert summary.stdout.strip() == f"No failed rows in session {replay}."
    assert (
        json.loads(wdh_failures("summary", replay, "--json", cwd=ran.root).stdout)["summary"] == []
    )
    unknown = wdh_failures("summary", "etl_19990101", cwd=ran.root)
    assert unknown.returncode == 1  # no log and no record: still no such session


def test_explain_defaults_to_the_database_and_reference_folder_the_run_used(ran, tmp_path):
    elsewhere = tmp_path / "elsewhere"  # no data/wdh.db here: only the record says where it is
    elsewhere.mkdir()
    mapping = ran.sources / "reference" / "company_mapping.csv"
    fixed = fixed_reference(ran, ran.root / "fixed")
    mapping.write_bytes((fixed / "company_mapping.csv").read_bytes())  # fixed where it was read
    options = [ran.session_id, "--error-type", "ENRICHMENT_FAILED", "--logs-dir", str(ran.logs)]
    told = wdh_failures(
        "explain", *options, "--db", ran.db_url, "--reference", str(ran.sources / "reference"),
        "--json", cwd=elsewhere,
    )  # fmt: skip
    remembered = wdh_failures("explain", *options, "--json", cwd=elsewhere)
    assert remembered.returncode == 0, remembered.stderr
    verdicts = [row["verdict"] for row in json.loads(remembered.stdout)["explained"]]
    assert verdicts.count("passes now") > 0
    assert json.loads(remembered.stdout) == json.loads(told.stdout)
    assert not (elsewhere / "data").exists()
