"""5. Paths: nothing is ever written outside ``output_dir``, nor through a link."""

import pytest

from tests.helpers import SESSION
from work_data_hub.errors import InvalidSessionIdError, UnsafeLogPathError
from work_data_hub.infrastructure.validation import (
    ErrorType,
    FailedRecord,
    FailureExporter,
    export_failed_records,
)
from work_data_hub.infrastructure.validation._file_lock import lock_path_for

HOSTILE_IDS = [
    "../etl_20240301_090000_0a1b2c",
    "etl_20240301_090000_0a1b2c/../../x",
    "etl_20240301_090000_0a/b2c",
    "etl_20240301_090000_0a\x00b2c",
    "/tmp/etl_20240301_090000_0a1b2c",
    "..",
    "etl_20240301_090000_0A1B2C",
    "etl_20240301_090000_0a1b2c\\..",
]


def _tree(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


@pytest.mark.parametrize("session_id", HOSTILE_IDS)
def test_hostile_session_ids_are_refused_and_nothing_is_written(tmp_path, session_id):
    logs = tmp_path / "a" / "logs"
    with pytest.raises(InvalidSessionIdError) as info:
        FailureExporter(session_id, logs)
    assert repr(session_id) in str(info.value)
    with pytest.raises(InvalidSessionIdError):
        export_failed_records([], session_id, logs)
    assert _tree(tmp_path) == []


def _record() -> FailedRecord:
    return FailedRecord.from_validation_error(
        SESSION, "d", "f.csv", 0, ErrorType.VALIDATION_FAILED, {"x": 1}
    )


def test_symlinked_lock_file_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.write_bytes(b"keep me\n")
    logs = tmp_path / "logs"
    logs.mkdir()
    exporter = FailureExporter(SESSION, logs)
    lock_path_for(exporter.output_file).symlink_to(outside)
    with pytest.raises(UnsafeLogPathError, match="lock file"):
        exporter.export([_record()])
    assert outside.read_bytes() == b"keep me\n"
    assert not exporter.output_file.exists()


def test_everything_written_stays_in_output_dir(tmp_path):
    logs = tmp_path / "logs"
    exporter = FailureExporter(SESSION, logs)
    exporter.export([_record()])
    assert _tree(tmp_path) == [
        "logs",
        f"logs/.wdh_etl_failures_{SESSION}.csv.lock",
        f"logs/wdh_etl_failures_{SESSION}.csv",
    ]
