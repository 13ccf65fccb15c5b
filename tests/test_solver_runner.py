"""The one solver runner: every HiGHS stop becomes a typed status, and callers read it."""

from __future__ import annotations

import numpy as np
import pulp
import pytest

import planner
from planner.errors import SolverError
from planner.solve import PLAN_STATUSES, Status, run_solver

FAST = planner.Scenario(time_limit_s=5.0)


def knapsack() -> pulp.LpProblem:
    prob = pulp.LpProblem("knapsack", pulp.LpMaximize)
    x = prob.add_variable_dict("x", range(3), cat="Binary")
    weights, values = (3.0, 4.0, 5.0), (4.0, 5.0, 6.0)
    prob.addConstraint(
        pulp.LpConstraint(
            pulp.LpAffineExpression([(x[i], weights[i]) for i in range(3)]),
            pulp.LpConstraintLE,
            "cap",
            8.0,
        )
    )
    prob.setObjective(pulp.LpAffineExpression([(x[i], values[i]) for i in range(3)]))
    return prob


def test_optimal_run_reads_objective_and_bound():
    run = run_solver(knapsack(), FAST)
    assert run.status == Status.OPTIMAL
    assert run.has_plan
    assert run.objective == pytest.approx(10.0)  # items 1 and 3 (weights 3 + 5)
    assert run.bound == run.objective
    assert run.gap == 0.0
    assert (run.n_variables, run.n_constraints) == (3, 1)


def test_the_least_cost_form_runs_without_presolve_or_the_root_reduced_cost_heuristic():
    prob = knapsack()
    run = run_solver(prob, FAST, presolve=False, reduced_cost_heuristic=False)
    assert run.objective == pytest.approx(10.0)
    highs = prob.solverModel
    assert highs.getOptionValue("presolve")[1] == "off"
    assert highs.getOptionValue("mip_heuristic_run_root_reduced_cost")[1] is False
    default = knapsack()
    run_solver(default, FAST)
    assert default.solverModel.getOptionValue("mip_heuristic_run_root_reduced_cost")[1] is True
    assert default.solverModel.getOptionValue("presolve")[1] != "off"


def test_infeasible_and_empty_runs():
    prob = knapsack()
    prob.addConstraint(
        pulp.LpConstraint(
            pulp.LpAffineExpression([(v, 1.0) for v in prob.variables()]),
            pulp.LpConstraintGE,
            "all",
            3.0,
        )
    )  # all three items weigh 12 > 8
    assert run_solver(prob, FAST).status == Status.INFEASIBLE
    empty = pulp.LpProblem("empty", pulp.LpMaximize)
    run = run_solver(empty, FAST)
    assert run.status in (Status.EMPTY, Status.OPTIMAL)  # nothing to decide is a plan
    assert run.has_plan
    assert run.objective == 0.0


def test_time_limit_before_any_plan_is_no_plan_not_infeasible():
    # a market-split instance: equality rows with random weights; no plan in half a second
    rng = np.random.default_rng(1)
    a = rng.integers(0, 100, size=(5, 50))
    prob = pulp.LpProblem("market_split", pulp.LpMaximize)
    x = prob.add_variable_dict("x", range(50), cat="Binary")
    for i in range(5):
        row = pulp.LpAffineExpression([(x[j], float(a[i, j])) for j in range(50)])
        prob.addConstraint(
            pulp.LpConstraint(row, pulp.LpConstraintEQ, f"split{i}", float(a[i].sum() // 2))
        )
    prob.setObjective(pulp.LpAffineExpression([(x[0], 1.0)]))
    run = run_solver(prob, planner.Scenario(time_limit_s=0.5))
    assert run.status == Status.NO_PLAN
    assert not run.has_plan
    assert run.detail == "Time limit reached"
    assert Status.NO_PLAN not in PLAN_STATUSES


def test_a_frontier_point_the_solver_gave_up_on_is_not_called_infeasible(default_ics, monkeypatch):
    import planner.frontier as frontier

    def stopped(options):
        raise SolverError("the solver stopped (Time limit reached)", status="no_plan")

    monkeypatch.setattr(frontier, "solve_options", stopped)
    frame = frontier.equity_frontier(default_ics, planner.Scenario(budget_gbp=2e6), [0.0])
    assert frame["status"].tolist() == ["no_plan"]
    assert "Time limit reached" in frame["reason"].iloc[0]


def test_uncertainty_reads_overspend_from_the_figures_not_the_message(default_ics):
    from planner.evaluate import evaluate, over_budget

    options = planner.build_options(default_ics, planner.Scenario(budget_gbp=1e5))
    everything = np.ones(len(options.table), dtype=bool)
    ev = evaluate(options, everything)
    assert over_budget(ev.units).all()
    assert any("over its budget" in v for v in ev.violations)


def test_a_solve_never_redirects_a_file_descriptor(monkeypatch):
    """The app serves many sessions in one process: no solve may touch stdout's descriptor."""
    import os
    import traceback

    real, calls = os.dup2, []

    def spy(*args):
        # pytest's own output capture also uses dup2: count only the package's and PuLP's
        stack = [f.filename for f in traceback.extract_stack()]
        if any("/planner/" in f or "/pulp/" in f for f in stack):
            calls.append(args)
        return real(*args)

    monkeypatch.setattr(os, "dup2", spy)
    assert run_solver(knapsack(), FAST).status == Status.OPTIMAL
    assert calls == []


def test_two_concurrent_solves_leave_stdout_where_it_was():
    import os
    import sys
    import threading

    before = os.fstat(1)
    stdout = sys.stdout
    results = []

    def solve():
        results.append(run_solver(knapsack(), FAST).status)

    threads = [threading.Thread(target=solve) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [Status.OPTIMAL] * 4
    after = os.fstat(1)
    assert (after.st_dev, after.st_ino) == (before.st_dev, before.st_ino)
    assert sys.stdout is stdout


def test_only_large_plan_milps_run_the_shifting_heuristic(default_ics, monkeypatch):
    import importlib

    from planner.economics import build_options

    solve_module = importlib.import_module("planner.solve")
    runs = []
    real = solve_module.run_solver

    def recording(prob, scenario, **settings):
        run = real(prob, scenario, **settings)
        runs.append(prob.solverModel.getOptionValue("mip_heuristic_run_shifting")[1])
        return run

    monkeypatch.setattr(solve_module, "run_solver", recording)
    options = build_options(default_ics, planner.Scenario(budget_gbp=2e6), "central")
    small = solve_module.solve_options(options)
    assert runs == [False]  # the shipped data is far below the threshold
    monkeypatch.setattr(solve_module, "SHIFTING_FROM_OPTIONS", len(options.table))
    large = solve_module.solve_options(options)
    assert runs == [False, True]
    assert large.objective == pytest.approx(small.objective, rel=options.scenario.mip_gap)
