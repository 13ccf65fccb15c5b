"""Rollout page: when each trust goes live, and how benefit builds up under each model."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import planner
from app_pages.shared import gbp, rollouts, show_error, styled
from planner import plots, report
from planner.formatting import MODEL_NAMES, percent, plural, status_text
from planner.rollout import late_signings_text

ctx = st.session_state["ctx"]
st.title("Rollout")
st.caption(
    "The budget is split evenly over the decision years; a contract's whole present value "
    "counts against the year it is signed. Benefit starts at go-live and ramps up."
)
c1, c2, c3 = st.columns(3)
horizon = ctx.scenario.horizon_years
years = c1.slider("Decision years", 1, horizon, horizon, key="rollout_years")
ramp = c2.slider("Ramp-up (months)", 0, 24, 6, key="rollout_ramp")
carry = c3.toggle("Carry unspent money over", True, key="rollout_carry")
try:
    results = rollouts(ctx.source, ctx.ics, ctx.scenario, years, carry, float(ramp))
except planner.PlannerError as exc:
    show_error(exc)
    st.stop()

summary = pd.DataFrame(
    [
        {
            "model": m,
            "status": status_text(r.status, r.gap),
            "adoptions": len(r.schedule),
            "benefit_gbp": r.benefit_gbp,
            "cost_gbp": r.cost_gbp,
            "first_year_live": int((r.schedule["go_live_year"] == 1).sum()),
        }
        for m, r in results.items()
    ]
)
st.dataframe(
    styled(
        summary,
        {
            "model": "Way of buying",
            "status": "Status",
            "adoptions": "Adoptions",
            "first_year_live": "Live in year 1",
            "benefit_gbp": "Benefit (present value)",
            "cost_gbp": "Committed (present value)",
        },
    ),
    hide_index=True,
    width="stretch",
    key="rollout_summary",
)
curves = pd.concat([r.curve for r in results.values()], ignore_index=True)
st.plotly_chart(plots.rollout_curves(curves), key="rollout_curves", width="stretch")
st.caption(
    "The table counts money and benefit in present value (discounted to today, at "
    f"{percent(ctx.scenario.discount_rate, 1)} a year); the curve adds up benefit as it is "
    "realised, undiscounted, so it ends higher than the table's benefit."
)
model = ctx.scenario.model
chosen = results[model]
st.markdown(
    f"**Timeline under {MODEL_NAMES[model]}** (the model chosen in the sidebar): "
    f"{plural(len(chosen.schedule), 'adoption')}, benefit {gbp(chosen.benefit_gbp)} "
    "(present value)."
)
late = late_signings_text(chosen, horizon)
if late:
    st.info(late)
st.plotly_chart(plots.rollout_gantt(chosen.schedule, horizon), key="rollout_gantt", width="stretch")
st.download_button(
    "Download rollout schedule (CSV)",
    report.csv_text(pd.concat([r.schedule.assign(model=m) for m, r in results.items()])),
    file_name="rollout.csv",
    mime="text/csv",
    key="download_rollout",
)
