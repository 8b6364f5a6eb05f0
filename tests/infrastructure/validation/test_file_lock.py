"""The log's lock file: a child forked while this process holds the lock does not keep it."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import threading
import time

import pytest

from work_data_hub.infrastructure.validation._file_lock import (
    lock_path_for,
    locked,
    locked_shared,
)

pytestmark = pytest.mark.skipif(not hasattr(os, "register_at_fork"), reason="POSIX fork")


def _free(lock_file) -> bool:
    """Whether another open file of ``lock_file`` gets the exclusive lock at once."""
    fd = os.open(lock_file, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def _started_then_sleep(started) -> None:
    started.set()  # (after the fork's handlers ran in this child)
    time.sleep(60)


@pytest.mark.parametrize("hold", [locked, locked_shared])
def test_a_child_forked_while_the_lock_is_held_does_not_keep_it(tmp_path, hold):
    """As a Dask nanny restarts a worker (forked, from its own thread) while the run
    appends to the log: the lock is free once the run lets go, the worker alive."""
    log = tmp_path / "wdh_etl_failures_x.csv"
    with locked(log):  # (makes the lock file)
        pass
    fork = multiprocessing.get_context("fork")
    started = fork.Event()
    children = []

    def start_child() -> None:
        child = fork.Process(target=_started_then_sleep, args=(started,), daemon=True)
        child.start()
        children.append(child)

    try:
        with hold(log):
            starter = threading.Thread(target=start_child)
            starter.start()
            starter.join()
            assert not _free(lock_path_for(log))  # (held here: the probe sees it)
            assert started.wait(60)
        assert children[0].is_alive()
        assert _free(lock_path_for(log))
    finally:
        for child in children:
            child.kill()
            child.join()
