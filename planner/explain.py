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

**Fewer solves, same results.** A solve is skipped only where its outcome is proven
(``shortcuts``, on by default; see :mod:`planner.resolve`): a lower bound on the least cost
(its linear relaxation) beyond the budget plus the whole bill settles "not chosen even
free"; the plan's proven bound confirms a threshold when the least-cost plan beats every
plan without the option by more than the solver's gap; re-solves made before in the process
(same data, scenario and option) are reused. The other solves are the same MILPs as before,
so every figure is the one the full method gives (``shortcuts=False``, checked by the tests
and ``tests/golden``). The re-solves run on ``workers`` threads (2 unless a
``max_resolves`` limit is set), since HiGHS releases the GIL while it solves.

This module decides which reasons hold and assembles the tables; the re-solves are made by
:mod:`planner.resolve`, the sentences come from :mod:`planner.explain_text`, and
:mod:`planner.explain_output` writes the tables and the trust pages to a folder.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planner.data import Dataset
from planner.economics import Options, build_options, coverage_share
from planner.evaluate import tier_price
from planner.explain_text import (
    NO_BREAK_EVEN_TEXT,
    NOT_DISPLACED_TEXT,
    break_even_text,
    budget_reason,
    budget_value_text,
    displaced_text,
    fits_because,
    not_chosen_reason,
    platform_note,
)
from planner.formatting import pair_list
from planner.plan import Plan
from planner.resolve import (
    BreakEvenSearch,
    LeastCostModels,
    Resolver,
    objective_floor,
    plan_upper_bound,
    rebate_options,
    run_threads,
    separable,
)
from planner.scenario import Lock, Scenario

__all__ = ["REASON_CODES", "Explanation", "explain_plan", "rebate_options"]

#: Default bisection tolerance on the price factor (fallback search): 1% of today's price.
DEFAULT_TOLERANCE = 0.01
#: Worker threads for the re-solves when not given (and no ``max_resolves`` limit).
DEFAULT_WORKERS = 2
#: Budget step used when the scenario's ``marginal_step_gbp`` is 0.
DEFAULT_STEP_GBP = 100_000.0
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
        shortcuts: Re-solves the shortcuts made unnecessary, by kind (``settled_by_bound``:
            "not chosen even free" from a bound on the least cost; ``confirmed_by_bound``:
            a threshold the plan's bound confirms; ``cached``: results this process had
            already solved). They change no figure, only the time taken.
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
    shortcuts: dict = field(default_factory=dict)

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
    workers: int | None = None,
    shortcuts: bool = True,
) -> Explanation:
    """Explain ``plan``: reasons for every adoption and non-adoption, and the value of money.

    Cost: one re-solve for the value of money (none if the plan carries it or this process
    solved it before), one per adoption (what it displaced) and one per option not chosen
    (least cost), plus a confirming solve only where the plan's bound does not prove the
    threshold (more only if the bisection fallback runs). The re-solves run on ``workers``
    threads (HiGHS releases the GIL while it solves). On larger data pass ``trusts`` or
    ``max_resolves``.

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
        workers: Threads for the re-solves (the tables are the same with any number). None:
            :data:`DEFAULT_WORKERS` without ``max_resolves``, else 1. More than 1 needs
            ``max_resolves=None``.
        shortcuts: Whether to skip the solves whose outcome a bound proves (a least cost
            whose relaxation is already too dear; a threshold the plan's bound confirms),
            reuse re-solves made before in this process (same data and scenario) and build
            one least-cost model per worker. The results are the same either way (``False``
            is the full method, for checking that); :attr:`Explanation.shortcuts` counts
            the solves saved.

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
    if workers is None:
        workers = DEFAULT_WORKERS if max_resolves is None else 1
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

    resolver = Resolver(dataset, scenario, model, max_resolves, cache=shortcuts)
    notes: list[str] = []
    adoptions = _adoptions(dataset, options, plan, plan_pairs, wanted)
    not_chosen = _not_chosen(dataset, options, plan, plan_pairs, wanted)
    # every re-solve is a job of the re-solves left (None: no limit), in the order the limit
    # spends them: the value of more money, what each adoption displaced, break-even prices
    money = _budget_job(resolver, plan)
    if displaced:
        displace = _displaced_jobs(resolver, options, plan_pairs, adoptions)
    else:
        displace = []
        notes.append("what each adoption displaced was not computed (displaced=False)")
    if break_even:
        search = _break_even_jobs(
            resolver, options, plan, plan_pairs, not_chosen, tolerance, shortcuts
        )
    else:
        search = []
        notes.append("break-even prices were not searched (break_even=False)")
    jobs = ([money] if money is not None else []) + [j for _, j in displace + search]
    results = _run(resolver, jobs, workers)
    marginal = results.pop(0) if money is not None else None
    budget_value = _budget_value(resolver, plan, marginal, notes)
    _fill_budget_reasons(options, plan, not_chosen, budget_value.get("benefit_per_gbp"))
    _fill_displaced(options, plan_pairs, adoptions, displace, results[: len(displace)], notes)
    saved = _fill_break_even(not_chosen, search, results[len(displace) :], notes)
    saved["cached"] = resolver.cache_hits
    not_chosen = _finish_not_chosen(options, not_chosen)
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
        shortcuts=saved,
    )


#: A job the limit on re-solves left no room for.
SKIPPED = object()


def _run(resolver: Resolver, jobs: list, workers: int) -> list:
    """Run the re-solve jobs (functions of the re-solves left) in order; results in order.

    With one worker, one after another while the limit allows (a job it leaves no room for
    gives :data:`SKIPPED`); with more, on worker threads (no limit).
    """
    if workers > 1:
        return run_threads(lambda job: job(None), jobs, workers)
    out = []
    for job in jobs:
        left = resolver.left()
        out.append(SKIPPED if left == 0 else job(left))
    return out


def _plan_marginal(plan: Plan) -> dict:
    """The plan's own marginal block, if it carries one ({} if not)."""
    marginal = plan.marginal or {}
    return marginal if marginal.get("computed", True) else {}


def _budget_step(resolver: Resolver, plan: Plan) -> float:
    marginal = _plan_marginal(plan)
    sc = resolver.scenario
    return float(marginal.get("step_gbp") or sc.marginal_step_gbp or DEFAULT_STEP_GBP)


def _budget_job(resolver: Resolver, plan: Plan):
    """The re-solve for what the next budget step buys; None if the plan carries it."""
    if _plan_marginal(plan):
        return None
    step = _budget_step(resolver, plan)
    return lambda left: resolver.marginal(plan, step)


def _budget_value(resolver: Resolver, plan: Plan, solved, notes: list) -> dict:
    """What the next budget step buys: the plan's marginal block, or one re-solve for it.

    Both come from :func:`planner.plan.marginal_value`, so the figures, what is bought and
    the reliability rule are the same whether the plan carried them or not, and the step is
    never solved twice. ``solved`` is the re-solve's result (None: not made, or no plan;
    :data:`SKIPPED`: the limit left no room).
    """
    marginal = _plan_marginal(plan)
    step = _budget_step(resolver, plan)
    source = "plan.marginal" if marginal else None
    if not marginal:
        if solved is SKIPPED:
            notes.append("what the next budget step buys was not re-solved (max_resolves)")
        else:
            marginal = solved or {}
            source = "re-solve" if marginal else None
    out = {
        "step_gbp": step,
        "extra_benefit_gbp": marginal.get("extra_benefit_gbp"),
        "benefit_per_gbp": marginal.get("benefit_per_gbp"),
        "reliable": marginal.get("reliable"),
        "buys": marginal.get("buys"),
        "drops": marginal.get("drops"),
        "source": source,
    }
    out["text"] = budget_value_text(
        step,
        out["extra_benefit_gbp"],
        out["benefit_per_gbp"],
        out["buys"],
        out["drops"],
        resolver.dataset.names(),
    )
    return out


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
        reasons: list[tuple[str, dict]] = []
        if (r.trust, r.product) in locked_in:
            reasons.append(("locked_in", {}))
        if needed_by.get((r.trust, r.product)):
            products_needing = ", ".join(sorted(needed_by[(r.trust, r.product)]))
            reasons.append(("prerequisite_of", {"products": products_needing}))
        own_tier = tier_price(options, r.product, r.studies_per_year)[0]
        if int(r.tier) > own_tier:
            reasons.append(("tier", {"tier": int(r.tier), "price": r.price_per_study_gbp}))
        mine = r.benefit_gbp / r.cost_gbp if r.cost_gbp > 0 else np.inf
        alts = [i for i in by_trust_uc[(r.trust, r.use_case)] if t.at[i, "product"] != r.product]
        if not alts:
            reasons.append(("only_product", {}))
        else:
            ratios, benefits = [], []
            for i in alts:
                c = _option_bill(options, i, volume)[0] + _platform_need(
                    options, i, platform_bought
                )
                ratios.append(t.at[i, "benefit_gbp"] / c if c > 0 else np.inf)
                benefits.append(t.at[i, "benefit_gbp"])
            if mine >= max(ratios) - 1e-12:
                reasons.append(("best_value", {}))
            elif r.benefit_gbp >= max(benefits) - 1e-9:
                reasons.append(("most_benefit", {}))
        fits.append(fits_because(reasons))
    a["fits_because"] = fits
    a["displaced"] = NOT_DISPLACED_TEXT["not_resolved"]
    a["displaced_by"] = [[] for _ in range(len(a))]
    a["also_dropped"] = [[] for _ in range(len(a))]
    a["benefit_change_gbp"] = np.nan
    return a


def _displaced_jobs(
    resolver: Resolver, options: Options, plan_pairs: set, a: pd.DataFrame
) -> list[tuple]:
    """Re-solves without each adoption (largest benefit first): ``(row, job)`` pairs.

    Adoptions locked in are not re-solved; their text says so.
    """
    sc = resolver.scenario
    by_unit = separable(options)
    unit_of = options.trusts["unit"]
    locked_in = {(lk.trust, lk.product) for lk in sc.locks if lk.adopt}
    jobs = []
    for k in a.sort_values("benefit_gbp", ascending=False, kind="stable").index:
        tc, pc = a.at[k, "trust"], a.at[k, "product"]
        if (tc, pc) in locked_in:
            a.at[k, "displaced"] = NOT_DISPLACED_TEXT["locked_in"]
            continue
        unit = unit_of[tc] if by_unit else None
        without = sc.replace(locks=[*sc.locks, Lock(tc, pc, False)])
        jobs.append((k, lambda left, s=without, u=unit: resolver.solve(scenario=s, unit=u)))
    return jobs


def _fill_displaced(
    options: Options, plan_pairs: set, a: pd.DataFrame, jobs: list, results: list, notes: list
) -> None:
    """Fill the displaced columns from the re-solves without each adoption."""
    t = options.table
    by_unit = separable(options)
    benefit_of = dict(
        zip(zip(t["trust"], t["product"], strict=True), t["benefit_gbp"], strict=True)
    )
    unit_of = options.trusts["unit"]
    skipped = 0
    for (k, _), got in zip(jobs, results, strict=True):
        tc, pc = a.at[k, "trust"], a.at[k, "product"]
        if got is SKIPPED:
            skipped += 1
            a.at[k, "displaced"] = NOT_DISPLACED_TEXT["limit"]
            continue
        if got is None:
            a.at[k, "displaced"] = NOT_DISPLACED_TEXT["infeasible"]
            continue
        unit = unit_of[tc] if by_unit else None
        before = {p for p in plan_pairs if unit is None or unit_of[p[0]] == unit}
        after, benefit_after = got
        change = benefit_after - sum(benefit_of[p] for p in before)
        new = after - before
        dropped = before - after - {(tc, pc)}
        a.at[k, "displaced_by"] = pair_list(new)
        a.at[k, "also_dropped"] = pair_list(dropped)
        a.at[k, "benefit_change_gbp"] = change
        a.at[k, "displaced"] = displaced_text(new, dropped, change, options.names)
    if skipped:
        notes.append(f"what {skipped} adoptions displaced was not re-solved (max_resolves)")


def _not_chosen(
    dataset: Dataset,
    options: Options,
    plan: Plan,
    plan_pairs: set,
    wanted: set,
) -> pd.DataFrame:
    """One row per (trust, product) neither adopted nor in use, with its structural flags.

    The reason of a ``budget`` row names what money buys at the margin, so it is left empty
    here and filled by :func:`_fill_budget_reasons` once that is known.
    """
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
                    code = "use_case_in_use"
                    facts = {"other": in_use, "other_name": products.at[in_use, "product_name"]}
                elif route.framework_only and not bool(products.at[pc, "framework"]):
                    code, facts = "framework", {}
                else:
                    code, facts = "no_studies", {"modality": products.at[pc, "modality"]}
                row["reason_code"] = code
                row["reason"] = not_chosen_reason(code, **facts)
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
                code, facts = "locked_out", {}
                row["search"] = "not searched: locked out"
            elif pre and (tc, pre) not in existing and (tc, pre) not in index:
                code, facts = "prerequisite_unavailable", {"prerequisite": pre}
                facts["model"] = options.model
                row["search"] = "not searched: prerequisite cannot be bought"
            elif (tc, uc) in plan_uc:
                q = plan_uc[(tc, uc)]
                code, facts = "use_case", {"other": q, "other_name": products.at[q, "product_name"]}
            elif count.get(tc, 0) >= int(tr["it_capacity"]):
                code = "capacity"
                facts = {"used": count.get(tc, 0), "capacity": int(tr["it_capacity"])}
            elif pre and (tc, pre) not in have:
                code, facts = "prerequisite", {"prerequisite": pre}
            else:
                code, facts = "budget", None
            row["reason_code"] = code
            if facts is not None:
                row["reason"] = not_chosen_reason(code, **facts)

            rows.append(row)
    frame = pd.DataFrame(rows, columns=NOT_CHOSEN_COLUMNS)
    for col in BREAK_EVEN_COLUMNS:
        frame[col] = np.nan
    frame["break_even"] = ""
    frame["confirmed"] = False
    return frame


def _fill_budget_reasons(options: Options, plan: Plan, nc: pd.DataFrame, lam) -> None:
    """The reason of each ``budget`` row: its benefit per pound against the margin's."""
    units = plan.units.set_index("buying_unit")
    unit_of = options.trusts["unit"]
    for k in nc.index[nc["reason_code"] == "budget"]:
        unit = unit_of[nc.at[k, "trust"]]
        slack = float(units.at[unit, "slack_gbp"]) if unit in units.index else np.nan
        reason = budget_reason(nc.at[k, "benefit_per_gbp"], lam, slack)
        platform = nc.at[k, "platform_gbp"]
        if platform > 0:
            reason += platform_note(platform)
        nc.at[k, "reason"] = reason


def _break_even_jobs(
    resolver: Resolver,
    options: Options,
    plan: Plan,
    plan_pairs: set,
    nc: pd.DataFrame,
    tol: float,
    shortcuts: bool,
) -> list[tuple]:
    """The break-even search of every searchable row of ``nc``: ``(row, job)`` pairs."""
    todo = [k for k in nc.index if nc.at[k, "search"] == ""]
    if not todo:
        return []
    by_unit = separable(options)
    unit_of = options.trusts["unit"]
    scoped: dict = {}  # options, objective target and proven bound per buying unit (or all)
    models = LeastCostModels() if shortcuts else None

    def scope(unit):
        if unit not in scoped:
            part = options.for_units([unit]) if unit is not None else options
            upper = None
            if shortcuts:
                upper = plan_upper_bound(
                    part, plan_pairs, plan, unit is None, resolver.scenario, resolver.model
                )
            scoped[unit] = (part, objective_floor(part, plan_pairs, plan), upper)
        return scoped[unit]

    def job(k):
        tc = nc.at[k, "trust"]
        unit = unit_of[tc] if by_unit else None
        part, target, upper = scope(unit)  # made here, in order, not on the worker threads

        def run(left):
            search = BreakEvenSearch(
                resolver.scenario,
                resolver.model,
                unit,
                tc,
                nc.at[k, "product"],
                float(nc.at[k, "cost_gbp"]),
                target,
                tol,
                left,
                upper,
            )
            return resolver.search(search, part, models)

        return run

    return [(k, job(k)) for k in todo]


def _fill_break_even(nc: pd.DataFrame, jobs: list, results: list, notes: list) -> dict:
    """Fill the break-even columns of ``nc`` from the searches; count the bounds used."""
    skipped = 0
    saved = {"settled_by_bound": 0, "confirmed_by_bound": 0}
    for (k, _), res in zip(jobs, results, strict=True):
        if res is SKIPPED:
            nc.at[k, "search"] = "skipped: max_resolves reached"
            skipped += 1
            continue
        if res.get("by") == "bound":
            saved["confirmed_by_bound" if res["confirmed"] else "settled_by_bound"] += 1
        nc.at[k, "search"] = res["status"]
        nc.at[k, "confirmed"] = res["confirmed"]
        if res["factor"] is not None:
            nc.at[k, "break_even_price_factor"] = res["factor"]
    if skipped:
        notes.append(f"break-even prices of {skipped} options were not searched (max_resolves)")
    return saved


def _finish_not_chosen(options: Options, nc: pd.DataFrame) -> pd.DataFrame:
    """Fill the break-even prices and texts from the factors; drop helper columns."""
    helpers = [c for c in nc.columns if c.startswith("_")]
    if nc.empty:
        return nc.drop(columns=helpers)
    index = options.option_index()
    t = options.table
    for k in nc.index:
        f = nc.at[k, "break_even_price_factor"]
        i = index.get((nc.at[k, "trust"], nc.at[k, "product"]))
        search = nc.at[k, "search"]
        if np.isfinite(f):
            impl = float(t.at[i, "implementation_price_gbp"]) * f
            lic = float(t.at[i, "licence_price_gbp"]) * f
            per = float(nc.at[k, "_price"]) * f
            nc.at[k, "price_cut_pct"] = 100.0 * (1.0 - f)
            nc.at[k, "break_even_cost_gbp"] = float(nc.at[k, "cost_gbp"]) * f
            nc.at[k, "break_even_implementation_gbp"] = impl
            nc.at[k, "break_even_licence_gbp_per_year"] = lic
            nc.at[k, "break_even_price_per_study_gbp"] = per
            nc.at[k, "break_even"] = break_even_text(f, impl, lic, per)
        elif search.startswith("not chosen even free"):
            nc.at[k, "break_even"] = NO_BREAK_EVEN_TEXT["free"]
            if nc.at[k, "reason_code"] == "budget":
                nc.at[k, "reason"] += "; " + NO_BREAK_EVEN_TEXT["free"]
        elif search.startswith("not searched"):
            nc.at[k, "break_even"] = NO_BREAK_EVEN_TEXT["structural"]
        else:
            nc.at[k, "break_even"] = NO_BREAK_EVEN_TEXT["unsearched"]
    return nc.drop(columns=helpers).reset_index(drop=True)


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
