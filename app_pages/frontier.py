"""Frontier page: what more money buys, and what fairness costs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from app_pages.shared import frontiers, gbp, styled
from planner import plots

ctx = st.session_state["ctx"]
st.title("Frontiers")
st.caption("Each point is a full re-optimisation of the current scenario.")

budget = ctx.scenario.budget_gbp or 0.0
top = max(2 * budget, 1e6)
points = st.slider("Points on the budget frontier", 5, 25, 11, key="frontier_points")
budgets = tuple(float(round(b, -3)) for b in np.linspace(top / (points - 1), top, points - 1))
budgets = tuple(sorted(set(budgets) | {float(budget)}))
weights = (0.0, 0.25, 0.5, 0.75, 1.0)
budget_frame, equity_frame = frontiers(ctx, budgets, weights)
budget_ok = budget_frame["benefit_gbp"].notna().any()
equity_ok = equity_frame["benefit_gbp"].notna().any()
if not budget_ok and not equity_ok:
    st.error(
        "No point of either frontier meets this scenario (see the Plan page for why); "
        "lower the coverage floor or raise the budget."
    )
    st.stop()
if budget_ok:
    st.plotly_chart(
        plots.budget_frontier_figure(budget_frame, budget), key="budget_frontier", width="stretch"
    )
    st.dataframe(
        styled(
            budget_frame,
            {
                "budget_gbp": "Budget",
                "benefit_gbp": "Benefit (optimiser)",
                "greedy_benefit_gbp": "Benefit (greedy)",
                "cost_gbp": "Spend",
                "min_coverage": "Lowest trust coverage",
            },
        ),
        hide_index=True,
        width="stretch",
        key="budget_frontier_table",
    )
if equity_ok:
    st.plotly_chart(
        plots.equity_frontier_figure(equity_frame), key="equity_frontier", width="stretch"
    )
    st.caption(
        "Each point is labelled with its equity weight w. Filled points are not beaten by any "
        "other weight on both total benefit and the Core20 people's coverage; open points "
        "are. The weight values a pound of benefit more where people are more deprived; "
        "it does not value coverage itself. So a higher weight can buy one costly product "
        "with large benefit at a deprived trust in place of several cheaper ones that read "
        "more studies, and the Core20 coverage can fall as well as rise as w goes up. To "
        "guarantee coverage, set a coverage floor for the Core20 people."
    )
    shown = equity_frame.assign(
        efficient=equity_frame.get("efficient", False).map({True: "yes", False: "no"})
    )
    st.dataframe(
        styled(
            shown,
            {
                "equity_weight": "Equity weight w",
                "benefit_gbp": "Benefit",
                "core20_coverage": "Core20 people's coverage",
                "deprivation_coverage_gap": "Coverage gap, least minus most deprived",
                "min_coverage": "Lowest trust coverage",
                "efficient": "Not beaten",
            },
        ),
        hide_index=True,
        width="stretch",
        key="equity_frontier_table",
    )
    given = equity_frame.get("benefit_given_up_gbp")
    if given is not None and pd.notna(given.iloc[-1]):
        st.markdown(
            f"At full equity weight the plan gives up **{gbp(float(given.iloc[-1]))}** of "
            "total benefit against the unweighted plan."
        )
else:
    st.warning("No equity weight gives a plan that meets this scenario.")
