"""Deprivation judged against England: each trust's population across national IMD fifths.

A trust's catchment spans several of England's neighbourhoods, so its deprivation is not one
number but a *population mix*: the share of its people living in each national IMD quintile
(1 = the least deprived fifth of England's neighbourhoods, 5 = the most deprived fifth, the
Core20). The mix comes from the optional columns ``imd_q1_share`` .. ``imd_q5_share``; for
a trust without them, its ``core20_share`` is in quintile 5 and the rest of its people in
the national quintile of its ``imd_score``, found from the national cut-points of the
scenario (``imd_cut_points``). Either way the answer
depends only on the trust's own row, so the same trust is treated the same in an ICS plan
and in the England plan.

The old dataset-relative ranking (the most deprived fifth *of the trusts in the file*) is
kept only as an explicit option, ``deprivation_reference: dataset``.

Distributional weights (Atkinson) are per national quintile and normalised so that
England's population, a fifth in each quintile, has a mean weight of 1; a trust's weight is
its population mix times those weights.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.data import QUINTILE_SHARES as SHARE_COLUMNS
from planner.scenario import Scenario

#: National IMD quintiles, 1 = least deprived fifth of England, 5 = most deprived (Core20).
QUINTILES = (1, 2, 3, 4, 5)


def fifth_label(q: int | str, reference: str = "national") -> str:
    """What to call quintile ``q`` in tables and charts, for the deprivation reference used."""
    q = int(q)
    end = " (least deprived)" if q == 1 else " (most deprived, Core20)" if q == 5 else ""
    if reference == "dataset":
        return f"fifth {q} of the trusts planned" + end.replace(", Core20", "")
    return f"national IMD fifth {q}{end}"


def core20_label(reference: str = "national") -> str:
    """What to call the Core20 people, for the deprivation reference used."""
    if reference == "dataset":
        return "people of the most deprived fifth of the trusts planned"
    return "Core20 people (core20_share x population)"


def national_quintile(imd_score, cut_points) -> np.ndarray:
    """National IMD quintile (1 least to 5 most deprived) of each score.

    ``cut_points`` are the four ascending score boundaries between quintiles; a score equal
    to a boundary belongs to the less deprived quintile.
    """
    scores = np.asarray(imd_score, dtype=float)
    return 1 + np.searchsorted(np.asarray(cut_points, dtype=float), scores, side="left")


def dataset_quintile(trusts: pd.DataFrame) -> pd.Series:
    """Quintile of each trust ranked among the trusts given (only for ``dataset`` reference).

    Trusts are ranked by ``imd_score`` (ties by code); the most deprived fifth of the trusts
    is quintile 5. In a file of four trusts or fewer no trust reaches quintile 5.
    """
    order = trusts.reset_index().sort_values(["imd_score", "trust_code"])["trust_code"]
    n = len(order)
    q = 1 + (5 * np.arange(n)) // max(n, 1)
    return pd.Series(q, index=order.values).reindex(trusts.index)


def trust_quintile(trusts: pd.DataFrame, scenario: Scenario) -> pd.Series:
    """The IMD quintile shown for each trust: national quintile of its score, or dataset rank."""
    if scenario.deprivation_reference == "dataset":
        q = dataset_quintile(trusts)
    else:
        q = pd.Series(national_quintile(trusts["imd_score"], scenario.imd_cut_points), trusts.index)
    return q.astype(int).rename("imd_quintile")


def has_mix(trusts: pd.DataFrame) -> pd.Series:
    """Whether each trust's row gives all five quintile shares."""
    if not set(SHARE_COLUMNS) <= set(trusts.columns):
        return pd.Series(False, index=trusts.index)
    return trusts[list(SHARE_COLUMNS)].notna().all(axis=1)


def population_mix(trusts: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Share of each trust's population in each quintile (columns 1..5, rows sum to 1).

    National reference: the trust's ``imd_q*_share`` columns where given. Where they are
    not, its ``core20_share`` of people are in quintile 5 (that is what the share means) and
    the rest in the national quintile of its ``imd_score`` (quintile 4 when the score itself
    falls in quintile 5), so quintile 5 is always the trust's Core20. Dataset reference: all
    of its population in its dataset-relative quintile.
    """
    quintile = trust_quintile(trusts, scenario).to_numpy()
    cols = np.array(QUINTILES)
    if scenario.deprivation_reference == "dataset":
        mix = (quintile[:, None] == cols[None, :]).astype(float)
    else:
        core20 = trusts["core20_share"].to_numpy(float)
        rest = np.minimum(quintile, 4)
        mix = (rest[:, None] == cols[None, :]) * (1.0 - core20)[:, None]
        mix[:, 4] += core20
        given = has_mix(trusts).to_numpy()
        if given.any():
            shares = trusts.loc[given, list(SHARE_COLUMNS)].to_numpy(float)
            mix[given] = shares / shares.sum(axis=1, keepdims=True)
    out = pd.DataFrame(mix, index=trusts.index, columns=list(QUINTILES))
    out.columns.name = "imd_quintile"
    return out


def core20_population(trusts: pd.DataFrame, mix: pd.DataFrame, scenario: Scenario) -> pd.Series:
    """People of each trust in the Core20 (the most deprived national fifth).

    National reference: ``core20_share`` x population (the data's own figure, which equals
    ``imd_q5_share`` where the mix is given). Dataset reference: the whole population of the
    trusts in the dataset's most deprived fifth.
    """
    pop = trusts["population"].astype(float)
    if scenario.deprivation_reference == "dataset":
        return (pop * mix[5]).rename("core20_population")
    return (pop * trusts["core20_share"].astype(float)).rename("core20_population")


def quintile_weights(scenario: Scenario) -> np.ndarray:
    """Atkinson distributional weight of a pound of benefit in each national quintile.

    The health of quintile q is QALE_q = QALE_least - gap x (q - 1) / 4; the weight is
    ``(QALE_q / mean QALE)^(-epsilon)``, normalised so that England (a fifth of its
    population in each quintile) has a mean weight of 1.
    """
    q = np.array(QUINTILES, dtype=float)
    qale = scenario.qale_least_deprived_years - scenario.qale_gap_years * (q - 1) / 4.0
    raw = (qale / qale.mean()) ** (-scenario.inequality_aversion)
    return raw / raw.mean()


def equity_weights(mix: pd.DataFrame, scenario: Scenario) -> pd.Series:
    """Weight of each trust's benefit: its population mix times the quintile weights.

    A trust with 40% of its people in the most deprived fifth has 40% of its benefit at that
    fifth's weight. ``equity_weight`` mixes the result with 1 (0 gives every trust 1).
    """
    raw = mix[list(QUINTILES)].to_numpy(float) @ quintile_weights(scenario)
    lam = scenario.equity_weight
    return pd.Series((1.0 - lam) + lam * raw, index=mix.index, name="equity_weight")
