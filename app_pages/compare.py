"""Compare page: ways of buying on the same money, side by side (the user picks which)."""

from __future__ import annotations

import streamlit as st

import planner
from app_pages.shared import compare_plans, show_error, show_table
from planner import plots, report
from planner.equity_check import compare_headline
from planner.formatting import MODEL_NAMES, status_text
from planner.scenario import COMPARED, MODELS
from planner.solve import has_plan

ctx = st.session_state["ctx"]
st.title("Compare ways of buying")
st.caption(
    "Ways of buying with the same total money: each trust alone, the ICS or the imaging "
    "network as one, trusts calling off national framework prices from their own budgets, "
    "and NHS England buying nationally (within each ICS's fair share, or from one pot). "
    "An imaging network that crosses the ICS's border is counted with its trusts in this "
    "ICS only."
)
routes = st.multiselect(
    "Ways of buying to compare",
    MODELS,
    default=list(COMPARED),
    format_func=MODEL_NAMES.get,
    key="compare_routes",
)
if not routes:
    st.info("Choose at least one way of buying.")
    st.stop()

try:
    plans, table = compare_plans(ctx.source, ctx.ics, ctx.scenario, tuple(routes))
except planner.PlannerError as exc:
    show_error(exc)
    st.stop()

for row in table[~has_plan(table["status"])].itertuples():
    st.warning(
        f"**{MODEL_NAMES[row.model]}** has no plan: {row.reason}. The other ways of "
        "buying are shown."
    )
if not plans:
    st.stop()
st.markdown(compare_headline(table, ctx.scenario.budget_gbp))
shown = table.assign(
    status=[
        status_text(s, g)
        for s, g in zip(table["status"], table.get("gap", [None] * len(table)), strict=True)
    ]
)
show_table(
    shown,
    {
        "model": "Way of buying",
        "status": "Status",
        "cost_gbp": "Spend",
        "benefit_gbp": "Benefit",
        "adoptions": "Adoptions",
        "trusts_with_new_adoptions": "Trusts with new AI",
        "min_coverage": "Lowest trust coverage",
        "core20_coverage": "Core20 people's coverage",
    },
    key="compare_table",
)
table = table[has_plan(table["status"])]
st.plotly_chart(plots.compare_bars(table), key="compare_bars", width="stretch")
left, right = st.columns(2)
left.plotly_chart(plots.quintile_coverage(plans), key="quintile_coverage", width="stretch")
if "local" in set(table["model"]) and len(table) > 1:  # what buying alone loses
    right.plotly_chart(plots.going_alone(table), key="going_alone", width="stretch")
st.plotly_chart(
    plots.time_to_benefit(plans, ctx.scenario.horizon_years), key="time_to_benefit", width="stretch"
)
st.download_button(
    "Download comparison (Excel)",
    report.xlsx_bytes({"comparison": table} | {f"{p.model}_adoptions": p.adoptions for p in plans}),
    file_name="comparison.xlsx",
    key="download_compare",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)
