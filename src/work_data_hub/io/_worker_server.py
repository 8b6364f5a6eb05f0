"""The first module that the server a local cluster's workers are forked from
imports (``io.scheduler.start_worker_server``); imported anywhere else, it does
nothing.

In that server (its environment names it: ``WORKER_SERVER``) it makes the
server's state what the workers should start with. Python's fork server gives
the processes it forks the signal handlers it had once its imports were done:
with SIGINT ignored there, a worker leaves a terminal's Ctrl-C to the run from
its first instant, before Dask has set it up (``_local_workers.IgnoreCtrlC``
then changes nothing). And what the server imported is frozen out of the cycle
collector's walks just before each fork: a worker's collections walk only what
it made itself (its first one took 0.09 s instead of 0.003 s otherwise).
"""

from __future__ import annotations

import gc
import os
import signal
from typing import Final

#: Set in the server's environment only (the run takes it out of its own at once).
WORKER_SERVER: Final = "WDH_LOCAL_WORKER_SERVER"

if os.environ.pop(WORKER_SERVER, None) == "1":  # (popped: the workers do not inherit it)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.register_at_fork(before=gc.freeze)
