"""4. Permissions: a read-only logs folder or file gives a clear error naming the path."""

import pytest

from tests.helpers import SESSION
from tests.reliability.faults import read_only
from work_data_hub.errors import FailureLogWriteError
from work_data_hub.infrastructure.validation import (
    ErrorType,
    FailedRecord,
    FailureExporter,
    read_failures,
)


def _records(count: int = 1) -> list[FailedRecord]:
    return [
        FailedRecord.from_validation_error(
            SESSION, "d", "f.csv", i, ErrorType.VALIDATION_FAILED, {"i": i}
        )
        for i in range(count)
    ]


def test_read_only_folder(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    exporter = FailureExporter(SESSION, logs)
    with read_only(logs), pytest.raises(FailureLogWriteError) as info:
        exporter.export(_records())
    assert str(logs) in str(info.value)
    assert isinstance(info.value, OSError)
    assert not exporter.output_file.exists()


def test_read_only_log_file(tmp_path):
    exporter = FailureExporter(SESSION, tmp_path)
    exporter.export(_records(2))
    before = exporter.output_file.read_bytes()
    with read_only(exporter.output_file):
        with pytest.raises(FailureLogWriteError, match="cannot open failure log") as info:
            exporter.export(_records())
        assert str(exporter.output_file) in str(info.value)
        # a read-only log can still be read
        assert len(read_failures(exporter.output_file)) == 2
    assert exporter.output_file.read_bytes() == before


def test_missing_parent_that_cannot_be_created(tmp_path):
    with read_only(tmp_path), pytest.raises(FailureLogWriteError) as info:
        FailureExporter(SESSION, tmp_path / "a" / "logs").export(_records())
    assert str(tmp_path / "a" / "logs") in str(info.value)
