import re
import subprocess
import sys

import pytest

from work_data_hub.errors import InvalidSessionIdError
from work_data_hub.infrastructure.validation import generate_session_id, validate_session_id

FORMAT = re.compile(r"etl_[0-9]{8}_[0-9]{6}_[0-9a-f]{6}")


def test_generated_ids_have_the_format_and_local_time():
    from datetime import datetime

    before = datetime.now().strftime("%Y%m%d_%H%M%S")
    session_id = generate_session_id()
    after = datetime.now().strftime("%Y%m%d_%H%M%S")
    assert FORMAT.fullmatch(session_id)
    assert before <= session_id[4:19] <= after


def test_ids_never_repeat_within_a_process():
    ids = [generate_session_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)


def test_ids_are_random_across_processes():
    code = "from work_data_hub.infrastructure.validation import generate_session_id as g;print(g())"
    suffixes = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()[-6:]
        for _ in range(3)
    }
    assert len(suffixes) == 3


def test_empty_session_id_message():
    with pytest.raises(ValueError, match=r"^session_id cannot be empty$"):
        validate_session_id("")


@pytest.mark.parametrize(
    "bad",
    [
        "etl_20240101_120000_ABCDEF",
        "etl_20240101_120000_abcde",
        "etl_20240101_120000_abcdefa",
        "../etl_20240101_120000_abcdef",
        "etl_20240101_120000_abc/ef",
        "etl_20240101_120000_abc\x00ef",
        "/tmp/etl_20240101_120000_abcdef",
        "etl_٢٠٢٤0101_120000_abcdef",  # non-ASCII digits
        "etl_20240101_120000_abcdef\n",
        " etl_20240101_120000_abcdef",
        "..",
    ],
)
def test_malformed_ids_are_refused_and_named(bad):
    with pytest.raises(InvalidSessionIdError) as info:
        validate_session_id(bad)
    assert repr(bad) in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "unreal",
    [
        "etl_20261307_250000_abcdef",  # month 13, hour 25
        "etl_20230229_120000_abcdef",  # no leap day in 2023
        "etl_20240101_240000_abcdef",
        "etl_20240101_120060_abcdef",
        "etl_00000101_120000_abcdef",
    ],
)
def test_ids_whose_date_or_time_is_not_real_are_refused_and_named(unreal):
    with pytest.raises(InvalidSessionIdError, match="no real date and time") as info:
        validate_session_id(unreal)
    assert repr(unreal) in str(info.value)


def test_a_leap_day_and_the_last_second_of_a_day_are_real():
    assert validate_session_id("etl_20240229_235959_abcdef") == "etl_20240229_235959_abcdef"
