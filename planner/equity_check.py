"""Equity in front of the user: who a plan leaves out, and what it would cost to fix.

:func:`equity_findings` looks at a solved plan and says, in one sentence each:

- which trusts get no new AI tool, and the benefit given up by the best plan on the same
  money that gives every trust at least one (a re-solve with ``min_adoptions_per_trust: 1``);
- whether the most deprived fifth of the population gets less coverage than the least
  deprived fifth, and the benefit given up by the best plan that gives the Core20 people of
  each ICS at least the ICS's average coverage (a re-solve with ``core20_parity``);
- under ``local`` buying with an equity weight, that weights cannot move money between
  trusts.

When no plan on the same money can make the fix, the sentence says how much more money the
fix needs (a minimum-cost solve). :func:`compare_headline` names the way of buying with
the most benefit and the most and least equitable (by the coverage of the Core20 people).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from planner.data import Dataset
from planner.economics import build_options
from planner.errors import InfeasibleError, PlannerError
from planner.formatting import MODEL_NAMES, join_words, money
from planner.plan import Plan, solve
from planner.solve import has_plan, shortfall

#: Coverage shortfall of the most deprived fifth below the least deprived that is worth a word.
GAP_TOLERANCE = 0.005


@dataclass(frozen=True)
class Finding:
    """One equity finding about a plan.

    Attributes:
        kind: ``left_out``, ``deprivation_gap`` or ``local_weights``.
        sentence: What to tell the user, with names and figures.
        trusts: The trusts concerned (codes).
        fix_benefit_gbp: Benefit of the plan that makes the fix (None if none on this money).
        given_up_gbp: Benefit given up by making the fix (None if no plan on this money).
        extra_money_gbp: Money the fix needs beyond the budget (None when it fits, or no
            amount of money makes it).
    """

    kind: str
    sentence: str
    trusts: tuple = ()
    fix_benefit_gbp: float | None = None
    given_up_gbp: float | None = None
    extra_money_gbp: float | None = None


def _fix_cost(dataset: Dataset, plan: Plan, **rule) -> tuple[str, float | None]:
    """Re-solve with a fairness rule added.

    Returns:
        ``("plan", benefit)`` when a plan on the same money meets it, ``("money", extra)``
        when it needs more money, ``("never", None)`` when no money makes it, and
        ``("unknown", None)`` when the solver gave up.
    """
    scenario = plan.scenario.replace(**rule)
    try:
        fixed = solve(
            dataset,
            scenario,
            plan.model,
            with_greedy=False,
            with_base_case=False,
            with_marginal=False,
        )
    except InfeasibleError:
        try:
            short = shortfall(build_options(dataset, scenario, plan.model))
        except PlannerError:
            return "unknown", None
        return ("never", None) if short is None else ("money", float(short.sum()))
    except PlannerError:
        return "unknown", None
    return "plan", fixed.benefit_gbp


def _price(plan: Plan, fix: tuple[str, float | None], what: str) -> tuple[str, dict]:
    """The second half of a finding's sentence: what the fix costs in benefit or money."""
    outcome, value = fix
    if outcome == "plan":
        given = plan.benefit_gbp - value
        share = given / plan.benefit_gbp if plan.benefit_gbp > 0 else 0.0
        if given > 0.5:
            text = f"{what} would give up {money(given)} of benefit ({share:.1%})."
        else:
            text = f"{what} would give up no benefit."
        return text, {"fix_benefit_gbp": value, "given_up_gbp": given}
    lower = what[0].lower() + what[1:]
    if outcome == "money":
        return (
            f"no plan on this money can do so: {lower} needs at least {money(value)} more.",
            {"extra_money_gbp": value},
        )
    if outcome == "never":
        return f"no plan can do so with this catalogue and IT capacity ({lower}).", {}
    return f"the solver stopped before finding what {lower} would cost.", {}


def equity_findings(dataset: Dataset, plan: Plan) -> list[Finding]:
    """The equity findings of ``plan`` on ``dataset`` (the dataset it was solved on)."""
    out: list[Finding] = []
    names = dataset.trusts["trust_name"]
    sc = plan.scenario
    # trusts_without_new_adoptions leaves out trusts with nothing they could buy
    left = plan.equity.get("trusts_without_new_adoptions", [])
    if left and sc.min_adoptions_per_trust < 1:
        who = join_words([str(names.get(t, t)) for t in left], 3, "other trusts")
        verb = "gets" if len(left) == 1 else "get"
        text, extra = _price(
            plan,
            _fix_cost(dataset, plan, min_adoptions_per_trust=1),
            "Giving every trust at least one",
        )
        sep = "; " if text[0].islower() else ". "
        out.append(
            Finding(
                "left_out",
                f"{who} {verb} no new AI tool in this plan{sep}{text}",
                tuple(left),
                **extra,
            )
        )
    by_q = plan.equity.get("by_imd_quintile", {})
    q1 = (by_q.get("1") or {}).get("coverage")
    q5 = (by_q.get("5") or {}).get("coverage")
    if q1 is not None and q5 is not None and q5 < q1 - GAP_TOLERANCE and not sc.core20_parity:
        text, extra = _price(
            plan,
            _fix_cost(dataset, plan, core20_parity=True),
            "Giving the most deprived fifth at least the average coverage of its ICS",
        )
        sep = "; " if text[0].islower() else ". "
        out.append(
            Finding(
                "deprivation_gap",
                f"The most deprived fifth of the population gets {q5:.1%} coverage against "
                f"{q1:.1%} for the least deprived fifth{sep}{text}",
                **extra,
            )
        )
    if plan.model == "local" and plan.scenario.equity_weight > 0:
        out.append(
            Finding(
                "local_weights",
                "Under local buying each trust spends only its own budget, so equity weights "
                "cannot move money between trusts and nothing is given up for them; to reach "
                "deprived trusts, set a coverage floor or compare the ICS pooled model.",
            )
        )
    return out


def compare_headline(table: pd.DataFrame, budget_gbp: float | None) -> str:
    """One paragraph naming the way of buying with most benefit and the most and least equitable.

    Equity is the coverage delivered to the Core20 people (the most deprived national fifth);
    models with no plan are left out.
    """
    ok = table[has_plan(table["status"])]
    if ok.empty:
        return "No way of buying gives a plan that meets this scenario."
    best = ok.loc[ok["benefit_gbp"].idxmax()]
    money_text = money(budget_gbp) if budget_gbp else "the same money"
    text = (
        f"With {money_text}, **{MODEL_NAMES.get(best['model'], best['model'])}** does the most "
        f"good ({money(best['benefit_gbp'])} of benefit)."
    )
    eq = ok.dropna(subset=["core20_coverage"])
    if len(eq) >= 2:
        fair = eq.loc[eq["core20_coverage"].idxmax()]
        unfair = eq.loc[eq["core20_coverage"].idxmin()]
        if fair["core20_coverage"] - unfair["core20_coverage"] > 1e-6:
            text += (
                f" **{MODEL_NAMES.get(fair['model'], fair['model'])}** is the most equitable: "
                f"it gives the most deprived fifth {fair['core20_coverage']:.1%} coverage, "
                f"against {unfair['core20_coverage']:.1%} under "
                f"**{MODEL_NAMES.get(unfair['model'], unfair['model'])}**, the least equitable."
            )
        else:
            text += (
                f" All ways of buying give the most deprived fifth the same coverage "
                f"({fair['core20_coverage']:.1%})."
            )
    local = ok[ok["model"] == "local"]
    if len(local) and best["model"] != "local":
        lost = float(best["benefit_gbp"] - local["benefit_gbp"].iloc[0])
        text += f" Buying locally gives up {money(lost)} against the best."
    return text
