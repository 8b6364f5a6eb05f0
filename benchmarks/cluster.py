"""Scenario 9: the whole run on a local Dask cluster of 2 workers against the serial run.

The sources of scenario 7 (about 600,000 rows, every domain) run by
``wdh-etl --all-domains --plain`` into a fresh SQLite file, as a process:
serially, and with ``--scheduler local:2`` (two single-threaded worker
processes started and stopped by the run, on the same two cores), in turn,
``repeats`` times each. Target: serial / cluster >= 1.6 (medians).

Also: the fixed cost of a local cluster (start and stop of ``local:2``, no
task), and the cost per file on a run of many small files (48 copies of one
small CSV): the serial and the cluster runs' seconds per file, the cluster's
without its start.

    python -m benchmarks.cluster [REPEATS]
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

from benchmarks.whole_run import make_sources
from work_data_hub.samples.generate import generate

#: Small files for the per-file cost: copies of one domain's CSV of ~25 rows.
SMALL_FILES: Final = 48


def _wdh_etl(sources: Path, folder: Path, *extra: str, domain: str | None = None) -> float:
    """One ``wdh-etl`` process into a fresh SQLite file in ``folder``: its wall seconds."""
    folder.mkdir(parents=True)
    which = ["--domain", domain] if domain else ["--all-domains"]
    command = [
        sys.executable, "-m", "work_data_hub.cli.etl", *which, "--plain",
        "--source", str(sources), "--db", f"sqlite:///{folder / 'wdh.db'}",
        "--logs-dir", str(folder / "logs"), *extra,
    ]  # fmt: skip
    start = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if run.returncode != 0:
        raise RuntimeError(f"wdh-etl {' '.join(extra)} exited {run.returncode}: {run.stderr}")
    return wall


_START_STOP = """
import sys, time
from work_data_hub.io.scheduler import open_cluster
if __name__ == "__main__":
    start = time.perf_counter()
    with open_cluster("local:2") as client:
        client.wait_for_workers(2)
    print(time.perf_counter() - start)
"""


def _cluster_start_stop(folder: Path) -> float:
    """Seconds to start and stop a local cluster of 2 workers, in a fresh process."""
    script = folder / "start_stop.py"
    script.write_text(_START_STOP, encoding="utf-8")
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True)
    return float(run.stdout.strip().splitlines()[-1])


def _small_sources(folder: Path) -> Path:
    """``SMALL_FILES`` copies of one small annuity_performance CSV, with its reference."""
    generated = folder / "generated"
    generate(generated, rows=20, seed=4)
    sources = folder / "small"
    (sources / "annuity_performance").mkdir(parents=True)
    shutil.copytree(generated / "reference", sources / "reference")
    csv = generated / "annuity_performance" / "2024-02.csv"
    for number in range(SMALL_FILES):
        shutil.copy(csv, sources / "annuity_performance" / f"{number:03d}.csv")
    return sources


def scenario_cluster(repeats: int = 3) -> dict[str, Any]:
    """Serial and cluster runs of the whole-run sources; the cluster's fixed and per-file
    costs."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        sources, rows = make_sources(root / "sources")
        serial, cluster = [], []
        for attempt in range(repeats):  # in turn: a busy moment slows both alike
            serial.append(_wdh_etl(sources, root / f"serial{attempt}"))
            cluster.append(_wdh_etl(sources, root / f"cluster{attempt}", "--scheduler", "local:2"))
        start_stop = [_cluster_start_stop(root) for _ in range(repeats)]
        small = _small_sources(root)
        small_serial = [
            _wdh_etl(small, root / f"small_serial{a}", domain="annuity_performance")
            for a in range(repeats)
        ]
        on_cluster = ("--scheduler", "local:2")
        small_cluster = [
            _wdh_etl(small, root / f"small_cluster{a}", *on_cluster, domain="annuity_performance")
            for a in range(repeats)
        ]
    start = statistics.median(start_stop)
    return {
        "rows": rows,
        "serial": serial,
        "cluster": cluster,
        "speedup_median": statistics.median(serial) / statistics.median(cluster),
        "speedup_fastest": min(serial) / min(cluster),
        "start_stop": start_stop,
        "small_files": SMALL_FILES,
        "small_serial": small_serial,
        "small_cluster": small_cluster,
        "per_file_serial": statistics.median(small_serial) / SMALL_FILES,
        "per_file_cluster": (statistics.median(small_cluster) - start) / SMALL_FILES,
    }


def targets(result: dict[str, Any]) -> list[tuple[str, float, float, bool, float | None]]:
    """The scenario's target as (name, ratio, limit, at_least, fastest runs' ratio)."""
    return [
        (
            "9. whole run on a local cluster of 2 workers vs serial (speed-up)",
            result["speedup_median"],
            1.6,
            True,
            result["speedup_fastest"],
        )
    ]


def report_lines(result: dict[str, Any]) -> list[str]:
    """The scenario's section of RESULTS.md."""

    def seconds(values: list[float]) -> str:
        return ", ".join(f"{value:.1f}" for value in values)

    return [
        "## Scenario 9: the whole run on a local Dask cluster",
        "",
        f"`wdh-etl --all-domains --plain` over the sources of scenario 7 ({result['rows']:,} "
        "rows, 9 files, 11 tables) into a fresh SQLite file, as a process, serially and with "
        "`--scheduler local:2` (two single-threaded worker processes, started and stopped by "
        "the run, on the same 2 cores), in turn.",
        "",
        "| measured | value |",
        "|---|---:|",
        f"| serial runs | {seconds(result['serial'])} s |",
        f"| cluster runs (start of the cluster included) | {seconds(result['cluster'])} s |",
        f"| speed-up, medians | {result['speedup_median']:.2f}x |",
        f"| speed-up, fastest runs | {result['speedup_fastest']:.2f}x |",
        f"| start and stop of a local cluster of 2 workers | {seconds(result['start_stop'])} s |",
        f"| {result['small_files']} small files (one domain), serial runs "
        f"| {seconds(result['small_serial'])} s |",
        f"| the same on the cluster | {seconds(result['small_cluster'])} s |",
        f"| per file, serial | {result['per_file_serial'] * 1000:.0f} ms |",
        f"| per file, cluster (its start left out) | {result['per_file_cluster'] * 1000:.0f} ms |",
    ]


if __name__ == "__main__":
    print(json.dumps(scenario_cluster(int(sys.argv[1]) if len(sys.argv) > 1 else 1), indent=2))
