"""The benchmark's printed output: header, plain-text tables, target verdicts, JSON payload.

Named ``bench_report``, not ``report``: ``benchmarks/`` comes first on ``sys.path`` when
``bench.py`` runs, so a generic name could shadow an installed top-level module, and it
would read like ``planner.report``.
Percentages come from ``planner.formatting.percent``; money has a format of its own (see
:func:`money`).
"""

from __future__ import annotations

import math

from harness import INSTANCES, MODELS, default_gap

from planner.formatting import percent

#: (instance, model or None for the planner.solve row, kind, limit in seconds, label).
TARGETS = (
    ("default_ics", "local", "total", 1.0, "default ICS build+solve (local) < 1 s"),
    ("default_ics", "ics", "total", 1.0, "default ICS build+solve (ics) < 1 s"),
    ("default_ics", "central_pot", "total", 1.0, "default ICS build+solve (central) < 1 s"),
    ("england", "central_pot", "total", 10.0, "England-scale central build+solve < 10 s"),
    ("stress", "central_pot", "gap", 60.0, "stress central to a 0.5% gap < 60 s"),
)

SOLVED = ("optimal", "gap_reached")


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
    """The status of a series: one name, or ``name x count`` for each when they differ."""
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


def gap_label(name: str) -> str:
    """The MIP gap an instance asks for, as printed."""
    gap = INSTANCES[name]["mip_gap"]
    return f"{default_gap():g} (scenario default)" if gap is None else f"{gap:g}"


def money(v: float | None) -> str:
    """Pounds in millions with three decimals: £9.977m, £368.511m, £-0.012m.

    Deliberately not ``planner.formatting.money`` (two decimals, switching to £k below a
    million, sign before the £): a benchmark column keeps one unit and one more digit, so
    runs and commits compare figure by figure.
    """
    return "-" if v is None else f"£{v / 1e6:,.3f}m"


def header(info: dict, time_limit_s: float, instances: list[str]) -> str:
    """The lines printed before any run: machine, software, scenario, how runs are made."""
    return "\n".join(
        [
            "planner benchmark",
            f"machine: nproc {info['nproc']} (cpu_count {info['cpu_count']}), CPU "
            f"{info['cpu']}, RAM {_num(info['memory_gb'], 1)} GB",
            f"software: Python {info['python']}, PuLP {info['pulp']}, highspy "
            f"{info['highspy']}, pandas {info['pandas']}, numpy {info['numpy']}; "
            f"{info['platform']}",
            f"scenario: Scenario(budget_gbp=None) (= sum of local budgets), time_limit_s="
            f"{time_limit_s:g}, threads=1 (default); mip_gap: "
            + "; ".join(f"{i} {gap_label(i)}" for i in instances),
            "each run in a fresh spawned process (cold: first call after import and data load)",
        ]
    )


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
        gap_txt = "-" if gap is None else percent(gap["median"], 3)
        if gap is not None and gap["n"] > 1 and gap["max"] != gap["min"]:
            gap_txt += f" (max {percent(gap['max'], 3)})"
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
        # gain_pct is already in percent (100 x gain / |greedy|), hence not percent().
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
            note += f", status {status_text(s)}, gap {percent(s['gap']['max'], 3)}"
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


def json_payload(
    *,
    info: dict,
    time_limit_s: float,
    repeats: int | None,
    models: list[str],
    repeat_capped: bool,
    instances: list[str],
    measured,
    verdicts: list,
    batch_rows: list[dict],
    rollout_rows: list[dict],
    wall_s: float,
    floor_rows: list[dict] | None = None,
    explain_rows: list[dict] | None = None,
    scaling_rows: list[dict] | None = None,
    app_rows: list[dict] | None = None,
) -> dict:
    """Every raw figure for ``--json``: machine, settings, runs, summaries, verdicts.

    ``measured`` is a ``harness.Measurements``; the instances' MIP gaps and data sources are
    added to the settings here.
    """
    return {
        "machine": info,
        "settings": {
            "time_limit_s": time_limit_s,
            "repeats": repeats,
            "instances": {
                i: {
                    "mip_gap": INSTANCES[i]["mip_gap"] or default_gap(),
                    "source": str(INSTANCES[i].get("path", INSTANCES[i].get("generate"))),
                }
                for i in instances
            },
            "models": models,
            "repeat_capped": repeat_capped,
        },
        "runs": measured.raw,
        "summary": [
            {"instance": i, "model": m, "kind": "model", **s}
            for (i, m), s in measured.summaries.items()
        ]
        + [
            {"instance": i, "model": m, "kind": "plan", **s}
            for (i, m), s in measured.plan_summaries.items()
        ],
        "targets": verdicts,
        "batch": batch_rows,
        "rollout": rollout_rows,
        "floor": floor_rows or [],
        "explain": explain_rows or [],
        "scaling": scaling_rows or [],
        "app": app_rows or [],
        "notes": measured.notes,
        "wall_s": wall_s,
    }
