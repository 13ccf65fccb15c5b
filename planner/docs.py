"""Keep the generated tables in the READMEs true: the data dictionary and the settings.

``python -m planner.docs`` rewrites the sections between ``<!-- NAME:start -->`` and
``<!-- NAME:end -->`` markers; a test fails when a README is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

from planner.scenario import settings_table
from planner.schema import markdown_table


def fill_section(text: str, name: str, body: str) -> str:
    """Return ``text`` with ``body`` between the ``name`` markers."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    head, s, rest = text.partition(start)
    _, e, tail = rest.partition(end)
    if not s or not e:
        raise ValueError(f"no {start} ... {end} markers")
    return f"{head}{start}\n{body}\n{end}{tail}"


def settings_markdown() -> str:
    """The scenario settings as a Markdown table."""
    lines = ["| setting | default | meaning |", "|---|---|---|"]
    for row in settings_table():
        default = "(sum of local budgets)" if row["default"] is None else row["default"]
        lines.append(f"| `{row['setting']}` | {default} | {row['description']} |")
    return "\n".join(lines)


def refreshed(root: Path) -> dict[Path, str]:
    """Return the up-to-date text of each generated README, by path."""
    readme, data_readme = root / "README.md", root / "data" / "README.md"
    return {
        readme: fill_section(readme.read_text("utf-8"), "settings", settings_markdown()),
        data_readme: fill_section(data_readme.read_text("utf-8"), "dictionary", markdown_table()),
    }


def main(root: Path) -> None:
    """Rewrite the generated sections of the READMEs under ``root``."""
    for path, text in refreshed(root).items():
        path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())
