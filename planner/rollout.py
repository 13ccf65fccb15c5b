"""Multi-year rollout: which trust signs for which product in which year, under yearly money.

The single-period plan says *what* to buy; the rollout says *when*. Decision years run
1..R (R = ``rollout_years``, at most the horizon). A contract signed in year y (at month
12(y-1)) goes live after the route's lead time plus the product's implementation months;
its benefit then ramps up linearly over ``ramp_months`` and runs to the horizon's end.
Products stay adopted once adopted (each (trust, product) is signed at most once).

Money is counted as commitments: a contract signed in year y charges its whole present
value (implementation, licence and per-study payments to the horizon's end, and the
platform when first needed) to year y's budget, as NHS bodies commit contract values when
they sign. Each year's signings with one buyer form one contract batch with its own
all-units volume tier. Yearly budgets are the total split evenly over the decision years,
with or without carry-over of unspent money.

With one decision year and no ramp-up, the rollout is exactly the single-period plan
(tested). Notation as in :mod:`planner.model`, with a year index y on every variable.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pulp

from planner.data import Dataset
from planner.economics import (
    COST_TIE_BREAK,
    Options,
    build_options,
    contract_values,
    platform_value,
    ramped_annuity,
)
from planner.equity_rules import has_rules, unit_groups
from planner.errors import InfeasibleError, Problem, ScenarioError, SolverError
from planner.evaluate import tier_price
from planner.formatting import join_words, percent, plural
from planner.model import (
    add_row,
    add_tier_batch,
    affine,
    define_capacity,
    define_coverage_rules,
    define_min_adoptions,
    define_shared_tiers,
    define_use_case,
    lock_rows,
    platform_rows,
)
from planner.scenario import Scenario, check_settings, setting
from planner.solve import Status, combined_status, run_solver, what_binds


@dataclass(frozen=True)
class RolloutSettings:
    """How the rollout is planned; checked on construction as scenario settings are.

    Attributes:
        years: Decision years (1 reproduces the single-period plan when ramp_months is 0).
        carry_over: Whether money unspent in a year can be spent in later years.
        ramp_months: Months over which a live product's benefit ramps up from 0 to full.
        yearly_capacity_fraction: Share of a trust's IT capacity it can use in one year
            (at least one deployment a year; the horizon total still applies).
        yearly_budgets_gbp: Budget of each decision year; None splits the scenario's total
            evenly.

    Raises:
        ScenarioError: If a setting is of the wrong kind or out of range, or the yearly
            budgets are not one per decision year.
    """

    years: int = setting(5, "Decision years (at most the scenario's horizon)", lo=1)
    carry_over: bool = setting(True, "Money unspent in a year can be spent in later years")
    ramp_months: float = setting(6.0, "Months over which a live product's benefit ramps up", lo=0)
    yearly_capacity_fraction: float = setting(
        0.5, "Share of a trust's IT capacity it can use in one year", lo=0, hi=1
    )
    yearly_budgets_gbp: tuple[float, ...] | None = setting(
        None, "Budget of each decision year (None: the total split evenly)", kind="amounts"
    )

    def __post_init__(self) -> None:
        check_settings(self, "rollout settings")
        given = self.yearly_budgets_gbp
        if given is not None and len(given) != self.years:
            raise ScenarioError(
                [
                    Problem(
                        "rollout settings",
                        None,
                        "yearly_budgets_gbp",
                        f"{len(given)} budgets for {self.years} decision years",
                        f"give one budget per decision year ({self.years})",
                    )
                ]
            )


@dataclass
class YearFactors:
    """Per option and year: benefit, fixed cost and per-study cost factor (present values)."""

    benefit: np.ndarray  # (options, years) weighted benefit if signed in that year
    benefit_plain: np.ndarray  # unweighted
    fixed: np.ndarray  # implementation + licence
    study: np.ndarray  # PV factor of one study a year from go-live
    platform: dict = field(default_factory=dict)  # trust -> array over years
    go_live: np.ndarray = None  # months from now, per option and year


def year_factors(options: Options, settings: RolloutSettings) -> YearFactors:
    """Compute the present values of signing each option in each decision year.

    Signing in year y (y = 0 first) is the single-period contract of
    :func:`planner.economics.contract_values` started ``12 y`` months later: the same
    prices, the same timing, one shifted start. Benefit ramps up over ``ramp_months`` from
    go-live (:func:`planner.economics.ramped_annuity`).
    """
    sc = options.scenario
    route = sc.route(options.model)
    t = options.table
    years = settings.years
    lead = float(route.lead_time_months)
    annual = t["annual_benefit_gbp"].to_numpy()
    weight = t["equity_weight"].to_numpy()
    n = len(t)
    benefit = np.zeros((n, years))
    study = np.zeros((n, years))
    fixed = np.zeros((n, years))
    go_live = np.zeros((n, years))
    for y in range(years):
        pv = contract_values(
            t["implementation_price_gbp"].to_numpy(),
            t["licence_price_gbp"].to_numpy(),
            t["implementation_months"].to_numpy(),
            12.0 * y + lead,
            sc,
        )
        go_live[:, y] = pv.go_live_months
        benefit[:, y] = annual * ramped_annuity(
            pv.go_live_months, settings.ramp_months, sc.horizon_years, sc.discount_rate
        )
        study[:, y] = pv.study_factor
        fixed[:, y] = pv.implementation_gbp + pv.licence_gbp
    trusts = options.trusts
    platform = {
        tc: np.array([platform_value(sc, route, 12.0 * y + lead) for y in range(years)])
        for tc in trusts.index[~trusts["has_platform"]]
    }
    return YearFactors(benefit * weight[:, None], benefit, fixed, study, platform, go_live)


def yearly_budgets(options: Options, settings: RolloutSettings) -> pd.DataFrame:
    """Budget of each buying unit in each decision year (units x years)."""
    years = settings.years
    if settings.yearly_budgets_gbp is not None:
        given = np.asarray(settings.yearly_budgets_gbp, dtype=float)
        split = given / given.sum() if given.sum() > 0 else np.full(years, 1.0 / years)
        total = (
            options.budgets * given.sum() / options.budgets.sum()
            if options.budgets.sum()
            else options.budgets
        )
    else:
        split = np.full(years, 1.0 / years)
        total = options.budgets
    return pd.DataFrame(
        np.outer(total.to_numpy(), split), index=options.budgets.index, columns=range(1, years + 1)
    )


@dataclass
class RolloutModel:
    """A built rollout MILP and its handles."""

    prob: pulp.LpProblem
    options: Options
    settings: RolloutSettings
    factors: YearFactors
    start: dict  # (option row, year index) -> var
    platform: dict  # (trust, year index) -> var
    unit_cost: dict  # (unit, year index) -> expression


def define_signing(prob, options: Options, years: int) -> tuple[dict, dict]:
    """Signing binaries ``v[i,y]``: option i signed in decision year y; signed at most once.

    ``sum_y v[i,y] <= 1``; a lock in makes it ``= 1``, a lock out fixes every ``v[i,y] = 0``.
    Returns the variables by (row, year) and, per row, the pairs whose sum is 1 when the
    option is adopted by the end of the rollout (the ``x[i]`` of :mod:`planner.model`).
    """
    n = len(options.table)
    flat = prob.add_variable_dict("start", range(n * years), cat="Binary")
    start = {(i, y): flat[i * years + y] for i in range(n) for y in range(years)}
    forced_in, forced_out = lock_rows(options)
    for i in forced_out:
        for y in range(years):
            start[(i, y)].upBound = 0
    ever = {i: [(start[(i, y)], 1.0) for y in range(years)] for i in range(n)}
    for i in forced_in:
        add_row(prob, affine(ever[i]), pulp.LpConstraintEQ, 1, f"lock[{i}]")
    for i in range(n):
        if i not in forced_in and years > 1:
            add_row(prob, affine(ever[i]), pulp.LpConstraintLE, 1, f"once[{i}]")
    return start, ever


def yearly_capacity(options: Options, settings: RolloutSettings) -> dict[str, tuple]:
    """Deployments each trust can take on in one year, where that can bind.

    ``c[t] = max(1, ceil(it_capacity[t] x yearly_capacity_fraction))`` (0 if the trust has
    no capacity); the fraction is at least ``1 / years`` so the horizon total stays
    reachable. Only trusts with more options than ``c[t]``, and none in a one-year rollout.

    Returns:
        ``(c[t], option rows)`` by trust.
    """
    years = settings.years
    if years <= 1:
        return {}
    cap = options.trusts["it_capacity"]
    fraction = max(settings.yearly_capacity_fraction, 1.0 / years)
    out = {}
    for tc, rows in options.table.groupby("trust", sort=True).indices.items():
        total_cap = int(cap[tc])
        per_year = max(1, math.ceil(total_cap * fraction)) if total_cap > 0 else 0
        if len(rows) > per_year:
            out[tc] = (per_year, rows)
    return out


def define_yearly_capacity(prob, options: Options, settings: RolloutSettings, start) -> None:
    """Deployments a trust can take on in one year: ``sum_p v[t,p,y] <= c[t]`` for every y.

    ``c[t]`` is :func:`yearly_capacity`'s. The horizon total itself is
    :func:`planner.model.define_capacity`.
    """
    for tc, (per_year, rows) in yearly_capacity(options, settings).items():
        for y in range(settings.years):
            add_row(
                prob,
                affine((start[(i, y)], 1) for i in rows),
                pulp.LpConstraintLE,
                per_year,
                f"capacity_year[{tc},{y + 1}]",
            )


def define_yearly_platform(prob, options: Options, years: int, start) -> dict:
    """Platform bought by the year a product that needs it is signed.

    ``v[i,y] <= sum_{z <= y} q[t,z]`` for every option i at trust t that needs a platform
    it lacks, and ``sum_y q[t,y] <= 1``. Returns ``q`` by (trust, year).
    """
    need = platform_rows(options)
    plat_trusts = sorted(need["trust"].unique())
    plat = {}
    if plat_trusts:
        flat_plat = prob.add_variable_dict(
            "platform", range(len(plat_trusts) * years), cat="Binary"
        )
        plat = {
            (tc, y): flat_plat[k * years + y]
            for k, tc in enumerate(plat_trusts)
            for y in range(years)
        }
    for tc in plat_trusts:
        if years > 1:
            add_row(
                prob,
                affine((plat[(tc, y)], 1) for y in range(years)),
                pulp.LpConstraintLE,
                1,
                f"platform_once[{tc}]",
            )
    for i, tc in zip(need.index, need["trust"], strict=True):
        for y in range(years):
            pairs = [(start[(i, y)], 1)] + [(plat[(tc, z)], -1) for z in range(y + 1)]
            add_row(prob, affine(pairs), pulp.LpConstraintLE, 0, f"platform[{i},{y + 1}]")
    return plat


def define_yearly_prerequisites(prob, options: Options, years: int, start) -> None:
    """Prerequisites signed in the same year or earlier: ``v[p,y] <= sum_{z <= y} v[q,z]``.

    A prerequisite already in use is met; one that cannot be had fixes ``v[p,y] = 0``.
    """
    index = options.option_index()
    t = options.table
    for i, tc, pre in zip(t.index, t["trust"], t["prerequisite"], strict=True):
        if not pre or (tc, pre) in options.existing:
            continue
        j = index.get((tc, pre))
        for y in range(years):
            if j is None:
                start[(i, y)].upBound = 0
            else:
                pairs = [(start[(i, y)], 1)] + [(start[(j, z)], -1) for z in range(y + 1)]
                add_row(prob, affine(pairs), pulp.LpConstraintLE, 0, f"prerequisite[{i},{y + 1}]")


def define_yearly_costs(prob, options: Options, f: YearFactors, start, plat) -> dict:
    """What each buying unit commits in each year, as expression pairs by (unit, year).

    ``cost[u,y] = sum_i fixed[i,y] v[i,y] + sum_p tiered per-study cost of the batch
    signed in y + sum_t platform[t,y] q[t,y]``: each year's signings of a product by one
    purchase group form one contract batch with its own all-units tier
    (:func:`planner.model.add_tier_batch`; :func:`planner.model.define_shared_tiers` where
    the group's trusts hold money in several buying units), priced at the study factor of
    that year.
    """
    t = options.table
    years = f.benefit.shape[1]
    arrays = options.tier_arrays()
    studies = t["studies_per_year"].to_numpy()
    cost_pairs: dict = defaultdict(list)
    for i, unit in zip(t.index, t["unit"], strict=True):
        for y in range(years):
            cost_pairs[(unit, y)].append((start[(i, y)], float(f.fixed[i, y])))
    units = t["unit"].to_numpy()
    for (group, pc), rows in t.groupby(["tier_unit", "product"], sort=True).indices.items():
        _, mins, prices = arrays[pc]
        holders = sorted(set(units[rows].tolist()))
        for y in range(years):
            key, factor = f"{group},{pc},{y + 1}", float(f.study[rows[0], y])
            if len(holders) > 1:  # a tier shared by several money holders (call-off)
                by_holder = {b: [int(i) for i in rows if units[i] == b] for b in holders}
                shared: dict = defaultdict(list)
                xs = {int(i): start[(i, y)] for i in rows}
                define_shared_tiers(prob, key, xs, by_holder, studies, mins, prices, factor, shared)
                for b, pairs in shared.items():
                    cost_pairs[(b, y)] += pairs
                continue
            pairs, _ = add_tier_batch(
                prob, key, [start[(i, y)] for i in rows], studies[rows], mins, prices, factor
            )
            cost_pairs[(holders[0], y)] += pairs
    for tc, y in plat:
        unit = options.trusts.at[tc, "unit"]
        cost_pairs[(unit, y)].append((plat[(tc, y)], float(f.platform[tc][y])))
    return cost_pairs


def define_yearly_budgets(prob, options: Options, settings: RolloutSettings, cost_pairs) -> dict:
    """Yearly money per buying unit; returns ``cost[u,y]`` by (unit, year).

    With carry-over ``sum_{z <= y} cost[u,z] <= sum_{z <= y} budget[u,z]``, without
    ``cost[u,y] <= budget[u,y]``.
    """
    budgets = yearly_budgets(options, settings)
    unit_cost = {}
    for unit in options.budgets.index:
        running: list = []
        for y in range(settings.years):
            expr = affine(cost_pairs.get((unit, y), []))
            unit_cost[(unit, y)] = expr
            if settings.carry_over:
                running += list(expr.items())
                expr, money = affine(running), float(budgets.loc[unit, : y + 1].sum())
            else:
                money = float(budgets.loc[unit, y + 1])
            add_row(prob, expr, pulp.LpConstraintLE, money, f"budget[{unit},{y + 1}]")
    return unit_cost


def build_rollout(options: Options, settings: RolloutSettings) -> RolloutModel:
    """Build the rollout MILP (see the module docstring); building never solves.

    Maximises ``sum_{i,y} weighted_benefit[i,y] v[i,y] - 1e-6 sum_{u,y} cost[u,y]``. The
    rules that hold over the whole rollout (one product per use case, the horizon's IT
    capacity, coverage floors, Core20 parity, minimum adoptions) are the single-period
    model's own families, read with ``x[i] = sum_y v[i,y]``.
    """
    years = settings.years
    f = year_factors(options, settings)
    prob = pulp.LpProblem("rollout", pulp.LpMaximize)
    start, ever = define_signing(prob, options, years)
    define_use_case(prob, options, ever)
    define_capacity(prob, options, ever)
    define_yearly_capacity(prob, options, settings, start)
    plat = define_yearly_platform(prob, options, years, start)
    define_yearly_prerequisites(prob, options, years, start)
    cost_pairs = define_yearly_costs(prob, options, f, start, plat)
    unit_cost = define_yearly_budgets(prob, options, settings, cost_pairs)
    define_coverage_rules(prob, options, ever)
    define_min_adoptions(prob, options, ever)
    n = len(options.table)
    objective = [(start[(i, y)], float(f.benefit[i, y])) for i in range(n) for y in range(years)]
    objective += [(v, -COST_TIE_BREAK * c) for expr in unit_cost.values() for v, c in expr.items()]
    prob.setObjective(affine(objective))
    return RolloutModel(prob, options, settings, f, start, plat, unit_cost)


@dataclass
class Rollout:
    """A rollout plan: the schedule, yearly spend and the benefit curve."""

    model: str
    status: str
    gap: float
    objective: float
    bound: float
    schedule: pd.DataFrame
    spend: pd.DataFrame
    curve: pd.DataFrame
    platforms: pd.DataFrame
    benefit_gbp: float
    cost_gbp: float
    seconds: float
    settings: RolloutSettings


def solve_rollout(
    dataset: Dataset,
    scenario: Scenario,
    model: str | None = None,
    settings: RolloutSettings | None = None,
) -> Rollout:
    """Plan the rollout year by year.

    Buying units that share no constraint are solved on their own (as for single-period
    plans, see :func:`planner.equity_rules.unit_groups`); the time limit covers the whole.

    Raises:
        InfeasibleError: If no rollout meets the scenario.
        SolverError: If the solver stops without a rollout.
        ValueError: If the rollout is longer than the horizon.
    """
    model = model or scenario.model
    settings = settings or RolloutSettings(years=scenario.horizon_years)
    if not 1 <= settings.years <= scenario.horizon_years:
        raise ValueError(
            f"rollout years must be between 1 and the horizon ({scenario.horizon_years})"
        )
    started = time.perf_counter()
    deadline = started + scenario.time_limit_s
    options = build_options(dataset, scenario, model)
    groups = unit_groups(options)
    parts = [options] if len(groups) == 1 else [options.for_units(g) for g in groups]
    solved, reasons = [], []
    for part in parts:
        if part.table.empty and not part.scenario.locks and not has_rules(part):
            continue
        try:
            solved.append(_solve_part(part, settings, max(deadline - time.perf_counter(), 0.5)))
        except InfeasibleError as exc:
            where = join_words([part.names.unit_label(u) for u in part.budgets.index])
            reasons += [f"{where}: {r}" for r in exc.reasons]
    if reasons:
        raise InfeasibleError(reasons)
    status = combined_status(p[1] for p in solved)
    objective = sum(p[2] for p in solved)
    bound = sum(p[3] for p in solved)
    gap = max(bound - objective, 0.0) / max(abs(objective), 1e-9)
    return _read(
        [p[0] for p in solved],
        dataset,
        model,
        status,
        gap,
        objective,
        bound,
        time.perf_counter() - started,
        settings,
    )


def _solve_part(options: Options, settings: RolloutSettings, time_limit_s: float):
    sc = options.scenario
    built = build_rollout(options, settings)
    run = run_solver(built.prob, sc, time_limit_s=time_limit_s)
    if run.status == Status.INFEASIBLE:
        raise InfeasibleError([infeasible_advice(options, settings)])
    if run.status == Status.EMPTY:
        return built, "optimal", 0.0, 0.0
    if not run.has_plan:
        raise SolverError(
            "the solver stopped without a rollout; raise time_limit_s", status=run.status.value
        )
    return built, run.status.value, run.objective, run.bound


def _either(items: list[str]) -> str:
    """Join in plain English with 'or': 'A', 'A or B', 'A, B or C'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def infeasible_advice(options: Options, settings: RolloutSettings) -> str:
    """Say that no rollout was found, and what could change that under the settings in force.

    Rollout settings are suggested only where changing them could help: carry-over when it
    is off (and there is more than one year), more decision years when the rollout is
    shorter than the horizon, and more of a trust's IT capacity in a year (or the money
    earlier) when a trust's yearly capacity is below its capacity over the rollout. When
    none can, it says so and names what can: more money, or fewer locks and fairness rules.
    """
    sc = options.scenario
    years, horizon = settings.years, sc.horizon_years
    cap = options.trusts["it_capacity"]
    held_back = any(c < int(cap[tc]) for tc, (c, _) in yearly_capacity(options, settings).items())
    levers = []
    if years > 1 and not settings.carry_over:
        levers.append("letting unspent money carry over to later years (carry-over is off)")
    if years < horizon:
        levers.append(
            f"spreading the rollout over more years (it has {years} of the horizon's {horizon})"
        )
    if held_back:
        levers.append(
            "letting trusts take on more of their IT capacity in one year "
            f"(yearly_capacity_fraction is {settings.yearly_capacity_fraction:g})"
        )
        given = settings.yearly_budgets_gbp
        if given is None or given[0] < sum(given):
            levers.append("putting more of the money in the first years (yearly_budgets_gbp)")
    elsewhere = f"raise the budget or relax {what_binds(options)}"
    head = "no rollout meets the yearly budgets, capacities, locks and fairness rules together"
    if levers:
        return f"{head}; try {_either(levers)}; failing that, {elsewhere}"
    if years == 1:
        why = "the horizon is one year, so the rollout is one decision year"
    else:
        why = (
            f"carry-over is on, the rollout already spans the whole {horizon}-year horizon "
            "and no trust is held back by its yearly share of IT capacity"
        )
    return f"{head}, and no rollout setting would help ({why}); {elsewhere}"


def _read(
    parts: list[RolloutModel],
    dataset: Dataset,
    model: str,
    status: str,
    gap: float,
    objective: float,
    bound: float,
    seconds: float,
    settings: RolloutSettings,
) -> Rollout:
    rows, spend_rows, platform_rows = [], [], []
    for built in parts:
        options, f = built.options, built.factors
        t = options.table
        chosen = [(i, y) for (i, y), var in built.start.items() if (var.varValue or 0.0) > 0.5]
        # each year's signings with one buyer are one contract batch with its own tier
        batch: dict = defaultdict(float)
        for i, y in chosen:
            group = t.at[i, "tier_unit"]
            batch[(group, t.at[i, "product"], y)] += float(t.at[i, "studies_per_year"])
        for i, y in chosen:
            tc, pc, unit = t.at[i, "trust"], t.at[i, "product"], t.at[i, "unit"]
            studies = float(t.at[i, "studies_per_year"])
            _, price = tier_price(options, pc, batch[(t.at[i, "tier_unit"], pc, y)])
            study_cost = price * studies * float(f.study[i, y])
            rows.append(
                {
                    "trust": tc,
                    "trust_name": dataset.trusts.at[tc, "trust_name"],
                    "product": pc,
                    "product_name": dataset.products.at[pc, "product_name"],
                    "use_case": t.at[i, "use_case"],
                    "buying_unit": unit,
                    "start_year": y + 1,
                    "go_live_month": float(f.go_live[i, y]),
                    "go_live_year": int(math.floor(f.go_live[i, y] / 12.0)) + 1,
                    "annual_benefit_gbp": float(t.at[i, "annual_benefit_gbp"]),
                    "benefit_gbp": float(f.benefit_plain[i, y]),
                    "tier_price_per_study_gbp": price,
                    "fixed_cost_gbp": float(f.fixed[i, y]),
                    "study_cost_gbp": study_cost,
                    "cost_gbp": float(f.fixed[i, y]) + study_cost,
                }
            )
        for (tc, y), var in built.platform.items():
            if (var.varValue or 0.0) > 0.5:
                platform_rows.append(
                    {
                        "trust": tc,
                        "buying_unit": options.trusts.at[tc, "unit"],
                        "year": y + 1,
                        "platform_cost_gbp": float(f.platform[tc][y]),
                    }
                )
        budgets = yearly_budgets(options, settings)
        spend_rows += [
            {
                "buying_unit": unit,
                "year": y + 1,
                "budget_gbp": float(budgets.loc[unit, y + 1]),
                "committed_gbp": float(expr.value() or 0.0),
            }
            for (unit, y), expr in built.unit_cost.items()
        ]
    columns = [
        "trust", "trust_name", "product", "product_name", "use_case", "buying_unit",
        "start_year", "go_live_month", "go_live_year", "annual_benefit_gbp", "benefit_gbp",
        "tier_price_per_study_gbp", "fixed_cost_gbp", "study_cost_gbp", "cost_gbp",
    ]  # fmt: skip
    schedule = pd.DataFrame(rows, columns=columns)
    schedule = schedule.sort_values(["start_year", "trust", "product"]).reset_index(drop=True)
    platforms = pd.DataFrame(
        platform_rows, columns=["trust", "buying_unit", "year", "platform_cost_gbp"]
    )
    spend = pd.DataFrame(spend_rows, columns=["buying_unit", "year", "budget_gbp", "committed_gbp"])
    horizon = parts[0].options.scenario.horizon_years if parts else settings.years
    months = np.arange(0, 12 * horizon + 1)
    level = np.zeros(len(months))
    ramp = settings.ramp_months
    for r in schedule.itertuples():
        gl = r.go_live_month
        frac = np.clip((months - gl) / ramp, 0, 1) if ramp > 0 else (months >= gl).astype(float)
        level += frac * r.annual_benefit_gbp
    cumulative = np.concatenate([[0.0], np.cumsum(level[1:] / 12.0)])
    curve = pd.DataFrame(
        {
            "model": model,
            "month": months,
            "benefit_rate_gbp_per_year": level,
            "cumulative_benefit_gbp": cumulative,
        }
    )
    return Rollout(
        model,
        status,
        gap,
        objective,
        bound,
        schedule,
        spend,
        curve,
        platforms,
        float(schedule["benefit_gbp"].sum()),
        float(spend["committed_gbp"].sum()),
        seconds,
        settings,
    )


def late_signings_text(rollout: Rollout, horizon_years: int) -> str | None:
    """Say how little time contracts signed in the last decision year have live.

    A contract signed late goes live after the lead time and implementation, and its benefit
    stops at the horizon's end, so it adds little; the rollout still signs it when nothing
    better is left to buy. None when nothing is signed in the last year.
    """
    sched = rollout.schedule
    last = rollout.settings.years
    late = sched[sched["start_year"] == last]
    if late.empty or last <= 1:
        return None
    live = (12 * horizon_years - late["go_live_month"]).clip(lower=0)
    share = late["benefit_gbp"].sum() / sched["benefit_gbp"].sum() if len(sched) else 0.0
    one = len(late) == 1
    return (
        f"{plural(len(late), 'contract')} signed in the last decision year (year {last}) "
        f"{'is' if one else 'are'} live for {live.mean():.0f} months on average before the "
        f"{horizon_years}-year horizon ends, so {'it adds' if one else 'they add'} only "
        f"{percent(share, 0)} of the rollout's benefit."
    )
