"""How the planner writes figures and names for people: one place for every face.

The CLI, the app, the HTML pages, the figures and the findings sentences take their money
and percentage formats and the names of ways of buying and use cases from here, so that the
same figure reads the same everywhere. A missing figure is written ``-``.
"""

from __future__ import annotations

import math

#: What each procurement model is called in tables, charts and sentences.
MODEL_NAMES = {"local": "Local (each trust)", "ics": "ICS pooled", "central": "Central (NHSE)"}

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
