"""Real faults for the reliability tests: read-only bind mounts, small filesystems."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _run(*command: str) -> bool:
    return subprocess.run(command, capture_output=True).returncode == 0


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make ``path`` (file or folder) unwritable for this process, even as root.

    As root, permission bits do not stop writes, so a read-only bind mount
    does; otherwise the permission bits are cleared.
    """
    if os.geteuid() == 0:
        if not (
            _run("mount", "--bind", str(path), str(path))
            and _run("mount", "-o", "remount,ro,bind", str(path))
        ):
            _run("umount", str(path))
            pytest.skip("cannot make a read-only bind mount here")
        try:
            yield
        finally:
            _run("umount", str(path))
    else:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)


@contextmanager
def small_filesystem(path: Path, size: str) -> Iterator[Path]:
    """Mount a tmpfs of ``size`` at ``path``: a disk that really fills up."""
    path.mkdir(parents=True, exist_ok=True)
    if not _run("mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield path
    finally:
        _run("umount", str(path))
