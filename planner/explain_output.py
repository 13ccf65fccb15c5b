"""Write an explanation to a folder: its tables as CSV and one HTML page per trust.

The explanation itself is computed by :mod:`planner.explain` (tables, no files); this
module only writes. Nothing is written if any target is a link, or exists and ``overwrite``
is False, and each file is written atomically (:mod:`planner.sheets`).
"""

from __future__ import annotations

from pathlib import Path

from planner.data import Dataset
from planner.explain import Explanation
from planner.plan import Plan
from planner.sheets import check_targets, write_csv_frame
from planner.summary_html import summary_paths, write_trust_summaries


def write_explanation(
    dataset: Dataset,
    plan: Plan,
    explanation: Explanation,
    out_dir: str | Path,
    *,
    trusts=None,
    overwrite: bool = False,
) -> tuple[list[Path], list[Path]]:
    """Write ``<table>.csv`` for each table of the explanation and ``trusts/<code>.html``.

    Args:
        dataset: The dataset the plan was made from.
        plan: The plan.
        explanation: Its explanation.
        out_dir: The folder (created if missing).
        trusts: Trust codes to write pages for (None: every trust explained).
        overwrite: Whether existing files may be replaced.

    Returns:
        The CSV paths and the page paths written.

    Raises:
        FileExistsError: If a target exists and ``overwrite`` is False (nothing is written).
        ValueError: If a trust is not in the plan or was not explained.
    """
    out = Path(out_dir)
    tables = {out / f"{name}.csv": frame for name, frame in explanation.tables().items()}
    pages_dir = out / "trusts"
    check_targets([*tables, *summary_paths(explanation, pages_dir, trusts).values()], overwrite)
    pages = write_trust_summaries(
        dataset, plan, explanation, pages_dir, trusts=trusts, overwrite=overwrite
    )
    for path, frame in tables.items():
        write_csv_frame(frame, path)
    return list(tables), pages
