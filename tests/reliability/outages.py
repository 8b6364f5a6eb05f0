"""Real outages at exact moments of a real ``wdh-etl`` process.

``faulty_etl`` runs ``wdh-etl`` in a subprocess that meets one outage at one
call into the database layer, for one file or domain:

- ``locked``: another connection holds the SQLite file's write lock while the
  call runs (``BEGIN EXCLUSIVE``), so SQLite itself says "database is locked"
  after the run's wait for a writer (1 s here, not ``SQLITE_WAIT_SECONDS``: as
  when another process writes for longer than the run waits);
- ``kill``: the process is SIGKILLed as the call starts (between a file's
  failures being logged and its rows being loaded, for ``load_all``);
- ``crash``: the call raises an error nobody expects (``RuntimeError``), as a
  bug or a library's surprise would.

Nothing of the run is replaced: the call then runs as it always does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.helpers import ROOT

_WRAPPER = textwrap.dedent(
    """
    import os, signal, sqlite3, sys
    from work_data_hub.io import _sqlite, database

    kind, method, target = os.environ["WDH_TEST_OUTAGE"].split(":", 2)
    real = getattr(database.Database, method)
    if kind == "locked":  # the writer outlasts the run's wait: 1 s, not minutes
        _sqlite.SQLITE_WAIT_SECONDS = 1.0

    def with_outage(self, *args, **kwargs):
        if method == "load_all":  # the file's tables, loaded in one transaction
            names = [entry.source_file for _, entry in args[0]]
        else:  # add_domain: the domain's table spec
            names = [args[0].name]
        hit = target in names
        if hit and kind == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if hit and kind == "crash":
            raise RuntimeError("outage")
        if hit and kind == "locked":
            holder = sqlite3.connect(self.engine.url.database, timeout=0)
            holder.execute("BEGIN EXCLUSIVE")
            try:
                return real(self, *args, **kwargs)
            finally:
                holder.rollback()
                holder.close()
        return real(self, *args, **kwargs)

    setattr(database.Database, method, with_outage)
    from work_data_hub.cli.etl import main
    sys.exit(main(sys.argv[1:]))
    """
)


def faulty_etl(
    outage: str, *args: str, cwd: Path, columns: int = 80
) -> subprocess.CompletedProcess[str]:
    """``wdh-etl args`` meeting ``outage``: ``"locked:load_all:2024-02.csv"``,
    ``"kill:load_all:2024-02.csv"`` or ``"locked:add_domain:annuity_income"``."""
    return subprocess.run(
        [sys.executable, "-c", _WRAPPER, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "WDH_TEST_OUTAGE": outage,
            "COLUMNS": str(columns),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        },
    )
