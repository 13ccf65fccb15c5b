"""The solver-floor benchmark section: it runs, records the right MILPs and reports a ratio.

Timings are not asserted: speed is measured by ``benchmarks/bench.py``, not by tests.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))


@pytest.fixture(scope="module")
def floor_default_ics():
    import floor_bench

    return floor_bench.run(repeats=1, instances=["default_ics"])


def test_one_row_per_instance_with_a_checked_ratio(floor_default_ics):
    _, rows = floor_default_ics
    assert [(r["instance"], r["model"]) for r in rows] == [("default_ics", "ics")]
    row = rows[0]
    assert "error" not in row, row.get("error")
    # the ics model on a one-ICS dataset: one MILP, no base case, no marginal re-solve
    assert row["milps"] == row["expected_milps"] == 1
    assert not row["marginal"]
    assert not row["base_case"]
    assert row["repeats"] == 1
    assert row["budget_gbp"] == 2e6
    assert row["ratio"] > 0
    assert math.isfinite(row["ratio"])
    assert row["objective_check"], row["objective_mismatches"]
    assert row["option_mismatches"] == []
    assert row["target"] == 1.3
    assert row["met"] == (row["ratio"] <= 1.3)


def test_printed_lines_name_the_target_and_a_verdict(floor_default_ics):
    lines, _ = floor_default_ics
    text = "\n".join(lines)
    assert "target 1.3x" in text
    (line,) = [x for x in text.splitlines() if x.startswith("default_ics")]
    assert " met " in line or " not met " in line
    assert "ERROR" not in text
    assert "MISMATCH" not in text


def test_bench_help_lists_the_floor_option():
    out = subprocess.run(
        [sys.executable, str(BENCH / "bench.py"), "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert "--floor" in out
