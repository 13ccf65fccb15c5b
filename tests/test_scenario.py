"""Scenario settings: defaults, validation, files and overrides."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import planner
from planner.rollout import RolloutSettings
from planner.scenario import from_dict, parse_money

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2m", 2e6),
        ("2.5m", 2.5e6),
        ("£750k", 750e3),
        ("2,000,000", 2e6),
        ("1200", 1200.0),
        (".5m", 5e5),
        (3, 3.0),
    ],
)
def test_parse_money(text, value):
    assert parse_money(text) == value


@pytest.mark.parametrize("text", ["abc", "-5", "2x", "", "inf", "nan", "£"])
def test_parse_money_rejects(text):
    with pytest.raises(ValueError, match="money"):
        parse_money(text)


def test_defaults_are_the_documented_ones():
    s = planner.Scenario()
    assert s.discount_rate == 0.035
    assert 20000 <= s.qaly_value_gbp <= 30000
    assert s.route("central").framework_only
    assert not s.route("local").framework_only
    lead = [s.route(m).lead_time_months for m in ("local", "ics", "central")]
    assert lead == sorted(lead)
    assert lead[0] < lead[2]


def test_unknown_keys_and_bad_values_are_all_reported():
    with pytest.raises(planner.ScenarioError) as err:
        from_dict(
            {
                "budjet_gbp": 1,
                "discount_rate": -1,
                "model": "regional",
                "procurement": {"ics": {"lead_time_month": 3}},
            }
        )
    columns = {p.column for p in err.value.problems}
    assert {"budjet_gbp", "discount_rate", "model", "procurement.ics.lead_time_month"} <= columns


def test_yaml_and_toml_files(tmp_path):
    y = tmp_path / "s.yaml"
    y.write_text("model: local\nbudget_gbp: 2.5m\nlocks:\n  - {trust: A, product: B}\n")
    s = planner.load_scenario(y)
    assert (s.model, s.budget_gbp, s.locks[0].adopt) == ("local", 2.5e6, True)
    t = tmp_path / "s.toml"
    t.write_text("equity_weight = 0.5\n[procurement.central]\nlead_time_months = 20\n")
    s = planner.load_scenario(t)
    assert s.equity_weight == 0.5
    assert s.route("central").lead_time_months == 20
    assert s.route("central").framework_only  # untouched fields keep their defaults
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(planner.ScenarioError, match="bad.yaml"):
        planner.load_scenario(bad)


def test_overrides_and_hashing():
    base = planner.Scenario()
    s = base.with_overrides({"procurement.ics.lead_time_months": 9, "horizon_years": 7})
    assert s.route("ics").lead_time_months == 9
    assert s.horizon_years == 7
    assert base.route("ics").lead_time_months != 9  # the original is untouched
    assert hash(planner.Scenario()) == hash(planner.Scenario())
    assert hash(s) != hash(base)
    with pytest.raises(planner.ScenarioError):
        base.with_overrides({"procurement.regional.lead_time_months": 1})
    with pytest.raises(planner.ScenarioError):
        base.replace(horizon_years=2.5)


# ---------------------------------------------------------------------------------------
# the constructor checks as the file loader does (issue 10)


@pytest.mark.parametrize(
    ("make", "setting", "words"),
    [
        (lambda: planner.Scenario(equity_weight=7), "equity_weight", ["7", "from 0 to 1"]),
        (
            lambda: planner.Scenario(model="foo"),
            "model",
            ["'foo'", "local, ics, network, framework, central, central_pot"],
        ),
        (lambda: planner.Scenario(budget_gbp=-1), "budget_gbp", ["-1", "at least 0"]),
        (lambda: planner.Scenario(budget_gbp=float("nan")), "budget_gbp", ["nan", "at least 0"]),
        (lambda: planner.Scenario().replace(coverage_floor=2), "coverage_floor", ["2", "0 to 1"]),
        (lambda: planner.Scenario(horizon_years=2.5), "horizon_years", ["2.5", "whole number"]),
        (
            lambda: planner.Scenario(discount_rate=float("inf")),
            "discount_rate",
            ["inf", "0 to 0.2"],
        ),
        (
            lambda: planner.Scenario(core20_parity="yes"),
            "core20_parity",
            ["'yes'", "true or false"],
        ),
        (lambda: planner.Scenario(floor_applies_to="most"), "floor_applies_to", ["core20_trusts"]),
        (
            lambda: planner.Scenario(imd_cut_points=(30, 20, 10, 5)),
            "imd_cut_points",
            ["4 increasing"],
        ),
        (lambda: planner.Scenario(locks=[("A", "B")]), "locks[0]", ["needs trust and product"]),
        (
            lambda: planner.Scenario(locks=[planner.Lock("A", "B")]).replace(
                procurement={"ics": planner.Route(licence_share=2)}
            ),
            "licence_share",
            ["2", "0 to 1"],
        ),
        (
            lambda: planner.Scenario(procurement={"ics": {"lead_time_months": -3}}),
            "procurement.ics.lead_time_months",
            ["-3", "0 to 60"],
        ),
        (
            lambda: planner.Scenario(procurement={"regional": planner.Route()}),
            "procurement.regional",
            ["unknown procurement route", "local, ics, network, framework, central, central_pot"],
        ),
        (lambda: planner.Lock("A", "B", adopt="no"), "adopt", ["'no'", "true or false"]),
        (lambda: RolloutSettings(years=2.5), "years", ["2.5", "whole number"]),
        (
            lambda: RolloutSettings(years=3, yearly_budgets_gbp=[1e6]),
            "yearly_budgets_gbp",
            ["one budget per decision year (3)"],
        ),
    ],
    ids=[
        "equity-weight",
        "model",
        "negative-budget",
        "nan-budget",
        "replace",
        "fractional-int",
        "infinite",
        "bool",
        "floor-target",
        "cut-points",
        "lock-shape",
        "route-in-replace",
        "route-as-table",
        "unknown-route",
        "lock-adopt",
        "rollout-years",
        "rollout-budgets",
    ],
)
def test_construction_checks_every_setting(make, setting, words):
    with pytest.raises(planner.ScenarioError) as err:
        make()
    [problem] = err.value.problems
    assert problem.column.endswith(setting)
    text = str(err.value)
    assert setting in text
    for word in words:
        assert word in text, text


def test_what_the_code_base_builds_still_passes():
    s = planner.Scenario()
    assert planner.Scenario(**{k: getattr(s, k) for k in s.to_dict()}) == s
    assert s.replace(budget_gbp=2_000_000).budget_gbp == 2e6
    assert isinstance(s.replace(budget_gbp=2_000_000).budget_gbp, float)  # as a file gives it
    assert planner.Scenario(budget_gbp="2.5m").budget_gbp == 2.5e6  # as files write money
    assert planner.Scenario(horizon_years=np.int64(3)).horizon_years == 3
    assert type(planner.Scenario(horizon_years=np.int64(3)).horizon_years) is int
    assert planner.Scenario(imd_cut_points=[1, 2, 3, 4]).imd_cut_points == (1.0, 2.0, 3.0, 4.0)
    locked = s.replace(locks=[planner.Lock("A", "B", False)])
    assert locked.locks == (planner.Lock("A", "B", False),)
    assert hash(locked) == hash(from_dict(locked.to_dict()))
    assert s.route("central") == planner.Scenario(procurement={}).route("central")


def test_a_file_and_the_constructor_give_the_same_message(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("budget_gbp: -1\nequity_weight: 7\n", encoding="utf-8")
    with pytest.raises(planner.ScenarioError) as from_file:
        planner.load_scenario(path)
    with pytest.raises(planner.ScenarioError) as built:
        planner.Scenario(budget_gbp=-1, equity_weight=7)
    assert [p.file for p in from_file.value.problems] == ["s.yaml", "s.yaml"]
    assert [p.file for p in built.value.problems] == ["scenario", "scenario"]
    assert sorted(what(p) for p in from_file.value.problems) == sorted(
        what(p) for p in built.value.problems
    )


def what(problem):
    return problem.column, problem.problem, problem.fix


def test_cli_set_out_of_range_exits_2_with_the_allowed_range(capsys):
    from builders import run

    code, out, err = run(
        capsys, "solve", "--data", ROOT / "data" / "default_ics", "--set", "equity_weight=7"
    )
    assert code == 2
    assert out == ""
    assert err.strip() == (
        "error: override column equity_weight: 7 is above 1 (the maximum); "
        "give a number from 0 to 1"
    )
