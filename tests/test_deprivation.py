"""Deprivation judged against England: weights, Core20 floors, parity and equity metrics."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from builders import make_dataset, simple_scenario

import planner
from planner.deprivation import (
    SHARE_COLUMNS,
    equity_weights,
    national_quintile,
    population_mix,
    quintile_weights,
)
from planner.economics import build_options
from planner.equity import concentration_index, equity_metrics, fractional_rank, weighted_gini
from planner.equity_rules import coverage_rules, unit_groups
from planner.evaluate import evaluate
from planner.model import build_model
from planner.solve import solve_options

QUICK = {"with_greedy": False, "with_marginal": False}


@pytest.fixture(scope="module")
def england(root):
    return planner.load_dataset(root / "data" / "england")


# --- national reference -------------------------------------------------------------------


def test_national_quintile_from_cut_points():
    cuts = (8.49, 13.79, 21.35, 34.17)
    scores = [0.0, 8.49, 8.5, 13.79, 20.0, 21.36, 34.17, 34.18, 80.0]
    assert national_quintile(scores, cuts).tolist() == [1, 1, 2, 2, 3, 4, 4, 5, 5]


def test_quintile_weights_follow_robson_and_average_one_over_england():
    w = quintile_weights(planner.Scenario())
    assert w.mean() == pytest.approx(1.0)  # a fifth of England in each quintile
    assert np.all(np.diff(w) > 0)
    assert 6 <= w[4] / w[0] <= 7  # Robson et al. 2017: the poorest fifth 6 to 7 times


def test_a_trust_weight_is_its_population_mix_times_the_quintile_weights():
    data = make_dataset(
        [
            {
                "trust_code": "A",
                "core20_share": 0.4,
                "imd_q1_share": 0.1,
                "imd_q2_share": 0.1,
                "imd_q3_share": 0.2,
                "imd_q4_share": 0.2,
                "imd_q5_share": 0.4,
            }
        ],
        [{"product_code": "P"}],
    )
    s = planner.Scenario(equity_weight=1.0)
    mix = population_mix(data.trusts, s)
    w = quintile_weights(s)
    expected = 0.1 * w[0] + 0.1 * w[1] + 0.2 * w[2] + 0.2 * w[3] + 0.4 * w[4]
    assert equity_weights(mix, s)["A"] == pytest.approx(expected)
    half = equity_weights(mix, s.replace(equity_weight=0.5))["A"]
    assert half == pytest.approx(0.5 + 0.5 * expected)
    assert equity_weights(mix, s.replace(equity_weight=0.0))["A"] == 1.0


def test_without_shares_a_trust_sits_in_the_core20_and_the_national_fifth_of_its_score():
    data = make_dataset(
        [
            {"trust_code": "A", "imd_score": 40.0, "core20_share": 0.5},
            {"trust_code": "B", "imd_score": 10.0, "core20_share": 0.02},
        ],
        [{"product_code": "P"}],
    )
    assert data.trusts[list(SHARE_COLUMNS)].isna().all().all()
    mix = population_mix(data.trusts, planner.Scenario())
    # the Core20 share in the most deprived fifth, the rest in the fifth of the score
    # (the fourth when the score itself is in the most deprived fifth)
    assert mix.loc["A"].tolist() == [0.0, 0.0, 0.0, 0.5, 0.5]
    assert mix.loc["B"].tolist() == pytest.approx([0.0, 0.98, 0.0, 0.0, 0.02])
    # a two-trust file ranked against itself would put nobody in the most deprived fifth
    rel = population_mix(data.trusts, planner.Scenario(deprivation_reference="dataset"))
    assert rel[5].sum() == 0.0


def test_the_same_trust_gets_the_same_weight_in_an_ics_plan_and_in_the_england_plan(england):
    s = planner.Scenario(equity_weight=1.0)
    whole = build_options(england, s, "central").trusts
    for ics in ("QCA", "QAN", "QBK"):
        part = build_options(england.subset([ics]), s, "ics").trusts
        cols = ["equity_weight", "imd_quintile", "core20_population", *SHARE_COLUMNS]
        pd.testing.assert_frame_equal(part[cols], whole.loc[part.index, cols])
    # the dataset-relative option is the one that disagrees
    rel = s.replace(deprivation_reference="dataset")
    part = build_options(england.subset(["QBK"]), rel, "ics").trusts["equity_weight"]
    assert not np.allclose(
        part, build_options(england, rel, "central").trusts.loc[part.index, "equity_weight"]
    )


def test_shipped_mixes_agree_with_core20_share(england, default_ics):
    for data in (england, default_ics):
        t = data.trusts
        assert t[list(SHARE_COLUMNS)].notna().all().all()
        assert np.allclose(t[list(SHARE_COLUMNS)].sum(axis=1), 1.0, atol=1e-9)
        assert np.allclose(t["imd_q5_share"], t["core20_share"])


# --- Core20 floor, per-trust variant, parity, minimum adoptions ---------------------------


@pytest.mark.parametrize(("ics", "n_trusts"), [("QCA", 1), ("QAN", 2), ("QBK", 4)])
def test_core20_floor_binds_in_small_icss(england, ics, n_trusts):
    data = england.subset([ics])
    assert len(data.trusts) == n_trusts
    base = planner.solve(data, planner.Scenario(), **QUICK)
    floor = round(base.equity["core20_coverage"] + 0.1, 2)
    plan = planner.solve(
        data, planner.Scenario(coverage_floor=floor, floor_applies_to="core20"), **QUICK
    )
    assert plan.equity["core20_coverage"] >= floor - 1e-6
    assert plan.equity["core20_coverage"] > base.equity["core20_coverage"] + 0.05
    assert plan.base_case["benefit_given_up_for_equity_gbp"] > 0
    # the evaluator holds the base plan to the same rule, and names what it breaks
    options = build_options(data, plan.scenario)
    mask = np.zeros(len(options.table), dtype=bool)
    ev = evaluate(options, mask)
    assert any(v.startswith("the Core20 people of ") and f"({ics}) get" in v for v in ev.violations)


def test_core20_floor_reaches_nobody_under_the_dataset_ranking_of_a_one_trust_ics(england):
    data = england.subset(["QCA"])
    s = planner.Scenario(coverage_floor=0.9, floor_applies_to="core20")
    assert coverage_rules(build_options(data, s.replace(deprivation_reference="dataset"))) == []
    rules = coverage_rules(build_options(data, s))
    assert [r.name for r in rules] == ["core20_floor[QCA]"]


def test_core20_floor_ties_the_trusts_of_an_ics_under_local_buying(default_ics):
    s = planner.Scenario(budget_gbp=2e6, model="local", coverage_floor=0.08)
    options = build_options(default_ics, s.replace(floor_applies_to="core20"))
    assert unit_groups(options) == [sorted(options.budgets.index)]
    per_trust = build_options(default_ics, s)
    assert len(unit_groups(per_trust)) == len(per_trust.budgets)
    res = solve_options(options)
    ev = evaluate(options, res.mask)
    assert ev.feasible
    core = equity_metrics(ev.trusts)["core20_coverage"]
    assert core >= 0.08 - 1e-6


def test_per_trust_core20_variant_binds_each_trust_above_the_threshold(default_ics):
    s = planner.Scenario(budget_gbp=3e6, coverage_floor=0.05, floor_applies_to="core20_trusts")
    options = build_options(default_ics, s)
    bound = sorted(r.scope for r in coverage_rules(options))
    share = default_ics.trusts["core20_share"]
    assert bound == sorted(share.index[share > 0.2])
    plan = planner.solve(default_ics, s, **QUICK)
    cov = plan.trusts.set_index("trust")["coverage"]
    assert (cov[bound] >= 0.05 - 1e-6).all()


def test_core20_parity_and_minimum_adoptions(default_ics):
    s = planner.Scenario(budget_gbp=2e6)
    base = planner.solve(default_ics, s, **QUICK)
    assert base.equity["core20_coverage"] < base.equity["population_coverage"]
    fair = planner.solve(default_ics, s.replace(core20_parity=True), **QUICK)
    assert fair.equity["core20_coverage"] >= fair.equity["population_coverage"] - 1e-6
    assert fair.benefit_gbp < base.benefit_gbp
    assert base.equity["trusts_without_new_adoptions"] == ["RBH"]
    every = planner.solve(default_ics, s.replace(min_adoptions_per_trust=1), **QUICK)
    assert every.equity["trusts_without_new_adoptions"] == []
    assert (every.trusts["adoptions"] >= 1).all()


def test_rules_are_named_constraints_of_the_milp(default_ics):
    s = planner.Scenario(
        budget_gbp=2e6,
        coverage_floor=0.1,
        floor_applies_to="core20",
        core20_parity=True,
        min_adoptions_per_trust=1,
    )
    prob = build_model(build_options(default_ics, s)).prob
    for name in ("core20_floor[QNA]", "core20_parity[QNA]", "min_adoptions[RBH]"):
        assert prob.get_constraint_by_name(name.replace("[", "_").replace("]", "_")) is not None


# --- equity metrics by hand ---------------------------------------------------------------


def test_gini_by_hand_with_ties():
    # values 1, 1, 4 with equal weights: mean 2; sum |vi - vj| over ordered pairs = 12;
    # G = (1/9) * 12 / (2 * 2) = 1/3
    assert weighted_gini([1, 1, 4], [1, 1, 1]) == pytest.approx(1 / 3)
    # a population weight of 2 on a value is the same as two people with it
    assert weighted_gini([1, 4], [2, 1]) == pytest.approx(1 / 3)
    assert weighted_gini([5, 5, 5], [1, 2, 3]) == 0.0


def test_concentration_index_by_hand_with_ties():
    # three groups of equal size, deprivation 5, 5, 1: the two most deprived tie and share
    # the midpoint rank 1/3; the least deprived has rank 5/6.
    rank = fractional_rank([5, 5, 1], [1, 1, 1])
    assert rank.tolist() == pytest.approx([1 / 3, 1 / 3, 5 / 6])
    # values 2, 4, 0 (mean 2): C = 2 * sum w (v - mean)(r - 1/2) / mean
    #   = 2 * (1/3) * [0 * (-1/6) + 2 * (-1/6) + (-2) * (1/3)] / 2 = -1/3
    assert concentration_index([2, 4, 0], [1, 1, 1], [5, 5, 1]) == pytest.approx(-1 / 3)
    # order within a tie does not matter
    assert concentration_index([4, 2, 0], [1, 1, 1], [5, 5, 1]) == pytest.approx(-1 / 3)
    # everything to the least deprived: positive
    assert concentration_index([0, 0, 6], [1, 1, 1], [5, 5, 1]) == pytest.approx(2 / 3)
    assert concentration_index([3, 3, 3], [1, 1, 1], [5, 5, 1]) == 0.0


def test_quintile_metrics_use_the_population_mix():
    trusts = pd.DataFrame(
        {
            "population": [100.0, 300.0],
            "core20_population": [50.0, 0.0],
            "imd_q1_share": [0.0, 1.0],
            "imd_q2_share": [0.0, 0.0],
            "imd_q3_share": [0.5, 0.0],
            "imd_q4_share": [0.0, 0.0],
            "imd_q5_share": [0.5, 0.0],
            "coverage": [0.2, 0.6],
            "adoptions": [1, 2],
            "benefit_gbp": [1000.0, 900.0],
            "covered_studies": [20.0, 60.0],
            "addressable_studies": [100.0, 100.0],
        },
        index=["A", "B"],
    )
    eq = equity_metrics(trusts)
    assert eq["by_imd_quintile"]["5"] == {
        "trusts": 1,
        "population": 50,
        "coverage": pytest.approx(0.2),
        "benefit_per_capita_gbp": pytest.approx(10.0),
    }
    assert eq["by_imd_quintile"]["1"]["coverage"] == pytest.approx(0.6)
    assert eq["by_imd_quintile"]["1"]["benefit_per_capita_gbp"] == pytest.approx(3.0)
    assert "2" not in eq["by_imd_quintile"]
    assert eq["core20_coverage"] == pytest.approx(0.2)
    assert eq["population_coverage"] == pytest.approx((100 * 0.2 + 300 * 0.6) / 400)
    # cells: A-q3 (50 people, £10/head), A-q5 (50, £10), B-q1 (300, £3); mean £4.75/head
    w = np.array([50, 50, 300]) / 400
    v = np.array([10.0, 10.0, 3.0])
    r = np.array([50 + 25, 25, 100 + 150]) / 400  # q5 first, then q3, then q1
    expected = 2 * (w * (v - 4.75) * (r - 0.5)).sum() / 4.75  # = -0.65625 * 2 / 4.75
    assert eq["concentration_index"] == pytest.approx(expected)
    assert eq["concentration_index"] < 0  # benefit per head leans to the deprived


# --- horizon --------------------------------------------------------------------------------


def test_contracts_signed_after_the_horizon_are_not_offered():
    data = make_dataset([{"trust_code": "A"}], [{"product_code": "P"}])
    s = simple_scenario(horizon_years=1).with_overrides({"procurement.local.lead_time_months": 12})
    assert build_options(data, s, "local").table.empty
    locked = s.replace(locks=[planner.Lock("A", "P", True)])
    with pytest.raises(planner.InfeasibleError, match="signed after the horizon"):
        planner.solve(data, locked, "local", **QUICK)
    sooner = s.with_overrides({"procurement.local.lead_time_months": 11})
    assert len(build_options(data, sooner, "local").table) == 1


def test_sweep_of_every_england_ics_meets_the_core20_floor(root, tmp_path, capsys):
    from planner.cli import main

    out = tmp_path / "runs.csv"
    data = str(root / "data" / "england")
    args = ["sweep", "--data", data, "--all-icss", "--coverage-floor", "0.2"]
    code = main([*args, "--floor-applies-to", "core20", "--out", str(out), "--workers", "2"])
    err = capsys.readouterr().err
    table = pd.read_csv(out)
    assert len(table) == 42
    solved = table[table["status"] != "infeasible"]
    assert len(solved) >= 35
    assert (solved["core20_coverage"] >= 0.2 - 1e-6).all()
    # an ICS that cannot afford the floor says so, and the exit code says some runs failed
    failed = table[table["status"] == "infeasible"]
    assert code == (5 if len(failed) else 0)
    for r in failed.itertuples():
        assert "the coverage floor alone cost at least" in r.reason
        assert f"run {r.run_id} (sweep, {r.ics}, ics) infeasible" in err


def test_equity_figures_are_the_same_in_json_csv_and_excel(default_ics, tmp_path):
    from planner import report

    plan = planner.solve(default_ics, planner.Scenario(budget_gbp=2e6), **QUICK)
    eq = plan.to_dict()["equity"]
    report.write_plan_csv(plan, tmp_path)
    report.write_plan_xlsx(plan, tmp_path / "plan.xlsx")
    for table in (
        pd.read_csv(tmp_path / "equity.csv"),
        pd.read_excel(tmp_path / "plan.xlsx", sheet_name="equity"),
    ):
        rows = table.set_index("group")
        for q, v in eq["by_imd_quintile"].items():
            label = [g for g in rows.index if g.startswith(f"national IMD fifth {q}")]
            assert rows.loc[label[0], "coverage"] == pytest.approx(v["coverage"], abs=1e-6)
            assert rows.loc[label[0], "people"] == v["population"]
        core = rows.loc["Core20 people (core20_share x population)"]
        assert core["coverage"] == pytest.approx(eq["core20_coverage"], abs=1e-6)
    summary = pd.read_csv(tmp_path / "summary.csv").iloc[0]
    assert summary["core20_coverage"] == pytest.approx(eq["core20_coverage"], abs=1e-6)
    q5 = eq["by_imd_quintile"]["5"]["coverage"]
    assert summary["coverage_q5"] == pytest.approx(q5, abs=1e-6)


def test_cli_solve_prints_core20_coverage_and_who_is_left_out(root, default_ics, capsys):
    from planner.cli import main

    code = main(["solve", "--data", str(root / "data" / "default_ics"), "--budget", "2m"])
    out = capsys.readouterr().out
    assert code == 0
    plan = planner.solve(default_ics, planner.Scenario(budget_gbp=2e6), **QUICK)
    eq = plan.equity
    q1 = eq["by_imd_quintile"]["1"]["coverage"]
    assert (
        f"Core20 people (most deprived national fifth): coverage {eq['core20_coverage']:.1%} "
        f"against {eq['population_coverage']:.1%} for all people; least deprived fifth {q1:.1%}"
    ) in out
    assert "no new AI tool: Brackenholt and Coldmoor Hospitals NHS Trust (RBH)" in out


def test_trust_summary_says_what_a_core20_floor_binds(default_ics):
    from planner.explain import explain_plan
    from planner.summary_html import trust_summary_html

    s = planner.Scenario(budget_gbp=2e6, coverage_floor=0.1, floor_applies_to="core20")
    plan = planner.solve(default_ics, s, **QUICK)
    ex = explain_plan(default_ics, s, plan, trusts=["RBH"], max_resolves=0)
    page = trust_summary_html(default_ics, plan, ex, "RBH")
    assert (
        "The Core20 people of each ICS (England&#x27;s most deprived fifth) must get 10% "
        "coverage between them." in page
    )


# --- edge cases ---------------------------------------------------------------------------


def _two_trusts(**b):
    return make_dataset(
        [
            {"trust_code": "A", "core20_share": 0.05, "local_budget_gbp": 100.0},
            {"trust_code": "B", "core20_share": 0.6, **b},
        ],
        [{"product_code": "P1", "use_case": "u1"}, {"product_code": "P2", "use_case": "u2"}],
    )


def test_parity_breach_is_reported_as_a_positive_shortfall():
    data = _two_trusts()
    options = build_options(data, simple_scenario(core20_parity=True, budget_gbp=1e6))
    ev = evaluate(options, [("A", "P1")])
    (text,) = [v for v in ev.violations if "Core20 people" in v]
    assert re.fullmatch(
        r"the Core20 people of Test ICS \(Q1\) get \d+\.\d% less coverage than the ICS's "
        r"people on average",
        text,
    )


def test_minimum_adoptions_ask_only_for_what_a_trust_can_buy():
    data = _two_trusts(it_capacity=0)
    s = simple_scenario(min_adoptions_per_trust=2, budget_gbp=1e6)
    locked = s.replace(locks=[planner.Lock("A", "P1", False)])
    plan = planner.solve(data, locked, **QUICK)  # A can buy only P2; B has no IT capacity
    assert plan.trusts.set_index("trust")["adoptions"].to_dict() == {"A": 1, "B": 0}
    # B could adopt nothing, so it is not "left out"
    assert plan.equity["trusts_without_new_adoptions"] == []


def test_shortfall_of_a_rule_spanning_local_buyers_is_counted_for_the_group():
    data = make_dataset(
        [
            {"trust_code": "A", "core20_share": 0.5, "local_budget_gbp": 1.0},
            {"trust_code": "B", "core20_share": 0.5, "local_budget_gbp": 10.0},
        ],
        [{"product_code": "P", "implementation_gbp": 11.0}],
    )
    s = simple_scenario(
        model="local", coverage_floor=0.5, floor_applies_to="core20", local_budget_split="headroom"
    )
    with pytest.raises(planner.InfeasibleError) as caught:
        planner.solve(data, s, **QUICK)
    # B alone can meet the ICS's Core20 floor with £1 more; A would need £10 more
    assert caught.value.reasons == [
        "meeting the coverage floor takes at least £1 more than the budgets of Trust A (A) and "
        "Trust B (B) allow between them (the rule spans them)"
    ]


def test_equity_frontier_without_core20_people_ranks_on_benefit():
    from planner.frontier import equity_frontier

    data = make_dataset(
        [{"trust_code": "A", "core20_share": 0.0, "imd_score": 5.0}], [{"product_code": "P"}]
    )
    frame = equity_frontier(data, simple_scenario(budget_gbp=1e6), [0.0, 1.0])
    assert frame["core20_coverage"].isna().all()
    assert frame["efficient"].all()  # equal benefit: neither beats the other
