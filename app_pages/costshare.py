"""Cost sharing page: who pays what in a pooled deal, and the stand-alone test."""

from __future__ import annotations

import streamlit as st

import planner
from app_pages.shared import cost_shares, gbp, readable, show_error, show_table
from planner import report
from planner.costshare import RULE_NAMES, RULES, shapley_method_text
from planner.plots import cost_share_figure

ctx = st.session_state["ctx"]
st.title("Sharing the pooled cost")
st.caption(
    "Three ways to split what the pool pays: by benefit received, by population, and by the "
    "Shapley value (each trust's average addition to the cost of every group it could join, "
    "with the volume tiers and shared costs that pooling brings). Each is set against what "
    "the trust would pay buying the same products alone."
)
try:
    plan, share = cost_shares(ctx.source, ctx.ics, ctx.scenario)
except planner.PlannerError as exc:
    show_error(exc)
    st.stop()
if plan.model == "local":
    st.info(
        "Under local buying each trust pays its own way; choose ICS pooled or Central in "
        "the sidebar to share a pooled deal."
    )
s = share.summary
pools = share.pools
cols = st.columns(3)
cols[0].metric("Pooled cost", gbp(float(pools["pooled_cost_gbp"].sum())))
cols[1].metric("Trusts alone would pay", gbp(float(pools["stand_alone_total_gbp"].sum())))
cols[2].metric("Pooling saves", gbp(float(pools["pooling_saving_gbp"].sum())))
st.plotly_chart(cost_share_figure(share, dataset=ctx.dataset), key="cost_share", width="stretch")
wide = share.wide()
show_table(
    wide,
    {
        "trust_name": "Trust",
        **{f"{rule}_gbp": RULE_NAMES[rule] for rule in RULES},
        "stand_alone_gbp": "Alone",
    },
    key="cost_share_table",
    drop=("pool", "ics", "trust"),
)
flagged = share.by_trust[share.by_trust["pays_more_than_alone"]]
if len(flagged):
    lines = [
        f"- {r.trust_name} would pay {gbp(r.share_gbp)} ({RULE_NAMES[r.rule].lower()}), "
        f"more than the {gbp(r.stand_alone_gbp)} it would pay alone"
        for r in flagged.itertuples()
    ]
    st.warning("Trusts that would pay more in the pool than alone:\n\n" + "\n".join(lines))
st.subheader("Radiology and downstream departments")
st.caption(
    "Each product's cost follows its benefit: the share of benefit landing outside "
    "radiology (for example in stroke or oncology services) is paid there."
)
st.dataframe(
    readable(share.department_totals, drop=("pool", "ics", "trust")),
    hide_index=True,
    width="stretch",
    key="departments",
)
st.caption(shapley_method_text(s.get("methods") or {}, s.get("max_standard_error_gbp")))
st.download_button(
    "Download cost shares (Excel)",
    report.xlsx_bytes(share.sheets()),
    file_name="cost_shares.xlsx",
    key="download_cost_share",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)
