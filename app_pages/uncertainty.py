"""Uncertainty page: how robust the plan is when benefits and prices are uncertain."""

from __future__ import annotations

import streamlit as st

import planner
from app_pages.shared import gbp_short, pct, show_error, uncertainty
from planner import plots
from planner.uncertainty import ranges_text

ctx = st.session_state["ctx"]
st.title("Uncertainty")
st.caption(
    "Benefits are drawn from each product's low/central/high range (triangular) and prices "
    "vary by up to 20% either way; the plan is re-optimised for every draw. The same seed "
    "always gives the same result."
)
c1, c2, c3 = st.columns(3)
samples = c1.number_input("Samples", 10, 2000, 100, 10, key="psa_samples")
seed = c2.number_input("Seed", 0, 10**6, 2026, 1, key="psa_seed")
workers = c3.number_input("Worker processes", 1, 8, 1, 1, key="psa_workers")
if not st.toggle(
    "Run the analysis", key="psa_run", help="About 0.1 s a sample on one ICS with one worker"
):
    st.info("Switch on 'Run the analysis' to sample and re-optimise.")
    st.stop()
try:
    result = uncertainty(ctx, int(samples), int(seed), int(workers))
except planner.PlannerError as exc:
    show_error(exc)
    st.stop()

s = result.summary
cols = st.columns(4)
cols[0].metric(
    "Base-case benefit",
    gbp_short(s["base_case_benefit_gbp"]),
    help="The plan made with every product at its central figures, valued at them",
)
cols[1].metric("Mean re-optimised benefit", gbp_short(s["mean_benefit_gbp"]))
cols[2].metric(
    "Base-case plan, expected",
    gbp_short(s["expected_base_plan_benefit_gbp"]),
    help="The base-case plan kept fixed, valued in every draw",
)
cols[3].metric(
    "Base-case plan overspends in",
    pct(s["base_plan_overspend_share"]),
    help="Share of the draws in which the base-case plan costs more than its budget",
)
st.markdown(ranges_text(s))
st.plotly_chart(
    plots.adoption_probability_heatmap(result.adoption, ctx.dataset),
    key="psa_heatmap",
    width="stretch",
)
st.plotly_chart(
    plots.benefit_distribution(result.samples, s["base_case_benefit_gbp"]),
    key="psa_distribution",
    width="stretch",
)
