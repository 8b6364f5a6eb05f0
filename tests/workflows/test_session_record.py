"""The session sidecar: written whole, without a password, read back by log path; and
what a session committed, from the ledger of a real run."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.workflows.runs import Run
from work_data_hub.workflows import SessionRecord, session_settings
from work_data_hub.workflows.session_record import (
    committed_files,
    database_url_for_record,
    record_path,
    write_session_record,
)

SESSION = "etl_20240301_090000_0a1b2c"


def _log(folder: Path, session_id: str = SESSION) -> Path:
    return folder / f"wdh_etl_failures_{session_id}.csv"


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("postgresql+psycopg://wdh:s3cr%40t@db:5432/wdh?sslmode=require",
         "postgresql+psycopg://wdh@db:5432/wdh?sslmode=require"),
        ("postgresql://wdh@db/wdh", "postgresql://wdh@db/wdh"),
        ("sqlite:////srv/wdh.db", "sqlite:////srv/wdh.db"),
        ("sqlite://", "sqlite://"),
    ],
)  # fmt: skip
def test_a_record_keeps_the_database_url_without_its_password(url, kept):
    assert database_url_for_record(url) == kept


def test_a_relative_sqlite_file_is_kept_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert database_url_for_record("sqlite:///data/wdh.db") == f"sqlite:///{tmp_path}/data/wdh.db"


def test_a_record_is_read_back_from_its_log_path_even_without_a_log(tmp_path):
    record = SessionRecord(
        SESSION,
        db_url="sqlite:////srv/wdh.db",
        source_dir=Path("/srv/in"),
        reference_dir=Path("/srv/in/reference"),
        domains=("annuity_income", "annual_award"),
    )
    path = write_session_record(record, tmp_path)
    assert path == record_path(tmp_path, SESSION)
    assert not _log(tmp_path).exists()
    assert session_settings(_log(tmp_path)) == record
    assert session_settings(str(_log(tmp_path))) == record
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_a_replay_record_names_the_session_it_replays(tmp_path):
    replay = SessionRecord(
        "etl_20240302_090000_bbbbbb", db_url="sqlite://", replays=SESSION, domains=("x",)
    )
    write_session_record(replay, tmp_path)
    data = json.loads(record_path(tmp_path, replay.session_id).read_text(encoding="utf-8"))
    assert (data["kind"], data["replays"], data["source_dir"]) == ("replay", SESSION, None)
    assert session_settings(_log(tmp_path, replay.session_id)) == replay


def test_a_resumed_session_keeps_its_first_start_time_and_its_latest_settings(tmp_path):
    first = SessionRecord(SESSION, db_url="sqlite:////a.db", started="2024-03-01T09:00:00+08:00")
    write_session_record(first, tmp_path)
    write_session_record(SessionRecord(SESSION, db_url="sqlite:////b.db"), tmp_path)
    again = session_settings(_log(tmp_path))
    assert again is not None
    assert (again.started, again.db_url) == ("2024-03-01T09:00:00+08:00", "sqlite:////b.db")


@pytest.mark.parametrize(
    "text", ["", "{", "[]", '{"session_id": "etl_20240301_090000_0a1b2c"}', "\x00"]
)
def test_a_record_that_cannot_be_read_is_as_good_as_none(tmp_path, text):
    record_path(tmp_path, SESSION).write_text(
        text,
        encoding="utf-8",
    )
    assert session_settings(_log(tmp_path)) is None


def test_a_record_of_another_session_or_a_log_not_named_like_one_is_none(tmp_path):
    other = SessionRecord("etl_20240302_090000_bbbbbb", db_url="sqlite://")
    record_path(tmp_path, SESSION).write_text(json.dumps(other.to_json()), encoding="utf-8")
    assert session_settings(_log(tmp_path)) is None
    assert session_settings(tmp_path / "failures.csv") is None


def test_a_record_that_cannot_be_written_raises_and_leaves_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_session_record(SessionRecord(SESSION, db_url="sqlite://"), tmp_path / "missing")
    assert list(tmp_path.iterdir()) == []


def test_committed_files_counts_a_sessions_files_in_the_ledger(first_run: Run):
    files = {re.sub(r"\[[^\]]*\]$", "", key) for key in first_run.manifest["files"]}
    assert committed_files(first_run.db_url, first_run.session_id) == len(files)
    assert committed_files(first_run.db_url, "etl_19990101_000000_000000") == 0
