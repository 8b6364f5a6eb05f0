"""Generated samples: wdh-etl rejects exactly the seeded rows, file by file."""

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import ROOT
from work_data_hub.infrastructure.validation import ErrorType, read_failures
from work_data_hub.samples.generate import generate


@pytest.mark.parametrize(("rows", "seed"), [(25, 3), (8, 11)])
def test_wdh_etl_rejects_exactly_the_seeded_failures(tmp_path, rows, seed):
    manifest = generate(tmp_path / "samples", rows=rows, seed=seed)
    summary_path = tmp_path / "summary.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "work_data_hub.cli.etl",
            "--all-domains",
            "--source",
            str(tmp_path / "samples"),
            "--db",
            f"sqlite:///{tmp_path / 'wdh.db'}",
            "--summary-json",
            str(summary_path),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "80"},
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    for key, expected in manifest["files"].items():
        domain, name = key.split("/")
        measured = summary["domains"][domain]["files"][name]
        failed = {e.value: expected["failed"].get(e.value, 0) for e in ErrorType}
        assert measured["read"] == expected["rows"], key
        assert measured["failed"] == failed, key
        assert measured["loaded"] == expected["rows"] - sum(failed.values()), key
    failures = read_failures(summary["failure_log"])
    assert set(failures["error_type"].astype(str)) == {e.value for e in ErrorType}


def test_bundled_samples_are_what_the_generator_makes(tmp_path):
    bundled = ROOT / "data" / "samples"
    manifest = json.loads((bundled / "manifest.json").read_text(encoding="utf-8"))
    again = generate(tmp_path, rows=manifest["good_rows"], seed=manifest["seed"])
    assert again == manifest
    for path in sorted(tmp_path.rglob("*.csv")):  # CSV bytes are deterministic
        assert path.read_bytes() == (bundled / path.relative_to(tmp_path)).read_bytes(), path
    for key in manifest["files"]:
        assert (bundled / key.split("[")[0]).is_file(), key  # a sheet's file
