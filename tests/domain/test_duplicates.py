"""Exact duplicates: compared as raw_data, within a batch and against loaded rows."""

import datetime as dt

import pandas as pd
from hypothesis import given

from tests.strategies import read_frames
from work_data_hub.domain.duplicates import copy_of, fingerprints, raw_texts
from work_data_hub.infrastructure.validation.raw_data_expand import source_rows


def test_the_first_copy_stays_and_later_copies_name_it():
    rows = pd.DataFrame({"a": ["x", "y", "x", "x"], "b": [1, 2, 1, 1]}, index=[10, 11, 12, 13])
    assert copy_of(rows).tolist() == [pd.NA, pd.NA, 10, 10]


def test_text_and_number_of_the_same_digits_are_not_copies():
    rows = pd.DataFrame({"计划代码": ["0012", 12, "12"]}, dtype=object)
    assert copy_of(rows).isna().all()


def test_an_excel_date_and_its_logged_text_are_the_same_row():
    cell = pd.DataFrame({"月度": [dt.datetime(2024, 3, 1)]}, dtype=object)
    logged = pd.DataFrame({"raw_data": raw_texts(cell)})
    assert raw_texts(source_rows(logged)).tolist() == raw_texts(cell).tolist()


def test_a_row_already_loaded_makes_a_replayed_copy_a_duplicate():
    rows = pd.DataFrame({"a": ["x", "y"]}, index=[3, 5])
    loaded = pd.Series([1], index=fingerprints(raw_texts(rows.loc[[3]])).to_numpy())
    assert copy_of(rows, loaded).tolist() == [1, pd.NA]


@given(read_frames())
def test_fingerprints_survive_the_failure_log_round_trip(frame):
    logged = pd.DataFrame({"raw_data": raw_texts(frame)})
    again = fingerprints(raw_texts(source_rows(logged)))
    assert again.tolist() == fingerprints(raw_texts(frame)).tolist()
    assert again.dtype == "int64"
