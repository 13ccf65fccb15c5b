"""What every page of the app shares: cached library calls, the scenario, error display.

Only glue between widgets and the ``planner`` library lives here; no optimisation logic.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

import planner
from planner.formatting import (
    MISSING,
    MODEL_NAMES,
    money,
    percent,
    percent_points,
    pounds,
    price,
    status_text,
    use_case_name,
)
from planner.scenario import COMPARED

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = {
    "Default ICS (illustrative)": ROOT / "data" / "default_ics",
    "England-scale (synthetic)": ROOT / "data" / "england",
}
DEFAULTS = planner.Scenario()
#: How cached calls key a scenario: its repr names every setting (and is ~100x quicker to hash
#: than the object, which Streamlit would pickle on every call).
SCENARIO_KEY = {planner.Scenario: repr}
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
    def scope(self) -> str:
        """What widgets kept per choice are keyed by: the dataset and the ICS together."""
        return f"{self.source}|{self.ics}"

    @property
    def dataset(self) -> planner.Dataset:
        """The dataset restricted to the chosen ICS."""
        return dataset_for(self.source).subset([self.ics])


@st.cache_resource(show_spinner=False, max_entries=len(SHIPPED))
def _shipped(path: str) -> planner.Dataset:
    return planner.load_dataset(path)


#: Uploads held at once, for every session together; the least recently used goes first.
MAX_UPLOADS = 16


class UploadStore:
    """Validated uploads by content digest, at most ``MAX_UPLOADS`` (shared by sessions)."""

    def __init__(self, limit: int = MAX_UPLOADS):
        self.limit = limit
        self._data: OrderedDict[str, planner.Dataset] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, digest: str) -> planner.Dataset | None:
        """The dataset of these bytes, if still held (and mark it used)."""
        with self._lock:
            if digest in self._data:
                self._data.move_to_end(digest)
            return self._data.get(digest)

    def put(self, digest: str, dataset: planner.Dataset) -> None:
        """Hold a dataset, dropping the least recently used beyond the limit."""
        with self._lock:
            self._data[digest] = dataset
            self._data.move_to_end(digest)
            while len(self._data) > self.limit:
                self._data.popitem(last=False)


@st.cache_resource(show_spinner=False, max_entries=1)
def _uploads() -> UploadStore:
    return UploadStore()


def _digest(source: str) -> str:
    return source.split(":", 2)[1]


def add_upload(name: str, content: bytes) -> str:
    """Validate an upload; return its source key. Raises DataError with every problem.

    The data are held by content only (the same bytes under two names are held once); the
    key carries the file name for the user's label.
    """
    digest = hashlib.sha256(content).hexdigest()[:16]
    store = _uploads()
    if store.get(digest) is None:
        store.put(digest, planner.data.load_upload(name, content))
    return f"upload:{digest}:{name}"


def is_held(source: str) -> bool:
    """Whether a source's data are still there (an upload may have been dropped)."""
    return not source.startswith("upload:") or _uploads().get(_digest(source)) is not None


def dataset_for(source: str) -> planner.Dataset:
    """The whole dataset behind a source key (a shipped path or an upload).

    Raises:
        KeyError: If the upload is no longer held (see :func:`is_held`).
    """
    if source.startswith("upload:"):
        data = _uploads().get(_digest(source))
        if data is None:
            raise KeyError(source)
        return data
    return _shipped(source)


def source_label(source: str) -> str:
    """What the user calls a source."""
    for label, path in SHIPPED.items():
        if str(path) == source:
            return label
    return "Uploaded: " + source.split(":", 2)[-1]


@st.cache_data(show_spinner="Optimising the plan...", max_entries=64, hash_funcs=SCENARIO_KEY)
def solve_plan(source: str, ics: str, scenario: planner.Scenario) -> planner.Plan:
    """One plan (cached on dataset, ICS and scenario)."""
    return planner.solve(dataset_for(source).subset([ics]), scenario)


def next_step_scenario(plan: planner.Plan) -> planner.Scenario | None:
    """The plan's scenario with ``marginal_step_gbp`` more money, or None when the step is 0.

    One arrow-key step of the budget slider (£0.1m) is the same step: the plan valued here is
    the one the user is most likely to ask for next.
    """
    step = plan.scenario.marginal_step_gbp
    if step <= 0:
        return None
    return plan.scenario.replace(budget_gbp=plan.budget_gbp + step)


@st.cache_data(
    show_spinner="Working out what more money would buy (re-solving)...",
    max_entries=64,
    hash_funcs=SCENARIO_KEY,
)
def next_step_value(source: str, ics: str, scenario: planner.Scenario) -> dict | None:
    """What the next ``marginal_step_gbp`` buys for the plan (one more solve, cached).

    The library's marginal block (``planner.marginal_between``), from the larger budget's
    whole plan, solved and kept here rather than by ``planner.marginal_value``: that plan
    and its figures stay in :func:`solve_plan`'s and :func:`plan_figures`' caches, so a step
    up the budget slider is drawn without waiting for a solve. None when the step is 0 or
    the larger budget has no plan.
    """
    plan = solve_plan(source, ics, scenario)
    more = next_step_scenario(plan)
    if more is None:
        return None
    try:
        bigger = solve_plan(source, ics, more)
    except planner.PlannerError:
        return None
    plan_figures(source, ics, more)
    return planner.marginal_between(plan, bigger, plan.scenario.marginal_step_gbp)


@st.cache_resource(show_spinner=False, max_entries=32, hash_funcs=SCENARIO_KEY)
def plan_figures(source: str, ics: str, scenario: planner.Scenario) -> tuple:
    """The Plan page's heatmap and per-trust bars for one plan (built once, then reused).

    Held as figure objects (not copies: unpickling a figure costs more than building it);
    ``st.plotly_chart`` only reads them.
    """
    from planner import plots

    plan = solve_plan(source, ics, scenario)
    return plots.plan_heatmap(plan, dataset_for(source).subset([ics])), plots.trust_bars(plan)


@st.cache_data(show_spinner=False, max_entries=16)
def lock_labels(source: str, ics: str) -> dict[tuple[str, str], str]:
    """Every (trust, product) pair of the ICS, named as the lock pickers show it."""
    data = dataset_for(source).subset([ics])
    trusts, products = data.trusts["trust_name"], data.products["product_name"]
    return {(t, p): f"{trusts[t]}: {products[p]}" for t in trusts.index for p in products.index}


@st.cache_data(
    show_spinner="Checking who the plan leaves out (re-solving)...",
    max_entries=64,
    hash_funcs=SCENARIO_KEY,
)
def equity_notes(source: str, ics: str, scenario: planner.Scenario) -> list:
    """The plan's equity findings, each a sentence with names and the price of a fix (cached)."""
    from planner.equity_check import equity_findings

    return equity_findings(dataset_for(source).subset([ics]), solve_plan(source, ics, scenario))


@st.cache_data(
    show_spinner="Comparing the ways of buying...", max_entries=32, hash_funcs=SCENARIO_KEY
)
def compare_plans(
    source: str, ics: str, scenario: planner.Scenario, routes: tuple[str, ...] = COMPARED
):
    """The procurement routes on the same money (cached)."""
    return planner.compare(dataset_for(source).subset([ics]), scenario, routes, keep_going=True)


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
    from planner.frontier import budget_frontier, equity_frontier  # only this page needs it

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
    from planner.uncertainty import run_psa  # only this page needs it

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


def _number(fmt: str):
    def show(value) -> str:
        return MISSING if value is None or pd.isna(value) else fmt.format(value)

    return show


def _format_for(column: str):
    """How a column's cells read, from the unit in its name (one rule for every table).

    ``*_gbp`` pounds (with pence for prices per study), ``*_pct`` figures already in percent,
    ``*_share`` and coverage shares as percentages, ratios with two decimals, counts with
    thousands separators, months with one decimal.
    """
    if column.endswith("price_per_study_gbp"):
        return price
    if column.endswith("_gbp"):
        return pounds
    if column.endswith("_pct"):
        return percent_points
    if column.endswith("_share") or "coverage" in column:
        return percent
    if column.endswith(("per_gbp", "factor", "weight")):
        return _number("{:.2f}")
    if column in ("studies_per_year", "population") or "hours" in column:
        return _number("{:,.0f}")
    if "months" in column:
        return _number("{:.1f}")
    return None


#: Columns whose codes are shown by name.
_NAMED = {
    "use_case": use_case_name,
    "model": lambda m: MODEL_NAMES.get(m, m),
    "status": status_text,
}


def _cell_text(value):
    """Lists as comma-separated text, flags as yes/no; anything else unchanged."""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) if value else MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def styled(frame: pd.DataFrame, labels: dict[str, str]):
    """A table with the given column labels, codes named and every figure formatted.

    The cells keep their numbers (so a column sorts as numbers); what is shown is the
    formatted text (:func:`_format_for`).
    """
    out = frame[list(labels)].copy()
    for col in out.columns:
        if col in _NAMED:
            out[col] = out[col].map(_NAMED[col])
        elif out[col].dtype == object or out[col].dtype == bool:
            out[col] = out[col].map(_cell_text)
    out = out.rename(columns=labels)
    formats = {labels[c]: f for c in labels if (f := _format_for(c))}
    return out.style.format(formats, na_rep=MISSING)


def data_table(frame: pd.DataFrame):
    """A table of the data as loaded: its own column names, figures formatted, gaps as '-'."""
    formats = {c: f for c in frame.columns if (f := _format_for(str(c)))}
    return frame.style.format(formats, na_rep=MISSING)


def label_for(column: str) -> str:
    """A readable header from a column name: ``cost_gbp`` -> ``Cost (£)``."""
    text = column.replace("_", " ")
    for suffix, unit in ((" gbp", " (£)"), (" pct", " (%)"), (" share", " (share)")):
        if text.endswith(suffix):
            text = text[: -len(suffix)] + unit
    return text[:1].upper() + text[1:]


def readable(frame: pd.DataFrame, drop: tuple[str, ...] = ()):
    """Any table with readable headers, formatted by column name (see :func:`styled`).

    Codes listed in ``drop`` (and private ``_`` columns) are left out in favour of names.
    """
    keep = [c for c in frame.columns if c not in drop and not c.startswith("_")]
    return styled(frame, {c: label_for(c) for c in keep})


def show_table(
    frame: pd.DataFrame, labels: dict[str, str], key: str, drop: tuple[str, ...] = ()
) -> None:
    """The key columns in view; every other column one click away, below.

    Wide tables keep what a reader needs first (trust, product, cost, benefit, the reason)
    visible at a laptop's width; the rest of the table is in an expander.
    """
    st.dataframe(styled(frame, labels), hide_index=True, width="stretch", key=key)
    rest = [c for c in frame.columns if c not in labels and c not in drop]
    if [c for c in rest if not c.startswith("_")]:
        with st.expander("All columns"):
            st.dataframe(
                readable(frame, drop=drop), hide_index=True, width="stretch", key=key + "_all"
            )


@st.cache_data(
    show_spinner="Planning the rollout year by year...", max_entries=32, hash_funcs=SCENARIO_KEY
)
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
    return {m: solve_rollout(data, scenario, m, settings) for m in COMPARED}


@st.cache_data(show_spinner="Sharing the pooled cost...", max_entries=32, hash_funcs=SCENARIO_KEY)
def cost_shares(source: str, ics: str, scenario: planner.Scenario):
    """The plan's cost split among its trusts by each rule (cached)."""
    from planner.costshare import share_costs

    plan = solve_plan(source, ics, scenario)
    return plan, share_costs(dataset_for(source).subset([ics]), plan)


@st.cache_data(
    show_spinner="Explaining the plan for this trust (re-solving)...",
    max_entries=32,
    hash_funcs=SCENARIO_KEY,
)
def explanation(source: str, ics: str, scenario: planner.Scenario, trust: str):
    """Explanations for one trust and its one-page HTML summary (cached)."""
    from planner.explain import explain_plan
    from planner.summary_html import trust_summary_html

    data = dataset_for(source).subset([ics])
    plan = solve_plan(source, ics, scenario)
    result = explain_plan(data, scenario, plan, trusts=[trust])
    return result, trust_summary_html(data, plan, result, trust)
