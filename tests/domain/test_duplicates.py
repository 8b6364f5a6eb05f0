"""Exact duplicates: compared as raw_data, within a batch and against loaded rows."""

import datetime as dt

import pandas as pd
from hypothesis import given

from tests.strategies import read_frames
from work_data_hub.domain.duplicates import copy_of, fingerprints
from work_data_hub.infrastructure.validation._raw_decode import source_rows
from work_data_hub.infrastructure.validation.raw_data import encode_rows

# computed once with pandas 3.1 (SipHash-2-4, pandas' fixed key); stored in databases
PINNED = [8472254365677884893, 4647386370669607142, 1760245841805064774]


def test_the_first_copy_stays_and_later_copies_name_it():
    rows = pd.DataFrame({"a": ["x", "y", "x", "x"], "b": [1, 2, 1, 1]}, index=[10, 11, 12, 13])
    assert copy_of(encode_rows(rows)).tolist() == [pd.NA, pd.NA, 10, 10]


def test_text_and_number_of_the_same_digits_are_not_copies():
    rows = pd.DataFrame({"计划代码": ["0012", 12, "12"]}, dtype=object)
    assert copy_of(encode_rows(rows)).isna().all()


def test_an_excel_date_and_its_logged_text_are_the_same_row():
    cell = pd.DataFrame({"月度": [dt.datetime(2024, 3, 1)]}, dtype=object)
    logged = pd.DataFrame({"raw_data": encode_rows(cell)})
    assert encode_rows(source_rows(logged)).tolist() == encode_rows(cell).tolist()


def test_a_row_already_loaded_makes_a_replayed_copy_a_duplicate():
    rows = pd.DataFrame({"a": ["x", "y"]}, index=[3, 5])
    loaded = pd.Series([1], index=fingerprints(encode_rows(rows.loc[[3]])).to_numpy())
    assert copy_of(encode_rows(rows), loaded).tolist() == [1, pd.NA]


def test_every_copy_of_a_loaded_row_names_the_loaded_row_the_lowest_first():
    rows = pd.DataFrame({"a": ["x", "x", "y"]}, index=[4, 9, 12])
    print_x = fingerprints(encode_rows(rows.loc[[4]]))[4]
    loaded = pd.Series([6, 1], index=[print_x, print_x])
    assert copy_of(encode_rows(rows), loaded).tolist() == [1, 1, pd.NA]


def test_fingerprints_are_pinned_because_the_database_keeps_them():
    texts = pd.Series(['{"计划代码":"0012"}', '{"月度":202403}', ""])
    assert fingerprints(texts).tolist() == PINNED


@given(read_frames())
def test_fingerprints_survive_the_failure_log_round_trip(frame):
    logged = pd.DataFrame({"raw_data": encode_rows(frame)})
    again = fingerprints(encode_rows(source_rows(logged)))
    assert again.tolist() == fingerprints(encode_rows(frame)).tolist()
    assert again.dtype == "int64"
