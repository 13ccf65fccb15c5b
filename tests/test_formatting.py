"""The one formatter every face uses: money, prices, percentages, plurals, statuses, settings."""

from __future__ import annotations

import pytest

from planner.formatting import (
    Names,
    money,
    percent,
    percent_points,
    plural,
    pounds,
    price,
    setting_text,
    status_text,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [(-12000, "-£12k"), (950, "£950"), (1234, "£1.2k"), (2_345_678, "£2.35m"), (None, "-")],
)
def test_money_puts_the_sign_first(value, text):
    assert money(value) == text


@pytest.mark.parametrize(
    ("value", "text"), [(1.123, "£1.12"), (0.4, "£0.40"), (9.999, "£10.00"), (12.5, "£12")]
)
def test_a_price_under_ten_pounds_keeps_its_pence(value, text):
    assert price(value) == text


def test_shares_and_percent_points_are_told_apart():
    assert percent(0.2304) == "23.0%"
    assert percent_points(23.04) == "23.0%"  # a *_pct column: already in percent
    assert pounds(-12000) == "-£12,000"


@pytest.mark.parametrize(
    ("count", "noun", "text"),
    [(1, "trust", "1 trust"), (2, "trust", "2 trusts"), (1, "ICS", "1 ICS"), (3, "ICS", "3 ICSs"),
     (1200, "study", "1,200 studies")],
)  # fmt: skip
def test_plurals(count, noun, text):
    assert plural(count, noun) == text


def test_statuses_read_as_words_not_solver_codes():
    assert status_text("optimal", 0.0) == "optimal"
    assert status_text("gap_reached", 0.0001) == "optimal to within 0.01%"
    assert status_text("gap_reached", None) == "optimal"
    assert status_text("time_limit", 0.02).startswith("the best plan found in the time allowed")
    assert "2.00%" in status_text("time_limit", 0.02)
    assert status_text("infeasible") == "no plan meets the scenario"


def test_settings_read_with_their_units():
    assert setting_text("discount_rate", 0.035) == "3.5%"
    assert setting_text("qaly_value_gbp", 25000.0) == "£25,000"
    assert setting_text("platform_gbp_per_year", 25000.0) == "£25,000 a year"
    assert setting_text("procurement.ics.lead_time_months", 8.0) == "8 months"
    assert setting_text("procurement.central.framework_only", True) == "yes"
    assert setting_text("imd_cut_points", (8.49, 13.79)) == "8.49, 13.79"


def test_names_label_with_the_code_in_brackets():
    names = Names({"RBH": "Brackenholt"}, {"P": "Product P"}, {"Q1": "Test ICS"}, {"X": "Nat"})
    assert names.trust_label("RBH") == "Brackenholt (RBH)"
    assert names.trust_label("ZZZ") == "ZZZ"  # no name: the code alone
    assert names.ics_label("Q1") == "Test ICS (Q1)"
    assert names.unit_label("Q1") == "Test ICS (Q1)"
    assert names.unit_label("X") == "Nat"


def test_figures_show_names_from_the_data_as_text_not_markup():
    """Plotly renders <a href> in labels as a live link: names must be escaped first."""
    import json

    from builders import make_dataset, simple_scenario

    import planner
    from planner import plots

    link = '<a href="https://evil.example/">Click</a> NHS Trust'
    data = make_dataset(
        [{"trust_code": "A", "trust_name": link}, {"trust_code": "B"}],
        [{"product_code": "P", "product_name": "<b>Bold</b> & co"}],
    )
    plan = planner.solve(data, simple_scenario(budget_gbp=1e6))
    for fig in (plots.plan_heatmap(plan, data), plots.trust_bars(plan)):
        spec = json.dumps(fig.to_plotly_json())
        assert "<a href" not in spec
        assert "<b>Bold" not in spec
        assert "&lt;a href=" in spec  # shown as the characters
