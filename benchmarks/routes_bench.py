"""Procurement routes on England: build + solve of every route, with its gap and status.

Issue 13's target: each route on the England dataset (42 ICSs, 120 trusts, 20 imaging
networks), build + solve under 3 s on 2 cores. Each figure is the median of ``repeats`` runs
of ``planner.solve`` without the greedy baseline or the base case (options table, MILP
build and HiGHS), with the scenario's default gap (0.01%) and time limit (60 s), and the
status and gap of the last run.

Run ``python benchmarks/routes_bench.py [REPEATS] [ROUTE ...]``.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import planner  # noqa: E402
from planner.scenario import MODELS  # noqa: E402

TARGET_S = 3.0


def measure(data: planner.Dataset, route: str, repeats: int) -> dict:
    """Build + solve ``route`` on ``data`` ``repeats`` times; the figures of one table row."""
    times, plan = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        plan = planner.solve(
            data, planner.Scenario(), route, with_greedy=False, with_base_case=False
        )
        times.append(time.perf_counter() - start)
        print(f"  [routes england {route}] {times[-1]:.2f} s", file=sys.stderr, flush=True)
    return {
        "route": route,
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "status": plan.status,
        "gap": plan.gap,
        "units": len(plan.units),
        "benefit_gbp": plan.benefit_gbp,
    }


def report(rows: list[dict], repeats: int, load: tuple[float, float]) -> list[str]:
    """The printed table: one line per route, with the target and met / not met."""
    lines = [
        "",
        f"Procurement routes, England (build + solve, median of {repeats}; target < "
        f"{TARGET_S:g} s on 2 cores)",
    ]
    for r in rows:
        met = "met" if r["median_s"] < TARGET_S and r["status"] != "time_limit" else "not met"
        lines.append(
            f"{r['route']:<12} {r['median_s']:7.2f} s [{r['min_s']:.2f}, {r['max_s']:.2f}]  "
            f"{r['status']}, gap {r['gap']:.3%}  {r['units']} buying units  "
            f"benefit £{r['benefit_gbp'] / 1e6:.1f}m  {met}"
        )
    lines.append(f"load {load[0]:.1f}-{load[1]:.1f} (1-minute load average before and after)")
    return lines


def run(repeats: int = 3, routes=MODELS) -> tuple[list[str], list[dict]]:
    """Run the route benchmark; return printable lines and the raw figures."""
    data = planner.load_dataset(ROOT / "data" / "england")
    before = os.getloadavg()[0]
    rows = [measure(data, route, repeats) for route in routes]
    return report(rows, repeats, (before, os.getloadavg()[0])), rows


if __name__ == "__main__":
    args = sys.argv[1:]
    text, _ = run(int(args[0]) if args else 3, tuple(args[1:]) or MODELS)
    print("\n".join(text))
