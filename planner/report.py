"""Exports of plans and comparisons: JSON, CSV and Excel, safe to open in a spreadsheet.

Text cells that start with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return) are
prefixed with an apostrophe so no spreadsheet runs them as formulas. Files are written to a
temporary name and moved into place, so a failed export never leaves half a file.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from planner.plan import Plan, clean, equity_table

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """Neutralise a text cell a spreadsheet would read as a formula; leave numbers alone."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``frame`` with every text cell (and column name) made safe."""
    out = frame.copy()
    out.columns = [safe_cell(str(c)) for c in out.columns]
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(safe_cell)
    return out


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def to_json_text(data) -> str:
    """Serialise plain data to JSON deterministically (sorted keys, fixed layout)."""
    return json.dumps(clean(data), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_text(path: str | Path, text: str) -> None:
    """Write text atomically."""
    _atomic_write(Path(path), lambda p: p.write_text(text, encoding="utf-8"))


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


def write_csv_frame(frame: pd.DataFrame, path: str | Path) -> None:
    """Write one table as UTF-8 CSV with formula-like text neutralised."""
    write_text(path, csv_text(frame))


def write_xlsx_sheets(sheets: dict[str, pd.DataFrame], path: str | Path) -> None:
    """Write tables as sheets of one workbook, with formula-like text neutralised."""
    _atomic_write(Path(path), lambda p: p.write_bytes(xlsx_bytes(sheets)))


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


def xlsx_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    """Return a workbook of ``sheets`` as bytes (for downloads), formula-like text neutralised."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as xl:
        for name, frame in sheets.items():
            safe_frame(frame).to_excel(xl, sheet_name=name[:31], index=False)
    return buffer.getvalue()


def csv_text(frame: pd.DataFrame) -> str:
    """Return one table as CSV text (for downloads), formula-like text neutralised."""
    return safe_frame(frame).to_csv(index=False, lineterminator="\n")
