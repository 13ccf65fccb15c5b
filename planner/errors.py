"""Typed errors the library raises, so the command line and the app can turn them into messages.

Every error a user can cause carries a list of :class:`Problem` rows (file, row, column,
problem, fix); nothing here prints or exits.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located and with a way to fix it.

    Attributes:
        file: The file (or sheet, or scenario key) the problem is in.
        row: Spreadsheet row number (the header is row 1), or None for the whole file.
        column: Column name, or None when the problem is not about one column.
        problem: What is wrong, in the user's words.
        fix: What to do about it.
    """

    file: str
    row: int | None
    column: str | None
    problem: str
    fix: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" row {self.row}"
        if self.column:
            where += f" column {self.column}"
        return f"{where}: {self.problem}; {self.fix}"

    def as_dict(self) -> dict:
        """Return the problem as a plain dict (for tables and JSON)."""
        return {
            "file": self.file,
            "row": self.row,
            "column": self.column,
            "problem": self.problem,
            "fix": self.fix,
        }


#: Problems listed per file and column; the rest are counted in one "and N more" line, so a
#: file with a million bad cells costs no more to report than one with twenty.
MAX_PROBLEMS_LISTED = 20


class ProblemLog:
    """Problems found so far: at most ``limit`` listed per (file, column), the rest counted.

    It is used like a list (``append``, ``len``, truth, iteration); iterating gives the listed
    problems followed by one "and N more like this" problem per (file, column) that
    overflowed.
    """

    def __init__(self, limit: int = MAX_PROBLEMS_LISTED):
        self.limit = limit
        self._listed: list[Problem] = []
        self._counts: dict[tuple[str, str | None], int] = {}
        self._fixes: dict[tuple[str, str | None], str] = {}

    def append(self, problem: Problem) -> None:
        """Record one problem; beyond the limit for its file and column it is only counted."""
        key = (problem.file, problem.column)
        count = self._counts.get(key, 0) + 1
        self._counts[key] = count
        if count <= self.limit:
            self._listed.append(problem)
            self._fixes.setdefault(key, problem.fix)

    def extend(self, problems) -> None:
        """Record several problems."""
        for problem in problems:
            self.append(problem)

    def __len__(self) -> int:
        return sum(self._counts.values())

    def __iter__(self):
        yield from self._listed
        for (file, column), count in self._counts.items():
            if count > self.limit:
                more = count - self.limit
                yield Problem(
                    file,
                    None,
                    column,
                    f"and {more:,} more problem{'s' if more != 1 else ''} like these",
                    self._fixes[(file, column)],
                )


class PlannerError(Exception):
    """Base class of every error the planner raises on purpose."""


class InputError(PlannerError):
    """Bad input: a dataset, a scenario or an override that cannot be used as given."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class DataError(InputError):
    """A dataset (folder of CSV files or an Excel workbook) failed validation."""


class ScenarioError(InputError):
    """A scenario file or override failed validation."""


class InfeasibleError(PlannerError):
    """No plan satisfies the scenario; ``reasons`` says what cannot be met."""

    #: The solver status behind the error (see :class:`planner.solve.Status`).
    status = "infeasible"

    def __init__(self, reasons: list[str]):
        self.reasons = list(reasons)
        super().__init__("no plan meets this scenario: " + "; ".join(self.reasons))


class SolverError(PlannerError):
    """The solver failed or stopped without any feasible plan (for example a time-out).

    ``status`` is the solver status (see :class:`planner.solve.Status`): ``no_plan`` when a
    limit stopped it before any plan, ``unbounded`` or ``error`` otherwise, or ``mismatch``
    when the optimiser's plan and the evaluator disagree.
    """

    def __init__(self, message: str, status: str = "error"):
        self.status = str(status)
        super().__init__(message)
