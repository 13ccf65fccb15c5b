"""Equity metrics of a plan, on each trust's population mix across national IMD fifths.

People, not trusts, are the unit: a trust's people share its coverage and its benefit per
head, and they are spread across England's IMD quintiles by the trust's population mix
(``imd_q1_share`` .. ``imd_q5_share`` as used by the plan; see :mod:`planner.deprivation`).
So the coverage of quintile q is the population-weighted mean coverage of the people in
quintile q, and the Core20 coverage weighs each trust by its Core20 population
(``core20_share x population``), as the Core20 floor does.

The Gini index is of benefit per head across trusts, weighted by population. The
concentration index ranks people from most to least deprived national quintile (people in
one quintile share a rank, the midpoint of their group): a negative value means benefit per
head is concentrated among the more deprived.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from planner.deprivation import QUINTILES, SHARE_COLUMNS
from planner.economics import coverage_share


def _shares_and_mean(values, weights) -> tuple[np.ndarray, np.ndarray, float]:
    """Values as floats, weights as shares summing to 1, and the weighted mean (0 if none)."""
    values = np.asarray(values, dtype=float)
    weights = np.asarray(weights, dtype=float)
    if len(values) == 0 or weights.sum() <= 0:
        return values, weights, 0.0
    w = weights / weights.sum()
    return values, w, float((values * w).sum())


def weighted_gini(values, weights) -> float:
    """Population-weighted Gini index of ``values`` (0 = equal, towards 1 = concentrated).

    ``G = sum_i sum_j w_i w_j |v_i - v_j| / (2 mean)`` with weights summing to 1; equal
    values (ties) add nothing.
    """
    values, w, mean = _shares_and_mean(values, weights)
    if mean <= 0:
        return 0.0
    diff = np.abs(values[:, None] - values[None, :])
    return float((w[:, None] * w[None, :] * diff).sum() / (2 * mean))


def fractional_rank(deprivation, weights) -> np.ndarray:
    """Fractional rank of each group from most to least deprived, ties sharing a rank.

    Groups are ordered by ``deprivation`` (higher first); the rank of a group is the share
    of the population more deprived than it plus half the share of its tie group.
    """
    dep = np.asarray(deprivation, dtype=float)
    w = np.asarray(weights, dtype=float) / np.asarray(weights, dtype=float).sum()
    rank = np.empty(len(dep))
    above = 0.0
    for level in np.unique(dep)[::-1]:  # most deprived level first
        tie = dep == level
        share = float(w[tie].sum())
        rank[tie] = above + share / 2
        above += share
    return rank


def concentration_index(values, weights, deprivation) -> float:
    """Concentration index of ``values`` ranked from most to least deprived.

    ``C = 2 sum_i w_i (v_i - mean) (r_i - 1/2) / mean`` with ``r`` the fractional rank
    (ties share the midpoint rank of their group) and ``w`` population shares.
    """
    values, w, mean = _shares_and_mean(values, weights)
    if mean <= 0:
        return 0.0
    rank = fractional_rank(deprivation, weights)
    return float(2 * (w * (values - mean) * (rank - 0.5)).sum() / mean)


def people_coverage(coverage, people) -> float | None:
    """Mean coverage of some people spread over trusts (trusts with no coverage figure skipped)."""
    coverage = np.asarray(coverage, dtype=float)
    people = np.asarray(people, dtype=float)
    ok = ~np.isnan(coverage) & (people > 0)
    total = float(people[ok].sum())
    if total <= 0:
        return None
    return float((coverage[ok] * people[ok]).sum() / total)


def equity_metrics(trusts: pd.DataFrame) -> dict:
    """Return the equity metrics of a plan from its per-trust table.

    Args:
        trusts: Per-trust rows with population, core20_population, the population mix
            (imd_q1_share .. imd_q5_share), coverage, adoptions, benefit_gbp and covered and
            addressable studies.
    """
    pop = trusts["population"].to_numpy(float)
    benefit = trusts["benefit_gbp"].to_numpy(float)
    per_head = benefit / np.maximum(pop, 1)
    cov = trusts["coverage"].to_numpy(float)
    valid = ~np.isnan(cov)
    mix = trusts[list(SHARE_COLUMNS)].to_numpy(float)
    core20 = trusts["core20_population"].to_numpy(float)
    adoptions = trusts["adoptions"].to_numpy()
    by_q = {}
    for k, q in enumerate(QUINTILES):
        people = pop * mix[:, k]
        if people.sum() <= 0:
            continue
        by_q[str(q)] = {
            "trusts": int((people > 0).sum()),
            "population": round(float(people.sum())),
            "coverage": people_coverage(cov, people),
            "benefit_per_capita_gbp": float((benefit * mix[:, k]).sum() / people.sum()),
        }
    overall = coverage_share(
        trusts["covered_studies"].to_numpy(float).sum(),
        trusts["addressable_studies"].to_numpy(float).sum(),
    )
    # one cell per (trust, quintile) with people in it, for the concentration index
    cells = mix * pop[:, None]
    has = cells > 0
    cell_values = np.repeat(per_head[:, None], len(QUINTILES), axis=1)[has]
    cell_depr = np.repeat(np.array(QUINTILES)[None, :], len(trusts), axis=0)[has]
    can = trusts["can_adopt"] if "can_adopt" in trusts else trusts["addressable_studies"] > 0
    left_out = trusts.index[(adoptions == 0) & can.to_numpy().astype(bool)]
    return {
        "min_coverage": float(cov[valid].min()) if valid.any() else None,
        "max_coverage": float(cov[valid].max()) if valid.any() else None,
        "coverage": None if math.isnan(overall) else overall,
        "population_coverage": people_coverage(cov, pop),
        "core20_coverage": people_coverage(cov, core20),
        "core20_population": round(float(core20.sum())),
        "trusts_with_new_adoptions": int((adoptions > 0).sum()),
        "trusts_without_new_adoptions": sorted(str(t) for t in left_out),
        "min_benefit_per_capita_gbp": float(per_head.min()) if len(per_head) else 0.0,
        "max_benefit_per_capita_gbp": float(per_head.max()) if len(per_head) else 0.0,
        "gini_benefit_per_capita": weighted_gini(per_head, pop),
        "concentration_index": concentration_index(cell_values, cells[has], cell_depr),
        "by_imd_quintile": by_q,
    }
