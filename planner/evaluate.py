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
    if np.ndim(volume) == 0:  # one purchase: the same test as tier_index, without arrays
        reach = float(volume) + TIER_TOLERANCE
        k = max(sum(reach >= m for m in mins.tolist()) - 1, 0)
    else:
        k = int(tier_index(mins, volume))
    return int(tiers[k]), float(prices[k])


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
    chosen = table[mask].copy()

    # per-study price at the tier each buying unit's pooled volume reaches
    study = chosen["studies_per_year"].to_numpy(float)
    volume = chosen.groupby(["unit", "product"])["studies_per_year"].sum()
    tiers_hit = {k: tier_price(options, k[1], v) for k, v in volume.items()}
    hits = [tiers_hit[k] for k in zip(chosen["unit"], chosen["product"], strict=True)]
    price = np.array([h[1] for h in hits], dtype=float)
    per_study_cost = price * study * chosen["study_factor"].to_numpy()
    chosen["tier"] = [h[0] for h in hits]
    chosen["price_per_study_gbp"] = price
    chosen["per_study_cost_gbp"] = per_study_cost
    chosen["cost_gbp"] = chosen["fixed_cost_gbp"].to_numpy() + per_study_cost

    base = options.trusts
    index = base.index
    position = {tc: i for i, tc in enumerate(index)}
    label = np.array([position[tc] for tc in chosen["trust"].tolist()], dtype=int)
    n = len(index)
    bought = np.zeros(n, dtype=bool)
    bought[label[chosen["needs_platform"].to_numpy(dtype=bool)]] = True
    bought &= ~base["has_platform"].to_numpy(dtype=bool)
    platform_cost = np.where(bought, base["platform_gbp"].to_numpy(), 0.0)
    # one pandas group sum for every per-trust figure (the same float sums as ever)
    sums = (
        chosen.groupby("trust")[
            ["cost_gbp", "benefit_gbp", "weighted_benefit_gbp", "studies_per_year"]
        ]
        .sum()
        .reindex(index)
        .fillna(0.0)
    )
    adoption_cost = sums["cost_gbp"].to_numpy()
    covered = base["existing_studies"].to_numpy() + sums["studies_per_year"].to_numpy()
    added = pd.DataFrame(
        {
            "platform_bought": bought,
            "platform_cost_gbp": platform_cost,
            "adoptions": np.bincount(label, minlength=n).astype(int),
            "adoption_cost_gbp": adoption_cost,
            "cost_gbp": adoption_cost + platform_cost,
            "benefit_gbp": sums["benefit_gbp"].to_numpy(),
            "weighted_benefit_gbp": sums["weighted_benefit_gbp"].to_numpy(),
            "can_adopt": (adoption_targets(options, 1) > 0).reindex(index).to_numpy(),
            "covered_studies": covered,
            "coverage": coverage_share(covered, base["addressable_studies"].to_numpy()),
        },
        index=index,
    )
    trusts = pd.concat([base, added], axis=1)

    budget = options.budgets.to_numpy(float)
    unit_cost = (
        added["cost_gbp"].groupby(base["unit"]).sum().reindex(options.budgets.index).fillna(0.0)
    ).to_numpy()
    units = pd.DataFrame(
        {"budget_gbp": budget, "cost_gbp": unit_cost, "slack_gbp": budget - unit_cost},
        index=options.budgets.index,
    )

    cost = float(trusts["cost_gbp"].sum())
    benefit = float(chosen["benefit_gbp"].sum())
    weighted = float(chosen["weighted_benefit_gbp"].sum())
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
        benefit,
        weighted,
        min_cov,
        objective,
        violations,
    )


def over_budget(units: pd.DataFrame) -> pd.Series:
    """Whether each buying unit spends more than its budget (beyond rounding)."""
    budget = units["budget_gbp"]
    return units["cost_gbp"] > budget + BUDGET_TOLERANCE_GBP + 1e-9 * budget


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
