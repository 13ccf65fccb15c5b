"""The re-solve engine behind explanations: what-if solves and break-even price searches.

Every what-if of :mod:`planner.explain` is a solve of the plan's own model, made here:

- :func:`solve_pairs` re-solves through the normal path (``solve_options``), optionally for
  one buying unit, and :class:`Resolver` counts those re-solves against a limit;
- :func:`rebate_options` takes a rebate off one option's bill;
- :func:`search_break_even` finds the largest price factor ``f`` at which one option is
  chosen: one least-cost re-solve (:func:`least_cost_with`: the plan's MILP with the option
  forced in, its objective held at the plan's, the buying unit's cost minimised with its
  budget lifted) gives ``f* = 1 - (c - budget) / bill``; one normal re-solve just below it
  confirms it (:func:`chosen_with_rebate`); bisection is the fallback for solver-gap noise;
- :func:`search_all` runs many searches in this process or in worker processes.

A solver stop that decides nothing (a time-out) is reported as undecided, never as "not
chosen". The sentences that report the results are in :mod:`planner.explain_text`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pulp

from planner.data import Dataset
from planner.economics import Options, build_options
from planner.equity_rules import unit_groups
from planner.errors import InfeasibleError, PlannerError, SolverError
from planner.model import build_model
from planner.parallel import run_jobs
from planner.plan import Plan
from planner.scenario import Scenario
from planner.solve import Status, run_solver, solve_options

#: The confirming re-solve is made this far (in price factor) below the threshold.
CONFIRM_MARGIN = 1e-4
#: Stands in for "no budget" for the buying unit of the least-cost re-solve.
NO_BUDGET_GBP = 1e12


def rebate_options(options: Options, trust: str, product: str, rebate_gbp: float) -> Options:
    """Return a copy of ``options`` in which one option's bill is ``rebate_gbp`` lower.

    A price factor ``f`` on a trust's prices for a product whose bill is ``cost_gbp`` (a
    column of :attr:`Explanation.not_chosen`) is the rebate ``(1 - f) x cost_gbp``. The
    rebate comes off the option's fixed cost, so its studies still pool with the other
    trusts of its buying unit for the volume tiers. Solve the copy with
    :func:`planner.solve.solve_options` (after ``for_units`` if you like).

    Args:
        options: The options table.
        trust: The trust code.
        product: The product code.
        rebate_gbp: Pounds (present value) off the option's bill.

    Raises:
        ValueError: If (trust, product) is not an option, or the rebate is not finite.
    """
    index = options.option_index()
    if (trust, product) not in index:
        raise ValueError(f"{product} at {trust} is not an option under the {options.model} model")
    if not np.isfinite(rebate_gbp):
        raise ValueError(f"the rebate must be a finite number of pounds, not {rebate_gbp!r}")
    table = options.table.copy()
    col = table.columns.get_loc("fixed_cost_gbp")
    i = index[(trust, product)]
    table.iloc[i, col] = float(table.iloc[i, col]) - float(rebate_gbp)
    return dataclasses.replace(options, table=table)


def solve_pairs(
    dataset: Dataset, scenario: Scenario, model: str, unit: str | None = None
) -> tuple[set, float] | None:
    """Solve through the normal path; return adopted (trust, product) pairs and their benefit.

    With ``unit`` only that buying unit's options are solved. Returns None when no plan
    meets the scenario (or the solver finds none).
    """
    options = build_options(dataset, scenario, model)
    if unit is not None:
        options = options.for_units([unit])
    try:
        res = solve_options(options)
    except PlannerError:
        return None
    chosen = options.table[res.mask]
    pairs = set(zip(chosen["trust"], chosen["product"], strict=True))
    return pairs, float(chosen["benefit_gbp"].sum())


class Resolver:
    """Count re-solves against a limit."""

    def __init__(self, dataset: Dataset, scenario: Scenario, model: str, limit: int | None):
        self.dataset = dataset
        self.scenario = scenario
        self.model = model
        self.limit = limit
        self.count = 0

    def left(self) -> int | None:
        """Re-solves still allowed (None: no limit)."""
        return None if self.limit is None else max(self.limit - self.count, 0)

    def can(self) -> bool:
        """Whether one more re-solve is allowed."""
        return self.limit is None or self.count < self.limit

    def solve(self, scenario: Scenario, unit: str | None = None) -> tuple[set, float] | None:
        """Re-solve the plan's dataset under ``scenario`` (see :func:`solve_pairs`)."""
        self.count += 1
        return solve_pairs(self.dataset, scenario, self.model, unit)


def separable(options: Options) -> bool:
    """Whether buying units can be re-solved one at a time (no maximin term or rule ties them)."""
    groups = unit_groups(options)
    return len(groups) > 1 and all(len(g) == 1 for g in groups)


@dataclass(frozen=True)
class BreakEvenSearch:
    """One break-even search: an option, its bill, the objective to match, where to solve."""

    scenario: Scenario
    model: str
    unit: str | None
    trust: str
    product: str
    bill_gbp: float
    target: float
    tolerance: float
    max_solves: int | None


def objective_floor(options: Options, plan_pairs: set, plan: Plan) -> float:
    """The plan's objective without the cost tie-break, over the options given."""
    index = options.option_index()
    w = options.table["weighted_benefit_gbp"].to_numpy()
    # sorted: a set iterates in a per-process order, and float sums depend on the order
    total = float(sum(w[index[p]] for p in sorted(plan_pairs) if p in index))
    if options.scenario.maximin_weight_gbp > 0:
        total += options.scenario.maximin_weight_gbp * min(plan.evaluation.min_coverage, 1.0)
    return total


def least_cost_with(options: Options, i: int, unit: str, target: float) -> float | None:
    """Least cost of ``unit`` for a plan with option ``i`` worth at least ``target``.

    The plan's MILP (``build_model``) with option ``i`` forced in, the unit's budget lifted,
    the objective (weighted benefit plus any maximin term) held at ``target`` or more, and
    the unit's cost minimised. Returns None when no plan with the option reaches the target.
    """
    sc = options.scenario
    budgets = options.budgets.copy()
    budgets[unit] = NO_BUDGET_GBP
    model = build_model(options, budgets=budgets)
    model.x[i].lowBound = 1
    w = options.table["weighted_benefit_gbp"].to_numpy()
    pairs = [(model.x[j], float(w[j])) for j in range(len(model.x))]
    if model.min_coverage is not None:
        pairs.append((model.min_coverage, sc.maximin_weight_gbp))
    model.prob.sense = pulp.LpMinimize
    model.prob.setObjective(model.unit_cost[unit])
    model.prob.addConstraint(
        pulp.LpConstraint(pulp.LpAffineExpression(pairs), pulp.LpConstraintGE, "floor", target)
    )
    # HiGHS presolve slows this min-cost form about five-fold on the shipped data (same
    # answers); otherwise the solve is the package's one runner with the scenario's limits
    run = run_solver(model.prob, sc, presolve=False)
    if run.status == Status.INFEASIBLE:
        return None
    if not run.has_plan:
        raise SolverError(
            "the solver stopped before finding the least cost with the option; raise time_limit_s",
            status=run.status.value,
        )
    return float(model.unit_cost[unit].value() or 0.0)


def chosen_with_rebate(options: Options, trust: str, product: str, rebate: float) -> bool:
    """Whether a normal re-solve adopts the option when its bill is ``rebate`` lower.

    Raises:
        SolverError: If the solver stops before deciding (a time-out is not a "no").
    """
    cut = rebate_options(options, trust, product, rebate)
    try:
        res = solve_options(cut)
    except InfeasibleError:
        return False
    return bool(res.mask[cut.option_index()[(trust, product)]])


def search_break_even(
    dataset: Dataset, job: BreakEvenSearch, options: Options | None = None
) -> dict:
    """Break-even factor of one option: a least-cost re-solve, then a confirming re-solve.

    Returns:
        ``{"factor": f* or None, "confirmed": bool, "status": text, "solves": n}``.
    """
    if options is None:
        options = build_options(dataset, job.scenario, job.model)
        if job.unit is not None:
            options = options.for_units([job.unit])
    unit = options.trusts.at[job.trust, "unit"]
    budget = float(options.budgets[unit])
    bill = job.bill_gbp
    i = options.option_index()[(job.trust, job.product)]
    solves = 0

    def allowed() -> bool:
        return job.max_solves is None or solves < job.max_solves

    try:
        solves += 1
        least = least_cost_with(options, i, unit, job.target)
        if least is None or least > budget + max(bill, 0.0) + 0.5:
            return {
                "factor": None,
                "confirmed": False,
                "status": "not chosen even free",
                "solves": 1,
            }
        if bill <= 0:  # nothing to cut: a tie with the plan
            return {
                "factor": 1.0,
                "confirmed": False,
                "status": "a tie at today's price",
                "solves": 1,
            }
        factor = min(max(1.0 - (least - budget) / bill, 0.0), 1.0)
        if not allowed():
            status = "found by a least-cost re-solve; not confirmed (max_resolves)"
            return {"factor": factor, "confirmed": False, "status": status, "solves": solves}
        probe = max(factor - CONFIRM_MARGIN, 0.0)
        solves += 1
        if chosen_with_rebate(options, job.trust, job.product, (1.0 - probe) * bill):
            status = "found by a least-cost re-solve and confirmed"
            return {"factor": factor, "confirmed": True, "status": status, "solves": solves}
        # solver-gap noise: bisection on [0, probe] with normal re-solves
        lo, hi = None, probe
        if allowed():
            solves += 1
            if chosen_with_rebate(options, job.trust, job.product, bill):
                lo = 0.0
        if lo is None:
            status = "not chosen even free (the least-cost estimate was not confirmed)"
            return {"factor": None, "confirmed": False, "status": status, "solves": solves}
        while hi - lo > job.tolerance and allowed():
            mid = (lo + hi) / 2.0
            solves += 1
            if chosen_with_rebate(options, job.trust, job.product, (1.0 - mid) * bill):
                lo = mid
            else:
                hi = mid
        status = f"found by bisection (between {lo:.3f} and {hi:.3f}) and confirmed"
        return {"factor": lo, "confirmed": True, "status": status, "solves": solves}
    except SolverError as exc:  # a time-out decides nothing: say so, never "not chosen"
        status = f"undecided: {exc}"
        return {"factor": None, "confirmed": False, "status": status, "solves": solves}


def search_all(resolver: Resolver, jobs: list, options_for, workers: int = 1) -> list[dict | None]:
    """Run break-even searches; a search the resolver's limit leaves no room for is None.

    Args:
        resolver: Counts the re-solves (its limit bounds the searches in this process).
        jobs: Function of the re-solves left (None: no limit) giving one
            :class:`BreakEvenSearch`, one per option to search.
        options_for: Function of a buying unit (or None) giving the options to solve.
        workers: Worker processes; more than 1 needs a resolver without a limit.
    """
    if workers > 1:
        results = run_jobs(
            search_break_even, resolver.dataset, [j(None) for j in jobs], workers=workers
        )
        resolver.count += sum(r["solves"] for r in results)
        return results
    results: list[dict | None] = []
    for make in jobs:
        left = resolver.left()
        if left == 0:
            results.append(None)
            continue
        job = make(left)
        result = search_break_even(resolver.dataset, job, options_for(job.unit))
        resolver.count += result["solves"]
        results.append(result)
    return results
