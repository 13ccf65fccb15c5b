"""The Streamlit app through AppTest: it renders, and the plan follows the widgets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture
def app():
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception
    return at


def metrics(at):
    return {m.label: m.value for m in at.metric}


def heatmap_z(at):
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    return spec["data"][0]["z"]


def test_plan_page_shows_key_figures_and_figures(app):
    m = metrics(app)
    assert m["Spend"].startswith("£")
    assert int(m["Trusts with new AI"]) >= 1
    assert len(app.get("plotly_chart")) == 2
    z = heatmap_z(app)
    assert any(1.0 in row for row in z)  # at least one adoption drawn


def test_budget_slider_changes_the_plan(app):
    before = metrics(app)["Benefit (present value)"]
    z_before = heatmap_z(app)
    app.slider(key="budget_gbp").set_value(0.5).run()
    assert not app.exception
    after = metrics(app)["Benefit (present value)"]
    assert after != before
    assert heatmap_z(app) != z_before
    assert int(metrics(app)["Spend"].strip("£").replace(",", "")) <= 500_000


def test_infeasible_scenario_shows_a_message_not_a_traceback(app):
    app.slider(key="budget_gbp").set_value(0.0).run()
    app.slider(key="coverage_floor").set_value(0.5).run()
    assert not app.exception
    assert any("No plan" in e.value for e in app.error)
