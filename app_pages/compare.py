"""Compare page: the three ways of buying on the same money, side by side."""

from __future__ import annotations

import streamlit as st

import planner
from app_pages.shared import compare_plans, gbp, show_error, styled
from planner import plots, report
from planner.plots import MODEL_NAMES

ctx = st.session_state["ctx"]
st.title("Compare ways of buying")
st.caption(
    "Each trust buying alone, the ICS buying as one, and NHS England buying centrally "
    "from a national framework, all with the same total money."
)

try:
    plans, table = compare_plans(ctx.source, ctx.ics, ctx.scenario)
except planner.PlannerError as exc:
    show_error(exc)
    st.stop()

best = table.loc[table["benefit_gbp"].idxmax()]
local = table.set_index("model").loc["local"]
st.markdown(
    f"With {gbp(ctx.scenario.budget_gbp)}, **{MODEL_NAMES[best['model']]}** does the most good "
    f"({gbp(best['benefit_gbp'])}). Buying locally gives up "
    f"**{gbp(best['benefit_gbp'] - local['benefit_gbp'])}** against it."
)
shown = table.assign(model=table["model"].map(MODEL_NAMES))
st.dataframe(
    styled(
        shown,
        {
            "model": "Way of buying",
            "status": "Status",
            "cost_gbp": "Spend",
            "benefit_gbp": "Benefit",
            "adoptions": "Adoptions",
            "trusts_with_new_adoptions": "Trusts with new AI",
            "coverage": "Coverage",
            "min_coverage": "Lowest trust coverage",
            "core20_coverage": "Most deprived fifth",
            "mean_go_live_months": "Months to go-live",
            "greedy_benefit_gbp": "Greedy benefit",
        },
    ),
    hide_index=True,
    width="stretch",
    key="compare_table",
)
st.plotly_chart(plots.compare_bars(table), key="compare_bars", width="stretch")
left, right = st.columns(2)
left.plotly_chart(plots.quintile_coverage(plans), key="quintile_coverage", width="stretch")
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
