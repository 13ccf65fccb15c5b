"""The app in a real browser: first plan on screen, and a budget slider move redrawn.

Issue 12, target 5: the first plan on screen under 3 s from the server's start on the
default ICS, and a step of the budget slider redrawing the Plan page's figures in under
0.3 s (median) in Chromium. Both are measured by the browser test itself
(``tests/test_browser.py``: Streamlit on loopback, headless Chromium through Playwright),
which writes ``screenshots/timings.json``; this module runs that test ``repeats`` times in
a child ``pytest`` (with ``CI=true``, so a missing browser fails instead of skipping), reads
the file after each run and prints

- the first plan: seconds from starting the server to the Plan page with both figures drawn;
- a step up the slider (each new budget the one the page valued as "the next £100k"), a step
  down to a budget never solved, and a step back to a budget solved a moment ago: the median
  over the moves of one run, then the median of those over the runs,

each with its target, "met" or "not met", and the load average around the runs; and the
floor under both, timed by the same test: a page with the same title, key figures, two
charts and slider and no planner work (``benchmarks/floor_app.py``), so the table shows
how much of each figure is Streamlit and Plotly in Chromium on this machine. The figures
are the test's own (the same clock, the same waits); nothing here starts a browser.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMINGS = ROOT / "screenshots" / "timings.json"
TEST = "tests/test_browser.py"

#: (label, how to read the figure from one timings file, target in seconds or None).
FIGURES = (
    ("first plan on screen from server start", lambda t: t.get("first_plan_s"), 3.0),
    (
        "slider step up to a new budget (median of the moves)",
        lambda t: t.get("median_slider_to_redraw_s"),
        0.3,
    ),
    (
        "slider step down to a budget never solved",
        lambda t: (t.get("new_budget_moves") or {}).get("median_slider_to_redraw_s"),
        None,
    ),
    (
        "slider step back to a budget just solved",
        lambda t: (t.get("revisit_moves") or {}).get("median_slider_to_redraw_s"),
        None,
    ),
    (
        "floor: first plan of the same page, no planner work",
        lambda t: (t.get("floor") or {}).get("first_plan_s"),
        None,
    ),
    (
        "floor: slider step on that page",
        lambda t: (t.get("floor") or {}).get("median_slider_to_redraw_s"),
        None,
    ),
)


def _load() -> float:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return math.nan


def run_browser_test() -> dict:
    """Run the browser test once in a child pytest; return the timings it wrote.

    Raises:
        RuntimeError: If the test fails or writes no timings (the output's tail is in it).
    """
    before = TIMINGS.stat().st_mtime if TIMINGS.exists() else None
    env = {**os.environ, "CI": "true"}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-x", TEST],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    fresh = TIMINGS.exists() and TIMINGS.stat().st_mtime != before
    if proc.returncode != 0 or not fresh:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-20:])
        raise RuntimeError(
            f"the browser test did not record timings (exit {proc.returncode}):\n{tail}"
        )
    return json.loads(TIMINGS.read_text(encoding="utf-8"))


def verdict(value: float | None, target: float | None) -> str:
    """'met' or 'not met' against ``target`` seconds; '' without a target or a value."""
    if target is None or value is None:
        return ""
    return f"target < {target:g} s: {'met' if value < target else 'not met'}"


def summarise(runs: list[dict]) -> list[dict]:
    """One row per figure: the median over the runs, with [min, max] and the verdict."""
    rows = []
    for label, read, target in FIGURES:
        values = [v for v in (read(t) for t in runs) if v is not None]
        median = statistics.median(values) if values else None
        rows.append(
            {
                "figure": label,
                "median_s": median,
                "min_s": min(values) if values else None,
                "max_s": max(values) if values else None,
                "runs": len(values),
                "target_s": target,
                "verdict": verdict(median, target),
            }
        )
    return rows


def report(rows: list[dict], loads: list[float]) -> list[str]:
    """The printed table."""
    lines = [
        "",
        "The app in headless Chromium, default ICS (tests/test_browser.py; targets: first plan "
        "< 3 s, slider step < 0.3 s)",
        f"seconds, median [min, max] of {max((r['runs'] for r in rows), default=0)} run(s)",
    ]
    for r in rows:
        if r["median_s"] is None:
            lines.append(f"{r['figure']:<55} not recorded")
            continue
        lines.append(
            f"{r['figure']:<55} {r['median_s']:.2f} s [{r['min_s']:.2f}, {r['max_s']:.2f}]"
            + (f"  {r['verdict']}" if r["verdict"] else "")
        )
    shown = [x for x in loads if not math.isnan(x)]
    if shown:
        lines.append(
            f"load {min(shown):.1f}-{max(shown):.1f} (1-minute load average around the runs)"
        )
    return lines


def run(repeats: int = 3) -> tuple[list[str], list[dict]]:
    """Run the browser test ``repeats`` times; the printed lines and the rows."""
    runs, loads = [], []
    for i in range(repeats):
        loads.append(_load())
        start = time.perf_counter()
        runs.append(run_browser_test())
        loads.append(_load())
        print(
            f"  [app, run {i + 1}/{repeats}] first plan {runs[-1].get('first_plan_s')} s, "
            f"slider step {runs[-1].get('median_slider_to_redraw_s')} s "
            f"(test took {time.perf_counter() - start:.0f} s)",
            file=sys.stderr,
            flush=True,
        )
    rows = summarise(runs)
    return report(rows, loads), rows


if __name__ == "__main__":
    lines, _ = run(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
    print("\n".join(lines))
