"""``make bench``: time the failure log against its baselines, check the targets.

Every figure is the median of several runs in this process tree; every
target is a ratio of two figures from the same run, so a noisy shared
machine moves both sides together. Prints a markdown report and writes it
to benchmarks/RESULTS.md. Scenario 9 runs the whole run on a local Dask
cluster of 2 workers against the serial run. Scenario 8 (PostgreSQL loads, and scenario 7 on
PostgreSQL) starts its own server (``scripts/pg``) and stops it; where no
PostgreSQL is installed, the report says so and has no PostgreSQL targets.

    python -m benchmarks.run [--rows 1000000] [--repeats 3] [--baseline-repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from benchmarks.baselines import per_row_export, pyarrow_floor
from benchmarks.cluster import report_lines as cluster_lines
from benchmarks.cluster import scenario_cluster
from benchmarks.cluster import targets as cluster_targets
from benchmarks.data import BUSINESS_TYPES, SESSION, annuity_frame, failed_frame
from benchmarks.etl_share import make_samples, run_once
from benchmarks.pg_load import ROWS as PG_ROWS
from benchmarks.pg_load import report_lines as postgres_lines
from benchmarks.pg_load import scenario_postgres
from benchmarks.pg_load import targets as postgres_targets
from benchmarks.replay import scenario_replay
from benchmarks.timing import Figure, Target, timed
from benchmarks.whole_run import report_lines as whole_run_lines
from benchmarks.whole_run import scenario_whole_run
from benchmarks.whole_run import targets as whole_run_targets
from work_data_hub.infrastructure.validation import (
    FailureExporter,
    expand_raw_data,
    read_failures,
    to_failed_frame,
)
from work_data_hub.infrastructure.validation._csv_format import WRITE_BATCH_ROWS, to_arrow_table

RESULTS = Path(__file__).with_name("RESULTS.md")


def scenario_export(frame: pd.DataFrame, folder: Path, repeats: int, baseline_repeats: int):
    """1. failed frame -> to_failed_frame -> export, vs per-row and the pyarrow floor."""
    rows = len(frame)

    def ours(attempt: int) -> None:
        FailureExporter(SESSION, folder / f"ours{rows}_{attempt}").export(failed_frame(frame))

    built = failed_frame(frame)
    raw_share = built["raw_data"].memory_usage(deep=True) / frame.memory_usage(deep=True).sum()
    table = to_arrow_table(FailureExporter(SESSION, folder)._validated(built))
    del built
    figures = {
        "ours": timed(f"export {rows:,} ours", repeats, ours),
        "floor": timed(
            f"export {rows:,} pyarrow floor",
            repeats,
            lambda a: pyarrow_floor(table, folder / f"floor{rows}_{a}.csv"),
        ),
        "per_row": timed(
            f"export {rows:,} per-row",
            baseline_repeats,
            lambda a: per_row_export(frame, SESSION, folder / f"perrow{rows}_{a}.csv"),
        ),
    }
    return figures, FailureExporter(SESSION, folder / f"ours{rows}_0").output_file, raw_share


VALIDATION_SCHEMA = pa.DataFrameSchema(
    {
        "月度": pa.Column("datetime64[us]"),
        "计划代码": pa.Column(str, pa.Check.str_matches(r"^P\d+$")),
        "业务类型": pa.Column(str, pa.Check.isin(BUSINESS_TYPES)),
        "期初资产规模": pa.Column(float, pa.Check.ge(0), nullable=True),
        "期末资产规模": pa.Column(float, pa.Check.ge(0)),
        "户数": pa.Column(int, pa.Check.ge(1)),
    }
)


def with_failures(frame: pd.DataFrame, share: float = 0.1) -> pd.DataFrame:
    """Make about ``share`` of the rows fail validation, half each of two checks."""
    rng = np.random.default_rng(11)
    bad = frame.copy()
    picked = rng.choice(len(frame), size=int(len(frame) * share), replace=False)
    half = len(picked) // 2
    bad.loc[picked[:half], "期末资产规模"] = -1.0
    bad.loc[picked[half:], "计划代码"] = ""
    return bad


def scenario_validation(frame: pd.DataFrame, repeats: int):
    """2. pandera lazy validation with 10% failing rows, then to_failed_frame."""
    bad = with_failures(frame)
    errors: list[pa.errors.SchemaErrors] = []

    def validate(_: int) -> None:
        try:
            VALIDATION_SCHEMA.validate(bad, lazy=True)
        except pa.errors.SchemaErrors as error:
            errors[:] = [error]

    validation = timed(f"validate {len(bad):,}", repeats, validate)
    adapted = timed(
        "to_failed_frame(SchemaErrors)",
        repeats,
        lambda _: to_failed_frame(
            errors[0], raw=bad, session_id=SESSION, domain="d", source_file="f"
        ),
    )
    failing = len(
        to_failed_frame(errors[0], raw=bad, session_id=SESSION, domain="d", source_file="f")
    )
    return {"validation": validation, "to_failed_frame": adapted}, failing


def scenario_read(log: Path, repeats: int):
    """3. read_failures + expand_raw_data vs pyarrow read_csv and json_normalize."""
    # Results are dropped at once on both sides, so neither pays for the other's memory.
    figures = {
        "read_failures": timed("read_failures", repeats, lambda _: read_failures(log)),
        "read_csv": timed(
            "pd.read_csv(engine=pyarrow)",
            repeats,
            lambda _: pd.read_csv(log, dtype=str, engine="pyarrow"),
        ),
    }
    failures = read_failures(log)
    figures["expand"] = timed("expand_raw_data", repeats, lambda _: expand_raw_data(failures))
    figures["json_normalize"] = timed(
        "json.loads + pd.json_normalize",
        repeats,
        lambda _: pd.json_normalize([json.loads(text) for text in failures["raw_data"]]),
    )
    return figures


def scenario_memory(rows: int, repeats: int) -> dict[str, dict[str, float]]:
    """4. peak RSS growth in fresh processes, vs the input frame's size."""
    results: dict[str, dict[str, float]] = {}
    for mode in ("export", "build_and_export"):
        growths, input_bytes = [], 0
        for _ in range(repeats):
            output = subprocess.run(
                [sys.executable, "-m", "benchmarks.memory", str(rows), mode],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            measured = json.loads(output)
            growths.append(measured["peak_growth"])
            input_bytes = measured["input_bytes"]
        results[mode] = {"peak_growth": statistics.median(growths), "input_bytes": input_bytes}
        print(f"  memory {mode}: {results[mode]}", file=sys.stderr)
    return results


def scenario_etl(samples: Path, repeats: int) -> dict[str, dict[str, float]]:
    """5. share of a two-domain wdh-etl run over ``samples`` spent logging failures."""
    results: dict[str, dict[str, float]] = {}
    for label, all_fail in (("as generated", False), ("bad month (no company mapping)", True)):
        runs = [run_once(samples, all_fail=all_fail) for _ in range(repeats)]
        total = statistics.median(r[0] for r in runs)
        logging = statistics.median(r[1] for r in runs)
        results[label] = {"total": total, "logging": logging, "logged": runs[0][2]}
        print(f"  etl {label}: {results[label]}", file=sys.stderr)
    return results


def versions() -> str:
    names = ["pandas", "numpy", "pyarrow", "pandera", "orjson", "pydantic"]
    return ", ".join(f"{name} {metadata.version(name)}" for name in names)


def report(
    rows: int,
    repeats: int,
    baseline_repeats: int,
    figures: dict[str, Figure],
    failing: int,
    memory: dict[str, dict[str, float]],
    etl: dict[str, dict[str, float]],
    etl_rows: int,
    replay: dict[str, float],
    whole_run: dict[str, Any],
    postgres: dict[str, Any],
    cluster: dict[str, Any],
    raw_share: float,
    elapsed: float,
) -> str:
    mb = 1024 * 1024

    def timing(name: str, top: str, bottom: str, limit: float, at_least: bool) -> Target:
        upper, lower = figures[top], figures[bottom]
        return Target(
            name, upper.median / lower.median, limit, at_least, min(upper.runs) / min(lower.runs)
        )

    targets = [
        timing("1. export vs per-row baseline (speed-up)", "per_row", "ours", 25, True),
        timing("1. export vs pyarrow floor (slow-down)", "ours", "floor", 4, False),
        timing(
            "2. to_failed_frame added to validation", "to_failed_frame", "validation", 0.15, False
        ),
        timing(
            "3. read_failures vs pyarrow read_csv (slow-down)",
            "read_failures",
            "read_csv",
            2,
            False,
        ),
        timing(
            "3. expand_raw_data vs json_normalize (speed-up)", "json_normalize", "expand", 3, True
        ),
        Target(
            "4. peak RSS growth of export / input frame",
            memory["export"]["peak_growth"] / memory["export"]["input_bytes"],
            1.5,
            False,
        ),
        *(Target(*target) for target in whole_run_targets(whole_run)),
        *(Target(*target) for target in postgres_targets(postgres)),
        *(Target(*target) for target in cluster_targets(cluster)),
    ]
    lines = [
        "# Failure-log benchmarks",
        "",
        f"Run {datetime.now():%Y-%m-%d %H:%M} on {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; {versions()}. {rows:,} rows of a 12-column annuity "
        f"frame; median of {repeats} runs ({baseline_repeats} for the per-row baseline). "
        f"Total time {elapsed:.0f}s. Reproduce: `make bench`.",
        "",
        "## Targets (ratios of figures from this run)",
        "",
        "| target | ratio of medians | ratio of fastest runs | limit | met |",
        "|---|---:|---:|---:|:---:|",
    ]
    for target in targets:
        sign = ">=" if target.at_least else "<="
        fastest = "" if target.fastest_ratio is None else f"{target.fastest_ratio:.2f}"
        lines.append(
            f"| {target.name} | {target.ratio:.2f} | {fastest} | {sign} {target.limit:g} "
            f"| {'yes' if target.met else '**no**'} |"
        )
    lines += [
        "",
        "## Figures (seconds, median)",
        "",
        "| figure | median | runs |",
        "|---|---:|---|",
    ]
    for figure in figures.values():
        runs = ", ".join(f"{run:.2f}" for run in figure.runs)
        lines.append(f"| {figure.name} | {figure.median:.3f} | {runs} |")
    lines += [
        "",
        f"Scenario 2 validates {rows:,} rows of which {failing:,} fail "
        "(half a negative amount, half an empty plan code).",
        "",
        "## Memory (fresh process, peak RSS growth)",
        "",
        "| measured | peak growth | input frame | ratio |",
        "|---|---:|---:|---:|",
    ]
    for mode, label in (
        ("export", "export of a built failed frame"),
        ("build_and_export", "to_failed_frame + export"),
    ):
        values = memory[mode]
        lines.append(
            f"| {label} | {values['peak_growth'] / mb:.0f} MiB | "
            f"{values['input_bytes'] / mb:.0f} MiB | "
            f"{values['peak_growth'] / values['input_bytes']:.2f} |"
        )
    lines += [
        "",
        f"The failed frame itself holds every row's raw_data JSON ({raw_share:.2f}x the "
        "input here, measured: keys repeat in every row), so building it cannot stay under "
        f"the input's size; the export streams {WRITE_BATCH_ROWS:,}-row CSV batches "
        "to the file.",
        "",
        "## Scenario 5: share of a wdh-etl run spent on failure logging",
        "",
        f"Both domains over generated sources ({etl_rows:,} rows in 6 files, 3 of them "
        "Excel); median seconds; failure logging = `to_failed_frame` + `export` inside "
        "the pipelines.",
        "",
        "| run | rows logged | whole run | failure logging | share |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {label} | {values['logged']:,.0f} | {values['total']:.2f} s | "
            f"{values['logging']:.2f} s | {values['logging'] / values['total']:.1%} |"
            for label, values in etl.items()
        ),
        "",
        "## Scenario 6: explain and replay a bad month",
        "",
        f"The same sources run with an empty company mapping ({replay['logged']:,.0f} rows "
        "logged); the mapping is fixed; then `explain_failures` and `replay_failures` over "
        "the whole log, and a second replay (which must load nothing). The yardstick is a "
        "clean run of the same sources with the fixed mapping into a fresh database. "
        "One run each; the runner checks that replay loaded as many rows as the clean run.",
        "",
        "| step | seconds | vs the clean run |",
        "|---|---:|---:|",
        *(
            f"| {label} | {replay[key]:.2f} | {replay[key] / replay['clean']:.2f}x |"
            for label, key in (
                ("clean run (fixed mapping)", "clean"),
                ("bad run (no mapping)", "bad"),
                (
                    f"explain {replay['logged']:,.0f} rows ({replay['passes_now']:,.0f} pass now)",
                    "explain",
                ),
                (f"replay ({replay['fixed']:,.0f} rows fixed and loaded)", "replay"),
                ("second replay (nothing to load)", "again"),
            )
        ),
        "",
        *whole_run_lines(whole_run),
        "",
        *postgres_lines(postgres),
        "",
        *cluster_lines(cluster),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline-repeats", type=int, default=3)
    parser.add_argument("--etl-rows", type=int, default=200_000, help="scenario 5 size")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    frame = annuity_frame(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print("scenario 1: export", file=sys.stderr)
        export_figures, log, raw_share = scenario_export(
            frame, folder, args.repeats, args.baseline_repeats
        )
        print("scenario 2: validation", file=sys.stderr)
        validation_figures, failing = scenario_validation(frame, args.repeats)
        print("scenario 3: read", file=sys.stderr)
        read_figures = scenario_read(log, args.repeats)
    print("scenario 4: memory", file=sys.stderr)
    memory = scenario_memory(args.rows, args.repeats)
    with tempfile.TemporaryDirectory() as tmp:
        samples = make_samples(Path(tmp) / "etl", args.etl_rows)
        print("scenario 5: wdh-etl", file=sys.stderr)
        etl = scenario_etl(samples, args.repeats)
        print("scenario 6: explain and replay", file=sys.stderr)
        replay = scenario_replay(samples)
        print(f"  replay: {replay}", file=sys.stderr)
    print("scenario 7: whole run", file=sys.stderr)
    whole_run = scenario_whole_run(args.repeats)
    print(f"  whole run: {whole_run}", file=sys.stderr)
    print("scenario 8: PostgreSQL loads, and scenario 7 on PostgreSQL", file=sys.stderr)
    postgres = scenario_postgres(PG_ROWS, args.repeats, whole_run=True)
    print("scenario 9: the whole run on a local Dask cluster", file=sys.stderr)
    cluster = scenario_cluster(args.repeats)
    print(f"  cluster: {cluster}", file=sys.stderr)
    figures = {**export_figures, **validation_figures, **read_figures}
    figures |= postgres.get("figures", {})
    text = report(
        args.rows,
        args.repeats,
        args.baseline_repeats,
        figures,
        failing,
        memory,
        etl,
        args.etl_rows,
        replay,
        whole_run,
        postgres,
        cluster,
        raw_share,
        time.perf_counter() - started,
    )
    print(text)
    args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
