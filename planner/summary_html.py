"""One-page plain-English HTML summaries of a plan, one per trust, for clinicians.

Each page is self-contained: inline CSS sized for printing on A4, no JavaScript, no images,
fonts, links or other external assets. The page is rendered from the Jinja2 template
``planner/templates/trust_summary.html.j2`` (its CSS from ``trust_summary.css`` beside it) with
autoescaping on. The code here prepares plain data only (strings, numbers, lists of rows) and
the template writes all the markup, so every piece of text that comes from the data (trust,
ICS and product names and codes, reasons built from them) is escaped on output and a name
holding ``<script>`` or ``&`` prints as text. Nothing is marked safe.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
import numpy as np
import pandas as pd

from planner.data import Dataset
from planner.explain import Explanation
from planner.explain_text import price_cut_text
from planner.formatting import money, percent, pounds, use_case_name
from planner.plan import Plan
from planner.sheets import check_targets, write_text

MODEL_WORDS = {
    "local": "each trust buying on its own",
    "ics": "the ICS buying together from one pooled budget",
    "network": "the imaging network buying together from its trusts' pooled money",
    "framework": "each trust calling off national framework prices from its own budget",
    "central": "NHS England buying nationally (framework products only), each ICS within "
    "its needs-weighted fair share",
    "central_pot": "NHS England buying nationally (framework products only) from one national pot",
}
#: Reasons that no price can change and that are listed in one line, not a table row.
NOT_OFFERED = ("no_studies", "use_case_in_use", "framework")
#: The page template, in ``planner/templates``.
TEMPLATE = "trust_summary.html.j2"

#: The templates' environment: autoescaped, strict about undefined names, block tags leaving
#: no blank lines, and the template's final newline kept (the page ends with one).
ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("planner", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def _months(value: float) -> str:
    m = float(value)
    return f"month {m:.0f}" if abs(m - round(m)) < 0.05 else f"month {m:.1f}"


def _hours(value: float) -> str:
    return f"{value:,.0f}"


def trust_summary_html(
    dataset: Dataset,
    plan: Plan,
    explanation: Explanation,
    trust: str,
    *,
    rows_shown: int | None = None,
) -> str:
    """Return a one-page plain-English HTML summary of the plan for one trust.

    Args:
        dataset: The dataset the plan was made from.
        plan: The plan.
        explanation: Its explanation, from :func:`planner.explain.explain_plan`, with this
            trust among those explained.
        trust: The trust code.
        rows_shown: Products not chosen shown in the table (those nearest to being chosen);
            the others are listed in a line each, so the page stays short. None: 7 less the
            number of adoptions, at least 2.

    Returns:
        A complete HTML document (UTF-8 text).

    Raises:
        ValueError: If the trust is not in the plan or was not explained.
    """
    trusts = explanation.trusts.set_index("trust")
    if trust not in trusts.index:
        raise ValueError(f"trust {trust!r} is not in the plan")
    if explanation.explained and trust not in explanation.explained:
        raise ValueError(f"trust {trust!r} was not explained (see explain_plan(trusts=...))")
    me = trusts.loc[trust]
    name = str(me["trust_name"])
    ics_code = str(me["ics"])
    ics_name = (
        str(dataset.icss.at[ics_code, "ics_name"]) if ics_code in dataset.icss.index else ics_code
    )
    sc = plan.scenario
    adopted = explanation.adoptions[explanation.adoptions["trust"] == trust]
    adopted = adopted.sort_values(["go_live_months", "product"])
    missed = explanation.not_chosen[explanation.not_chosen["trust"] == trust]
    if rows_shown is None:
        rows_shown = max(2, 7 - len(adopted))

    context = {
        "name": name,
        "trust": trust,
        "ics_name": ics_name,
        "model_words": MODEL_WORDS.get(plan.model, plan.model),
        "budget": money(plan.budget_gbp),
        "horizon_years": sc.horizon_years,
        "in_short": _in_short(me, adopted, trusts),
        "gets": _gets(me, adopted, dataset),
        "compare": _compare(trust, trusts, ics_code),
        "not_got": _not_got(missed, explanation.budget_value.get("benefit_per_gbp"), rows_shown),
        "more_money": str(explanation.budget_value.get("text", "")),
        "how_to_read": _how_to_read(plan),
    }
    return ENVIRONMENT.get_template(TEMPLATE).render(context)


def _in_short(me: pd.Series, adopted: pd.DataFrame, trusts: pd.DataFrame) -> dict:
    """The figures of the "In short" paragraph."""
    ics_rows = trusts[trusts["ics"] == me["ics"]]
    out = {
        "n": len(adopted),
        "coverage": percent(me["coverage"], 0),
        "rank": _rank_text(me["coverage_rank"], len(ics_rows)),
    }
    if adopted.empty:
        return out
    return out | {
        "names": [str(x) for x in adopted["product_name"]],
        "first_month": f"{adopted['go_live_months'].min():.0f}",
        "last_month": f"{adopted['go_live_months'].max():.0f}",
        "cost": money(me["cost_gbp"]),
        "benefit": money(me["benefit_gbp"]),
        "qalys": f"{float(adopted['qalys_over_horizon'].sum()):,.1f}",
        "hours": _hours(float(adopted["radiologist_hours_over_horizon"].sum())),
        "hours_a_year": _hours(float(adopted["radiologist_hours_per_year"].sum())),
        "coverage_before": percent(me["coverage_before"], 0),
    }


def _rank_text(rank, n: int) -> str:
    if pd.isna(rank) or n <= 1:
        return "the only trust of its ICS in the plan" if n <= 1 else "not ranked"
    rank = int(rank)
    if rank == 1:
        return f"the highest of the {n} trusts in the ICS"
    if rank == n:
        return f"the lowest of the {n} trusts in the ICS"
    return f"the {_ordinal(rank)} highest of the {n} trusts in the ICS"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _gets(me: pd.Series, adopted: pd.DataFrame, dataset: Dataset) -> dict:
    """The table of what the trust gets (a row per adoption) and the facts under it."""
    rows = [
        {
            "product_name": str(r.product_name),
            "product": str(r.product),
            "use_case": use_case_name(r.use_case),
            "goes_live": _months(r.go_live_months),
            "cost": money(r.cost_gbp),
            "benefit": money(r.benefit_gbp),
            "per_gbp": f"{r.benefit_per_gbp:.2f}" if pd.notna(r.benefit_per_gbp) else "",
            "qalys": f"{r.qalys_over_horizon:,.1f}",
            "hours_a_year": _hours(r.radiologist_hours_per_year),
            "why": _short_fit(r.fits_because),
            "without": _without_text(r, dataset),
        }
        for r in adopted.itertuples(index=False)
    ]
    in_use = [
        f"{dataset.products.at[p, 'product_name']} ({p})" if p in dataset.products.index else p
        for p in me["in_use"]
    ]
    return {
        "rows": rows,
        "platform_bought": bool(me["platform_bought"]),
        "in_use": [str(x) for x in in_use],
        "adoptions": int(me["adoptions"]),
        "it_capacity": int(me["it_capacity"]),
    }


SHORT_FITS = {
    "best benefit per £ for this use case at this trust": "best value for money for its use case",
    "most benefit for this use case at this trust (the budget allows the dearer choice)": (
        "most benefit for its use case"
    ),
    "the only product for this use case here": "the only product for its use case",
}


def _short_fit(text: str) -> str:
    """The adoption's reason, in fewer words."""
    return "; ".join(SHORT_FITS.get(part, part) for part in str(text).split("; "))


def _without_text(r, dataset: Dataset) -> str:
    """What the plan does without this adoption, said for this trust."""
    change = r.benefit_change_gbp
    if not np.isfinite(change):
        return ""
    mine = [s.split(":", 1)[1] for s in r.displaced_by if s.split(":", 1)[0] == r.trust]
    names = [
        str(dataset.products.at[p, "product_name"]) if p in dataset.products.index else p
        for p in mine
    ]
    others = len(r.displaced_by) - len(mine)
    if names:
        where = "the trust would take " + ", ".join(names) + " instead"
        if others:
            where += " (other trusts gain too)"
    elif others:
        where = "the money would go to other trusts"
    else:
        where = "nothing else would be bought"
    size = f"{money(-change)} less benefit" if change < 0 else f"{money(change)} more benefit"
    return f"Without it: {size}; {where}."


def _compare(trust: str, trusts: pd.DataFrame, ics: str) -> list[dict]:
    """A row per trust of the ICS, highest coverage first; ``bar_pct`` is the bar's width."""
    rows = trusts[trusts["ics"] == ics].sort_values(
        ["coverage", "trust_name"], ascending=[False, True]
    )
    out = []
    for tc, r in rows.iterrows():
        cov = float(r["coverage"]) if pd.notna(r["coverage"]) else 0.0
        out.append(
            {
                "me": tc == trust,
                "trust_name": str(r["trust_name"]),
                "adoptions": int(r["adoptions"]),
                "bar_pct": max(0.0, min(cov, 1.0)) * 100,
                "coverage": percent(r["coverage"], 0),
                "benefit_per_resident": f"£{float(r['benefit_per_capita_gbp']):,.2f}",
            }
        )
    return out


def _short_reason(r, lam: float | None) -> str:
    """A short plain-English reason for a table row or a list entry."""
    code = r.reason_code
    if code == "budget":
        bpg = r.benefit_per_gbp
        if lam is not None and np.isfinite(bpg) and bpg < lam:
            text = f"budget: returns {bpg:.2f} per £1; the money buys {lam:.2f} per £1 elsewhere"
        else:
            text = "budget: does not fit in the money left"
        if r.platform_gbp > 0:
            text += " (and it needs a deployment platform)"
        return text
    return str(r.reason)


def _not_got(missed: pd.DataFrame, lam: float | None, rows_shown: int) -> dict:
    """The products not chosen: table rows for the nearest, then (name, why) pairs by kind."""
    offered = missed[~missed["reason_code"].isin(NOT_OFFERED)]
    found = offered[offered["break_even_price_factor"].notna()].sort_values(
        ["break_even_price_factor", "product"], ascending=[False, True]
    )
    shown, further = found.head(rows_shown), found.iloc[rows_shown:]
    rows = [
        {
            "product_name": str(r.product_name),
            "product": str(r.product),
            "use_case": use_case_name(r.use_case),
            "why_not": _short_reason(r, lam),
            "chosen_if": str(r.break_even).removeprefix("chosen if "),
        }
        for r in shown.itertuples(index=False)
    ]
    free = offered[offered["search"].str.startswith("not chosen even free")]
    fixed = offered[offered["search"].str.startswith("not searched")]
    skipped = offered[
        offered["break_even_price_factor"].isna()
        & ~offered["search"].str.startswith(("not chosen even free", "not searched"))
    ]
    not_offered = missed[missed["reason_code"].isin(NOT_OFFERED)]
    groups = []
    for code, words in (
        ("use_case_in_use", "the use case is covered by a tool already in use"),
        ("no_studies", "the trust reads none of the studies they apply to"),
        ("framework", "not on the national framework"),
    ):
        names = not_offered.loc[not_offered["reason_code"] == code, "product_name"]
        if len(names):
            groups.append((words, [str(x) for x in names]))
    return {
        "any_offered": not offered.empty,
        "rows": rows,
        "further": [
            (str(r.product_name), _price_cut(r.price_cut_pct))
            for r in further.itertuples(index=False)
        ],
        "free": [(str(r.product_name), _free_reason(r)) for r in free.itertuples(index=False)],
        "fixed": [(str(r.product_name), str(r.reason)) for r in fixed.itertuples(index=False)],
        "skipped": [(str(r.product_name), str(r.reason)) for r in skipped.itertuples(index=False)],
        "not_offered": groups,
    }


def _free_reason(r) -> str:
    """Why a product is not chosen even if free, in a few words."""
    if r.reason_code != "budget":
        return str(r.reason)
    if r.platform_gbp > 0:
        return "it needs a deployment platform, which costs more than it brings"
    return "other choices are worth more"


def _price_cut(pct: float) -> str:
    return "-" + price_cut_text(pct) if pd.notna(pct) else "n/a"


def _how_to_read(plan: Plan) -> dict:
    """The scenario's figures quoted in the notes on how to read the page."""
    sc = plan.scenario
    return {
        "discount_rate": f"{100 * sc.discount_rate:.1f}%",
        "qaly_value": pounds(sc.qaly_value_gbp),
        "hour_value": pounds(sc.radiologist_hour_gbp),
        "lead_time_months": f"{sc.route(plan.model).lead_time_months:.0f}",
        "equity_weight": f"{sc.equity_weight:g}" if sc.equity_weight > 0 else "",
        "floor": f"{100 * sc.coverage_floor:.0f}%" if sc.coverage_floor > 0 else "",
        "floor_applies_to": sc.floor_applies_to,
        "core20_trust_threshold": f"{sc.core20_trust_threshold:.0%}",
    }


def write_trust_summaries(
    dataset: Dataset,
    plan: Plan,
    explanation: Explanation,
    out_dir: str | Path,
    *,
    trusts=None,
    overwrite: bool = False,
) -> list[Path]:
    """Write one summary per trust as ``<trust_code>.html`` in ``out_dir``.

    Each file is written to a temporary name and moved into place, so a failure never leaves
    half a file. Nothing is written if any target is a link, or exists and ``overwrite`` is
    False.

    Args:
        dataset: The dataset the plan was made from.
        plan: The plan.
        explanation: Its explanation.
        out_dir: The folder (created if missing).
        trusts: Trust codes to write (None: every trust explained).
        overwrite: Whether existing files may be replaced.

    Returns:
        The paths written, in trust order.

    Raises:
        FileExistsError: If a target file exists and ``overwrite`` is False.
        ValueError: If a trust is not in the plan or was not explained.
    """
    paths = summary_paths(explanation, out_dir, trusts)
    check_targets(paths.values(), overwrite)
    pages = [trust_summary_html(dataset, plan, explanation, code) for code in paths]
    for path, page in zip(paths.values(), pages, strict=True):
        write_text(path, page)
    return list(paths.values())


def summary_paths(explanation: Explanation, out_dir: str | Path, trusts=None) -> dict[str, Path]:
    """Where :func:`write_trust_summaries` writes each trust's page, by trust code."""
    codes = (
        list(explanation.explained or explanation.trusts["trust"])
        if trusts is None
        else [str(t) for t in trusts]
    )
    return {code: Path(out_dir) / f"{code}.html" for code in codes}
