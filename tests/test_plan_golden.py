"""The README's example plans stay byte for byte what they were as the solves get faster.

``tests/golden/plans/`` holds the JSON that the README's ``planner solve`` and ``planner
compare`` examples wrote at commit 33de073, before the speed work of issue 12 went into the
options table, the evaluator and the plan tables. Apart from the block on the value of the
next budget step (now computed only when asked for), it equals what they wrote before issue
12 began (commit 585098b). Each example is run again through the command line and its JSON
compared byte for byte.

Issue 13 (procurement routes) rewrote the files once, deliberately: each plan's scenario
now lists the new settings (the routes ``network``, ``framework`` and ``central_pot``, each
route's ``buys_together``, ``holds_money`` and ``money_split``, and ``needs_uplift``), and
the ``central`` route's money is held by the ICS (``QNA``, ``QAN``) instead of one national
pot (``ENGLAND``). A structural comparison found no other difference: every figure, plan
and status is what it was.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from planner.cli import main

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
GOLDEN = ROOT / "tests" / "golden" / "plans"

#: Golden file -> the README command's arguments (without ``--json``).
EXAMPLES = {
    "solve_2m": ["solve", "--data", DATA / "default_ics", "--budget", "2m"],
    "solve_local_2.5m_equity_weight_1": [
        "solve", "--data", DATA / "default_ics", "--model", "local", "--budget", "2.5m",
        "--equity-weight", "1",
    ],
    "solve_2m_core20_floor_0.2": [
        "solve", "--data", DATA / "default_ics", "--budget", "2m", "--coverage-floor", "0.2",
        "--floor-applies-to", "core20",
    ],
    "solve_2m_lock_exclude": [
        "solve", "--data", DATA / "default_ics", "--budget", "2m", "--lock", "RBH:FRX-OST",
        "--exclude", "RNV:LVO-STV",
    ],
    "solve_scenario_core20_floor": [
        "solve", "--data", DATA / "default_ics", "--scenario",
        DATA / "scenarios" / "core20_floor.yaml",
    ],
    "solve_england_qan_central_lead_18": [
        "solve", "--data", DATA / "england", "--ics", "QAN", "--model", "central", "--set",
        "procurement.central.lead_time_months=18",
    ],
    "compare_2m": ["compare", "--data", DATA / "default_ics", "--budget", "2m"],
}  # fmt: skip


def test_every_golden_file_has_its_example():
    assert sorted(p.stem for p in GOLDEN.glob("*.json")) == sorted(EXAMPLES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_readme_example_writes_the_same_json(name, tmp_path, capsys):
    out = tmp_path / f"{name}.json"
    assert main([str(a) for a in EXAMPLES[name]] + ["--json", str(out)]) == 0
    capsys.readouterr()
    assert out.read_bytes() == (GOLDEN / f"{name}.json").read_bytes()
