"""Solver floor: ``planner.solve`` against HiGHS alone on the very MILPs it solved.

Issue 12, target 1: the whole ``planner.solve`` call within 1.3x of HiGHS alone on the same
model. Each case (instance, model) runs in one fresh spawned process (:func:`_child`), which

1. loads the dataset and the scenario (untimed), then makes one recording call of
   ``planner.solve`` with ``planner.solve.run_solver`` wrapped (in that process only; the
   library is not changed) so that every MILP the planner hands HiGHS is written, after its
   solve, with ``Highs.writeModel`` to an MPS file, in call order, with the options the
   planner set on it (read back from the solved ``Highs`` object) and its objective;
2. then, ``repeats`` times and interleaved (planner first on even repeats, HiGHS first on
   odd ones), times the whole ``planner.solve(dataset, scenario, model)`` call and "HiGHS
   alone": for each recorded MPS a new ``highspy.Highs``, ``readModel`` and the planner's
   options (untimed), then ``run()`` timed; summed over the MILPs;
3. checks that HiGHS alone reaches each MILP's objective of the planner's run within the
   asked relative gap.

The parent prints the table (medians with [min, max]) and the ratio of the medians against
the 1.3x target. Like ``harness``, this module imports only the standard library and
``harness`` at the top; the planner, highspy and ``bench_report`` are imported inside the
functions, since a spawned child imports this module to find :func:`_child`.
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from pathlib import Path

# The planner of this working tree, ahead of any installed copy (as batch_bench does); a
# spawned child gets this sys.path from its parent.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from harness import (  # noqa: E402
    INSTANCES,
    prepare,
    scenario_for,
    send_measured,
    spawn_child,
    stats,
)

#: The ratio of ``planner.solve`` to HiGHS alone to stay within.
TARGET = 1.3

#: (instance, model, budget in £ or None for the harness's ``Scenario(budget_gbp=None)``,
#: i.e. the sum of the trusts' local budgets). The default ICS is at £2m, as in issue 12.
CASES = (
    ("default_ics", "ics", 2e6),
    ("england", "central_pot", None),
    ("england", "ics", None),
    ("stress", "central_pot", None),
)

#: The HiGHS options ``planner.solve.run_solver`` sets (through PuLP), read back from each
#: solved ``Highs`` object and set again on HiGHS alone.
HIGHS_OPTIONS = ("mip_rel_gap", "threads", "random_seed", "time_limit", "presolve")

TITLE = f"Solver floor: planner.solve against HiGHS alone on the same MILPs (target {TARGET:g}x)"


# --------------------------------------------------------------------------------------------
# In the child process


def _option(highs, key: str):
    """An option's value (highspy returns ``(status, value)`` or, in some versions, the value)."""
    value = highs.getOptionValue(key)
    return value[1] if isinstance(value, tuple) else value


def _record(dataset, scenario, model: str, folder: Path) -> tuple[object, list[dict]]:
    """One ``planner.solve`` call that writes every MILP it solves to ``folder``, in order."""
    import importlib

    import planner

    solve_module = importlib.import_module("planner.solve")  # planner.solve is the function
    original = solve_module.run_solver
    milps: list[dict] = []

    def recording(prob, *args, **kwargs):
        run = original(prob, *args, **kwargs)
        highs = prob.solverModel
        path = folder / f"milp{len(milps):03d}.mps"
        highs.writeModel(str(path))
        milps.append(
            {
                "path": str(path),
                "status": highs.modelStatusToString(highs.getModelStatus()),
                "objective": float(highs.getInfo().objective_function_value),
                "options": {k: _option(highs, k) for k in HIGHS_OPTIONS},
                "columns": run.n_variables,
                "rows": run.n_constraints,
            }
        )
        return run

    solve_module.run_solver = recording
    try:
        plan = planner.solve(dataset, scenario, model)
    finally:
        solve_module.run_solver = original
    return plan, milps


def _highs_alone(milps: list[dict]) -> tuple[float, list[tuple[str, float]]]:
    """Solve every recorded MPS with a fresh ``Highs``; return the summed ``run()`` seconds."""
    import highspy

    total, results = 0.0, []
    for m in milps:
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.readModel(m["path"])
        for key, value in m["options"].items():
            h.setOptionValue(key, value)
        start = time.perf_counter()
        h.run()
        total += time.perf_counter() - start
        results.append(
            (h.modelStatusToString(h.getModelStatus()), float(h.getInfo().objective_function_value))
        )
        del h
    return total, results


def _objective_check(milps: list[dict], results: list[tuple[str, float]]) -> list:
    """Where HiGHS alone and the planner's run differ by more than the MILP's gap allows."""
    bad = []
    for k, (m, (status, obj)) in enumerate(zip(milps, results, strict=True)):
        gap = m["options"]["mip_rel_gap"]
        scale = max(1.0, abs(m["objective"]), abs(obj))
        # Both runs stop within `gap` of the same optimum (HiGHS's gap is relative to
        # max(1, |objective|)), so they may differ by at most that much.
        if status != m["status"] or abs(obj - m["objective"]) > (gap + 1e-9) * scale:
            bad.append(
                {
                    "milp": k,
                    "planner": (m["status"], m["objective"]),
                    "highs_alone": (status, obj),
                }
            )
    return bad


def _expected_milps(dataset, scenario, model: str) -> int:
    """MILPs ``planner.solve`` should hand HiGHS: one per ICS under ``ics``, else one.

    Twice that when an equity setting is on (the unweighted base case is solved too); none
    for the "next £100k" marginal re-solve, which ``planner.solve`` skips unless asked.
    """
    from planner.plan import equity_active

    parts = int(dataset.trusts["ics_code"].nunique()) if model == "ics" else 1
    return parts * (2 if equity_active(scenario) else 1)


def measure_case(task: dict) -> dict:
    """Record the MILPs of one case, then time the planner and HiGHS alone interleaved."""
    import pulp

    import planner
    from planner.data import load_dataset

    dataset = load_dataset(task["path"])
    scenario = scenario_for(task)
    if task["budget_gbp"] is not None:
        scenario = scenario.replace(budget_gbp=task["budget_gbp"])
    model = task["model"]
    out: dict = {
        "budget_gbp": None,
        "mip_gap": scenario.mip_gap,
        "threads": scenario.threads,
        "time_limit_s": scenario.time_limit_s,
    }

    # The HiGHS run inside planner.solve, for the split (a perf_counter around
    # pulp.HiGHS.callSolver, which is Highs.run(): microseconds per call).
    inside = {"s": 0.0}
    original_call = pulp.HiGHS.callSolver

    def timed_call(self, lp):
        start = time.perf_counter()
        try:
            return original_call(self, lp)
        finally:
            inside["s"] += time.perf_counter() - start

    with tempfile.TemporaryDirectory(prefix="planner-floor-") as tmp:
        plan, milps = _record(dataset, scenario, model, Path(tmp))
        out["budget_gbp"] = plan.budget_gbp
        out["milps"] = len(milps)
        out["expected_milps"] = _expected_milps(dataset, scenario, model)
        out["variables"] = sum(m["columns"] for m in milps)
        out["constraints"] = sum(m["rows"] for m in milps)
        out["status"] = plan.status
        out["objective"] = plan.objective
        out["marginal"] = plan.marginal is not None
        out["base_case"] = plan.base_case is not None
        out["options_set"] = milps[0]["options"] if milps else {}
        wrong = [
            f"milp {k}: {key} {m['options'][key]!r}"
            for k, m in enumerate(milps)
            for key, want in (
                ("mip_rel_gap", scenario.mip_gap),
                ("threads", scenario.threads),
                ("random_seed", 0),
            )
            if m["options"][key] != want
        ]
        out["option_mismatches"] = wrong

        plan_s, alone_s, inside_s, mismatches = [], [], [], []

        def run_plan(r: int) -> None:
            inside["s"] = 0.0
            start = time.perf_counter()
            p = planner.solve(dataset, scenario, model)
            plan_s.append(time.perf_counter() - start)
            inside_s.append(inside["s"])
            if p.objective != plan.objective or p.status != plan.status:
                mismatches.append({"repeat": r, "planner_repeat": (p.status, p.objective)})

        def run_alone(r: int) -> None:
            seconds, results = _highs_alone(milps)
            alone_s.append(seconds)
            mismatches.extend({"repeat": r, **b} for b in _objective_check(milps, results))

        pulp.HiGHS.callSolver = timed_call
        try:
            for r in range(task["repeats"]):
                for step in (run_plan, run_alone) if r % 2 == 0 else (run_alone, run_plan):
                    step(r)
                print(
                    f"  [floor {task['instance']} {model} {r + 1}/{task['repeats']}] "
                    f"planner.solve {plan_s[-1]:.3f} s, HiGHS alone {alone_s[-1]:.3f} s "
                    f"({len(milps)} MILPs)",
                    file=sys.stderr,
                    flush=True,
                )
        finally:
            pulp.HiGHS.callSolver = original_call

    out["plan_s"] = stats(plan_s)
    out["highs_alone_s"] = stats(alone_s)
    out["highs_in_plan_s"] = stats(inside_s)
    out["plan_runs_s"] = plan_s
    out["highs_alone_runs_s"] = alone_s
    out["objective_mismatches"] = mismatches
    return out


def _child(task: dict, conn) -> None:
    """Entry point of a child process: measure one case, send its figures back."""
    send_measured(measure_case, task, conn)


# --------------------------------------------------------------------------------------------
# In the parent


def _run_child(task: dict) -> dict:
    """Run one case in a fresh spawned process (through ``harness.spawn_child``)."""
    # The planner and HiGHS alone each run `repeats` + 1 times, each within the time limit.
    deadline = (2 * task["repeats"] + 2) * task["time_limit_s"] + 300
    return spawn_child(_child, task, deadline)[0]


def run(
    repeats: int | None = None,
    *,
    instances: list[str] | None = None,
    models: list[str] | None = None,
    time_limit_s: float = 120.0,
) -> tuple[list[str], list[dict]]:
    """Measure every case (optionally only some instances and models); lines and rows.

    ``repeats`` None takes each instance's default from ``harness.INSTANCES``.
    """
    import bench_report

    cases = [
        c
        for c in CASES
        if (instances is None or c[0] in instances) and (models is None or c[1] in models)
    ]
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="planner-floor-data-") as tmp:
        folders: dict[str, Path] = {}
        for name, model, budget in cases:
            if name not in folders:
                folders[name], _ = prepare(name, Path(tmp))
            n = repeats or INSTANCES[name]["repeats"]
            task = {
                "instance": name,
                "model": model,
                "path": str(folders[name]),
                "budget_gbp": budget,
                "mip_gap": INSTANCES[name]["mip_gap"],
                "time_limit_s": time_limit_s,
                "repeats": n,
            }
            result = _run_child(task)
            row = {"instance": name, "model": model, "repeats": n, **result}
            if "error" not in result:
                med_plan = result["plan_s"]["median"]
                med_alone = result["highs_alone_s"]["median"]
                ratio = med_plan / med_alone if med_alone > 0 else math.inf
                row["ratio"] = ratio
                row["target"] = TARGET
                row["met"] = ratio <= TARGET
                row["objective_check"] = not result["objective_mismatches"]
                row["milp_count_check"] = result["milps"] == result["expected_milps"]
            rows.append(row)

    table_rows, warnings = [], []
    for r in rows:
        label = [r["instance"], r["model"]]
        if "error" in r:
            table_rows.append(label + ["-"] * 9 + ["ERROR " + r["error"].splitlines()[0]])
            warnings.append(f"!! {r['instance']} {r['model']}: {r['error']}")
            continue
        budget = bench_report.money(r["budget_gbp"])
        table_rows.append(
            label
            + [
                budget,
                f"{r['milps']}",
                f"{r['repeats']}",
                bench_report.rng(r["plan_s"]),
                bench_report.rng(r["highs_alone_s"]),
                bench_report.rng(r["highs_in_plan_s"]),
                f"{r['ratio']:.2f}x",
                f"{TARGET:g}x",
                "met" if r["met"] else "not met",
                "ok" if r["objective_check"] else "MISMATCH",
            ]
        )
        if not r["objective_check"]:
            warnings.append(
                f"!! OBJECTIVE MISMATCH {r['instance']} {r['model']}: HiGHS alone and the "
                f"planner differ beyond the gap: {r['objective_mismatches'][:3]}"
            )
        if not r["milp_count_check"]:
            warnings.append(
                f"!! {r['instance']} {r['model']}: {r['milps']} MILPs recorded, "
                f"{r['expected_milps']} expected"
            )
        if r["marginal"] or r["base_case"]:
            warnings.append(
                f"!! {r['instance']} {r['model']}: planner.solve also computed "
                + " and ".join(
                    w
                    for w, on in (
                        ("the marginal re-solve", r["marginal"]),
                        ("a base case", r["base_case"]),
                    )
                    if on
                )
            )
        if r["option_mismatches"]:
            warnings.append(
                f"!! {r['instance']} {r['model']}: options differ from the scenario: "
                f"{r['option_mismatches'][:3]}"
            )
    lines = [
        "",
        TITLE,
        "seconds, median [min, max] over the repeats; ratio = median planner.solve / median "
        "HiGHS alone",
        bench_report.table(
            [
                "instance",
                "model",
                "budget",
                "MILPs",
                "n",
                "planner.solve",
                "HiGHS alone",
                "HiGHS in planner*",
                "ratio",
                "target",
                "verdict",
                "objectives",
            ],
            table_rows,
        ),
        "* HiGHS's run() inside the timed planner.solve calls (part of planner.solve)",
        "each case in one fresh process: one recording planner.solve writes its MILPs to MPS, "
        "then planner.solve and HiGHS alone (readModel and options untimed, run() timed, "
        "summed over the MILPs) alternate",
        *warnings,
    ]
    return lines, rows


if __name__ == "__main__":
    text, _ = run()
    print("\n".join(text))
