"""2. Crash mid-write: a writer killed with SIGKILL at random moments, 50 times.

After every kill, ``read_failures`` returns every row of every export that
returned before the kill and no row of the export that was cut off, even
when the cut-off export had already written complete lines. The next export
moves the cut-off bytes to a sidecar file. Half the kills land at random
moments; the other half as soon as an export has written bytes it has not
committed yet, so the test always exercises torn writes. The writers' process warms up
(one export elsewhere) before it says "ready", and reports how long a warm export
takes, so the random waits span a few exports on any machine; it forks one writer
per kill, each with its own exporter.
"""

import contextlib
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import pytest

from tests.helpers import ROOT, SESSION
from work_data_hub.errors import FailureLogWarning
from work_data_hub.infrastructure.validation import FailureExporter, read_failures
from work_data_hub.infrastructure.validation._file_lock import lock_path_for

ROWS = 400
KILLS = 50

#: One process imports and warms up once, then forks a writer per kill (a fresh
#: interpreter per kill spent most of the test importing pandas). A writer exports
#: until it is killed, writing each returned export's id to its report file.
WRITERS = textwrap.dedent(
    f"""
    import os
    import sys
    import tempfile
    import time
    from pathlib import Path
    import pandas as pd
    from work_data_hub.infrastructure.validation import FailureExporter, to_failed_frame
    folder = Path(sys.argv[1])
    raw = pd.DataFrame({{"i": range({ROWS}), "text": ["长文本\\r\\n" * 300] * {ROWS}}})
    frame = to_failed_frame(raw, session_id="{SESSION}", domain="d", source_file="x",
                            error_type="DROPPED_IN_PIPELINE")
    # Warm up in a scratch folder: the first export pays one-time costs (imports,
    # thread pool) that can outlast a random kill. Time a warm export too, so the
    # parent scales its random waits to this machine's speed.
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = FailureExporter("{SESSION}", Path(scratch_dir))
        scratch.export(frame)
        started = time.perf_counter()
        scratch.export(frame)
        warm = time.perf_counter() - started
    print("ready", warm, flush=True)
    for line in iter(sys.stdin.readline, ""):
        first, report = line.split()
        pid = os.fork()
        if pid == 0:  # the writer: a new exporter (its own lock set-up), until killed
            try:
                said = os.open(report, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
                exporter = FailureExporter("{SESSION}", folder)
                export_id = int(first)
                while True:
                    exporter.export(frame.assign(source_file=f"export-{{export_id}}"))
                    os.write(said, f"{{export_id}}\\n".encode())
                    export_id += 1
            finally:
                os._exit(1)
        print(pid, flush=True)
        os.waitpid(pid, 0)
        print("reaped", flush=True)
    """
)


def _uncommitted(path) -> bool | None:
    """Whether the log holds bytes past its commit record (None: cannot tell yet)."""
    try:
        record = int(lock_path_for(path).read_bytes().strip() or 0)
        return path.stat().st_size > record
    except (FileNotFoundError, ValueError):
        return None


def _wait_until_mid_write(path, timeout: float = 3.0) -> bool:
    """Return as soon as an export has written bytes it has not committed yet
    (True), or when ``timeout`` passes first (False).

    A tail left by the previous kill is first moved away by the writer's
    first export; only a new uncommitted write counts.
    """
    deadline = time.monotonic() + timeout
    while _uncommitted(path) and time.monotonic() < deadline:
        time.sleep(0.0002)
    while not _uncommitted(path) and time.monotonic() < deadline:
        time.sleep(0.0002)
    return bool(_uncommitted(path))


def _exports_in(path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = read_failures(path)
    torn = any(issubclass(w.category, FailureLogWarning) for w in caught)
    return frame, torn


@pytest.mark.slow
def test_sigkill_at_random_moments_never_leaves_a_partial_export(tmp_path, tmp_path_factory):
    rng = random.Random(20240301)
    path = FailureExporter(SESSION, tmp_path).output_file
    returned: set[int] = set()
    seen: set[int] = set()  # exports present after the previous kill
    next_id, torn_reads, targeted_hits = 0, 0, 0
    writers = subprocess.Popen(
        [sys.executable, "-c", WRITERS, str(tmp_path)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # the writers' process and its writers, killed as one
    )
    word, warm = writers.stdout.readline().split()
    assert word == "ready"
    reports = tmp_path_factory.mktemp("said")  # (not in the log's folder)
    try:
        for attempt in range(KILLS):
            report = reports / str(attempt)
            writers.stdin.write(f"{next_id} {report}\n")
            writers.stdin.flush()
            writer = int(writers.stdout.readline())
            if attempt % 2:
                # the window a crash can tear; wait long enough for a slow machine's export
                targeted_hits += _wait_until_mid_write(path, timeout=max(3.0, 20 * float(warm)))
            else:
                # anywhere at all, within a few exports' time on this machine
                time.sleep(rng.uniform(0.0, max(0.25, 4 * float(warm))))
            os.kill(writer, signal.SIGKILL)
            assert writers.stdout.readline() == "reaped\n"
            said = {int(line) for line in report.read_text().split()} if report.exists() else set()
            returned |= said

            if not path.exists():
                assert not returned
                continue
            frame, torn = _exports_in(path)
            torn_reads += torn
            ids = frame["source_file"].str.removeprefix("export-").astype(int)
            present = set(ids)
            # every export that returned is there; of this writer's, at most one more, which had
            # committed but was killed before it could say so
            assert returned <= present
            assert len(present - seen - said) <= 1
            seen = present
            counts = ids.value_counts()
            assert (counts == ROWS).all(), counts[counts != ROWS]
            runs = ids.ne(ids.shift()).cumsum()
            assert runs.nunique() == len(present)  # each export's rows contiguous
            assert (frame["row_index"].to_numpy() == list(range(ROWS)) * len(present)).all()
            next_id = max(present | returned | {next_id}) + 2  # skip the id that may be cut off

        writers.stdin.close()
        assert writers.wait(timeout=60) == 0
    finally:  # a failed assertion leaves no writer exporting on its own
        with contextlib.suppress(ProcessLookupError):
            os.killpg(writers.pid, signal.SIGKILL)
        writers.wait()
        writers.stdin.close()
        writers.stdout.close()
    sidecars = sorted(tmp_path.glob("*.torn-*"))
    print(
        f"{torn_reads} of {KILLS} kills left uncommitted bytes ({targeted_hits} of "
        f"{KILLS // 2} targeted kills caught a write); {len(sidecars)} sidecars; "
        f"{len(returned)} exports returned"
    )
    # the loop must really have cut exports short, or it proved nothing
    assert torn_reads > 0
    assert targeted_hits >= KILLS // 4, "most targeted kills missed the write window"
    assert sidecars
    assert len(returned) >= 10  # and writers made progress between kills
