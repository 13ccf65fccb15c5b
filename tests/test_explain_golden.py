"""Explanations and break-even prices stay what they were as the solves get faster.

``tests/golden/explain_default_ics_2m.json`` holds the figures ``planner explain --data
data/default_ics --budget 2m`` gave before the speed work of issue 12 (commit 585098b):
every adoption's benefit change and what displaces it, every option not chosen with its
reason, break-even price factor and cost and whether a solve confirmed it, the value of the
next £100k, and the trust table. Fewer or smaller solves must not change any of them
(numbers to a relative 1e-9: re-solves with tied optima may sum in another order).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = json.loads((ROOT / "tests" / "golden" / "explain_default_ics_2m.json").read_text())


def same(a: str, b: str) -> bool:
    """Cells as the CSV holds them: numbers to a relative 1e-9, anything else exactly."""
    try:
        x, y = float(a), float(b)
    except (TypeError, ValueError):
        return a == b
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-6)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("why")
    from planner.cli import main

    assert main(["explain", "--data", str(ROOT / "data" / "default_ics"), "--budget", "2m",
                 "--out", str(out / "why"), "--quiet"]) == 0  # fmt: skip
    return out / "why"


@pytest.mark.parametrize("table", sorted(GOLDEN))
def test_explanations_match_the_ones_before_the_speed_work(written, table):
    golden = GOLDEN[table]
    now = pd.read_csv(written / f"{table}.csv", keep_default_na=False, dtype=str)
    assert set(golden["columns"]) <= set(now.columns)
    now = now[golden["columns"]]
    assert len(now) == len(golden["data"]), table
    for number, (want, got) in enumerate(zip(golden["data"], now.values.tolist(), strict=True)):
        for column, a, b in zip(golden["columns"], want, got, strict=True):
            assert same(str(a), b), f"{table} row {number + 2} column {column}: {a!r} -> {b!r}"
