"""The data dictionary: one row per (file, column), read from ``dictionary.csv``.

The dictionary is data, not code: it drives validation (:mod:`planner.data`), the empty
templates and the table in ``data/README.md``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

#: The tables every dataset holds (``deployments`` may hold a header and no rows).
FILES = ("icss", "trusts", "products", "price_tiers", "deployments")
#: Name tables a dataset may leave out: imaging networks and NHS England regions, named by
#: the optional trust columns ``network_code`` and ``region_code``.
OPTIONAL_FILES = ("networks", "regions")
#: Every table a dataset may hold, in file order.
ALL_FILES = FILES + OPTIONAL_FILES
MODALITIES = ("xray", "ct", "mri", "mammography")
#: The trusts column holding each modality's studies a year.
MODALITY_COLUMN = {m: f"{m}_per_year" for m in MODALITIES}


@dataclass(frozen=True)
class ColumnSpec:
    """What one column of one file must hold."""

    file: str
    column: str
    type: str
    unit: str
    required: bool
    default: str
    minimum: float | None
    maximum: float | None
    allowed: str
    description: str


@cache
def dictionary() -> tuple[ColumnSpec, ...]:
    """Return every column spec, in file then column order."""
    text = resources.files("planner.schema").joinpath("dictionary.csv").read_text("utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    return tuple(
        ColumnSpec(
            file=r["file"],
            column=r["column"],
            type=r["type"],
            unit=r["unit"],
            required=r["required"] == "yes",
            default=r["default"],
            minimum=float(r["minimum"]) if r["minimum"] else None,
            maximum=float(r["maximum"]) if r["maximum"] else None,
            allowed=r["allowed"],
            description=r["description"],
        )
        for r in rows
    )


def columns(file: str) -> tuple[ColumnSpec, ...]:
    """Return the column specs of one file, in their documented order."""
    return tuple(c for c in dictionary() if c.file == file)


def markdown_table() -> str:
    """Return the data dictionary as a Markdown table (for ``data/README.md``)."""
    head = "| file | column | type | unit | required | default | range | description |"
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    for c in dictionary():
        rng = ""
        if c.minimum is not None or c.maximum is not None:
            lo = "" if c.minimum is None else f"{c.minimum:g}"
            hi = "" if c.maximum is None else f"{c.maximum:g}"
            rng = f"{lo} to {hi}".strip()
        if c.allowed.startswith("enum:"):
            rng = " / ".join(c.allowed[5:].split("|"))
        elif c.allowed.startswith("ref:"):
            rng = "a " + c.allowed[4:]
        elif c.allowed == "unique":
            rng = "unique"
        lines.append(
            f"| {c.file}.csv | {c.column} | {c.type} | {c.unit} | "
            f"{'yes' if c.required else 'no'} | {c.default} | {rng} | {c.description} |"
        )
    return "\n".join(lines)
