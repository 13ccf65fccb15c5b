"""Benchmark the planner: options build, MILP build, HiGHS solve, peak memory, gain over greedy.

Run from anywhere (paths are built from this file)::

    python benchmarks/bench.py                       # all instances, default repeats
    python benchmarks/bench.py --repeats 3 --only default_ics england
    python benchmarks/bench.py --json bench.json     # also write every raw figure
    python benchmarks/bench.py --profile stress:central_pot   # cProfile one run, no table

Every measured run happens in a fresh ``multiprocessing`` child started with ``spawn``: the
child imports the planner and loads the dataset (untimed), then times ``build_options``,
``solve_options`` (MILP build and HiGHS solve), the evaluator and the greedy baseline, and
reads its own peak resident set size (``VmHWM`` in ``/proc/self/status``). Each figure
printed is the median over the repeats with the minimum and maximum beside it. See
``benchmarks/README.md`` for what each figure means.

This file holds only the command line. The measuring is in ``harness.py``, the tables in
``bench_report.py``, the profiler in ``profile_run.py``, the batch and rollout figures in
``batch_bench.py`` and ``rollout_bench.py``, the solver floor (``planner.solve`` against
HiGHS alone) in ``floor_bench.py``, the app in Chromium (the browser test's timings) in
``app_bench.py``; all are imported as top-level modules, this file's
folder being first on ``sys.path``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

# Only the harness (standard library at import) is imported here: a spawned child re-runs
# this file as __mp_main__, and ``--help`` should not need the planner. The report and the
# profiler, which import the planner, are imported in main().
from harness import INSTANCES, MODELS, machine, measure


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
    parser.add_argument(
        "--floor",
        choices=("yes", "no", "only"),
        default="yes",
        help="also compare planner.solve with HiGHS alone on the same MILPs (target 1.3x); "
        "'only' runs just that (default yes)",
    )
    parser.add_argument(
        "--explain",
        choices=("yes", "no", "only"),
        default="yes",
        help="also time 'why this plan' for one trust and for every trust of the default ICS "
        "(targets 1.5 s and 10 s); 'only' runs just that (default yes)",
    )
    parser.add_argument(
        "--scaling",
        choices=("yes", "no", "only"),
        default="yes",
        help="also run the scaling curve, 50 to 800 trusts x 60 products, for each route "
        "(target: central at 800 trusts under 10 s); 'only' runs just that (default yes)",
    )
    parser.add_argument(
        "--app",
        choices=("yes", "no", "only"),
        default="yes",
        help="also run the browser test and print the app's first plan and slider timings "
        "(targets 3 s and 0.3 s; needs Chromium); 'only' runs just that (default yes)",
    )
    args = parser.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")

    if args.profile:
        from profile_run import profile

        profile(args.profile, args.time_limit, args.top)
        return 0

    import bench_report

    sections = {
        "batch": args.batch,
        "rollout": args.rollout,
        "floor": args.floor,
        "explain": args.explain,
        "scaling": args.scaling,
        "app": args.app,
    }
    any_only = "only" in sections.values()

    def wanted(section: str) -> bool:
        """A section runs when it is 'only', or 'yes' and no section is 'only'."""
        return sections[section] == "only" or (sections[section] == "yes" and not any_only)

    instances = [] if any_only else (args.only or list(INSTANCES))
    info = machine()
    started = time.perf_counter()
    print(bench_report.header(info, args.time_limit, instances), flush=True)

    measured = measure(
        instances,
        args.models,
        repeats=args.repeats,
        time_limit_s=args.time_limit,
        repeat_capped=args.repeat_capped,
        plan=not args.no_plan,
    )
    text, verdicts = (
        bench_report.report(measured.summaries, measured.plan_summaries, instances)
        if instances
        else ("", [])
    )
    print()
    print(text)
    batch_rows: list[dict] = []
    rollout_rows: list[dict] = []
    floor_rows: list[dict] = []
    if wanted("floor"):
        import floor_bench

        lines, floor_rows = floor_bench.run(
            repeats=args.repeats,
            instances=args.only,
            models=args.models,
            time_limit_s=args.time_limit,
        )
        print("\n".join(lines), flush=True)
    explain_rows: list[dict] = []
    if wanted("explain"):
        import explain_bench

        lines, explain_rows = explain_bench.run(repeats=args.repeats or 3)
        print("\n".join(lines), flush=True)
    scaling_rows: list[dict] = []
    if wanted("scaling"):
        import scaling_bench

        # one run per point by default: the 800-trust local and ICS runs take minutes each
        lines, scaling_rows = scaling_bench.run(repeats=args.repeats or 1)
        print("\n".join(lines), flush=True)
    app_rows: list[dict] = []
    if wanted("app"):
        import app_bench

        try:
            lines, app_rows = app_bench.run(repeats=args.repeats or 3)
        except RuntimeError as exc:  # no browser here, or the test failed: say so, go on
            lines = ["", f"The app in Chromium: not measured ({exc})"]
        print("\n".join(lines), flush=True)
    if wanted("rollout"):
        import rollout_bench

        lines, rollout_rows = rollout_bench.run(repeats=args.repeats or 3)
        print("\n".join(lines))
    if wanted("batch"):
        import batch_bench

        lines, batch_rows = batch_bench.run(repeats=args.repeats or 3, samples=args.samples)
        print("\n".join(lines))
    if measured.notes:
        print("\nNotes")
        for n in measured.notes:
            print(f"- {n}")
    elapsed = time.perf_counter() - started
    print(f"\nbenchmark wall time {elapsed:.1f} s")

    if args.json:
        payload = bench_report.json_payload(
            info=info,
            time_limit_s=args.time_limit,
            repeats=args.repeats,
            models=args.models,
            repeat_capped=args.repeat_capped,
            instances=instances,
            measured=measured,
            verdicts=verdicts,
            batch_rows=batch_rows,
            rollout_rows=rollout_rows,
            floor_rows=floor_rows,
            explain_rows=explain_rows,
            scaling_rows=scaling_rows,
            app_rows=app_rows,
            wall_s=elapsed,
        )
        args.json.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
        print(f"raw figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
