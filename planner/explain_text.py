"""The plain-English sentences of an explanation, written once.

:mod:`planner.explain` decides *which* reason holds (a reason code and its facts); this
module says it in words. Every sentence a user reads in the explanation tables, the app's
Explain page and the trust pages comes from here, so a wording is changed in one place.
"""

from __future__ import annotations

import math
from collections import defaultdict

from planner.formatting import Names, money, pounds

#: Why an option is not chosen, by reason code, with the facts each sentence names. The
#: budget reason needs figures and is :func:`budget_reason`.
NOT_CHOSEN_TEXT = {
    "use_case_in_use": "use case already covered by {other_name} ({other}), already in use",
    "framework": "not on the national framework",
    "no_studies": "the trust reads no {modality} studies this product applies to",
    "locked_out": "kept out by a lock in the scenario",
    "prerequisite_unavailable": (
        "needs prerequisite {prerequisite} which the trust does not have (and cannot buy "
        "under the {model} model)"
    ),
    "use_case": "use case already covered by {other_name} ({other})",
    "capacity": "IT capacity full ({used} of {capacity})",
    "prerequisite": "needs prerequisite {prerequisite} which the trust does not have",
}


def not_chosen_reason(code: str, **facts) -> str:
    """The sentence for a structural reason code (see :data:`NOT_CHOSEN_TEXT`)."""
    return NOT_CHOSEN_TEXT[code].format(**facts)


def budget_reason(benefit_per_gbp: float, margin_per_gbp: float | None, slack_gbp: float) -> str:
    """Why an affordable-looking option lost out on money.

    Below the benefit per pound that the next pound buys, it is poor value; otherwise it
    is good value that does not fit in the money left.
    """
    if (
        margin_per_gbp is not None
        and math.isfinite(benefit_per_gbp)
        and benefit_per_gbp < margin_per_gbp
    ):
        return (
            f"budget: benefit per £ ({benefit_per_gbp:.2f}) below what the money buys "
            f"({margin_per_gbp:.2f} per £ at the margin)"
        )
    return (
        f"budget: benefit per £ ({benefit_per_gbp:.2f}) is good but it does not fit in the "
        f"money left ({money(slack_gbp)}) without dropping adoptions worth more"
    )


def platform_note(platform_gbp: float) -> str:
    """What a budget reason adds when the option would also need a platform."""
    return f" (it would also need a deployment platform, {money(platform_gbp)})"


#: Why an adoption is in the plan, in the order they are tested.
FITS_TEXT = {
    "locked_in": "locked in by the scenario",
    "prerequisite_of": "prerequisite of {products}",
    "tier": "reaches a cheaper volume tier (tier {tier}, £{price:.2f} a study) with other "
    "trusts' adoptions",
    "only_product": "the only product for this use case here",
    "best_value": "best benefit per £ for this use case at this trust",
    "most_benefit": (
        "most benefit for this use case at this trust (the budget allows the dearer choice)"
    ),
}
#: Said when no particular reason holds.
FITS_OTHERWISE = "fits the budget with the rest of the plan"


def fits_because(reasons: list[tuple[str, dict]]) -> str:
    """Join the reasons an adoption fits: (code of :data:`FITS_TEXT`, facts) pairs."""
    if not reasons:
        return FITS_OTHERWISE
    return "; ".join(FITS_TEXT[code].format(**facts) for code, facts in reasons)


def by_trust(pairs, names: Names | None = None) -> dict[str, list[str]]:
    """(trust, product) pairs grouped by trust, both sorted by code, named if ``names``."""
    names = names or Names()
    out: dict[str, list[str]] = defaultdict(list)
    for t, p in sorted(pairs):
        out[names.trust(t)].append(names.product(p))
    return out


def moves_text(buys: list[str], drops: list[str] | None, names: Names | None = None) -> str:
    """``Trust A adds X, Y; Trust B drops Z`` from ``TRUST:PRODUCT`` lists."""
    gained = by_trust((tuple(s.split(":", 1)) for s in buys), names)
    parts = [f"{t} adds {', '.join(ps)}" for t, ps in gained.items()]
    lost = by_trust((tuple(s.split(":", 1)) for s in drops or []), names)
    parts += [f"{t} drops {', '.join(ps)}" for t, ps in lost.items()]
    return "; ".join(parts)


def budget_value_text(
    step_gbp: float,
    extra_benefit_gbp: float | None,
    benefit_per_gbp: float | None,
    buys: list[str] | None,
    drops: list[str] | None,
    names: Names | None = None,
) -> str:
    """What the next budget step buys, in one sentence."""
    if extra_benefit_gbp is None:
        return "The value of more money is not known (no re-solve was allowed)."
    text = (
        f"The next {money(step_gbp)} of budget would bring {money(extra_benefit_gbp)} more "
        f"benefit ({benefit_per_gbp:.2f} per £1)"
    )
    if buys:
        text += ": " + moves_text(buys, drops, names)
    elif buys is not None:
        text += ": nothing more can be bought with it"
    return text + "."


#: What an adoption's row says when it is not re-solved without it.
NOT_DISPLACED_TEXT = {
    "not_resolved": "not re-solved",
    "locked_in": "locked in by the scenario: not re-solved without it",
    "limit": "not re-solved (max_resolves reached)",
    "infeasible": "without it no plan meets the scenario (locks or fairness rules)",
}


def displaced_text(new: set, dropped: set, change_gbp: float, names: Names | None = None) -> str:
    """What the plan does without an adoption: what comes in, what else goes, the benefit."""
    if new:
        takes = [f"{t} takes {', '.join(ps)}" for t, ps in by_trust(new, names).items()]
        parts = [", ".join(takes) + " instead"]
    else:
        parts = ["nothing else is bought in its place"]
    if dropped:
        drops = [f"{t} also drops {', '.join(ps)}" for t, ps in by_trust(dropped, names).items()]
        parts.append(", ".join(drops))
    sign = "+" if change_gbp >= 0 else "-"
    parts.append(f"benefit {sign}{money(abs(change_gbp))}")
    return "without it: " + "; ".join(parts)


def price_cut_text(cut_pct: float) -> str:
    """A price cut in percent: one decimal under 1%, whole percents above."""
    return f"{cut_pct:.1f}%" if cut_pct < 1 else f"{cut_pct:.0f}%"


def break_even_text(factor: float, implementation: float, licence: float, per_study: float) -> str:
    """The break-even sentence: the price cut that makes an option chosen, and its prices."""
    if factor <= 0:
        return "chosen only if free"
    parts = []
    if implementation > 0:
        parts.append(f"implementation {pounds(implementation)}")
    if licence > 0:
        parts.append(f"licence {pounds(licence)} a year")
    if per_study > 0:
        parts.append(f"£{per_study:,.2f} a study")
    prices = f" ({', '.join(parts)})" if parts else ""
    return (
        f"chosen if its prices for this trust fall by more than "
        f"{price_cut_text(100 * (1 - factor))}{prices}"
    )


#: The break-even column when no factor was found, by how the search ended.
NO_BREAK_EVEN_TEXT = {
    "free": "not chosen even if free",
    "structural": "no price makes it chosen",
    "unsearched": "not searched",
}
