"""What a local cluster's workers do differently: Ctrl-C is the run's to handle.

A terminal's Ctrl-C reaches every process of the foreground group, a local
cluster's workers too; they leave it to ``wdh-etl``, which stops the run,
says how to resume it, and closes the cluster. Imported only with Dask.
"""

from __future__ import annotations

import gc
import signal
import threading
from typing import Any

from distributed import WorkerPlugin

__all__ = ["FreezeStartup", "IgnoreCtrlC"]


class IgnoreCtrlC(WorkerPlugin):
    """Worker plugin: SIGINT ignored in the worker's process (restarted ones too)."""

    def setup(self, worker: Any) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)


class FreezeStartup(WorkerPlugin):
    """Worker plugin: what a worker holds once started (its imports, Dask's among them,
    and the worker itself) is left out of the cycle collector's walks, as ``wdh-etl``
    does for itself (``workflows.freeze_imports``): a local cluster's worker lives for
    one run, and each full collection would otherwise walk those objects again."""

    def setup(self, worker: Any) -> None:
        gc.collect()
        gc.freeze()
