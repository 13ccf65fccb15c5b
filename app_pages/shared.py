"""What every page of the app shares: cached library calls, the scenario, error display.

Only glue between widgets and the ``planner`` library lives here; no optimisation logic.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

import planner
from planner.formatting import money, percent, pounds
from planner.frontier import budget_frontier, equity_frontier
from planner.uncertainty import run_psa

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = {
    "Default ICS (illustrative)": ROOT / "data" / "default_ics",
    "England-scale (synthetic)": ROOT / "data" / "england",
}
DEFAULTS = planner.Scenario()
#: What the sidebar calls each target of the coverage floor.
FLOOR_LABELS = {
    "all": "every trust",
    "core20": "Core20 people of the ICS",
    "core20_trusts": "trusts with over 20% Core20",
}


@dataclass(frozen=True)
class Context:
    """The user's choices, as the pages need them."""

    source: str
    ics: str
    scenario: planner.Scenario

    @property
    def dataset(self) -> planner.Dataset:
        """The dataset restricted to the chosen ICS."""
        return dataset_for(self.source).subset([self.ics])


@st.cache_resource(show_spinner=False)
def _shipped(path: str) -> planner.Dataset:
    return planner.load_dataset(path)


@st.cache_resource(show_spinner=False)
def _uploads() -> dict[str, planner.Dataset]:
    """Validated uploaded datasets by content digest (the same bytes give the same data)."""
    return {}


def add_upload(name: str, content: bytes) -> str:
    """Validate an upload; return its source key. Raises DataError with every problem."""
    digest = "upload:" + hashlib.sha256(content).hexdigest()[:16] + ":" + name
    store = _uploads()
    if digest not in store:
        store[digest] = planner.data.load_upload(name, content)
    return digest


def dataset_for(source: str) -> planner.Dataset:
    """The whole dataset behind a source key (a shipped path or an upload digest)."""
    if source.startswith("upload:"):
        return _uploads()[source]
    return _shipped(source)


def source_label(source: str) -> str:
    """What the user calls a source."""
    for label, path in SHIPPED.items():
        if str(path) == source:
            return label
    return "Uploaded: " + source.split(":", 2)[-1]


@st.cache_data(show_spinner="Optimising the plan...", max_entries=64)
def solve_plan(source: str, ics: str, scenario: planner.Scenario) -> planner.Plan:
    """One plan (cached on dataset, ICS and scenario)."""
    return planner.solve(dataset_for(source).subset([ics]), scenario)


@st.cache_data(show_spinner="Checking who the plan leaves out (re-solving)...", max_entries=64)
def equity_notes(source: str, ics: str, scenario: planner.Scenario) -> list:
    """The plan's equity findings, each a sentence with names and the price of a fix (cached)."""
    from planner.equity_check import equity_findings

    return equity_findings(dataset_for(source).subset([ics]), solve_plan(source, ics, scenario))


@st.cache_data(show_spinner="Comparing the three ways of buying...", max_entries=32)
def compare_plans(source: str, ics: str, scenario: planner.Scenario):
    """The three procurement models on the same money (cached)."""
    return planner.compare(dataset_for(source).subset([ics]), scenario)


def _with_progress(key: tuple, label: str, compute):
    """Compute once per session and key, showing a progress bar while it runs."""
    store = st.session_state.setdefault("results", {})
    if key not in store:
        bar = st.progress(0.0, text=label)

        def progress(done: int, total: int) -> None:
            bar.progress(done / total, text=f"{label} {done} of {total}")

        store[key] = compute(progress)
        bar.empty()
    return store[key]


def frontiers(ctx: Context, budgets: tuple, weights: tuple):
    """Both frontiers for the current scenario, with progress while they are solved."""
    data = ctx.dataset
    budget = _with_progress(
        ("budget_frontier", ctx.source, ctx.ics, ctx.scenario, budgets),
        "Solving the budget frontier:",
        lambda progress: budget_frontier(data, ctx.scenario, budgets, progress),
    )
    equity = _with_progress(
        ("equity_frontier", ctx.source, ctx.ics, ctx.scenario, weights),
        "Solving the equity frontier:",
        lambda progress: equity_frontier(data, ctx.scenario, weights, progress),
    )
    return budget, equity


def uncertainty(ctx: Context, samples: int, seed: int, workers: int):
    """A probabilistic sensitivity analysis of the current scenario, with progress."""
    data = ctx.dataset
    return _with_progress(
        ("psa", ctx.source, ctx.ics, ctx.scenario, samples, seed),
        "Sampling and re-optimising:",
        lambda progress: run_psa(
            data, ctx.scenario, samples, seed=seed, workers=workers, progress=progress
        ),
    )


def show_error(exc: Exception) -> None:
    """Show a library error as a readable message (a table of problems for bad input)."""
    if isinstance(exc, planner.InputError):
        st.error("The input has problems; nothing was changed. Fix them and try again.")
        st.dataframe(
            pd.DataFrame([p.as_dict() for p in exc.problems]), hide_index=True, width="stretch"
        )
    elif isinstance(exc, planner.InfeasibleError):
        st.error("No plan meets this scenario:\n\n" + "\n".join(f"- {r}" for r in exc.reasons))
    else:
        st.error(f"The planner could not finish: {exc}")


gbp = pounds  # pounds in full, as everywhere (planner.formatting)
gbp_short = money  # pounds for a headline figure


def pct(value) -> str:
    """A share as a whole percentage (the headline style)."""
    return percent(value, 0)


def _format_for(column: str) -> str | None:
    """The display format of a column, from its name (money, shares, ratios, counts)."""
    if column.endswith("_gbp"):
        return "£{:,.0f}"
    if column.endswith(("_pct", "_share")) or "coverage" in column:
        return "{:.1%}"
    if column.endswith(("per_gbp", "factor", "weight")):
        return "{:.2f}"
    if column in ("studies_per_year", "population"):
        return "{:,.0f}"
    if "months" in column:
        return "{:.1f}"
    return None


def styled(frame: pd.DataFrame, labels: dict[str, str]):
    """A table with the given column labels and money, shares and ratios formatted."""
    out = frame[list(labels)].rename(columns=labels)
    formats = {labels[c]: f for c in labels if (f := _format_for(c))}
    return out.style.format(formats, na_rep="-")


@st.cache_data(show_spinner="Planning the rollout year by year...", max_entries=32)
def rollouts(
    source: str,
    ics: str,
    scenario: planner.Scenario,
    years: int,
    carry_over: bool,
    ramp_months: float,
):
    """The rollout under each procurement model (cached)."""
    from planner.rollout import RolloutSettings, solve_rollout

    data = dataset_for(source).subset([ics])
    settings = RolloutSettings(years=years, carry_over=carry_over, ramp_months=ramp_months)
    return {m: solve_rollout(data, scenario, m, settings) for m in ("local", "ics", "central")}


@st.cache_data(show_spinner="Sharing the pooled cost...", max_entries=32)
def cost_shares(source: str, ics: str, scenario: planner.Scenario):
    """The plan's cost split among its trusts by each rule (cached)."""
    from planner.costshare import share_costs

    plan = solve_plan(source, ics, scenario)
    return plan, share_costs(dataset_for(source).subset([ics]), plan)


@st.cache_data(show_spinner="Explaining the plan for this trust (re-solving)...", max_entries=32)
def explanation(source: str, ics: str, scenario: planner.Scenario, trust: str):
    """Explanations for one trust and its one-page HTML summary (cached)."""
    from planner.explain import explain_plan
    from planner.summary_html import trust_summary_html

    data = dataset_for(source).subset([ics])
    plan = solve_plan(source, ics, scenario)
    result = explain_plan(data, scenario, plan, trusts=[trust])
    return result, trust_summary_html(data, plan, result, trust)


def readable(frame: pd.DataFrame, drop: tuple[str, ...] = ()):
    """Any table with readable headers, formatted by column name (see :func:`styled`).

    Codes listed in ``drop`` (and private ``_`` columns) are left out in favour of names.
    """
    keep = [c for c in frame.columns if c not in drop and not c.startswith("_")]
    labels = {
        c: c.replace("_gbp", "").replace("_pct", " %").replace("_", " ").capitalize() for c in keep
    }
    return styled(frame, labels)
