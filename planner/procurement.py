"""The three procurement models as rules over the same data.

A model decides who buys (the *buying unit* whose pooled volume sets the price tier and
whose budget must hold), how the money is split between buying units, which products can
be bought, and the lead time and shared-cost shares (see :class:`planner.scenario.Route`).

- ``local``: each trust is a buying unit with its share of the money.
- ``ics``: each ICS is one buying unit with the sum of its trusts' shares.
- ``central``: one national buying unit with all the money, framework products only.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from planner.data import Dataset
from planner.errors import Problem, ScenarioError
from planner.formatting import Names
from planner.scenario import MODELS, Scenario

NATIONAL_UNIT = "ENGLAND"


@dataclass(frozen=True)
class BuyingSetup:
    """Who buys under one model and with how much money.

    Attributes:
        model: ``local``, ``ics`` or ``central``.
        unit_of_trust: Buying unit of each trust (indexed by trust code).
        budgets: Budget in pounds of each buying unit (indexed by unit), present value.
        total_budget_gbp: The money across all units (the same for every model).
    """

    model: str
    unit_of_trust: pd.Series
    budgets: pd.Series
    total_budget_gbp: float


def trust_money_shares(dataset: Dataset, scenario: Scenario) -> pd.Series:
    """Share of the total money that belongs to each trust (sums to 1).

    Under ``headroom`` the shares follow each trust's ``local_budget_gbp``, so well-funded
    trusts hold more; under ``population`` they follow catchment population.

    Raises:
        ScenarioError: If every trust's headroom is zero under the ``headroom`` split.
    """
    trusts = dataset.trusts
    basis = (
        trusts["local_budget_gbp"]
        if scenario.local_budget_split == "headroom"
        else trusts["population"].astype(float)
    )
    total = float(basis.sum())
    if total <= 0:
        raise ScenarioError(
            [
                Problem(
                    "scenario",
                    None,
                    "local_budget_split",
                    "every trust's local_budget_gbp is 0, so the money cannot be split by headroom",
                    "set local_budget_split to population or fill in budgets",
                )
            ]
        )
    return basis / total


def total_budget(dataset: Dataset, scenario: Scenario) -> float:
    """Return the scenario's total money, or the sum of the trusts' headroom if unset."""
    if scenario.budget_gbp is not None:
        return float(scenario.budget_gbp)
    return float(dataset.trusts["local_budget_gbp"].sum())


def buying_setup(dataset: Dataset, scenario: Scenario, model: str | None = None) -> BuyingSetup:
    """Return the buying units and their budgets under ``model`` for the same total money."""
    model = model or scenario.model
    if model not in MODELS:
        raise ScenarioError(
            [
                Problem(
                    "scenario",
                    None,
                    "model",
                    f"{model!r} is not a model",
                    "use local, ics or central",
                )
            ]
        )
    trusts = dataset.trusts
    total = total_budget(dataset, scenario)
    shares = trust_money_shares(dataset, scenario)
    if model == "local":
        unit = pd.Series(trusts.index, index=trusts.index, name="unit")
    elif model == "ics":
        unit = trusts["ics_code"].rename("unit")
    else:
        unit = pd.Series(NATIONAL_UNIT, index=trusts.index, name="unit")
    budgets = (shares * total).groupby(unit).sum().sort_index()
    budgets.index.name = "unit"
    return BuyingSetup(model, unit, budgets.rename("budget_gbp"), total)


#: What the national buyer is called.
NATIONAL_NAME = "NHS England (national)"


def unit_names(dataset: Dataset) -> Names:
    """The dataset's names, with the national buyer among the buying units."""
    names = dataset.names()
    names.units[NATIONAL_UNIT] = NATIONAL_NAME
    return names
