"""The app section of the benchmark: it reads the browser test's timings and judges them.

The browser test itself runs in the suite (tests/test_browser.py); here the section's own
arithmetic and wording are checked on timings files of the test's shape, and the command
line offers the section. Timings are not asserted: speed is measured by ``bench.py``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))


def _timings(first: float, up: float, down: float, back: float) -> dict:
    """A timings file of the shape tests/test_browser.py writes."""
    return {
        "first_plan_s": first,
        "median_slider_to_redraw_s": up,
        "new_budget_moves": {"median_slider_to_redraw_s": down},
        "revisit_moves": {"median_slider_to_redraw_s": back},
    }


def test_medians_over_runs_with_min_max_and_verdicts():
    import app_bench

    runs = [
        _timings(2.5, 0.41, 1.2, 0.5),
        _timings(3.5, 0.25, 1.0, 0.6),
        _timings(2.9, 0.28, 1.4, 0.4),
    ]
    rows = {r["figure"]: r for r in app_bench.summarise(runs)}
    first = rows["first plan on screen from server start"]
    assert (first["median_s"], first["min_s"], first["max_s"], first["runs"]) == (2.9, 2.5, 3.5, 3)
    assert first["verdict"] == "target < 3 s: met"
    step = rows["slider step up to a new budget (median of the moves)"]
    assert step["median_s"] == 0.28
    assert step["verdict"] == "target < 0.3 s: met"
    down = rows["slider step down to a budget never solved"]
    assert (down["median_s"], down["verdict"]) == (1.2, "")  # shown, no target


def test_the_floor_is_shown_beside_the_app_without_a_target():
    import app_bench

    runs = [
        {
            **_timings(9.0, 0.4, 0.7, 0.4),
            "floor": {"first_plan_s": f, "median_slider_to_redraw_s": s},
        }
        for f, s in ((6.5, 0.21), (6.1, 0.19), (6.9, 0.25))
    ]
    rows = {r["figure"]: r for r in app_bench.summarise(runs)}
    first = rows["floor: first plan of the same page, no planner work"]
    assert (first["median_s"], first["min_s"], first["max_s"], first["verdict"]) == (
        6.5,
        6.1,
        6.9,
        "",
    )
    assert rows["floor: slider step on that page"]["median_s"] == 0.21
    text = "\n".join(app_bench.report(list(rows.values()), []))
    assert "floor: slider step on that page" in text
    assert "0.21 s [0.19, 0.25]" in text


def test_a_figure_at_or_over_its_target_is_not_met_and_the_table_says_so():
    import app_bench

    rows = app_bench.summarise([_timings(3.0, 0.61, 1.2, 0.6)])
    lines = app_bench.report(rows, [1.25, 1.5])
    text = "\n".join(lines)
    assert "first plan on screen from server start" in text
    assert "3.00 s [3.00, 3.00]  target < 3 s: not met" in text
    assert "0.61 s [0.61, 0.61]  target < 0.3 s: not met" in text
    assert "load 1.2-1.5" in text


def test_a_timings_file_without_a_figure_says_not_recorded():
    import app_bench

    rows = app_bench.summarise([{"first_plan_s": 2.0}])
    text = "\n".join(app_bench.report(rows, []))
    assert "slider step up to a new budget (median of the moves) " in text
    assert "not recorded" in text
    assert "2.00 s [2.00, 2.00]  target < 3 s: met" in text


def test_bench_offers_the_app_section():
    out = subprocess.run(
        [sys.executable, str(BENCH / "bench.py"), "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--app {yes,no,only}" in out


@pytest.mark.parametrize(("value", "target", "word"), [(0.29, 0.3, "met"), (0.3, 0.3, "not met")])
def test_verdict_is_strictly_under_the_target(value, target, word):
    import app_bench

    assert app_bench.verdict(value, target) == f"target < {target:g} s: {word}"
