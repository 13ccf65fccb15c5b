"""Scaling: each procurement model on generated datasets of 50 to 800 trusts x 60 products.

Issue 12, target 4: the central model, 800 trusts x 60 products, under 10 s to a 0.5% gap,
with the scaling curve of every route beside it (local, ics and central_pot: NHS England's
one national pot, the central model the target was set on).

Each size is one generated dataset, ``generate_tables(n_ics, n_trusts, products,
seed=2026)``, with about 4.8 trusts per ICS as in the stress instance (42 ICSs for 200
trusts; :func:`ics_count`). Each (route, size) runs in one fresh spawned process
(:func:`_child`, through ``harness.spawn_child``), which loads the dataset (untimed), then
``repeats`` times builds the options table and solves it with ``solve_options`` under
``Scenario(budget_gbp=None, mip_gap=0.005)`` (the harness's scenario: the sum of the trusts'
local budgets), timing

- the options table (``build_options``),
- the MILP build (``SolveResult.build_seconds``, summed over the route's MILPs: one per
  trust under ``local``, per ICS under ``ics``, one under ``central_pot``),
- HiGHS itself (``pulp.HiGHS.callSolver``, i.e. ``Highs.run()``, wrapped in the child only),
- the whole ``solve_options`` call (MILP build, PuLP's transfer to HiGHS, HiGHS, read-back),

and the parent prints medians with [min, max], and the growth exponent ``k`` of each figure
between successive sizes (``time ~ n^k``: ``log(t2 / t1) / log(n2 / n1)``, on medians). The
target is judged on the central model at 800 trusts: the options table plus the whole
``solve_options`` call (median) under 10 s, with every run's gap within 0.5%.

Like ``harness``, this module imports only the standard library and ``harness`` at the top;
the planner is imported inside the functions, since a spawned child imports this module to
find :func:`_child`.
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from pathlib import Path

# The planner of this working tree, ahead of any installed copy (as floor_bench does); a
# spawned child gets this sys.path from its parent.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from harness import MODELS, send_measured, spawn_child, stats  # noqa: E402

#: The relative MIP gap asked for (as the stress instance).
MIP_GAP = 0.005
#: Target: the central model at this many trusts within this many seconds.
TARGET_TRUSTS = 800
TARGET_S = 10.0
#: Trusts per ICS of the generated datasets: 200 / 42, as the stress instance.
TRUSTS_PER_ICS = 200 / 42
SEED = 2026
#: Row keys of the growth exponents, and the figure each is fitted on.
GROWTH = (("k_build", "build_s"), ("k_highs", "highs_s"), ("k_total", "total_s"))

TITLE = (
    "Scaling: trusts x {products} products, each route, asked for a {gap:g}% gap "
    "(target: central at {target} trusts under {seconds:g} s)"
)


def ics_count(n_trusts: int) -> int:
    """ICSs of a generated dataset of ``n_trusts``: about 4.8 trusts each (1 to 8 allowed)."""
    n = max(1, round(n_trusts / TRUSTS_PER_ICS))
    return min(max(n, math.ceil(n_trusts / 8)), n_trusts)


def growth(t1: float | None, t2: float | None, n1: int, n2: int) -> float | None:
    """The exponent k of ``t ~ n^k`` between two sizes (None if a time is missing or 0)."""
    if not t1 or not t2 or t1 <= 0 or t2 <= 0 or n1 == n2:
        return None
    return math.log(t2 / t1) / math.log(n2 / n1)


# --------------------------------------------------------------------------------------------
# In the child process


def _instrument(record: dict) -> None:
    """Time ``pulp.HiGHS.callSolver`` (HiGHS's ``run()``) in this process; count the MILPs."""
    import pulp

    original = pulp.HiGHS.callSolver

    def timed(self, lp):
        start = time.perf_counter()
        try:
            return original(self, lp)
        finally:
            record["highs_s"] += time.perf_counter() - start
            record["milps"] += 1
            record["nodes"] += int(lp.solverModel.getInfo().mip_node_count)

    pulp.HiGHS.callSolver = timed


def measure_case(task: dict) -> dict:
    """Build the options and solve them ``repeats`` times; every run's figures."""
    from planner.data import load_dataset
    from planner.economics import build_options
    from planner.scenario import Scenario
    from planner.solve import solve_options

    dataset = load_dataset(task["path"])
    scenario = Scenario(budget_gbp=None, mip_gap=task["mip_gap"], time_limit_s=task["time_limit_s"])
    record = {"highs_s": 0.0, "milps": 0, "nodes": 0}
    _instrument(record)
    runs = []
    for r in range(task["repeats"]):
        record.update(highs_s=0.0, milps=0, nodes=0)
        start = time.perf_counter()
        options = build_options(dataset, scenario, task["route"])
        options_s = time.perf_counter() - start
        start = time.perf_counter()
        result = solve_options(options)
        solve_options_s = time.perf_counter() - start
        runs.append(
            {
                "options_s": options_s,
                "build_s": result.build_seconds,
                "highs_s": record["highs_s"],
                "solve_options_s": solve_options_s,
                "total_s": options_s + solve_options_s,
                "gap": result.gap,
                "status": result.status,
                "objective": result.objective,
                "milps": record["milps"],
                "nodes": record["nodes"],
                "options": len(options.table),
                "variables": result.n_variables,
                "constraints": result.n_constraints,
            }
        )
        print(
            f"  [scaling {task['route']} {task['trusts']} trusts {r + 1}/{task['repeats']}] "
            f"{options_s + solve_options_s:.2f} s (MILP build {result.build_seconds:.2f} s, "
            f"HiGHS {record['highs_s']:.2f} s) {result.status} gap {result.gap:.3%}",
            file=sys.stderr,
            flush=True,
        )
    return {"runs": runs}


def _child(task: dict, conn) -> None:
    """Entry point of a child process: measure one (route, size), send its figures back."""
    send_measured(measure_case, task, conn)


# --------------------------------------------------------------------------------------------
# In the parent


def _summary(route: str, trusts: int, products: int, n_ics: int, result: dict) -> dict:
    """One row of the curve from a child's runs (or its error)."""
    row: dict = {"route": route, "trusts": trusts, "products": products, "icss": n_ics}
    if "error" in result:
        return {**row, "error": result["error"]}
    runs = result["runs"]
    for key in ("options_s", "build_s", "highs_s", "solve_options_s", "total_s"):
        row[key] = stats(r[key] for r in runs)
    row["runs_s"] = [r["total_s"] for r in runs]
    row["repeats"] = len(runs)
    row["max_gap"] = max((r["gap"] for r in runs), default=float("nan"))
    row["statuses"] = sorted({r["status"] for r in runs})
    for key in ("options", "variables", "constraints", "milps"):
        row[key] = runs[-1][key]
    row["nodes"] = stats(r["nodes"] for r in runs)
    return row


def _median(row: dict, key: str) -> float | None:
    s = row.get(key)
    return None if s is None else s["median"]


def run(
    repeats: int = 3,
    sizes=(50, 100, 200, 400, 800),
    products: int = 60,
    *,
    routes=MODELS,
    time_limit_s: float = 300.0,
    target_trusts: int = TARGET_TRUSTS,
) -> tuple[list[str], list[dict]]:
    """Measure every route at every size; printable lines and one row per (route, size).

    Each row holds medians with [min, max] (``stats`` dicts) of the options table
    (``options_s``), the MILP build (``build_s``), HiGHS (``highs_s``), the whole
    ``solve_options`` call (``solve_options_s``) and their sum with the options
    (``total_s``); the exponents ``k_build``, ``k_highs`` and ``k_total`` from the previous
    size (None for the first); and ``target_s`` and ``met``: for the central route at
    ``target_trusts`` the 10 s target and whether it is met (median ``total_s`` under it,
    every run within the 0.5% gap and none stopped at the time limit), None on other rows.
    """
    import bench_report

    from planner.generate import generate_tables, write_tables

    sizes = sorted({int(n) for n in sizes})
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="planner-scaling-") as tmp:
        folders = {}
        for n in sizes:
            n_ics = ics_count(n)
            start = time.perf_counter()
            folder = Path(tmp) / f"trusts{n}"
            write_tables(generate_tables(n_ics, n, products, seed=SEED), folder)
            folders[n] = (folder, n_ics)
            print(
                f"  [scaling] generated {n} trusts, {n_ics} ICSs, {products} products in "
                f"{time.perf_counter() - start:.1f} s (untimed)",
                file=sys.stderr,
                flush=True,
            )
        for route in routes:
            previous = None
            for n in sizes:
                folder, n_ics = folders[n]
                task = {
                    "route": route,
                    "trusts": n,
                    "path": str(folder),
                    "repeats": repeats,
                    "mip_gap": MIP_GAP,
                    "time_limit_s": time_limit_s,
                }
                result, _ = spawn_child(_child, task, repeats * (2 * time_limit_s + 60) + 300)
                row = _summary(route, n, products, n_ics, result)
                for key, fig in (
                    ("k_build", "build_s"),
                    ("k_highs", "highs_s"),
                    ("k_total", "total_s"),
                ):
                    row[key] = (
                        growth(_median(previous, fig), _median(row, fig), previous["trusts"], n)
                        if previous is not None and "error" not in previous
                        else None
                    )
                targeted = route == "central_pot" and n == target_trusts
                row["target_s"] = TARGET_S if targeted else None
                row["met"] = (
                    "error" not in row
                    and row["total_s"]["median"] < TARGET_S
                    and row["max_gap"] <= MIP_GAP
                    and "time_limit" not in row["statuses"]
                    if targeted
                    else None
                )
                rows.append(row)
                previous = row

    def k(v: float | None) -> str:
        return "-" if v is None else f"{v:.2f}"

    table_rows, warnings = [], []
    for r in rows:
        label = [r["route"], f"{r['trusts']}"]
        if "error" in r:
            table_rows.append(label + ["-"] * 11 + ["ERROR " + r["error"].splitlines()[0]])
            warnings.append(f"!! {r['route']} {r['trusts']} trusts: {r['error']}")
            continue
        table_rows.append(
            label
            + [
                f"{r['milps']}",
                f"{r['variables']}",
                f"{r['constraints']}",
                bench_report.rng(r["options_s"], 2),
                bench_report.rng(r["build_s"], 2),
                bench_report.rng(r["highs_s"], 2),
                bench_report.rng(r["total_s"], 2),
                k(r["k_build"]),
                k(r["k_highs"]),
                k(r["k_total"]),
                f"{r['max_gap']:.3%}",
                ", ".join(r["statuses"]),
            ]
        )
    lines = [
        "",
        TITLE.format(products=products, gap=100 * MIP_GAP, target=target_trusts, seconds=TARGET_S),
        f"seconds, median [min, max] of {repeats}; total = options + solve_options (MILP "
        "build, transfer, HiGHS, read-back); k = growth exponent from the previous size "
        "(time ~ trusts^k)",
        bench_report.table(
            [
                "route",
                "trusts",
                "MILPs",
                "columns",
                "rows",
                "options",
                "MILP build",
                "HiGHS",
                "total",
                "k build",
                "k HiGHS",
                "k total",
                "max gap",
                "status",
            ],
            table_rows,
        ),
    ]
    for r in rows:
        if r["target_s"] is None:
            continue
        if "error" in r:
            lines.append(
                f"central {r['trusts']} trusts x {products} products: ERROR, target "
                f"< {TARGET_S:g} s within {MIP_GAP:.1%}: not met"
            )
            continue
        lines.append(
            f"central {r['trusts']} trusts x {products} products: "
            f"{bench_report.rng(r['total_s'], 2)} s (MILP build "
            f"{bench_report.rng(r['build_s'], 2)} s, HiGHS {bench_report.rng(r['highs_s'], 2)} s)"
            f", gap {r['max_gap']:.3%}; target < {TARGET_S:g} s within {MIP_GAP:.1%}: "
            f"{'met' if r['met'] else 'not met'}"
        )
    lines += warnings
    return lines, rows


if __name__ == "__main__":
    text, _ = run()
    print("\n".join(text))
