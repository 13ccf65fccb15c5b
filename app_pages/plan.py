"""Plan page: the optimal plan for the chosen ICS, model, budget and equity settings."""

from __future__ import annotations

import dataclasses

import streamlit as st

import planner
from app_pages.shared import (
    equity_notes,
    gbp,
    gbp_short,
    lock_labels,
    next_step_value,
    pct,
    plan_figures,
    show_error,
    solve_plan,
    styled,
)
from planner import report
from planner.formatting import MODEL_NAMES, status_text

state = st.session_state
ctx = state["ctx"]
st.title("Plan")
st.caption(
    "Which AI imaging products each trust should adopt with this money, and who gets "
    "what. Money is present value over the horizon."
)

with st.expander("Locks: force a product in or keep it out at a trust"):
    names = lock_labels(ctx.source, ctx.ics)  # every (trust, product) pair, by name
    pairs = list(names)
    current_in = [(lk.trust, lk.product) for lk in ctx.scenario.locks if lk.adopt]
    current_out = [(lk.trust, lk.product) for lk in ctx.scenario.locks if not lk.adopt]
    forced_in = st.multiselect(
        "Force in", pairs, default=current_in, format_func=names.get, key=f"locks_in:{ctx.scope}"
    )
    forced_out = st.multiselect(
        "Keep out", pairs, default=current_out, format_func=names.get, key=f"locks_out:{ctx.scope}"
    )
    wanted = [planner.Lock(t, p, True) for t, p in forced_in] + [
        planner.Lock(t, p, False) for t, p in forced_out
    ]
    if wanted != list(ctx.scenario.locks):
        state["locks"] = wanted
        state["locks_source"] = ctx.source
        st.rerun()

key = (ctx.source, ctx.ics, ctx.scenario)
try:
    plan = solve_plan(ctx.source, ctx.ics, ctx.scenario)
    state["last_plan"] = (key, plan)
except planner.PlannerError as exc:
    show_error(exc)
    last = state.get("last_plan")
    if last is None or last[0][:2] != key[:2]:
        st.stop()
    key, plan = last
    st.warning(
        f"Showing the last valid plan (budget {gbp(plan.budget_gbp)}, "
        f"{MODEL_NAMES[plan.model]}) until the scenario can be met."
    )

cols = st.columns(5)
cols[0].metric(
    "Spend", gbp_short(plan.cost_gbp), help=f"{gbp(plan.cost_gbp)} of {gbp(plan.budget_gbp)}"
)
cols[1].metric(
    "Benefit",
    gbp_short(plan.benefit_gbp),
    help=f"{gbp(plan.benefit_gbp)}: present value of health gain (at the QALY value) and "
    "radiologist time released",
)
n_trusts = len(plan.trusts)
cols[2].metric("Trusts with new AI", f"{plan.equity['trusts_with_new_adoptions']} of {n_trusts}")
cols[3].metric(
    "Lowest trust coverage",
    pct(plan.equity["min_coverage"]),
    help="Of the trust's addressable studies (those an approved AI product could read), the "
    "share read by AI once the plan is live, at the trust where that share is lowest",
)
given_up = (plan.base_case or {}).get("benefit_given_up_for_equity_gbp", 0.0)
cols[4].metric(
    "Given up for equity",
    gbp_short(given_up),
    help=f"{gbp(given_up)} of benefit given up against the unweighted plan with no floors "
    "(NICE's base case)"
    + (
        ". Under local buying equity weights cannot move money between trusts, so they "
        "give nothing up"
        if plan.model == "local"
        else ""
    ),
)
# filled at the end, so the figures redraw before the fairness re-solves run
equity_slot = st.container()
gain = plan.greedy.get("gain_gbp")
summary = [f"The plan is **{status_text(plan.status, plan.gap)}**."]
if gain is not None:
    summary.append(
        f"The optimiser gains **{gbp(gain)}** over buying in order of benefit per pound "
        "until the money runs out."
    )
st.markdown(" ".join(summary))
# filled at the end too: what more money would buy takes one more solve
marginal_slot = st.empty()

heatmap, bars = plan_figures(*key)  # built once per plan (a step up was built in advance)
st.plotly_chart(heatmap, key="heatmap", width="stretch")
st.plotly_chart(bars, key="trust_bars", width="stretch")

st.subheader("The plan")
st.dataframe(
    styled(
        plan.adoptions,
        {
            "trust_name": "Trust",
            "product_name": "Product",
            "use_case": "Use case",
            "tier": "Price tier",
            "go_live_months": "Go-live (months)",
            "cost_gbp": "Cost",
            "benefit_gbp": "Benefit",
            "benefit_per_gbp": "Benefit per £",
        },
    ),
    hide_index=True,
    width="stretch",
    key="plan_table",
)
st.subheader("By trust")
st.dataframe(
    styled(
        plan.trusts,
        {
            "trust_name": "Trust",
            "imd_quintile": "National IMD fifth (5 = most deprived)",
            "core20_share": "Core20 share",
            "population": "Population",
            "adoptions": "New products",
            "cost_gbp": "Cost",
            "benefit_gbp": "Benefit",
            "coverage": "Coverage",
        },
    ),
    hide_index=True,
    width="stretch",
    key="trust_table",
)

# the files are made when a button is pressed, not on every run of the page
c1, c2, c3 = st.columns(3)
c1.download_button(
    "Download plan (CSV)",
    lambda: report.csv_text(plan.adoptions),
    file_name="plan_adoptions.csv",
    mime="text/csv",
    key="download_csv",
    on_click="ignore",
)
c2.download_button(
    "Download plan (Excel)",
    lambda: report.xlsx_bytes(report.plan_sheets(plan)),
    file_name="plan.xlsx",
    key="download_xlsx",
    on_click="ignore",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)


def plan_json() -> str:
    """The plan's JSON, with what the next budget step buys when the page shows it."""
    shown = plan
    if plan.scenario == ctx.scenario:  # the sentence below is for this plan only
        marginal = next_step_value(ctx.source, ctx.ics, ctx.scenario)
        if marginal:
            shown = dataclasses.replace(plan, marginal=marginal)
    return report.to_json_text(shown.to_dict())


c3.download_button(
    "Download plan (JSON)",
    plan_json,
    file_name="plan.json",
    mime="application/json",
    key="download_json",
    on_click="ignore",
)

if plan.scenario == ctx.scenario:  # findings of the plan shown, not of the last valid one
    marginal = next_step_value(ctx.source, ctx.ics, ctx.scenario) or {}
    if marginal.get("extra_benefit_gbp") is not None:
        marginal_slot.markdown(
            f"The next {gbp(marginal.get('step_gbp'))} would add "
            f"**{gbp(marginal.get('extra_benefit_gbp'))}** of benefit."
        )
    with equity_slot:
        for finding in equity_notes(ctx.source, ctx.ics, ctx.scenario):
            (st.info if finding.kind == "local_weights" else st.warning)(finding.sentence)
