"""``Workspace``: the database a use case works on, and the reference data it checks
rows against, built in one place.

The reference data is the database's; a reference folder (``plans.csv``,
``company_mapping.csv``, ``branches.csv``) is either loaded into the database
first (``upsert``: a run, a replay) or only overlaid in memory (explaining,
which changes nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from work_data_hub.domain.reference import Reference
from work_data_hub.domain.registry import DOMAINS
from work_data_hub.domain.table import ReferenceTable
from work_data_hub.errors import SourceFileError
from work_data_hub.io.database import Database, existing_database, sqlite_file
from work_data_hub.io.sources import read_reference

__all__ = ["Workspace", "load_reference", "present_reference", "reference_tables"]


def reference_tables(domains: Sequence[str] = ()) -> tuple[ReferenceTable, ...]:
    """The reference tables ``domains`` (default: all) check rows against, once each."""
    names = list(domains) or list(DOMAINS)
    return tuple(dict.fromkeys(spec for name in names for spec in DOMAINS[name].reference))


def present_reference(
    folder: Path, specs: Sequence[ReferenceTable]
) -> dict[ReferenceTable, pd.DataFrame]:
    """The tables of ``specs`` whose files the folder holds, read (the others left out).

    Raises:
        SourceFileError: no such folder, none of the files is there, or one that is
            cannot be read.
    """
    if not folder.is_dir():
        raise SourceFileError(f"no reference folder {folder}", path=folder)
    present = [spec for spec in specs if (folder / spec.file).is_file()]
    if not present:
        names = ", ".join(spec.file for spec in specs)
        raise SourceFileError(f"no reference files ({names}) in {folder}", path=folder)
    return read_reference(folder, present)


@dataclass(frozen=True)
class Workspace:
    """A database and the reference data of every domain.

    >>> import tempfile
    >>> workspace = Workspace.open(f"sqlite:///{tempfile.mkdtemp()}/wdh.db", must_exist=False)
    >>> sorted(workspace.reference.tables)
    ['branches', 'company_mapping', 'plans']
    """

    database: Database
    reference: Reference

    @classmethod
    def open(
        cls,
        db_url: str,
        *,
        reference_dir: Path | None = None,
        upsert: bool = False,
        must_exist: bool = True,
    ) -> Workspace:
        """The database at ``db_url`` (an SQLite file must exist unless ``must_exist`` is
        false) and its reference data, with ``reference_dir``'s files loaded into it
        (``upsert``) or overlaid in memory.

        Raises:
            DatabaseNotFoundError: the SQLite file does not exist (``must_exist``).
            SourceFileError: ``reference_dir`` holds no reference file, or a bad one.
        """
        database = existing_database(db_url) if must_exist else Database(db_url)
        specs = reference_tables()
        files = present_reference(reference_dir, specs) if reference_dir is not None else {}
        if upsert and files:
            database.upsert_reference(files)
        reference = Reference(database.reference_frames(specs))
        if files and not upsert:
            overlay = Reference({spec.name: frame for spec, frame in files.items()})
            reference = reference.overlaid(overlay, specs)
        return cls(database, reference)


def load_reference(db_url: str, folder: Path, domains: list[str]) -> dict[str, str]:
    """Upsert the reference files ``domains`` need from ``folder`` into the database
    (an SQLite file's folder is made); return why a domain cannot run, for the
    domains whose reference file is missing.

    Raises:
        SourceFileError: there is no such folder, or a file in it cannot be read.
    """
    if not folder.is_dir():
        raise SourceFileError(f"no reference folder {folder}", path=folder)
    specs = reference_tables(domains)
    missing = {spec for spec in specs if not (folder / spec.file).is_file()}
    frames = read_reference(folder, [spec for spec in specs if spec not in missing])
    file = sqlite_file(db_url)
    if file is not None:  # the default works on a fresh clone
        file.parent.mkdir(parents=True, exist_ok=True)
    Database(db_url).upsert_reference(frames)
    return {
        domain: f"reference data: no {spec.file} in {folder}"
        for domain in domains
        for spec in DOMAINS[domain].reference
        if spec in missing
    }
