"""A resumed session's memory: what it logged and loaded of a file before.

A session run again with the same id skips the files whose load it already
committed, byte for byte the same, and logs nothing twice: failures it logged
already are not logged again, and a file whose earlier-logged rows would load
now is refused (``ResumeConflictError``). A file it logged rows of but never
loaded, and that is no longer in the source folder, is that file's error
(``files_gone``): the session cannot be complete without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from work_data_hub.domain.spec import DomainSpec
from work_data_hub.errors import ResumeConflictError, SourceFileError
from work_data_hub.infrastructure.validation import ErrorType, FailureExporter, read_failures
from work_data_hub.io.database import Database
from work_data_hub.io.file_loads import LoadKind
from work_data_hub.io.sources import source_name

__all__ = [
    "NO_ENTRIES",
    "EarlierEntries",
    "committed_load",
    "file_of",
    "files_gone",
    "not_logged_yet",
    "tables_of",
]


class EarlierEntries:
    """What this session logged of one domain's files before (a resumed session),
    read once, when first needed: latest entries by file, indexed by row."""

    def __init__(self, exporter: FailureExporter | None, domain: str) -> None:
        self.exporter, self.domain = exporter, domain
        self._by_file: dict[str, pd.DataFrame] | None = None

    def only(self, source_files: list[str]) -> EarlierEntries:
        """These files' entries alone, read already: small, for a worker without the log."""
        detached = EarlierEntries(None, self.domain)
        detached._by_file = {name: self.of(name) for name in source_files}
        return detached

    def _entries(self) -> dict[str, pd.DataFrame]:
        """Every logged file's entries, the log read on first use."""
        if self._by_file is None:
            assert self.exporter is not None, "detached entries are read already"
            self._by_file = {}
            path = self.exporter.output_file
            if path.exists():
                failures = read_failures(path)
                mine = failures[failures["domain"] == self.domain]
                for name, rows in mine.groupby("source_file", observed=True):
                    placed = rows[rows["row_index"].notna()]
                    self._by_file[str(name)] = placed.set_index(
                        placed["row_index"].astype("int64").to_numpy()
                    )
        return self._by_file

    def of(self, source_file: str) -> pd.DataFrame:
        return self._entries().get(source_file, NO_ENTRIES)

    def files(self) -> list[str]:
        """The ``source_file`` labels this session logged rows of, in the log's order."""
        return list(self._entries())

    def counts(self, source_file: str) -> dict[str, int]:
        logged = self.of(source_file)["error_type"].astype(str).value_counts()
        return {e.value: int(logged.get(e.value, 0)) for e in ErrorType}


NO_ENTRIES = pd.DataFrame(columns=["error_type", "raw_data"])


def not_logged_yet(failures: pd.DataFrame, earlier: pd.DataFrame, source_file: str) -> pd.DataFrame:
    """The failures this session has not logged yet; refuse rows it logged that pass now."""
    if earlier.empty:
        return failures
    rows = failures["row_index"].astype("int64")
    passing = earlier.index.difference(pd.Index(rows))
    if len(passing):
        raise ResumeConflictError(
            f"{source_file}: this session logged rows {passing.tolist()[:5]} of it as failed "
            "in a run whose load did not commit (or of other contents), and they would load "
            "now (the file or the reference data changed since): run the file in a new "
            "session (without --session-id), so that one log tells one story",
            source_file=source_file,
            labels=passing.tolist(),
        )
    same = earlier.reindex(rows.to_numpy())
    same_type = same["error_type"].astype(str).to_numpy() == failures["error_type"].astype(str)
    same_row = same["raw_data"].to_numpy() == failures["raw_data"].to_numpy()
    fresh: pd.DataFrame = failures[~(same_type.to_numpy() & same_row)]
    return fresh


def tables_of(path: Path, sheets: tuple[str, ...] | None) -> list[str]:
    """The ``source_file`` labels a file's tables will carry, before reading it."""
    name = source_name(path)
    if sheets is None or path.suffix.lower() == ".csv":
        return [name]
    return [f"{name}[{sheet}]" for sheet in sheets]


def file_of(label: str) -> str:
    """The file name a ``source_file`` label names (a sheet's is ``<file>[<sheet>]``).

    >>> file_of("2024-03.xlsx[企年受托中标]"), file_of("a[1].csv")
    ('2024-03.xlsx', 'a[1].csv')
    """
    return label.rsplit("[", 1)[0] if label.endswith("]") else label


def committed_load(
    path: Path,
    digest: str,
    spec: DomainSpec,
    session_id: str,
    database: Database,
    earlier: EarlierEntries,
) -> pd.DataFrame | None:
    """The ledger rows of this session's committed load of the file, byte for byte the
    same (one per table) and still each table's latest load, or None when the file
    must run: also when a later load (of other bytes, or by another session) replaced
    it, and when the log does not hold the failures that load counted (a client
    killed between a worker's load and its own append of the file's failures)."""
    labels = tables_of(path, spec.sheets)
    loads = database.loads(spec.name, labels)
    # each table's latest load, by any session: the rows its table holds now
    latest = loads[loads["kind"] == LoadKind.LOAD.value].drop_duplicates("source_file", keep="last")
    mine = latest[(latest["session_id"] == session_id) & (latest["file_sha256"] == digest)]
    if set(mine["source_file"]) != set(labels):
        return None  # never loaded, loaded other bytes since, or another session loaded since
    logged = all(
        int(load["rows_logged"]) == len(earlier.of(str(load["source_file"])))
        for _, load in mine.iterrows()
    )
    return mine.set_index("source_file") if logged else None


def files_gone(
    earlier: EarlierEntries,
    listed: Sequence[Path],
    spec: DomainSpec,
    database: Database,
    folder: Path,
) -> dict[Path, SourceFileError]:
    """The files (as paths in ``folder``) the session of ``earlier`` logged rows of but
    whose load it never committed, that are not among ``listed`` any more (deleted,
    renamed), each with its error."""
    assert earlier.exporter is not None, "a resumed session's own entries"
    session_id = earlier.exporter.session_id
    present = {label for path in listed for label in tables_of(path, spec.sheets)}
    gone = [label for label in earlier.files() if label not in present]
    if not gone:
        return {}
    loads = database.loads(spec.name, gone)
    loaded = set(
        loads.loc[
            (loads["kind"] == LoadKind.LOAD.value) & (loads["session_id"] == session_id),
            "source_file",
        ]
    )
    errors: dict[Path, SourceFileError] = {}
    for label in gone:
        if label in loaded:
            continue  # its rows are in the table and the log: nothing missing
        name = file_of(label)
        rows = sum(len(earlier.of(other)) for other in gone if file_of(other) == name)
        errors[folder / name] = SourceFileError(
            f"this session logged {rows} rows of {name} but never loaded it, and it is "
            f"no longer in {folder}: put it back and resume the session, or run the "
            "domain in a new session (without --session-id)",
            path=folder / name,
        )
    return errors
