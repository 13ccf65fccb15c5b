"""How the planner writes figures and names for people: one place for every face.

The CLI, the app, the HTML pages, the figures and the findings sentences take their money
format and the names of the ways of buying from here, so that the same figure reads the same
everywhere.
"""

from __future__ import annotations

import math

#: What each procurement model is called in tables, charts and sentences.
MODEL_NAMES = {"local": "Local (each trust)", "ics": "ICS pooled", "central": "Central (NHSE)"}


def money(value: float) -> str:
    """Format pounds for a label: £950, £12.5k, £2.35m."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    a = abs(value)
    if a >= 1e6:
        return f"£{value / 1e6:,.2f}m"
    if a >= 1e4:
        return f"£{value / 1e3:,.0f}k"
    return f"£{value:,.0f}"
