"""Present values, equity weights and procurement rules, checked against hand arithmetic."""

from __future__ import annotations

import numpy as np
import pytest
from builders import make_dataset, simple_scenario

import planner
from planner.economics import annuity_from, build_options
from planner.procurement import buying_setup


def test_annuity_by_hand():
    assert annuity_from(0, 1, 0.0)[0] == pytest.approx(1.0)
    assert annuity_from(6, 1, 0.0)[0] == pytest.approx(0.5)
    assert annuity_from(1.5, 1, 0.0)[0] == pytest.approx(10.5 / 12)
    assert annuity_from(12, 1, 0.1)[0] == 0.0
    # monthly payments of 1/12 discounted at (1+r)^(-m/12)
    r = 0.035
    expected = sum((1 / 12) * (1 + r) ** (-m / 12) for m in range(1, 61))
    assert annuity_from(0, 5, r)[0] == pytest.approx(expected)
    assert annuity_from(0, 5, r)[0] < 5


def test_lead_time_delays_benefit_and_discounting_shrinks_it(default_ics):
    base = planner.Scenario(budget_gbp=2e6)
    fast = build_options(default_ics, base, "local").table.set_index(["trust", "product"])
    slow = build_options(default_ics, base, "ics").table.set_index(["trust", "product"])
    common = fast.index.intersection(slow.index)
    assert (slow.loc[common, "benefit_gbp"] < fast.loc[common, "benefit_gbp"]).all()
    assert (slow.loc[common, "go_live_months"] > fast.loc[common, "go_live_months"]).all()


def test_option_benefit_and_cost_by_hand():
    data = make_dataset(
        [{"trust_code": "A", "xray_per_year": 2000, "vacancy_rate": 0.25}],
        [
            {
                "product_code": "P",
                "applicable_share": 0.5,
                "qalys_per_1000": 2.0,
                "minutes_saved_per_study": 3.0,
                "minutes_saved_high": 5.0,
                "qalys_per_1000_high": 3.0,
                "implementation_gbp": 500,
                "licence_gbp_per_year": 100,
            }
        ],
        [{"product_code": "P", "tier": 1, "min_studies_per_year": 0, "price_per_study_gbp": 2}],
    )
    s = simple_scenario(radiologist_hour_gbp=120.0, vacancy_premium=2.0)
    row = build_options(data, s, "local").table.iloc[0]
    studies = 2000 * 0.5
    health = studies * 2.0 / 1000 * 1000.0
    time = studies * 3.0 / 60 * 120.0 * (1 + 2.0 * 0.25)
    assert row["studies_per_year"] == studies
    assert row["health_gbp"] == pytest.approx(health)
    assert row["time_gbp"] == pytest.approx(time)
    assert row["fixed_cost_gbp"] == pytest.approx(600)
    plan = planner.solve(data, s.replace(budget_gbp=10_000), "local")
    assert plan.cost_gbp == pytest.approx(600 + 2 * studies)
    assert plan.benefit_gbp == pytest.approx(health + time)


def test_same_total_money_under_every_model(default_ics):
    s = planner.Scenario(budget_gbp=2e6)
    for model in ("local", "ics", "central"):
        setup = buying_setup(default_ics, s, model)
        assert setup.budgets.sum() == pytest.approx(2e6)
    local = buying_setup(default_ics, s, "local").budgets
    headroom = default_ics.trusts["local_budget_gbp"]
    assert local.idxmax() == headroom.idxmax()  # the well-funded trust holds most money


def test_central_buys_only_framework_products_and_reaches_deeper_tiers(default_ics):
    s = planner.Scenario(budget_gbp=4e6)
    central = planner.solve(default_ics, s, "central", with_marginal=False)
    framework = default_ics.products["framework"]
    assert framework[central.adoptions["product"]].all()
    local = planner.solve(default_ics, s, "local", with_marginal=False)
    assert central.adoptions["tier"].mean() >= local.adoptions["tier"].mean()


def test_discount_depth_zero_removes_volume_discounts(default_ics):
    s = planner.Scenario(budget_gbp=2e6).with_overrides(
        {"procurement.central.volume_discount_depth": 0.0}
    )
    options = build_options(default_ics, s, "central")
    tiers = options.tiers
    first = tiers.groupby("product_code")["price_per_study_gbp"].transform("first")
    assert np.allclose(tiers["price_per_study_gbp"], first)


def test_tier_index_is_the_one_all_units_rule():
    from planner.economics import tier_index

    mins = [0.0, 1000.0, 5000.0]
    assert int(tier_index(mins, 0.0)) == 0
    assert int(tier_index(mins, 999.0)) == 0
    assert int(tier_index(mins, 1000.0 - 1e-12)) == 1  # within the tolerance reaches the tier
    assert int(tier_index(mins, 4999.0)) == 1
    assert int(tier_index(mins, 1e9)) == 2
    # broadcast: two coalitions x two products, each product with its own thresholds
    thresholds = np.array([[0.0, 100.0, np.inf], [0.0, 10.0, 20.0]])
    volume = np.array([[50.0, 25.0], [150.0, 5.0]])
    assert tier_index(thresholds, volume).tolist() == [[0, 2], [1, 0]]


def test_standalone_cost_is_fixed_plus_tier_one_studies(default_ics):
    options = build_options(default_ics, planner.Scenario(budget_gbp=2e6), "local")
    t = options.table
    row = 0
    first = options.tier_arrays()[t.at[row, "product"]][2][0]
    expected = (
        t.at[row, "fixed_cost_gbp"]
        + first * t.at[row, "studies_per_year"] * (t.at[row, "study_factor"])
    )
    assert options.standalone_cost()[row] == pytest.approx(expected)


def test_modality_columns_come_from_the_data_dictionary():
    from planner.schema import MODALITY_COLUMN, columns

    (modality,) = [c for c in columns("products") if c.column == "modality"]
    assert tuple(modality.allowed.removeprefix("enum:").split("|")) == tuple(MODALITY_COLUMN)
    trust_columns = {c.column for c in columns("trusts")}
    assert set(MODALITY_COLUMN.values()) <= trust_columns
