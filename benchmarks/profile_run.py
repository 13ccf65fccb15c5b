"""``bench.py --profile``: one build and solve under cProfile, with the hot spots printed.

Named ``profile_run`` (not ``profile``) so that it does not shadow the standard library's
``profile`` module, which ``cProfile`` imports, when ``benchmarks/`` is on ``sys.path``.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path

from harness import INSTANCES, MODELS, instrument_pulp, prepare, scenario_for

from planner.formatting import percent


def profile(spec: str, time_limit_s: float, top: int) -> None:
    """Profile one instance:model in this process with cProfile and print the hot spots."""
    from planner.data import load_dataset
    from planner.economics import build_options
    from planner.solve import solve_options

    name, _, model = spec.partition(":")
    model = model or "central_pot"
    if name not in INSTANCES or model not in MODELS:
        sys.exit(f"--profile wants INSTANCE:MODEL with INSTANCE in {list(INSTANCES)}")
    with tempfile.TemporaryDirectory(prefix="planner-bench-") as tmp:
        folder, _ = prepare(name, Path(tmp))
        dataset = load_dataset(folder)
    task = {"mip_gap": INSTANCES[name]["mip_gap"], "time_limit_s": time_limit_s}
    scenario = scenario_for(task)
    hooks: dict = {}
    instrument_pulp(hooks)
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
        f"{percent(result.gap, 3)}, {result.n_variables} variables, "
        f"{result.n_constraints} constraints"
    )
    for key in ("cumulative", "tottime"):
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).strip_dirs().sort_stats(key).print_stats(top)
        print(f"\n--- top {top} by {key} ---")
        print(buf.getvalue().split("\n\n", 1)[-1].rstrip())
