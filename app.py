"""Streamlit front end: the sidebar fills a Scenario, pages call the library and lay out figures.

Run with ``streamlit run app.py``. No optimisation logic lives here or in ``app_pages/``.
"""

from __future__ import annotations

import plotly.graph_objects as go  # loaded with Streamlit already
import streamlit as st

st.set_page_config(page_title="ICS AI imaging planner", layout="wide")

# A new session's browser has yet to load Plotly's scripts (about 5 MB, then a second or more
# to run them), and starts only when a page sends its first chart. A blank chart sent first,
# before the imports and the solve below, starts that load while the server works; it is
# taken away again before the page runs, so the page shows nothing it did not show before.
preload = st.empty()
if "plotly_preloaded" not in st.session_state:
    st.session_state["plotly_preloaded"] = True
    preload.plotly_chart(
        go.Figure(layout={"height": 10, "xaxis": {"visible": False}, "yaxis": {"visible": False}}),
        config={"staticPlot": True},
        width="stretch",
    )

from app_pages.shared import (  # noqa: E402 - after the preload, which must not wait for them
    DEFAULTS,
    FLOOR_LABELS,
    SHIPPED,
    Context,
    dataset_for,
    is_held,
    source_label,
)
from planner.formatting import MODEL_SHORT_NAMES  # noqa: E402
from planner.scenario import FLOOR_TARGETS, MODELS  # noqa: E402

state = st.session_state
state.setdefault("sources", [str(p) for p in SHIPPED.values()])
state.setdefault("locks", [])
if "pending_source" in state:  # set by the Data page after a valid upload
    state["dataset"] = state.pop("pending_source")
dropped = [s for s in state["sources"] if not is_held(s)]  # uploads the server let go
if dropped:
    state["sources"] = [s for s in state["sources"] if s not in dropped]
    if state.get("dataset") in dropped:
        state["dataset"] = state["sources"][0]

with st.sidebar:
    st.header("Scenario")
    for gone in dropped:
        st.warning(
            f"{source_label(gone)} is no longer held by the server (too many uploads since); "
            "upload it again on the Data page."
        )
    source = st.selectbox("Dataset", state["sources"], key="dataset", format_func=source_label)
    dataset = dataset_for(source)
    ics = st.selectbox(
        "ICS",
        list(dataset.icss.index),
        key=f"ics:{source}",  # per dataset: two datasets may share an ICS code
        format_func=lambda c: dataset.icss.at[c, "ics_name"],
    )
    model = st.radio(
        "Procurement model",
        MODELS,
        index=MODELS.index(DEFAULTS.model),
        key="model",
        horizontal=True,
        format_func=MODEL_SHORT_NAMES.get,
    )
    headroom = float(
        dataset.trusts.loc[dataset.trusts["ics_code"] == ics, "local_budget_gbp"].sum()
    )
    top = max(5.0, round(3 * headroom / 1e6))
    default_budget = min(2.0, top) if headroom > 0 else 1.0
    budget_m = st.slider(
        "Budget over the horizon (£m, present value)",
        0.0,
        float(top),
        default_budget,
        0.1,
        key="budget_gbp",
    )
    equity = st.slider(
        "Equity weight (0 = unweighted, 1 = full)",
        0.0,
        1.0,
        DEFAULTS.equity_weight,
        0.1,
        key="equity_weight",
    )
    floor = st.slider(
        "Coverage floor",
        0.0,
        0.6,
        DEFAULTS.coverage_floor,
        0.05,
        key="coverage_floor",
        format="%.2f",
        help="The least share of addressable studies read by AI: for every trust, for "
        "the Core20 people (England's most deprived fifth) of the ICS, or for every trust "
        "with more than a fifth of its people in the Core20",
    )
    floor_to = st.radio(
        "Floor applies to",
        FLOOR_TARGETS,
        key="floor_applies_to",
        format_func=FLOOR_LABELS.get,
    )
    st.caption("Shipped figures are illustrative; names are fictional.")

scenario = DEFAULTS.replace(
    model=model,
    budget_gbp=round(budget_m * 1e6),
    equity_weight=equity,
    coverage_floor=floor,
    floor_applies_to=floor_to,
    locks=[lk for lk in state["locks"] if dataset.trusts.at[lk.trust, "ics_code"] == ics]
    if source == state.get("locks_source")
    else [],
)
state["ctx"] = Context(source, ics, scenario)
preload.empty()

page = st.navigation(
    [
        st.Page("app_pages/plan.py", title="Plan", default=True),
        st.Page("app_pages/compare.py", title="Compare"),
        st.Page("app_pages/frontier.py", title="Frontier"),
        st.Page("app_pages/rollout.py", title="Rollout"),
        st.Page("app_pages/costshare.py", title="Cost sharing"),
        st.Page("app_pages/explain.py", title="Why this plan"),
        st.Page("app_pages/uncertainty.py", title="Uncertainty"),
        st.Page("app_pages/data.py", title="Data"),
        st.Page("app_pages/about.py", title="About"),
    ]
)
page.run()
