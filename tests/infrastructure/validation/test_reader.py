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
    read_failures,
    to_failed_frame,
)

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
