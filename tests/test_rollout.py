"""Multi-year rollout: yearly budgets and capacity hold, one year reproduces the single plan."""

from __future__ import annotations

import math

import numpy as np
import pytest
from builders import make_dataset, random_instance, simple_scenario

import planner
from planner.economics import annuity_from, build_options
from planner.rollout import RolloutSettings, ramped_annuity, solve_rollout, yearly_budgets
from planner.solve import solve_options

MODELS = ("local", "ics", "central")


def check_rollout(dataset, scenario, model, settings, rollout):
    """Recompute every yearly rule from the rollout's own tables."""
    sched, years = rollout.schedule, settings.years
    # signed at most once, one product per use case per trust (with what is in use)
    assert not sched.duplicated(["trust", "product"]).any()
    dep = dataset.deployments.assign(
        use_case=dataset.deployments["product_code"].map(dataset.products["use_case"])
    )
    uses = list(zip(sched["trust"], sched["use_case"], strict=True)) + list(
        zip(dep["trust_code"], dep["use_case"], strict=True)
    )
    assert len(uses) == len(set(uses))
    # capacity over the horizon and per year
    fraction = max(settings.yearly_capacity_fraction, 1 / years)
    for tc, group in sched.groupby("trust"):
        cap = int(dataset.trusts.at[tc, "it_capacity"])
        assert len(group) <= cap
        per_year = max(1, math.ceil(cap * fraction))
        assert group.groupby("start_year").size().max() <= per_year
    # prerequisites signed no later than the product needing them
    signed = {(r.trust, r.product): r.start_year for r in sched.itertuples()}
    existing = set(zip(dep["trust_code"], dep["product_code"], strict=True))
    for r in sched.itertuples():
        pre = dataset.products.at[r.product, "prerequisite"]
        if pre and (r.trust, pre) not in existing:
            assert signed[(r.trust, pre)] <= r.start_year
    # yearly money: adoptions (fixed + per-study at the batch tier) + platforms
    options = build_options(dataset, scenario, model)
    budgets = yearly_budgets(options, settings)
    spent = sched.groupby(["buying_unit", "start_year"])["cost_gbp"].sum()
    plat = rollout.platforms.groupby(["buying_unit", "year"])["platform_cost_gbp"].sum()
    for unit in budgets.index:
        total_spent = total_budget = 0.0
        for y in range(1, years + 1):
            used = float(spent.get((unit, y), 0.0)) + float(plat.get((unit, y), 0.0))
            total_spent += used
            total_budget += float(budgets.loc[unit, y])
            if settings.carry_over:
                assert total_spent <= total_budget + 1.0
            else:
                assert used <= float(budgets.loc[unit, y]) + 1.0
    # platforms bought no later than the products that need them
    bought = {r.trust: r.year for r in rollout.platforms.itertuples()}
    for r in sched.itertuples():
        if (
            dataset.products.at[r.product, "needs_platform"]
            and not dataset.trusts.at[r.trust, "has_platform"]
        ):
            assert bought[r.trust] <= r.start_year


@pytest.mark.parametrize("carry_over", [True, False])
@pytest.mark.parametrize("model", MODELS)
def test_rollout_keeps_yearly_budgets_and_capacity(default_ics, model, carry_over):
    scenario = planner.Scenario(budget_gbp=2e6, mip_gap=0.005)
    settings = RolloutSettings(years=4, carry_over=carry_over)
    rollout = solve_rollout(default_ics, scenario, model, settings)
    assert len(rollout.schedule) > 0
    check_rollout(default_ics, scenario, model, settings, rollout)
    assert rollout.spend["committed_gbp"].sum() == pytest.approx(
        rollout.schedule["cost_gbp"].sum() + rollout.platforms["platform_cost_gbp"].sum(),
        rel=1e-6,
    )


@pytest.mark.parametrize("seed", range(1, 13))
def test_rollout_rules_on_random_instances(seed):
    dataset, scenario = random_instance(seed)
    scenario = scenario.replace(horizon_years=3, maximin_weight_gbp=0.0, mip_gap=0.0)
    settings = RolloutSettings(years=3, carry_over=bool(seed % 2), ramp_months=3)
    try:
        rollout = solve_rollout(dataset, scenario, scenario.model, settings)
    except planner.InfeasibleError as exc:  # seed 8 today
        pytest.skip(f"seed {seed} has no rollout: {exc.reasons[0]}")
    check_rollout(dataset, scenario, scenario.model, settings, rollout)


@pytest.mark.parametrize("model", MODELS)
def test_one_year_rollout_reproduces_the_single_period_plan(default_ics, model):
    scenario = planner.Scenario(budget_gbp=2e6, mip_gap=0.0)
    single = solve_options(build_options(default_ics, scenario, model))
    options = build_options(default_ics, scenario, model)
    pairs = set(
        zip(options.table["trust"][single.mask], options.table["product"][single.mask], strict=True)
    )
    rollout = solve_rollout(default_ics, scenario, model, RolloutSettings(years=1, ramp_months=0))
    assert rollout.objective == pytest.approx(single.objective, rel=1e-9)
    assert set(zip(rollout.schedule["trust"], rollout.schedule["product"], strict=True)) == pairs
    assert (rollout.schedule["start_year"] == 1).all()


@pytest.mark.parametrize("seed", range(1, 9))
def test_one_year_rollout_matches_single_period_on_random_instances(seed):
    dataset, scenario = random_instance(seed)
    scenario = scenario.replace(maximin_weight_gbp=0.0, mip_gap=0.0)
    try:
        single = solve_options(build_options(dataset, scenario))
    except planner.InfeasibleError:
        with pytest.raises(planner.InfeasibleError):
            solve_rollout(dataset, scenario, None, RolloutSettings(years=1, ramp_months=0))
        return
    rollout = solve_rollout(dataset, scenario, None, RolloutSettings(years=1, ramp_months=0))
    assert rollout.objective == pytest.approx(single.objective, rel=1e-9, abs=1e-6)


def test_ramp_and_later_years_lower_the_benefit():
    assert ramped_annuity(0, 0, 1, 0.0)[0] == pytest.approx(1.0)
    assert ramped_annuity(0, 6, 1, 0.0)[0] == pytest.approx(1 - 3 / 12)  # half a ramp lost
    assert ramped_annuity(0, 0, 5, 0.035)[0] == pytest.approx(annuity_from(0, 5, 0.035)[0])
    later = ramped_annuity(np.array([0.0, 12.0, 24.0]), 6, 5, 0.035)
    assert later[0] > later[1] > later[2] > 0


def test_benefit_curve_rises_and_starts_at_zero(default_ics):
    rollout = solve_rollout(default_ics, planner.Scenario(budget_gbp=2e6, mip_gap=0.01), "ics")
    curve = rollout.curve
    assert curve["benefit_rate_gbp_per_year"].iloc[0] == 0
    assert (np.diff(curve["cumulative_benefit_gbp"]) >= -1e-9).all()
    sched = rollout.schedule
    at_end = (sched["annual_benefit_gbp"] * np.clip((60 - sched["go_live_month"]) / 6, 0, 1)).sum()
    assert curve["benefit_rate_gbp_per_year"].iloc[-1] == pytest.approx(at_end)
    assert at_end <= sched["annual_benefit_gbp"].sum()


def test_rollout_longer_than_the_horizon_is_refused(default_ics):
    with pytest.raises(ValueError, match="horizon"):
        solve_rollout(
            default_ics, planner.Scenario(horizon_years=3), "ics", RolloutSettings(years=4)
        )


def one_locked_product(cost_gbp: float, horizon_years: int, **changes):
    """One trust forced to buy one product whose whole cost is a one-off cost_gbp.

    With no discounting and no licence, the product costs the same whichever year it is
    signed in, so only the money available by then decides.
    """
    data = make_dataset(
        [{"trust_code": "A"}], [{"product_code": "P", "implementation_gbp": cost_gbp}]
    )
    scenario = simple_scenario(
        horizon_years=horizon_years,
        budget_gbp=150.0,
        locks=[planner.Lock("A", "P", True)],
        **changes,
    )
    return data, scenario


def infeasible_reason(data, scenario, settings) -> str:
    with pytest.raises(planner.InfeasibleError) as err:
        solve_rollout(data, scenario, None, settings)
    [reason] = err.value.reasons
    return reason


def test_infeasible_rollout_advises_only_what_the_settings_leave_to_change():
    # 100 fits the 150 over two years, not the 75 of one year: carry-over is the fix
    data, scenario = one_locked_product(100.0, horizon_years=2)
    reason = infeasible_reason(data, scenario, RolloutSettings(years=2, carry_over=False))
    assert "carry over" in reason
    assert "more years" not in reason  # it is the whole horizon already
    assert "longer" not in reason
    assert len(solve_rollout(data, scenario, None, RolloutSettings(years=2)).schedule) == 1

    # 200 never fits 150: carry-over is on and the rollout spans the horizon already
    data, scenario = one_locked_product(200.0, horizon_years=2)
    reason = infeasible_reason(data, scenario, RolloutSettings(years=2, carry_over=True))
    assert "try" not in reason  # no rollout setting to suggest, carry-over least of all
    assert "carry over" not in reason
    assert "more years" not in reason
    assert "longer" not in reason
    assert "no rollout setting would help (carry-over is on, the rollout already spans" in reason
    assert "raise the budget or relax the locks" in reason

    # a one-year rollout of a three-year horizon: more years can help, carry-over cannot
    data, scenario = one_locked_product(200.0, horizon_years=3, coverage_floor=0.5)
    reason = infeasible_reason(data, scenario, RolloutSettings(years=1, carry_over=False))
    assert "more years (it has 1 of the horizon's 3)" in reason
    assert "carry" not in reason
    assert "relax the locks and the coverage floor" in reason
