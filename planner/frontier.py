"""Frontiers: how the optimum moves with the budget and with the equity weight.

Each point is a fresh solve (no greedy baseline, base case or marginal value beyond what
the curve needs), so a frontier of 10 to 20 points on one ICS takes a few seconds. A
``progress`` callback, if given, is called with (points done, points in all) after each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from planner.data import Dataset
from planner.economics import build_options
from planner.equity import equity_metrics
from planner.errors import InfeasibleError, PlannerError
from planner.evaluate import evaluate
from planner.greedy import greedy_plan
from planner.scenario import Scenario
from planner.solve import solve_options

Progress = Callable[[int, int], None] | None


def _point(dataset: Dataset, scenario: Scenario) -> dict:
    """Solve one scenario and return its key figures (or the reason it has no plan)."""
    options = build_options(dataset, scenario)
    try:
        result = solve_options(options)
    except InfeasibleError as exc:
        return {"status": "infeasible", "reason": str(exc)}
    except PlannerError as exc:  # the solver stopped: not the same as "no plan exists"
        return {"status": getattr(exc, "status", "failed"), "reason": str(exc)}
    ev = evaluate(options, result.mask, check_rules=False)
    eq = equity_metrics(ev.trusts)
    by_q = eq["by_imd_quintile"]
    gap = None
    if "1" in by_q and "5" in by_q and None not in (by_q["1"]["coverage"], by_q["5"]["coverage"]):
        gap = by_q["1"]["coverage"] - by_q["5"]["coverage"]
    return {
        "status": result.status,
        "gap": result.gap,
        "cost_gbp": ev.cost_gbp,
        "benefit_gbp": ev.benefit_gbp,
        "weighted_benefit_gbp": ev.weighted_benefit_gbp,
        "adoptions": len(ev.adoptions),
        "min_coverage": eq["min_coverage"],
        "core20_coverage": eq["core20_coverage"],
        "coverage": eq["coverage"],
        "deprivation_coverage_gap": gap,
        "concentration_index": eq["concentration_index"],
        "options": options,
    }


def _curve(
    dataset: Dataset,
    scenario: Scenario,
    setting: str,
    values: Iterable[float],
    progress: Progress,
    with_greedy: bool = False,
) -> pd.DataFrame:
    """One row per value of ``setting`` (sorted), in a column of that name, and its point."""
    values = sorted(float(v) for v in values)
    rows = []
    for i, value in enumerate(values):
        point = _point(dataset, scenario.replace(**{setting: value}))
        options = point.pop("options", None)
        if with_greedy and options is not None:
            greedy = evaluate(options, greedy_plan(options), check_rules=False)
            point["greedy_benefit_gbp"] = greedy.benefit_gbp
            point["greedy_cost_gbp"] = greedy.cost_gbp
        rows.append({setting: value, **point})
        if progress:
            progress(i + 1, len(values))
    frame = pd.DataFrame(rows)
    if "benefit_gbp" not in frame:  # no value gave a plan
        frame["benefit_gbp"] = float("nan")
    return frame


def budget_frontier(
    dataset: Dataset, scenario: Scenario, budgets: Iterable[float], progress: Progress = None
) -> pd.DataFrame:
    """Benefit against budget for the optimiser and for the greedy order of buy.

    Returns:
        One row per budget: budget_gbp, status, benefit_gbp, cost_gbp, min_coverage, ...,
        greedy_benefit_gbp and greedy_cost_gbp.
    """
    return _curve(dataset, scenario, "budget_gbp", budgets, progress, with_greedy=True)


def equity_frontier(
    dataset: Dataset, scenario: Scenario, weights: Iterable[float], progress: Progress = None
) -> pd.DataFrame:
    """Total benefit against fairness as the equity weight varies (the same money).

    Returns:
        One row per equity weight: equity_weight, benefit_gbp (unweighted), min_coverage,
        core20_coverage, deprivation_coverage_gap (coverage of the least deprived fifth
        minus the most deprived), concentration_index, benefit_given_up_gbp against
        the weight-0 point, and ``efficient``: no other weight beats the point on both
        total benefit and the Core20 people's coverage.
    """
    frame = _curve(dataset, scenario, "equity_weight", weights, progress)
    base = frame.loc[frame["equity_weight"] == 0, "benefit_gbp"]
    if len(base) and pd.notna(base.iloc[0]):
        frame["benefit_given_up_gbp"] = float(base.iloc[0]) - frame["benefit_gbp"]
    # an ICS with no Core20 people has no Core20 coverage: then benefit alone decides
    has_core20 = frame.get("core20_coverage", pd.Series(dtype=float)).notna().any()
    columns = ("benefit_gbp", "core20_coverage") if has_core20 else ("benefit_gbp",)
    frame["efficient"] = efficient_points(frame, columns)
    return frame


def efficient_points(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.Series:
    """Whether no other point beats each point on every column (higher is better).

    A point is beaten when another is at least as good on every column and better on one;
    points with a missing value are never efficient.
    """
    if not set(columns) <= set(frame.columns):
        return pd.Series(False, index=frame.index)
    values = frame[list(columns)].astype(float)
    ok = values.notna().all(axis=1)
    v = values[ok].to_numpy()
    out = pd.Series(False, index=frame.index)
    if len(v) == 0:
        return out
    tol = 1e-9 * np.maximum(np.abs(v).max(axis=0), 1.0)
    beaten = np.zeros(len(v), dtype=bool)
    for i in range(len(v)):
        at_least = (v >= v[i] - tol).all(axis=1)
        better = (v > v[i] + tol).any(axis=1)
        beaten[i] = bool((at_least & better).any())
    out[ok] = ~beaten
    return out
