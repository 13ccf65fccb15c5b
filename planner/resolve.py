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
- :func:`search_all` runs many searches, one after another or on worker threads.

Four shortcuts leave every result as the full method gives it (``search`` texts included):

- **"Not chosen even free" by a bound.** The least-cost MILP's linear relaxation (solved in
  milliseconds, warm-started) bounds its least cost from below; when even that bound is
  beyond the budget plus the option's whole bill, the MILP would say "not chosen even free"
  and is not run.
- **Confirmation by the plan's bound.** The least-cost re-solve returns its plan ``S``
  (with the option). Just below the threshold ``S`` fits the budget, so the confirming
  re-solve's optimum is worth at least ``S``; any plan *without* the option is a plan of the
  original problem, worth at most the plan's proven bound. When ``S`` beats that bound by
  more than the solver's stopping gap, every plan HiGHS may return with that gap adopts the
  option, and the confirming solve is not run (:func:`confirmed_by_bound`).
- **No repeated solves.** Re-solves are kept in a process-wide cache keyed on what they
  depend on (the dataset's contents, the scenario, the model and buying unit, the option
  and the objective to match), so the value of more money is solved once for all the
  trusts a user asks about, and a trust explained again costs nothing (:func:`clear_cache`).
- **One least-cost model per worker.** The least-cost MILP is built once per buying unit and
  worker, and each search only sets its option's lower bound (restored afterwards): HiGHS
  gets the very model a fresh build gives, so its answers are the same.

HiGHS releases the GIL while it solves, so the re-solves run on worker *threads*
(:func:`run_threads`): no process start-up, no copy of the data, and every solve is the
same single-threaded, seeded HiGHS run whichever thread makes it.

A solver stop that decides nothing (a time-out) is reported as undecided, never as "not
chosen". The sentences that report the results are in :mod:`planner.explain_text`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NamedTuple

import highspy
import numpy as np
import pulp

from planner.data import Dataset
from planner.economics import COST_TIE_BREAK, Options, build_options
from planner.equity_rules import unit_groups
from planner.errors import InfeasibleError, PlannerError, SolverError
from planner.evaluate import evaluate
from planner.model import Model, build_model
from planner.plan import Plan, marginal_value
from planner.scenario import Scenario
from planner.solve import Status, run_solver, solve_options

#: The confirming re-solve is made this far (in price factor) below the threshold.
CONFIRM_MARGIN = 1e-4
#: Stands in for "no budget" for the buying unit of the least-cost re-solve.
NO_BUDGET_GBP = 1e12
#: Re-solves kept by the process-wide cache (oldest dropped first).
CACHE_SIZE = 4096
#: Slack (relative to the objective) allowed for the solvers' tolerances in that proof.
BOUND_SLACK = 1e-6


# --------------------------------------------------------------------------------------------
# The cache of re-solves


class _Cache:
    """A thread-safe least-recently-used map of re-solve results."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key) -> Any:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key, value) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


_CACHE = _Cache(CACHE_SIZE)


def clear_cache() -> None:
    """Forget every cached re-solve (benchmarks call it to time cold explanations)."""
    _CACHE.clear()


def dataset_key(dataset: Dataset) -> str:
    """A digest of the dataset's contents: equal data, equal key (within one process)."""
    digest = hashlib.sha256(dataset.source.encode("utf-8", "replace"))
    for frame in (
        dataset.icss,
        dataset.trusts,
        dataset.products,
        dataset.price_tiers,
        dataset.deployments,
    ):
        digest.update(pickle.dumps(frame, protocol=pickle.HIGHEST_PROTOCOL))
    return digest.hexdigest()


def _copy(value):
    """A copy of a cached result deep enough that callers may change it (dicts and lists)."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


# --------------------------------------------------------------------------------------------
# Worker threads


def run_threads(fn: Callable, items: Sequence, workers: int) -> list:
    """``[fn(item) for item in items]``, on up to ``workers`` threads; results in item order.

    HiGHS releases the GIL while it solves, so solves on two threads use two cores. On
    Ctrl-C (or any exception) the jobs not yet started are dropped and the exception is
    raised at once; the solves already running finish on their own (each is one re-solve).
    """
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    pool = ThreadPoolExecutor(max_workers=min(workers, len(items)), thread_name_prefix="resolve")
    try:
        futures = [pool.submit(fn, item) for item in items]
        results = [f.result() for f in futures]
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return results


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
    """Count re-solves against a limit; with ``cache``, reuse the process's earlier ones."""

    def __init__(
        self,
        dataset: Dataset,
        scenario: Scenario,
        model: str,
        limit: int | None,
        cache: bool = False,
    ):
        self.dataset = dataset
        self.scenario = scenario
        self.model = model
        self.limit = limit
        self.count = 0
        self.key = dataset_key(dataset) if cache else None
        self.cache_hits = 0
        self._lock = threading.Lock()

    def add(self, solves: int) -> None:
        """Count ``solves`` more re-solves (safe from worker threads)."""
        with self._lock:
            self.count += solves

    def cached(self, key: tuple, compute: Callable[[], tuple[Any, int]]) -> Any:
        """The cached result under ``key``, or ``compute()`` (result, solves) counted and kept.

        A result that may come from a solver time-out (no plan, or an undecided search) is
        not kept: asked again, it is solved again.
        """
        full = (self.key, *key) if self.key is not None else None
        if full is not None:
            hit = _CACHE.get(full)
            if hit is not None:
                with self._lock:
                    self.cache_hits += 1
                return _copy(hit[0])
        value, solves = compute()
        self.add(solves)
        if full is not None and _keep(value):
            _CACHE.put(full, (_copy(value),))
        return value

    def left(self) -> int | None:
        """Re-solves still allowed (None: no limit)."""
        return None if self.limit is None else max(self.limit - self.count, 0)

    def can(self) -> bool:
        """Whether one more re-solve is allowed."""
        return self.limit is None or self.count < self.limit

    def solve(self, scenario: Scenario, unit: str | None = None) -> tuple[set, float] | None:
        """Re-solve the plan's dataset under ``scenario`` (see :func:`solve_pairs`)."""
        got = self.cached(
            ("pairs", scenario, self.model, unit),
            lambda: (_frozen(solve_pairs(self.dataset, scenario, self.model, unit)), 1),
        )
        return None if got is None else (set(got[0]), got[1])

    def marginal(self, plan: Plan, step: float) -> dict | None:
        """What the next ``step`` of budget buys (:func:`planner.plan.marginal_value`)."""
        key = (
            "marginal",
            plan.scenario,
            plan.model,
            float(plan.budget_gbp),
            float(step),
            frozenset(zip(plan.adoptions["trust"], plan.adoptions["product"], strict=True)),
            float(plan.benefit_gbp),
            float(plan.objective),
            float(plan.bound),
            str(plan.status),
        )
        return self.cached(key, lambda: (marginal_value(self.dataset, plan, step), 1))

    def search(
        self, job: BreakEvenSearch, options: Options, models: LeastCostModels | None = None
    ) -> dict:
        """One break-even search (:func:`search_break_even`), counted and cached.

        A search with a limit on its solves is never cached: it may have stopped short.
        """

        def compute() -> tuple[dict, int]:
            result = search_break_even(self.dataset, job, options, models)
            return result, result["solves"]

        if job.max_solves is not None:
            result, solves = compute()
            self.add(solves)
            return result
        return self.cached(("search", job), compute)


def _keep(value) -> bool:
    """Whether a result may be reused: not a "no plan" (maybe a time-out) nor undecided."""
    if value is None:
        return False
    return not (isinstance(value, dict) and str(value.get("status", "")).startswith("undecided"))


def _frozen(got: tuple[set, float] | None) -> tuple[frozenset, float] | None:
    return None if got is None else (frozenset(got[0]), got[1])


def separable(options: Options) -> bool:
    """Whether buying units can be re-solved one at a time (no maximin term or rule ties them)."""
    groups = unit_groups(options)
    return len(groups) > 1 and all(len(g) == 1 for g in groups)


@dataclass(frozen=True)
class BreakEvenSearch:
    """One break-even search: an option, its bill, the objective to match, where to solve.

    ``upper`` is a proven upper bound on the objective of any plan *without* the option in
    the solved scope (from the plan's own solve, see :func:`plan_upper_bound`); None leaves
    every threshold to a confirming re-solve.
    """

    scenario: Scenario
    model: str
    unit: str | None
    trust: str
    product: str
    bill_gbp: float
    target: float
    tolerance: float
    max_solves: int | None
    upper: float | None = None


def objective_floor(options: Options, plan_pairs: set, plan: Plan) -> float:
    """The plan's objective without the cost tie-break, over the options given."""
    index = options.option_index()
    w = options.table["weighted_benefit_gbp"].to_numpy()
    # sorted: a set iterates in a per-process order, and float sums depend on the order
    total = float(sum(w[index[p]] for p in sorted(plan_pairs) if p in index))
    if options.scenario.maximin_weight_gbp > 0:
        total += options.scenario.maximin_weight_gbp * min(plan.evaluation.min_coverage, 1.0)
    return total


def plan_upper_bound(
    scope: Options, plan_pairs: set, plan: Plan, whole: bool, scenario: Scenario, model: str
) -> float | None:
    """A proven upper bound on the objective of any plan of ``scope``, from the plan's solve.

    The plan's solve proved ``plan.bound`` for the whole problem. For the whole options
    (``whole``) that is the bound; for one buying unit ``u`` of a separable model it is the
    unit's part of the plan plus the plan's whole gap, since the other units' bounds are at
    least their parts of the plan. None when the plan was not solved under this scenario and
    model or has no finite bound.
    """
    if plan.model != model or plan.scenario != scenario:
        return None
    bound, objective = float(plan.bound), float(plan.objective)
    if not (math.isfinite(bound) and math.isfinite(objective)):
        return None
    if whole:
        return bound
    index = scope.option_index()
    mask = np.zeros(len(scope.table), dtype=bool)
    for p in plan_pairs:
        if p in index:
            mask[index[p]] = True
    part = evaluate(scope, mask, check_rules=False).objective
    return float(part) + max(bound - objective, 0.0)


def confirmed_by_bound(
    options: Options, job: BreakEvenSearch, least: LeastCost, rebate: float
) -> bool:
    """Whether the plan's bound proves that a normal re-solve at ``rebate`` adopts the option.

    ``least`` is the least-cost plan (with the option), every variable as solved. The
    least-cost MILP has every row of the plan's MILP but the unit's budget, so with the
    rebate, if its cost fits the budget, it is a plan of the confirming re-solve, worth
    ``v`` = weighted benefit + maximin term - the cost tie-break: the re-solve's optimum is
    at least ``v``. HiGHS stops with a plan within ``mip_gap`` (relative) of its bound, so it
    returns a plan worth at least ``v - mip_gap x |v|``; every plan without the option is a
    plan of the original problem, worth at most ``job.upper``. If the first exceeds the
    second (with room for the solvers' tolerances), the re-solve adopts the option. False
    only means "not proven".
    """
    if job.upper is None or not math.isfinite(job.upper):
        return False
    unit = options.trusts.at[job.trust, "unit"]
    budget = float(options.budgets[unit])
    if least.cost - rebate > budget - 1e-7 * max(1.0, abs(budget)) - 1e-6:
        return False  # not clearly within the budget: leave it to the re-solve
    value = least.weighted + least.maximin - COST_TIE_BREAK * (least.total_cost - rebate)
    scale = max(1.0, abs(value), abs(job.upper))
    gap = max(float(job.scenario.mip_gap), 0.0)
    return value - (gap + BOUND_SLACK) * scale - 1e-3 > job.upper


class LeastCostModels:
    """The least-cost MILP of each scope, and its linear relaxation, built once per thread.

    Each search sets its option's lower bound to 1, solves, and restores it, so HiGHS is
    handed exactly the model a fresh :func:`least_cost_model` gives. The relaxation (a
    separate HiGHS object, warm-started from one option to the next) gives a lower bound on
    each least cost (:meth:`lower_bound`).
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def _built(self, options: Options, unit: str, target: float) -> list:
        built = getattr(self._local, "models", None)
        if built is None:
            built = self._local.models = {}
        key = (id(options), unit, target)
        if key not in built:
            built[key] = [options, least_cost_model(options, unit, target), None]
        return built[key]

    def get(self, options: Options, unit: str, target: float) -> Model:
        """This thread's least-cost model of ``options`` for ``unit`` and ``target``."""
        return self._built(options, unit, target)[1]

    def lower_bound(self, options: Options, unit: str, target: float, i: int) -> float | None:
        """A lower bound on the least cost with option ``i``: the relaxation's optimum.

        Returns ``inf`` when the relaxation (hence the MILP) is infeasible, None when the
        relaxation did not solve to optimality.
        """
        entry = self._built(options, unit, target)
        model = entry[1]
        if entry[2] is None:
            sc = options.scenario
            solver = pulp.HiGHS(msg=False, mip=False, threads=sc.threads, timeLimit=sc.time_limit_s)
            model.prob.solve(solver)  # also numbers the columns (var.index)
            entry[2] = model.prob.solverModel
        lp = entry[2]
        x = model.x[i]
        low = float(x.lowBound or 0.0)
        up = 1.0 if x.upBound is None else float(x.upBound)
        if up < 1.0:
            return math.inf
        lp.changeColBounds(x.index, 1.0, up)
        try:
            lp.run()
            status = lp.getModelStatus()
            if status == highspy.HighsModelStatus.kInfeasible:
                return math.inf
            if status != highspy.HighsModelStatus.kOptimal:
                return None
            return float(lp.getInfo().objective_function_value)
        finally:
            lp.changeColBounds(x.index, low, up)


def least_cost_model(options: Options, unit: str, target: float) -> Model:
    """The least-cost MILP of ``unit``, with no option forced in yet.

    The plan's MILP with the unit's budget lifted, the objective held at ``target`` or more,
    and the unit's cost minimised.
    """
    sc = options.scenario
    budgets = options.budgets.copy()
    budgets[unit] = NO_BUDGET_GBP
    model = build_model(options, budgets=budgets)
    w = options.table["weighted_benefit_gbp"].to_numpy()
    pairs = [(model.x[j], float(w[j])) for j in range(len(model.x))]
    if model.min_coverage is not None:
        pairs.append((model.min_coverage, sc.maximin_weight_gbp))
    model.prob.sense = pulp.LpMinimize
    model.prob.setObjective(model.unit_cost[unit])
    model.prob.addConstraint(
        pulp.LpConstraint(pulp.LpAffineExpression(pairs), pulp.LpConstraintGE, "floor", target)
    )
    return model


class LeastCost(NamedTuple):
    """A least-cost plan: the unit's cost, the adoptions, and its value as solved."""

    cost: float
    mask: np.ndarray
    weighted: float  # weighted benefit of the adoptions
    maximin: float  # the maximin term (weight x the lowest-coverage variable), 0 if none
    total_cost: float  # cost of every buying unit of the model


def least_cost_plan(
    options: Options, i: int, unit: str, target: float, model: Model | None = None
) -> LeastCost | None:
    """Least cost of ``unit`` for a plan with option ``i`` worth at least ``target``, and its plan.

    The plan's MILP (``build_model``) with option ``i`` forced in, the unit's budget lifted,
    the objective (weighted benefit plus any maximin term) held at ``target`` or more, and
    the unit's cost minimised. ``model`` is a :func:`least_cost_model` of the same options,
    unit and target to reuse. Returns None when no plan with the option reaches the target;
    otherwise the cost and the plan's adoption mask.
    """
    if model is None:
        model = least_cost_model(options, unit, target)
    x = model.x[i]
    low = x.lowBound
    x.lowBound = 1
    try:
        # On this min-cost form HiGHS presolve is about five times slower on the shipped
        # data and its root reduced-cost heuristic about 1.6 times slower, with the same
        # least costs (equal to 1e-12, tests/golden); otherwise the package's one runner
        run = run_solver(model.prob, options.scenario, presolve=False, reduced_cost_heuristic=False)
    finally:
        x.lowBound = low
    if run.status == Status.INFEASIBLE:
        return None
    if not run.has_plan:
        raise SolverError(
            "the solver stopped before finding the least cost with the option; raise time_limit_s",
            status=run.status.value,
        )
    mask = np.array([(v.varValue or 0.0) > 0.5 for v in model.x], dtype=bool)
    w = options.table["weighted_benefit_gbp"].to_numpy()
    maximin = 0.0
    if model.min_coverage is not None:
        maximin = options.scenario.maximin_weight_gbp * float(model.min_coverage.varValue or 0.0)
    return LeastCost(
        float(model.unit_cost[unit].value() or 0.0),
        mask,
        float(w[mask].sum()),
        maximin,
        float(model.cost.value() or 0.0) if model.cost is not None else math.nan,
    )


def least_cost_with(options: Options, i: int, unit: str, target: float) -> float | None:
    """Least cost of ``unit`` for a plan with option ``i`` worth at least ``target``.

    See :func:`least_cost_plan`; returns the cost only, None when no plan reaches the target.
    """
    got = least_cost_plan(options, i, unit, target)
    return None if got is None else got.cost


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
    dataset: Dataset,
    job: BreakEvenSearch,
    options: Options | None = None,
    models: LeastCostModels | None = None,
) -> dict:
    """Break-even factor of one option: a least-cost re-solve, then a confirming re-solve.

    The confirming re-solve is skipped when the plan's bound proves its answer
    (:func:`confirmed_by_bound`, only with ``job.upper``). ``models`` reuses least-cost
    models across searches of the same options.

    With ``models``, the least cost's linear relaxation settles "not chosen even free"
    without the MILP when its bound is already too dear.

    Returns:
        ``{"factor": f* or None, "confirmed": bool, "status": text, "solves": n}``, and
        ``"by": "bound"`` when a bound stood in for a solve (the outcome is the one the solve
        would give).
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

    free = {"factor": None, "confirmed": False, "status": "not chosen even free"}
    too_dear = budget + max(bill, 0.0) + 0.5  # least cost above this: not chosen even free
    try:
        model = None
        if models is not None:
            model = models.get(options, unit, job.target)
            lower = models.lower_bound(options, unit, job.target, i)
            if lower is not None and (
                math.isinf(lower) or lower - BOUND_SLACK * max(1.0, abs(lower)) > too_dear
            ):
                return {**free, "solves": 0, "by": "bound"}
        solves += 1
        got = least_cost_plan(options, i, unit, job.target, model)
        least = None if got is None else got.cost
        if least is None or least > too_dear:
            return {**free, "solves": 1}
        if bill <= 0:  # nothing to cut: a tie with the plan
            return {
                "factor": 1.0,
                "confirmed": False,
                "status": "a tie at today's price",
                "solves": 1,
            }
        factor = min(max(1.0 - (least - budget) / bill, 0.0), 1.0)
        probe = max(factor - CONFIRM_MARGIN, 0.0)
        if confirmed_by_bound(options, job, got, (1.0 - probe) * bill):
            status = "found by a least-cost re-solve and confirmed"
            return {
                "factor": factor,
                "confirmed": True,
                "status": status,
                "solves": 1,
                "by": "bound",
            }
        if not allowed():
            status = "found by a least-cost re-solve; not confirmed (max_resolves)"
            return {"factor": factor, "confirmed": False, "status": status, "solves": solves}
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
        resolver: Counts the re-solves (its limit bounds the searches); with its cache on,
            a search made before in this process (same data and search) is not made again.
        jobs: Function of the re-solves left (None: no limit) giving one
            :class:`BreakEvenSearch`, one per option to search.
        options_for: Function of a buying unit (or None) giving the options to solve.
        workers: Worker threads; more than 1 needs a resolver without a limit.
    """
    models = LeastCostModels()

    def run(job: BreakEvenSearch) -> dict:
        return resolver.search(job, options_for(job.unit), models)

    if workers > 1:
        if resolver.limit is not None:
            raise ValueError("worker threads need a resolver without a limit")
        return run_threads(run, [make(None) for make in jobs], workers)
    results: list[dict | None] = []
    for make in jobs:
        left = resolver.left()
        if left == 0:
            results.append(None)
            continue
        results.append(run(make(left)))
    return results
