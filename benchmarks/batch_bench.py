"""Batch benchmarks: a budget sweep, uncertainty samples with 1 and 2 workers, 42 ICSs x 3.

Each figure is the median of several runs of the whole call (process pool start-up
included where workers > 1), timed with ``time.perf_counter`` in this process.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import planner  # noqa: E402
from planner.batch import run_table, sweep_runs  # noqa: E402
from planner.uncertainty import run_psa  # noqa: E402


def _median(fn, repeats: int) -> tuple[float, float, float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), max(times), result


def run(repeats: int = 3, samples: int = 500) -> tuple[list[str], list[dict]]:
    """Run the batch benchmarks; return printable lines and the raw figures."""
    default = planner.load_dataset(ROOT / "data" / "default_ics")
    england = planner.load_dataset(ROOT / "data" / "england")
    scenario = planner.Scenario(budget_gbp=2e6)
    rows: list[dict] = []

    def record(name, fig, target=None, extra=""):
        med, lo, hi, _ = fig
        rows.append(
            {
                "figure": name,
                "median_s": med,
                "min_s": lo,
                "max_s": hi,
                "target_s": target,
                "note": extra,
            }
        )
        print(f"  [{name}] median {med:.2f} s", file=sys.stderr, flush=True)

    budgets = [0.2e6 * i for i in range(1, 26)]
    sweep = _median(
        lambda: run_table(default, sweep_runs(default, scenario, budgets=budgets)), repeats
    )
    failed = int((~sweep[3][0]["status"].isin(["optimal", "gap_reached"])).sum())
    record("25-point budget sweep, default ICS (1 worker)", sweep, 10.0, f"{failed} runs failed")

    psa = {}
    for workers in (1, 2):
        psa[workers] = _median(
            lambda w=workers: run_psa(default, scenario, samples, seed=1, workers=w), repeats
        )
        record(
            f"{samples} uncertainty samples, default ICS, {workers} worker(s)",
            psa[workers],
            60.0 if workers == 2 else None,
        )
    same = psa[1][3].samples.equals(psa[2][3].samples)
    speedup = psa[1][0] / psa[2][0]

    runs = sweep_runs(
        england,
        planner.Scenario(),
        icss=list(england.icss.index),
        models=("local", "ics", "central"),
    )
    for workers in (1, 2):
        fig = _median(lambda w=workers: run_table(england, runs, workers=w), repeats)
        bad = int((~fig[3][0]["status"].isin(["optimal", "gap_reached"])).sum())
        record(
            f"42 ICSs x 3 models, England, {workers} worker(s)",
            fig,
            60.0 if workers == 2 else None,
            f"{len(runs)} runs, {bad} failed",
        )

    lines = ["", f"Batch runs (median [min, max] of {repeats} runs of the whole call)"]
    for r in rows:
        verdict = ""
        if r["target_s"] is not None:
            ok = r["median_s"] < r["target_s"]
            verdict = f"  target < {r['target_s']:g} s: {'PASS' if ok else 'MISS'}"
        note = f"  ({r['note']})" if r["note"] else ""
        lines.append(
            f"{r['figure']:<58} {r['median_s']:7.2f} s [{r['min_s']:.2f}, "
            f"{r['max_s']:.2f}]{verdict}{note}"
        )
    lines.append(
        f"uncertainty speed-up, 2 workers over 1: {speedup:.2f}x; tables identical: {same}"
    )
    rows.append(
        {"figure": "uncertainty speed-up 2 over 1 workers", "ratio": speedup, "identical": same}
    )
    return lines, rows


if __name__ == "__main__":
    text, _ = run()
    print("\n".join(text))
