"""The floor under the app's timings: a Streamlit page with the Plan page's figures, no work.

The browser test (``tests/test_browser.py``) serves this page as it serves ``app.py`` and
times it the same way, so the timings file says how much of the app's first plan and of a
budget slider step is Streamlit and Plotly in Chromium on this machine, and how much is the
planner. The page has the Plan page's title, its five key figures and its two charts (the
same figures, read from the JSON files in the folder ``PLANNER_FLOOR_FIGURES``, written by
the test from the default ICS's plan), and the sidebar's budget slider. A slider step
changes the "Benefit" figure and one heatmap cell, so the heatmap is drawn again, as a new
plan's would be. Nothing is solved, read from data or built: what is left is the floor.

Run by hand with ``PLANNER_FLOOR_FIGURES=DIR streamlit run benchmarks/floor_app.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import plotly.io as pio
import streamlit as st

st.set_page_config(page_title="Floor: the Plan page's figures", layout="wide")
figures = Path(os.environ["PLANNER_FLOOR_FIGURES"])
budget = st.sidebar.slider(
    "Budget over the horizon (£m, present value)", 0.1, 10.0, 2.0, 0.1, key="budget_gbp"
)
step = round(budget * 10)
st.title("Plan")
cols = st.columns(5)
for col, (label, value) in zip(
    cols,
    (
        ("Spend", "£1.9m"),
        ("Benefit", f"£{budget:.1f}m"),
        ("Trusts with new AI", "8 of 8"),
        ("Lowest trust coverage", "40.0%"),
        ("Given up for equity", "£0"),
    ),
    strict=True,
):
    col.metric(label, value)
heatmap = pio.from_json((figures / "heatmap.json").read_text(encoding="utf-8"))
z = [list(row) for row in heatmap.data[0].z]
z[0][0] = (step % 3) / 2  # not in use, in use, adopted: a new image at every step
heatmap.data[0].z = z
st.plotly_chart(heatmap, key="heatmap", width="stretch")
st.plotly_chart(
    pio.from_json((figures / "bars.json").read_text(encoding="utf-8")),
    key="trust_bars",
    width="stretch",
)
