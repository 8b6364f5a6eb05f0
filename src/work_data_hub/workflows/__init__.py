"""The use cases: run a domain over its files, explain logged rows, replay them.

They drive the domains (rules and steps), the database and source files
(``io``) and the failure log; the commands only parse and print. Explain and
replay share one shape: ``(failures, workspace, *, selected=..., ...)``, with
the database and reference data built once in a ``Workspace``.
"""

from work_data_hub.workflows._memory import freeze_imports
from work_data_hub.workflows.explain import EXPLAIN_COLUMNS, Verdict, explain_failures
from work_data_hub.workflows.replay import Outcome, ReplayResult, replay_failures
from work_data_hub.workflows.rerun import FileRerun, rerun_failures
from work_data_hub.workflows.run import (
    DomainResult,
    FileResult,
    describe_error,
    run_domain,
)
from work_data_hub.workflows.session_record import SessionRecord, session_settings
from work_data_hub.workflows.workspace import Workspace, load_reference, reference_tables

__all__ = [
    "EXPLAIN_COLUMNS",
    "DomainResult",
    "FileRerun",
    "FileResult",
    "Outcome",
    "ReplayResult",
    "SessionRecord",
    "Verdict",
    "Workspace",
    "describe_error",
    "explain_failures",
    "freeze_imports",
    "load_reference",
    "reference_tables",
    "replay_failures",
    "rerun_failures",
    "run_domain",
    "session_settings",
]
