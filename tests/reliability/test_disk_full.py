"""3. Disk full / file too large: a clear error and the file as it was before."""

import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from tests.helpers import ROOT, SESSION
from tests.reliability.faults import small_filesystem
from work_data_hub.errors import FailureLogWriteError
from work_data_hub.infrastructure.validation import (
    FailureExporter,
    read_failures,
    to_failed_frame,
)


def _frame(rows: int, width: int = 1000) -> pd.DataFrame:
    raw = pd.DataFrame({"text": ["長" * width] * rows})
    return to_failed_frame(
        raw, session_id=SESSION, domain="d", source_file="f.csv", error_type="DROPPED_IN_PIPELINE"
    )


def test_full_disk_raises_and_leaves_the_file_as_it_was(tmp_path):
    with small_filesystem(tmp_path / "disk", "2m") as disk:
        exporter = FailureExporter(SESSION, disk)
        exporter.export(_frame(10))
        before = exporter.output_file.read_bytes()
        with pytest.raises(FailureLogWriteError, match="No space left on device") as info:
            exporter.export(_frame(2000))  # ~6 MB of text into 2 MB
        assert str(exporter.output_file) in str(info.value)
        assert "left as it was" in str(info.value)
        assert isinstance(info.value, OSError)
        assert exporter.output_file.read_bytes() == before
        assert len(read_failures(exporter.output_file, every_entry=True)) == 10
        exporter.export(_frame(5))  # and it still works once there is room
        assert len(read_failures(exporter.output_file, every_entry=True)) == 15


def test_full_disk_on_a_new_log_leaves_no_file(tmp_path):
    with small_filesystem(tmp_path / "disk", "1m") as disk:
        exporter = FailureExporter(SESSION, disk)
        with pytest.raises(FailureLogWriteError):
            exporter.export(_frame(2000))
        assert not exporter.output_file.exists()


def test_file_size_limit_raises_and_leaves_the_file_as_it_was(tmp_path):
    """EFBIG from RLIMIT_FSIZE, in a child process so the limit stays there."""
    exporter = FailureExporter(SESSION, tmp_path)
    exporter.export(_frame(3))
    before = exporter.output_file.read_bytes()
    script = textwrap.dedent(
        f"""
        import resource, signal, sys
        from pathlib import Path
        from tests.reliability.test_disk_full import _frame
        from work_data_hub.infrastructure.validation import FailureExporter
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
        frame = _frame(5000)
        resource.setrlimit(resource.RLIMIT_FSIZE, ({len(before) + 100_000},) * 2)
        try:
            FailureExporter("{SESSION}", Path(sys.argv[1])).export(frame)
        except OSError as error:
            print(type(error).__name__, error.errno)
            print(error)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.startswith("FailureLogWriteError 27"), result.stdout + result.stderr
    assert "left as it was" in result.stdout
    assert exporter.output_file.read_bytes() == before


def test_a_new_log_whose_commit_record_cannot_be_written_leaves_no_file(tmp_path):
    """A disk too full for even the lock file's record (EFBIG at 0 bytes, in a child):
    no empty log is left behind, which a reader would take for no log at all."""
    script = textwrap.dedent(
        f"""
        import resource, signal, sys
        from pathlib import Path
        from tests.reliability.test_disk_full import _frame
        from work_data_hub.infrastructure.validation import FailureExporter
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        frame = _frame(1)
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
        try:
            FailureExporter("{SESSION}", Path(sys.argv[1])).export(frame)
        except OSError as error:
            print(type(error).__name__, error.errno)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert result.stdout == "FailureLogWriteError 27\n", result.stdout + result.stderr
    assert not FailureExporter(SESSION, tmp_path).output_file.exists()
