"""``replacing``: the old file or the whole new one, never a part, nothing left behind."""

import os
import stat

import pytest

from work_data_hub.errors import OutputWriteError
from work_data_hub.infrastructure.atomic_file import replacing, write_replacing


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path):
    out = tmp_path / "out.json"
    out.write_bytes(b"old")

    def write_half() -> None:
        with replacing(out) as file:
            file.write(b"half of the ne")
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_half()
    assert out.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_a_write_that_fails_names_the_path_and_leaves_no_temporary(tmp_path):
    out = tmp_path / "gone" / "out.json"
    with pytest.raises(OutputWriteError, match=r"cannot write .*out.json: No such file"):
        write_replacing(out, b"{}")
    assert not (tmp_path / "gone").exists()


def test_the_replaced_file_keeps_its_mode_and_a_link_keeps_pointing_at_it(tmp_path):
    real = tmp_path / "real.json"
    real.write_bytes(b"old")
    real.chmod(0o640)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_replacing(link, b"new")
    assert link.is_symlink()
    assert real.read_bytes() == b"new"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640


def test_what_is_no_regular_file_is_written_in_place(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        write_replacing(fifo, b"through the pipe")
        assert os.read(reader, 100) == b"through the pipe"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
