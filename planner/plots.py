"""Plotly figure builders for plans; the app only lays them out.

Colours are colour-blind safe (Okabe-Ito for categories, viridis for scales); money is
shown in pounds with thousands separators and £k/£m on axes; trusts and products by name.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from planner.data import Dataset
from planner.plan import Plan

#: Okabe-Ito palette, one colour per IMD quintile (1 least deprived ... 5 most deprived).
QUINTILE_COLOURS = {1: "#0072B2", 2: "#56B4E9", 3: "#009E73", 4: "#E69F00", 5: "#D55E00"}


def plan_heatmap(plan: Plan, dataset: Dataset) -> go.Figure:
    """Trust x product heatmap of a plan: adopted (with its benefit), in use already, or not."""
    trusts = dataset.trusts.sort_values("imd_score")
    products = dataset.products.sort_values(["use_case", "product_code"])
    z = pd.DataFrame(0.0, index=trusts.index, columns=products.index)
    text = pd.DataFrame("", index=trusts.index, columns=products.index)
    for tc, pc in zip(
        dataset.deployments["trust_code"], dataset.deployments["product_code"], strict=True
    ):
        if tc in z.index:
            z.loc[tc, pc] = 0.5
            text.loc[tc, pc] = "already in use"
    for r in plan.adoptions.itertuples():
        z.loc[r.trust, r.product] = 1.0
        text.loc[r.trust, r.product] = (
            f"adopt: benefit £{r.benefit_gbp:,.0f}, cost £{r.cost_gbp:,.0f}"
        )
    fig = go.Figure(
        go.Heatmap(
            z=z.to_numpy().tolist(),
            x=[
                f"{products.at[p, 'product_name']} ({products.at[p, 'use_case']})"
                for p in z.columns
            ],
            y=[trusts.at[t, "trust_name"] for t in z.index],
            text=text.to_numpy().tolist(),
            hovertemplate="%{y}<br>%{x}<br>%{text}<extra></extra>",
            colorscale=[[0, "#f0f0f0"], [0.5, "#56B4E9"], [1, "#0072B2"]],
            zmin=0,
            zmax=1,
            showscale=False,
            xgap=1,
            ygap=1,
        )
    )
    fig.update_layout(
        title=f"Adoption plan ({plan.model}): dark = adopt, light = already in use",
        height=max(320, 40 * len(z.index) + 220),
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        xaxis={"tickangle": -45},
    )
    return fig


def trust_bars(plan: Plan) -> go.Figure:
    """Per-trust coverage and benefit per head, coloured by IMD quintile."""
    t = plan.trusts.sort_values("imd_score")
    fig = go.Figure()
    for q, colour in QUINTILE_COLOURS.items():
        sel = t[t["imd_quintile"] == q]
        if sel.empty:
            continue
        fig.add_bar(
            x=sel["trust_name"],
            y=sel["coverage"],
            name=f"IMD quintile {q}",
            marker_color=colour,
            customdata=sel["benefit_per_capita_gbp"],
            hovertemplate="%{x}<br>coverage %{y:.1%}<br>benefit per head "
            "£%{customdata:,.2f}<extra></extra>",
        )
    fig.update_layout(
        title="Coverage of addressable studies by trust (1 = least deprived)",
        yaxis={"tickformat": ".0%", "title": "coverage"},
        height=420,
        legend_title_text="deprivation",
    )
    return fig
