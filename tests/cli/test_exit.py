"""cli/_exit: a command's process ends at once, its output and exit handlers done."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

#: A program that leaves an object to the interpreter's teardown, an exit handler
#: and buffered output, then ends through ``end_process`` with status 3.
PROGRAM = textwrap.dedent(
    """
    import atexit, os, sys, threading, time
    from work_data_hub.cli._exit import end_process

    class Kept:
        def __del__(self):
            os.write(2, b"torn down;")

    kept = Kept()
    atexit.register(lambda: os.write(2, b"handler ran;"))
    if "thread" in sys.argv:  # a thread Python waits for at exit
        threading.Thread(target=time.sleep, args=(0.5,)).start()
    sys.stdout.write("buffered output")
    if "closed" in sys.argv:  # the reader went away before the output was flushed
        read, write = os.pipe()
        os.close(read)
        os.dup2(write, 1)
    sys.exit(end_process(3))
    """
)


def _run(*argv: str, stderr: int = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROGRAM, *argv],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        timeout=60,
    )


def test_a_process_ends_with_its_status_output_and_handlers_but_no_teardown():
    ended = _run()
    assert ended.returncode == 3
    assert ended.stdout == "buffered output"
    assert ended.stderr == "handler ran;"  # and no "torn down": the teardown was skipped


def test_a_process_with_a_thread_python_waits_for_ends_the_usual_way():
    ended = _run("thread")
    assert ended.returncode == 3
    assert ended.stdout == "buffered output"
    assert "handler ran;" in ended.stderr
    assert "torn down;" in ended.stderr  # the usual exit, teardown included


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX pipe")
def test_output_to_a_closed_pipe_still_ends_with_the_status():
    ended = _run("closed")
    assert ended.returncode == 3
    assert ended.stderr == "handler ran;"  # no "Exception ignored ... BrokenPipeError"


def test_a_profiled_program_ends_the_usual_way_so_that_the_profiler_saves(tmp_path):
    program = tmp_path / "program.py"
    program.write_text(PROGRAM, encoding="utf-8")
    profile = tmp_path / "program.prof"
    ended = subprocess.run(
        [sys.executable, "-m", "cProfile", "-o", str(profile), str(program)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ended.stdout == "buffered output"  # (cProfile itself exits 0 on SystemExit)
    assert profile.stat().st_size > 0  # written at the usual exit


@pytest.mark.skipif(sys.platform == "win32", reason="a closed descriptor at start")
def test_a_process_started_without_stderr_ends_with_its_status():
    ended = subprocess.run(
        [sys.executable, "-c", PROGRAM],
        stdout=subprocess.PIPE,
        text=True,
        timeout=60,
        preexec_fn=lambda: os.close(2),
    )
    assert ended.returncode == 3  # (sys.stderr is None in it: nothing to flush)
    assert ended.stdout == "buffered output"
