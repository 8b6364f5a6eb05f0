import json

import pandas as pd

from tests.helpers import write_log
from work_data_hub.analysis import diff_sessions
from work_data_hub.infrastructure.validation import read_failures

OLD = "etl_20240301_090000_aaaaaa"
NEW = "etl_20240302_090000_bbbbbb"


def test_new_resolved_and_persisting_by_content(tmp_path, raw):
    old = read_failures(
        write_log(tmp_path, OLD, [("d", "f.csv", "ENRICHMENT_FAILED", raw.iloc[[0, 1, 2]])])
    )
    # the source was re-sorted: P3 moved to row 0, P1 was fixed, P5 is new
    resorted = raw.iloc[[2, 1, 4]].reset_index(drop=True)
    new = read_failures(write_log(tmp_path, NEW, [("d", "f.csv", "ENRICHMENT_FAILED", resorted)]))
    diff = diff_sessions(old, new)
    by_code = {
        json.loads(text)["计划代码"]: status
        for text, status in zip(diff["raw_data"], diff["status"], strict=True)
    }
    assert by_code == {"P3": "persisting", "P2": "persisting", "P5": "new", "P1": "resolved"}
    assert diff["status"].tolist() == ["new", "persisting", "persisting", "resolved"]
    assert diff.loc[diff["status"] == "resolved", "session_id"].tolist() == [OLD]
    assert diff.loc[diff["status"] == "new", "row_index"].tolist() == [2]


def test_duplicates_match_one_to_one(tmp_path, raw):
    twice = pd.concat([raw.iloc[[0]], raw.iloc[[0]]], ignore_index=True)
    old = read_failures(write_log(tmp_path, OLD, [("d", "f", "VALIDATION_FAILED", twice)]))
    new = read_failures(write_log(tmp_path, NEW, [("d", "f", "VALIDATION_FAILED", raw.iloc[[0]])]))
    assert diff_sessions(old, new)["status"].tolist() == ["persisting", "resolved"]


def test_same_row_in_another_file_or_domain_is_not_the_same_failure(tmp_path, raw):
    old = read_failures(write_log(tmp_path, OLD, [("d", "f", "VALIDATION_FAILED", raw.iloc[:1])]))
    new = read_failures(write_log(tmp_path, NEW, [("d", "g", "VALIDATION_FAILED", raw.iloc[:1])]))
    assert sorted(diff_sessions(old, new)["status"]) == ["new", "resolved"]
