"""Streamlit front end: widgets fill a Scenario, one cached call plans, library figures show it.

Run with ``streamlit run app.py``. No optimisation logic lives here.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

import planner
from planner import plots, report

ROOT = Path(__file__).resolve().parent
DATASETS = {
    "Default ICS (illustrative)": ROOT / "data" / "default_ics",
    "England-scale (synthetic)": ROOT / "data" / "england",
}
DEFAULTS = planner.Scenario()


@st.cache_resource
def load(path: str) -> planner.Dataset:
    """Load a shipped dataset once per session."""
    return planner.load_dataset(path)


@st.cache_data(show_spinner="Optimising...")
def plan_for(path: str, ics: str, scenario: planner.Scenario) -> planner.Plan:
    """Solve one scenario (cached on the dataset, ICS and scenario)."""
    dataset = load(path).subset([ics])
    return planner.solve(dataset, scenario)


st.set_page_config(page_title="ICS AI imaging planner", layout="wide")
st.title("ICS AI imaging planner")
st.caption(
    "Which approved AI imaging products should each trust adopt, and how to buy them. "
    "Shipped figures are illustrative and names fictional."
)

with st.sidebar:
    name = st.selectbox("Dataset", list(DATASETS), key="dataset")
    path = str(DATASETS[name])
    dataset = load(path)
    ics = st.selectbox(
        "ICS",
        list(dataset.icss.index),
        key="ics",
        format_func=lambda c: dataset.icss.at[c, "ics_name"],
    )
    model = st.radio(
        "Procurement model", planner.scenario.MODELS, index=1, key="model", horizontal=True
    )
    budget_m = st.slider("Budget over the horizon (£m)", 0.0, 10.0, 2.0, 0.1, key="budget_gbp")
    equity = st.slider("Equity weight", 0.0, 1.0, DEFAULTS.equity_weight, 0.1, key="equity_weight")
    floor = st.slider(
        "Coverage floor (every trust)",
        0.0,
        0.5,
        DEFAULTS.coverage_floor,
        0.05,
        key="coverage_floor",
    )

scenario = DEFAULTS.replace(
    model=model, budget_gbp=budget_m * 1e6, equity_weight=equity, coverage_floor=floor
)
try:
    plan = plan_for(path, ics, scenario)
except planner.PlannerError as exc:
    st.error(f"No plan for this scenario: {exc}")
    st.stop()

c = st.columns(5)
c[0].metric("Spend", f"£{plan.cost_gbp:,.0f}", help=f"of £{plan.budget_gbp:,.0f}")
c[1].metric("Benefit (present value)", f"£{plan.benefit_gbp:,.0f}")
c[2].metric("Trusts with new AI", plan.equity["trusts_with_new_adoptions"])
c[3].metric("Lowest trust coverage", f"{plan.equity['min_coverage']:.0%}")
given_up = (plan.base_case or {}).get("benefit_given_up_for_equity_gbp", 0.0)
c[4].metric("Benefit given up for equity", f"£{given_up:,.0f}")

st.plotly_chart(plots.plan_heatmap(plan, load(path).subset([ics])), key="heatmap")
st.plotly_chart(plots.trust_bars(plan), key="trust_bars")
st.dataframe(
    plan.adoptions[
        ["trust_name", "product_name", "use_case", "cost_gbp", "benefit_gbp", "benefit_per_gbp"]
    ],
    hide_index=True,
)
st.download_button(
    "Download plan (JSON)",
    report.to_json_text(plan.to_dict()),
    file_name="plan.json",
    mime="application/json",
    key="download_json",
)
st.download_button(
    "Download adoptions (CSV)",
    report.safe_frame(plan.adoptions).to_csv(index=False),
    file_name="adoptions.csv",
    mime="text/csv",
    key="download_csv",
)
