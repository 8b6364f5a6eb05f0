"""Property: to_failed_frame -> several exports -> read_failures -> expand_raw_data
gives back every failed row exactly (by the documented type mapping), under one header."""

import csv
import itertools
import json
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from tests.helpers import SESSION
from tests.strategies import expected_json_value, nasty_text, read_back_value, source_frames
from work_data_hub.infrastructure.validation import (
    FIELDNAMES,
    ErrorType,
    FailureExporter,
    expand_raw_data,
    read_failures,
    to_failed_frame,
)


@st.composite
def failure_batches(draw: st.DrawFn):
    raw = draw(source_frames())
    start = draw(st.integers(min_value=0, max_value=10**6))
    raw.index = pd.RangeIndex(start, start + len(raw))
    failed = draw(st.lists(st.sampled_from(list(raw.index)), unique=True, min_size=1))
    cuts = sorted(draw(st.lists(st.integers(0, len(failed)), max_size=3)))
    bounds = [0, *cuts, len(failed)]
    batches = [failed[a:b] for a, b in itertools.pairwise(bounds)]
    return raw, batches


@given(failure_batches(), nasty_text, nasty_text.filter(bool), st.sampled_from(list(ErrorType)))
def test_failed_rows_round_trip_through_the_log(case, source_file, domain, error_type):
    raw, batches = case
    with tempfile.TemporaryDirectory() as folder:
        exporter = FailureExporter(SESSION, Path(folder))
        produced = []
        for labels in batches:
            frame = to_failed_frame(
                raw.loc[labels],
                raw=raw,
                session_id=SESSION,
                domain=domain,
                source_file=source_file,
                error_type=error_type,
            )
            exporter.export(frame)
            produced.append(frame)
        path = exporter.output_file
        data = path.read_bytes()
        expected_rows = sum(len(b) for b in batches)

        # one header, and the whole file parses identically with csv and pandas
        assert data.startswith(",".join(FIELDNAMES).encode() + b"\n")
        with path.open(newline="", encoding="utf-8") as file:
            rows = list(csv.DictReader(file))
        as_read = pd.read_csv(path, dtype=str, keep_default_na=False)
        assert len(rows) == len(as_read) == expected_rows

        frame = read_failures(path)
        written = pd.concat(produced, ignore_index=True)
        assert frame["raw_data"].tolist() == written["raw_data"].tolist()
        assert (
            [r["raw_data"] for r in rows]
            == as_read["raw_data"].tolist()
            == written["raw_data"].tolist()
        )
        assert set(frame["source_file"]) == {source_file}
        assert set(as_read["domain"]) == {domain}
        assert frame["timestamp"].tolist() == written["timestamp"].tolist()
        assert frame["row_index"].tolist() == [label for b in batches for label in b]

        expanded = expand_raw_data(frame)
        assert list(expanded.columns) == [str(c) for c in raw.columns]
        for position, label in enumerate(frame["row_index"]):
            for name in raw.columns:
                original = expected_json_value(raw.loc[label, name])
                back = read_back_value(expanded[str(name)].iloc[position])
                assert back == original, (name, raw.loc[label, name], back)
                json.dumps(back)  # plain JSON values only
