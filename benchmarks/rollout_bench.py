"""Rollout benchmarks: the 5-year rollout under the central model, England and stress.

Each figure is the median of several runs of ``solve_rollout`` (options, MILP build and
HiGHS), with the relative gap to the best bound HiGHS reached, asked to stop at 1%.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import planner  # noqa: E402
from planner.generate import generate_tables, write_tables  # noqa: E402
from planner.rollout import RolloutSettings, solve_rollout  # noqa: E402

TARGETS = {"england": 60.0, "stress": 120.0}


def run(repeats: int = 3) -> tuple[list[str], list[dict]]:
    """Run the rollout benchmarks; return printable lines and the raw figures."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="planner-rollout-") as tmp:
        write_tables(generate_tables(42, 200, 60, seed=2026), tmp)
        datasets = {
            "england": planner.load_dataset(ROOT / "data" / "england"),
            "stress": planner.load_dataset(tmp),
        }
        scenario = planner.Scenario(mip_gap=0.01, time_limit_s=300)
        settings = RolloutSettings(years=5)
        for name, data in datasets.items():
            times, gaps, statuses, sizes = [], [], [], []
            for _ in range(repeats):
                start = time.perf_counter()
                result = solve_rollout(data, scenario, "central", settings)
                times.append(time.perf_counter() - start)
                gaps.append(result.gap)
                statuses.append(result.status)
                sizes.append(len(result.schedule))
                print(
                    f"  [rollout {name} central] {times[-1]:.2f} s gap {result.gap:.3%}",
                    file=sys.stderr,
                    flush=True,
                )
            rows.append(
                {
                    "instance": name,
                    "median_s": statistics.median(times),
                    "min_s": min(times),
                    "max_s": max(times),
                    "max_gap": max(gaps),
                    "statuses": sorted(set(statuses)),
                    "adoptions": sizes[-1],
                    "target_s": TARGETS[name],
                }
            )
    lines = ["", f"5-year rollout, central model, asked for a 1% gap (median of {repeats})"]
    for r in rows:
        ok = r["median_s"] < r["target_s"] and r["max_gap"] <= 0.01
        lines.append(
            f"{r['instance']:<8} {r['median_s']:7.2f} s [{r['min_s']:.2f}, {r['max_s']:.2f}]  "
            f"gap to bound {r['max_gap']:.3%}  {', '.join(r['statuses'])}  "
            f"{r['adoptions']} adoptions  target < {r['target_s']:g} s within 1%: "
            f"{'PASS' if ok else 'MISS'}"
        )
    return lines, rows


if __name__ == "__main__":
    text, _ = run()
    print("\n".join(text))
