"""The "Why this plan" benchmark section: it runs, reports against its targets, checks results.

Timings are not asserted: speed is measured by ``benchmarks/bench.py``, not by tests.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pandas as pd
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))


@pytest.fixture(scope="module")
def one_trust():
    import explain_bench

    return explain_bench.run(repeats=1, cases=("one",))


def test_one_row_with_a_verdict_against_its_target(one_trust):
    _, rows = one_trust
    (row,) = rows
    assert row["case"] == "one"
    assert row["label"] == "one trust (RAS)"  # the app's first trust
    assert row["workers"] == 2
    assert row["repeats"] == 1
    assert row["target_s"] == 1.5
    assert row["min_s"] <= row["median_s"] <= row["max_s"]
    assert row["met"] == (row["median_s"] < row["target_s"])
    assert row["resolves"] > 0
    assert set(row["shortcuts"]) == {"settled_by_bound", "confirmed_by_bound", "cached"}
    assert row["shortcuts"]["cached"] == 0  # each repeat starts with an empty cache
    assert all(math.isfinite(x) or math.isnan(x) for x in row["load_avg"])


def test_printed_lines_name_the_target_and_a_verdict(one_trust):
    lines, _ = one_trust
    text = "\n".join(lines)
    assert "one trust < 1.5 s" in text
    (line,) = [x for x in text.splitlines() if x.startswith("one trust (RAS)")]
    assert "target < 1.5 s: met" in line or "target < 1.5 s: not met" in line
    assert "re-solves" in line


class _Tables:
    """Stands in for an Explanation: only ``tables()`` is read."""

    def __init__(self, frames):
        self.frames = frames

    def tables(self):
        return self.frames


def test_golden_comparison_finds_a_changed_figure():
    import explain_bench

    golden = json.loads(explain_bench.GOLDEN.read_text(encoding="utf-8"))
    frames = {
        name: pd.DataFrame(t["data"], columns=t["columns"], dtype=object).replace("", None)
        for name, t in golden.items()
    }
    assert explain_bench.golden_mismatches(_Tables(frames)) == []
    nc = frames["not_chosen"]
    k = nc["break_even_price_factor"].first_valid_index()
    nc.loc[k, "break_even_price_factor"] = float(nc.loc[k, "break_even_price_factor"]) + 1e-3
    (diff,) = explain_bench.golden_mismatches(_Tables(frames))
    assert "break_even_price_factor" in diff
