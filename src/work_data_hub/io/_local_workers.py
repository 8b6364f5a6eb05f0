"""What a local cluster's workers do differently: Ctrl-C is the run's to handle.

A terminal's Ctrl-C reaches every process of the foreground group, a local
cluster's workers too; they leave it to ``wdh-etl``, which stops the run,
says how to resume it, and closes the cluster. Imported only with Dask.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from distributed import WorkerPlugin

__all__ = ["IgnoreCtrlC"]


class IgnoreCtrlC(WorkerPlugin):
    """Worker plugin: SIGINT ignored in the worker's process (restarted ones too)."""

    def setup(self, worker: Any) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
