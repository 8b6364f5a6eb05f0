"""io/_sqlite: the wait an SQLite URL asks for, checked the same for the CLI and the library."""

from __future__ import annotations

import math
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from work_data_hub.io import _sqlite
from work_data_hub.io.database import Database


@given(st.floats(min_value=0, max_value=1e12, allow_nan=False, allow_infinity=False))
def test_a_timeout_of_seconds_is_that_wait_capped_where_sqlite_would_wrap(seconds):
    waited = _sqlite.wait_seconds(f"sqlite:///w.db?timeout={seconds!r}")
    assert waited == min(seconds, 2_000_000.0)
    assert int(waited * 1000) < 2**31  # SQLite's busy_timeout is a 32-bit int of ms


@given(st.text(max_size=12))
def test_any_other_timeout_is_a_value_error_naming_it(text):
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    url = f"sqlite:///w.db?timeout={quote(text, safe='')}"
    if text == "":  # ?timeout= with nothing: the URL parser drops it, the default wait
        assert _sqlite.wait_seconds(url) == _sqlite.SQLITE_WAIT_SECONDS
    elif 0 <= seconds < math.inf:
        assert _sqlite.wait_seconds(url) == min(seconds, 2_000_000.0)
    else:
        with pytest.raises(ValueError, match="is not the seconds to wait"):
            _sqlite.wait_seconds(url)


def test_a_timeout_given_twice_is_refused_as_the_driver_would_fail_on_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'w.db'}?timeout=1&timeout=2"
    with pytest.raises(ValueError, match="timeout= is given 2 times: give it once"):
        _sqlite.wait_seconds(url)
    with pytest.raises(ValueError, match="given 2 times"):
        Database(url)
    assert not (tmp_path / "w.db").exists()


def test_minus_zero_is_no_wait():
    assert str(_sqlite.wait_seconds("sqlite:///w.db?timeout=-0")) == "0.0"


def test_a_timeout_in_another_database_s_url_is_that_driver_s_business():
    assert Database("postgresql+psycopg://wdh@127.0.0.1:1/wdh?timeout=soon").wait_seconds == 0.0


def test_no_timeout_is_the_default_wait_and_other_databases_get_no_sqlite_arguments():
    assert _sqlite.wait_seconds("sqlite:///w.db") == _sqlite.SQLITE_WAIT_SECONDS
    assert _sqlite.engine_arguments("postgresql+psycopg://wdh@db/wdh") == {}


@pytest.mark.parametrize("timeout", ["inf", "nan", "-0.5", "soon"])
def test_a_library_user_s_bad_timeout_is_refused_before_a_file_is_made(tmp_path, timeout):
    with pytest.raises(ValueError, match=f"timeout='{timeout}'"):
        Database(f"sqlite:///{tmp_path / 'w.db'}?timeout={timeout}")
    assert not (tmp_path / "w.db").exists()
