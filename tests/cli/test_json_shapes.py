"""One JSON shape per output, declared once (``cli._json_shapes``): the checked-in
schemas are the generated ones, and what the commands really print validates.

One real run (``wdh-etl --all-domains`` over generated sources) feeds every command.
"""

import json
from pathlib import Path

import jsonschema
import pytest

from tests.helpers import ROOT, wdh_etl, wdh_failures
from work_data_hub.cli._explain_shape import ExplainOutput
from work_data_hub.cli._json_shapes import (
    DiffOutput,
    EtlSummary,
    ExcelOutput,
    FailedRow,
    SessionEntry,
    SessionsOutput,
    ShowOutput,
    SummaryOutput,
    SummaryRow,
    schema_text,
    schemas,
)
from work_data_hub.infrastructure.validation import ErrorType, read_failures
from work_data_hub.samples.generate import generate

SCHEMAS = ROOT / "docs" / "schemas"
ROW_FIELDS = list(FailedRow.model_fields)


def test_the_checked_in_schemas_are_the_generated_ones():
    generated = schemas()
    assert sorted(path.name for path in SCHEMAS.iterdir()) == sorted(generated)
    for name, schema in generated.items():
        # regenerate: python -m work_data_hub.cli._json_shapes docs/schemas
        assert (SCHEMAS / name).read_text(encoding="utf-8") == schema_text(schema), name


def test_count_columns_are_the_error_types():
    for model in (SessionEntry, SummaryRow):
        names = [name for name in model.model_fields if name.isupper()]
        assert names == [e.value for e in ErrorType]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    generate(root / "data" / "samples", rows=8, seed=5)
    for _ in range(2):  # two sessions, for diff
        result = wdh_etl("--all-domains", "--plain", "--summary-json", "run.json", cwd=root)
        assert result.returncode == 0, result.stderr
    return root


def _output(run: Path, *args: str) -> object:
    result = wdh_failures(*args, "--json", cwd=run)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _valid(data: object, schema_name: str, model: type) -> None:
    schema = json.loads((SCHEMAS / f"{schema_name}.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(data, schema)
    model.model_validate(data)  # extra="forbid": no field the model does not declare


def test_every_output_validates_against_its_schema(run):
    sessions = _output(run, "sessions")
    assert len(sessions) == 2
    old, new = (s["session_id"] for s in reversed(sessions))
    _valid(sessions, "wdh-failures-sessions", SessionsOutput)
    _valid(_output(run, "summary"), "wdh-failures-summary", SummaryOutput)
    _valid(_output(run, "show", "--limit", "1000"), "wdh-failures-show", ShowOutput)
    _valid(_output(run, "diff", old, new), "wdh-failures-diff", DiffOutput)
    excel = _output(run, "excel", "-o", str(run / "f.xlsx"))
    _valid(excel, "wdh-failures-excel", ExcelOutput)
    _valid(_output(run, "explain", "--limit", "1000"), "wdh-failures-explain", ExplainOutput)
    summary = json.loads((run / "run.json").read_text(encoding="utf-8"))
    _valid(summary, "wdh-etl-summary", EtlSummary)


def test_a_failed_row_has_one_shape_in_show_diff_and_explain(run):
    log = Path(_output(run, "summary")["log"])
    logged = read_failures(run / log)
    sessions = _output(run, "sessions")
    shown = _output(run, "show", "--limit", "1000")
    diffed = _output(run, "diff", sessions[1]["session_id"], sessions[0]["session_id"])["failures"]
    explained = _output(run, "explain", "--limit", "1000")["explained"]
    assert len(shown) == len(diffed) == len(explained) == len(logged)
    assert {row["status"] for row in diffed} == {"persisting"}
    by_row = {}
    for command, rows in (("show", shown), ("diff", diffed), ("explain", explained)):
        assert all(list(row)[: len(ROW_FIELDS)] == ROW_FIELDS for row in rows), command
        for row in rows:
            key = (row["domain"], row["source_file"], row["row_index"])
            by_row.setdefault(key, []).append({name: row[name] for name in ROW_FIELDS})
    # the same row reads the same in each command
    assert all(a == b == c for a, b, c in by_row.values())
    # raw_data is the logged JSON object, exactly; sheet_row is row_index + 2
    exact = {
        (r.domain, r.source_file, r.row_index): json.loads(r.raw_data) for r in logged.itertuples()
    }
    for key, (row, *_) in by_row.items():
        assert row["raw_data"] == exact[key]
        assert row["sheet_row"] == row["row_index"] + 2
