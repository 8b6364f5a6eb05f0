import pytest

from tests.helpers import write_log
from work_data_hub.analysis import list_sessions, resolve_log
from work_data_hub.errors import AmbiguousSessionError, LogNotFoundError

OLD = "etl_20240301_090000_aaaaaa"
NEW = "etl_20240302_090000_bbbbbb"
NEWER_SAME_SECOND = "etl_20240302_090000_cccccc"


@pytest.fixture
def logs(tmp_path, raw):
    write_log(tmp_path, OLD, [("annuity_income", "a.csv", "VALIDATION_FAILED", raw.iloc[:2])])
    write_log(
        tmp_path,
        NEW,
        [
            ("annuity_performance", "b.xlsx", "ENRICHMENT_FAILED", raw.iloc[:3]),
            ("annuity_income", "c.csv", "DROPPED_IN_PIPELINE", raw.iloc[3:]),
        ],
    )
    (tmp_path / "notes.txt").write_text("not a log")
    (tmp_path / "wdh_etl_failures_bad.csv").write_text("not a session log")
    # a session record (its log's sidecar) and one of a session that logged nothing
    for session in (NEW, "etl_20240303_090000_dddddd"):
        (tmp_path / f"wdh_etl_session_{session}.json").write_text('{"session_id": "x"}')
    return tmp_path


def test_sessions_newest_first_with_counts(logs):
    sessions = list_sessions(logs)
    assert sessions["session_id"].tolist() == [NEW, OLD]
    newest = sessions.iloc[0]
    assert newest["rows"] == 5
    assert newest["ENRICHMENT_FAILED"] == 3
    assert newest["DROPPED_IN_PIPELINE"] == 2
    assert newest["VALIDATION_FAILED"] == 0
    assert newest["domains"] == "annuity_income, annuity_performance"
    assert str(newest["started"]) == "2024-03-02 09:00:00"
    assert newest["path"].endswith(f"wdh_etl_failures_{NEW}.csv")


def _misdated(logs, session_id, unreal):
    """Rename ``session_id``'s log to ``unreal``, an id whose date is no real one (as
    releases that did not check the date let a run be named)."""
    old = logs / f"wdh_etl_failures_{session_id}.csv"
    text = old.read_text(encoding="utf-8").replace(session_id, unreal)
    (logs / f"wdh_etl_failures_{unreal}.csv").write_text(text, encoding="utf-8")
    old.unlink()


def test_a_log_whose_id_holds_no_real_date_is_listed_last_without_a_start(logs):
    unreal = "etl_20261307_250000_abcdef"
    _misdated(logs, OLD, unreal)
    sessions = list_sessions(logs)
    assert sessions["session_id"].tolist() == [NEW, unreal]
    assert sessions["started"].isna().tolist() == [False, True]
    assert sessions.iloc[1]["rows"] == 2
    assert resolve_log(None, logs).name == f"wdh_etl_failures_{NEW}.csv"
    assert resolve_log("etl_202613", logs).name == f"wdh_etl_failures_{unreal}.csv"


def test_no_logs_folder(tmp_path):
    with pytest.raises(LogNotFoundError, match="no logs folder"):
        list_sessions(tmp_path / "missing")
    assert list_sessions(tmp_path).empty


def test_resolve_by_id_prefix_path_or_newest(logs, raw):
    assert resolve_log(None, logs).name == f"wdh_etl_failures_{NEW}.csv"
    assert resolve_log(OLD, logs).name == f"wdh_etl_failures_{OLD}.csv"
    assert resolve_log("etl_20240301", logs).name == f"wdh_etl_failures_{OLD}.csv"
    path = logs / f"wdh_etl_failures_{OLD}.csv"
    assert resolve_log(str(path), logs) == path
    write_log(logs, NEWER_SAME_SECOND, [("d", "f", "VALIDATION_FAILED", raw.iloc[:1])])
    assert resolve_log(None, logs).name == f"wdh_etl_failures_{NEWER_SAME_SECOND}.csv"
    with pytest.raises(AmbiguousSessionError, match="matches 2 sessions"):
        resolve_log("etl_20240302", logs)


@pytest.mark.parametrize(
    ("reference", "message"),
    [("etl_1999", "no session .* starts with 'etl_1999'"), ("missing.csv", "no failure log at")],
)
def test_resolve_errors(logs, reference, message):
    with pytest.raises(LogNotFoundError, match=message):
        resolve_log(reference, logs)


def test_resolve_in_an_empty_folder(tmp_path):
    with pytest.raises(LogNotFoundError, match="no failure logs in"):
        resolve_log(None, tmp_path)
