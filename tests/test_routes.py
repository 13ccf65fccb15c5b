"""Procurement routes as settings: who buys together, who holds the money, how it is split.

Checked here: a route whose price tier is reached by one grouping and paid for by another
(the framework call-off, central with fair shares) by hand, against enumeration and against
the evaluator; the orderings a commissioner relies on (a network or a framework never worse
than each trust alone on equal terms; central never spends an ICS beyond its fair share);
and the messages for data a route cannot use.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from builders import (
    enumerate_best,
    make_dataset,
    random_instance,
    run,
    simple_scenario,
    tiny,
)

import planner
from planner.economics import build_options
from planner.equity_rules import unit_groups
from planner.evaluate import evaluate
from planner.procurement import buying_setup, needs_weights
from planner.scenario import MODELS, Route
from planner.solve import solve_options


def with_route(scenario, name: str, **changes):
    """``scenario`` with route ``name`` changed."""
    route = dataclasses.replace(scenario.route(name), **changes)
    return scenario.replace(procurement={**scenario.procurement, name: route})


def tiny_pair():
    """:func:`builders.tiny` with its two trusts in two ICSs, each with half the money."""
    return tiny(two_icss=True)


def pairs(plan):
    return sorted(zip(plan.adoptions["trust"], plan.adoptions["product"], strict=True))


def test_framework_call_off_reaches_the_national_tier_from_local_budgets_by_hand():
    # Each trust holds £550. Together they reach P1's tier 2, so P1 costs each
    # 100 + 1,000 x 0.25 = 350 and P3 200: 550 each, benefit 2 x (1,000 + 500) = 3,000.
    # Alone neither reaches tier 2 (P1 would cost 600), so each takes P2 + P3: 2 x 1,300.
    data = tiny_pair()
    scenario = simple_scenario(budget_gbp=1100)
    framework = planner.solve(data, scenario, "framework")
    assert pairs(framework) == [("A", "P1"), ("A", "P3"), ("B", "P1"), ("B", "P3")]
    assert framework.benefit_gbp == pytest.approx(3000)
    assert framework.adoptions.loc[framework.adoptions["product"] == "P1", "tier"].tolist() == [
        2,
        2,
    ]
    # each trust pays its own share from its own budget
    units = framework.units.set_index("buying_unit")
    assert units["cost_gbp"].to_dict() == pytest.approx({"A": 550, "B": 550})
    assert units["budget_gbp"].to_dict() == pytest.approx({"A": 550, "B": 550})
    local = planner.solve(data, scenario, "local")
    assert local.benefit_gbp == pytest.approx(2600)
    # the shared tier ties the two trusts' budgets: one MILP, not one per trust
    assert unit_groups(build_options(data, scenario, "framework")) == [["A", "B"]]
    assert unit_groups(build_options(data, scenario, "local")) == [["A"], ["B"]]


def test_one_pound_short_in_one_trust_loses_the_national_tier_for_both():
    # B holds £549: it cannot afford P1 + P3 at tier 2 (550), and A alone cannot reach it.
    data = tiny_pair()
    scenario = simple_scenario(budget_gbp=1099, local_budget_split="headroom")
    data = dataclasses.replace(
        data,
        trusts=data.trusts.assign(local_budget_gbp=[550.0, 549.0]),
    )
    plan = planner.solve(data, scenario, "framework")
    assert plan.benefit_gbp == pytest.approx(2600)
    assert set(plan.adoptions["tier"]) == {1}


def test_greedy_charges_each_money_holder_its_own_share_at_the_shared_tier():
    data = tiny_pair()
    scenario = simple_scenario(budget_gbp=1100)
    options = build_options(data, scenario, "framework")
    from planner.greedy import greedy_plan

    ev = evaluate(options, greedy_plan(options))
    assert ev.feasible, ev.violations


@pytest.mark.parametrize("model", MODELS)
def test_every_route_matches_enumeration(model):
    checked = 0
    seed = 0
    while checked < 12:
        seed += 1
        dataset, scenario = random_instance(seed)
        options = build_options(dataset, scenario, model)
        if not 0 < len(options.table) <= 12:
            continue
        best, _, _ = enumerate_best(options)
        if not np.isfinite(best):
            with pytest.raises(planner.InfeasibleError):
                solve_options(options)
            continue
        result = solve_options(options)
        ev = evaluate(options, result.mask)
        assert ev.feasible, (model, seed, ev.violations)
        assert ev.objective == pytest.approx(best, rel=1e-7, abs=1e-4), (model, seed)
        assert result.objective == pytest.approx(ev.objective, rel=1e-7, abs=1e-4), (model, seed)
        checked += 1


def equal_terms(scenario, *names, framework_only: bool = False):
    """``scenario`` with the routes ``names`` on the same lead time, shares and catalogue."""
    for name in names:
        scenario = with_route(
            scenario,
            name,
            lead_time_months=6.0,
            implementation_share=1.0,
            licence_share=1.0,
            platform_share=1.0,
            volume_discount_depth=1.0,
            framework_only=framework_only,
        )
    return scenario.replace(
        equity_weight=0.0, maximin_weight_gbp=0.0, coverage_floor=0.0, min_adoptions_per_trust=0
    )


@pytest.mark.parametrize(("pooled", "framework_only"), [("network", False), ("framework", True)])
def test_network_and_framework_are_never_worse_than_local_on_equal_terms(pooled, framework_only):
    compared = no_local_plan = 0
    for seed in range(1, 41):
        dataset, scenario = random_instance(seed)
        scenario = equal_terms(scenario, "local", pooled, framework_only=framework_only)
        try:
            local = planner.solve(dataset, scenario, "local", with_greedy=False)
        except planner.InfeasibleError:
            no_local_plan += 1  # locks or capacity no local plan meets: nothing to beat
            continue
        better = planner.solve(dataset, scenario, pooled, with_greedy=False)
        # every local plan is a plan of the pooled route: pooled money and volume only help
        assert better.objective >= local.objective - 1e-6 * max(1.0, abs(local.objective)), seed
        compared += 1
    assert compared >= 30
    assert compared + no_local_plan == 40


def test_central_keeps_every_ics_within_its_needs_weighted_fair_share(england):
    data = england.subset(list(england.icss.index[:6]))
    scenario = planner.Scenario(budget_gbp=6e6, time_limit_s=30, mip_gap=0.005)
    plan = planner.solve(data, scenario, "central", with_greedy=False)
    need = needs_weights(data.trusts, scenario).groupby(data.trusts["ics_code"]).sum()
    fair = 6e6 * need / need.sum()
    units = plan.units.set_index("buying_unit")
    assert sorted(units.index) == sorted(fair.index)
    assert units["budget_gbp"].to_dict() == pytest.approx(fair.to_dict())
    assert (units["cost_gbp"] <= units["budget_gbp"] + 1e-6).all()
    # one national price: every adoption of a product is at the same tier
    assert (plan.adoptions.groupby("product")["tier"].nunique() == 1).all()
    # one national pot may spend an ICS beyond its share; the fair-share route never does
    pot = planner.solve(data, scenario, "central_pot", with_greedy=False)
    spend = pot.trusts.groupby(pot.trusts["trust"].map(data.trusts["ics_code"]))["cost_gbp"].sum()
    assert (spend > fair + 1).any()
    assert pot.benefit_gbp >= plan.benefit_gbp * (1 - 0.01)


def test_needs_weights_count_core20_people_with_the_uplift():
    trusts = make_dataset(
        [
            {"trust_code": "A", "population": 1000, "core20_share": 0.0},
            {"trust_code": "B", "population": 1000, "core20_share": 0.5},
        ],
        [{"product_code": "P1"}],
    ).trusts
    got = needs_weights(trusts, planner.Scenario(needs_uplift=1.0))
    assert got.to_dict() == pytest.approx({"A": 1000.0, "B": 1500.0})


def test_routes_are_settings_a_scenario_can_change():
    # the ICS route made a national framework call-off by settings alone
    data = tiny_pair()
    scenario = with_route(
        simple_scenario(budget_gbp=1100), "ics", buys_together="nation", holds_money="trust"
    )
    plan = planner.solve(data, scenario, "ics")
    assert plan.benefit_gbp == pytest.approx(3000)
    setup = buying_setup(data, scenario, "ics")
    assert setup.tier_unit_of_trust.tolist() == ["ENGLAND", "ENGLAND"]
    assert setup.unit_of_trust.tolist() == ["A", "B"]


def test_a_route_by_a_grouping_the_data_lack_names_the_column_and_fix(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    from planner.data import load_dataset

    shipped = load_dataset("data/default_ics")
    trusts = shipped.tables()["trusts"].drop(columns=["network_code", "region_code"])
    for name, frame in shipped.tables().items():
        if name in ("networks", "regions"):
            continue
        (frame if name != "trusts" else trusts).to_csv(data / f"{name}.csv", index=False)
    code, out, err = run(capsys, "solve", "--data", data, "--model", "network")
    assert code == 2
    assert "trusts.csv" in err
    assert "network_code" in err
    assert "Traceback" not in out + err
    # the other routes still work on these data
    code, _, err = run(capsys, "solve", "--data", data, "--model", "framework")
    assert code == 0, err


def test_a_trust_without_a_network_under_the_network_route_is_named(tmp_path, capsys):
    from planner.data import load_dataset

    shipped = load_dataset("data/default_ics")
    data = tmp_path / "data"
    data.mkdir()
    for name, frame in shipped.tables().items():
        if name == "trusts":
            frame = frame.copy()
            frame.loc[frame["trust_code"] == "RAS", "network_code"] = ""
        frame.to_csv(data / f"{name}.csv", index=False)
    code, out, err = run(capsys, "solve", "--data", data, "--model", "network")
    assert code == 2
    assert "RAS" in err
    assert "network_code" in err
    assert "trusts.csv" in err
    assert "Traceback" not in out + err


def test_compare_takes_any_set_of_routes(capsys, tmp_path):
    out = tmp_path / "compare.json"
    code, text, err = run(
        capsys,
        "compare",
        "--data",
        "data/default_ics",
        "--budget",
        "2m",
        "--routes",
        "network,framework,central_pot",
        "--json",
        out,
    )
    assert code == 0, err
    import json

    got = json.loads(out.read_text())
    assert [p["model"] for p in got["plans"]] == ["network", "framework", "central_pot"]
    code, _, err = run(capsys, "compare", "--data", "data/default_ics", "--routes", "ics,nope")
    assert code == 2
    assert "'nope' is not a procurement route" in err


def test_unknown_route_in_a_scenario_is_refused():
    with pytest.raises(planner.ScenarioError, match="unknown procurement route"):
        planner.scenario.from_dict({"procurement": {"regional": {"lead_time_months": 3}}})
    with pytest.raises(planner.ScenarioError):
        planner.Scenario(procurement={"ics": Route(buys_together="county")})
