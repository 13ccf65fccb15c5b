"""Equity metrics of a plan: coverage and benefit per head by trust and by IMD quintile.

Coverage is the share of a trust's addressable studies read by an AI product (existing or
new). The Gini index is of benefit per head across trusts, weighted by population. The
concentration index ranks trusts from most to least deprived: a negative value means the
benefit per head is concentrated in the more deprived trusts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def weighted_gini(values: np.ndarray, weights: np.ndarray) -> float:
    """Population-weighted Gini index of ``values`` (0 = equal, towards 1 = concentrated)."""
    values = np.asarray(values, dtype=float)
    weights = np.asarray(weights, dtype=float)
    if len(values) == 0 or weights.sum() <= 0:
        return 0.0
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order] / weights.sum()
    mean = float((v * w).sum())
    if mean <= 0:
        return 0.0
    diff = np.abs(v[:, None] - v[None, :])
    return float((w[:, None] * w[None, :] * diff).sum() / (2 * mean))


def concentration_index(values, weights, deprivation) -> float:
    """Concentration index of ``values`` ranked from most to least deprived (population shares)."""
    values = np.asarray(values, dtype=float)
    weights = np.asarray(weights, dtype=float)
    if len(values) == 0 or weights.sum() <= 0:
        return 0.0
    order = np.argsort(-np.asarray(deprivation, dtype=float), kind="stable")
    v, w = values[order], weights[order] / weights.sum()
    mean = float((v * w).sum())
    if mean <= 0:
        return 0.0
    rank = np.cumsum(w) - w / 2
    return float(2 * (w * (v - mean) * (rank - 0.5)).sum() / mean)


def equity_metrics(trusts: pd.DataFrame) -> dict:
    """Return the equity metrics of a plan from its per-trust table.

    Args:
        trusts: Per-trust rows with population, imd_score, imd_quintile, coverage,
            benefit_gbp and covered/addressable studies.
    """
    pop = trusts["population"].to_numpy(float)
    per_head = trusts["benefit_gbp"].to_numpy(float) / np.maximum(pop, 1)
    cov = trusts["coverage"]
    valid = cov.notna()
    by_q = {}
    for q in range(1, 6):
        sel = trusts["imd_quintile"] == q
        if not sel.any():
            continue
        addr = trusts.loc[sel, "addressable_studies"].sum()
        by_q[str(q)] = {
            "trusts": int(sel.sum()),
            "population": int(trusts.loc[sel, "population"].sum()),
            "coverage": float(trusts.loc[sel, "covered_studies"].sum() / addr) if addr else None,
            "benefit_per_capita_gbp": float(
                trusts.loc[sel, "benefit_gbp"].sum() / trusts.loc[sel, "population"].sum()
            ),
        }
    addr_all = trusts["addressable_studies"].sum()
    core = trusts[trusts["imd_quintile"] == 5]
    return {
        "min_coverage": float(cov[valid].min()) if valid.any() else None,
        "max_coverage": float(cov[valid].max()) if valid.any() else None,
        "coverage": float(trusts["covered_studies"].sum() / addr_all) if addr_all else None,
        "core20_coverage": (
            float(core["covered_studies"].sum() / core["addressable_studies"].sum())
            if len(core) and core["addressable_studies"].sum() > 0
            else None
        ),
        "trusts_with_new_adoptions": int((trusts["adoptions"] > 0).sum()),
        "min_benefit_per_capita_gbp": float(per_head.min()) if len(per_head) else 0.0,
        "max_benefit_per_capita_gbp": float(per_head.max()) if len(per_head) else 0.0,
        "gini_benefit_per_capita": weighted_gini(per_head, pop),
        "concentration_index": concentration_index(
            per_head, pop, trusts["imd_score"].to_numpy(float)
        ),
        "by_imd_quintile": by_q,
    }
