"""Explain page: why each adoption, why not the others, and a one-page summary per trust."""

from __future__ import annotations

import streamlit as st

import planner
from app_pages.shared import explanation, show_error, show_table
from planner import report

ctx = st.session_state["ctx"]
dataset = ctx.dataset
st.title("Why this plan")
st.caption(
    "For one trust: why each product is in the plan and what it displaced, why the others "
    "are not, and the price cut at which each would be chosen (found by re-solving). "
    "About 5 seconds per trust."
)
trust = st.selectbox(
    "Trust",
    list(dataset.trusts.index),
    key=f"explain_trust:{ctx.scope}",
    format_func=lambda t: dataset.trusts.at[t, "trust_name"],
)
try:
    result, html_page = explanation(ctx.source, ctx.ics, ctx.scenario, trust)
except planner.PlannerError as exc:
    show_error(exc)
    st.stop()

value = result.budget_value or {}
if value.get("text"):
    st.markdown(f"**More money.** {value['text']}")
codes = ("trust", "trust_name", "ics", "product", "buying_unit")
st.subheader("In the plan")
show_table(
    result.adoptions,
    {
        "product_name": "Product",
        "use_case": "Use case",
        "cost_gbp": "Cost",
        "benefit_gbp": "Benefit",
        "benefit_per_gbp": "Benefit per £",
        "fits_because": "Why it fits",
        "displaced": "Without it",
    },
    key="explain_adoptions",
    drop=codes,
)
st.subheader("Not in the plan, and why")
show_table(
    result.not_chosen,
    {
        "product_name": "Product",
        "use_case": "Use case",
        "reason": "Why not",
        "cost_gbp": "Cost",
        "benefit_gbp": "Benefit",
        "price_cut_pct": "Price cut to be chosen",
        "break_even": "Break-even price",
    },
    key="explain_not_chosen",
    drop=codes,
)
c1, c2 = st.columns(2)
c1.download_button(
    "Download the trust's one-page summary (HTML)",
    html_page,
    file_name=f"{trust}_summary.html",
    mime="text/html",
    key="download_summary",
)
c2.download_button(
    "Download the explanations (Excel)",
    report.xlsx_bytes(result.tables()),
    file_name=f"{trust}_explanations.xlsx",
    key="download_explain",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)
with st.expander("Preview the one-page summary", expanded=True):
    st.html(html_page)
