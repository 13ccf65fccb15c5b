"""Fair cost sharing in a pooled deal: the game, the Shapley value, the stand-alone test."""

from __future__ import annotations

import dataclasses
import json
import time

import numpy as np
import pandas as pd
import pytest
from builders import make_dataset, simple_scenario

import planner
from planner.costshare import (
    RULES,
    coalition_cost,
    pool_games,
    shapley_exact,
    shapley_sampled,
    share_costs,
    stand_alone_cost,
    standalone_scenario,
)
from planner.data import parse_tables
from planner.economics import build_options
from planner.errors import PlannerError
from planner.evaluate import evaluate
from planner.generate import generate_tables
from planner.plots import cost_share_figure  # figures live with the other figures
from planner.schema import FILES

# The hand-computed example. Three buying trusts and one that buys nothing:
#
#   trust  x-ray/yr  CT/yr  platform
#   A        1000     500   yes
#   B        1500       0   yes        (no CT, so P2 is not an option at B)
#   C         500    1000   no
#   D           0       0   yes        (buys nothing: a null player)
#
# P1 (x-ray, use case u1): implementation £600, no licence; tiers £2.00 a study from 0 and
#    £1.00 a study from 2,500 studies a year (all units): only a pool reaches tier 2.
# P2 (CT, use case u2): no implementation, licence £400 a year, £1.00 a study, needs a
#    deployment platform (£800 a year; only C lacks one).
# One year, no discounting, no lead times, so present values are plain sums. Alone (local
# route) a trust pays 100% of implementation, licence and platform; a pool of two or more
# (ics route) pays 50% of each.
#
# The eight coalition costs, by hand:
#   c({})    = 0
#   c(A)     = P1 600 + 1000 x 2 = 2600;  P2 400 + 500 x 1 = 900                   = 3500
#   c(B)     = P1 600 + 1500 x 2                                                     = 3600
#   c(C)     = P1 600 + 500 x 2 = 1600;  P2 400 + 1000 = 1400;  platform 800       = 3800
#   c(A,B)   = P1 (300+300) + 2500 x 1 = 3100 (tier 2);  P2 200 + 500 = 700         = 3800
#   c(A,C)   = P1 (300+300) + 1500 x 2 = 3600;  P2 (200+200) + 1500 = 1900;  pl. 400 = 5900
#   c(B,C)   = P1 (300+300) + 2000 x 2 = 4600;  P2 200 + 1000 = 1200;  pl. 400       = 6200
#   c(A,B,C) = P1 900 + 3000 x 1 = 3900;  P2 400 + 1500 = 1900;  pl. 400             = 6200
#
# Shapley, phi_i = 1/3 c(i) + 1/6 [c(ij) - c(j)] + 1/6 [c(ik) - c(k)] + 1/3 [c(N) - c(jk)]:
#   phi_A = 3500/3 + (3800-3600)/6 + (5900-3800)/6 + (6200-6200)/3 = 1550
#   phi_B = 3600/3 + (3800-3500)/6 + (6200-3800)/6 + (6200-5900)/3 = 1750
#   phi_C = 3800/3 + (5900-3500)/6 + (6200-3600)/6 + (6200-3800)/3 = 2900
#   sum = 6200 = c(A,B,C); D gets 0. Each is below its stand-alone cost (3500, 3600, 3800).
HAND_COSTS = {
    (): 0.0,
    ("A",): 3500.0,
    ("B",): 3600.0,
    ("C",): 3800.0,
    ("A", "B"): 3800.0,
    ("A", "C"): 5900.0,
    ("B", "C"): 6200.0,
    ("A", "B", "C"): 6200.0,
}
HAND_SHAPLEY = {"A": 1550.0, "B": 1750.0, "C": 2900.0, "D": 0.0}

TRUSTS = {
    "A": {"trust_code": "A", "xray_per_year": 1000, "ct_per_year": 500},
    "B": {"trust_code": "B", "xray_per_year": 1500, "ct_per_year": 0},
    "C": {"trust_code": "C", "xray_per_year": 500, "ct_per_year": 1000, "has_platform": "no"},
    "D": {"trust_code": "D", "xray_per_year": 0, "ct_per_year": 0},
}
PRODUCTS = [
    {"product_code": "P1", "use_case": "u1", "implementation_gbp": 600.0, "downstream_share": 0.25},
    {
        "product_code": "P2",
        "use_case": "u2",
        "modality": "ct",
        "licence_gbp_per_year": 400.0,
        "needs_platform": "yes",
        "downstream_share": 0.75,
    },
]
TIERS = [
    {"product_code": "P1", "tier": 1, "min_studies_per_year": 0, "price_per_study_gbp": 2.0},
    {"product_code": "P1", "tier": 2, "min_studies_per_year": 2500, "price_per_study_gbp": 1.0},
    {"product_code": "P2", "tier": 1, "min_studies_per_year": 0, "price_per_study_gbp": 1.0},
]


def hand_dataset(codes=("A", "B", "C", "D"), **extra):
    trusts = [TRUSTS[c] for c in codes] + [
        {**TRUSTS[src], "trust_code": code} for code, src in extra.items()
    ]
    return make_dataset(trusts, PRODUCTS, TIERS)


def hand_scenario(**changes):
    flat = planner.Route(lead_time_months=0.0)
    pooled = planner.Route(
        lead_time_months=0.0, implementation_share=0.5, licence_share=0.5, platform_share=0.5
    )
    return simple_scenario(
        budget_gbp=100_000.0,
        platform_gbp_per_year=800.0,
        procurement={"local": flat, "ics": pooled, "central": pooled, "central_pot": pooled},
        **changes,
    )


def timed_scenario():
    """Discounting, lead times and implementation months: the timing matters here."""
    return planner.Scenario(
        budget_gbp=100_000.0,
        horizon_years=3,
        platform_setup_gbp=2_000.0,
        platform_gbp_per_year=800.0,
        marginal_step_gbp=0.0,
        mip_gap=0.0,
    )


@pytest.fixture(scope="module")
def hand():
    data = hand_dataset()
    plan = planner.solve(data, hand_scenario(), "ics")
    return data, plan


@pytest.fixture(scope="module")
def default_share(default_ics):
    plan = planner.solve(default_ics, planner.Scenario(budget_gbp=2e6), "ics")
    return plan, share_costs(default_ics, plan)


def merged_ics(seed: int, n_trusts: int):
    """A generated dataset with all its trusts in one ICS (generated ICSs hold at most 8)."""
    tables = generate_tables(n_ics=2, n_trusts=n_trusts, seed=seed)
    code = tables["icss"]["ics_code"].iloc[0]
    tables["icss"] = tables["icss"].iloc[:1]
    tables["trusts"]["ics_code"] = code
    raw = {k: [list(v.columns)] + v.astype(str).to_numpy().tolist() for k, v in tables.items()}
    return parse_tables(raw, {k: f"{k}.csv" for k in FILES}, "generated")


@pytest.fixture(scope="module")
def big():
    data = merged_ics(seed=1, n_trusts=14)
    plan = planner.solve(data, planner.Scenario(), "ics", with_greedy=False, with_marginal=False)
    return data, plan


def test_hand_example_coalition_costs(hand):
    data, plan = hand
    assert set(zip(plan.adoptions["trust"], plan.adoptions["product"], strict=True)) == {
        ("A", "P1"),
        ("A", "P2"),
        ("B", "P1"),
        ("C", "P1"),
        ("C", "P2"),
    }
    game = pool_games(data, plan)["Q1"]
    assert game.players == ("A", "B", "C")
    assert game.others == ("D",)
    for coalition, cost in HAND_COSTS.items():
        assert coalition_cost(game, coalition) == pytest.approx(cost, abs=1e-9), coalition
        # the trust that buys nothing adds nothing, and does not turn one buyer into a pool
        assert coalition_cost(game, (*coalition, "D")) == pytest.approx(cost, abs=1e-9)
    for t in "ABC":
        assert stand_alone_cost(game, t) == HAND_COSTS[(t,)]
    assert stand_alone_cost(game, "D") == 0.0
    with pytest.raises(KeyError, match="not a trust"):
        coalition_cost(game, ["Z"])


def test_hand_example_shapley_and_stand_alone_test(hand):
    data, plan = hand
    share = share_costs(data, plan)
    wide = share.wide().set_index("trust")
    for t, value in HAND_SHAPLEY.items():
        assert wide.at[t, "shapley_gbp"] == pytest.approx(value, abs=1e-9)
        assert wide.at[t, "shapley_standard_error_gbp"] == 0.0
    assert wide["shapley_gbp"].sum() == pytest.approx(6200.0)
    assert share.summary["methods"] == {"Q1": "exact"}
    # benefit: £1 a study, 1500 studies at each of A, B and C; population: 100,000 each of 4
    assert wide.loc[["A", "B", "C"], "benefit_gbp"].tolist() == pytest.approx([6200 / 3] * 3)
    assert wide.at["D", "benefit_gbp"] == 0.0
    assert wide["population_gbp"].tolist() == pytest.approx([1550.0] * 4)
    # as planned: each pays its own adoptions at the pooled terms (A 1300 + 700, ...)
    assert wide["own_adoptions_gbp"].tolist() == pytest.approx([2000.0, 1800.0, 2400.0, 0.0])
    assert wide["stand_alone_gbp"].tolist() == pytest.approx([3500.0, 3600.0, 3800.0, 0.0])
    # D pays nothing alone, so any positive charge fails the stand-alone test
    assert not wide[["shapley_pays_more", "benefit_pays_more", "own_adoptions_pays_more"]].any(
        axis=None
    )
    assert wide["population_pays_more"].tolist() == [False, False, False, True]
    assert share.summary["pays_more_than_alone"] == {
        "shapley": 0,
        "benefit": 0,
        "population": 1,
        "own_adoptions": 0,
    }
    pools = share.pools.set_index("pool")
    assert pools.at["Q1", "pooled_cost_gbp"] == pytest.approx(6200.0)
    assert pools.at["Q1", "stand_alone_total_gbp"] == pytest.approx(10900.0)
    assert pools.at["Q1", "pooling_saving_gbp"] == pytest.approx(4700.0)
    rows = share.by_trust
    assert (rows["saving_gbp"] == rows["stand_alone_gbp"] - rows["share_gbp"]).all()


def test_shares_sum_to_the_pooled_cost_under_every_rule(hand, default_share):
    data, plan = hand
    for plan_, share in ((plan, share_costs(data, plan)), default_share):
        sums = share.by_trust.groupby("rule")["share_gbp"].sum()
        assert set(sums.index) == set(RULES)
        for rule in RULES:
            assert sums[rule] == pytest.approx(plan_.cost_gbp, rel=1e-12), rule
        assert share.summary["pooled_cost_gbp"] == pytest.approx(plan_.cost_gbp, rel=1e-12)


def test_grand_coalition_is_the_evaluators_pooled_cost(hand, default_ics):
    for data, scenario in (
        (hand[0], hand_scenario()),
        (hand[0], timed_scenario()),
        (default_ics, planner.Scenario(budget_gbp=2e6)),
    ):
        plan = planner.solve(data, scenario, "ics", with_greedy=False, with_marginal=False)
        pairs = list(zip(plan.adoptions["trust"], plan.adoptions["product"], strict=True))
        pooled = evaluate(build_options(data, scenario, "ics"), pairs).cost_gbp
        games = pool_games(data, plan)
        grand = sum(coalition_cost(g, g.players) for g in games.values())
        assert grand == pytest.approx(pooled, rel=1e-12)
        assert pooled == pytest.approx(plan.cost_gbp, rel=1e-12)


def test_stand_alone_is_the_real_cost_of_going_alone():
    """c({t}) is what the evaluator charges t alone under the local model, same products."""
    scenario = timed_scenario()
    data = hand_dataset(("A", "B", "C"))
    plan = planner.solve(data, scenario, "ics", with_greedy=False, with_marginal=False)
    game = pool_games(data, plan)["Q1"]
    alone_scenario = standalone_scenario(scenario, "ics")
    assert alone_scenario.route("local").lead_time_months == 8.0  # the ICS route's timing
    assert alone_scenario.route("local").implementation_share == 1.0
    for t in game.players:
        own = plan.adoptions.loc[plan.adoptions["trust"] == t, "product"]
        pairs = [(t, p) for p in own]
        single = hand_dataset((t,))
        alone = evaluate(build_options(single, alone_scenario, "local"), pairs)
        assert coalition_cost(game, [t]) == pytest.approx(alone.cost_gbp, rel=1e-12)
        assert stand_alone_cost(game, t) == pytest.approx(alone.cost_gbp, rel=1e-12)
        # at the local route's own (shorter) lead time the trust would buy more months of
        # service, which costs more: that is why one timing is used for every coalition
        longer = evaluate(build_options(single, scenario, "local"), pairs).cost_gbp
        assert longer > alone.cost_gbp


def test_symmetric_trusts_get_equal_shapley_shares():
    data = hand_dataset(A2="A")  # A2 is A under another code
    plan = planner.solve(data, hand_scenario(), "ics", with_greedy=False, with_marginal=False)
    wide = share_costs(data, plan).wide().set_index("trust")
    assert wide.at["A", "shapley_gbp"] == pytest.approx(wide.at["A2", "shapley_gbp"], rel=1e-12)
    assert wide.at["A", "shapley_gbp"] != pytest.approx(wide.at["B", "shapley_gbp"])
    assert wide.at["A", "stand_alone_gbp"] == wide.at["A2", "stand_alone_gbp"]
    assert wide["shapley_gbp"].sum() == pytest.approx(plan.cost_gbp, rel=1e-12)


def test_null_player_gets_nothing(hand, default_share):
    data, plan = hand
    game = pool_games(data, plan)["Q1"]
    assert "D" not in game.players
    share = share_costs(data, plan).wide().set_index("trust")
    assert share.at["D", "shapley_gbp"] == 0.0
    # adding or removing a trust that buys nothing leaves everyone else's share alone
    without = planner.solve(hand_dataset(("A", "B", "C")), hand_scenario(), "ics")
    other = share_costs(hand_dataset(("A", "B", "C")), without).wide().set_index("trust")
    for t in "ABC":
        assert other.at[t, "shapley_gbp"] == pytest.approx(share.at[t, "shapley_gbp"])
    plan_d, share_d = default_share
    idle = plan_d.trusts.loc[plan_d.trusts["adoptions"] == 0, "trust"].tolist()
    assert idle  # the default ICS at £2m leaves a trust without new products
    wide = share_d.wide().set_index("trust")
    assert (wide.loc[idle, ["shapley_gbp", "benefit_gbp", "stand_alone_gbp"]] == 0).all(axis=None)


def test_sampled_shapley_matches_exact_within_its_error(hand, big):
    data, plan = hand
    game = pool_games(data, plan)["Q1"]
    exact = shapley_exact(game)
    assert exact == pytest.approx([1550.0, 1750.0, 2900.0])
    estimate, error, used = shapley_sampled(game, permutations=4000, seed=7)
    assert used == 4000
    assert (error > 0).all()
    assert (np.abs(estimate - exact) <= 4 * error).all()
    assert estimate.sum() == pytest.approx(6200.0, rel=1e-12)
    # forced through share_costs: reported as sampled, with its errors and order count
    share = share_costs(data, plan, exact_up_to=0, permutations=1000, seed=3)
    pools = share.pools.set_index("pool")
    assert pools.at["Q1", "shapley_method"] == "sampled"
    assert pools.at["Q1", "permutations"] == 1000
    rows = share.by_trust[share.by_trust["rule"] == "shapley"].set_index("trust")
    assert rows.loc[["A", "B", "C"], "standard_error_gbp"].gt(0).all()
    assert rows.at["D", "share_gbp"] == 0.0
    assert rows["share_gbp"].sum() == pytest.approx(6200.0, rel=1e-12)
    # the same seed gives the same shares
    again = share_costs(data, plan, exact_up_to=0, permutations=1000, seed=3)
    pd.testing.assert_frame_equal(share.by_trust, again.by_trust)
    # and on a 13-player game, every estimate lies within 4 standard errors of the exact value
    game13 = next(iter(pool_games(*big).values()))
    assert game13.n == 13
    estimate, error, _ = shapley_sampled(game13, permutations=2000, seed=2026)
    assert (np.abs(estimate - shapley_exact(game13)) <= 4 * error).all()


def test_default_ics_is_exact(default_share):
    plan, share = default_share
    pools = share.pools.set_index("pool")
    assert list(pools.index) == ["QNA"]
    assert pools.at["QNA", "trusts"] == 8
    assert pools.at["QNA", "shapley_method"] == "exact"
    assert share.summary["max_standard_error_gbp"] == 0.0
    assert pools.at["QNA", "pooled_cost_gbp"] == pytest.approx(plan.cost_gbp, rel=1e-12)
    # pooling saves money overall: the trusts alone would pay more for the same products
    assert pools.at["QNA", "stand_alone_total_gbp"] > plan.cost_gbp
    rows = share.by_trust
    assert len(rows) == 8 * len(RULES)
    expected = rows["share_gbp"] - rows["stand_alone_gbp"] > 0.5
    assert (rows["pays_more_than_alone"] == expected).all()


def test_fourteen_trust_ics_is_sampled_with_errors(big):
    data, plan = big
    share = share_costs(data, plan)
    pools = share.pools.set_index("pool")
    (pool,) = pools.index
    assert pools.at[pool, "trusts"] == 14
    assert pools.at[pool, "buying_trusts"] == 13
    assert pools.at[pool, "shapley_method"] == "sampled"
    assert pools.at[pool, "permutations"] == 2000
    assert share.summary["permutations"] == 2000
    rows = share.by_trust[share.by_trust["rule"] == "shapley"]
    buyers = rows[rows["buys"]]
    assert (buyers["standard_error_gbp"] > 0).all()
    assert share.summary["max_standard_error_gbp"] == pytest.approx(
        buyers["standard_error_gbp"].max()
    )
    assert rows["share_gbp"].sum() == pytest.approx(plan.cost_gbp, rel=1e-9)
    # with exact_up_to raised, the same pool is enumerated (8,192 coalitions)
    exact = share_costs(data, plan, exact_up_to=13).pools.set_index("pool")
    assert exact.at[pool, "shapley_method"] == "exact"


def test_twelve_trusts_are_enumerated_quickly(big):
    game = next(iter(pool_games(*big).values()))
    keep = slice(0, 12)
    game12 = dataclasses.replace(
        game,
        players=game.players[keep],
        studies=game.studies[keep],
        weighted_studies=game.weighted_studies[keep],
        fixed_pooled=game.fixed_pooled[keep],
        fixed_alone=game.fixed_alone[keep],
    )
    started = time.perf_counter()
    phi = shapley_exact(game12)
    assert time.perf_counter() - started < 2.0
    assert phi.sum() == pytest.approx(coalition_cost(game12, game12.players), rel=1e-12)


def test_department_split_follows_benefit(hand, default_share):
    data, plan = hand
    share = share_costs(data, plan)
    dep = share.departments.set_index(["trust", "product"])
    # C's platform (£400 at the pooled share) goes to P2, the only product that needs it
    assert dep.at[("C", "P2"), "platform_gbp"] == pytest.approx(400.0)
    assert dep.at[("C", "P2"), "total_gbp"] == pytest.approx(1600.0)
    assert dep.at[("C", "P1"), "total_gbp"] == pytest.approx(800.0)
    totals = share.department_totals.set_index("trust")
    # C: P1 800 x 0.75 + P2 1600 x 0.25 to radiology; the rest downstream
    assert totals.at["C", "radiology_gbp"] == pytest.approx(1000.0)
    assert totals.at["C", "downstream_gbp"] == pytest.approx(1400.0)
    assert totals.at["D", "cost_gbp"] == 0.0
    for plan_, share_ in ((plan, share), default_share):
        dep = share_.departments
        assert (dep["radiology_gbp"] + dep["downstream_gbp"]).sum() == pytest.approx(
            plan_.cost_gbp, rel=1e-12
        )
        assert np.allclose(dep["radiology_gbp"], dep["total_gbp"] * (1 - dep["downstream_share"]))
        assert share_.department_totals["cost_gbp"].sum() == pytest.approx(plan_.cost_gbp)
        assert share_.summary["radiology_gbp"] + share_.summary["downstream_gbp"] == (
            pytest.approx(plan_.cost_gbp, rel=1e-12)
        )
        by_trust = share_.department_totals.set_index("trust")["cost_gbp"]
        planned = plan_.trusts.set_index("trust")["cost_gbp"]
        assert np.allclose(by_trust.loc[planned.index], planned)


@pytest.mark.parametrize("model", ["local", "central", "central_pot"])
def test_other_models(hand, model):
    data, _ = hand
    plan = planner.solve(data, hand_scenario(), model, with_greedy=False, with_marginal=False)
    share = share_costs(data, plan)
    for rule in RULES:
        rows = share.by_trust[share.by_trust["rule"] == rule]
        assert rows["share_gbp"].sum() == pytest.approx(plan.cost_gbp, rel=1e-12)
    if model == "local":
        # every trust is its own pool: each rule charges it exactly its own cost
        assert len(share.pools) == 4
        assert np.allclose(share.by_trust["share_gbp"], share.by_trust["stand_alone_gbp"])
    else:
        # central's money is held by each ICS (one here), central_pot's by one national pot
        assert list(share.pools["pool"]) == ["Q1" if model == "central" else "ENGLAND"]
        wide = share.wide().set_index("trust")
        for t, value in HAND_SHAPLEY.items():  # the central route here has the ics terms
            assert wide.at[t, "shapley_gbp"] == pytest.approx(value)


def test_exports_and_figure(hand, tmp_path):
    data, plan = hand
    share = share_costs(data, plan)
    sheets = share.sheets()
    assert set(sheets) == {
        "cost_share_pools",
        "cost_share",
        "cost_share_departments",
        "cost_share_department_totals",
    }
    share.write_xlsx(tmp_path / "share.xlsx")
    read = pd.read_excel(tmp_path / "share.xlsx", sheet_name=None)
    assert len(read["cost_share"]) == 4 * len(RULES)
    written = share.write_csv(tmp_path / "csv")
    assert {p.name for p in written} == {f"{name}.csv" for name in sheets}
    back = pd.read_csv(tmp_path / "csv" / "cost_share.csv")
    assert back["share_gbp"].sum() == pytest.approx(4 * 6200.0)
    data_dict = json.loads(json.dumps(share.to_dict()))
    assert data_dict["summary"]["methods"] == {"Q1": "exact"}
    assert "timings" not in data_dict
    fig = cost_share_figure(share)
    assert [t.name for t in fig.data][-1] == "Going alone (same products)"
    assert len(fig.data) == len(RULES) + 1


def test_bad_arguments(hand, default_ics):
    data, plan = hand
    with pytest.raises(ValueError, match="exact_up_to"):
        share_costs(data, plan, exact_up_to=21)
    with pytest.raises(ValueError, match="permutations"):
        share_costs(data, plan, permutations=1)
    with pytest.raises(PlannerError, match="does not belong"):
        share_costs(default_ics, plan)
