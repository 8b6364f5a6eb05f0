import json

import pandas as pd
import pytest

from tests.helpers import SESSION
from work_data_hub.errors import FailureLogFormatError
from work_data_hub.infrastructure.validation import (
    FAILURE_LOG_SCHEMA,
    FIELDNAMES,
    FailureExporter,
    expand_raw_data,
    holds_entries,
    latest_entries,
    read_failures,
    to_failed_frame,
)
from work_data_hub.infrastructure.validation._file_lock import lock_path_for

HEADER = ",".join(FIELDNAMES) + "\n"


@pytest.fixture
def log(tmp_path):
    raw = pd.DataFrame(
        {
            "月度": pd.to_datetime(["2024-01-31", None, "2024-03-31"]),
            "计划代码": ["0012", "P2", None],
            "期末资产规模": [1.5, float("nan"), 2**0.5],
            "户数": pd.array([3, None, 2**62], dtype="Int64"),
            "有效": [True, False, True],
        }
    )
    exporter = FailureExporter(SESSION, tmp_path)
    exporter.export(
        to_failed_frame(
            raw.iloc[[0, 2]],
            session_id=SESSION,
            domain="annuity_income",
            source_file="a.csv",
            error_type="ENRICHMENT_FAILED",
        )
    )
    exporter.export(
        to_failed_frame(
            raw.iloc[[1]],
            session_id=SESSION,
            domain="annuity_income",
            source_file="b.xlsx",
            error_type="FK_CONSTRAINT_VIOLATION",
        )
    )
    return exporter.output_file, raw


def test_typed_columns(log):
    path, _ = log
    frame = read_failures(path)
    assert tuple(frame.columns) == FIELDNAMES
    assert str(frame["timestamp"].dtype) == "datetime64[us, UTC]"
    assert str(frame["row_index"].dtype) == "Int64"
    assert isinstance(frame["error_type"].dtype, pd.CategoricalDtype)
    assert frame["row_index"].tolist() == [0, 2, 1]
    assert frame["error_type"].tolist() == [
        "ENRICHMENT_FAILED",
        "ENRICHMENT_FAILED",
        "FK_CONSTRAINT_VIOLATION",
    ]
    FAILURE_LOG_SCHEMA.validate(frame)


def test_expand_raw_data_gives_back_the_source_columns_aligned(log):
    path, raw = log
    frame = read_failures(path)
    expanded = expand_raw_data(frame)
    assert list(expanded.columns) == list(raw.columns)
    assert expanded.index.equals(frame.index)
    assert expanded["计划代码"].iloc[0] == "0012"  # text that looks like a number stays text
    assert str(expanded["户数"].dtype) == "Int64"
    assert expanded["户数"].tolist() == [3, 2**62, pd.NA]
    assert expanded["期末资产规模"].iloc[1] == 2**0.5
    assert expanded["月度"].tolist()[:2] == [
        "2024-01-31T00:00:00.000000",
        "2024-03-31T00:00:00.000000",
    ]
    assert expanded["有效"].tolist() == [True, True, False]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"a,b\n1,2\n", "header is \\['a', 'b'\\]"),
        ("\ufeff".encode() + HEADER.encode(), "header"),
        (b"\xff\xfe\x00", "not a failure log"),
    ],
)
def test_files_that_are_not_failure_logs_are_refused(tmp_path, content, message):
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    with pytest.raises(FailureLogFormatError, match=message):
        read_failures(path)


def test_unknown_error_type_and_malformed_rows(tmp_path):
    path = tmp_path / "x.csv"
    row = f'{SESSION},2024-01-01T00:00:00.000000+00:00,d,f,1,NOPE,"{{}}"\n'
    path.write_text(HEADER + row, encoding="utf-8")
    with pytest.raises(FailureLogFormatError, match="'NOPE'"):
        read_failures(path)
    path.write_text(HEADER + "a,b\n", encoding="utf-8")
    with pytest.raises(FailureLogFormatError, match="malformed row"):
        read_failures(path)


def test_header_only_file_reads_as_empty(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text(HEADER, encoding="utf-8")
    frame = read_failures(path)
    assert frame.empty
    assert tuple(frame.columns) == FIELDNAMES


def test_line_breaks_in_values_read_back(tmp_path):
    """Values with line breaks need Arrow's careful parse: the fast one must not
    silently split them, however many rows there are."""
    exporter = FailureExporter(SESSION, tmp_path)
    raw = pd.DataFrame({"x": range(20_000)})
    for source_file in ("a\nb.csv", "c\rd.csv", "e\r\nf.csv"):
        exporter.export(
            to_failed_frame(
                raw,
                session_id=SESSION,
                domain="d\n",
                source_file=source_file,
                error_type="DROPPED_IN_PIPELINE",
            )
        )
    frame = read_failures(exporter.output_file)
    assert len(frame) == 60_000
    assert frame["source_file"].value_counts().to_dict() == {
        "a\nb.csv": 20_000,
        "c\rd.csv": 20_000,
        "e\r\nf.csv": 20_000,
    }
    assert set(frame["domain"]) == {"d\n"}
    assert frame["row_index"].tolist() == list(range(20_000)) * 3


def test_raw_data_is_valid_json_in_the_file(log):
    path, _ = log
    for text in read_failures(path)["raw_data"]:
        assert isinstance(json.loads(text), dict)


def _export(path_dir, raw, source_file="a.csv", error_type="ENRICHMENT_FAILED", timestamp=None):
    exporter = FailureExporter(SESSION, path_dir)
    return exporter.export(
        to_failed_frame(
            raw,
            session_id=SESSION,
            domain="annuity_income",
            source_file=source_file,
            error_type=error_type,
            timestamp=timestamp,
        )
    )


def test_a_row_logged_again_counts_once_by_its_latest_entry(tmp_path):
    raw = pd.DataFrame({"x": [1, 2, 3]})
    _export(tmp_path, raw.iloc[[0, 1]], timestamp="2024-03-01T09:00:00+00:00")
    _export(tmp_path, raw.iloc[[1]], source_file="b.csv", timestamp="2024-03-01T09:00:00+00:00")
    path = _export(
        tmp_path, raw.iloc[[1, 2]], error_type="FK_CONSTRAINT_VIOLATION",
        timestamp="2024-03-01T10:00:00+00:00",
    )  # fmt: skip
    every = read_failures(path, every_entry=True)
    assert len(every) == 5
    latest = read_failures(path)
    assert latest[["source_file", "row_index", "error_type"]].values.tolist() == [
        ["a.csv", 0, "ENRICHMENT_FAILED"],
        ["b.csv", 1, "ENRICHMENT_FAILED"],  # another file: another row
        ["a.csv", 1, "FK_CONSTRAINT_VIOLATION"],
        ["a.csv", 2, "FK_CONSTRAINT_VIOLATION"],
    ]
    assert latest.index.equals(pd.RangeIndex(4))


def test_latest_is_by_time_then_log_order_and_rows_without_place_stay(tmp_path):
    log = pd.DataFrame(
        {
            "domain": ["d"] * 4,
            "source_file": ["a.csv"] * 4,
            "row_index": pd.array([4, 4, None, None], dtype="Int64"),
            "error_type": ["late", "early", "x", "y"],
            "timestamp": pd.to_datetime(["2024-03-02", "2024-03-01", "2024-03-01", "2024-03-01"]),
        }
    )
    assert latest_entries(log)["error_type"].tolist() == ["late", "x", "y"]


@pytest.mark.parametrize("megabytes", [3, 64])
def test_a_cell_of_megabytes_reads_back_whole(tmp_path, megabytes):
    huge = "长" * (megabytes * 1_000_000 // 3)
    path = _export(tmp_path, pd.DataFrame({"x": ["a", huge, "b"]}))
    _export(tmp_path, pd.DataFrame({"x": ["c"]}), source_file="b.csv")
    failures = read_failures(path)
    assert failures["source_file"].tolist() == ["a.csv"] * 3 + ["b.csv"]
    assert expand_raw_data(failures)["x"].tolist() == ["a", huge, "b", "c"]


def test_an_empty_log_beside_its_lock_file_has_no_rows_and_takes_the_next_export(tmp_path):
    """The 0-byte start of a first export that never finished (killed, or an older
    version on a full disk) is a log not yet begun, not a file that is no log."""
    exporter = FailureExporter(SESSION, tmp_path)
    exporter.output_file.touch()
    lock_path_for(exporter.output_file).touch()
    assert read_failures(exporter.output_file).empty
    assert not holds_entries(exporter.output_file)
    exporter.export(
        to_failed_frame(
            pd.DataFrame({"a": [1]}),
            session_id=SESSION,
            domain="d",
            source_file="f.csv",
            error_type="DROPPED_IN_PIPELINE",
        )
    )
    assert exporter.output_file.read_text(encoding="utf-8").startswith(HEADER)
    assert holds_entries(exporter.output_file)
