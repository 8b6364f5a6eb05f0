import csv
import os
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import SESSION
from work_data_hub.errors import (
    FailedFrameError,
    FailureLogFormatError,
    InvalidSessionIdError,
    UnsafeLogPathError,
)
from work_data_hub.infrastructure.validation import (
    ErrorType,
    FailedRecord,
    FailureExporter,
    export_failed_records,
    read_failures,
    to_failed_frame,
)

HEADER = "session_id,timestamp,domain,source_file,row_index,error_type,raw_data\n"
NASTY = [
    "lone\rcarriage",
    "new\nline",
    "cr\r\nlf",
    'quo"te',
    "com,ma",
    "tab\there",
    "ls\u2028sep",
    "中文名称",
    "",
    " ",
    "=SUM(A1)",
]


def _record(row_index: int = 0, raw=None, **fields) -> FailedRecord:
    record = FailedRecord.from_validation_error(
        SESSION,
        "annuity_performance",
        "2024-03.xlsx",
        row_index,
        ErrorType.VALIDATION_FAILED,
        raw if raw is not None else {"计划代码": f"P{row_index}"},
    )
    return FailedRecord(**{**record.to_dict(), **fields})


def _frame(count: int, **context) -> pd.DataFrame:
    raw = pd.DataFrame({"客户名称": [f"公司{i}" for i in range(count)], "金额": range(count)})
    return to_failed_frame(
        raw,
        session_id=SESSION,
        domain=context.get("domain", "annuity_income"),
        source_file=context.get("source_file", "a.csv"),
        error_type="ENRICHMENT_FAILED",
    )


class TestConstruction:
    def test_attributes(self, tmp_path):
        exporter = FailureExporter(SESSION, tmp_path)
        assert exporter.session_id == SESSION
        assert exporter.output_dir == tmp_path
        assert exporter.output_file == tmp_path / f"wdh_etl_failures_{SESSION}.csv"
        assert HEADER.strip().split(",") == FailureExporter.FIELDNAMES

    def test_default_folder_is_logs(self):
        assert (
            FailureExporter(SESSION).output_file == Path("logs") / f"wdh_etl_failures_{SESSION}.csv"
        )

    def test_empty_session_id(self, tmp_path):
        with pytest.raises(ValueError, match=r"^session_id cannot be empty$"):
            FailureExporter("", tmp_path)

    @pytest.mark.parametrize(
        "bad",
        [
            "../../etc/passwd",
            "etl_20240101_120000_ABCDEF",
            "etl_20240101_120000_abc/de",
            "/abs",
            "etl_x\x00",
        ],
    )
    def test_bad_session_ids_cannot_escape_the_folder(self, tmp_path, bad):
        with pytest.raises(InvalidSessionIdError, match="does not match"):
            FailureExporter(bad, tmp_path)


class TestAppend:
    def test_creates_missing_folders_and_writes_one_header(self, tmp_path):
        exporter = FailureExporter(SESSION, tmp_path / "a" / "b")
        path = exporter.export([_record(0)])
        exporter.export([_record(1), _record(2)])
        FailureExporter(SESSION, tmp_path / "a" / "b").export(_frame(3))
        text = path.read_text(encoding="utf-8")
        assert text.startswith(HEADER)
        assert text.count("session_id,timestamp") == 1
        assert len(read_failures(path)) == 6

    def test_header_written_when_file_is_empty(self, tmp_path):
        exporter = FailureExporter(SESSION, tmp_path)
        exporter.output_file.touch()
        exporter.export([_record()])
        assert exporter.output_file.read_text(encoding="utf-8").startswith(HEADER)

    def test_zero_records_write_nothing(self, tmp_path):
        exporter = FailureExporter(SESSION, tmp_path / "logs")
        assert exporter.export([]) == exporter.output_file
        assert exporter.export(_frame(0)) == exporter.output_file
        assert not (tmp_path / "logs").exists()

    def test_utf8_without_bom(self, tmp_path):
        path = FailureExporter(SESSION, tmp_path).export([_record(raw={"名": "中文"})])
        data = path.read_bytes()
        assert data.startswith(b"session_id,")
        assert "中文".encode() in data

    def test_every_nasty_text_reads_back_identically(self, tmp_path):
        records = [
            _record(i, raw={"v": text}, source_file=text or "x", domain=text or "d")
            for i, text in enumerate(NASTY)
        ]
        path = FailureExporter(SESSION, tmp_path).export(records)
        expected = [r.to_dict() for r in records]
        as_text = [{k: ("" if v is None else str(v)) for k, v in r.items()} for r in expected]
        with path.open(newline="", encoding="utf-8") as file:
            assert list(csv.DictReader(file)) == as_text
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        assert frame.to_dict("records") == as_text
        assert read_failures(path)["raw_data"].tolist() == [r.raw_data for r in records]

    def test_export_failed_records_returns_the_absolute_path(self, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)
        path = export_failed_records([_record()], SESSION)
        assert path == str(tmp_path / "logs" / f"wdh_etl_failures_{SESSION}.csv")
        assert os.path.isabs(path)


class TestRefusals:
    def test_foreign_session_rows_are_refused_before_writing(self, tmp_path):
        exporter = FailureExporter(SESSION, tmp_path)
        other = _frame(2)
        other.loc[1, "session_id"] = "etl_20240301_090000_ffffff"
        with pytest.raises(FailedFrameError, match="etl_20240301_090000_ffffff"):
            exporter.export(other)
        assert not exporter.output_file.exists()

    def test_unknown_error_type_is_refused(self, tmp_path):
        frame = _frame(2)
        frame["error_type"] = frame["error_type"].astype(str)
        frame.loc[0, "error_type"] = "SOMETHING_ELSE"
        exporter = FailureExporter(SESSION, tmp_path)
        with pytest.raises(FailedFrameError, match="'SOMETHING_ELSE' is not one of"):
            exporter.export(frame)
        assert not exporter.output_file.exists()

    def test_wrong_columns_are_refused(self, tmp_path):
        with pytest.raises(FailedFrameError, match="exactly the columns"):
            FailureExporter(SESSION, tmp_path).export(_frame(1).iloc[:, ::-1])

    def test_malformed_values_are_refused(self, tmp_path):
        frame = _frame(2)
        frame["raw_data"] = ["{}", "not json"]
        with pytest.raises(FailedFrameError, match="raw_data"):
            FailureExporter(SESSION, tmp_path).export(frame)
        frame = _frame(1)
        frame["row_index"] = pd.array([-4], dtype="Int64")
        with pytest.raises(FailedFrameError, match="row_index"):
            FailureExporter(SESSION, tmp_path).export(frame)

    def test_non_records_are_refused(self, tmp_path):
        with pytest.raises(TypeError, match="dict"):
            FailureExporter(SESSION, tmp_path).export([{"session_id": SESSION}])  # type: ignore[list-item]

    @pytest.mark.parametrize(
        "header",
        ["a,b,c\n", HEADER.replace("raw_data", "raw"), "\ufeff" + HEADER, HEADER.replace(",", ";")],
    )
    def test_foreign_header_leaves_the_file_byte_for_byte(self, tmp_path, header):
        exporter = FailureExporter(SESSION, tmp_path)
        exporter.output_file.write_text(header + "1,2,3\n", encoding="utf-8")
        before = exporter.output_file.read_bytes()
        with pytest.raises(FailureLogFormatError, match="is not a failure log"):
            exporter.export([_record()])
        assert exporter.output_file.read_bytes() == before

    def test_symlinked_log_is_refused_and_nothing_written_through_it(self, tmp_path):
        target = tmp_path / "elsewhere.csv"
        target.write_text("precious\n", encoding="utf-8")
        exporter = FailureExporter(SESSION, tmp_path / "logs")
        exporter.output_dir.mkdir()
        exporter.output_file.symlink_to(target)
        with pytest.raises(UnsafeLogPathError, match="symbolic link"):
            exporter.export([_record()])
        assert target.read_text(encoding="utf-8") == "precious\n"

    def test_dangling_symlink_is_refused_too(self, tmp_path):
        exporter = FailureExporter(SESSION, tmp_path)
        exporter.output_file.symlink_to(tmp_path / "created_by_attacker.csv")
        with pytest.raises(UnsafeLogPathError):
            exporter.export([_record()])
        assert not (tmp_path / "created_by_attacker.csv").exists()
