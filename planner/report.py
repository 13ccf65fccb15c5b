"""Exports of plans and comparisons: JSON, CSV and Excel, safe to open in a spreadsheet.

The cells are made safe and the files written atomically by :mod:`planner.sheets`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from planner.plan import Plan, clean, equity_table
from planner.sheets import (  # noqa: F401  (the sheet writers, re-exported for callers)
    FORMULA_START,
    csv_text,
    safe_cell,
    safe_frame,
    write_csv_frame,
    write_text,
    write_xlsx_sheets,
    xlsx_bytes,
)


def to_json_text(data) -> str:
    """Serialise plain data to JSON deterministically (sorted keys, fixed layout)."""
    return json.dumps(clean(data), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_json(plans: Plan | list[Plan], path: str | Path, include_timings: bool = False):
    """Write one plan, or ``{"plans": [...]}`` for several, as JSON."""
    if isinstance(plans, Plan):
        data = plans.to_dict(include_timings)
    else:
        data = {"plans": [p.to_dict(include_timings) for p in plans]}
    write_text(path, to_json_text(data))


def plan_sheets(plan: Plan) -> dict[str, pd.DataFrame]:
    """The tables of a plan, by sheet name."""
    summary = pd.DataFrame([plan.summary()])
    return {
        "summary": summary,
        "adoptions": plan.adoptions,
        "trusts": plan.trusts,
        "icss": plan.icss,
        "buying_units": plan.units,
        "equity": equity_table(plan.equity, plan.scenario.deprivation_reference),
    }


def write_plan_csv(
    plans: Plan | list[Plan], out_dir: str | Path, comparison: pd.DataFrame | None = None
) -> list[Path]:
    """Write each plan's tables as CSV files in ``out_dir`` (prefixed by model if several)."""
    plans = [plans] if isinstance(plans, Plan) else list(plans)
    out = Path(out_dir)
    written = []
    for plan in plans:
        prefix = f"{plan.model}_" if len(plans) > 1 else ""
        for name, frame in plan_sheets(plan).items():
            path = out / f"{prefix}{name}.csv"
            write_csv_frame(frame, path)
            written.append(path)
    if comparison is not None:
        path = out / "comparison.csv"
        write_csv_frame(comparison, path)
        written.append(path)
    return written


def write_plan_xlsx(
    plans: Plan | list[Plan], path: str | Path, comparison: pd.DataFrame | None = None
) -> None:
    """Write plans to one workbook: a sheet per table (per model when several)."""
    plans = [plans] if isinstance(plans, Plan) else list(plans)
    sheets = {}
    if comparison is not None:
        sheets["comparison"] = comparison
    for plan in plans:
        for name, frame in plan_sheets(plan).items():
            key = f"{plan.model}_{name}" if len(plans) > 1 else name
            sheets[key] = frame
    write_xlsx_sheets(sheets, path)
