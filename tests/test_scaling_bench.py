"""The scaling benchmark section: it runs every route on tiny sizes and reports a curve.

Timings are not asserted: speed is measured by ``benchmarks/bench.py``, not by tests.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))


@pytest.fixture(scope="module")
def tiny_curve():
    import scaling_bench

    # the target is judged at the largest size here, so the verdict line is exercised
    return scaling_bench.run(repeats=1, sizes=(8, 16), products=12, target_trusts=16)


def test_one_row_per_route_and_size_with_figures(tiny_curve):
    _, rows = tiny_curve
    assert [(r["route"], r["trusts"]) for r in rows] == [
        (route, n) for route in ("local", "ics", "central_pot") for n in (8, 16)
    ]
    for r in rows:
        assert "error" not in r, r.get("error")
        assert r["products"] == 12
        assert r["repeats"] == 1
        for key in ("options_s", "build_s", "highs_s", "solve_options_s", "total_s"):
            assert r[key]["median"] >= 0
            assert math.isfinite(r[key]["median"])
        assert r["total_s"]["median"] >= r["solve_options_s"]["median"]
        assert r["max_gap"] <= 0.005 + 1e-9
        assert r["variables"] > 0
        assert r["constraints"] > 0
    # one MILP per trust (local), per ICS (ics), one in all (central), trusts with options
    import scaling_bench

    milps = {(r["route"], r["trusts"]): r["milps"] for r in rows}
    assert milps[("central_pot", 8)] == milps[("central_pot", 16)] == 1
    assert milps[("ics", 16)] == scaling_bench.ics_count(16) == 3
    assert milps[("ics", 16)] < milps[("local", 16)] <= 16


def test_growth_exponents_between_successive_sizes(tiny_curve):
    import scaling_bench

    _, rows = tiny_curve
    for first, second in zip(rows[::2], rows[1::2], strict=True):
        assert first["k_build"] is None
        assert first["k_total"] is None
        expected = scaling_bench.growth(
            first["total_s"]["median"], second["total_s"]["median"], 8, 16
        )
        assert second["k_total"] == pytest.approx(expected)
    assert scaling_bench.growth(1.0, 4.0, 100, 200) == pytest.approx(2.0)
    assert scaling_bench.growth(None, 4.0, 100, 200) is None


def test_only_the_central_target_row_has_a_verdict(tiny_curve):
    lines, rows = tiny_curve
    targeted = [r for r in rows if r["target_s"] is not None]
    assert [(r["route"], r["trusts"]) for r in targeted] == [("central_pot", 16)]
    assert all(r["met"] is None for r in rows if r["target_s"] is None)
    row = targeted[0]
    assert row["target_s"] == 10.0
    assert row["met"] == (row["total_s"]["median"] < 10.0 and row["max_gap"] <= 0.005)
    text = "\n".join(lines)
    assert "ERROR" not in text
    (line,) = [x for x in text.splitlines() if x.startswith("central 16 trusts")]
    assert "target < 10 s within 0.5%" in line
    assert line.endswith(": met") or line.endswith(": not met")
    # the table has one line per row, with the route and size first
    for r in rows:
        assert any(x.split()[:2] == [r["route"], str(r["trusts"])] for x in text.splitlines())


def test_generated_sizes_keep_trusts_per_ics_within_the_generator_s_range():
    import scaling_bench

    # about 4.8 trusts an ICS (200 trusts in 42, as the stress instance), never more than 8
    expected = {1: 1, 8: 2, 16: 3, 50: 10, 100: 21, 200: 42, 400: 84, 800: 168}
    assert {n: scaling_bench.ics_count(n) for n in expected} == expected
