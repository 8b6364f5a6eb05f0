"""Failed rows, run again through their domain's steps as they were read.

The shared core of explaining and replaying a failure log. Per (domain,
source file) the logged rows are turned back into the source rows
(``source_rows``: ``raw_data`` JSON to the values the reader gave, indexed
by their row in the source file) and run through the domain's steps against
the current reference data.

Two things make a rerun give the answer a run over the whole file would:

- Rows already loaded (their lineage slot in the domain table is taken,
  for instance by an earlier replay) are not run again.
- Every other logged row of the same file runs along as context, even when
  not selected: the duplicate rule keeps the first copy of a row, and that
  copy may be a row that failed for another reason. Rows already loaded
  count as earlier copies through their fingerprints. Context rows'
  outcomes are dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import pandas as pd

from work_data_hub.domain.pipeline import PipelineRun, run_steps
from work_data_hub.domain.reference import Reference
from work_data_hub.domain.registry import DOMAINS
from work_data_hub.errors import FailureLogFormatError
from work_data_hub.infrastructure.validation.raw_data_expand import source_rows
from work_data_hub.io.database import Database

__all__ = ["FileRerun", "latest_entries", "rerun_failures"]

_KEY = ["domain", "source_file", "row_index"]


@dataclass
class FileRerun:
    """One source file's logged rows, run again.

    ``logged`` holds the file's log entries that were selected (index: row
    index in the source file). ``loaded`` the session that loaded each
    selected row already (those were not run). ``run`` is the pipeline's
    outcome over the selected rows still to do plus the context rows; use
    ``kept_selected`` and ``failures_selected``.
    """

    domain: str
    source_file: str
    logged: pd.DataFrame
    loaded: pd.Series
    raw: pd.DataFrame
    run: PipelineRun | None

    @property
    def todo(self) -> pd.Index:
        """Selected rows that were run (not loaded already)."""
        return self.logged.index.difference(self.loaded.index)

    def kept_selected(self) -> pd.DataFrame:
        """The selected rows that pass now, as the steps left them."""
        if self.run is None:
            return self.raw.iloc[:0]
        return self.run.kept[self.run.kept.index.isin(self.todo)]

    def failures_selected(self) -> pd.DataFrame:
        """The failure-log frame of the selected rows that still fail."""
        if self.run is None:
            raise FailureLogFormatError("no pipeline run for this file")
        failures = self.run.failures
        return failures[failures["row_index"].isin(self.todo)].reset_index(drop=True)


def latest_entries(failures: pd.DataFrame) -> pd.DataFrame:
    """One log entry per (domain, source file, row): the last one.

    A session that ran the same file twice (``wdh-etl --session-id``) logs
    a row twice; its later fate is the current one.

    >>> log = pd.DataFrame({"domain": ["d", "d"], "source_file": ["a.csv"] * 2,
    ...                     "row_index": [4, 4], "error_type": ["X", "Y"]})
    >>> latest_entries(log)["error_type"].tolist()
    ['Y']
    """
    missing = [column for column in [*_KEY, "error_type"] if column not in failures.columns]
    if missing:
        raise FailureLogFormatError(f"a failure log frame needs the columns {missing}")
    return failures.drop_duplicates(subset=_KEY, keep="last")


def _loaded_by_fingerprint(lineage: pd.DataFrame) -> pd.Series:
    known = lineage.dropna(subset=["raw_hash"])
    return pd.Series(
        known["row_index"].to_numpy(), index=known["raw_hash"].astype("int64").to_numpy()
    )


def rerun_failures(
    failures: pd.DataFrame,
    selected: pd.Series,
    *,
    database: Database,
    reference: Reference,
    session_id: str,
    explain: bool = False,
) -> Iterator[FileRerun]:
    """Run the ``selected`` rows of a failure log again, one source file at a time.

    ``failures`` is a whole log (``read_failures``); ``selected`` a boolean
    mask over it. Rows of domains this version does not know raise
    ``FailureLogFormatError`` before anything runs.
    """
    entries = latest_entries(failures)
    entries = entries.assign(
        chosen=selected.reindex(entries.index, fill_value=False).astype(bool).to_numpy()
    )
    unknown = sorted(set(entries.loc[entries["chosen"], "domain"]) - set(DOMAINS))
    if unknown:
        raise FailureLogFormatError(
            f"the log holds rows of domains this version cannot run: {unknown}; "
            f"known: {', '.join(DOMAINS)}"
        )
    files = entries.loc[entries["chosen"], ["domain", "source_file"]].drop_duplicates()
    for domain, source_file in files.itertuples(index=False):
        spec = DOMAINS[domain]
        database.add_domain(domain, amounts=spec.amounts, texts=spec.texts)
        lineage = database.lineage(domain, [source_file])
        in_file = entries[(entries["domain"] == domain) & (entries["source_file"] == source_file)]
        in_file = in_file.set_index(in_file["row_index"].astype("int64").to_numpy()).sort_index()
        logged = in_file[in_file["chosen"]].drop(columns="chosen")
        loaded = lineage.set_index("row_index")["session_id"]
        batch = in_file[~in_file.index.isin(loaded.index)]
        raw = source_rows(batch)
        run = None
        if len(batch):
            steps = spec.steps(replace(reference, loaded=_loaded_by_fingerprint(lineage)))
            run = run_steps(
                raw,
                steps,
                session_id=session_id,
                domain=domain,
                source_file=source_file,
                explain=explain,
            )
        yield FileRerun(
            domain=domain,
            source_file=source_file,
            logged=logged,
            loaded=loaded[loaded.index.isin(logged.index)],
            raw=raw,
            run=run,
        )
