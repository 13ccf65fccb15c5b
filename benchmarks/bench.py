"""Benchmark the planner: options build, MILP build, HiGHS solve, peak memory, gain over greedy.

Run from anywhere (paths are built from this file)::

    python benchmarks/bench.py                       # all instances, default repeats
    python benchmarks/bench.py --repeats 3 --only default_ics england
    python benchmarks/bench.py --json bench.json     # also write every raw figure
    python benchmarks/bench.py --profile stress:central   # cProfile one run, no table

Every measured run happens in a fresh ``multiprocessing`` child started with ``spawn``: the
child imports the planner and loads the dataset (untimed), then times ``build_options``,
``solve_options`` (MILP build and HiGHS solve), the evaluator and the greedy baseline, and
reads its own peak resident set size (``VmHWM`` in ``/proc/self/status``). Each figure
printed is the median over the repeats with the minimum and maximum beside it. See
``benchmarks/README.md`` for what each figure means.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import multiprocessing as mp
import os
import platform
import pstats
import statistics
import sys
import tempfile
import time
from collections import Counter
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ("local", "ics", "central")
DEFAULT_GAP = None  # None: the Scenario default (1e-4)
STRESS_SHAPE = {"n_ics": 42, "n_trusts": 200, "n_products": 60, "seed": 2026}

#: name -> how to get the data, the MIP gap, the default number of repeats.
INSTANCES = {
    "default_ics": {"path": ROOT / "data" / "default_ics", "mip_gap": DEFAULT_GAP, "repeats": 5},
    "england": {"path": ROOT / "data" / "england", "mip_gap": DEFAULT_GAP, "repeats": 5},
    "stress": {"generate": STRESS_SHAPE, "mip_gap": 0.005, "repeats": 3},
}

#: (instance, model or None for the planner.solve row, kind, limit in seconds, label).
TARGETS = (
    ("default_ics", "local", "total", 1.0, "default ICS build+solve (local) < 1 s"),
    ("default_ics", "ics", "total", 1.0, "default ICS build+solve (ics) < 1 s"),
    ("default_ics", "central", "total", 1.0, "default ICS build+solve (central) < 1 s"),
    ("england", "central", "total", 10.0, "England-scale central build+solve < 10 s"),
    ("stress", "central", "gap", 60.0, "stress central to a 0.5% gap < 60 s"),
)

SOLVED = ("optimal", "gap_reached")


# --------------------------------------------------------------------------------------------
# What runs inside a child process


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


def _instrument_pulp(record: dict) -> None:
    """Time PuLP's HiGHS interface in this process: model transfer, run, read-back.

    Wraps methods of ``pulp.HiGHS`` (in the child only; nothing is written to disk) so the
    solve time of ``solve_options`` can be split into PuLP handing the model to HiGHS
    (``buildSolverModel``, one ``addCol``/``addRow`` call per column/row), HiGHS itself
    (``callSolver``) and reading the solution back (``findSolutionValues``).
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


def _scenario(task: dict):
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
    scenario = _scenario(task)
    hooks: dict = {}
    _instrument_pulp(hooks)
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
    scenario = _scenario(task)
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


def _child(task: dict, conn) -> None:
    """Entry point of a child process: run one task, send its figures back."""
    try:
        _silence_stdout()
        result = RUNNERS[task["kind"]](task)
    except Exception as exc:  # reported in the table, never raised in the parent
        result = {"error": f"{type(exc).__name__}: {exc}"}
    conn.send(result)
    conn.close()


# --------------------------------------------------------------------------------------------
# The parent: machine, datasets, runs, tables


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


def run_child(task: dict) -> tuple[dict, float]:
    """Run one task in a fresh spawned process; return its figures and the wall seconds."""
    ctx = mp.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(task, send))
    start = time.perf_counter()
    proc.start()
    send.close()
    deadline = 4 * task["time_limit_s"] + 300
    result = None
    if receive.poll(deadline):
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


def _num(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.{digits}f}"


def rng(s: dict | None, digits: int = 3) -> str:
    """Format ``median [min, max]``."""
    if s is None:
        return "-"
    med, lo, hi = (_num(s[k], digits) for k in ("median", "min", "max"))
    return med if s["n"] == 1 else f"{med} [{lo}, {hi}]"


def status_text(summary: dict) -> str:
    st = summary["statuses"]
    if not st:
        return "error"
    if len(st) == 1:
        return next(iter(st))
    return "/".join(f"{k}x{v}" for k, v in sorted(st.items()))


def table(headers: list[str], rows: list[list[str]], right: set[int] | None = None) -> str:
    """Render a plain text table (numbers right-aligned)."""
    right = right if right is not None else set(range(2, len(headers)))
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=True)]

    def line(cells):
        return "  ".join(
            str(c).rjust(w) if i in right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def default_gap() -> float:
    """The Scenario's default relative MIP gap."""
    from planner.scenario import Scenario

    return Scenario().mip_gap


def gap_label(name: str) -> str:
    gap = INSTANCES[name]["mip_gap"]
    return f"{default_gap():g} (scenario default)" if gap is None else f"{gap:g}"


def money(v: float | None) -> str:
    return "-" if v is None else f"£{v / 1e6:,.3f}m"


def report(summaries: dict, plan_summaries: dict, instances: list[str]) -> tuple[str, list]:
    """Build the printed tables and the target verdicts."""
    out = []
    keys = [(i, m) for i in instances for m in MODELS if (i, m) in summaries]

    rows = []
    for i, m in keys:
        s = summaries[(i, m)]
        rows.append(
            [
                i,
                m,
                f"{s['runs']}",
                rng(s["options_s"]),
                rng(s["milp_build_s"]),
                rng(s["solve_s"]),
                rng(s["total_s"]),
                rng(s["greedy_s"]),
            ]
        )
    out.append("Times in seconds, median [min, max] over the runs (n)")
    out.append(
        table(
            [
                "instance",
                "model",
                "n",
                "options build",
                "MILP build",
                "HiGHS solve*",
                "total",
                "greedy",
            ],
            rows,
        )
    )
    out.append(
        "* solve = PuLP's prob.solve(): hand-over of the model to HiGHS + HiGHS run + "
        "read-back (split below)\n"
    )

    rows = []
    for i, m in keys:
        s = summaries[(i, m)]
        rows.append(
            [
                i,
                m,
                rng(s["transfer_s"]),
                rng(s["highs_s"]),
                rng(s["readback_s"]),
                rng(s["evaluate_s"]),
                _num((s["nodes"] or {}).get("median"), 0),
            ]
        )
    out.append("Solve split in seconds, median [min, max]")
    out.append(
        table(
            [
                "instance",
                "model",
                "PuLP->HiGHS",
                "HiGHS run",
                "read-back",
                "evaluate",
                "B&B nodes",
            ],
            rows,
        )
    )
    out.append("")

    rows = []
    for i, m in keys:
        s = summaries[(i, m)]
        gap = s["gap"]
        gap_txt = "-" if gap is None else f"{100 * gap['median']:.3f}%"
        if gap is not None and gap["n"] > 1 and gap["max"] != gap["min"]:
            gap_txt += f" (max {100 * gap['max']:.3f}%)"
        rows.append(
            [
                i,
                m,
                gap_label(i),
                status_text(s),
                gap_txt,
                f"{s['options']}",
                f"{s['variables']}",
                f"{s['constraints']}",
                rng(s["peak_mb"], 0),
                _num((s["base_hwm_mb"] or {}).get("median"), 0),
            ]
        )
    out.append("Solver outcome, size and memory (peak RSS = VmHWM of the run's process, MB)")
    out.append(
        table(
            [
                "instance",
                "model",
                "mip_gap asked",
                "status",
                "final gap",
                "options",
                "variables",
                "constraints",
                "peak RSS MB",
                "before build MB",
            ],
            rows,
            right={5, 6, 7, 8, 9},
        )
    )
    out.append("")

    rows = []
    for i, m in keys:
        s = summaries[(i, m)]
        med = {k: (s[k] or {}).get("median") for k in ("objective", "greedy_objective")}
        gain, pct = (s["gain_gbp"] or {}).get("median"), (s["gain_pct"] or {}).get("median")
        rows.append(
            [
                i,
                m,
                money(med["objective"]),
                money(med["greedy_objective"]),
                money(gain),
                _num(pct, 2) + ("%" if pct is not None else ""),
                f"{s['adoptions']}",
                f"{s['violations']}",
            ]
        )
    out.append("Optimiser against the greedy baseline (evaluated objectives, present value)")
    out.append(
        table(
            [
                "instance",
                "model",
                "optimiser",
                "greedy",
                "gain",
                "gain %",
                "adoptions",
                "rule breaks",
            ],
            rows,
        )
    )
    out.append("")

    if plan_summaries:
        rows = []
        for (i, m), s in plan_summaries.items():
            rows.append(
                [
                    i,
                    m,
                    f"{s['runs']}",
                    rng(s["plan_s"]),
                    rng(s["milp_build_s"]),
                    rng(s["solve_s"]),
                    status_text(s),
                    rng(s["peak_mb"], 0),
                ]
            )
        out.append(
            "Whole planner.solve() call (options, MILP, evaluator check, greedy, "
            "marginal-value re-solve), seconds"
        )
        out.append(
            table(
                [
                    "instance",
                    "model",
                    "n",
                    "planner.solve",
                    "MILP build",
                    "HiGHS solve",
                    "status",
                    "peak RSS MB",
                ],
                rows,
            )
        )
        out.append("")

    verdicts = []
    for inst, model, kind, limit, label in TARGETS:
        s = summaries.get((inst, model))
        if s is None or s["total_s"] is None:
            verdicts.append({"target": label, "verdict": "NOT RUN", "value_s": None})
            continue
        value = s["total_s"]["median"]
        ok = value < limit
        note = f"median {value:.3f} s (max {s['total_s']['max']:.3f} s)"
        if kind == "gap":
            reached = set(s["statuses"]) <= set(SOLVED) and s["gap"]["max"] <= 0.005 + 1e-12
            ok = ok and reached
            note += f", status {status_text(s)}, gap {100 * s['gap']['max']:.3f}%"
        verdicts.append(
            {"target": label, "verdict": "PASS" if ok else "MISS", "value_s": value, "note": note}
        )
    out.append("Targets")
    out.append(
        table(
            ["target", "verdict", "figure"],
            [[v["target"], v["verdict"], v.get("note", "")] for v in verdicts],
            right=set(),
        )
    )
    return "\n".join(out), verdicts


def profile(spec: str, time_limit_s: float, top: int) -> None:
    """Profile one instance:model in this process with cProfile and print the hot spots."""
    from planner.data import load_dataset
    from planner.economics import build_options
    from planner.solve import solve_options

    name, _, model = spec.partition(":")
    model = model or "central"
    if name not in INSTANCES or model not in MODELS:
        sys.exit(f"--profile wants INSTANCE:MODEL with INSTANCE in {list(INSTANCES)}")
    with tempfile.TemporaryDirectory(prefix="planner-bench-") as tmp:
        folder, _ = prepare(name, Path(tmp))
        dataset = load_dataset(folder)
    task = {"mip_gap": INSTANCES[name]["mip_gap"], "time_limit_s": time_limit_s}
    scenario = _scenario(task)
    hooks: dict = {}
    _instrument_pulp(hooks)
    prof = cProfile.Profile()
    start = time.perf_counter()
    prof.enable()
    t0 = time.perf_counter()
    options = build_options(dataset, scenario, model)
    t_options = time.perf_counter() - t0
    result = solve_options(options)
    prof.disable()
    wall = time.perf_counter() - start
    print(f"profile of {name}:{model} (under cProfile, so slower than the benchmark)")
    print(
        f"  wall {wall:.3f} s = options {t_options:.3f} + MILP build {result.build_seconds:.3f}"
        f" + solve {result.solve_seconds:.3f} (PuLP->HiGHS {hooks.get('buildSolverModel', 0):.3f}"
        f", HiGHS run {hooks.get('callSolver', 0):.3f}"
        f", read-back {hooks.get('findSolutionValues', 0):.3f}); status {result.status}, gap "
        f"{100 * result.gap:.3f}%, {result.n_variables} variables, "
        f"{result.n_constraints} constraints"
    )
    for key in ("cumulative", "tottime"):
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).strip_dirs().sort_stats(key).print_stats(top)
        print(f"\n--- top {top} by {key} ---")
        print(buf.getvalue().split("\n\n", 1)[-1].rstrip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="runs per figure (default 5; 3 for the stress instance)",
    )
    parser.add_argument(
        "--only", nargs="+", choices=list(INSTANCES), metavar="NAME", help="instances to run"
    )
    parser.add_argument(
        "--models", nargs="+", choices=MODELS, default=list(MODELS), help="models to run"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="write all raw figures here")
    parser.add_argument(
        "--time-limit", type=float, default=120.0, help="solver time limit in s (default 120)"
    )
    parser.add_argument(
        "--repeat-capped",
        action="store_true",
        help="repeat runs that stop at the time limit (by default a run that hits the limit "
        "is not repeated: its solve time is the limit by construction)",
    )
    parser.add_argument(
        "--no-plan", action="store_true", help="skip the whole planner.solve() timing"
    )
    parser.add_argument(
        "--profile",
        metavar="INSTANCE:MODEL",
        help="profile one build+solve with cProfile instead of benchmarking",
    )
    parser.add_argument("--top", type=int, default=30, help="rows of the profile (default 30)")
    parser.add_argument(
        "--batch",
        choices=("yes", "no", "only"),
        default="yes",
        help="also run the batch benchmarks (sweep, uncertainty, 42 ICSs x 3); 'only' runs "
        "just those (default yes)",
    )
    parser.add_argument(
        "--samples", type=int, default=500, help="uncertainty samples in the batch benchmark"
    )
    parser.add_argument(
        "--rollout",
        choices=("yes", "no", "only"),
        default="yes",
        help="also run the 5-year rollout benchmarks; 'only' runs just those (default yes)",
    )
    args = parser.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")

    if args.profile:
        profile(args.profile, args.time_limit, args.top)
        return 0

    only_other = args.batch == "only" or args.rollout == "only"
    instances = [] if only_other else (args.only or list(INSTANCES))
    info = machine()
    started = time.perf_counter()
    header = [
        "planner benchmark",
        f"machine: nproc {info['nproc']} (cpu_count {info['cpu_count']}), CPU {info['cpu']}, "
        f"RAM {_num(info['memory_gb'], 1)} GB",
        f"software: Python {info['python']}, PuLP {info['pulp']}, highspy {info['highspy']}, "
        f"pandas {info['pandas']}, numpy {info['numpy']}; {info['platform']}",
        f"scenario: Scenario(budget_gbp=None) (= sum of local budgets), time_limit_s="
        f"{args.time_limit:g}, threads=1 (default); mip_gap: "
        + "; ".join(f"{i} {gap_label(i)}" for i in instances),
        "each run in a fresh spawned process (cold: first call after import and data load)",
    ]
    print("\n".join(header), flush=True)

    raw: list[dict] = []
    summaries: dict = {}
    plan_summaries: dict = {}
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="planner-bench-") as tmp:
        for name in instances:
            spec = INSTANCES[name]
            folder, gen_s = prepare(name, Path(tmp))
            if gen_s:
                shape = ", ".join(f"{k}={v}" for k, v in spec["generate"].items())
                print(f"{name}: generated ({shape}) in {gen_s:.2f} s (untimed)", flush=True)
            repeats = args.repeats or spec["repeats"]
            jobs = [("model", m) for m in args.models]
            if name == "default_ics" and not args.no_plan:
                jobs += [("plan", m) for m in args.models]
            for kind, model in jobs:
                runs = []
                for k in range(repeats):
                    task = {
                        "kind": kind,
                        "path": str(folder),
                        "model": model,
                        "mip_gap": spec["mip_gap"],
                        "time_limit_s": args.time_limit,
                    }
                    result, wall = run_child(task)
                    result.update(
                        instance=name, model=model, kind=kind, repeat=k + 1, child_wall_s=wall
                    )
                    raw.append(result)
                    runs.append(result)
                    fig = result.get("total_s", result.get("plan_s"))
                    print(
                        f"  [{name} {model} {kind} {k + 1}/{repeats}] "
                        + (
                            f"ERROR {result['error']}"
                            if "error" in result
                            else f"{fig:.3f} s {result['status']} gap "
                            f"{100 * result['gap']:.3f}% peak {result['peak_mb']:.0f} MB"
                        ),
                        file=sys.stderr,
                        flush=True,
                    )
                    if "error" in result:
                        break
                    if result["status"] == "time_limit" and not args.repeat_capped:
                        if k + 1 < repeats:
                            notes.append(
                                f"{name} {model} ({kind}): stopped at the {args.time_limit:g} s "
                                f"time limit at gap {100 * result['gap']:.3f}%; not repeated "
                                "(pass --repeat-capped to repeat)"
                            )
                        break
                target = plan_summaries if kind == "plan" else summaries
                target[(name, model)] = summarise(runs)
                for err in target[(name, model)]["errors"]:
                    notes.append(f"{name} {model} ({kind}): {err}")

    text, verdicts = report(summaries, plan_summaries, instances) if instances else ("", [])
    print()
    print(text)
    batch_rows: list[dict] = []
    rollout_rows: list[dict] = []
    if args.rollout != "no" and args.batch != "only":
        import rollout_bench

        lines, rollout_rows = rollout_bench.run(repeats=args.repeats or 3)
        print("\n".join(lines))
    if args.batch != "no" and args.rollout != "only":
        import batch_bench

        lines, batch_rows = batch_bench.run(repeats=args.repeats or 3, samples=args.samples)
        print("\n".join(lines))
    if notes:
        print("\nNotes")
        for n in notes:
            print(f"- {n}")
    elapsed = time.perf_counter() - started
    print(f"\nbenchmark wall time {elapsed:.1f} s")

    if args.json:
        payload = {
            "machine": info,
            "settings": {
                "time_limit_s": args.time_limit,
                "repeats": args.repeats,
                "instances": {
                    i: {
                        "mip_gap": INSTANCES[i]["mip_gap"] or default_gap(),
                        "source": str(INSTANCES[i].get("path", INSTANCES[i].get("generate"))),
                    }
                    for i in instances
                },
                "models": args.models,
                "repeat_capped": args.repeat_capped,
            },
            "runs": raw,
            "summary": [
                {"instance": i, "model": m, "kind": "model", **s} for (i, m), s in summaries.items()
            ]
            + [
                {"instance": i, "model": m, "kind": "plan", **s}
                for (i, m), s in plan_summaries.items()
            ],
            "targets": verdicts,
            "batch": batch_rows,
            "rollout": rollout_rows,
            "notes": notes,
            "wall_s": elapsed,
        }
        args.json.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
        print(f"raw figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
