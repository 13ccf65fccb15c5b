"""Load and validate a dataset: a folder of CSV files or one Excel workbook with the same sheets.

Every cell is read as text and parsed against the data dictionary, so nothing is coerced
silently: a missing number, ``NaN``, ``inf``, a negative price or a formula-like name is
reported with its file, row and column, and loading fails with :class:`DataError` listing
every problem found.

Besides its ICS, a trust may belong to an imaging network and an NHS England region (the
optional columns ``network_code`` and ``region_code``, named by the optional tables
``networks`` and ``regions``); :func:`trust_groups` gives each trust's code in any grouping a
procurement route can buy or hold money by.
"""

from __future__ import annotations

import dataclasses
import io
import math
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from planner.errors import DataError, Problem, ProblemLog
from planner.formatting import Names
from planner.readers import (
    MAX_UPLOAD_BYTES,
    csv_rows,
    megabytes,
    read_csv_file,
    read_workbook_file,
    workbook_sheets,
    zip_tables,
)
from planner.scenario import GROUPINGS
from planner.schema import ALL_FILES, FILES, OPTIONAL_FILES, ColumnSpec, columns
from planner.sheets import refuse_existing, write_text, write_xlsx_sheets

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
INT_RE = re.compile(r"^[+]?(\d+|\d{1,3}(,\d{3})+)$")
#: Whole numbers above this are refused (they would overflow and are never real counts).
MAX_WHOLE = 10**12
#: Numbers above this are refused where the dictionary sets no maximum: no price, count or
#: saving in this field comes near a trillion, and larger ones overflow the economics.
MAX_NUMBER = 1e12
#: Control characters (NUL, tab, line breaks, ...) are refused in names: they break exports.
CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
FORMULA_PREFIXES = ("=", "+", "-", "@")
TRUE_WORDS = {"yes", "y", "true", "1"}
FALSE_WORDS = {"no", "n", "false", "0"}
#: Files that may hold a header and no rows.
MAY_BE_EMPTY = {"deployments", *OPTIONAL_FILES}
#: The optional name tables: the trust column that holds the code, the table's name column
#: and what the grouping is called in messages.
NAME_TABLES = {
    "networks": ("network_code", "network_name", "imaging network"),
    "regions": ("region_code", "region_name", "NHS England region"),
}
#: The code of the one national grouping, which every trust belongs to (``nation``).
NATIONAL_UNIT = "ENGLAND"
#: Optional trust columns: the catchment population's share in each national IMD quintile
#: (1 least, 5 most deprived). All five or none; they add up to 1 and the fifth is Core20.
QUINTILE_SHARES = tuple(f"imd_q{q}_share" for q in range(1, 6))
#: How far the quintile shares may be from adding up to 1, and imd_q5_share from core20_share.
SHARE_TOLERANCE = 0.005


def _name_table(name: str) -> pd.DataFrame:
    """An empty name table (``networks`` or ``regions``): indexed by code, one name column."""
    code, name_column, _ = NAME_TABLES[name]
    return pd.DataFrame(
        {name_column: pd.Series([], dtype="str")}, index=pd.Index([], dtype="str", name=code)
    )


@dataclass
class Dataset:
    """A validated dataset: one typed DataFrame per file, indexed by its code.

    Attributes:
        icss: One row per ICS, indexed by ``ics_code``.
        trusts: One row per trust, indexed by ``trust_code``; ``network_code`` and
            ``region_code`` are ``""`` where blank or absent.
        products: One row per product, indexed by ``product_code``.
        price_tiers: One row per (product, tier), sorted by product then tier.
        deployments: One row per product already in use at a trust.
        source: Where the dataset was read from (for messages).
        networks: One row per imaging network, indexed by ``network_code``, with its
            ``network_name``; empty when the data name none.
        regions: One row per NHS England region, indexed by ``region_code``, with its
            ``region_name``; empty when the data name none.
        trust_rows: The row of each trust in its file (by trust code), for messages; empty
            for a dataset not read from a file.
    """

    icss: pd.DataFrame
    trusts: pd.DataFrame
    products: pd.DataFrame
    price_tiers: pd.DataFrame
    deployments: pd.DataFrame
    source: str = ""
    networks: pd.DataFrame = field(default_factory=lambda: _name_table("networks"))
    regions: pd.DataFrame = field(default_factory=lambda: _name_table("regions"))
    trust_rows: pd.Series = field(default_factory=lambda: pd.Series([], dtype="int64"))

    def subset(self, ics_codes: list[str] | tuple[str, ...]) -> Dataset:
        """Return the dataset restricted to some ICSs.

        Products, tiers, networks and regions are kept whole: a network that crosses the
        ICSs' border keeps its code and name, and holds only the kept ICSs' trusts.

        Raises:
            DataError: If a code is not an ICS of this dataset.
        """
        unknown = [c for c in ics_codes if c not in self.icss.index]
        if unknown:
            raise DataError(
                [
                    Problem(
                        "--ics",
                        None,
                        None,
                        f"unknown ICS code {c!r}",
                        "use one of " + ", ".join(self.icss.index[:10]),
                    )
                    for c in unknown
                ]
            )
        icss = self.icss.loc[list(ics_codes)]
        trusts = self.trusts[self.trusts["ics_code"].isin(icss.index)]
        deployments = self.deployments[self.deployments["trust_code"].isin(trusts.index)]
        return dataclasses.replace(self, icss=icss, trusts=trusts, deployments=deployments)

    def names(self) -> Names:
        """The names of the dataset's trusts, products, ICSs, networks and regions."""
        return Names(
            self.trusts["trust_name"].to_dict(),
            self.products["product_name"].to_dict(),
            self.icss["ics_name"].to_dict(),
            networks=self.networks["network_name"].to_dict(),
            regions=self.regions["region_name"].to_dict(),
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        """Return the tables as plain frames with the dictionary's columns, in file order.

        A name table (``networks``, ``regions``) is included when it has rows, and the trust
        column that refers to it when it has rows or any trust gives a code.
        """
        out = {}
        for name in ALL_FILES:
            frame = getattr(self, name)
            cols = [c.column for c in columns(name)]
            if name == "trusts":
                absent = [
                    NAME_TABLES[n][0]
                    for n in OPTIONAL_FILES
                    if getattr(self, n).empty and (frame[NAME_TABLES[n][0]] == "").all()
                ]
                cols = [c for c in cols if c not in absent]
            elif name in OPTIONAL_FILES and frame.empty:
                continue
            out[name] = frame.reset_index()[cols] if frame.index.name else frame[cols]
        return out


def trust_groups(dataset: Dataset, grouping: str) -> pd.Series:
    """Each trust's code in one grouping of trusts, indexed by trust code.

    ``trust`` gives the trust's own code, ``ics`` its ``ics_code``, ``network`` its
    ``network_code``, ``region`` its ``region_code`` and ``nation`` :data:`NATIONAL_UNIT`
    for every trust.

    Raises:
        ValueError: If ``grouping`` is not one of ``planner.scenario.GROUPINGS``.
        DataError: If the data have no such grouping (no trust gives a ``network_code``
            or ``region_code`` and no name table names one), or a trust's code in it is
            blank; each problem names the file, the trust's row, the column and the fix.
    """
    trusts = dataset.trusts
    if grouping not in GROUPINGS:
        raise ValueError(f"grouping must be one of {', '.join(GROUPINGS)}, got {grouping!r}")
    if grouping == "trust":
        return pd.Series(trusts.index, index=trusts.index, name=grouping)
    if grouping == "nation":
        return pd.Series(NATIONAL_UNIT, index=trusts.index, name=grouping, dtype="str")
    column = f"{grouping}_code"
    if grouping != "ics":
        table = f"{grouping}s"
        _, name_column, noun = NAME_TABLES[table]
        codes = trusts[column] if column in trusts else pd.Series("", index=trusts.index)
        blank = trusts.index[codes == ""]
        if len(blank) == len(trusts) and getattr(dataset, table).empty:
            raise DataError(
                [
                    Problem(
                        "trusts.csv",
                        None,
                        column,
                        f"the data give no {noun}s, so trusts cannot be grouped by {grouping}",
                        f"give each trust a {column} in trusts.csv (and name them in "
                        f"{table}.csv: {column}, {name_column}), or choose a route that does "
                        f"not buy or hold money by {grouping}",
                    )
                ]
            )
        if len(blank):
            raise DataError(
                [
                    Problem(
                        "trusts.csv",
                        int(dataset.trust_rows[code]) if code in dataset.trust_rows else None,
                        column,
                        f"trust {code} has no {noun} (blank {column}), so it has no buyer "
                        f"under a route that buys or holds money by {grouping}",
                        f"fill in its {column} with a code from {table}.csv, or choose a route "
                        f"that does not buy or hold money by {grouping}",
                    )
                    for code in sorted(blank, key=lambda c: (dataset.trust_rows.get(c, 0), c))
                ]
            )
        return codes.rename(grouping)
    return trusts[column].rename(grouping)


#: Where to get an empty template, said in a fix: on the command line, and in the app.
TEMPLATE_HINT = "run `planner template DIR` for an empty one"
UPLOAD_TEMPLATE_HINT = "download the Excel template on the Data page for an empty one"


# ---------------------------------------------------------------------------------------
# parsing cells against the dictionary


def _parse_cell(text: str, spec: ColumnSpec, where: tuple[str, int], problems: list[Problem]):
    """Parse one cell; append a problem and return None when it is unusable."""
    label, row = where
    value = text.strip()

    def bad(problem: str, fix: str):
        problems.append(Problem(label, row, spec.column, problem, fix))

    if value == "":
        if spec.required:
            bad("is empty", f"fill it in ({spec.description})")
            return None
        value = spec.default
        if value == "":
            return "" if spec.type in ("code", "text") else None
    if value.startswith(FORMULA_PREFIXES) and spec.type in ("code", "text"):
        bad(
            f"{value[:20]!r} looks like a spreadsheet formula",
            "remove the leading =, +, - or @ (text must not start with them)",
        )
        return None
    if spec.type == "code":
        if not CODE_RE.match(value):
            bad(
                f"{value[:30]!r} is not a valid code",
                "use letters, digits, '_', '-' or '.' with no spaces",
            )
            return None
        if spec.allowed.startswith("enum:"):
            allowed = spec.allowed[5:].split("|")
            if value not in allowed:
                bad(f"{value[:30]!r} is not allowed", "use one of " + ", ".join(allowed))
                return None
        return value
    if spec.type == "text":
        control = CONTROL_RE.search(value)
        if control:
            bad(
                f"{value[:30]!r} holds a control character (U+{ord(control.group()):04X})",
                "retype it without line breaks, tabs or other invisible characters",
            )
            return None
        return value
    if spec.type == "bool":
        low = value.lower()
        if low in TRUE_WORDS:
            return True
        if low in FALSE_WORDS:
            return False
        bad(f"{value[:30]!r} is not yes or no", "write yes or no")
        return None
    # numbers
    low = value.lower()
    if low in ("nan", "na", "n/a", "null", "none", "#n/a"):
        bad(f"{value!r} is not a number (missing value)", "give a number")
        return None
    if spec.type == "int":
        if not INT_RE.match(value) or value.startswith("-"):
            if re.match(r"^-\d+$", value):
                bad(f"{value} is negative", f"give a whole number of at least {spec.minimum:g}")
            else:
                bad(f"{value[:30]!r} is not a whole number", "give a whole number such as 12")
            return None
        number: float = int(value.replace(",", ""))
        if number > MAX_WHOLE:
            bad(f"{value[:30]} is too large", f"give a whole number of at most {MAX_WHOLE:,}")
            return None
    else:
        try:
            number = float(value)
        except ValueError:
            bad(f"{value[:30]!r} is not a number", "give a number such as 12.5")
            return None
        if math.isnan(number):
            bad(f"{value!r} is not a number (NaN)", "give a number")
            return None
        if math.isinf(number):
            bad(f"{value!r} is infinite", "give a finite number")
            return None
    if spec.minimum is not None and number < spec.minimum:
        what = "negative" if number < 0 else "too small"
        bad(f"{value} is {what}", f"give a value of at least {spec.minimum:g}")
        return None
    if spec.maximum is not None and number > spec.maximum:
        bad(f"{value} is too large", f"give a value of at most {spec.maximum:g}")
        return None
    if number > MAX_NUMBER:
        bad(f"{value[:30]} is too large", f"give a value of at most {MAX_NUMBER:,.0f}")
        return None
    return number


def _check_header(name: str, rows: list[list[str]], label: str, problems) -> list[str] | None:
    """Check a table's header row; return it (stripped) or None when it is unusable."""
    specs = columns(name)
    header = [h.strip() for h in rows[0]]
    known = {s.column for s in specs}
    before = len(problems)
    blank = [i for i, h in enumerate(header) if h == ""]
    filled_under_blank = {i for i in blank if any(i < len(r) and r[i].strip() for r in rows[1:])}
    for i, h in enumerate(header):
        if h == "" and i not in filled_under_blank:
            continue
        if h not in known:
            problems.append(
                Problem(
                    label,
                    1,
                    h or f"#{i + 1}",
                    "unknown column",
                    "remove it or rename it to one of: " + ", ".join(sorted(known)),
                )
            )
        elif header.count(h) > 1 and header.index(h) != i:
            problems.append(
                Problem(label, 1, h, "column appears twice", "keep one of the two columns")
            )
    for s in specs:
        if s.required and s.column not in header:
            problems.append(
                Problem(label, 1, s.column, "required column is missing", "add the column")
            )
    return None if len(problems) > before else header


def _parse_column(
    cells: list[str], lines: list[int], spec: ColumnSpec, label: str, problems
) -> list:
    """Parse one column: each distinct text once, then its problems at every row it is in."""
    parsed: dict[str, object] = {}
    wrong: dict[str, Problem] = {}
    for text in set(cells):
        found: list[Problem] = []
        parsed[text] = _parse_cell(text, spec, (label, 0), found)
        if found:
            wrong[text] = found[0]
    if wrong:
        for line, text in zip(lines, cells, strict=True):
            if text in wrong:
                problems.append(dataclasses.replace(wrong[text], row=line))
    return [parsed[text] for text in cells]


def _parse_table(name: str, rows: list[list[str]], label: str, problems) -> pd.DataFrame | None:
    """Parse one table column by column; every problem keeps its row number."""
    specs = columns(name)
    header = _check_header(name, rows, label, problems)
    if header is None:
        return None
    lines = [i for i, r in enumerate(rows[1:], start=2) if any(c.strip() for c in r)]
    if not lines and name not in MAY_BE_EMPTY:
        problems.append(Problem(label, None, None, "has no data rows", "add at least one row"))
        return None
    width = len(header)
    found = ProblemLog()  # this table's problems, put in row order before they are kept
    for line in lines:
        extra = [c for c in rows[line - 1][width:] if c.strip()]
        if extra:
            found.append(
                Problem(
                    label,
                    line,
                    None,
                    f"has {len(extra)} more value(s) than the header "
                    f"has columns ({extra[0][:20]!r})",
                    "remove the extra values or add their column to the header",
                )
            )
    index = {h: i for i, h in enumerate(header) if h}
    data: dict[str, list] = {"_row": lines}
    for s in specs:
        i = index.get(s.column)
        if i is None:
            cells = [""] * len(lines)
        else:
            cells = [rows[line - 1][i] if i < len(rows[line - 1]) else "" for line in lines]
        data[s.column] = _parse_column(cells, lines, s, label, found)
    order = {s.column: k for k, s in enumerate(specs)}
    problems.extend(sorted(found, key=lambda p: (p.row or 10**9, order.get(p.column or "", -1))))
    frame = pd.DataFrame(data, columns=["_row"] + [s.column for s in specs])
    for s in specs:
        if s.type == "int":
            frame[s.column] = frame[s.column].astype("float64")
    return frame


# ---------------------------------------------------------------------------------------
# checks across rows and files


def _check_unique(name, frame, cols, label, problems):
    dup = frame.duplicated(subset=cols, keep="first")
    if not dup.any():
        return
    repeated = frame.loc[dup, ["_row", *cols]]
    for row, *key in repeated.itertuples(index=False, name=None):
        text = ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in key)
        problems.append(
            Problem(
                label,
                int(row),
                cols[-1],
                f"duplicate {'/'.join(cols)} {text}",
                "give each row its own code or remove the repeated row",
            )
        )


def _check_refs(frame, col, valid, label, what, problems):
    values = frame[col]
    unknown = values.notna() & (values != "") & ~values.isin(valid)
    for row, v in zip(frame.loc[unknown, "_row"], values[unknown], strict=True):
        problems.append(
            Problem(
                label,
                int(row),
                col,
                f"unknown {what} code {v!r}",
                f"use a {what} code that is in the {what} table",
            )
        )


def _check_quintile_shares(trusts: pd.DataFrame, label: str, problems: list[Problem]):
    """Check each trust's national IMD quintile shares: all five or none, adding up to 1.

    Given shares must also put the trust's Core20 share in the most deprived fifth.
    """
    span = f"{QUINTILE_SHARES[0]}..{QUINTILE_SHARES[-1]}"
    for _, r in trusts.iterrows():
        row = int(r["_row"])
        values = [r[c] for c in QUINTILE_SHARES]
        blank = [c for c, v in zip(QUINTILE_SHARES, values, strict=True) if v is None or pd.isna(v)]
        if len(blank) == len(QUINTILE_SHARES):
            continue
        if blank:
            problems.append(
                Problem(
                    label,
                    row,
                    blank[0],
                    f"{', '.join(blank)} {'is' if len(blank) == 1 else 'are'} blank but the "
                    "other quintile shares are given",
                    "give all five quintile shares or leave all five blank",
                )
            )
            continue
        total = math.fsum(values)
        if abs(total - 1.0) > SHARE_TOLERANCE + 1e-9:
            problems.append(
                Problem(
                    label,
                    row,
                    QUINTILE_SHARES[0],
                    f"{span} add up to {round(total, 3):g}, not 1",
                    "make the five shares add up to 1",
                )
            )
        q5, core20 = values[-1], r["core20_share"]
        if core20 is not None and abs(q5 - core20) > SHARE_TOLERANCE + 1e-9:
            problems.append(
                Problem(
                    label,
                    row,
                    QUINTILE_SHARES[-1],
                    f"imd_q5_share {q5:g} differs from core20_share {core20:g} (both are the "
                    "share in the most deprived national fifth)",
                    "make core20_share equal imd_q5_share",
                )
            )


def _check_name_tables(
    t: dict[str, pd.DataFrame],
    labels: dict[str, str],
    trust_columns: set[str],
    problems: list[Problem],
):
    """Check the optional name tables and the trust columns that refer to them.

    Once a name table has rows, every code a trust gives must be in it, and trusts.csv must
    have its column. Without names (no table, or a header only) codes stand alone and read
    as themselves. Blank trust codes are allowed here: the route that needs a trust's
    network or region refuses a blank one (:func:`trust_groups`).
    """
    trusts, trust_label = t["trusts"], labels["trusts"]
    for table, (column, name_column, noun) in NAME_TABLES.items():
        names = t.get(table)
        label = labels[table]
        if names is None or names.empty:
            continue
        _check_unique(table, names, [column], label, problems)
        if column not in trust_columns:
            problems.append(
                Problem(
                    trust_label,
                    1,
                    column,
                    f"column is missing, but {label} names "
                    f"{len(names)} {noun}{'s' if len(names) != 1 else ''}",
                    f"add a {column} column giving each trust's {noun} (a code from "
                    f"{label}), or remove {label}",
                )
            )
        known = set(names[column])
        values = trusts[column]
        unknown = (values != "") & ~values.isin(known)
        for row, code in zip(trusts.loc[unknown, "_row"], values[unknown], strict=True):
            problems.append(
                Problem(
                    trust_label,
                    int(row),
                    column,
                    f"{noun} code {code!r} is not in {label}",
                    f"add it to {label} ({column}, {name_column}) or correct the code",
                )
            )


def _cross_checks(
    t: dict[str, pd.DataFrame],
    labels: dict[str, str],
    problems: list[Problem],
    trust_columns: set[str] = frozenset(),
):
    for name, col in [
        ("icss", ["ics_code"]),
        ("trusts", ["trust_code"]),
        ("products", ["product_code"]),
        ("price_tiers", ["product_code", "tier"]),
        ("deployments", ["trust_code", "product_code"]),
    ]:
        _check_unique(name, t[name], col, labels[name], problems)
    _check_quintile_shares(t["trusts"], labels["trusts"], problems)
    _check_name_tables(t, labels, trust_columns, problems)
    products = t["products"]
    _check_refs(
        t["trusts"], "ics_code", set(t["icss"]["ics_code"]), labels["trusts"], "ICS", problems
    )
    codes = set(products["product_code"])
    _check_refs(t["price_tiers"], "product_code", codes, labels["price_tiers"], "product", problems)
    _check_refs(t["deployments"], "product_code", codes, labels["deployments"], "product", problems)
    _check_refs(
        t["deployments"],
        "trust_code",
        set(t["trusts"]["trust_code"]),
        labels["deployments"],
        "trust",
        problems,
    )
    # products: ranges and prerequisites
    by_code = products.set_index("product_code", drop=False)
    by_code = by_code[~by_code.index.duplicated()]
    for _, r in products.iterrows():
        row, lab = int(r["_row"]), labels["products"]
        for base in ("minutes_saved", "qalys_per_1000"):
            central = "minutes_saved_per_study" if base == "minutes_saved" else base
            lo, mid, hi = r[f"{base}_low"], r[central], r[f"{base}_high"]
            if None in (lo, mid, hi) or any(pd.isna(v) for v in (lo, mid, hi)):
                continue
            if not lo <= mid <= hi:
                problems.append(
                    Problem(
                        lab,
                        row,
                        central,
                        f"central value {mid:g} is not between low {lo:g} and high {hi:g}",
                        "make low <= central <= high",
                    )
                )
        pre = r["prerequisite"]
        if pre:
            if pre not in by_code.index:
                problems.append(
                    Problem(
                        lab,
                        row,
                        "prerequisite",
                        f"prerequisite {pre!r} is not a product in the catalogue",
                        "add that product to products.csv or clear the prerequisite",
                    )
                )
            elif pre == r["product_code"]:
                problems.append(
                    Problem(
                        lab,
                        row,
                        "prerequisite",
                        "a product cannot require itself",
                        "clear the prerequisite",
                    )
                )
            elif by_code.loc[pre, "use_case"] == r["use_case"]:
                problems.append(
                    Problem(
                        lab,
                        row,
                        "prerequisite",
                        f"prerequisite {pre!r} has the same use case, and a trust takes one "
                        "product per use case",
                        "choose a prerequisite from another use case",
                    )
                )
            elif by_code.loc[pre, "prerequisite"]:
                problems.append(
                    Problem(
                        lab,
                        row,
                        "prerequisite",
                        f"prerequisite {pre!r} needs a prerequisite of its own",
                        "chains of prerequisites are not supported; require the base product",
                    )
                )
    # price tiers: tier 1 from zero, thresholds rising, prices not rising
    tiers = t["price_tiers"]
    lab = labels["price_tiers"]
    by_product = {code: rows for code, rows in tiers.groupby("product_code", sort=False)}
    empty = tiers.iloc[0:0]
    for code in sorted(codes):
        rows = by_product.get(code, empty).sort_values("tier")
        prow = int(by_code.loc[code, "_row"]) if code in by_code.index else None
        if rows.empty:
            problems.append(
                Problem(
                    lab,
                    None,
                    "product_code",
                    f"product {code!r} has no price tier",
                    "add a tier 1 row with min_studies_per_year 0 (price 0 if licence-only)",
                )
            )
            continue
        if prow is None or rows["tier"].isna().any():
            continue
        expected = list(range(1, len(rows) + 1))
        if [int(x) for x in rows["tier"]] != expected:
            problems.append(
                Problem(
                    lab,
                    int(rows["_row"].iloc[0]),
                    "tier",
                    f"tiers of {code!r} are not numbered 1, 2, 3, ...",
                    "number the tiers from 1 without gaps",
                )
            )
            continue
        first = rows.iloc[0]
        if first["min_studies_per_year"] not in (None, 0) and not pd.isna(
            first["min_studies_per_year"]
        ):
            problems.append(
                Problem(
                    lab,
                    int(first["_row"]),
                    "min_studies_per_year",
                    f"tier 1 of {code!r} starts at {first['min_studies_per_year']:g}",
                    "tier 1 must start at 0 studies",
                )
            )
        for a, b in zip(rows.iloc[:-1].itertuples(), rows.iloc[1:].itertuples(), strict=True):
            if None in (a.min_studies_per_year, b.min_studies_per_year):
                continue
            if b.min_studies_per_year <= a.min_studies_per_year:
                problems.append(
                    Problem(
                        lab,
                        int(b._1),
                        "min_studies_per_year",
                        f"tier {int(b.tier)} of {code!r} does not start above tier {int(a.tier)}",
                        "make each tier's threshold higher than the last",
                    )
                )
            if (
                a.price_per_study_gbp is not None
                and b.price_per_study_gbp is not None
                and b.price_per_study_gbp > a.price_per_study_gbp
            ):
                problems.append(
                    Problem(
                        lab,
                        int(b._1),
                        "price_per_study_gbp",
                        f"tier {int(b.tier)} of {code!r} costs more than tier {int(a.tier)}",
                        "a higher-volume tier must not cost more per study",
                    )
                )
    # existing deployments must be possible
    dep = t["deployments"]
    trusts = t["trusts"].set_index("trust_code", drop=False)
    trusts = trusts[~trusts.index.duplicated()]
    lab = labels["deployments"]
    known = dep["trust_code"].isin(trusts.index) & dep["product_code"].isin(by_code.index)
    dep = dep[known]
    use = dep["product_code"].map(by_code["use_case"])
    first = dep.groupby([dep["trust_code"], use], sort=False)["product_code"].transform("first")
    for row, tc, pc, u, kept in zip(
        dep["_row"], dep["trust_code"], dep["product_code"], use, first, strict=True
    ):
        if pc != kept:
            problems.append(
                Problem(
                    lab,
                    int(row),
                    "product_code",
                    f"trust {tc} already has {kept!r} for use case {u!r}",
                    "keep one product per use case per trust",
                )
            )
    needs = dep["product_code"].map(by_code["needs_platform"]).astype(bool)
    has = dep["trust_code"].map(trusts["has_platform"]).astype(bool)
    for row, tc, pc in zip(
        dep.loc[needs & ~has, "_row"],
        dep.loc[needs & ~has, "trust_code"],
        dep.loc[needs & ~has, "product_code"],
        strict=True,
    ):
        problems.append(
            Problem(
                lab,
                int(row),
                "product_code",
                f"{pc!r} needs a deployment platform but trust {tc} has none",
                f"set has_platform to yes for {tc} in trusts.csv or remove this row",
            )
        )


def _finish(t: dict[str, pd.DataFrame], source: str) -> Dataset:
    def keyed(frame: pd.DataFrame, key: str) -> pd.DataFrame:
        out = frame.drop(columns="_row").set_index(key, drop=False).sort_index()
        out.index.name = key
        return out.drop(columns=key)

    tiers = t["price_tiers"].drop(columns="_row").sort_values(["product_code", "tier"])
    tiers["tier"] = tiers["tier"].astype(int)
    tiers = tiers.reset_index(drop=True)
    trusts = keyed(t["trusts"], "trust_code")
    for spec in columns("trusts"):  # whole-number columns, as the data dictionary says
        if spec.type == "int" and spec.column in trusts:
            trusts[spec.column] = trusts[spec.column].astype(int)
    for col in QUINTILE_SHARES:  # blank (or absent) shares stay NaN
        trusts[col] = trusts[col].astype("float64")
    dep = (
        t["deployments"]
        .drop(columns="_row")
        .sort_values(["trust_code", "product_code"])
        .reset_index(drop=True)
    )
    return Dataset(
        icss=keyed(t["icss"], "ics_code"),
        trusts=trusts,
        products=keyed(t["products"], "product_code"),
        price_tiers=tiers,
        deployments=dep,
        source=source,
        **{
            name: keyed(t[name], NAME_TABLES[name][0]) if name in t else _name_table(name)
            for name in OPTIONAL_FILES
        },
        trust_rows=t["trusts"].set_index("trust_code")["_row"].astype("int64").rename("row"),
    )


def parse_tables(raw: dict[str, list[list[str]]], labels: dict[str, str], source: str) -> Dataset:
    """Validate raw text tables (one list of rows per file, header first) into a Dataset.

    The optional tables (``networks``, ``regions``) may be absent from ``raw``; a label not
    given is the table's CSV file name.

    Raises:
        DataError: Listing every problem found, each with file, row and column.
    """
    labels = {name: labels.get(name) or f"{name}.csv" for name in ALL_FILES}
    problems = ProblemLog()
    parsed: dict[str, pd.DataFrame] = {}
    for name in ALL_FILES:
        if name in raw:
            frame = _parse_table(name, raw[name], labels[name], problems)
            if frame is not None:
                parsed[name] = frame
    if problems:
        raise DataError(problems)
    if any(name not in parsed for name in FILES):  # a sheet or file was missing; reported
        raise DataError(problems)
    trust_columns = {h.strip() for h in raw["trusts"][0]}
    _cross_checks(parsed, labels, problems, trust_columns)
    if problems:
        raise DataError(problems)
    return _finish(parsed, source)


def load_dataset(path: str | Path, *, hint: str = TEMPLATE_HINT) -> Dataset:
    """Load and validate a dataset from a folder of CSV files or an ``.xlsx`` workbook.

    Args:
        path: A folder holding ``icss.csv``, ``trusts.csv``, ``products.csv``,
            ``price_tiers.csv`` and ``deployments.csv`` (and optionally ``networks.csv`` and
            ``regions.csv``), or a workbook with sheets of those names.
        hint: Where the fix for a missing table says to find a template (the app says its
            Data page, the command line ``planner template``).

    Returns:
        The validated dataset.

    Raises:
        DataError: If anything is missing or malformed; the error lists every problem.
    """
    path = Path(path)
    problems = ProblemLog()
    if not path.exists():
        raise DataError(
            [
                Problem(
                    str(path),
                    None,
                    None,
                    "does not exist",
                    "give a dataset folder or an .xlsx workbook",
                )
            ]
        )
    if path.is_dir():
        raw = {}
        labels = {name: f"{name}.csv" for name in ALL_FILES}
        for name in ALL_FILES:
            table = path / f"{name}.csv"
            if name in OPTIONAL_FILES and not table.exists():
                continue
            if not table.exists():
                problems.append(
                    Problem(table.name, None, None, "file is missing", f"add {name}.csv ({hint})")
                )
                continue
            rows = read_csv_file(table, name, problems)
            if rows is not None:
                raw[name] = rows
    else:
        if path.suffix.lower() not in (".xlsx", ".xlsm"):
            raise DataError(
                [
                    Problem(
                        path.name,
                        None,
                        None,
                        "is neither a folder nor an .xlsx workbook",
                        "give a folder of CSV files or an Excel workbook",
                    )
                ]
            )
        raw = read_workbook_file(path, problems, hint)
        labels = {name: f"{path.name} sheet {name}" for name in ALL_FILES}
    if problems:
        raise DataError(problems)
    return parse_tables(raw, labels, str(path))


def write_template(out_dir: str | Path) -> list[Path]:
    """Write empty templates: one CSV per file (header only) and ``template.xlsx``.

    The workbook also holds a ``dictionary`` sheet describing every column.

    Raises:
        FileExistsError: If any template file already exists (nothing is overwritten).
    """
    out = Path(out_dir)
    targets = [out / f"{n}.csv" for n in ALL_FILES] + [out / "template.xlsx"]
    refuse_existing(targets, "choose an empty folder")
    out.mkdir(parents=True, exist_ok=True)
    sheets = {}
    for n in ALL_FILES:
        cols = [c.column for c in columns(n)]
        write_text(out / f"{n}.csv", ",".join(cols) + "\n")
        sheets[n] = pd.DataFrame(columns=cols)
    from planner.schema import dictionary

    sheets["dictionary"] = pd.DataFrame([c.__dict__ for c in dictionary()])
    write_xlsx_sheets(sheets, out / "template.xlsx")
    return targets


def load_upload(name: str, content: bytes) -> Dataset:
    """Load a dataset uploaded as an ``.xlsx`` workbook or a ``.zip`` of the five CSV files.

    The optional tables (``networks``, ``regions``) are read when present. The CSV files may
    sit at the top of the zip or in one folder inside it; other members (for example
    ``__MACOSX``) are ignored. Nothing is written to disk, and nothing is read beyond the
    limits in :mod:`planner.readers`.

    Raises:
        DataError: If the upload is not a workbook or zip, is beyond a limit, or its tables
            fail validation (every problem listed).
    """
    label = Path(name).name or "upload"
    if len(content) > MAX_UPLOAD_BYTES:
        raise DataError(
            [
                Problem(
                    label,
                    None,
                    None,
                    f"is {megabytes(len(content))} (at most {megabytes(MAX_UPLOAD_BYTES)})",
                    "upload only the five tables",
                )
            ]
        )
    problems = ProblemLog()
    suffix = Path(label).suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        raw = workbook_sheets(content, label, problems, UPLOAD_TEMPLATE_HINT)
        if problems:
            raise DataError(problems)
        return parse_tables(raw, {n: f"{label} sheet {n}" for n in ALL_FILES}, label)
    if suffix != ".zip":
        raise DataError(
            [
                Problem(
                    label,
                    None,
                    None,
                    "is neither an .xlsx workbook nor a .zip",
                    "upload an Excel workbook or a zip of the five CSV files",
                )
            ]
        )
    members = zip_tables(content, label, problems)
    if problems:
        raise DataError(problems)
    raw = {}
    for table in ALL_FILES:
        data = members.get(table)
        if data is None and table in OPTIONAL_FILES:
            continue
        if data is None:
            problems.append(
                Problem(
                    f"{table}.csv",
                    None,
                    None,
                    f"is missing from {label}",
                    f"add {table}.csv to the zip",
                )
            )
            continue
        rows = csv_rows(data, table, f"{table}.csv", problems)
        if rows is not None:
            raw[table] = rows
    if problems:
        raise DataError(problems)
    return parse_tables(raw, {n: f"{n}.csv" for n in ALL_FILES}, label)


def template_files() -> dict[str, bytes]:
    """Return the empty templates by file name: ``templates.zip`` (CSVs) and ``template.xlsx``."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        written = write_template(Path(tmp) / "template")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in written:
                if path.suffix == ".csv":
                    archive.writestr(path.name, path.read_bytes())
        xlsx = next(p for p in written if p.suffix == ".xlsx").read_bytes()
    return {"templates.zip": buffer.getvalue(), "template.xlsx": xlsx}
