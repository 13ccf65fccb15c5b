"""Score any plan, hand-made or optimised, with the same arithmetic as the optimiser.

:func:`evaluate` takes an options table and a set of (trust, product) adoptions and returns
each adoption's cost (at the price tier its buying unit reaches) and benefit, the platform
costs, each buying unit's spend against its budget, trust coverage, the objective, and every
rule the plan breaks. The optimiser's plans are checked against it on every solve.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planner.economics import (
    COST_TIE_BREAK,
    TIER_TOLERANCE,
    OptionFigures,
    Options,
    coverage_share,
    tier_index,
)
from planner.equity_rules import adoption_targets, coverage_rules
from planner.formatting import pounds

BUDGET_TOLERANCE_GBP = 0.5


@dataclass
class Evaluation:
    """The score of one plan.

    Attributes:
        adoptions: One row per adoption: trust, product, ics, unit, use_case, studies,
            tier, price_per_study_gbp, cost_gbp, benefit_gbp, weighted_benefit_gbp, ...
        trusts: One row per trust: cost_gbp (including platform), benefit_gbp, coverage,
            adoptions, can_adopt (something is left it could buy), platform_bought, ...
        units: One row per buying unit: budget_gbp, cost_gbp, slack_gbp.
        cost_gbp: Total present-value cost.
        benefit_gbp: Total present-value benefit, unweighted.
        weighted_benefit_gbp: Total benefit with equity weights.
        min_coverage: Lowest coverage of any trust with addressable studies.
        objective: weighted benefit + maximin term - cost tie-break (what the MILP maximises).
        violations: Every rule the plan breaks, in words; empty for a feasible plan.
    """

    adoptions: pd.DataFrame
    trusts: pd.DataFrame
    units: pd.DataFrame
    cost_gbp: float
    benefit_gbp: float
    weighted_benefit_gbp: float
    min_coverage: float
    objective: float
    violations: list[str] = field(default_factory=list)

    @property
    def feasible(self) -> bool:
        """Whether the plan breaks no rule."""
        return not self.violations


def tier_price(options: Options, product: str, volume: float) -> tuple[int, float]:
    """Return (tier, price per study) that ``volume`` studies a year reach for ``product``.

    All-units discount: the highest tier whose threshold the volume reaches prices every
    study.
    """
    tiers, mins, prices = options.tier_arrays()[product]
    k = tier_reached(mins, volume)
    return int(tiers[k]), float(prices[k])


def tier_reached(mins: np.ndarray, volume: float) -> int:
    """Index of the tier (0 = the first) that ``volume`` studies a year reach.

    :func:`planner.economics.tier_index` for one purchase, without its arrays.
    """
    if np.ndim(volume) == 0:
        reach = float(volume) + TIER_TOLERANCE
        return max(sum(reach >= m for m in mins.tolist()) - 1, 0)
    return int(tier_index(mins, volume))


def selection_mask(options: Options, adoptions: Iterable[tuple[str, str]]):
    """Turn (trust, product) pairs into a boolean mask over the options table.

    Returns:
        The mask and the list of pairs that are not options under this model.
    """
    index = options.option_index()
    mask = np.zeros(len(options.table), dtype=bool)
    missing = []
    for pair in adoptions:
        pair = (str(pair[0]), str(pair[1]))
        if pair in index:
            mask[index[pair]] = True
        else:
            missing.append(pair)
    return mask, missing


def group_sums(values: np.ndarray, ids: np.ndarray, n: int) -> np.ndarray:
    """Per group ``0..n-1``, the sum of ``values``, to the last bit as a pandas group-by sums it.

    ``ids`` number each value's group in sorted group order (pandas' numbering). pandas 3.1
    sums with ``numpy.add.reduceat`` when the ids never decrease along the rows and no value
    is NaN, and otherwise with a compensated (Kahan) sum in row order that skips NaN; so
    does this, and the scorer's figures are the floats pandas would give. Empty groups sum
    to 0.
    """
    out = np.zeros(n)
    values = np.asarray(values, dtype=float)
    if not len(values):
        return out
    if (ids[1:] >= ids[:-1]).all() and not np.isnan(values).any():
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        out[ids[starts]] = np.add.reduceat(values, starts)
        return out
    total, comp = [0.0] * n, [0.0] * n
    for value, g in zip(values.tolist(), ids.tolist(), strict=True):
        if value != value:
            continue
        y = value - comp[g]
        t = total[g] + y
        c = t - total[g] - y
        comp[g] = 0.0 if c != c else c
        total[g] = t
    return np.array(total)


def _ranks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values sorted, and each value's position among them (a group number)."""
    if not len(values):
        return values, np.zeros(0, dtype=np.intp)
    names, rank = np.unique(values, return_inverse=True)
    return names, rank.reshape(-1)


@dataclass(frozen=True)
class PlanScore:
    """The figures of one plan (see :class:`PlanScorer`); per trust in ``options.trusts`` order.

    Attributes:
        rows: Positions of the adopted options in the options table.
        tier, price_per_study_gbp, per_study_cost_gbp, cost_gbp_by_option: Per adopted
            option: the tier its purchase group's pooled volume reaches, the price per study
            there, its per-study cost and its cost (fixed plus per-study).
        trust_adoptions, trust_adoption_cost_gbp, trust_benefit_gbp,
            trust_weighted_benefit_gbp, trust_studies: Per trust, over its adoptions.
        platform_bought, platform_cost_gbp: Per trust, whether the plan buys it a platform.
        trust_cost_gbp: Per trust, adoptions plus platform.
        unit_cost_gbp: Per buying unit, in ``options.budgets`` order.
        cost_gbp, benefit_gbp, weighted_benefit_gbp: Totals.
    """

    rows: np.ndarray
    tier: np.ndarray
    price_per_study_gbp: np.ndarray
    per_study_cost_gbp: np.ndarray
    cost_gbp_by_option: np.ndarray
    trust_adoptions: np.ndarray
    trust_adoption_cost_gbp: np.ndarray
    trust_benefit_gbp: np.ndarray
    trust_weighted_benefit_gbp: np.ndarray
    trust_studies: np.ndarray
    platform_bought: np.ndarray
    platform_cost_gbp: np.ndarray
    trust_cost_gbp: np.ndarray
    unit_cost_gbp: np.ndarray
    cost_gbp: float
    benefit_gbp: float
    weighted_benefit_gbp: float


class PlanScorer:
    """The cost and benefit of plans over one options table, as figures without tables.

    The evaluator's arithmetic: :func:`evaluate` scores every plan with it, and the
    uncertainty analysis scores its plans under each draw's figures with it (see
    :class:`planner.economics.OptionFigures`). Built once per options table; each
    :meth:`score` is a few array operations.
    """

    def __init__(self, options: Options):
        t, tr = options.table, options.trusts
        self.options = options
        self.studies = t["studies_per_year"].to_numpy(float)
        self.study_factor = t["study_factor"].to_numpy()
        self.needs_platform = t["needs_platform"].to_numpy(dtype=bool)
        # each option's purchase (purchase group, product), numbered in sorted order: the
        # group's pooled studies reach the tier that prices every unit's share of it
        unit_names, unit_rank = _ranks(t["tier_unit"].to_numpy(dtype=object))
        product_names, product_rank = _ranks(t["product"].to_numpy(dtype=object))
        n_products = max(len(product_names), 1)
        keys, self.purchase = _ranks(unit_rank * n_products + product_rank)
        self.purchase_product = product_names[keys % n_products] if len(keys) else keys
        trust_names, self.trust_rank = _ranks(tr.index.to_numpy(dtype=object))
        self.trust_of = tr.index.get_indexer(t["trust"])  # each option's trust, by position
        self.option_trust_rank = self.trust_rank[self.trust_of]
        self.n_trusts = len(trust_names)
        units, self.unit_rank = _ranks(tr["unit"].to_numpy(dtype=object))
        number = {u: i for i, u in enumerate(units.tolist())}
        self.budget_unit = np.array(
            [number.get(u, -1) for u in options.budgets.index.tolist()], dtype=np.intp
        )
        self.n_units = len(units)
        self.has_platform = tr["has_platform"].to_numpy(dtype=bool)
        self.platform_gbp = tr["platform_gbp"].to_numpy()

    def score(self, mask: np.ndarray, figures: OptionFigures | None = None) -> PlanScore:
        """The figures of the plan ``mask`` (over the options) at ``figures`` (default: its own)."""
        f = figures if figures is not None else self.options.figures()
        tier_arrays = self.options.tier_arrays()
        rows = np.flatnonzero(mask)
        studies = self.studies[rows]
        purchase = self.purchase[rows]
        # per purchase, the tier its pooled volume reaches prices every study
        volume = group_sums(studies, purchase, len(self.purchase_product))
        price_of = np.zeros(len(volume))
        tier_of = np.zeros(len(volume), dtype=np.int64)
        for g in np.unique(purchase).tolist():
            product = self.purchase_product[g]
            tiers, mins, _ = tier_arrays[product]
            k = tier_reached(mins, volume[g])
            tier_of[g] = tiers[k]
            price_of[g] = f.prices[product][k]
        price = price_of[purchase]
        per_study_cost = price * studies * self.study_factor[rows]
        cost = f.fixed_cost_gbp[rows] + per_study_cost
        benefit = f.benefit_gbp[rows]
        weighted = f.weighted_benefit_gbp[rows]

        ranks, n = self.option_trust_rank[rows], self.n_trusts
        back = self.trust_rank  # from sorted trust order to the trusts' order
        adoption_cost = group_sums(cost, ranks, n)[back]
        label = self.trust_of[rows]
        bought = np.zeros(n, dtype=bool)
        bought[label[self.needs_platform[rows]]] = True
        bought &= ~self.has_platform
        platform_cost = np.where(bought, self.platform_gbp, 0.0)
        trust_cost = adoption_cost + platform_cost
        unit_cost = np.zeros(len(self.budget_unit))
        if self.n_units:
            by_unit = group_sums(trust_cost, self.unit_rank, self.n_units)
            unit_cost = np.where(self.budget_unit >= 0, by_unit[self.budget_unit], 0.0)
        return PlanScore(
            rows,
            tier_of[purchase],
            price,
            per_study_cost,
            cost,
            np.bincount(label, minlength=n).astype(int),
            adoption_cost,
            group_sums(benefit, ranks, n)[back],
            group_sums(weighted, ranks, n)[back],
            group_sums(studies, ranks, n)[back],
            bought,
            platform_cost,
            trust_cost,
            unit_cost,
            float(trust_cost.sum()),
            float(benefit.sum()),
            float(weighted.sum()),
        )


def evaluate(options: Options, adoptions, *, check_rules: bool = True) -> Evaluation:
    """Score a plan.

    Args:
        options: The options table of the dataset, scenario and model.
        adoptions: An iterable of (trust, product) pairs, or a boolean mask over
            ``options.table``.
        check_rules: Whether to list broken rules (budget, capacity, one per use case,
            prerequisites, locks, coverage floors, Core20 parity, minimum adoptions,
            availability).

    Returns:
        The evaluation.
    """
    scenario = options.scenario
    table = options.table
    violations: list[str] = []
    if isinstance(adoptions, np.ndarray) and adoptions.dtype == bool:
        mask = adoptions
    else:
        mask, missing = selection_mask(options, adoptions)
        for tc, pc in missing:
            reason = (
                "already in use there"
                if (tc, pc) in options.existing
                else f"not an option under the {options.model} model"
            )
            violations.append(f"{pc} at {tc} is {reason}")
    score = PlanScorer(options).score(mask)
    chosen = table[mask].copy()
    # per-study price at the tier each purchase group's pooled volume reaches
    chosen["tier"] = score.tier.tolist()
    chosen["price_per_study_gbp"] = score.price_per_study_gbp
    chosen["per_study_cost_gbp"] = score.per_study_cost_gbp
    chosen["cost_gbp"] = score.cost_gbp_by_option

    base = options.trusts
    index = base.index
    covered = base["existing_studies"].to_numpy() + score.trust_studies
    added = pd.DataFrame(
        {
            "platform_bought": score.platform_bought,
            "platform_cost_gbp": score.platform_cost_gbp,
            "adoptions": score.trust_adoptions,
            "adoption_cost_gbp": score.trust_adoption_cost_gbp,
            "cost_gbp": score.trust_cost_gbp,
            "benefit_gbp": score.trust_benefit_gbp,
            "weighted_benefit_gbp": score.trust_weighted_benefit_gbp,
            "can_adopt": (adoption_targets(options, 1) > 0).reindex(index).to_numpy(),
            "covered_studies": covered,
            "coverage": coverage_share(covered, base["addressable_studies"].to_numpy()),
        },
        index=index,
    )
    trusts = pd.concat([base, added], axis=1)

    budget = options.budgets.to_numpy(float)
    unit_cost = score.unit_cost_gbp
    units = pd.DataFrame(
        {"budget_gbp": budget, "cost_gbp": unit_cost, "slack_gbp": budget - unit_cost},
        index=options.budgets.index,
    )

    cost = score.cost_gbp
    weighted = score.weighted_benefit_gbp
    covs = trusts["coverage"].dropna()
    min_cov = float(covs.min()) if len(covs) else 0.0
    objective = weighted - COST_TIE_BREAK * cost
    if scenario.maximin_weight_gbp > 0:
        objective += scenario.maximin_weight_gbp * min(min_cov, 1.0)

    if check_rules:
        violations += _broken_rules(options, chosen, trusts, units)
    return Evaluation(
        chosen.reset_index(drop=True),
        trusts,
        units,
        cost,
        score.benefit_gbp,
        weighted,
        min_cov,
        objective,
        violations,
    )


def overspends(cost_gbp, budget_gbp):
    """Whether spending ``cost_gbp`` breaks ``budget_gbp`` beyond rounding (numbers or arrays)."""
    return cost_gbp > budget_gbp + BUDGET_TOLERANCE_GBP + 1e-9 * budget_gbp


def over_budget(units: pd.DataFrame) -> pd.Series:
    """Whether each buying unit spends more than its budget (beyond rounding)."""
    return overspends(units["cost_gbp"], units["budget_gbp"])


def _broken_rules(options: Options, chosen, trusts, units) -> list[str]:
    scenario = options.scenario
    out = []
    over = units[over_budget(units)]
    for unit, cost, budget in zip(over.index, over["cost_gbp"], over["budget_gbp"], strict=True):
        out.append(f"buying unit {unit} spends {pounds(cost)} over its budget {pounds(budget)}")
    full = trusts[trusts["adoptions"] > trusts["it_capacity"]]
    for tc, n, cap in zip(full.index, full["adoptions"], full["it_capacity"], strict=True):
        out.append(f"trust {tc} takes {n} deployments, over its IT capacity {cap}")
    pairs = list(zip(chosen["trust"], chosen["use_case"], strict=True))
    if len(set(pairs)) < len(pairs):
        dup = chosen.groupby(["trust", "use_case"]).size()
        for (tc, uc), n in dup[dup > 1].items():
            out.append(f"trust {tc} adopts {n} products for use case {uc}")
    taken = set(zip(chosen["trust"], chosen["product"], strict=True))
    have = taken | set(options.existing)
    for tc, pc, pre in zip(chosen["trust"], chosen["product"], chosen["prerequisite"], strict=True):
        if pre and (tc, pre) not in have:
            out.append(f"{pc} at {tc} needs {pre}, which the trust does not have")
    for lock in scenario.locks:
        if lock.adopt and (lock.trust, lock.product) not in have:
            out.append(f"lock: {lock.product} must be adopted at {lock.trust}")
        if not lock.adopt and (lock.trust, lock.product) in taken:
            out.append(f"lock: {lock.product} must not be adopted at {lock.trust}")
    for rule in coverage_rules(options):
        text = rule.broken(trusts["coverage"])
        if text:
            out.append(text)
    if scenario.min_adoptions_per_trust > 0:
        target = adoption_targets(options)
        for tc in target.index[trusts["adoptions"].reindex(target.index) < target]:
            out.append(
                f"trust {tc} adopts {trusts.at[tc, 'adoptions']} new products, fewer than the "
                f"{target[tc]} asked for"
            )
    return out
