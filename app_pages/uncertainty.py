"""Uncertainty page: how robust the plan is when benefits and prices are uncertain."""

from __future__ import annotations

import streamlit as st

import planner
from app_pages.shared import gbp, show_error, uncertainty
from planner import plots

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
cols[0].metric("Base-case benefit", gbp(s["base_case_benefit_gbp"]))
cols[1].metric("Mean re-optimised benefit", gbp(s["mean_benefit_gbp"]))
cols[2].metric("Base-case plan, expected", gbp(s["expected_base_plan_benefit_gbp"]))
cols[3].metric(
    "Base-case plan overspends in",
    f"{s['base_plan_overspend_share']:.0%}",
    help="Share of samples where the base-case plan's cost exceeds its budget",
)
st.markdown(
    f"90% of re-optimised plans are worth between **{gbp(s['p05_benefit_gbp'])}** and "
    f"**{gbp(s['p95_benefit_gbp'])}** ({s['samples']} samples, {s['failed']} without a plan)."
)
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
