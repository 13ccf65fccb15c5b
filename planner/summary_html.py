"""One-page plain-English HTML summaries of a plan, one per trust, for clinicians.

Each page is self-contained: inline CSS sized for printing on A4, no JavaScript, no images,
fonts, links or other external assets. Every piece of text that comes from the data (trust,
ICS and product names and codes, reasons built from them) is escaped with
:func:`html.escape`, so a name holding ``<script>`` or ``&`` prints as text.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from planner.data import Dataset
from planner.explain import Explanation
from planner.formatting import money, percent, pounds, use_case_name
from planner.plan import Plan
from planner.report import write_text

MODEL_WORDS = {
    "local": "each trust buying on its own",
    "ics": "the ICS buying together from one pooled budget",
    "central": "NHS England buying nationally (framework products only)",
}
#: Reasons that no price can change and that are listed in one line, not a table row.
NOT_OFFERED = ("no_studies", "use_case_in_use", "framework")

CSS = """
@page { size: A4; margin: 10mm 12mm; }
* { box-sizing: border-box; }
body { font-family: Arial, Helvetica, sans-serif; font-size: 8.6pt; line-height: 1.25;
  color: #212b32; max-width: 184mm; margin: 0 auto; padding: 5mm 0; }
h1 { font-size: 14pt; margin: 0; color: #005eb8; }
h2 { font-size: 10pt; margin: 6pt 0 2pt; color: #005eb8; border-bottom: 1px solid #d8dde0;
  padding-bottom: 1pt; break-after: avoid; }
p { margin: 1pt 0 3pt; }
.sub { color: #4c6272; font-size: 8pt; margin-bottom: 2pt; }
.note { color: #4c6272; font-size: 7.6pt; }
table { border-collapse: collapse; width: 100%; font-size: 7.6pt; margin: 1pt 0 3pt; }
th, td { text-align: left; vertical-align: top; padding: 1pt 3pt;
  border-bottom: 1px solid #d8dde0; }
th { background: #f0f4f5; font-weight: bold; }
td.num, th.num { text-align: right; }
td.num { white-space: nowrap; }
col.tool { width: 25%; } col.hours { width: 10%; } col.why { width: 40%; }
tr { break-inside: avoid; }
tr.me td { background: #e8f1fb; font-weight: bold; }
.bar { display: inline-block; height: 5.5pt; background: #005eb8; vertical-align: middle; }
.barbox { display: inline-block; width: 28mm; background: #e8edee; margin-right: 3pt; }
ul { margin: 1pt 0; padding-left: 11pt; }
li { margin: 0; }
@media print { body { padding: 0; } }
"""


def _e(value) -> str:
    """Escape any value for HTML text or an attribute."""
    return html.escape("" if value is None else str(value), quote=True)


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

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en-GB">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>AI imaging plan: {_e(name)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{_e(name)}</h1>",
        f'<p class="sub">Trust {_e(trust)} &middot; {_e(ics_name)} &middot; AI imaging '
        f"adoption plan with {_e(MODEL_WORDS.get(plan.model, plan.model))}, "
        f"{_e(money(plan.budget_gbp))} over {sc.horizon_years} years</p>",
    ]
    parts += _in_short(me, adopted, trusts, sc)
    parts += _gets(me, adopted, dataset)
    parts += _compare(trust, trusts, ics_code)
    parts += _not_got(missed, explanation.budget_value.get("benefit_per_gbp"), rows_shown)
    parts += [
        f"<p><strong>More money.</strong> {_e(explanation.budget_value.get('text', ''))} "
        '<span class="note">(for the whole plan, not this trust alone)</span></p>',
    ]
    parts += _how_to_read(plan, explanation)
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def _in_short(me: pd.Series, adopted: pd.DataFrame, trusts: pd.DataFrame, sc) -> list[str]:
    n = len(adopted)
    ics_rows = trusts[trusts["ics"] == me["ics"]]
    rank = me["coverage_rank"]
    rank_text = _rank_text(rank, len(ics_rows))
    if n == 0:
        text = (
            "Under this plan the trust adopts <strong>no new AI tools</strong>. The reasons, "
            "and the price cuts that would change them, are listed below. "
            f"AI tools already in use read {percent(me['coverage'], 0)} of the studies the "
            f"catalogue's tools apply to here ({rank_text})."
        )
        return ["<h2>In short</h2>", f"<p>{text}</p>"]
    names = ", ".join(_e(x) for x in adopted["product_name"])
    qalys = float(adopted["qalys_over_horizon"].sum())
    hours = float(adopted["radiologist_hours_over_horizon"].sum())
    hours_year = float(adopted["radiologist_hours_per_year"].sum())
    first, last = adopted["go_live_months"].min(), adopted["go_live_months"].max()
    live = (
        f"goes live about {first:.0f} months after the decision"
        if n == 1
        else f"go live between about {first:.0f} and {last:.0f} months after the decision"
    )
    tool = "tool" if n == 1 else "tools"
    text = (
        f"Under this plan the trust adopts <strong>{n} new AI {tool}</strong>: {names}. "
        f"{'It' if n == 1 else 'They'} {live}, {'costs' if n == 1 else 'cost'} "
        f"{_e(money(me['cost_gbp']))} over {sc.horizon_years} years and "
        f"{'is' if n == 1 else 'are'} expected to bring {_e(money(me['benefit_gbp']))} of "
        f"benefit: about {qalys:,.1f} QALYs (years of healthy life) and "
        f"{_hours(hours)} hours of radiologist time released ({_hours(hours_year)} a year once "
        f"live). AI tools would then read {percent(me['coverage'], 0)} of the imaging studies the "
        f"catalogue's tools apply to here, up from {percent(me['coverage_before'], 0)}: "
        f"{rank_text}."
    )
    return ["<h2>In short</h2>", f"<p>{text}</p>"]


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


def _gets(me: pd.Series, adopted: pd.DataFrame, dataset: Dataset) -> list[str]:
    out = ["<h2>What the trust gets</h2>"]
    if adopted.empty:
        out.append("<p>No new AI tools under this plan.</p>")
    else:
        out += [
            "<table><col class='tool'><col><col><col><col><col class='hours'><col class='why'>",
            "<tr><th>AI tool</th><th>Goes live</th><th class='num'>Cost</th>"
            "<th class='num'>Benefit</th><th class='num'>QALYs</th>"
            "<th class='num'>Radiologist hours freed a year</th>"
            "<th>Why it is in the plan</th></tr>",
        ]
        for r in adopted.itertuples(index=False):
            per = (
                f"<br><span class='note'>{r.benefit_per_gbp:.2f} per £1</span>"
                if pd.notna(r.benefit_per_gbp)
                else ""
            )
            displaced = _without_text(r, dataset)
            displaced = f"<br><span class='note'>{_e(displaced)}</span>" if displaced else ""
            out.append(
                "<tr>"
                f"<td>{_e(r.product_name)}<br><span class='note'>{_e(r.product)}: "
                f"{_e(use_case_name(r.use_case))}</span></td>"
                f"<td>{_e(_months(r.go_live_months))}</td>"
                f"<td class='num'>{_e(money(r.cost_gbp))}</td>"
                f"<td class='num'>{_e(money(r.benefit_gbp))}{per}</td>"
                f"<td class='num'>{r.qalys_over_horizon:,.1f}</td>"
                f"<td class='num'>{_hours(r.radiologist_hours_per_year)}</td>"
                f"<td>{_e(_short_fit(r.fits_because))}{displaced}</td>"
                "</tr>"
            )
        out.append("</table>")
    notes = []
    if bool(me["platform_bought"]):
        notes.append("The plan also buys the trust an AI deployment platform (in the cost).")
    in_use = list(me["in_use"])
    if in_use:
        names = [
            f"{dataset.products.at[p, 'product_name']} ({p})" if p in dataset.products.index else p
            for p in in_use
        ]
        notes.append("Already in use and kept: " + ", ".join(names) + ".")
    notes.append(
        f"IT capacity: {int(me['adoptions'])} of {int(me['it_capacity'])} places for new AI "
        "deployments used."
    )
    out.append(f"<p class='note'>{_e(' '.join(notes))}</p>")
    return out


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


def _compare(trust: str, trusts: pd.DataFrame, ics: str) -> list[str]:
    rows = trusts[trusts["ics"] == ics].sort_values(
        ["coverage", "trust_name"], ascending=[False, True]
    )
    out = [
        "<h2>How the trust compares in its ICS</h2>",
        "<table>",
        "<tr><th>Trust</th><th class='num'>New AI tools</th><th>Studies read by AI tools "
        "(coverage)</th><th class='num'>Benefit per resident</th></tr>",
    ]
    for tc, r in rows.iterrows():
        cov = float(r["coverage"]) if pd.notna(r["coverage"]) else 0.0
        width = max(0.0, min(cov, 1.0)) * 100
        cls = " class='me'" if tc == trust else ""
        out.append(
            f"<tr{cls}><td>{_e(r['trust_name'])}</td>"
            f"<td class='num'>{int(r['adoptions'])}</td>"
            f"<td><span class='barbox'><span class='bar' style='width:{width:.0f}%'></span>"
            f"</span>{percent(r['coverage'], 0)}</td>"
            f"<td class='num'>£{float(r['benefit_per_capita_gbp']):,.2f}</td></tr>"
        )
    out.append("</table>")
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
        if "deployment platform" in r.reason:
            text += " (and it needs a deployment platform)"
        return text
    return str(r.reason)


def _not_got(missed: pd.DataFrame, lam: float | None, rows_shown: int) -> list[str]:
    out = ["<h2>What the trust did not get, and why</h2>"]
    offered = missed[~missed["reason_code"].isin(NOT_OFFERED)]
    found = offered[offered["break_even_price_factor"].notna()].sort_values(
        ["break_even_price_factor", "product"], ascending=[False, True]
    )
    shown, further = found.head(rows_shown), found.iloc[rows_shown:]
    if offered.empty:
        out.append("<p>Every product that could be bought here is in the plan.</p>")
    if not shown.empty:
        out += [
            "<table>",
            "<col class='tool'><col><col>",
            "<tr><th>AI tool</th><th>Why not</th><th>It would be chosen if</th></tr>",
        ]
        for r in shown.itertuples(index=False):
            would = str(r.break_even).removeprefix("chosen if ")
            out.append(
                f"<tr><td>{_e(r.product_name)}<br><span class='note'>{_e(r.product)}: "
                f"{_e(use_case_name(r.use_case))}</span></td>"
                f"<td>{_e(_short_reason(r, lam))}</td><td>{_e(would)}</td></tr>"
            )
        out.append("</table>")
    lines = []
    if not further.empty:
        lines.append(
            "Also chosen at a lower price (the price cut needed): "
            + ", ".join(
                f"{r.product_name} ({_price_cut(r.price_cut_pct)})"
                for r in further.itertuples(index=False)
            )
        )
    free = offered[offered["search"].str.startswith("not chosen even free")]
    if not free.empty:
        lines.append(
            "Not chosen even if free: "
            + "; ".join(
                f"{r.product_name} ({_free_reason(r)})" for r in free.itertuples(index=False)
            )
        )
    fixed = offered[offered["search"].str.startswith("not searched")]
    if not fixed.empty:
        lines.append(
            "No price changes it: "
            + "; ".join(f"{r.product_name} ({r.reason})" for r in fixed.itertuples(index=False))
        )
    skipped = offered[
        offered["break_even_price_factor"].isna()
        & ~offered["search"].str.startswith(("not chosen even free", "not searched"))
    ]
    if not skipped.empty:
        lines.append(
            "Not priced (the search was skipped): "
            + "; ".join(f"{r.product_name} ({r.reason})" for r in skipped.itertuples(index=False))
        )
    not_offered = missed[missed["reason_code"].isin(NOT_OFFERED)]
    for code, words in (
        ("use_case_in_use", "the use case is covered by a tool already in use"),
        ("no_studies", "the trust reads none of the studies they apply to"),
        ("framework", "not on the national framework"),
    ):
        names = not_offered.loc[not_offered["reason_code"] == code, "product_name"]
        if len(names):
            lines.append(f"Not offered here ({words}): {', '.join(str(x) for x in names)}")
    out += [f"<p class='note'>{_e(line)}.</p>" for line in lines]
    return out


def _free_reason(r) -> str:
    """Why a product is not chosen even if free, in a few words."""
    if r.reason_code != "budget":
        return str(r.reason)
    if "deployment platform" in r.reason:
        return "it needs a deployment platform, which costs more than it brings"
    return "other choices are worth more"


def _price_cut(pct: float) -> str:
    return f"-{pct:.0f}%" if pd.notna(pct) else "n/a"


def _how_to_read(plan: Plan, explanation: Explanation) -> list[str]:
    sc = plan.scenario
    route = sc.route(plan.model)
    items = [
        "Illustrative figures: the trusts, products and prices are fictional, drawn from "
        "published ranges; they show how a plan is made and are not advice to buy.",
        f"Money is present value over {sc.horizon_years} years at a "
        f"{100 * sc.discount_rate:.1f}% discount rate (HM Treasury Green Book); cost counts "
        "implementation, licences, per-study fees and any deployment platform.",
        f"Benefit is health gain at {pounds(sc.qaly_value_gbp)} per QALY (NICE) plus "
        f"radiologist time at {pounds(sc.radiologist_hour_gbp)} an hour (more where posts are "
        "vacant).",
        f"Nothing is gained before go-live: the contract is signed "
        f"{route.lead_time_months:.0f} months after the decision under this way of buying, "
        "then each tool takes its own implementation time. QALYs and hours are totals from "
        "go-live to the end of the horizon, not discounted.",
        "Coverage is the share of the trust's imaging studies, across the catalogue's use "
        "cases, that an AI tool would read.",
        "A price cut is for this trust alone, all else equal: the cut in its bill for the "
        "product (implementation, licence and per-study fees) beyond which re-running the plan "
        "gives it the tool, found by re-solving the plan.",
    ]
    if sc.equity_weight > 0:
        items.append(
            f"Benefits in more deprived areas count more (equity weight {sc.equity_weight:g})."
        )
    if sc.coverage_floor > 0:
        floor = f"{100 * sc.coverage_floor:.0f}%"
        items.append(
            {
                "all": f"Every trust must reach {floor} coverage.",
                "core20": f"The Core20 people of each ICS (England's most deprived fifth) must "
                f"get {floor} coverage between them.",
                "core20_trusts": f"Every trust with more than "
                f"{sc.core20_trust_threshold:.0%} of its people in the Core20 must reach "
                f"{floor} coverage.",
            }[sc.floor_applies_to]
        )
    text = " ".join(_e(t) for t in items)
    return ["<h2>How to read this</h2>", f"<p class='note'>{text}</p>"]


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
    half a file. Nothing is written if any target exists and ``overwrite`` is False.

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
    out = Path(out_dir)
    codes = (
        list(explanation.explained or explanation.trusts["trust"])
        if trusts is None
        else [str(t) for t in trusts]
    )
    paths = [out / f"{code}.html" for code in codes]
    if not overwrite:
        there = [str(p) for p in paths if p.exists()]
        if there:
            raise FileExistsError(
                "will not overwrite existing files (pass overwrite=True): " + ", ".join(there)
            )
    pages = [trust_summary_html(dataset, plan, explanation, code) for code in codes]
    for path, page in zip(paths, pages, strict=True):
        write_text(path, page)
    return paths
