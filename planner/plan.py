"""Turn a solve into a Plan: adoptions, per-trust and per-ICS summaries, equity, baselines.

:func:`solve` is the one call the command line and the app make: it builds the options,
solves the MILP, scores the result with the evaluator (and checks the two agree), and adds
the greedy baseline, the unweighted base case (when equity settings are on) and the value
of more budget.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from planner.data import Dataset
from planner.deprivation import QUINTILES, SHARE_COLUMNS, core20_label, fifth_label
from planner.economics import Options, build_options, coverage_share
from planner.equity import equity_metrics
from planner.equity_rules import COVERAGE_TOLERANCE, coverage_rules
from planner.errors import InfeasibleError, PlannerError, SolverError
from planner.evaluate import Evaluation, evaluate
from planner.formatting import pair_list
from planner.greedy import greedy_plan
from planner.scenario import COMPARED, Scenario
from planner.solve import solve_options


@dataclass
class Plan:
    """An adoption plan under one procurement model, with everything needed to explain it."""

    model: str
    scenario: Scenario
    status: str
    gap: float
    objective: float
    bound: float
    budget_gbp: float
    evaluation: Evaluation
    adoptions: pd.DataFrame
    trusts: pd.DataFrame
    icss: pd.DataFrame
    units: pd.DataFrame
    equity: dict
    greedy: dict
    base_case: dict | None
    marginal: dict | None
    binding: dict
    solver: dict
    timings: dict = field(default_factory=dict)

    @property
    def cost_gbp(self) -> float:
        """Total present-value cost of the plan."""
        return self.evaluation.cost_gbp

    @property
    def benefit_gbp(self) -> float:
        """Total present-value benefit of the plan, unweighted."""
        return self.evaluation.benefit_gbp

    def _headline(self) -> dict:
        """The figures that open both the JSON plan and its one-row summary, in that order."""
        return {
            "model": self.model,
            "status": self.status,
            "gap": self.gap,
            "budget_gbp": self.budget_gbp,
            "cost_gbp": self.cost_gbp,
            "benefit_gbp": self.benefit_gbp,
            "weighted_benefit_gbp": self.evaluation.weighted_benefit_gbp,
        }

    def to_dict(self, include_timings: bool = False) -> dict:
        """Return the plan as plain data (the JSON plan).

        Wall-clock times are left out unless asked for, so the same data and scenario give
        the same JSON byte for byte.
        """
        out = {
            **self._headline(),
            "objective": self.objective,
            "bound": self.bound,
            "adoptions": _records(self.adoptions),
            "trusts": _records(self.trusts),
            "icss": _records(self.icss),
            "buying_units": _records(self.units),
            "equity": self.equity,
            "greedy": self.greedy,
            "base_case": self.base_case,
            "marginal": self.marginal if self.marginal is not None else {"computed": False},
            "binding": self.binding,
            "solver": self.solver,
            "scenario": self.scenario.to_dict(),
        }
        if include_timings:
            out["timings"] = self.timings
        return clean(out)

    def summary(self) -> dict:
        """Key figures in one flat row (for comparisons and sweeps)."""
        eq = self.equity
        return {
            **self._headline(),
            "net_benefit_gbp": self.benefit_gbp - self.cost_gbp,
            "adoptions": len(self.adoptions),
            "trusts_with_new_adoptions": eq["trusts_with_new_adoptions"],
            "coverage": eq["coverage"],
            "min_coverage": eq["min_coverage"],
            "population_coverage": eq["population_coverage"],
            "core20_coverage": eq["core20_coverage"],
            **{
                f"coverage_q{q}": (eq["by_imd_quintile"].get(str(q)) or {}).get("coverage")
                for q in QUINTILES
            },
            "trusts_without_new_adoptions": len(eq["trusts_without_new_adoptions"]),
            "gini_benefit_per_capita": eq["gini_benefit_per_capita"],
            "concentration_index": eq["concentration_index"],
            "mean_go_live_months": _mean_go_live(self.adoptions),
            "greedy_benefit_gbp": self.greedy.get("benefit_gbp"),
            "gain_over_greedy_gbp": self.greedy.get("gain_gbp"),
            "marginal_benefit_per_gbp": (self.marginal or {}).get("benefit_per_gbp"),
        }


def equity_table(equity: dict, reference: str = "national") -> pd.DataFrame:
    """The equity metrics by national IMD fifth, one row each, plus a Core20 and an all row.

    The same figures as the JSON plan's ``equity`` (coverage of the people in each fifth,
    benefit per head), as a table for the CSV and Excel exports.
    """
    rows = [
        {
            "group": fifth_label(q, reference),
            "people": v["population"],
            "trusts": v["trusts"],
            "coverage": v["coverage"],
            "benefit_per_capita_gbp": v["benefit_per_capita_gbp"],
        }
        for q, v in sorted(equity["by_imd_quintile"].items())
    ]
    rows.append(
        {
            "group": core20_label(reference),
            "people": equity["core20_population"],
            "coverage": equity["core20_coverage"],
        }
    )
    rows.append({"group": "all people", "coverage": equity["population_coverage"]})
    return pd.DataFrame(
        rows, columns=["group", "people", "trusts", "coverage", "benefit_per_capita_gbp"]
    )


def _mean_go_live(adoptions: pd.DataFrame) -> float | None:
    """Benefit-weighted mean months to go-live (the time to benefit)."""
    if adoptions.empty or adoptions["benefit_gbp"].sum() <= 0:
        return None
    w = adoptions["benefit_gbp"]
    return float((adoptions["go_live_months"] * w).sum() / w.sum())


def clean(value):
    """Make plain data JSON-safe and reproducible: numpy to Python, floats rounded, NaN to None."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        v = float(value)
        if not math.isfinite(v):
            return None
        return round(v, 6) + 0.0  # + 0.0 turns -0.0 into 0.0
    return value


def _records(frame: pd.DataFrame) -> list[dict]:
    return [clean(r) for r in frame.to_dict(orient="records")]


def _adoption_table(ev: Evaluation, dataset: Dataset) -> pd.DataFrame:
    a = ev.adoptions
    trust = a["trust"].to_numpy()
    product = a["product"].to_numpy()
    use_case = a["use_case"].to_numpy()
    order = sorted(range(len(a)), key=lambda i: (trust[i], use_case[i], product[i]))
    trust_name = dict(zip(dataset.trusts.index, dataset.trusts["trust_name"], strict=True))
    product_name = dict(zip(dataset.products.index, dataset.products["product_name"], strict=True))
    cost = a["cost_gbp"].to_numpy(float)
    benefit = a["benefit_gbp"].to_numpy(float)
    paid = cost > 0
    per_gbp = np.divide(benefit, cost, out=np.full(len(a), np.nan), where=paid)
    columns = {
        "trust": trust,
        "trust_name": np.array([trust_name.get(x, np.nan) for x in trust], dtype=object),
        "ics": a["ics"].to_numpy(),
        "product": product,
        "product_name": np.array([product_name.get(x, np.nan) for x in product], dtype=object),
        "use_case": use_case,
        "buying_unit": a["unit"].to_numpy(),
        "studies_per_year": a["studies_per_year"].to_numpy(),
        "tier": a["tier"].astype(int).to_numpy() if len(a) else a.get("tier"),
        "price_per_study_gbp": a["price_per_study_gbp"].to_numpy(),
        "go_live_months": a["go_live_months"].to_numpy(),
        "cost_gbp": cost,
        "benefit_gbp": benefit,
        "weighted_benefit_gbp": a["weighted_benefit_gbp"].to_numpy(),
        "annual_benefit_gbp": a["annual_benefit_gbp"].to_numpy(),
        "benefit_per_gbp": per_gbp,
    }
    return pd.DataFrame({k: np.asarray(v)[order] for k, v in columns.items()})


def _trust_table(ev: Evaluation, dataset: Dataset) -> pd.DataFrame:
    t = ev.trusts
    out = pd.DataFrame(
        {
            "trust": t.index,
            "trust_name": dataset.trusts["trust_name"].reindex(t.index).to_numpy(),
            "ics": t["ics"].to_numpy(),
            "population": t["population"].astype(int).to_numpy(),
            "imd_score": t["imd_score"].to_numpy(),
            "imd_quintile": t["imd_quintile"].astype(int).to_numpy(),
            "core20_share": t["core20_share"].to_numpy(),
            "core20_population": t["core20_population"].to_numpy(),
            **{col: t[col].to_numpy() for col in SHARE_COLUMNS},
            "equity_weight": t["equity_weight"].to_numpy(),
            "it_capacity": t["it_capacity"].to_numpy(),
            "adoptions": t["adoptions"].to_numpy(),
            "platform_bought": t["platform_bought"].to_numpy(),
            "cost_gbp": t["cost_gbp"].to_numpy(),
            "benefit_gbp": t["benefit_gbp"].to_numpy(),
            "benefit_per_capita_gbp": (t["benefit_gbp"] / t["population"]).to_numpy(),
            "addressable_studies": t["addressable_studies"].to_numpy(),
            "covered_studies": t["covered_studies"].to_numpy(),
            "coverage": t["coverage"].to_numpy(),
        }
    )
    return out.reset_index(drop=True)


def _ics_table(trusts: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
    # one pandas group sum for every summed column (the same float sums as ever)
    sums = trusts.groupby("ics", sort=True)[
        ["population", "adoptions", "cost_gbp", "benefit_gbp", "covered_studies"]
        + ["addressable_studies"]
    ].sum()
    position = {c: i for i, c in enumerate(sums.index)}
    label = np.array([position[c] for c in trusts["ics"].tolist()], dtype=int)
    lowest = np.full(len(sums), np.nan)
    for g, value in zip(label.tolist(), trusts["coverage"].to_numpy(float).tolist(), strict=True):
        if value == value and not value >= lowest[g]:  # the smallest, NaN skipped
            lowest[g] = value
    names = dict(zip(dataset.icss.index, dataset.icss["ics_name"], strict=True))
    population = sums["population"].to_numpy()
    benefit = sums["benefit_gbp"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):  # as pandas: no people, no figure
        per_head = benefit / population
    return pd.DataFrame(
        {
            "ics": sums.index.to_numpy(),
            "ics_name": [names[c] for c in sums.index],
            "trusts": np.bincount(label, minlength=len(sums)).astype(np.int64),
            "population": population,
            "adoptions": sums["adoptions"].to_numpy(),
            "cost_gbp": sums["cost_gbp"].to_numpy(),
            "benefit_gbp": benefit,
            "coverage": coverage_share(sums["covered_studies"], sums["addressable_studies"]),
            "min_trust_coverage": lowest,
            "benefit_per_capita_gbp": per_head,
        }
    )


def _binding(options: Options, ev: Evaluation) -> dict:
    """What binds: buying units whose leftover money buys no further option, full trusts."""
    t = options.table
    taken = set(zip(ev.adoptions["trust"], ev.adoptions["product"], strict=True))
    used_uc = set(zip(ev.adoptions["trust"], ev.adoptions["use_case"], strict=True))
    full = set(ev.trusts.index[ev.trusts["adoptions"] >= ev.trusts["it_capacity"]])
    standalone = options.standalone_cost()
    open_rows = [
        i
        for i, (tc, pc, uc) in enumerate(zip(t["trust"], t["product"], t["use_case"], strict=True))
        if (tc, pc) not in taken and (tc, uc) not in used_uc and tc not in full
    ]
    cheapest: dict = {}
    for unit, cost in zip(t["unit"].to_numpy()[open_rows], standalone[open_rows], strict=True):
        cheapest[unit] = min(cost, cheapest.get(unit, cost))
    units = ev.units
    budget_units = [
        str(u)
        for u, slack in zip(units.index, units["slack_gbp"], strict=True)
        if u in cheapest and slack < cheapest[u]
    ]
    at_limit = [
        rule
        for rule in coverage_rules(options)
        if abs(rule.value(ev.trusts["coverage"]) - rule.rhs) < COVERAGE_TOLERANCE
    ]
    return {
        "budget_units": budget_units,
        "capacity_trusts": sorted(str(x) for x in full),
        "floor_trusts": sorted(r.scope for r in at_limit if r.kind == "floor"),
        "floor_icss": sorted(r.scope for r in at_limit if r.kind == "core20_floor"),
        "parity_icss": sorted(r.scope for r in at_limit if r.kind == "core20_parity"),
    }


def marginal_value(dataset: Dataset, plan: Plan, step_gbp: float | None = None) -> dict | None:
    """What the plan's next ``marginal_step_gbp`` of budget buys, found by one more solve.

    Asked for on its own (``solve(..., with_marginal=True)``, ``planner solve --marginal``,
    or the app once the plan is on screen), so it is never in a plan's critical path. The
    figure is flagged unreliable when either solve stopped short of optimal by more than a
    tenth of the step: the difference would then be solver noise, not value.

    Args:
        dataset: The data the plan was made from.
        plan: The plan.
        step_gbp: The step to value; the scenario's ``marginal_step_gbp`` unless given.

    Returns:
        The ``marginal`` block (``computed`` True; ``buys`` and ``drops`` list the
        ``TRUST:PRODUCT`` pairs the larger budget adds and gives up), or None when the step
        is 0 or the larger budget has no plan.
    """
    scenario = plan.scenario
    step = scenario.marginal_step_gbp if step_gbp is None else step_gbp
    if step <= 0:
        return None
    more = scenario.replace(budget_gbp=plan.budget_gbp + step)
    try:
        opts = build_options(dataset, more, plan.model)
        res = solve_options(opts)
    except PlannerError:
        return None
    ev = evaluate(opts, res.mask, check_rules=False)
    chosen = opts.table[res.mask]
    pairs = set(zip(chosen["trust"], chosen["product"], strict=True))
    return _marginal_block(plan, step, ev.benefit_gbp, res.bound, res.objective, res.status, pairs)


def marginal_between(plan: Plan, bigger: Plan, step_gbp: float) -> dict:
    """The ``marginal`` block of ``plan`` from ``bigger``, the plan of its scenario with more money.

    For a caller that solves and keeps the larger budget's whole plan (the app, so that a
    step up the budget slider is already solved); ``bigger`` must have ``step_gbp`` more.
    """
    pairs = set(zip(bigger.adoptions["trust"], bigger.adoptions["product"], strict=True))
    return _marginal_block(
        plan, step_gbp, bigger.benefit_gbp, bigger.bound, bigger.objective, bigger.status, pairs
    )


def _marginal_block(
    plan: Plan, step: float, benefit: float, bound: float, objective: float, status: str, pairs
) -> dict:
    """What ``step`` more money buys: the larger budget's benefit and adoptions against the plan's.

    Flagged unreliable when either solve stopped short of optimal by more than a tenth of the
    step: the difference would then be solver noise, not value.
    """
    noise = max(plan.bound - plan.objective, 0.0) + max(bound - objective, 0.0)
    had = set(zip(plan.adoptions["trust"], plan.adoptions["product"], strict=True))
    return {
        "computed": True,
        "step_gbp": step,
        "benefit_gbp": benefit,
        "extra_benefit_gbp": benefit - plan.benefit_gbp,
        "benefit_per_gbp": (benefit - plan.benefit_gbp) / step,
        "status": status,
        "solver_uncertainty_gbp": noise,
        "reliable": noise <= 0.1 * step and "time_limit" not in (plan.status, status),
        "buys": pair_list(pairs - had),
        "drops": pair_list(had - pairs),
    }


def equity_active(scenario: Scenario) -> bool:
    """Whether any equity setting moves the plan away from the unweighted base case."""
    return (
        scenario.equity_weight > 0
        or scenario.maximin_weight_gbp > 0
        or scenario.coverage_floor > 0
        or scenario.core20_parity
        or scenario.min_adoptions_per_trust > 0
    )


def plan_from_mask(
    dataset: Dataset, options: Options, mask: np.ndarray
) -> tuple[Evaluation, pd.DataFrame, pd.DataFrame]:
    """Evaluate a mask and return the evaluation with its adoption and trust tables."""
    ev = evaluate(options, mask)
    return ev, _adoption_table(ev, dataset), _trust_table(ev, dataset)


class _Background:
    """Run ``fn`` on a thread of its own now; :meth:`result` waits for it (or re-raises).

    For work the solve does not need, done while HiGHS solves. A daemon thread, so a run
    abandoned (Ctrl-C, an infeasible plan) never keeps the process alive; nothing shared
    is changed by ``fn``.
    """

    def __init__(self, fn: Callable[[], Any]):
        self._fn = fn
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="planner-background", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._fn()
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc

    def result(self) -> Any:
        """The value of ``fn()``, once it has finished; its exception if it raised one."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


def solve(
    dataset: Dataset,
    scenario: Scenario,
    model: str | None = None,
    *,
    with_greedy: bool = True,
    with_base_case: bool = True,
    with_marginal: bool = False,
) -> Plan:
    """Find the best adoption plan for ``dataset`` under ``scenario`` and ``model``.

    ``with_marginal`` adds what the next ``marginal_step_gbp`` of budget buys (one more
    solve, see :func:`marginal_value`); without it the plan's JSON says
    ``"marginal": {"computed": false}``.

    Raises:
        InfeasibleError: If no plan meets the scenario (the message says what cannot be met).
        SolverError: If the solver stops without a plan, or its plan and the evaluator
            disagree.
        ScenarioError: If a lock names an unknown trust or product.
    """
    model = model or scenario.model
    if model != scenario.model:  # the plan records the scenario it was actually solved under
        scenario = scenario.replace(model=model)
    options = build_options(dataset, scenario, model)
    # the greedy comparison needs no plan: it is worked out on a second core while HiGHS
    # (which releases the GIL) solves
    greedy_run = (
        _Background(lambda: evaluate(options, greedy_plan(options))) if with_greedy else None
    )
    result = solve_options(options)
    ev, adoptions, trusts = plan_from_mask(dataset, options, result.mask)
    tol = 1e-6 * max(1.0, abs(ev.objective)) + 1e-3
    if ev.violations or abs(ev.objective - result.objective) > tol:
        raise SolverError(
            "internal check failed: the optimiser's plan and the evaluator disagree "
            f"(objective {result.objective:.6f} vs {ev.objective:.6f}; "
            f"{'; '.join(ev.violations) or 'no rule broken'})"
        )

    greedy = None
    if greedy_run is not None:
        g = greedy_run.result()
        greedy = {
            "benefit_gbp": g.benefit_gbp,
            "weighted_benefit_gbp": g.weighted_benefit_gbp,
            "cost_gbp": g.cost_gbp,
            "objective": g.objective,
            "adoptions": len(g.adoptions),
            "feasible": g.feasible,
            "gain_gbp": ev.objective - g.objective,
            "gain_pct": (
                100.0 * (ev.objective - g.objective) / abs(g.objective) if g.objective else None
            ),
        }

    base = None
    if with_base_case and equity_active(scenario):
        unweighted = scenario.replace(
            equity_weight=0.0,
            maximin_weight_gbp=0.0,
            coverage_floor=0.0,
            core20_parity=False,
            min_adoptions_per_trust=0,
        )
        b_opts = build_options(dataset, unweighted, model)
        b_res = solve_options(b_opts)
        b_ev = evaluate(b_opts, b_res.mask, check_rules=False)
        base = {
            "benefit_gbp": b_ev.benefit_gbp,
            "cost_gbp": b_ev.cost_gbp,
            "min_coverage": b_ev.min_coverage,
            "benefit_given_up_for_equity_gbp": b_ev.benefit_gbp - ev.benefit_gbp,
            "status": b_res.status,
        }

    total = options.setup.total_budget_gbp
    if result.status == "time_limit" and not math.isfinite(result.gap):
        raise SolverError("the solver stopped at its time limit without a gap estimate")
    plan = Plan(
        model=model,
        scenario=scenario,
        status=result.status,
        gap=result.gap,
        objective=ev.objective,
        bound=result.bound,
        budget_gbp=total,
        evaluation=ev,
        adoptions=adoptions,
        trusts=trusts,
        icss=_ics_table(trusts, dataset),
        units=ev.units.reset_index().rename(columns={"unit": "buying_unit"}),
        equity=equity_metrics(ev.trusts),
        greedy=greedy or {},
        base_case=base,
        marginal=None,
        binding=_binding(options, ev),
        solver={
            "name": "HiGHS",
            "status": result.status,
            "gap": result.gap,
            "bound": result.bound,
            "time_limit_s": scenario.time_limit_s,
            "mip_gap": scenario.mip_gap,
            "variables": result.n_variables,
            "constraints": result.n_constraints,
        },
        timings={"build_seconds": result.build_seconds, "solve_seconds": result.solve_seconds},
    )
    if with_marginal:
        plan.marginal = marginal_value(dataset, plan)
    return plan


def compare(
    dataset: Dataset,
    scenario: Scenario,
    models=COMPARED,
    *,
    keep_going: bool = False,
    **kwargs,
) -> tuple[list[Plan], pd.DataFrame]:
    """Solve every procurement model on the same money; return the plans and one tidy table.

    The table has one row per model (see :meth:`Plan.summary`) plus the benefit lost by
    buying locally against each other model (``benefit_vs_local_gbp``).

    Args:
        dataset: The data.
        scenario: The scenario, the same for every model.
        models: The procurement models to solve.
        keep_going: When a model has no plan (say a lock only one model cannot afford), give
            it a row with its ``status`` and the ``reason`` in words, and carry on with the
            others; otherwise its error is raised.
        **kwargs: Passed to :func:`solve`.

    Raises:
        PlannerError: If a model cannot be solved and ``keep_going`` is False.
    """
    plans, rows = [], []
    for m in models:
        try:
            plan = solve(dataset, scenario, m, **kwargs)
        except PlannerError as exc:
            if not keep_going:
                raise
            why = "; ".join(exc.reasons) if isinstance(exc, InfeasibleError) else str(exc)
            rows.append({"model": m, "status": getattr(exc, "status", "error"), "reason": why})
            continue
        plans.append(plan)
        rows.append(plan.summary())
    table = pd.DataFrame(rows)
    local = table.loc[table["model"] == "local", "benefit_gbp"] if plans else []
    if len(local):
        table["benefit_vs_local_gbp"] = table["benefit_gbp"] - float(local.iloc[0])
    return plans, table
