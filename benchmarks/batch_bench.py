"""Batch benchmarks: a budget sweep, uncertainty samples, 42 ICSs x 3, and uncertainty's floor.

Each figure of a whole call is the median of several runs of it (process pool start-up
included where workers > 1), timed with ``time.perf_counter`` in this process.

Uncertainty (issue 12, target 3) is measured two ways:

- **per sample against the solver floor** (target 1.1x): in one fresh spawned process with
  SIGINT ignored, as in the pool's workers (:func:`measure_floor`), the samples of the
  default ICS are timed one by one through ``planner.uncertainty.run_sample`` (the draw,
  the coefficients written into the warm HiGHS model, ``run()``, the base-case plan and the
  new plan scored), through "HiGHS alone edited in place" (the same warm ``highspy``
  model, the sample's objective and budget coefficients, worked out beforehand and
  untimed, written with ``changeColsCost``/``changeCoeff``, then ``clearSolver()`` and
  ``run()``, with no Python evaluation) and, unless ``--no-rebuilt``, through
  ``planner.uncertainty.rebuilt_sample`` (every sample's options, MILP and solve from
  scratch: the path before the warm models). They take turns sample by sample (which goes
  first rotates every sample and every repeat) and each is summed over the samples; a
  ratio is a median total over the median floor total, and each floor run's plan must be
  the sample's.
- **500 samples with 2 workers** (target 15 s): the whole ``run_psa`` call, next to the
  rebuilt path (``warm=False``) timed in the same run, and the tables compared.
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

#: Per-sample uncertainty cost against a warm HiGHS model edited in place, not to exceed.
FLOOR_TARGET = 1.1
#: Seconds for 500 uncertainty samples of the default ICS with 2 workers.
PSA_TARGET_S = 15.0


def _median(fn, repeats: int) -> tuple[float, float, float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), max(times), result


# --------------------------------------------------------------------------------------------
# Uncertainty against the solver floor (in a spawned child)


def measure_floor(task: dict) -> dict:
    """Time ``run_sample``, the warm HiGHS model edited in place and the rebuilt path, in turn."""
    import signal

    # as run_jobs' workers: SIGINT ignored, so no Ctrl-C callbacks in the HiGHS runs
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import numpy as np

    from planner.economics import build_options
    from planner.evaluate import evaluate
    from planner.solve import solve_options
    from planner.uncertainty import SampleJob, WarmPSA, rebuilt_sample, run_sample

    dataset = planner.load_dataset(task["path"])
    scenario = planner.Scenario(budget_gbp=task["budget_gbp"])
    model, seed, spread, n = scenario.model, task["seed"], 0.2, task["samples"]
    options = build_options(dataset, scenario, model)
    base = evaluate(options, solve_options(options).mask, check_rules=False)
    plan = tuple(sorted(zip(base.adoptions["trust"], base.adoptions["product"], strict=True)))
    jobs = [SampleJob(i, seed, scenario, model, spread, plan) for i in range(n)]
    warm = WarmPSA.for_job(dataset, jobs[0])
    if warm is None or len(warm.parts) != 1:
        return {"error": "the default ICS did not give one warm model"}
    part = warm.parts[0]
    highs = part.highs
    edits = []
    for i in range(n):
        priced = warm.priced(seed, i, spread)
        if priced is None:
            return {"error": f"sample {i} cannot be edited in place"}
        edits.append(priced[1][0])
    got: dict[str, dict[int, object]] = {"sample": {}, "floor": {}, "rebuilt": {}}

    def sample(i: int) -> float:
        start = time.perf_counter()
        got["sample"][i] = run_sample(dataset, jobs[i])
        return time.perf_counter() - start

    def floor(i: int) -> float:
        start = time.perf_counter()
        part.edit(*edits[i])
        highs.clearSolver()
        highs.run()
        seconds = time.perf_counter() - start
        values = np.asarray(highs.getSolution().col_value)[part.x_columns]
        got["floor"][i] = sorted(warm.pairs[k] for k in np.flatnonzero(values > 0.5))
        return seconds

    def rebuilt(i: int) -> float:
        start = time.perf_counter()
        got["rebuilt"][i] = rebuilt_sample(dataset, jobs[i])
        return time.perf_counter() - start

    timed = [("sample", sample), ("floor", floor)]
    if task["rebuilt"]:
        timed.append(("rebuilt", rebuilt))
    for _, fn in timed:  # first-run effects (imports, caches) out of the timings
        fn(0)
    totals: dict[str, list[float]] = {name: [] for name, _ in timed}
    for r in range(task["repeats"]):
        sums = dict.fromkeys(totals, 0.0)
        for i in range(n):
            k = (i + r) % len(timed)  # who goes first rotates
            for name, fn in timed[k:] + timed[:k]:
                sums[name] += fn(i)
        for name in totals:
            totals[name].append(sums[name])
        print(
            f"  [uncertainty floor {r + 1}/{task['repeats']}] {n} samples "
            + ", ".join(f"{name} {sums[name]:.2f} s" for name in totals),
            file=sys.stderr,
            flush=True,
        )
    rows = got["sample"]
    # the floor must reach each sample's plan, and the rebuilt path give each sample's row
    wrong = [i for i in range(n) if got["floor"][i] != rows[i]["adoptions"]]
    wrong += [i for i in got["rebuilt"] if got["rebuilt"][i] != rows[i]]
    statuses = sorted({rows[i]["status"] for i in rows})
    return {**{f"{k}_s": v for k, v in totals.items()}, "wrong_plans": wrong, "statuses": statuses}


def _floor_child(task: dict, conn) -> None:
    """Entry point of the spawned child: measure, send the figures back."""
    from harness import send_measured

    send_measured(measure_floor, task, conn)


def uncertainty_floor(
    samples: int = 100, repeats: int = 3, seed: int = 1, rebuilt: bool = True
) -> dict:
    """The per-sample ratio of uncertainty to HiGHS alone, as one row with a ``met`` key."""
    from harness import spawn_child, stats

    task = {
        "path": str(ROOT / "data" / "default_ics"),
        "budget_gbp": 2e6,
        "samples": samples,
        "repeats": repeats,
        "seed": seed,
        "rebuilt": rebuilt,
    }
    result, _ = spawn_child(_floor_child, task, 3 * repeats * samples * 60.0 + 300)
    row = {"figure": "uncertainty per sample / warm HiGHS edited in place", **task}
    if "error" in result:
        return {**row, "error": result["error"], "met": False}
    floor = statistics.median(result["floor_s"])
    ratio = statistics.median(result["sample_s"]) / floor
    out = {
        **row,
        "sample_ms": stats(1e3 * s / samples for s in result["sample_s"]),
        "floor_ms": stats(1e3 * s / samples for s in result["floor_s"]),
        "ratio": ratio,
        "target": FLOOR_TARGET,
        "met": ratio <= FLOOR_TARGET,
        "same_plans": not result["wrong_plans"],
        "wrong_plans": result["wrong_plans"],
        "statuses": result["statuses"],
    }
    if "rebuilt_s" in result:
        out["rebuilt_ms"] = stats(1e3 * s / samples for s in result["rebuilt_s"])
        out["rebuilt_ratio"] = statistics.median(result["rebuilt_s"]) / floor
    return out


# --------------------------------------------------------------------------------------------
# The whole benchmark


def run(
    repeats: int = 3,
    samples: int = 500,
    *,
    floor_samples: int = 100,
    floor_repeats: int | None = None,
    rebuilt: bool = True,
    only_uncertainty: bool = False,
) -> tuple[list[str], list[dict]]:
    """Run the batch benchmarks; return printable lines and the raw figures.

    ``rebuilt`` also times the uncertainty samples rebuilt from scratch (the path before
    the warm models): with 2 workers, once, and per sample in the floor section;
    ``only_uncertainty`` skips the sweep and the 42 ICSs; the floor section times
    ``floor_samples`` samples ``floor_repeats`` times (default: ``repeats``).
    """
    import bench_report

    default = planner.load_dataset(ROOT / "data" / "default_ics")
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
                "met": None if target is None else med < target,
                "note": extra,
            }
        )
        print(f"  [{name}] median {med:.2f} s", file=sys.stderr, flush=True)

    if not only_uncertainty:
        budgets = [0.2e6 * i for i in range(1, 26)]
        sweep = _median(
            lambda: run_table(default, sweep_runs(default, scenario, budgets=budgets)), repeats
        )
        failed = int((~sweep[3][0]["status"].isin(["optimal", "gap_reached"])).sum())
        record(
            "25-point budget sweep, default ICS (1 worker)", sweep, 10.0, f"{failed} runs failed"
        )

    psa = {}
    for workers in (1, 2):
        psa[workers] = _median(
            lambda w=workers: run_psa(default, scenario, samples, seed=1, workers=w), repeats
        )
        record(
            f"{samples} uncertainty samples, default ICS, {workers} worker(s)",
            psa[workers],
            PSA_TARGET_S if workers == 2 and samples == 500 else None,
        )
    same = psa[1][3].samples.equals(psa[2][3].samples)
    speedup = psa[1][0] / psa[2][0]
    same_rebuilt = None
    if rebuilt:
        before = _median(
            lambda: run_psa(default, scenario, samples, seed=1, workers=2, warm=False), 1
        )
        same_rebuilt = before[3].samples.equals(psa[2][3].samples)
        record(
            f"{samples} uncertainty samples, 2 workers, rebuilt per sample (before)",
            before,
            None,
            "warm=False, 1 run",
        )

    if not only_uncertainty:
        england = planner.load_dataset(ROOT / "data" / "england")
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

    floor = uncertainty_floor(
        samples=floor_samples, repeats=floor_repeats or repeats, rebuilt=rebuilt
    )

    lines = ["", f"Batch runs (median [min, max] of {repeats} runs of the whole call)"]
    for r in rows:
        verdict = ""
        if r["target_s"] is not None:
            verdict = f"  target < {r['target_s']:g} s: {'met' if r['met'] else 'not met'}"
        note = f"  ({r['note']})" if r["note"] else ""
        lines.append(
            f"{r['figure']:<66} {r['median_s']:7.2f} s [{r['min_s']:.2f}, "
            f"{r['max_s']:.2f}]{verdict}{note}"
        )
    lines.append(
        f"uncertainty speed-up, 2 workers over 1: {speedup:.2f}x; tables identical: {same}"
        + ("" if same_rebuilt is None else f"; identical to the rebuilt path: {same_rebuilt}")
    )
    rows.append(
        {
            "figure": "uncertainty speed-up 2 over 1 workers",
            "ratio": speedup,
            "identical": same,
            "identical_to_rebuilt": same_rebuilt,
        }
    )
    lines += _floor_lines(floor, bench_report)
    rows.append(floor)
    return lines, rows


def _floor_lines(floor: dict, bench_report) -> list[str]:
    """The floor section of the printed report."""
    lines = [
        "",
        f"Uncertainty against the solver floor (target {FLOOR_TARGET:g}x per sample)",
        "ms per sample, median [min, max] over the repeats; ratio = median run_sample total / "
        "median HiGHS-edited-in-place total",
    ]
    if "error" in floor:
        return lines + [f"!! uncertainty floor: {floor['error']}"]
    before = "rebuilt_ms" in floor
    lines.append(
        bench_report.table(
            ["instance", "samples", "n", "run_sample", "HiGHS edited in place", "ratio"]
            + ["target", "verdict", "plans"]
            + (["rebuilt (before)", "rebuilt ratio"] if before else []),
            [
                [
                    "default_ics ics £2m",
                    f"{floor['samples']}",
                    f"{floor['repeats']}",
                    bench_report.rng(floor["sample_ms"], 1),
                    bench_report.rng(floor["floor_ms"], 1),
                    f"{floor['ratio']:.3f}x",
                    f"{FLOOR_TARGET:g}x",
                    "met" if floor["met"] else "not met",
                    "same" if floor["same_plans"] else "MISMATCH",
                ]
                + (
                    [bench_report.rng(floor["rebuilt_ms"], 1), f"{floor['rebuilt_ratio']:.3f}x"]
                    if before
                    else []
                )
            ],
        )
    )
    lines.append(
        "one fresh process, SIGINT ignored as in the pool's workers; the floor writes the "
        "sample's coefficients (worked out beforehand) with changeColsCost/changeCoeff, "
        "then clearSolver() and run(); the paths take turns sample by sample"
    )
    if not floor["same_plans"]:
        lines.append(f"!! PLAN MISMATCH in samples {floor['wrong_plans'][:5]}")
    return lines


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--floor-samples", type=int, default=100)
    parser.add_argument("--floor-repeats", type=int, default=None, help="default: --repeats")
    parser.add_argument("--no-rebuilt", action="store_true", help="skip the rebuilt path")
    parser.add_argument(
        "--uncertainty-only", action="store_true", help="skip the sweep and the 42 ICSs"
    )
    args = parser.parse_args(argv)
    text, _ = run(
        args.repeats,
        args.samples,
        floor_samples=args.floor_samples,
        floor_repeats=args.floor_repeats,
        rebuilt=not args.no_rebuilt,
        only_uncertainty=args.uncertainty_only,
    )
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
