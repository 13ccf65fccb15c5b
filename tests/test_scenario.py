"""Scenario settings: defaults, validation, files and overrides."""

from __future__ import annotations

import pytest

import planner
from planner.scenario import from_dict, parse_money


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
