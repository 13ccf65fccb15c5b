"""Plotly figure builders for plans, comparisons and frontiers; the app only lays them out.

Colours are colour-blind safe (Okabe-Ito); money is shown in pounds with thousands
separators in hover text and as £k/£m on axes; trusts and products appear by name.
"""

from __future__ import annotations

import html
import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from planner.costshare import RULE_NAMES, RULES, CostShare
from planner.data import Dataset
from planner.deprivation import fifth_label
from planner.formatting import MODEL_NAMES, money, pounds, use_case_name
from planner.plan import Plan
from planner.procurement import unit_names

#: Okabe-Ito colours, one per IMD quintile (1 least deprived ... 5 most deprived).
QUINTILE_COLOURS = {1: "#0072B2", 2: "#56B4E9", 3: "#009E73", 4: "#E69F00", 5: "#D55E00"}
#: Okabe-Ito colours, one per procurement model.
MODEL_COLOURS = {
    "local": "#E69F00",
    "ics": "#0072B2",
    "network": "#CC79A7",
    "framework": "#56B4E9",
    "central": "#009E73",
    "central_pot": "#D55E00",
}
LAYOUT = {"margin": {"l": 10, "r": 10, "t": 60, "b": 10}, "font": {"size": 13}}
#: Width of a character of a tick label or legend entry as the app draws them (12 px Source
#: Sans in Streamlit's theme), in pixels, by kind: narrow, wide, capitals and digits, others.
#: Fitted to the shipped names, which they put within 4% of their drawn widths.
NARROW_CHARS, WIDE_CHARS = set("fijlrtI.,:;'!|()[] "), set("mwMW%@")
CHAR_PX = {"narrow": 3.2, "wide": 10.7, "capital": 6.6, "other": 6.0}


def money_ticks(values, n: int = 6, include_zero: bool = True) -> tuple[list[float], list[str]]:
    """Nice tick positions and £k/£m labels covering ``values`` (and zero, by default)."""
    vals = [float(v) for v in values if v is not None and np.isfinite(v)]
    anchor = [0.0] if include_zero or not vals else []
    top = max(vals + anchor)
    bottom = min(vals + anchor)
    span = top - bottom or 1.0
    raw = span / max(n - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(bottom / step) * step
    ticks = [start + i * step for i in range(int(math.ceil((top - start) / step)) + 1)]
    labels = []
    for t in ticks:
        if abs(t) >= 1e6:
            labels.append(f"£{t / 1e6:g}m")
        elif abs(t) >= 1e3:
            labels.append(f"£{t / 1e3:g}k")
        else:
            labels.append(f"£{t:g}")
    return ticks, labels


def _money_axis(fig: go.Figure, values, axis: str = "yaxis", **kwargs) -> None:
    ticks, labels = money_ticks(values)
    fig.update_layout({axis: {"tickvals": ticks, "ticktext": labels, **kwargs}})


def escaped(value) -> str:
    """Text from the data, made safe for a figure.

    Plotly renders some HTML tags in labels (links among them), so a name such as
    ``<a href=...>`` must show as its characters.
    """
    return html.escape(str(value), quote=False)


def short_name(name: str) -> str:
    """A trust's name without the "NHS (Foundation) Trust" tail, escaped, for axis labels."""
    for tail in (" NHS Foundation Trust", " NHS Trust"):
        if name.endswith(tail):
            name = name[: -len(tail)]
            break
    return escaped(name)


def label_px(labels) -> float:
    """How wide the widest of some labels is on screen, in pixels (an estimate 5% over)."""

    def width(text: str) -> float:
        return sum(
            CHAR_PX["narrow"]
            if ch in NARROW_CHARS
            else CHAR_PX["wide"]
            if ch in WIDE_CHARS
            else CHAR_PX["capital"]
            if ch.isupper() or ch.isdigit()
            else CHAR_PX["other"]
            for ch in html.unescape(str(text))
        )

    return 1.05 * max((width(s) for s in labels), default=0.0)


def label_margins(
    left: float = 0, bottom: float = 0, bottom_angle: float = 0, right: float = 0
) -> dict:
    """Margins (pixels) that hold axis labels and a legend as wide as given (``label_px``).

    ``left``: the y-axis tick labels, beside the axis title; ``bottom``: the x-axis tick labels,
    turned ``bottom_angle`` degrees, above the axis title; ``right``: the widest legend entry.
    Plotly still widens a margin that is too narrow (automargin), but by drawing the figure a
    second time: with margins that already fit, it is drawn once, in half the time.
    """
    turn = math.radians(bottom_angle)
    base = LAYOUT["margin"]
    return {
        "l": math.ceil(left + 61) if left else base["l"],
        "b": math.ceil(bottom * math.sin(turn) + 16 * math.cos(turn) + 58) if bottom else base["b"],
        "r": math.ceil(right + 68) if right else base["r"],
        "t": base["t"],
    }


def plan_heatmap(plan: Plan, dataset: Dataset) -> go.Figure:
    """Trust x product heatmap of a plan: adopted (with cost and benefit), in use, or not."""
    trusts = dataset.trusts.loc[plan.trusts["trust"]].sort_values("imd_score")
    products = dataset.products.sort_values(["use_case", "product_code"])
    z = pd.DataFrame(0.0, index=trusts.index, columns=products.index)
    text = pd.DataFrame("not in the plan", index=trusts.index, columns=products.index)
    for tc, pc in zip(
        dataset.deployments["trust_code"], dataset.deployments["product_code"], strict=True
    ):
        if tc in z.index:
            z.loc[tc, pc] = 0.5
            text.loc[tc, pc] = "already in use"
    for r in plan.adoptions.itertuples():
        z.loc[r.trust, r.product] = 1.0
        text.loc[r.trust, r.product] = (
            f"adopt: cost {pounds(r.cost_gbp)}, benefit {pounds(r.benefit_gbp)}, "
            f"go-live month {r.go_live_months:.0f}"
        )
    names = [
        f"{escaped(products.at[p, 'product_name'])} "
        f"({escaped(use_case_name(products.at[p, 'use_case']))})"
        for p in z.columns
    ]
    rows = [short_name(trusts.at[t, "trust_name"]) for t in z.index]
    fig = go.Figure(
        go.Heatmap(
            z=z.to_numpy().tolist(),
            x=names,
            y=rows,
            text=text.to_numpy().tolist(),
            hovertemplate="%{y}<br>%{x}<br>%{text}<extra></extra>",
            colorscale=[[0, "#f2f2f2"], [0.5, "#E69F00"], [1, "#0072B2"]],
            zmin=0,
            zmax=1,
            showscale=False,
            xgap=1,
            ygap=1,
        )
    )
    fig.update_layout(
        title=f"Who adopts what ({MODEL_NAMES.get(plan.model, plan.model)}): blue = adopt, "
        "orange = already in use; trusts from least to most deprived",
        height=max(360, 34 * len(z.index) + 300),
        xaxis={"tickangle": -45, "title": "Product"},
        yaxis={"autorange": "reversed", "title": "Trust"},
        **{**LAYOUT, "margin": label_margins(label_px(rows), label_px(names), 45)},
    )
    return fig


def trust_bars(plan: Plan) -> go.Figure:
    """Per-trust coverage and benefit per head, coloured by IMD quintile."""
    t = plan.trusts.sort_values("imd_score")
    t = t.assign(trust_name=t["trust_name"].map(short_name))
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("Coverage of addressable studies", "Benefit per head (present value)"),
        horizontal_spacing=0.12,
    )
    for q, colour in QUINTILE_COLOURS.items():
        sel = t[t["imd_quintile"] == q]
        if sel.empty:
            continue
        label = fifth_label(q, plan.scenario.deprivation_reference)
        fig.add_bar(
            x=sel["trust_name"].tolist(),
            y=sel["coverage"].tolist(),
            name=label,
            legendgroup=str(q),
            marker_color=colour,
            hovertemplate="%{x}<br>coverage %{y:.1%}<extra></extra>",
            row=1,
            col=1,
        )
        fig.add_bar(
            x=sel["trust_name"].tolist(),
            y=sel["benefit_per_capita_gbp"].tolist(),
            name=label,
            legendgroup=str(q),
            showlegend=False,
            marker_color=colour,
            hovertemplate="%{x}<br>£%{y:,.2f} a head<extra></extra>",
            row=1,
            col=2,
        )
    fig.update_yaxes(tickformat=".0%", title_text="Share of addressable studies", row=1, col=1)
    fig.update_yaxes(
        tickprefix="£", tickformat=",.2f", title_text="£ a head (present value)", row=1, col=2
    )
    fig.update_xaxes(
        categoryorder="array", categoryarray=t["trust_name"].tolist(), title_text="Trust"
    )
    legend = [fifth_label(q, plan.scenario.deprivation_reference) for q in t["imd_quintile"]]
    fig.update_layout(
        title="Trusts from least to most deprived",
        height=460,
        legend_title_text="average IMD score",
        # coverage up to 100%; Plotly turns the trust names 30 degrees when they do not fit
        **{
            **LAYOUT,
            "margin": label_margins(
                label_px(["100%"]), label_px(t["trust_name"]), 30, label_px(legend)
            ),
        },
    )
    return fig


def compare_bars(table: pd.DataFrame) -> go.Figure:
    """Spend, benefit and the greedy baseline's benefit per procurement model."""
    fig = go.Figure()
    series = [
        ("cost_gbp", "Spend", "#999999"),
        ("benefit_gbp", "Benefit (optimised)", "#0072B2"),
        ("greedy_benefit_gbp", "Benefit (greedy order of buy)", "#56B4E9"),
    ]
    names = [MODEL_NAMES.get(m, m) for m in table["model"]]
    values = []
    for col, label, colour in series:
        fig.add_bar(
            x=names,
            y=table[col].tolist(),
            name=label,
            marker_color=colour,
            hovertemplate="%{x}<br>" + label + ": £%{y:,.0f}<extra></extra>",
        )
        values += table[col].tolist()
    fig.update_layout(
        barmode="group",
        title="The same money, three ways of buying",
        height=420,
        xaxis={"title": "Way of buying"},
        **LAYOUT,
    )
    _money_axis(fig, values, title="£ (present value)")
    return fig


def quintile_coverage(plans: list[Plan]) -> go.Figure:
    """Coverage of the people in each national IMD fifth under each procurement model."""
    fig = go.Figure()
    for plan in plans:
        by_q = plan.equity["by_imd_quintile"]
        qs = sorted(by_q, key=int)
        fig.add_bar(
            x=[fifth_label(q, plan.scenario.deprivation_reference) for q in qs],
            y=[by_q[q]["coverage"] for q in qs],
            name=MODEL_NAMES.get(plan.model, plan.model),
            marker_color=MODEL_COLOURS.get(plan.model),
            hovertemplate="%{x}<br>coverage %{y:.1%}<extra></extra>",
        )
    fig.update_layout(
        barmode="group",
        title="Coverage of the people in each fifth by deprivation (1 = least deprived, 5 = most)",
        yaxis={"tickformat": ".0%", "title": "Share of their addressable studies"},
        xaxis={"title": "National deprivation fifth (1 = least deprived, 5 = most)"},
        height=420,
        **LAYOUT,
    )
    return fig


def time_to_benefit(plans: list[Plan], horizon_years: int) -> go.Figure:
    """Benefit a year flowing from the plan, month by month, under each procurement model."""
    months = np.arange(0, 12 * horizon_years + 1)
    fig = go.Figure()
    values = []
    for plan in plans:
        a = plan.adoptions
        live = np.array(
            [a.loc[a["go_live_months"] <= m, "annual_benefit_gbp"].sum() for m in months]
        )
        values += live.tolist()
        fig.add_scatter(
            x=months.tolist(),
            y=live.tolist(),
            mode="lines",
            line={"shape": "hv", "color": MODEL_COLOURS.get(plan.model), "width": 3},
            name=MODEL_NAMES.get(plan.model, plan.model),
            hovertemplate="month %{x}<br>£%{y:,.0f} a year<extra></extra>",
        )
    fig.update_layout(
        title="Time to benefit: benefit a year from products already live",
        xaxis={"title": "Months from the decision"},
        height=420,
        **LAYOUT,
    )
    _money_axis(fig, values, title="Benefit a year (£, undiscounted)")
    return fig


def going_alone(table: pd.DataFrame) -> go.Figure:
    """The price of going it alone: benefit lost by local buying against the other models."""
    base = table.set_index("model")
    others = [m for m in base.index if m != "local"]
    lost = [float(base.at[m, "benefit_gbp"] - base.at["local", "benefit_gbp"]) for m in others]
    fig = go.Figure(
        go.Bar(
            x=[f"against {MODEL_NAMES[m]}" for m in others],
            y=lost,
            marker_color=[MODEL_COLOURS[m] for m in others],
            text=[money(v) for v in lost],
            textposition="outside",
            hovertemplate="%{x}<br>benefit lost by buying locally: £%{y:,.0f}<extra></extra>",
        )
    )
    fig.update_layout(
        title="The price of going it alone: benefit lost by buying locally",
        height=380,
        xaxis={"title": "Local buying set against"},
        **LAYOUT,
    )
    _money_axis(fig, lost, title="Benefit lost (£, present value)")
    return fig


def budget_frontier_figure(frame: pd.DataFrame, current_budget: float | None) -> go.Figure:
    """Benefit against budget for the optimiser and the greedy order of buy."""
    ok = frame[frame["benefit_gbp"].notna()]  # points with a plan
    fig = go.Figure()
    fig.add_scatter(
        x=ok["budget_gbp"].tolist(),
        y=ok["benefit_gbp"].tolist(),
        mode="lines+markers",
        name="Optimiser",
        line={"color": "#0072B2", "width": 3},
        hovertemplate="budget £%{x:,.0f}<br>benefit £%{y:,.0f}<extra></extra>",
    )
    if "greedy_benefit_gbp" in ok:
        fig.add_scatter(
            x=ok["budget_gbp"].tolist(),
            y=ok["greedy_benefit_gbp"].tolist(),
            mode="lines+markers",
            name="Greedy order of buy",
            line={"color": "#E69F00", "width": 2, "dash": "dash"},
            hovertemplate="budget £%{x:,.0f}<br>benefit £%{y:,.0f}<extra></extra>",
        )
    if current_budget is not None:
        fig.add_vline(
            x=current_budget,
            line_dash="dot",
            line_color="#D55E00",
            annotation_text=f"current {money(current_budget)}",
        )
    fig.update_layout(title="What more money buys", height=440, **LAYOUT)
    _money_axis(fig, ok["benefit_gbp"].tolist(), title="Benefit (£, present value)")
    _money_axis(fig, ok["budget_gbp"].tolist(), axis="xaxis", title="Budget (£, present value)")
    return fig


def equity_frontier_figure(frame: pd.DataFrame) -> go.Figure:
    """Total benefit against fairness as the equity weight rises, every point labelled.

    Filled markers are points no other weight beats on both total benefit and the Core20
    people's coverage (``efficient``); open markers are beaten by some other weight.
    """
    ok = frame[frame["benefit_gbp"].notna()].sort_values("equity_weight")
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(
            "Coverage of the Core20 people (most deprived fifth)",
            "Coverage gap, least minus most deprived fifth",
        ),
        horizontal_spacing=0.12,
    )
    weights = ok["equity_weight"].tolist()
    labels = [f"w={w:g}" for w in weights]
    efficient = ok["efficient"].astype(bool).tolist() if "efficient" in ok else [False] * len(ok)
    # alternate label positions so that neighbouring weights do not collide
    positions = ["top center" if k % 2 == 0 else "bottom center" for k in range(len(ok))]
    for col, y in ((1, "core20_coverage"), (2, "deprivation_coverage_gap")):
        fig.add_scatter(
            x=ok["benefit_gbp"].tolist(),
            y=ok[y].tolist(),
            mode="lines",
            line={"color": "#009E73", "dash": "dot"},
            showlegend=False,
            hoverinfo="skip",
            row=1,
            col=col,
        )
        for flag, name, symbol in (
            (True, "not beaten on benefit and Core20 coverage", "circle"),
            (False, "beaten by another weight", "circle-open"),
        ):
            sel = [k for k, e in enumerate(efficient) if e == flag]
            if not sel:
                continue
            fig.add_scatter(
                x=[ok["benefit_gbp"].iloc[k] for k in sel],
                y=[ok[y].iloc[k] for k in sel],
                text=[labels[k] for k in sel],
                textposition=[positions[k] for k in sel],
                customdata=[[labels[k], ok["min_coverage"].iloc[k]] for k in sel],
                mode="markers+text",
                marker={"size": 11, "color": "#009E73", "symbol": symbol, "line": {"width": 2}},
                name=name,
                legendgroup=name,
                showlegend=col == 1,
                hovertemplate="%{customdata[0]}<br>benefit £%{x:,.0f}<br>%{y:.1%}"
                "<br>lowest trust coverage %{customdata[1]:.1%}<extra></extra>",
                row=1,
                col=col,
            )
        fig.update_yaxes(
            tickformat=".0%",
            title_text="Core20 coverage" if col == 1 else "Gap (percentage points)",
            row=1,
            col=col,
        )
        ticks, text = money_ticks(ok["benefit_gbp"].tolist(), n=5, include_zero=False)
        fig.update_xaxes(
            tickvals=ticks,
            ticktext=text,
            title_text="Total benefit (£, present value)",
            row=1,
            col=col,
        )
    fig.update_layout(
        title="Equity against efficiency as the equity weight w rises (0 = unweighted)",
        height=460,
        legend={"orientation": "h", "y": -0.2},
        **LAYOUT,
    )
    return fig


def adoption_probability_heatmap(adoption: pd.DataFrame, dataset: Dataset) -> go.Figure:
    """Probability each (trust, product) is chosen across uncertainty samples."""
    trusts = dataset.trusts.sort_values("imd_score")
    products = dataset.products.sort_values(["use_case", "product_code"])
    z = pd.DataFrame(0.0, index=trusts.index, columns=products.index)
    base = pd.DataFrame("", index=trusts.index, columns=products.index)
    for r in adoption.itertuples():
        if r.trust in z.index and r.product in z.columns:
            z.loc[r.trust, r.product] = r.probability
            base.loc[r.trust, r.product] = "in the base-case plan" if r.in_base_plan else ""
    fig = go.Figure(
        go.Heatmap(
            z=z.to_numpy().tolist(),
            x=[escaped(products.at[p, "product_name"]) for p in z.columns],
            y=[short_name(trusts.at[t, "trust_name"]) for t in z.index],
            text=base.to_numpy().tolist(),
            colorscale="Viridis",
            zmin=0,
            zmax=1,
            colorbar={"title": "P(chosen)", "tickformat": ".0%"},
            hovertemplate="%{y}<br>%{x}<br>chosen in %{z:.0%} of samples<br>%{text}<extra></extra>",
        )
    )
    fig.update_layout(
        title="How often each product is chosen when benefits and prices are uncertain",
        height=max(360, 34 * len(z.index) + 300),
        xaxis={"tickangle": -45, "title": "Product"},
        yaxis={"autorange": "reversed", "title": "Trust"},
        **LAYOUT,
    )
    return fig


def benefit_distribution(samples: pd.DataFrame, base_case_benefit: float) -> go.Figure:
    """Histogram of re-optimised benefit across samples, and of the base-case plan's benefit."""
    ok = samples[samples["status"] != "failed"]
    fig = go.Figure()
    for values, name, colour, opacity in (
        (ok["benefit_gbp"], "Re-optimised per sample", "#0072B2", 0.7),
        (samples["base_plan_benefit_gbp"], "Base-case plan under each sample", "#E69F00", 0.6),
    ):
        fig.add_histogram(
            x=values.tolist(), name=name, marker_color=colour, opacity=opacity, nbinsx=30
        )
    fig.add_vline(
        x=base_case_benefit,
        line_dash="dot",
        line_color="#D55E00",
        annotation_text=f"base case {money(base_case_benefit)}",
    )
    fig.update_layout(
        barmode="overlay",
        title="Benefit under uncertainty",
        height=420,
        yaxis={"title": "Draws (count)"},
        **LAYOUT,
    )
    values = ok["benefit_gbp"].tolist() + samples["base_plan_benefit_gbp"].tolist()
    _money_axis(fig, values, axis="xaxis", title="Benefit (£, present value)")
    return fig


def rollout_gantt(schedule: pd.DataFrame, horizon_years: int) -> go.Figure:
    """Gantt-style timeline: from signing to go-live (light) and live to the horizon (dark)."""
    s = schedule.sort_values(["start_year", "go_live_month", "trust_name", "product_name"])
    labels = [
        f"{short_name(t)}: {escaped(p)}"
        for t, p in zip(s["trust_name"], s["product_name"], strict=True)
    ]
    signed = (12.0 * (s["start_year"] - 1)).tolist()
    live = s["go_live_month"].tolist()
    end = 12.0 * horizon_years
    fig = go.Figure()
    fig.add_bar(
        y=labels,
        x=[g - a for a, g in zip(signed, live, strict=True)],
        base=signed,
        orientation="h",
        name="Contract to go-live",
        marker_color="#56B4E9",
        hovertemplate="%{y}<br>signed month %{base:.0f}, live month %{x:.0f} later<extra></extra>",
    )
    fig.add_bar(
        y=labels,
        x=[max(end - g, 0) for g in live],
        base=live,
        orientation="h",
        name="Live",
        marker_color="#0072B2",
        hovertemplate="%{y}<br>live from month %{base:.0f}<extra></extra>",
    )
    fig.update_layout(
        barmode="overlay",
        title="Rollout: when each trust signs and goes live",
        height=max(380, 18 * len(labels) + 160),
        xaxis={"title": "Months from the decision", "range": [0, end], "dtick": 12},
        yaxis={"autorange": "reversed", "tickfont": {"size": 11}, "title": "Trust: product"},
        **LAYOUT,
    )
    return fig


def rollout_curves(curves: pd.DataFrame) -> go.Figure:
    """Cumulative benefit realised over time under each procurement model's rollout."""
    fig = go.Figure()
    values = []
    for model, c in curves.groupby("model", sort=False):
        values += c["cumulative_benefit_gbp"].tolist()
        fig.add_scatter(
            x=c["month"].tolist(),
            y=c["cumulative_benefit_gbp"].tolist(),
            mode="lines",
            name=MODEL_NAMES.get(model, model),
            line={"color": MODEL_COLOURS.get(model), "width": 3},
            hovertemplate="month %{x}<br>£%{y:,.0f} realised<extra></extra>",
        )
    fig.update_layout(
        title="Cumulative benefit realised (undiscounted, not present value)",
        height=420,
        xaxis={"title": "Months from the decision", "dtick": 12},
        **LAYOUT,
    )
    _money_axis(fig, values, title="Benefit realised to date (£, undiscounted)")
    return fig


def cost_share_figure(share: CostShare, pool: str | None = None, dataset: Dataset | None = None):
    """Bar chart of each trust's share under every rule, with its stand-alone cost.

    Args:
        share: The cost sharing.
        pool: The pool to draw (default: the one with most trusts).
        dataset: The data, to name the pool in the title (else its code).

    Returns:
        A plotly figure: grouped bars per trust (one per rule; sampled Shapley shares with
        two-standard-error bars) and a marker at the stand-alone cost.
    """
    colours = {
        "shapley": "#0072B2",
        "benefit": "#009E73",
        "population": "#E69F00",
        "own_adoptions": "#999999",
    }
    b = share.by_trust
    if pool is None and len(share.pools):
        pool = str(share.pools.sort_values(["trusts", "pool"], ascending=[False, True]).iloc[0, 0])
    b = b[b["pool"] == pool]
    pool_name = unit_names(dataset).unit(pool) if dataset is not None else str(pool)
    fig = go.Figure()
    for rule in RULES:
        sel = b[b["rule"] == rule]
        error = None
        if rule == "shapley" and (sel["standard_error_gbp"] > 0).any():
            error = {"type": "data", "array": (2 * sel["standard_error_gbp"]).tolist()}
        fig.add_bar(
            x=sel["trust_name"].map(short_name).tolist(),
            y=sel["share_gbp"].tolist(),
            name=RULE_NAMES[rule],
            marker_color=colours[rule],
            error_y=error,
            customdata=sel[["stand_alone_gbp"]].to_numpy(),
            hovertemplate="%{x}<br>£%{y:,.0f} (alone: £%{customdata[0]:,.0f})<extra></extra>",
        )
    alone = b[b["rule"] == "shapley"]
    fig.add_scatter(
        x=alone["trust_name"].map(short_name).tolist(),
        y=alone["stand_alone_gbp"].tolist(),
        mode="markers",
        name="Going alone (same products)",
        marker={"symbol": "line-ew-open", "size": 28, "color": "#000000", "line": {"width": 3}},
        hovertemplate="%{x}<br>alone: £%{y:,.0f}<extra></extra>",
    )
    fig.update_layout(
        barmode="group",
        title=f"Sharing the pooled cost of {escaped(pool_name)}: each trust's share against going "
        "alone",
        xaxis={"title": "Trust"},
        height=460,
        legend_title_text="rule",
        **LAYOUT,
    )
    ticks, labels = money_ticks(b["share_gbp"].tolist() + alone["stand_alone_gbp"].tolist())
    fig.update_layout(
        yaxis={
            "tickvals": ticks,
            "ticktext": labels,
            "title": "Share of the cost (£, present value)",
        }
    )
    return fig
