"""Procurement routes as rules over the same data.

A route (:class:`planner.scenario.Route`) is settings, not code: which grouping of trusts
buys together and so reaches the volume price tiers (``buys_together``), which grouping
holds the money, each within its own budget (``holds_money``), how the total money is split
between trusts before the holders pool it (``money_split``), which products can be bought,
and the lead time and shared-cost shares. The groupings are trust, ICS, imaging network,
NHS region and nation (``planner.data.trust_groups``). The shipped routes:

- ``local``: each trust buys alone with its share of the money;
- ``ics``: each ICS buys and holds the money of its trusts;
- ``network``: each imaging network buys and holds the money of its trusts;
- ``framework``: national framework prices, reached by national volume, called off by each
  trust from its own budget;
- ``central``: NHS England buys at national tiers, and the money is split to ICSs by need
  (population with a deprivation uplift), so no ICS spends beyond its fair share;
- ``central_pot``: NHS England buys at national tiers from one national pot, spent
  wherever benefit is highest.

A *buying unit* below is a money holder: its budget must hold. A *purchase group* is a
grouping that reaches tiers together.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from planner.data import NATIONAL_UNIT, Dataset, trust_groups
from planner.errors import Problem, ScenarioError
from planner.formatting import Names
from planner.scenario import MODELS, Scenario


@dataclass(frozen=True)
class BuyingSetup:
    """Who buys under one route and with how much money.

    Attributes:
        model: The route's name (``local``, ``ics``, ...).
        unit_of_trust: Money holder (buying unit) of each trust (indexed by trust code).
        budgets: Budget in pounds of each buying unit (indexed by unit), present value.
        total_budget_gbp: The money across all units (the same for every route).
        tier_unit_of_trust: Purchase group of each trust: the trusts whose pooled studies
            reach a price tier together (the buying unit's when the route does not say
            otherwise).
    """

    model: str
    unit_of_trust: pd.Series
    budgets: pd.Series
    total_budget_gbp: float
    tier_unit_of_trust: pd.Series | None = None

    def __post_init__(self) -> None:
        if self.tier_unit_of_trust is None:
            object.__setattr__(self, "tier_unit_of_trust", self.unit_of_trust.rename("tier_unit"))


def needs_weights(trusts: pd.DataFrame, scenario: Scenario) -> pd.Series:
    """Each trust's need for money: ``population x (1 + needs_uplift x core20_share)``.

    A person in England's most deprived fifth (Core20) counts ``1 + needs_uplift`` people,
    the others one: population need with a deprivation uplift, as NHS allocations weight
    population by need and add a health-inequalities adjustment (the uplift is an
    assumption, ``Scenario.needs_uplift``).
    """
    population = trusts["population"].astype(float)
    return population * (1.0 + scenario.needs_uplift * trusts["core20_share"].astype(float))


def trust_money_shares(dataset: Dataset, scenario: Scenario, split: str = "scenario") -> pd.Series:
    """Share of the total money that belongs to each trust (sums to 1).

    Under ``headroom`` the shares follow each trust's ``local_budget_gbp``, so well-funded
    trusts hold more; under ``population`` they follow catchment population; under ``needs``
    population weighted by need (:func:`needs_weights`); ``scenario`` is the scenario's
    ``local_budget_split``.

    Raises:
        ScenarioError: If every trust's headroom is zero under the ``headroom`` split.
    """
    trusts = dataset.trusts
    if split == "scenario":
        split = scenario.local_budget_split
    if split == "headroom":
        basis = trusts["local_budget_gbp"]
    elif split == "needs":
        basis = needs_weights(trusts, scenario)
    else:
        basis = trusts["population"].astype(float)
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
    """Return the buying units and their budgets under ``model`` for the same total money.

    Raises:
        ScenarioError: If ``model`` is not a route.
        DataError: If the route buys or holds money by a grouping the data lack (or a trust
            has no code in it).
    """
    model = model or scenario.model
    if model not in MODELS:
        raise ScenarioError(
            [
                Problem(
                    "scenario",
                    None,
                    "model",
                    f"{model!r} is not a procurement route",
                    "use one of " + ", ".join(MODELS),
                )
            ]
        )
    route = scenario.route(model)
    total = total_budget(dataset, scenario)
    shares = trust_money_shares(dataset, scenario, route.money_split)
    unit = trust_groups(dataset, route.holds_money).rename("unit")
    tier_unit = trust_groups(dataset, route.buys_together).rename("tier_unit")
    budgets = (shares * total).groupby(unit).sum().sort_index()
    budgets.index.name = "unit"
    return BuyingSetup(model, unit, budgets.rename("budget_gbp"), total, tier_unit)


#: What the national buyer is called.
NATIONAL_NAME = "NHS England (national)"


def unit_names(dataset: Dataset) -> Names:
    """The dataset's names, with the national buyer among the buying units."""
    names = dataset.names()
    names.units[NATIONAL_UNIT] = NATIONAL_NAME
    return names
