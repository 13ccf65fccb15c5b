"""How the planner writes figures and names for people: one place for every face.

The CLI, the app, the HTML pages, the figures and the findings sentences take their money
and percentage formats and the names of ways of buying and use cases from here, so that the
same figure reads the same everywhere. A missing figure is written ``-``.
"""

from __future__ import annotations

import math

#: What each procurement route is called in tables, charts and sentences.
MODEL_NAMES = {
    "local": "Local (each trust)",
    "ics": "ICS pooled",
    "network": "Imaging network",
    "framework": "Framework call-off",
    "central": "Central (NHSE)",
    "central_pot": "Central, one national pot",
}
#: The same, short enough for a choice among the routes.
MODEL_SHORT_NAMES = {
    "local": "Local",
    "ics": "ICS pooled",
    "network": "Network",
    "framework": "Framework",
    "central": "Central",
    "central_pot": "Central pot",
}

#: Plain-English names of the catalogue's use cases (a code not listed reads with spaces).
USE_CASE_NAMES = {
    "chest_xray": "chest X-ray triage",
    "lung_nodule_ct": "lung nodules on CT",
    "stroke_lvo_ct": "stroke (large-vessel occlusion) on CT",
    "stroke_perfusion_ct": "stroke perfusion and ASPECTS on CT",
    "ct_head_bleed": "bleeds on head CT",
    "fracture_xray": "fractures on X-ray",
    "breast_screening": "breast screening",
    "prostate_mri": "prostate MRI",
    "vertebral_fracture_ct": "vertebral fractures on CT",
    "pe_ct": "pulmonary embolism on CT",
}
MISSING = "-"


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def money(value) -> str:
    """Pounds briefly, for headlines and sentences: £950, £1.2k, £45k, £2.35m, -£12k."""
    if _missing(value):
        return MISSING
    value = float(value)
    sign = "-" if value < 0 else ""
    v = abs(value)
    if v >= 1e6:
        return f"{sign}£{v / 1e6:,.2f}m"
    if v >= 1e4:
        return f"{sign}£{v / 1e3:,.0f}k"
    if v >= 1e3:
        return f"{sign}£{v / 1e3:.1f}k"
    return f"{sign}£{v:,.0f}"


def pounds(value) -> str:
    """Pounds in full with thousands separators: £1,234,567, -£12,000."""
    if _missing(value):
        return MISSING
    value = float(value)
    return f"{'-' if value < 0 else ''}£{abs(value):,.0f}"


def percent(share, decimals: int = 1) -> str:
    """A share as a percentage: 0.1234 -> 12.3% (or 12% with ``decimals=0``)."""
    if _missing(share):
        return MISSING
    return f"{float(share):.{decimals}%}"


def percent_points(value, decimals: int = 1) -> str:
    """A figure already in percent: 23.04 -> 23.0% (for ``*_pct`` columns)."""
    if _missing(value):
        return MISSING
    return f"{float(value):.{decimals}f}%"


def price(value) -> str:
    """A unit price: with pence under £10 (£1.12, £0.40), else pounds in full (£12, £1,500)."""
    if _missing(value):
        return MISSING
    value = float(value)
    if abs(value) < 10:
        return f"{'-' if value < 0 else ''}£{abs(value):,.2f}"
    return pounds(value)


#: Nouns whose plural is not the noun plus "s".
PLURALS = {"ICS": "ICSs", "ICB": "ICBs", "person": "people", "study": "studies"}


def plural(count, noun: str, plural_form: str | None = None) -> str:
    """A count with its noun: '1 trust', '2 trusts', '1 ICS', '3 ICSs', '1,200 studies'."""
    n = int(count)
    word = noun if n == 1 else (plural_form or PLURALS.get(noun, noun + "s"))
    return f"{n:,} {word}"


#: What each solver status means, in words a board reads (see planner.solve.Status).
STATUS_WORDS = {
    "optimal": "optimal",
    "gap_reached": "optimal",
    "time_limit": "the best plan found in the time allowed",
    "no_plan": "no plan found in the time allowed",
    "infeasible": "no plan meets the scenario",
    "unbounded": "the problem is unbounded (a data error)",
    "empty": "nothing to decide",
    "error": "the solver failed",
    "failed": "the solver failed",
}
#: What a status adds when its gap is known.
GAP_WORDS = {"gap_reached": " to within {gap}", "time_limit": " (at most {gap} short of optimal)"}


def status_text(status: str, gap: float | None = None) -> str:
    """A solver status in plain words, with the gap where it matters.

    ``optimal`` reads "optimal"; a plan stopped at the scenario's gap reads "optimal to
    within 0.01%"; a time-out with a plan says how far from optimal it may be.
    """
    words = STATUS_WORDS.get(str(status), str(status).replace("_", " "))
    if str(status) in GAP_WORDS and not _missing(gap):
        words += GAP_WORDS[str(status)].format(gap=percent(gap, 2))
    return words


class Names:
    """Names of trusts, products, ICSs, imaging networks and NHS regions by code, for sentences.

    ``trust(code)`` gives the name alone; ``trust_label(code)`` the name with the code in
    brackets, for messages a reader may act on in a file. A code without a name reads as is.
    """

    def __init__(
        self,
        trusts: dict | None = None,
        products: dict | None = None,
        icss: dict | None = None,
        units: dict | None = None,
        networks: dict | None = None,
        regions: dict | None = None,
    ):
        self.trusts = dict(trusts or {})
        self.products = dict(products or {})
        self.icss = dict(icss or {})
        self.units = dict(units or {})  # buying units named by no table (a national buyer)
        self.networks = dict(networks or {})
        self.regions = dict(regions or {})

    def trust(self, code: str) -> str:
        """The trust's name."""
        return str(self.trusts.get(code, code))

    def product(self, code: str) -> str:
        """The product's name."""
        return str(self.products.get(code, code))

    def ics(self, code: str) -> str:
        """The ICS's name."""
        return str(self.icss.get(code, code))

    def network(self, code: str) -> str:
        """The imaging network's name."""
        return str(self.networks.get(code, code))

    def region(self, code: str) -> str:
        """The NHS region's name."""
        return str(self.regions.get(code, code))

    @staticmethod
    def _label(name: str, code: str) -> str:
        return f"{name} ({code})" if name != str(code) else str(code)

    def trust_label(self, code: str) -> str:
        """``Name (CODE)`` of a trust."""
        return self._label(self.trust(code), code)

    def product_label(self, code: str) -> str:
        """``Name (CODE)`` of a product."""
        return self._label(self.product(code), code)

    def ics_label(self, code: str) -> str:
        """``Name (CODE)`` of an ICS."""
        return self._label(self.ics(code), code)

    def network_label(self, code: str) -> str:
        """``Name (CODE)`` of an imaging network."""
        return self._label(self.network(code), code)

    def region_label(self, code: str) -> str:
        """``Name (CODE)`` of an NHS region."""
        return self._label(self.region(code), code)

    def unit(self, code: str) -> str:
        """The name of a buying unit: a trust, an ICS, a network, a region or a national buyer.

        A code is looked up in that order (after the named units), so a dataset whose codes
        are unique across its tables reads each unit by its own name.
        """
        for names in (self.units, self.trusts, self.icss, self.networks, self.regions):
            if code in names:
                return str(names[code])
        return str(code)

    def unit_label(self, code: str) -> str:
        """``Name (CODE)`` of a buying unit (a national buyer by name alone)."""
        return self.unit(code) if code in self.units else self._label(self.unit(code), code)


def join_words(items: list[str], most: int | None = None, noun: str = "others") -> str:
    """Join in plain English: 'A', 'A and B', 'A, B and C'; past ``most``, 'A, B and 3 others'."""
    items = [str(x) for x in items]
    if most is not None and len(items) > most:
        return ", ".join(items[:most]) + f" and {len(items) - most} {noun}"
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def use_case_name(code: str) -> str:
    """Plain-English name of a use case code (the code with spaces if it is not known)."""
    return USE_CASE_NAMES.get(code, str(code).replace("_", " "))


#: Settings whose value is a share, shown as a percentage.
SHARE_SETTINGS = ("discount_rate", "coverage_floor", "core20_trust_threshold", "mip_gap")


def setting_text(name: str, value) -> str:
    """A setting's value as a reader expects it, from the unit in its name.

    ``*_gbp`` in pounds, rates and shares as percentages, ``*_months``/``*_years``/``*_s``
    with their unit, flags as yes/no, lists joined; no value means the sum of the trusts'
    local budgets (the only setting without a default).
    """
    key = name.rsplit(".", 1)[-1]
    if value is None:
        return "sum of the trusts' local budgets"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    if isinstance(value, str):
        return value
    if key.endswith("_gbp") or key.endswith("_gbp_per_year"):
        return pounds(value) + (" a year" if key.endswith("per_year") else "")
    if key in SHARE_SETTINGS or key.endswith("_share"):
        return f"{100 * float(value):g}%"
    for suffix, unit in (("_months", "months"), ("_years", "years"), ("_s", "s")):
        if key.endswith(suffix):
            return f"{float(value):g} {unit}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def pair_list(pairs) -> list[str]:
    """(trust, product) pairs as sorted ``TRUST:PRODUCT`` strings."""
    return [f"{t}:{p}" for t, p in sorted(pairs)]
