"""Explain a plan: why each adoption is in it, why each other product is not, what money buys.

:func:`explain_plan` takes a solved :class:`~planner.plan.Plan` and returns an
:class:`Explanation` of three parts:

- ``adoptions``: per adoption, its benefit per pound, a short reason it fits (locked in,
  prerequisite of another adoption, a cheaper volume tier reached with other trusts, the best
  value for its use case) and what it displaced: the plan is re-solved with that adoption
  locked out and the adoptions that appear (and those that drop with it) are reported with
  the change in benefit.
- ``not_chosen``: per (trust, product) of the catalogue that the plan does not adopt (and
  the trust does not already use), the binding reason (one product per use case, IT
  capacity, a missing prerequisite, the national framework, no studies, a lock, or the
  budget) and the *break-even price*: the largest factor ``f`` on that trust's prices for
  the product below which re-solving adopts it.
- ``budget_value``: what the next ``marginal_step_gbp`` (default £100k) of budget buys.

**Break-even price: a cut for one trust, all else equal.** The factor ``f`` multiplies the
trust's bill for the product (implementation, licence and per-study fees at the price tier
its buying unit's pooled volume reaches): a rebate of ``(1 - f) x bill`` on that option
alone, the "all else equal" break-even of sensitivity analysis. A product-wide cut (every
trust at once) was tried and rejected: in a tight budget it is not monotone (on the shipped
ICS with £2m, Brackenholt gets the breast-screening product at 55% of its price, not at
56%, again at 57%, not at 58%) because the pooled plan reshuffles, so it has no single
break-even. One option's rebate does: with the option forced in, a plan worth at least the
plan's objective needs some least money ``c``, and the option is chosen exactly when the
rebate brings ``c`` within the budget. So ``c`` is found by one least-cost re-solve (the
plan's MILP from ``build_model`` with the option forced in, a floor on the objective, and
the buying unit's cost minimised with its budget lifted); the threshold is
``f* = 1 - (c - budget) / bill``. One more re-solve through the normal ``solve_options``
path, with the rebate at ``f*`` less 0.01%, confirms the adoption (:func:`rebate_options`).
If that fails (solver-gap noise), a bisection over ``f`` with normal re-solves, to
``tolerance``, finds a confirmed factor. If even a free option (``f = 0``) is not chosen,
the reason is structural (capacity, use case, prerequisite, or a platform that costs more
than the option brings).

Re-solves of a model whose buying units share no constraint (no maximin term) are made for
the buying unit of the trust only, since the other units' plans cannot change. Every
re-solve counts against ``max_resolves``; rows left without one say so.
"""

from __future__ import annotations

import dataclasses
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pulp

from planner.data import Dataset
from planner.economics import Options, build_options, coverage_share
from planner.equity_rules import unit_groups
from planner.errors import InfeasibleError, PlannerError, SolverError
from planner.evaluate import tier_price
from planner.formatting import money, pounds
from planner.model import build_model
from planner.parallel import run_jobs
from planner.plan import Plan
from planner.scenario import Lock, Scenario
from planner.solve import Status, run_solver, solve_options

#: Default bisection tolerance on the price factor (fallback search): 1% of today's price.
DEFAULT_TOLERANCE = 0.01
#: The confirming re-solve is made this far (in price factor) below the threshold.
CONFIRM_MARGIN = 1e-4
#: Budget step used when the scenario's ``marginal_step_gbp`` is 0.
DEFAULT_STEP_GBP = 100_000.0
#: Stands in for "no budget" for the buying unit of the least-cost re-solve.
NO_BUDGET_GBP = 1e12
#: Reason codes of ``not_chosen``, in the order they are tested.
REASON_CODES = (
    "no_studies",
    "framework",
    "use_case_in_use",
    "locked_out",
    "prerequisite_unavailable",
    "use_case",
    "capacity",
    "prerequisite",
    "budget",
)

#: Columns of ``not_chosen`` before the break-even figures.
NOT_CHOSEN_COLUMNS = [
    "trust",
    "trust_name",
    "product",
    "product_name",
    "use_case",
    "reason_code",
    "reason",
    "benefit_gbp",
    "cost_gbp",
    "platform_gbp",
    "benefit_per_gbp",
    "search",
    "_price",
]
BREAK_EVEN_COLUMNS = (
    "break_even_price_factor",
    "price_cut_pct",
    "break_even_cost_gbp",
    "break_even_implementation_gbp",
    "break_even_licence_gbp_per_year",
    "break_even_price_per_study_gbp",
)


@dataclass
class Explanation:
    """Why a plan is what it is.

    Attributes:
        model: The procurement model of the plan.
        scenario: The scenario the plan was solved under.
        adoptions: One row per adoption: trust, product, names, use case, go-live month,
            cost, benefit, ``benefit_per_gbp``, health and radiologist-time figures
            (``qalys_over_horizon``, ``radiologist_hours_per_year``,
            ``radiologist_hours_over_horizon``), ``fits_because``, ``displaced`` (text),
            ``displaced_by`` and ``also_dropped`` ("TRUST:PRODUCT" lists) and
            ``benefit_change_gbp`` (benefit of the re-solved plan without it minus the plan's;
            NaN when not re-solved).
        not_chosen: One row per (trust, product) neither adopted nor already in use:
            ``reason_code`` (see :data:`REASON_CODES`), ``reason`` (plain English),
            ``benefit_gbp``, ``cost_gbp`` (the trust's bill for it at today's prices, at
            the tier its buying unit's pooled volume would reach), ``platform_gbp`` (a
            platform it would also need), ``benefit_per_gbp`` (benefit over both),
            ``break_even_price_factor`` (the threshold ``f*``: chosen below it; NaN when no
            price makes it chosen), ``price_cut_pct``, ``break_even_cost_gbp`` and the
            prices at that factor (``break_even_implementation_gbp``,
            ``break_even_licence_gbp_per_year``, ``break_even_price_per_study_gbp``, after
            the route's shares), ``break_even`` (text), ``confirmed`` (a normal re-solve
            adopted it just below the factor) and ``search`` (how the search ended).
        budget_value: What the next budget step buys: ``step_gbp``, ``extra_benefit_gbp``,
            ``benefit_per_gbp``, ``buys`` and ``drops`` ("TRUST:PRODUCT" lists, when
            re-solved), ``source`` and ``text``.
        trusts: One row per trust: name, ICS, adoptions, IT capacity, coverage before and
            after the plan, coverage rank in its ICS, cost, benefit, benefit per head,
            platform bought, products already in use.
        explained: Codes of the trusts whose adoptions and non-adoptions are explained.
        tolerance: Tolerance of the fallback bisection (share of today's price).
        resolves: Number of re-solves made.
        seconds: Wall-clock time of the explanation.
        notes: What was skipped or limited, in words.
    """

    model: str
    scenario: Scenario
    adoptions: pd.DataFrame
    not_chosen: pd.DataFrame
    budget_value: dict
    trusts: pd.DataFrame
    explained: tuple[str, ...] = ()
    tolerance: float = DEFAULT_TOLERANCE
    resolves: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The explanation as tables by name (for CSV or Excel export).

        List columns are joined with ``", "`` so every cell is plain text or a number.
        """
        out = {}
        for name, frame in (
            ("adoptions", self.adoptions),
            ("not_chosen", self.not_chosen),
            ("trusts", self.trusts),
        ):
            f = frame.copy()
            for col in f.columns:
                if f[col].map(lambda v: isinstance(v, list | tuple)).any():
                    f[col] = f[col].map(
                        lambda v: ", ".join(v) if isinstance(v, list | tuple) else v
                    )
            out[name] = f
        bv = {
            k: (", ".join(v) if isinstance(v, list | tuple) else v)
            for k, v in self.budget_value.items()
        }
        out["budget_value"] = pd.DataFrame([bv])
        return out


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


# ---------------------------------------------------------------------------------------
# re-solving


def _solve_pairs(
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


class _Resolver:
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
        """Re-solve the plan's dataset under ``scenario`` (see :func:`_solve_pairs`)."""
        self.count += 1
        return _solve_pairs(self.dataset, scenario, self.model, unit)


def _separable(options: Options) -> bool:
    """Whether buying units can be re-solved one at a time (no maximin term or rule ties them)."""
    groups = unit_groups(options)
    return len(groups) > 1 and all(len(g) == 1 for g in groups)


def _pair_list(pairs) -> list[str]:
    return [f"{t}:{p}" for t, p in sorted(pairs)]


def _by_trust(pairs) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for t, p in sorted(pairs):
        out[t].append(p)
    return out


# ---------------------------------------------------------------------------------------
# the explanation


def explain_plan(
    dataset: Dataset,
    scenario: Scenario | None,
    plan: Plan,
    *,
    model: str | None = None,
    trusts=None,
    max_resolves: int | None = None,
    displaced: bool = True,
    break_even: bool = True,
    tolerance: float = DEFAULT_TOLERANCE,
    workers: int = 1,
) -> Explanation:
    """Explain ``plan``: reasons for every adoption and non-adoption, and the value of money.

    Cost: one re-solve for the value of money, one per adoption (what it displaced) and
    two per option not chosen (least cost, then a confirming solve; more only if the
    bisection fallback runs). On the shipped ICS (8 trusts, 24 products, ~0.1 to 0.3 s a
    solve) the whole explanation takes about 40 s, one trust about 6 s; on larger data
    pass ``trusts``, ``max_resolves`` or ``workers``.

    Args:
        dataset: The dataset the plan was solved on.
        scenario: The scenario it was solved under (None: ``plan.scenario``).
        plan: The plan, from :func:`planner.solve`.
        model: The procurement model (None: ``plan.model``).
        trusts: Trust codes to explain (None: all); rows of other trusts are left out and
            not re-solved.
        max_resolves: Most re-solves to make in all (None: no limit). They are spent on the
            value of more money first, then on what each adoption displaced (largest
            benefit first), then on break-even searches in trust and product order; rows
            left without one say so, as do :attr:`Explanation.notes`.
        displaced: Whether to re-solve without each adoption.
        break_even: Whether to search for break-even prices.
        tolerance: Tolerance of the fallback bisection on the price factor (0.01: 1% of
            today's price), used when the least-cost threshold is not confirmed.
        workers: Processes for the break-even searches (one per option; the table is the
            same with any number). More than 1 needs ``max_resolves=None``.

    Returns:
        The explanation.

    Raises:
        ValueError: If the plan's adoptions are not options of this dataset, scenario and
            model, the tolerance is not in (0, 1), or ``workers > 1`` with a
            ``max_resolves`` limit.
    """
    start = time.perf_counter()
    scenario = scenario if scenario is not None else plan.scenario
    model = model or plan.model
    if scenario.model != model:
        scenario = scenario.replace(model=model)
    if not 0 < tolerance < 1:
        raise ValueError(f"tolerance must be between 0 and 1, not {tolerance!r}")
    if workers > 1 and max_resolves is not None:
        raise ValueError("workers > 1 needs max_resolves=None (a shared limit is not split)")
    options = build_options(dataset, scenario, model)
    index = options.option_index()
    plan_pairs = set(zip(plan.adoptions["trust"], plan.adoptions["product"], strict=True))
    missing = sorted(p for p in plan_pairs if p not in index)
    if missing:
        raise ValueError(
            "the plan does not match the dataset and scenario: "
            + ", ".join(f"{p} at {t}" for t, p in missing)
            + f" cannot be bought under the {model} model"
        )
    wanted = set(dataset.trusts.index) if trusts is None else {str(t) for t in trusts}
    unknown = sorted(wanted - set(dataset.trusts.index))
    if unknown:
        raise ValueError(f"unknown trust codes: {', '.join(unknown)}")

    resolver = _Resolver(dataset, scenario, model, max_resolves)
    notes: list[str] = []
    budget_value = _budget_value(resolver, plan, plan_pairs, notes)
    lam = budget_value.get("benefit_per_gbp")
    adoptions = _adoptions(dataset, options, plan, plan_pairs, wanted)
    if displaced:
        _displaced(resolver, options, plan_pairs, adoptions, notes)
    else:
        notes.append("what each adoption displaced was not computed (displaced=False)")
    not_chosen = _not_chosen(dataset, options, plan, plan_pairs, wanted, lam)
    if break_even:
        _break_even(resolver, options, plan, plan_pairs, not_chosen, tolerance, workers, notes)
    else:
        notes.append("break-even prices were not searched (break_even=False)")
    not_chosen = _finish_not_chosen(dataset, options, not_chosen)
    return Explanation(
        model=model,
        scenario=scenario,
        adoptions=adoptions,
        not_chosen=not_chosen,
        budget_value=budget_value,
        trusts=_trusts(dataset, options, plan),
        explained=tuple(tc for tc in dataset.trusts.index if tc in wanted),
        tolerance=tolerance,
        resolves=resolver.count,
        seconds=time.perf_counter() - start,
        notes=notes,
    )


def _budget_value(resolver: _Resolver, plan: Plan, plan_pairs: set, notes: list) -> dict:
    """The value of the next budget step: plan.marginal's figures, what it buys by re-solving."""
    sc = resolver.scenario
    marginal = plan.marginal or {}
    step = float(marginal.get("step_gbp") or sc.marginal_step_gbp or DEFAULT_STEP_GBP)
    out = {
        "step_gbp": step,
        "extra_benefit_gbp": marginal.get("extra_benefit_gbp"),
        "benefit_per_gbp": marginal.get("benefit_per_gbp"),
        "reliable": marginal.get("reliable"),
        "buys": None,
        "drops": None,
        "source": "plan.marginal" if marginal else None,
    }
    if resolver.can():
        got = resolver.solve(scenario=sc.replace(budget_gbp=plan.budget_gbp + step))
        if got is not None:
            pairs, benefit = got
            out["buys"] = _pair_list(pairs - plan_pairs)
            out["drops"] = _pair_list(plan_pairs - pairs)
            if not marginal:
                extra = benefit - plan.benefit_gbp
                out.update(
                    extra_benefit_gbp=extra,
                    benefit_per_gbp=extra / step,
                    source="re-solve",
                    reliable=plan.status == "optimal",
                )
    else:
        notes.append("what the next budget step buys was not re-solved (max_resolves)")
    if out["extra_benefit_gbp"] is None:
        out["text"] = "The value of more money is not known (no re-solve was allowed)."
        return out
    text = (
        f"The next {money(step)} of budget would bring {money(out['extra_benefit_gbp'])} more "
        f"benefit ({out['benefit_per_gbp']:.2f} per £1)"
    )
    if out["buys"]:
        text += ": " + _moves_text(out["buys"], out["drops"])
    elif out["buys"] is not None:
        text += ": nothing more can be bought with it"
    out["text"] = text + "."
    return out


def _moves_text(buys: list[str], drops: list[str] | None) -> str:
    gained = _by_trust(tuple(s.split(":", 1)) for s in buys)
    parts = [f"{t} adds {', '.join(ps)}" for t, ps in gained.items()]
    lost = _by_trust(tuple(s.split(":", 1)) for s in drops or [])
    parts += [f"{t} drops {', '.join(ps)}" for t, ps in lost.items()]
    return "; ".join(parts)


def _option_bill(options: Options, i: int, volume: dict) -> tuple[float, float]:
    """The trust's bill for option row ``i`` if added to the plan, and its per-study price.

    Fixed costs plus its studies at the tier its buying unit reaches with the plan's pooled
    volume of the product and its own (no platform).
    """
    t = options.table
    unit, product = t.at[i, "unit"], t.at[i, "product"]
    studies = float(t.at[i, "studies_per_year"])
    price = tier_price(options, product, volume.get((unit, product), 0.0) + studies)[1]
    bill = float(t.at[i, "fixed_cost_gbp"]) + price * studies * float(t.at[i, "study_factor"])
    return bill, price


def _platform_need(options: Options, i: int, platform_bought: set) -> float:
    """Platform cost option row ``i`` would add at its trust (0 if none is needed)."""
    t = options.table
    tc = t.at[i, "trust"]
    tr = options.trusts.loc[tc]
    if t.at[i, "needs_platform"] and not tr["has_platform"] and tc not in platform_bought:
        return float(tr["platform_gbp"])
    return 0.0


def _plan_state(options: Options, plan: Plan, plan_pairs: set) -> tuple[pd.DataFrame, dict, set]:
    """The plan's option rows, pooled volume per (unit, product) and trusts given a platform."""
    index = options.option_index()
    chosen = options.table.iloc[[index[p] for p in sorted(plan_pairs)]]
    volume = chosen.groupby(["unit", "product"])["studies_per_year"].sum().to_dict()
    platform_bought = set(plan.trusts.loc[plan.trusts["platform_bought"], "trust"])
    return chosen, volume, platform_bought


def _adoptions(
    dataset: Dataset, options: Options, plan: Plan, plan_pairs: set, wanted: set
) -> pd.DataFrame:
    """The adoption rows with benefit per pound, health and time figures and fits_because."""
    a = plan.adoptions[plan.adoptions["trust"].isin(wanted)].copy().reset_index(drop=True)
    t = options.table
    index = options.option_index()
    sc = options.scenario
    products = dataset.products
    rows = [index[(tc, pc)] for tc, pc in zip(a["trust"], a["product"], strict=True)]
    opt = t.iloc[rows].reset_index(drop=True)
    a["health_gbp"] = opt["health_gbp"].to_numpy()
    a["time_gbp"] = opt["time_gbp"].to_numpy()
    years_live = np.clip(sc.horizon_years - a["go_live_months"].to_numpy(float) / 12.0, 0, None)
    qalys = a["product"].map(products["qalys_per_1000"]).to_numpy(float) / 1000.0
    minutes = a["product"].map(products["minutes_saved_per_study"]).to_numpy(float)
    studies = a["studies_per_year"].to_numpy(float)
    a["qalys_over_horizon"] = studies * qalys * years_live
    a["radiologist_hours_per_year"] = studies * minutes / 60.0
    a["radiologist_hours_over_horizon"] = a["radiologist_hours_per_year"] * years_live

    chosen, volume, platform_bought = _plan_state(options, plan, plan_pairs)
    locked_in = {(lk.trust, lk.product) for lk in sc.locks if lk.adopt}
    needed_by: dict = defaultdict(list)
    for tc, pc, pre in zip(chosen["trust"], chosen["product"], chosen["prerequisite"], strict=True):
        if pre:
            needed_by[(tc, pre)].append(pc)
    by_trust_uc = t.groupby(["trust", "use_case"]).indices

    fits = []
    for r in a.itertuples(index=False):
        reasons = []
        if (r.trust, r.product) in locked_in:
            reasons.append("locked in by the scenario")
        if needed_by.get((r.trust, r.product)):
            reasons.append("prerequisite of " + ", ".join(sorted(needed_by[(r.trust, r.product)])))
        own_tier = tier_price(options, r.product, r.studies_per_year)[0]
        if int(r.tier) > own_tier:
            reasons.append(
                f"reaches a cheaper volume tier (tier {int(r.tier)}, "
                f"£{r.price_per_study_gbp:.2f} a study) with other trusts' adoptions"
            )
        mine = r.benefit_gbp / r.cost_gbp if r.cost_gbp > 0 else np.inf
        alts = [i for i in by_trust_uc[(r.trust, r.use_case)] if t.at[i, "product"] != r.product]
        if not alts:
            reasons.append("the only product for this use case here")
        else:
            ratios, benefits = [], []
            for i in alts:
                c = _option_bill(options, i, volume)[0] + _platform_need(
                    options, i, platform_bought
                )
                ratios.append(t.at[i, "benefit_gbp"] / c if c > 0 else np.inf)
                benefits.append(t.at[i, "benefit_gbp"])
            if mine >= max(ratios) - 1e-12:
                reasons.append("best benefit per £ for this use case at this trust")
            elif r.benefit_gbp >= max(benefits) - 1e-9:
                reasons.append(
                    "most benefit for this use case at this trust (the budget allows the "
                    "dearer choice)"
                )
        fits.append("; ".join(reasons) if reasons else "fits the budget with the rest of the plan")
    a["fits_because"] = fits
    a["displaced"] = "not re-solved"
    a["displaced_by"] = [[] for _ in range(len(a))]
    a["also_dropped"] = [[] for _ in range(len(a))]
    a["benefit_change_gbp"] = np.nan
    return a


def _displaced(
    resolver: _Resolver, options: Options, plan_pairs: set, a: pd.DataFrame, notes: list
) -> None:
    """Re-solve without each adoption (largest benefit first); fill the displaced columns."""
    sc = resolver.scenario
    t = options.table
    separable = _separable(options)
    benefit_of = dict(
        zip(zip(t["trust"], t["product"], strict=True), t["benefit_gbp"], strict=True)
    )
    unit_of = options.trusts["unit"]
    locked_in = {(lk.trust, lk.product) for lk in sc.locks if lk.adopt}
    skipped = 0
    for k in a.sort_values("benefit_gbp", ascending=False, kind="stable").index:
        tc, pc = a.at[k, "trust"], a.at[k, "product"]
        if (tc, pc) in locked_in:
            a.at[k, "displaced"] = "locked in by the scenario: not re-solved without it"
            continue
        if not resolver.can():
            skipped += 1
            a.at[k, "displaced"] = "not re-solved (max_resolves reached)"
            continue
        unit = unit_of[tc] if separable else None
        before = {p for p in plan_pairs if unit is None or unit_of[p[0]] == unit}
        got = resolver.solve(scenario=sc.replace(locks=[*sc.locks, Lock(tc, pc, False)]), unit=unit)
        if got is None:
            a.at[k, "displaced"] = "without it no plan meets the scenario (locks or fairness rules)"
            continue
        after, benefit_after = got
        change = benefit_after - sum(benefit_of[p] for p in before)
        new = after - before
        dropped = before - after - {(tc, pc)}
        a.at[k, "displaced_by"] = _pair_list(new)
        a.at[k, "also_dropped"] = _pair_list(dropped)
        a.at[k, "benefit_change_gbp"] = change
        parts = []
        if new:
            parts.append(
                ", ".join(f"{t_} takes {', '.join(ps)}" for t_, ps in _by_trust(new).items())
                + " instead"
            )
        else:
            parts.append("nothing else is bought in its place")
        if dropped:
            parts.append(
                ", ".join(
                    f"{t_} also drops {', '.join(ps)}" for t_, ps in _by_trust(dropped).items()
                )
            )
        sign = "+" if change >= 0 else "-"
        parts.append(f"benefit {sign}{money(abs(change))}")
        a.at[k, "displaced"] = "without it: " + "; ".join(parts)
    if skipped:
        notes.append(f"what {skipped} adoptions displaced was not re-solved (max_resolves)")


def _not_chosen(
    dataset: Dataset,
    options: Options,
    plan: Plan,
    plan_pairs: set,
    wanted: set,
    lam: float | None,
) -> pd.DataFrame:
    """One row per (trust, product) neither adopted nor in use, with its structural flags."""
    t = options.table
    index = options.option_index()
    sc = options.scenario
    route = sc.route(options.model)
    products = dataset.products
    trusts = options.trusts
    existing = set(options.existing)
    existing_uc = {(tc, products.at[pc, "use_case"]) for tc, pc in existing}
    locked_out = {(lk.trust, lk.product) for lk in sc.locks if not lk.adopt}
    chosen, volume, platform_bought = _plan_state(options, plan, plan_pairs)
    count = chosen.groupby("trust").size().to_dict()
    plan_uc = {
        (tc, uc): pc
        for tc, pc, uc in zip(chosen["trust"], chosen["product"], chosen["use_case"], strict=True)
    }
    have = plan_pairs | existing
    rows = []
    for tc in dataset.trusts.index:
        if tc not in wanted:
            continue
        for pc in products.index:
            if (tc, pc) in plan_pairs or (tc, pc) in existing:
                continue
            uc = products.at[pc, "use_case"]
            pre = products.at[pc, "prerequisite"]
            pre = "" if pre is None or (isinstance(pre, float) and np.isnan(pre)) else str(pre)
            row = {
                "trust": tc,
                "trust_name": dataset.trusts.at[tc, "trust_name"],
                "product": pc,
                "product_name": products.at[pc, "product_name"],
                "use_case": uc,
                "reason_code": "",
                "reason": "",
                "benefit_gbp": np.nan,
                "cost_gbp": np.nan,
                "platform_gbp": np.nan,
                "benefit_per_gbp": np.nan,
                "search": "",
                "_price": np.nan,
            }
            i = index.get((tc, pc))
            if i is None:
                if (tc, uc) in existing_uc:
                    in_use = next(
                        p for t_, p in existing if t_ == tc and products.at[p, "use_case"] == uc
                    )
                    row["reason_code"] = "use_case_in_use"
                    row["reason"] = (
                        f"use case already covered by {products.at[in_use, 'product_name']} "
                        f"({in_use}), already in use"
                    )
                elif route.framework_only and not bool(products.at[pc, "framework"]):
                    row["reason_code"] = "framework"
                    row["reason"] = "not on the national framework"
                else:
                    row["reason_code"] = "no_studies"
                    row["reason"] = (
                        f"the trust reads no {products.at[pc, 'modality']} studies this "
                        "product applies to"
                    )
                row["search"] = "not searched: not an option here"
                rows.append(row)
                continue
            bill, price = _option_bill(options, i, volume)
            platform = _platform_need(options, i, platform_bought)
            row["benefit_gbp"] = float(t.at[i, "benefit_gbp"])
            row["cost_gbp"] = bill
            row["platform_gbp"] = platform
            row["_price"] = price
            outlay = bill + platform
            row["benefit_per_gbp"] = row["benefit_gbp"] / outlay if outlay > 0 else np.inf
            tr = trusts.loc[tc]
            if (tc, pc) in locked_out:
                row["reason_code"] = "locked_out"
                row["reason"] = "kept out by a lock in the scenario"
                row["search"] = "not searched: locked out"
            elif pre and (tc, pre) not in existing and (tc, pre) not in index:
                row["reason_code"] = "prerequisite_unavailable"
                row["reason"] = (
                    f"needs prerequisite {pre} which the trust does not have (and cannot buy "
                    f"under the {options.model} model)"
                )
                row["search"] = "not searched: prerequisite cannot be bought"
            elif (tc, uc) in plan_uc:
                q = plan_uc[(tc, uc)]
                row["reason_code"] = "use_case"
                row["reason"] = (
                    f"use case already covered by {products.at[q, 'product_name']} ({q})"
                )
            elif count.get(tc, 0) >= int(tr["it_capacity"]):
                row["reason_code"] = "capacity"
                n = int(tr["it_capacity"])
                row["reason"] = f"IT capacity full ({count.get(tc, 0)} of {n})"
            elif pre and (tc, pre) not in have:
                row["reason_code"] = "prerequisite"
                row["reason"] = f"needs prerequisite {pre} which the trust does not have"
            else:
                row["reason_code"] = "budget"
                row["reason"] = _budget_reason(row["benefit_per_gbp"], lam, plan, tc, options)
                if platform > 0:
                    row["reason"] += (
                        f" (it would also need a deployment platform, {money(platform)})"
                    )

            rows.append(row)
    frame = pd.DataFrame(rows, columns=NOT_CHOSEN_COLUMNS)
    for col in BREAK_EVEN_COLUMNS:
        frame[col] = np.nan
    frame["break_even"] = ""
    frame["confirmed"] = False
    return frame


def _budget_reason(bpg: float, lam: float | None, plan: Plan, trust: str, options: Options) -> str:
    if lam is not None and np.isfinite(bpg) and bpg < lam:
        return (
            f"budget: benefit per £ ({bpg:.2f}) below what the money buys "
            f"({lam:.2f} per £ at the margin)"
        )
    unit = options.trusts.at[trust, "unit"]
    units = plan.units.set_index("buying_unit")
    slack = float(units.at[unit, "slack_gbp"]) if unit in units.index else float("nan")
    return (
        f"budget: benefit per £ ({bpg:.2f}) is good but it does not fit in the money left "
        f"({money(slack)}) without dropping adoptions worth more"
    )


# ---------------------------------------------------------------------------------------
# break-even prices


@dataclass(frozen=True)
class _Search:
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


def _objective_floor(options: Options, plan_pairs: set, plan: Plan) -> float:
    """The plan's objective without the cost tie-break, over the options given."""
    index = options.option_index()
    w = options.table["weighted_benefit_gbp"].to_numpy()
    # sorted: a set iterates in a per-process order, and float sums depend on the order
    total = float(sum(w[index[p]] for p in sorted(plan_pairs) if p in index))
    if options.scenario.maximin_weight_gbp > 0:
        total += options.scenario.maximin_weight_gbp * min(plan.evaluation.min_coverage, 1.0)
    return total


def _least_cost_with(options: Options, i: int, unit: str, target: float) -> float | None:
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


def _chosen_with_rebate(options: Options, trust: str, product: str, rebate: float) -> bool:
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


def _search_option(dataset: Dataset, job: _Search, options: Options | None = None) -> dict:
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
        least = _least_cost_with(options, i, unit, job.target)
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
        if _chosen_with_rebate(options, job.trust, job.product, (1.0 - probe) * bill):
            status = "found by a least-cost re-solve and confirmed"
            return {"factor": factor, "confirmed": True, "status": status, "solves": solves}
        # solver-gap noise: bisection on [0, probe] with normal re-solves
        lo, hi = None, probe
        if allowed():
            solves += 1
            if _chosen_with_rebate(options, job.trust, job.product, bill):
                lo = 0.0
        if lo is None:
            status = "not chosen even free (the least-cost estimate was not confirmed)"
            return {"factor": None, "confirmed": False, "status": status, "solves": solves}
        while hi - lo > job.tolerance and allowed():
            mid = (lo + hi) / 2.0
            solves += 1
            if _chosen_with_rebate(options, job.trust, job.product, (1.0 - mid) * bill):
                lo = mid
            else:
                hi = mid
        status = f"found by bisection (between {lo:.3f} and {hi:.3f}) and confirmed"
        return {"factor": lo, "confirmed": True, "status": status, "solves": solves}
    except SolverError as exc:  # a time-out decides nothing: say so, never "not chosen"
        status = f"undecided: {exc}"
        return {"factor": None, "confirmed": False, "status": status, "solves": solves}


def _break_even(
    resolver: _Resolver,
    options: Options,
    plan: Plan,
    plan_pairs: set,
    nc: pd.DataFrame,
    tol: float,
    workers: int,
    notes: list,
) -> None:
    """Search the break-even factor of every searchable row of ``nc``; fill its columns."""
    todo = [k for k in nc.index if nc.at[k, "search"] == ""]
    if not todo:
        return
    separable = _separable(options)
    unit_of = options.trusts["unit"]
    scoped: dict = {}  # options and objective target per buying unit (or all)

    def scope(unit):
        if unit not in scoped:
            part = options.for_units([unit]) if unit is not None else options
            scoped[unit] = (part, _objective_floor(part, plan_pairs, plan))
        return scoped[unit]

    def job(k, max_solves):
        tc = nc.at[k, "trust"]
        unit = unit_of[tc] if separable else None
        return _Search(
            resolver.scenario,
            resolver.model,
            unit,
            tc,
            nc.at[k, "product"],
            float(nc.at[k, "cost_gbp"]),
            scope(unit)[1],
            tol,
            max_solves,
        )

    if workers > 1:
        jobs = [job(k, None) for k in todo]
        results = run_jobs(_search_option, resolver.dataset, jobs, workers=workers)
    else:
        results = []
        for k in todo:
            left = resolver.left()
            if left == 0:
                results.append(None)
                continue
            j = job(k, left)
            results.append(_search_option(resolver.dataset, j, scope(j.unit)[0]))
            resolver.count += results[-1]["solves"]
    if workers > 1:
        resolver.count += sum(r["solves"] for r in results)
    skipped = 0
    for k, res in zip(todo, results, strict=True):
        if res is None:
            nc.at[k, "search"] = "skipped: max_resolves reached"
            skipped += 1
            continue
        nc.at[k, "search"] = res["status"]
        nc.at[k, "confirmed"] = res["confirmed"]
        if res["factor"] is not None:
            nc.at[k, "break_even_price_factor"] = res["factor"]
    if skipped:
        notes.append(f"break-even prices of {skipped} options were not searched (max_resolves)")


def _finish_not_chosen(dataset: Dataset, options: Options, nc: pd.DataFrame) -> pd.DataFrame:
    """Fill the break-even prices and texts from the factors; drop helper columns."""
    helpers = [c for c in nc.columns if c.startswith("_")]
    if nc.empty:
        return nc.drop(columns=helpers)
    route = options.scenario.route(options.model)
    products = dataset.products
    for k in nc.index:
        f = nc.at[k, "break_even_price_factor"]
        pc = nc.at[k, "product"]
        search = nc.at[k, "search"]
        if np.isfinite(f):
            impl = float(products.at[pc, "implementation_gbp"]) * route.implementation_share * f
            lic = float(products.at[pc, "licence_gbp_per_year"]) * route.licence_share * f
            per = float(nc.at[k, "_price"]) * f
            nc.at[k, "price_cut_pct"] = 100.0 * (1.0 - f)
            nc.at[k, "break_even_cost_gbp"] = float(nc.at[k, "cost_gbp"]) * f
            nc.at[k, "break_even_implementation_gbp"] = impl
            nc.at[k, "break_even_licence_gbp_per_year"] = lic
            nc.at[k, "break_even_price_per_study_gbp"] = per
            nc.at[k, "break_even"] = _break_even_text(f, impl, lic, per)
        elif search.startswith("not chosen even free"):
            nc.at[k, "break_even"] = "not chosen even if free"
            if nc.at[k, "reason_code"] == "budget":
                nc.at[k, "reason"] += "; not chosen even if free"
        elif search.startswith("not searched"):
            nc.at[k, "break_even"] = "no price makes it chosen"
        else:
            nc.at[k, "break_even"] = "not searched"
    return nc.drop(columns=helpers).reset_index(drop=True)


def _break_even_text(f: float, impl: float, lic: float, per: float) -> str:
    if f <= 0:
        return "chosen only if free"
    parts = []
    if impl > 0:
        parts.append(f"implementation {pounds(impl)}")
    if lic > 0:
        parts.append(f"licence {pounds(lic)} a year")
    if per > 0:
        parts.append(f"£{per:,.2f} a study")
    prices = f" ({', '.join(parts)})" if parts else ""
    cut = 100 * (1 - f)
    pct = f"{cut:.1f}%" if cut < 1 else f"{cut:.0f}%"
    return f"chosen if its prices for this trust fall by more than {pct}{prices}"


def _trusts(dataset: Dataset, options: Options, plan: Plan) -> pd.DataFrame:
    """Per trust: coverage before and after, rank in its ICS, and what is already in use."""
    p = plan.trusts.set_index("trust")
    tr = options.trusts
    before = coverage_share(tr["existing_studies"], tr["addressable_studies"]).to_numpy()
    out = pd.DataFrame(
        {
            "trust": tr.index,
            "trust_name": dataset.trusts.loc[tr.index, "trust_name"].to_numpy(),
            "ics": tr["ics"].to_numpy(),
            "adoptions": p.loc[tr.index, "adoptions"].to_numpy(),
            "it_capacity": tr["it_capacity"].to_numpy(),
            "coverage_before": before,
            "coverage": p.loc[tr.index, "coverage"].to_numpy(),
            "cost_gbp": p.loc[tr.index, "cost_gbp"].to_numpy(),
            "benefit_gbp": p.loc[tr.index, "benefit_gbp"].to_numpy(),
            "benefit_per_capita_gbp": p.loc[tr.index, "benefit_per_capita_gbp"].to_numpy(),
            "platform_bought": p.loc[tr.index, "platform_bought"].to_numpy(),
            "imd_quintile": tr["imd_quintile"].to_numpy(),
        }
    )
    out["coverage_rank"] = (
        out.groupby("ics")["coverage"].rank(ascending=False, method="min").astype("Int64")
    )
    out["trusts_in_ics"] = out.groupby("ics")["trust"].transform("size")
    in_use = dataset.deployments.groupby("trust_code")["product_code"].apply(sorted)
    out["in_use"] = [list(in_use.get(tc, [])) for tc in out["trust"]]
    return out.reset_index(drop=True)
