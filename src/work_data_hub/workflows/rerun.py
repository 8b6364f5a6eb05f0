"""Failed rows, run again through their domain's steps as they were read.

The shared core of explaining and replaying a failure log. Per (domain,
source file) the logged rows are turned back into the source rows
(``source_rows``: ``raw_data`` JSON to the values the reader gave, indexed
by their row in the source file) and run through the domain's steps against
the current reference data.

Four things make a rerun give the answer a run over the whole file would:

- Only rows of the file's *current* load run (the ledger, ``io.file_loads``):
  rows of a session whose load of the file never committed (logged, then
  the load failed or was killed) are not run, nor are rows of a load that a
  later run of the file superseded. Either would load a row a clean run of
  today's file would not (a row no longer in the file, a logged duplicate).
- Rows whose lineage slot (source file, row) in the domain table is taken,
  by an earlier replay or a later run of the file, are not run again.
- Every other logged row of the same file runs along as context, even when
  not selected: the duplicate rule keeps the first copy of a row, and that
  copy may be a row that failed for another reason. Rows already loaded
  count as earlier copies through their fingerprints (``raw_hash``).
  Context rows' outcomes are dropped.
- Where a file has loaded rows without fingerprints (loaded by a version
  before they existed), a row logged as dropped might copy one of them: such
  rows are not run, and say why.
- Where the source folder is known and the file is still there, it must be
  the file its current load read (the ledger's SHA-256): a file changed since
  (corrected by hand, say) may no longer hold the logged rows, and loading
  them would put back what the file no longer says. Its rows are not run;
  running the file again is the fix.

A file that cannot be rerun (an unknown domain, rows without a row index,
a database error) is reported on its ``FileRerun`` and the next file runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy.exc import SQLAlchemyError

from work_data_hub.domain.duplicates import fingerprints
from work_data_hub.domain.pipeline import PipelineRun, run_steps
from work_data_hub.domain.registry import DOMAINS
from work_data_hub.errors import UnknownDomainError, WorkDataHubError
from work_data_hub.infrastructure.validation import ErrorType, latest_entries
from work_data_hub.infrastructure.validation.raw_data import source_rows
from work_data_hub.infrastructure.validation.session import session_started
from work_data_hub.io.file_loads import LoadKind
from work_data_hub.io.sources import source_digest
from work_data_hub.workflows._resume import file_of
from work_data_hub.workflows.workspace import Workspace

__all__ = ["FileRerun", "rerun_failures"]

_UNFINGERPRINTED = (
    "may copy a row loaded before rows had fingerprints (raw_hash): run wdh-etl over "
    "the file again instead"
)


@dataclass
class FileRerun:
    """One source file's selected log entries, run again.

    ``logged``: the selected entries, indexed by row in the source file
    (when ``error`` is set, the index is the log's). ``slots``: for selected
    rows whose lineage slot is taken, the session that filled it and whether
    it holds this very row (``same_row``). ``superseded``: reasons for
    selected rows of a load that a later run of the file replaced.
    ``not_run``: reasons for selected rows deliberately not run (their load
    never committed, say). ``run``: the pipeline over the rows still to do
    plus the context rows (``None`` when there were none). ``load_session``:
    the session of the file's current load, which fixed rows join.
    ``error``: why the file could not be rerun at all.
    """

    domain: str
    source_file: str
    logged: pd.DataFrame
    raw: pd.DataFrame = field(default_factory=pd.DataFrame)
    slots: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(
            {"session_id": pd.Series(dtype="str"), "same_row": pd.Series(dtype=bool)}
        )
    )
    superseded: pd.Series = field(default_factory=lambda: pd.Series(dtype="str"))
    not_run: pd.Series = field(default_factory=lambda: pd.Series(dtype="str"))
    run: PipelineRun | None = None
    load_session: str | None = None
    error: str | None = None

    @property
    def todo(self) -> pd.Index:
        """Selected rows that were run."""
        if self.error is not None:
            return pd.Index([], dtype="int64")
        skipped = self.slots.index.union(self.not_run.index).union(self.superseded.index)
        return self.logged.index.difference(skipped)

    def kept_selected(self) -> pd.DataFrame:
        """The selected rows that pass now, as the steps left them."""
        if self.run is None:
            return self.raw.iloc[:0]
        return self.run.kept[self.run.kept.index.isin(self.todo)]

    def failures_selected(self) -> pd.DataFrame | None:
        """The failure-log frame of the selected rows that still fail (None: nothing ran)."""
        if self.run is None:
            return None
        failures = self.run.failures
        return failures[failures["row_index"].isin(self.todo)].reset_index(drop=True)


def _stale_sessions(
    loads: pd.DataFrame, sessions: pd.Series, source_file: str
) -> tuple[str | None, dict[str, str], dict[str, str]]:
    """The current load's session of the file, and the logged sessions whose rows
    must not run: superseded ones and ones whose load never committed, with why."""
    current_loads = loads[loads["kind"] == LoadKind.LOAD.value]
    current = str(current_loads["session_id"].iloc[-1]) if len(current_loads) else None
    superseded: dict[str, str] = {}
    uncommitted: dict[str, str] = {}
    for session in sessions.dropna().astype(str).unique():
        mine = loads[loads["session_id"] == session]
        if mine.empty:
            resumable = session_started(session) is not None  # (an old release's odd id is not)
            uncommitted[session] = (
                f"session {session} never committed a load of {source_file} (its failures "
                "were logged, then the load failed or was interrupted): run wdh-etl over the "
                "file again"
                + (f", or resume the session with --session-id {session}" if resumable else "")
            )
            continue
        base = str(mine["load_session"].iloc[-1])
        if base != current:
            superseded[session] = (
                f"{source_file} was loaded again by session {current} after session {base}: "
                f"this row belongs to a load that no longer counts; explain or replay "
                f"session {current}'s failures instead"
            )
    return current, superseded, uncommitted


def _changed_since_load(
    loads: pd.DataFrame, domain: str, source_file: str, source_dir: Path | None
) -> str | None:
    """Why the file's rows must not run when it changed since its current load (None:
    it did not, or that cannot be known: no source folder, no file, no digest)."""
    current = loads[loads["kind"] == LoadKind.LOAD.value]
    if source_dir is None or current.empty or pd.isna(current["file_sha256"].iloc[-1]):
        return None
    path = source_dir / domain / file_of(source_file)
    if not path.is_file() or source_digest(path) == current["file_sha256"].iloc[-1]:
        return None
    return (
        f"{path} changed after session {current['session_id'].iloc[-1]} loaded it: the "
        "logged rows may no longer be what the file holds; run wdh-etl over the file again"
    )


def _loaded_by_fingerprint(lineage: pd.DataFrame) -> pd.Series:
    known = lineage.dropna(subset=["raw_hash"])
    return pd.Series(known.index.to_numpy(), index=known["raw_hash"].astype("int64").to_numpy())


def _placeable(row_index: pd.Series) -> pd.Series:
    """Which entries name a row of their file (a row index, not negative)."""
    return (row_index.notna() & (row_index.fillna(-1) >= 0)).astype(bool)


def _rerun_file(
    domain: str,
    source_file: str,
    in_file: pd.DataFrame,
    *,
    workspace: Workspace,
    session_id: str,
    explain: bool,
    create_tables: bool,
    source_dir: Path | None,
) -> Iterator[FileRerun]:
    chosen = in_file[in_file["chosen"]].drop(columns="chosen")
    if domain not in DOMAINS:
        raise UnknownDomainError(domain, known=list(DOMAINS))
    unplaced = ~_placeable(chosen["row_index"])
    if unplaced.any():
        yield FileRerun(
            domain,
            source_file,
            chosen[unplaced],
            error="no row_index, or a negative one: the row cannot be placed in its source file",
        )
    placed = in_file[_placeable(in_file["row_index"])]
    placed = placed.set_index(placed["row_index"].astype("int64").to_numpy()).sort_index()
    logged = placed[placed["chosen"]].drop(columns="chosen")
    if logged.empty:
        return
    spec, database = DOMAINS[domain], workspace.database
    database.add_domain(spec.table, create=create_tables)
    loads = database.loads(domain, [source_file])
    current, superseded_sessions, uncommitted = _stale_sessions(
        loads, placed["session_id"], source_file
    )
    if changed := _changed_since_load(loads, domain, source_file, source_dir):
        yield FileRerun(domain, source_file, logged, not_run=pd.Series(changed, index=logged.index))
        return
    sessions = placed["session_id"].astype(str)
    superseded = sessions[sessions.isin(superseded_sessions)].map(superseded_sessions)
    stale = sessions[sessions.isin(uncommitted)].map(uncommitted)
    # rows of loads that do not count neither run nor serve as context
    placed = placed.drop(index=superseded.index.union(stale.index))
    superseded = superseded[superseded.index.isin(logged.index)].astype("str")
    stale = stale[stale.index.isin(logged.index)].astype("str")
    lineage = database.lineage(domain, [source_file]).set_index("row_index")
    counted = logged.index.difference(superseded.index).difference(stale.index)
    taken = counted.intersection(lineage.index)
    # the log's text is what the row encodes to again (tests/domain/test_duplicates.py)
    prints = fingerprints(logged.loc[taken, "raw_data"])
    slot = lineage.loc[taken]
    slots = pd.DataFrame(
        {
            "session_id": slot["session_id"].astype("str"),
            "same_row": (slot["raw_hash"].isna() | (slot["raw_hash"] == prints)).astype(bool),
        },
        index=taken,
    )
    not_run = stale
    if lineage["raw_hash"].isna().any():
        dropped = placed.index[
            (placed["error_type"] == ErrorType.DROPPED_IN_PIPELINE.value)
            & placed["chosen"].to_numpy()
            & ~placed.index.isin(taken)
        ]
        not_run = pd.concat([not_run, pd.Series(_UNFINGERPRINTED, index=dropped, dtype="str")])
    batch = placed[~placed.index.isin(lineage.index) & ~placed.index.isin(not_run.index)]
    raw = source_rows(batch)
    run = None
    if len(batch):
        steps = spec.steps(workspace.reference, _loaded_by_fingerprint(lineage))
        run = run_steps(
            raw,
            steps,
            session_id=session_id,
            domain=domain,
            source_file=source_file,
            explain=explain,
        )
    yield FileRerun(
        domain,
        source_file,
        logged,
        raw=raw,
        slots=slots,
        superseded=superseded,
        not_run=not_run,
        run=run,
        load_session=current,
    )


def rerun_failures(
    failures: pd.DataFrame,
    workspace: Workspace,
    *,
    session_id: str,
    selected: pd.Series | None = None,
    explain: bool = False,
    create_tables: bool = True,
    source_dir: Path | None = None,
) -> Iterator[FileRerun]:
    """Run the ``selected`` rows (default: all) of a failure log again, one source
    file at a time, against ``workspace``'s database and reference data.

    ``failures`` is a whole log (``read_failures``); ``selected`` a boolean
    mask over it (missing values count as not selected); of a row logged
    several times only the latest entry counts. ``create_tables=False``
    leaves the database as it is (explaining only reads). ``source_dir``: the
    folder the logged session read (its files are checked against their loads).
    """
    if selected is None:
        selected = pd.Series(True, index=failures.index)
    entries = latest_entries(failures)
    chosen = selected.reindex(entries.index).fillna(False).astype(bool)
    entries = entries.assign(chosen=chosen.to_numpy())
    groups = entries.groupby(["domain", "source_file"], sort=False, dropna=False)
    for (domain, source_file), in_file in groups:
        if not in_file["chosen"].any():
            continue
        done: list[FileRerun] = []
        try:
            for rerun in _rerun_file(
                str(domain),
                str(source_file),
                in_file,
                workspace=workspace,
                session_id=session_id,
                explain=explain,
                create_tables=create_tables,
                source_dir=source_dir,
            ):
                done.append(rerun)
        except (WorkDataHubError, SQLAlchemyError) as error:
            logged = in_file[in_file["chosen"]].drop(columns="chosen")
            reported = pd.concat(
                [r.logged for r in done if r.error is not None] or [logged.iloc[:0]]
            )
            rest = logged.drop(index=reported.index, errors="ignore")
            done = [r for r in done if r.error is not None]
            done.append(
                FileRerun(str(domain), str(source_file), rest, error=" ".join(str(error).split()))
            )
        yield from done
