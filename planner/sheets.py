"""Tables to files a spreadsheet can open safely: CSV and Excel, written atomically.

Text cells that start with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return) are
prefixed with an apostrophe so no spreadsheet runs them as formulas. Files are written to a
temporary name and moved into place, so a failed write never leaves half a file. This is
the lowest layer of output: the data templates, the cost-sharing tables and the plan exports
(:mod:`planner.report`) all write through it.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

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


#: How to get past :func:`refuse_existing` from the library and the command line.
OVERWRITE_FIX = "choose another folder or pass overwrite=True (--overwrite on the command line)"


def refuse_existing(paths, fix: str = OVERWRITE_FIX) -> None:
    """Raise if any of ``paths`` exists, naming them all, before anything is written.

    Raises:
        FileExistsError: ``<first path> already exists (and N more ...); nothing was
            written: <fix>``.
    """
    there = [str(p) for p in paths if Path(p).exists()]
    if there:
        more = f" (and {len(there) - 1} more of the files to write)" if len(there) > 1 else ""
        raise FileExistsError(f"{there[0]} already exists{more}; nothing was written: {fix}")


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write ``path`` through ``write`` on a temporary file moved into place at the end.

    Raises:
        OSError: If the file cannot be written; one that names no file (a full disk
            reported by ``write()``) is raised again naming ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno is not None and exc.filename is None:
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise


def write_text(path: str | Path, text: str) -> None:
    """Write text atomically."""
    atomic_write(Path(path), lambda p: p.write_text(text, encoding="utf-8"))


def write_csv_frame(frame: pd.DataFrame, path: str | Path) -> None:
    """Write one table as UTF-8 CSV with formula-like text neutralised."""
    write_text(path, csv_text(frame))


def write_xlsx_sheets(sheets: dict[str, pd.DataFrame], path: str | Path) -> None:
    """Write tables as sheets of one workbook, with formula-like text neutralised."""
    atomic_write(Path(path), lambda p: p.write_bytes(xlsx_bytes(sheets)))


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
