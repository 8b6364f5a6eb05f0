"""cli/_interrupts: a Ctrl-C whose KeyboardInterrupt a finalizer swallowed is raised again."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading

import pytest

from work_data_hub.cli._interrupts import interrupts_kept, raise_if_interrupted

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


class _CtrlCWhenCollected:
    """Sends this process SIGINT from its finalizer: Python swallows the interrupt."""

    def __del__(self) -> None:
        signal.raise_signal(signal.SIGINT)  # (runs the handler here, in the finalizer)


def test_a_ctrl_c_swallowed_by_a_finalizer_is_raised_at_the_next_safe_point(capsys):
    with interrupts_kept():
        _CtrlCWhenCollected()  # collected at once: its KeyboardInterrupt is "ignored"
        with pytest.raises(KeyboardInterrupt):
            raise_if_interrupted()
    assert capsys.readouterr().err == ""  # no "Exception ignored in ...": the run says it


def test_a_ctrl_c_already_acted_on_is_not_raised_again_and_the_caller_gets_ctrl_c_back():
    with interrupts_kept():
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # what whoever says "interrupted" does
        raise_if_interrupted()  # nothing: the interrupt is being handled
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # (main() in a notebook)


def test_a_caller_s_own_handler_is_given_back_after_an_interrupt_was_said():
    def callers(number: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, callers)  # (a caller's own: nothing kept)
    try:
        with interrupts_kept():
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # what saying "interrupted" does
        assert signal.getsignal(signal.SIGINT) is callers
    finally:
        signal.signal(signal.SIGINT, previous)


def test_outside_the_block_python_s_own_handling_is_back():
    hook = sys.unraisablehook
    with interrupts_kept():
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert sys.unraisablehook is hook
    raise_if_interrupted()  # nothing remembered after the block


def test_other_unraisable_errors_are_still_reported():
    seen: list[BaseException | None] = []
    hook, sys.unraisablehook = sys.unraisablehook, lambda error: seen.append(error.exc_value)
    try:
        with interrupts_kept():

            class Broken:
                def __del__(self) -> None:
                    raise ValueError("in a finalizer")

            Broken()
    finally:
        sys.unraisablehook = hook
    assert [type(error) for error in seen] == [ValueError]


def test_where_ctrl_c_is_ignored_it_stays_ignored():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a job started with `&`
    try:
        with interrupts_kept():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            signal.raise_signal(signal.SIGINT)
            raise_if_interrupted()
    finally:
        signal.signal(signal.SIGINT, previous)


def test_outside_the_main_thread_nothing_changes():
    seen = []

    def other() -> None:
        with interrupts_kept():
            seen.append(signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert seen == [signal.default_int_handler]


#: A command (``wdh-failures sessions``) whose exit handler gets a Ctrl-C: after its
#: work, while its process ends, where Python would print "Exception ignored in
#: atexit callback" and still exit 0.
_CTRL_C_WHILE_ENDING = textwrap.dedent(
    """
    import atexit, runpy, signal, sys

    atexit.register(signal.raise_signal, signal.SIGINT)
    sys.argv = ["wdh-failures", "sessions"]
    runpy.run_module("work_data_hub.cli.failures", run_name="__main__")
    """
)


def test_a_ctrl_c_while_the_process_ends_is_one_line_and_130(tmp_path):
    (tmp_path / "logs").mkdir()  # no session yet: exit 0, had it not been for the Ctrl-C
    ended = subprocess.run(
        [sys.executable, "-c", _CTRL_C_WHILE_ENDING],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (ended.returncode, ended.stderr) == (130, "wdh-failures: interrupted\n")


_READS_INTERRUPTED = textwrap.dedent(
    """
    import io, os, signal, sys, threading, time
    import pyarrow.csv as pa_csv
    from work_data_hub.cli._interrupts import interrupts_kept, take_ctrl_c_from_arrow

    data = ("a,b,c\\n" + "1,2,3\\n" * 3000).encode()
    lost = 0
    with interrupts_kept():
        if sys.argv[1] == "taken":
            take_ctrl_c_from_arrow()
        for trial in range(300):
            sigint = threading.Timer(0.0005 + trial % 40 / 10_000, os.kill,
                                     (os.getpid(), signal.SIGINT))
            try:
                sigint.start()
                end = time.monotonic() + 0.01
                while time.monotonic() < end:
                    pa_csv.read_csv(io.BytesIO(data))  # the SIGINT lands in one of them
                time.sleep(0.01)  # (a SIGINT still on its way arrives meanwhile)
                lost += 1
            except KeyboardInterrupt:
                pass
            sigint.join()
    print(lost)
    """
)


def test_no_ctrl_c_is_lost_in_pyarrow_s_reads():
    """pyarrow's own handler around ``read_csv`` loses a SIGINT that lands as a read
    ends (6 of 300 here); the command takes Ctrl-C from it: none lost in 300."""
    pytest.importorskip("pyarrow")
    run = subprocess.run(
        [sys.executable, "-c", _READS_INTERRUPTED, "taken"], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "0", run.stdout
