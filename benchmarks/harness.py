"""The measuring part of the benchmark: instances, child processes, memory and PuLP timings.

Every measured run happens in a fresh ``multiprocessing`` child started with ``spawn``
(:func:`run_child`): the child imports the planner and loads the dataset (untimed), then
times ``build_options``, ``solve_options`` (MILP build and HiGHS solve), the evaluator and
the greedy baseline, and reads its own peak resident set size (``VmHWM`` in
``/proc/self/status``). :func:`summarise` turns the repeats into median, minimum and
maximum.

This module imports only the standard library at the top, and the planner inside the
functions that need it: a spawned child imports it (to find :func:`_child`) and re-runs
``bench.py`` as ``__mp_main__``, and neither should load anything before the run does.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The routes benchmarked: the central one is NHS England's one national pot, the model the
#: targets were set on (issue 12); ``central`` with fair shares couples every ICS through the
#: national tier and is measured on its own (``routes_bench.py``).
MODELS = ("local", "ics", "central_pot")
DEFAULT_GAP = None  # None: the Scenario default (1e-4)
STRESS_SHAPE = {"n_ics": 42, "n_trusts": 200, "n_products": 60, "seed": 2026}

#: name -> how to get the data, the MIP gap, the default number of repeats.
INSTANCES = {
    "default_ics": {"path": ROOT / "data" / "default_ics", "mip_gap": DEFAULT_GAP, "repeats": 5},
    "england": {"path": ROOT / "data" / "england", "mip_gap": DEFAULT_GAP, "repeats": 5},
    "stress": {"generate": STRESS_SHAPE, "mip_gap": 0.005, "repeats": 3},
}


# --------------------------------------------------------------------------------------------
# What runs inside a child process (and, for the two public helpers, in the profiler)


def _status_mb(key: str) -> float:
    """Return a ``/proc/self/status`` memory line (``VmHWM``, ``VmRSS``) in MB."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _silence_stdout() -> None:
    """Point file descriptor 1 at /dev/null so HiGHS's banner does not reach the terminal."""
    sys.stdout.flush()
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.close(null)


def instrument_pulp(record: dict) -> None:
    """Time PuLP's HiGHS interface in this process: model transfer, run, read-back.

    Wraps methods of ``pulp.HiGHS`` (in the calling process only; nothing is written to
    disk) so the solve time of ``solve_options`` can be split into PuLP handing the model to
    HiGHS (``buildSolverModel``, one ``addCol``/``addRow`` call per column/row), HiGHS itself
    (``callSolver``) and reading the solution back (``findSolutionValues``). The seconds are
    added up in ``record`` under those names, with HiGHS's ``nodes``.
    """
    import pulp

    cls = pulp.HiGHS
    for name in ("buildSolverModel", "callSolver", "findSolutionValues"):
        original = getattr(cls, name)

        def wrapper(self, lp, *args, _original=original, _name=name, **kwargs):
            start = time.perf_counter()
            try:
                return _original(self, lp, *args, **kwargs)
            finally:
                record[_name] = record.get(_name, 0.0) + time.perf_counter() - start
                if _name == "callSolver":
                    info = lp.solverModel.getInfo()
                    record["nodes"] = int(info.mip_node_count)

        setattr(cls, name, wrapper)


def scenario_for(task: dict):
    """The benchmark's ``Scenario``: no budget given, the task's time limit and MIP gap."""
    from planner.scenario import Scenario

    kwargs = {"budget_gbp": None, "time_limit_s": task["time_limit_s"]}
    if task["mip_gap"] is not None:
        kwargs["mip_gap"] = task["mip_gap"]
    return Scenario(**kwargs)


def _run_model(task: dict) -> dict:
    """One instance and model: options, MILP build, solve, evaluation, greedy."""
    from planner.data import load_dataset
    from planner.economics import build_options
    from planner.evaluate import evaluate
    from planner.greedy import greedy_plan
    from planner.solve import solve_options

    dataset = load_dataset(task["path"])
    scenario = scenario_for(task)
    hooks: dict = {}
    instrument_pulp(hooks)
    out = {"base_rss_mb": _status_mb("VmRSS"), "base_hwm_mb": _status_mb("VmHWM")}

    start = time.perf_counter()
    options = build_options(dataset, scenario, task["model"])
    out["options_s"] = time.perf_counter() - start
    start = time.perf_counter()
    result = solve_options(options)
    out["solve_options_s"] = time.perf_counter() - start
    out["peak_after_solve_mb"] = _status_mb("VmHWM")

    out["milp_build_s"] = result.build_seconds
    out["solve_s"] = result.solve_seconds
    out["total_s"] = out["options_s"] + out["solve_options_s"]
    out["transfer_s"] = hooks.get("buildSolverModel", float("nan"))
    out["highs_s"] = hooks.get("callSolver", float("nan"))
    out["readback_s"] = hooks.get("findSolutionValues", float("nan"))
    out["nodes"] = hooks.get("nodes")
    out["options"] = len(options.table)
    out["status"] = result.status
    out["gap"] = result.gap
    out["bound"] = result.bound
    out["variables"] = result.n_variables
    out["constraints"] = result.n_constraints

    start = time.perf_counter()
    ev = evaluate(options, result.mask)
    out["evaluate_s"] = time.perf_counter() - start
    out["objective"] = ev.objective
    out["solver_objective"] = result.objective
    out["violations"] = len(ev.violations)
    out["adoptions"] = len(ev.adoptions)
    out["benefit_gbp"] = ev.benefit_gbp
    out["cost_gbp"] = ev.cost_gbp

    start = time.perf_counter()
    mask = greedy_plan(options)
    out["greedy_s"] = time.perf_counter() - start
    g = evaluate(options, mask)
    out["greedy_objective"] = g.objective
    out["greedy_feasible"] = g.feasible
    out["gain_gbp"] = ev.objective - g.objective
    out["gain_pct"] = 100.0 * out["gain_gbp"] / abs(g.objective) if g.objective else None
    out["peak_mb"] = _status_mb("VmHWM")
    return out


def _run_plan(task: dict) -> dict:
    """The whole ``planner.solve`` call (solve, evaluator check, greedy, marginal re-solve)."""
    import planner
    from planner.data import load_dataset

    dataset = load_dataset(task["path"])
    scenario = scenario_for(task)
    out = {"base_rss_mb": _status_mb("VmRSS"), "base_hwm_mb": _status_mb("VmHWM")}
    start = time.perf_counter()
    plan = planner.solve(dataset, scenario, task["model"])
    out["plan_s"] = time.perf_counter() - start
    out["peak_mb"] = _status_mb("VmHWM")
    out["status"] = plan.status
    out["gap"] = plan.gap
    out["milp_build_s"] = plan.timings["build_seconds"]
    out["solve_s"] = plan.timings["solve_seconds"]
    out["objective"] = plan.objective
    out["gain_gbp"] = plan.greedy.get("gain_gbp")
    out["gain_pct"] = plan.greedy.get("gain_pct")
    out["marginal_status"] = (plan.marginal or {}).get("status")
    return out


RUNNERS = {"model": _run_model, "plan": _run_plan}


def send_measured(measure, task: dict, conn) -> None:
    """The body of every benchmark child: ``measure(task)``'s figures sent back to the parent.

    Stdout is silenced first (HiGHS banners); an exception becomes ``{"error": ...}``, shown
    in the parent's table, never raised there.
    """
    try:
        _silence_stdout()
        result = measure(task)
    except Exception as exc:  # reported in the table, never raised in the parent
        result = {"error": f"{type(exc).__name__}: {exc}"}
    conn.send(result)
    conn.close()


def _child(task: dict, conn) -> None:
    """Entry point of a child process: run one task, send its figures back."""
    send_measured(RUNNERS[task["kind"]], task, conn)


# --------------------------------------------------------------------------------------------
# The parent: machine, datasets, runs, aggregates


def machine() -> dict:
    """Describe the machine and the library versions."""
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass

    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    mem_gb = None
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            mem_gb = int(f.readline().split()[1]) / 1024**2
    except (OSError, ValueError, IndexError):
        pass
    return {
        "nproc": usable,
        "cpu_count": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": mem_gb,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "pulp": version("pulp"),
        "highspy": version("highspy"),
        "pandas": version("pandas"),
        "numpy": version("numpy"),
    }


def default_gap() -> float:
    """The Scenario's default relative MIP gap."""
    from planner.scenario import Scenario

    return Scenario().mip_gap


def prepare(name: str, workdir: Path) -> tuple[Path, float]:
    """Return the dataset folder of an instance (generating it if needed) and the seconds."""
    spec = INSTANCES[name]
    if "path" in spec:
        return spec["path"], 0.0
    from planner.generate import generate_tables, write_tables

    start = time.perf_counter()
    tables = generate_tables(**spec["generate"])
    folder = workdir / name
    write_tables(tables, folder)
    return folder, time.perf_counter() - start


def spawn_child(target, task: dict, deadline_s: float) -> tuple[dict, float]:
    """Run ``target(task, conn)`` in a fresh spawned process; return its figures and wall s.

    A child that sends nothing within ``deadline_s`` (or dies) gives ``{"error": ...}``.
    """
    ctx = mp.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=target, args=(task, send))
    start = time.perf_counter()
    proc.start()
    send.close()
    result = None
    if receive.poll(deadline_s):
        try:
            result = receive.recv()
        except EOFError:
            result = None
    proc.join(30)
    if proc.is_alive():
        proc.kill()
        proc.join()
    wall = time.perf_counter() - start
    if result is None:
        result = {"error": f"child ended without a result (exit code {proc.exitcode})"}
    return result, wall


def run_child(task: dict) -> tuple[dict, float]:
    """Run one task in a fresh spawned process; return its figures and the wall seconds."""
    return spawn_child(_child, task, 4 * task["time_limit_s"] + 300)


def stats(values) -> dict | None:
    """Median, min and max of the finite numbers in ``values``."""
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals)}


def summarise(runs: list[dict]) -> dict:
    """Aggregate the repeats of one (instance, model, kind)."""
    ok = [r for r in runs if "error" not in r]
    keys = (
        "options_s",
        "milp_build_s",
        "solve_s",
        "total_s",
        "plan_s",
        "transfer_s",
        "highs_s",
        "readback_s",
        "evaluate_s",
        "greedy_s",
        "peak_mb",
        "base_hwm_mb",
        "gap",
        "nodes",
        "objective",
        "greedy_objective",
        "gain_gbp",
        "gain_pct",
    )
    out = {k: stats(r.get(k) for r in ok) for k in keys}
    out["runs"] = len(runs)
    out["errors"] = sorted({r["error"] for r in runs if "error" in r})
    out["statuses"] = dict(Counter(r["status"] for r in ok))
    for k in ("variables", "constraints", "options", "adoptions", "violations"):
        vals = {r.get(k) for r in ok}
        out[k] = vals.pop() if len(vals) == 1 else sorted(vals, key=str)
    return out


@dataclass
class Measurements:
    """Everything :func:`measure` found: raw runs, aggregates and notes for the report."""

    #: every run's figures, with its instance, model, kind, repeat and child wall seconds
    raw: list[dict] = field(default_factory=list)
    #: (instance, model) -> :func:`summarise` of the model runs
    summaries: dict = field(default_factory=dict)
    #: (instance, model) -> :func:`summarise` of the whole ``planner.solve`` runs
    plan_summaries: dict = field(default_factory=dict)
    #: runs not repeated at the time limit, and errors
    notes: list[str] = field(default_factory=list)


def measure(
    instances: list[str],
    models: list[str],
    *,
    repeats: int | None,
    time_limit_s: float,
    repeat_capped: bool = False,
    plan: bool = True,
) -> Measurements:
    """Run every (instance, model, kind) ``repeats`` times, each in its own child process.

    ``repeats`` None takes each instance's default. The whole ``planner.solve`` call is
    timed on the default ICS only, unless ``plan`` is false. A run that stops at the time
    limit is not repeated unless ``repeat_capped``; a run that fails ends its series.
    Progress lines go to stderr.
    """
    from planner.formatting import percent

    found = Measurements()
    with tempfile.TemporaryDirectory(prefix="planner-bench-") as tmp:
        for name in instances:
            spec = INSTANCES[name]
            folder, gen_s = prepare(name, Path(tmp))
            if gen_s:
                shape = ", ".join(f"{k}={v}" for k, v in spec["generate"].items())
                print(f"{name}: generated ({shape}) in {gen_s:.2f} s (untimed)", flush=True)
            n = repeats or spec["repeats"]
            jobs = [("model", m) for m in models]
            if name == "default_ics" and plan:
                jobs += [("plan", m) for m in models]
            for kind, model in jobs:
                runs = []
                for k in range(n):
                    task = {
                        "kind": kind,
                        "path": str(folder),
                        "model": model,
                        "mip_gap": spec["mip_gap"],
                        "time_limit_s": time_limit_s,
                    }
                    result, wall = run_child(task)
                    result.update(
                        instance=name, model=model, kind=kind, repeat=k + 1, child_wall_s=wall
                    )
                    found.raw.append(result)
                    runs.append(result)
                    fig = result.get("total_s", result.get("plan_s"))
                    print(
                        f"  [{name} {model} {kind} {k + 1}/{n}] "
                        + (
                            f"ERROR {result['error']}"
                            if "error" in result
                            else f"{fig:.3f} s {result['status']} gap "
                            f"{percent(result['gap'], 3)} peak {result['peak_mb']:.0f} MB"
                        ),
                        file=sys.stderr,
                        flush=True,
                    )
                    if "error" in result:
                        break
                    if result["status"] == "time_limit" and not repeat_capped:
                        if k + 1 < n:
                            found.notes.append(
                                f"{name} {model} ({kind}): stopped at the {time_limit_s:g} s "
                                f"time limit at gap {percent(result['gap'], 3)}; not repeated "
                                "(pass --repeat-capped to repeat)"
                            )
                        break
                target = found.plan_summaries if kind == "plan" else found.summaries
                target[(name, model)] = summarise(runs)
                for err in target[(name, model)]["errors"]:
                    found.notes.append(f"{name} {model} ({kind}): {err}")
    return found
