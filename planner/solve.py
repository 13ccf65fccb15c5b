"""Solve a built MILP with HiGHS and read the solution back; explain infeasible scenarios.

Solving returns a :class:`SolveResult` (the adoption mask and the solver's status, gap and
time) and never hands solver objects to callers. A scenario with no feasible plan raises
:class:`InfeasibleError` naming what cannot be met; a solver that stops without any plan
raises :class:`SolverError`.
"""

from __future__ import annotations

import dataclasses
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum

import highspy
import numpy as np
import pandas as pd
import pulp

from planner.economics import COST_TIE_BREAK, Options, coverage_share
from planner.equity_rules import COVERAGE_TOLERANCE, coverage_rules, has_rules, unit_groups
from planner.errors import InfeasibleError, SolverError
from planner.formatting import join_words, pounds, use_case_name
from planner.model import build_model, lock_rows


@dataclass(frozen=True)
class SolveResult:
    """What a solve produced.

    Attributes:
        mask: Boolean adoption mask over the options table.
        status: ``optimal``, ``time_limit`` (a feasible plan, possibly not optimal) or
            ``gap_reached``.
        gap: Relative gap between the plan and the best bound (0 when proven optimal).
        objective: The solver's objective value.
        bound: The best bound on the objective.
        build_seconds: Time to build the MILP.
        solve_seconds: Time HiGHS took.
        n_variables: Columns of the MILP.
        n_constraints: Rows of the MILP.
    """

    mask: np.ndarray
    status: str
    gap: float
    objective: float
    bound: float
    build_seconds: float
    solve_seconds: float
    n_variables: int
    n_constraints: int


class Status(StrEnum):
    """What a solver run ended with."""

    OPTIMAL = "optimal"  # proven optimal (within a rounding of zero gap)
    GAP_REACHED = "gap_reached"  # stopped at the scenario's mip_gap with a plan
    TIME_LIMIT = "time_limit"  # stopped at the time limit with a plan
    NO_PLAN = "no_plan"  # stopped at the time limit before any plan
    INFEASIBLE = "infeasible"  # no plan meets the constraints
    UNBOUNDED = "unbounded"
    EMPTY = "empty"  # nothing to decide: no variables
    ERROR = "error"  # any other stop


#: Statuses that come with a plan to read.
PLAN_STATUSES = frozenset({Status.OPTIMAL, Status.GAP_REACHED, Status.TIME_LIMIT, Status.EMPTY})


def has_plan(status) -> pd.Series | bool:
    """Whether a status (or each status of a Series, e.g. a batch table's) came with a plan."""
    if isinstance(status, pd.Series):
        return status.isin([s.value for s in PLAN_STATUSES])
    return status in PLAN_STATUSES


def combined_status(statuses) -> str:
    """The status of a plan solved in parts: the weakest of its parts' plan statuses.

    A part stopped at the time limit makes the whole ``time_limit``; else one stopped at
    the gap makes it ``gap_reached``; else it is ``optimal``.
    """
    statuses = set(statuses)
    for weaker in (Status.TIME_LIMIT, Status.GAP_REACHED):
        if weaker in statuses:
            return weaker.value
    return Status.OPTIMAL.value


@dataclass(frozen=True)
class SolverRun:
    """The outcome of one solver run: status, objective, best bound, gap and time."""

    status: Status
    objective: float
    bound: float
    gap: float
    seconds: float
    n_variables: int
    n_constraints: int
    detail: str = ""

    @property
    def has_plan(self) -> bool:
        """Whether the run ended with a plan whose values can be read."""
        return self.status in PLAN_STATUSES


def highs_settings(
    scenario,
    *,
    time_limit_s: float | None = None,
    mip_gap: float | None = None,
    presolve: bool = True,
    reduced_cost_heuristic: bool = True,
    shifting: bool = False,
) -> dict:
    """The settings every HiGHS run of the package is given (as ``pulp.HiGHS`` arguments).

    Time limit, gap and threads are the scenario's unless given; the seed is fixed, so runs
    are reproducible.
    """
    settings = {
        "msg": False,
        "timeLimit": scenario.time_limit_s if time_limit_s is None else time_limit_s,
        "gapRel": scenario.mip_gap if mip_gap is None else mip_gap,
        "threads": scenario.threads,
        "random_seed": 0,
    }
    if not presolve:
        settings["presolve"] = "off"
    if not reduced_cost_heuristic:
        settings["mip_heuristic_run_root_reduced_cost"] = False
    if shifting:
        settings["mip_heuristic_run_shifting"] = True
    return settings


#: Plan MILPs with at least this many options also run HiGHS's shifting heuristic.
SHIFTING_FROM_OPTIONS = 20_000


def plan_settings(options: Options) -> dict:
    """:func:`highs_settings` keywords for the plan MILP of ``options`` (by its size).

    On a large plan MILP HiGHS's root bound is close at once and the time goes in finding a
    plan: on the central model of 800 trusts x 60 products (about 26,000 options) the
    shifting heuristic finds one within 0.34% straight after the root LP, where without it
    the root reduced-cost sub-MIP spent about 27 of 32 CPU seconds. On small models it
    costs a second or two and only changes the gap reported, so it is kept for large ones
    (every shipped dataset and README example is below :data:`SHIFTING_FROM_OPTIONS`).
    """
    return {"shifting": len(options.table) >= SHIFTING_FROM_OPTIONS}


def load_highs(prob: pulp.LpProblem, settings: dict) -> pulp.HiGHS:
    """Hand ``prob`` to a new HiGHS model with ``settings``, not yet run: PuLP's own transfer.

    The model is ``prob.solverModel``; the problem's variables and rows are numbered as its
    columns and rows (``var.index``, ``constraint.index``). Returns PuLP's solver, which
    reads a solution back into the problem.
    """
    solver = pulp.HiGHS(**settings)
    solver.createAndConfigureSolver(prob)
    solver.buildSolverModel(prob)
    return solver


def run_solver(prob: pulp.LpProblem, scenario, **settings) -> SolverRun:
    """Solve ``prob`` with HiGHS under the scenario's limits; the one place a problem is solved.

    ``settings`` are :func:`highs_settings`' keywords (``time_limit_s``, ``mip_gap``,
    ``presolve``, ``reduced_cost_heuristic``). The problem goes to HiGHS as ``prob.solve``
    hands it over, runs through :func:`run_highs`, and a plan's values are read back into
    the problem. Every caller reads the typed :class:`SolverRun`, never HiGHS codes; its
    ``seconds`` cover the hand-over, the run and the read-back, and its objective is
    PuLP's value of the problem's objective at the plan.

    Raises:
        KeyboardInterrupt: On Ctrl-C during a solve on the main thread: HiGHS stops within
            about a second instead of running on to the time limit (see
            :func:`_stop_on_ctrl_c`).
    """
    options = highs_settings(scenario, **settings)
    start = time.perf_counter()
    # HiGHS prints a banner on stdout even with msg=False; the library leaves it there (no
    # process-wide redirect per solve: the app serves many sessions in one process). The
    # command line silences it once for its whole process (planner.cli.run).
    was_none, dummy = prob.fixObjective()  # as prob.solve: a constant objective gets a column
    try:
        solver = load_highs(prob, options)

        def read_back() -> float:
            prob.assignStatus(*solver.findSolutionValues(prob))
            return float(prob.objective.value() or 0.0)

        run = run_highs(
            prob.solverModel,
            maximise=prob.sense == pulp.LpMaximize,
            start=lambda: solver.callSolver(prob),
            plan_objective=read_back,
        )
    finally:
        prob.restoreObjective(was_none, dummy)
    return dataclasses.replace(run, seconds=time.perf_counter() - start)


def run_highs(
    highs: highspy.Highs,
    *,
    maximise: bool = True,
    time_limit_s: float | None = None,
    start: Callable[[], object] | None = None,
    plan_objective: Callable[[], float] | None = None,
) -> SolverRun:
    """Run a built HiGHS model and read how it ended: the one place HiGHS statuses are read.

    Ctrl-C stops the run as :func:`_stop_on_ctrl_c` says. ``maximise``: the model is a
    maximisation handed over negated (PuLP hands HiGHS the negated objective of a
    maximisation), so the objective and bound are negated back. ``time_limit_s`` sets the
    run's time limit (default: as set). ``start`` starts the run (default ``highs.run``;
    :func:`run_solver` passes PuLP's, which the benchmarks time). ``plan_objective`` gives
    the objective once the run has a plan (default: HiGHS's own).
    """
    if time_limit_s is not None:
        highs.setOptionValue("time_limit", float(time_limit_s))
    begin = time.perf_counter()
    with _stop_on_ctrl_c(highs):
        (start or highs.run)()
    seconds = time.perf_counter() - begin
    code = highs.getModelStatus()
    size = (int(highs.getNumCol()), int(highs.getNumRow()))
    S = highspy.HighsModelStatus
    nan = float("nan")
    if code == S.kModelEmpty:
        return SolverRun(Status.EMPTY, 0.0, 0.0, 0.0, seconds, *size)
    if code in (S.kInfeasible, S.kUnboundedOrInfeasible):
        return SolverRun(Status.INFEASIBLE, nan, nan, nan, seconds, *size)
    if code == S.kUnbounded:
        return SolverRun(Status.UNBOUNDED, nan, nan, nan, seconds, *size)
    info = highs.getInfo()
    has_plan = info.primal_solution_status == 2  # kSolutionStatusFeasible
    if code == S.kOptimal:
        status = Status.OPTIMAL
    elif code == S.kTimeLimit:
        status = Status.TIME_LIMIT if has_plan else Status.NO_PLAN
    else:
        status = Status.ERROR
    detail = highs.modelStatusToString(code)
    if status not in PLAN_STATUSES:
        return SolverRun(status, nan, nan, nan, seconds, *size, detail)
    sign = -1.0 if maximise else 1.0
    if plan_objective is None:
        objective = sign * float(info.objective_function_value)
    else:
        objective = plan_objective()
    bound = sign * float(info.mip_dual_bound)
    gap = float(info.mip_gap) if np.isfinite(info.mip_gap) else nan
    if status == Status.OPTIMAL and gap > 1e-9:
        status = Status.GAP_REACHED
    if status == Status.OPTIMAL:
        gap, bound = 0.0, objective
    return SolverRun(status, objective, bound, gap, seconds, *size, detail)


#: The HiGHS callbacks that may stop a solve: the MIP search, simplex and interior point.
_INTERRUPT_CALLBACKS = (
    highspy.cb.HighsCallbackType.kCallbackMipInterrupt,
    highspy.cb.HighsCallbackType.kCallbackSimplexInterrupt,
    highspy.cb.HighsCallbackType.kCallbackIpmInterrupt,
)
#: Those of a MIP: its search checks for a stop at every node. The simplex callback runs
#: Python at every few iterations of every node's LP, which made HiGHS about 12% slower on
#: the default ICS; without it a Ctrl-C during the root LP waits for the root LP to end.
_MIP_INTERRUPT_CALLBACKS = (
    highspy.cb.HighsCallbackType.kCallbackMipInterrupt,
    highspy.cb.HighsCallbackType.kCallbackIpmInterrupt,
)


def _interrupt_callbacks(highs: highspy.Highs) -> tuple:
    """The interrupt callbacks to start for the model in ``highs`` (a MIP's or an LP's)."""
    integrality = highs.getLp().integrality_
    mip = any(k != highspy.HighsVarType.kContinuous for k in integrality)
    return _MIP_INTERRUPT_CALLBACKS if mip else _INTERRUPT_CALLBACKS


def ctrl_c_is_ours() -> bool:
    """Whether Ctrl-C is this process's plain KeyboardInterrupt, raised on this thread.

    True on the main thread while SIGINT has Python's default handler (the command line);
    False in the app's worker threads or when a host program handles SIGINT itself. Only
    then may a solve or a pool of workers change how SIGINT is handled, for its duration.
    """
    return (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    )


def _interrupt_when_set(callback_type, message, data_out, data_in, stop: threading.Event):
    """HiGHS interrupt callback: ask the solver to stop once ``stop`` is set."""
    if data_in is not None and stop.is_set():
        data_in.user_interrupt = True


@contextmanager
def _stop_on_ctrl_c(highs: highspy.Highs) -> Iterator[None]:
    """Let Ctrl-C stop a run of ``highs``: the run ends early and KeyboardInterrupt is raised.

    HiGHS runs in C++ and Python runs a SIGINT handler only when the run returns, so on its
    own a Ctrl-C waits for the whole run (up to the time limit). On the main thread, while
    SIGINT has Python's default handler (the command line), a handler that sets an event
    replaces it for the run, and the model's interrupt callbacks (which run Python, so the
    handler runs too) see the event and stop the run; KeyboardInterrupt is raised when it
    returns. The callbacks are stopped afterwards, so a model run again elsewhere is not
    interrupted. Elsewhere (the app's worker threads, SIGINT ignored or handled by the
    host) nothing is touched.
    """
    if not ctrl_c_is_ours():
        yield
        return
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    highs.setCallback(_interrupt_when_set, stop)
    kinds = _interrupt_callbacks(highs)
    for kind in kinds:
        highs.startCallback(kind)
    try:
        yield
    finally:
        for kind in kinds:
            highs.stopCallback(kind)
        signal.signal(signal.SIGINT, previous)
    if stop.is_set():
        raise KeyboardInterrupt


def solve_parts(options: Options) -> list[tuple[list, Options]]:
    """The parts a plan is solved in: (buying units, their options), in order.

    Buying units that share no constraint (see :func:`planner.equity_rules.unit_groups`)
    are solved on their own and the plans put together. One group is the whole options;
    of several, a group with no options and nothing to check (no locks or rules) is left
    out.
    """
    groups = unit_groups(options)
    if len(groups) == 1:
        return [(groups[0], options)]
    parts = [(group, options.for_units(group)) for group in groups]
    return [(g, part) for g, part in parts if len(part.table) or _needs_solve(part)]


def time_left(deadline: float) -> float:
    """Seconds a part of a plan solved in parts may take: to the deadline, at least 0.5."""
    return max(deadline - time.perf_counter(), 0.5)


def solve_options(options: Options) -> SolveResult:
    """Build and solve the plan MILP for ``options``.

    Buying units that share no constraint (see :func:`planner.equity_rules.unit_groups`:
    a maximin term ties all trusts, a Core20 floor ties the trusts of an ICS) are solved
    on their own and the plans put together (:func:`solve_parts`): the same optimum, found
    much faster for the ICS model of a national dataset. The time limit covers the whole
    solve.

    Raises:
        InfeasibleError: If no plan meets the scenario (with the reasons).
        SolverError: If the solver stops without a feasible plan.
    """
    split = solve_parts(options)
    if len(split) == 1 and split[0][1] is options:  # one group: the whole options
        return _solve_single(options, options.scenario.time_limit_s)
    deadline = time.perf_counter() + options.scenario.time_limit_s
    mask = np.zeros(len(options.table), dtype=bool)
    parts, reasons = [], []
    for group, part in split:
        try:
            res = _solve_single(part, time_left(deadline))
        except InfeasibleError as exc:
            reasons += exc.reasons
            continue
        if len(part.table):
            mask[options.rows_of(group)] = res.mask
        parts.append(res)
    if reasons:
        raise InfeasibleError(reasons)
    objective = sum(p.objective for p in parts)
    bound = sum(p.bound for p in parts)
    status = combined_status(p.status for p in parts)
    return SolveResult(
        mask,
        status,
        max(bound - objective, 0.0) / max(abs(objective), 1e-9),
        objective,
        bound,
        sum(p.build_seconds for p in parts),
        sum(p.solve_seconds for p in parts),
        sum(p.n_variables for p in parts),
        sum(p.n_constraints for p in parts),
    )


def _needs_solve(options: Options) -> bool:
    """Whether a unit with no options still has something to check (locks or rules)."""
    return bool(options.scenario.locks) or has_rules(options)


def _solve_single(options: Options, time_limit_s: float) -> SolveResult:
    sc = options.scenario
    start = time.perf_counter()
    model = build_model(options)
    build_seconds = time.perf_counter() - start
    run = run_solver(model.prob, sc, time_limit_s=time_limit_s, **plan_settings(options))
    if run.status == Status.INFEASIBLE:
        raise InfeasibleError(diagnose(options))
    if run.status == Status.EMPTY:  # nothing to decide: the empty plan
        n = len(options.table)
        return SolveResult(
            np.zeros(n, dtype=bool), "optimal", 0.0, 0.0, 0.0, build_seconds, run.seconds, 0, 0
        )
    if not run.has_plan:
        raise SolverError(
            f"the solver stopped ({run.detail or run.status.value}) without a feasible plan; "
            "raise time_limit_s or simplify the scenario",
            status=run.status.value,
        )
    mask = np.array([(v.varValue or 0.0) > 0.5 for v in model.x], dtype=bool)
    return SolveResult(
        mask,
        run.status.value,
        max(run.gap, 0.0) if np.isfinite(run.gap) else float("nan"),
        run.objective,
        run.bound,
        build_seconds,
        run.seconds,
        run.n_variables,
        run.n_constraints,
    )


def diagnose(options: Options) -> list[str]:
    """Say why no plan meets the scenario: locks that clash, floors out of reach, or money.

    Checks, in order: locks that break capacity, one-per-use-case or prerequisites on their
    own; coverage floors that no plan can reach whatever the money; then the least money the
    locks and floors need in each buying unit against its budget.
    """
    t = options.table
    names = options.names
    reasons: list[str] = []
    forced_in, forced_out = lock_rows(options)
    locked = t.loc[forced_in]
    for tc, n in locked.groupby("trust").size().items():
        cap = int(options.trusts.loc[tc, "it_capacity"])
        if n > cap:
            reasons.append(
                f"locks force {n} products at {names.trust_label(tc)}, over its IT capacity {cap}"
            )
    for (tc, uc), n in locked.groupby(["trust", "use_case"]).size().items():
        if n > 1:
            reasons.append(
                f"locks force {n} products for {use_case_name(uc)} at {names.trust_label(tc)}"
            )
    out_keys = {(t.at[i, "trust"], t.at[i, "product"]) for i in forced_out}
    for tc, pc, pre in zip(locked["trust"], locked["product"], locked["prerequisite"], strict=True):
        if pre and (tc, pre) in out_keys:
            reasons.append(
                f"lock forces {names.product_label(pc)} at {names.trust_label(tc)} but its "
                f"prerequisite {names.product_label(pre)} is locked out"
            )
    if reasons:
        return reasons

    extra = shortfall(options)
    if extra is None:
        if has_rules(options):
            reasons += _rules_out_of_reach(options)
            if not reasons:
                reasons.append(
                    "the coverage floor, Core20 parity or minimum adoptions cannot be met "
                    "together with the locks, IT capacity and prerequisites"
                )
        else:
            reasons.append(
                "the locks cannot be met together with IT capacity, use cases and prerequisites"
            )
        return reasons
    what = what_binds(options)
    for group in unit_groups(options):
        more = float(extra[group].sum())
        if more <= 0.5:
            continue
        if len(group) == 1:
            budget = float(options.budgets[group[0]])
            reasons.append(
                f"{what} alone cost at least {pounds(budget + more)} in "
                f"{options.names.unit_label(group[0])}, more than its budget {pounds(budget)}"
            )
        else:
            reasons.append(
                f"meeting {what} takes at least {pounds(more)} more than the budgets of "
                f"{join_words([options.names.unit_label(u) for u in group])} allow between "
                "them (the rule spans them)"
            )
    if not reasons:
        reasons.append("the scenario's constraints cannot all be met together")
    return reasons


def what_binds(options: Options) -> str:
    """Name the locks and fairness rules a scenario sets, in words ('the locks and ...')."""
    sc = options.scenario
    parts = [
        name
        for name, on in (
            ("the locks", bool(sc.locks)),
            ("the coverage floor", sc.coverage_floor > 0),
            ("Core20 parity", sc.core20_parity),
            ("the minimum adoptions", sc.min_adoptions_per_trust > 0),
        )
        if on
    ]
    return join_words(parts) if parts else "the locks"


def shortfall(options: Options) -> pd.Series | None:
    """Least extra money each buying unit needs for the locks and fairness rules.

    A minimum-overspend solve: each unit may spend ``budget[u] + s[u]`` with ``s[u] >= 0``
    and ``sum_u s[u]`` is minimised (then cost, to break ties). For a unit on its own,
    ``budget + s`` is the least its locks and rules cost. Units a rule ties together can
    cover for one another, so for them only the group's total is meaningful.

    Returns:
        ``s`` per buying unit, or None when no amount of money meets the locks and rules.
    """
    model = build_model(options, budgets=None, minimise_cost=True)
    prob = model.prob
    units = list(model.unit_cost)
    over = prob.add_variable_dict("overspend", units, lowBound=0)
    for unit, expr in model.unit_cost.items():
        row = expr.copy()
        row.addterm(over[unit], -1.0)
        prob.addConstraint(
            pulp.LpConstraint(
                row, pulp.LpConstraintLE, f"budget[{unit}]", float(options.budgets[unit])
            )
        )
    objective = pulp.LpAffineExpression([(over[u], 1.0) for u in units])
    prob.setObjective(objective + COST_TIE_BREAK * model.cost)
    run = run_solver(prob, options.scenario, mip_gap=1e-9)
    if run.status == Status.INFEASIBLE:
        return None
    if not run.has_plan:
        raise SolverError(
            f"the solver stopped ({run.detail or run.status.value}) before finding the least "
            "money the scenario needs; raise time_limit_s",
            status=run.status.value,
        )
    return pd.Series({u: max(float(over[u].varValue or 0.0), 0.0) for u in units}, dtype=float)


def best_coverage(options: Options) -> pd.Series:
    """The most coverage each trust could reach whatever the money.

    Its largest product per use case, best first, up to its IT capacity (an upper bound:
    prerequisites and platforms are ignored).
    """
    t = options.table
    tr = options.trusts
    best = t.groupby(["trust", "use_case"])["studies_per_year"].max()
    extra = pd.Series(
        {
            tc: float(
                best.get(tc, pd.Series(dtype=float))
                .sort_values(ascending=False)
                .head(int(tr.at[tc, "it_capacity"]))
                .sum()
            )
            for tc in tr.index
        },
        index=tr.index,
        dtype=float,
    )
    return coverage_share(tr["existing_studies"] + extra, tr["addressable_studies"])


def _rules_out_of_reach(options: Options) -> list[str]:
    """Coverage rules that no plan can meet whatever the money."""
    reach = best_coverage(options)
    reasons = []
    for rule in coverage_rules(options):
        if rule.kind == "core20_parity":
            continue  # full coverage everywhere meets parity: never out of reach alone
        best = rule.value(reach)
        if best < rule.rhs - COVERAGE_TOLERANCE:
            if rule.kind == "floor":
                cap = int(options.trusts.at[rule.scope, "it_capacity"])
                who = (
                    f"{options.names.trust_label(rule.scope)} can cover at most {best:.1%} of its "
                    "studies (IT "
                    f"capacity {cap}, catalogue under {options.model})"
                )
            else:
                who = (
                    f"the Core20 people of {options.names.ics_label(rule.scope)} can get at most "
                    f"{best:.1%} coverage "
                    f"(its trusts' IT capacity, catalogue under {options.model})"
                )
            reasons.append(f"{who}, below the coverage floor {rule.rhs:.0%}")
    return reasons
