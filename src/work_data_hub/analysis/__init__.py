"""Failure analysis: what failed in a run, where, and is it new.

Plain DataFrames first; terminal and notebook views are built over them.
Each name is imported on first use, so a command that lists sessions does
not pay for the Excel writer or the Rich views.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from work_data_hub.analysis.diff import DiffStatus, diff_sessions
    from work_data_hub.analysis.excel import to_excel
    from work_data_hub.analysis.sessions import list_sessions, resolve_log
    from work_data_hub.analysis.summary import summarize
    from work_data_hub.analysis.views import FailureCards, FrameView

__all__ = [
    "DiffStatus",
    "FailureCards",
    "FrameView",
    "diff_sessions",
    "list_sessions",
    "resolve_log",
    "summarize",
    "to_excel",
]

_HOME = {
    "DiffStatus": "diff",
    "FailureCards": "views",
    "FrameView": "views",
    "diff_sessions": "diff",
    "list_sessions": "sessions",
    "resolve_log": "sessions",
    "summarize": "summary",
    "to_excel": "excel",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    globals()[name] = value  # once: later lookups do not come here
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
