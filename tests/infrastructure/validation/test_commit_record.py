"""The commit record: readers and the next export know which bytes never finished."""

import os

import pytest

from tests.helpers import SESSION
from work_data_hub.errors import FailureLogFormatError, FailureLogWarning
from work_data_hub.infrastructure.validation import (
    ErrorType,
    FailedRecord,
    FailureExporter,
    read_failures,
)
from work_data_hub.infrastructure.validation._file_lock import lock_path_for

TORN = b'etl_20240301_090000_0a1b2c,2024-01-01T00:00:00.000000+00:00,d,f,7,VALIDATION_FAILED,"{""x'


def _record(row_index: int) -> FailedRecord:
    return FailedRecord.from_validation_error(
        SESSION, "d", "f.csv", row_index, ErrorType.VALIDATION_FAILED, {"x": row_index}
    )


@pytest.fixture
def exporter(tmp_path):
    exporter = FailureExporter(SESSION, tmp_path)
    exporter.export([_record(0), _record(1)])
    return exporter


def test_record_holds_the_length_after_each_export(exporter):
    record = lock_path_for(exporter.output_file).read_bytes()
    assert record == f"{exporter.output_file.stat().st_size:020d}\n".encode()


@pytest.mark.parametrize("tail", [TORN, TORN + b'"}"\n', b"\n"])
def test_uncommitted_bytes_are_ignored_by_readers_and_said(exporter, tail):
    """Even complete lines past the record belong to an export that never returned."""
    with exporter.output_file.open("ab") as file:
        file.write(tail)
    with pytest.warns(FailureLogWarning, match=f"ignoring {len(tail)} bytes"):
        frame = read_failures(exporter.output_file)
    assert frame["row_index"].tolist() == [0, 1]


def test_next_export_moves_them_to_a_sidecar_named_in_a_warning(exporter):
    committed = exporter.output_file.read_bytes()
    with exporter.output_file.open("ab") as file:
        file.write(TORN)
    with pytest.warns(
        FailureLogWarning, match=f"moved {len(TORN)} bytes of an interrupted export to"
    ) as w:
        exporter.export([_record(2)])
    (sidecar,) = exporter.output_dir.glob("wdh_etl_failures_*.csv.torn-*")
    assert str(sidecar) in str(w[0].message)
    assert sidecar.read_bytes() == TORN
    assert exporter.output_file.read_bytes().startswith(committed)
    assert read_failures(exporter.output_file)["row_index"].tolist() == [0, 1, 2]


def test_log_without_record_counts_up_to_its_last_complete_line(exporter):
    lock_path_for(exporter.output_file).unlink()
    with exporter.output_file.open("ab") as file:
        file.write(TORN)
    with pytest.warns(FailureLogWarning, match=f"ignoring {len(TORN)} bytes"):
        assert len(read_failures(exporter.output_file)) == 2
    with pytest.warns(FailureLogWarning, match=f"moved {len(TORN)} bytes"):
        exporter.export([_record(2)])
    assert len(read_failures(exporter.output_file)) == 3


def test_reading_never_creates_the_lock_file(tmp_path, exporter):
    copy = tmp_path / "copy" / exporter.output_file.name
    copy.parent.mkdir()
    copy.write_bytes(exporter.output_file.read_bytes())
    assert len(read_failures(copy)) == 2
    assert not lock_path_for(copy).exists()


def test_log_shorter_than_its_record_is_refused(exporter):
    data = exporter.output_file.read_bytes()
    exporter.output_file.write_bytes(data[:-10])
    with pytest.raises(FailureLogFormatError, match=r"shorter .* than its commit record"):
        read_failures(exporter.output_file)
    with pytest.raises(FailureLogFormatError, match="shorter"):
        exporter.export([_record(2)])
    assert exporter.output_file.read_bytes() == data[:-10]


def test_log_edited_in_place_is_refused_not_cut_mid_line(exporter):
    """A value made longer by hand moves the committed length inside a line: cutting
    there would leave a broken row (and a resume would append after it)."""
    log = exporter.output_file
    log.write_bytes(log.read_bytes().replace(b'""x"":1', b'""x"":1111111111'))
    before = log.read_bytes()
    with pytest.raises(FailureLogFormatError, match="changed outside work_data_hub"):
        read_failures(log)
    with pytest.raises(FailureLogFormatError, match="ends inside a line"):
        exporter.export([_record(2)])
    assert log.read_bytes() == before  # nothing cut, nothing appended
    lock_path_for(log).unlink()  # the operator takes the edit: the log reads as it is
    assert read_failures(log)["raw_data"].tolist()[-1] == '{"x":1111111111}'


def test_corrupt_record_is_refused(exporter):
    lock_path_for(exporter.output_file).write_bytes(b"garbage\n")
    with pytest.raises(FailureLogFormatError, match=r"commit record .* is corrupt"):
        read_failures(exporter.output_file)


def test_first_export_killed_mid_write_leaves_nothing_committed(tmp_path):
    exporter = FailureExporter(SESSION, tmp_path)
    exporter.export([_record(0)])
    complete_first_export = exporter.output_file.read_bytes()
    # as if the first export had been killed after writing all its lines
    exporter.output_file.unlink()
    lock_path_for(exporter.output_file).write_bytes(f"{0:020d}\n".encode())
    exporter.output_file.write_bytes(complete_first_export)
    with pytest.warns(FailureLogWarning, match="ignoring"):
        assert read_failures(exporter.output_file).empty


def test_deleted_log_starts_afresh_with_a_stale_record(exporter):
    os.unlink(exporter.output_file)
    exporter.export([_record(5)])
    assert read_failures(exporter.output_file)["row_index"].tolist() == [5]
