"""Malformed datasets, workbooks, options and scenario files: exit 2, one located line each.

Every case copies ``data/default_ics`` into ``tmp_path`` and breaks one thing. The command
must exit 2 and print one ``error: <file> row <n> column <c>: ...`` line per problem, with
spreadsheet row numbers (the header is row 1), and never a traceback.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from builders import run, run_subprocess

from planner.cli import main
from planner.schema import FILES

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "data" / "default_ics"

# ---------------------------------------------------------------------------------------
# helpers


def read_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def write_rows(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


def row_of(name: str, **key: str) -> int:
    """Spreadsheet row number (header = 1) of the first shipped row matching ``key``."""
    rows = read_rows(DEFAULT / f"{name}.csv")
    header = rows[0]
    for number, row in enumerate(rows[1:], start=2):
        if all(row[header.index(k)] == v for k, v in key.items()):
            return number
    raise LookupError(f"{key} not in {name}.csv")


def next_row(name: str) -> int:
    """Spreadsheet row number a row appended to the shipped file gets."""
    return len(read_rows(DEFAULT / f"{name}.csv")) + 1


def set_cell(name: str, row: int, column: str, value: str):
    def mutate(folder: Path) -> None:
        path = folder / f"{name}.csv"
        rows = read_rows(path)
        rows[row - 1][rows[0].index(column)] = value
        write_rows(path, rows)

    return mutate


def append_row(name: str, values: list[str]):
    def mutate(folder: Path) -> None:
        path = folder / f"{name}.csv"
        write_rows(path, read_rows(path) + [values])

    return mutate


def drop_column(name: str, column: str):
    def mutate(folder: Path) -> None:
        path = folder / f"{name}.csv"
        rows = read_rows(path)
        i = rows[0].index(column)
        write_rows(path, [r[:i] + r[i + 1 :] for r in rows])

    return mutate


def add_column(name: str, column: str, value: str):
    def mutate(folder: Path) -> None:
        path = folder / f"{name}.csv"
        rows = read_rows(path)
        write_rows(path, [rows[0] + [column]] + [r + [value] for r in rows[1:]])

    return mutate


def write_bytes(name: str, data: bytes):
    def mutate(folder: Path) -> None:
        (folder / f"{name}.csv").write_bytes(data)

    return mutate


def remove_file(name: str):
    def mutate(folder: Path) -> None:
        (folder / f"{name}.csv").unlink()

    return mutate


def latin1_trust_name(folder: Path) -> None:
    path = folder / "trusts.csv"
    rows = read_rows(path)
    rows[row_of("trusts", trust_code="RCF") - 1][1] = "Caf\u00e9 Royal Infirmary NHS Trust"
    text = "".join(",".join(r) + "\n" for r in rows)
    path.write_bytes(text.encode("latin-1"))


def combine(*mutations):
    def mutate(folder: Path) -> None:
        for m in mutations:
            m(folder)

    return mutate


def broken_copy(tmp_path: Path, mutate) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(DEFAULT, folder)
    mutate(folder)
    return folder


def prefix(file: str, row: int | None, column: str | None) -> str:
    where = f"error: {file}"
    if row is not None:
        where += f" row {row}"
    if column is not None:
        where += f" column {column}"
    return where + ":"


def assert_problems(code: int, err: str, expected) -> None:
    """Exit 2; exactly one ``error:`` line per expected (file, row, column, words)."""
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert all(line.startswith("error: ") for line in lines), err
    assert len(lines) == len(expected), err
    unmatched = list(lines)
    for file, row, column, words in expected:
        hits = [ln for ln in unmatched if ln.startswith(prefix(file, row, column)) and words in ln]
        assert len(hits) == 1, f"no line for {(file, row, column, words)} in:\n{err}"
        unmatched.remove(hits[0])


# ---------------------------------------------------------------------------------------
# one broken thing per case

LUM = row_of("products", product_code="CXR-LUM")
PRF = row_of("products", product_code="PRF-CRV")
LUM_T1 = row_of("price_tiers", product_code="CXR-LUM", tier="1")
LUM_T2 = row_of("price_tiers", product_code="CXR-LUM", tier="2")
RAS = row_of("trusts", trust_code="RAS")
RNV = row_of("trusts", trust_code="RNV")
RHM = row_of("trusts", trust_code="RHM")
RCF = row_of("trusts", trust_code="RCF")
RBH = row_of("trusts", trust_code="RBH")
RST = row_of("trusts", trust_code="RST")
RWY = row_of("trusts", trust_code="RWY")
QUINTILE_SHARES = [f"imd_q{q}_share" for q in range(1, 6)]

CASES = [
    pytest.param(
        remove_file("products"),
        [("products.csv", None, None, "file is missing")],
        id="missing-file",
    ),
    pytest.param(
        drop_column("trusts", "it_capacity"),
        [("trusts.csv", 1, "it_capacity", "required column is missing")],
        id="missing-required-column",
    ),
    pytest.param(
        add_column("products", "colour", "red"),
        [("products.csv", 1, "colour", "unknown column")],
        id="unknown-extra-column",
    ),
    pytest.param(
        add_column("icss", "region", "North"),
        [("icss.csv", 1, "region", "column appears twice")],
        id="duplicate-column",
    ),
    pytest.param(
        set_cell("trusts", RNV, "population", "lots"),
        [("trusts.csv", RNV, "population", "'lots' is not a whole number")],
        id="text-in-integer-column",
    ),
    pytest.param(
        set_cell("products", PRF, "applicable_share", "high"),
        [("products.csv", PRF, "applicable_share", "'high' is not a number")],
        id="text-in-number-column",
    ),
    pytest.param(
        set_cell("trusts", RBH, "it_capacity", "2.5"),
        [("trusts.csv", RBH, "it_capacity", "not a whole number")],
        id="fraction-in-integer-column",
    ),
    pytest.param(
        set_cell("products", LUM, "implementation_gbp", "-5000"),
        [("products.csv", LUM, "implementation_gbp", "negative")],
        id="negative-number",
    ),
    pytest.param(
        set_cell("trusts", RHM, "xray_per_year", "-1"),
        [("trusts.csv", RHM, "xray_per_year", "negative")],
        id="negative-integer",
    ),
    pytest.param(
        set_cell("products", PRF, "licence_gbp_per_year", "NaN"),
        [("products.csv", PRF, "licence_gbp_per_year", "not a number")],
        id="nan-text",
    ),
    pytest.param(
        set_cell("trusts", RHM, "trust_name", ""),
        [("trusts.csv", RHM, "trust_name", "is empty")],
        id="empty-required-cell",
    ),
    pytest.param(
        set_cell("products", LUM, "implementation_gbp", "inf"),
        [("products.csv", LUM, "implementation_gbp", "infinite")],
        id="infinite-number",
    ),
    pytest.param(
        set_cell("products", PRF, "minutes_saved_high", "-inf"),
        [("products.csv", PRF, "minutes_saved_high", "infinite")],
        id="minus-infinity",
    ),
    pytest.param(
        set_cell("trusts", RCF, "core20_share", "1.5"),
        [("trusts.csv", RCF, "core20_share", "too large")],
        id="share-above-one",
    ),
    pytest.param(
        set_cell("trusts", RHM, "trust_code", "RAS"),
        [("trusts.csv", RHM, "trust_code", "duplicate trust_code RAS")],
        id="duplicate-trust-code",
    ),
    pytest.param(
        set_cell("trusts", RNV, "trust_code", "R NV"),
        [("trusts.csv", RNV, "trust_code", "not a valid code")],
        id="code-with-space",
    ),
    pytest.param(
        set_cell("trusts", RCF, "ics_code", "QZZ"),
        [("trusts.csv", RCF, "ics_code", "unknown ICS code 'QZZ'")],
        id="unknown-ics",
    ),
    pytest.param(
        append_row("price_tiers", ["NOPE", "1", "0", "1.0"]),
        [("price_tiers.csv", next_row("price_tiers"), "product_code", "unknown product")],
        id="unknown-product-in-price-tiers",
    ),
    pytest.param(
        append_row("deployments", ["RNV", "NOPE"]),
        [("deployments.csv", next_row("deployments"), "product_code", "unknown product")],
        id="unknown-product-in-deployments",
    ),
    pytest.param(
        set_cell("products", PRF, "prerequisite", "NOPE-PRE"),
        [("products.csv", PRF, "prerequisite", "'NOPE-PRE' is not a product")],
        id="prerequisite-not-in-catalogue",
    ),
    pytest.param(
        set_cell("products", LUM, "prerequisite", "CXR-LUM"),
        [("products.csv", LUM, "prerequisite", "cannot require itself")],
        id="prerequisite-self",
    ),
    pytest.param(
        write_bytes("products", b""),
        [("products.csv", None, None, "file is empty")],
        id="zero-byte-file",
    ),
    pytest.param(
        write_bytes("icss", b"ics_code,ics_name,region\n"),
        [("icss.csv", None, None, "has no data rows")],
        id="header-only",
    ),
    pytest.param(
        latin1_trust_name,
        [("trusts.csv", RCF, None, "not UTF-8")],
        id="not-utf8",
    ),
    pytest.param(
        set_cell("trusts", RNV, "trust_name", '=HYPERLINK("http://x","y")'),
        [("trusts.csv", RNV, "trust_name", "looks like a spreadsheet formula")],
        id="formula-like-text",
    ),
    pytest.param(
        set_cell("price_tiers", LUM_T2, "price_per_study_gbp", "2.0"),
        [("price_tiers.csv", LUM_T2, "price_per_study_gbp", "costs more than tier 1")],
        id="tier-price-rising",
    ),
    pytest.param(
        set_cell("price_tiers", LUM_T1, "min_studies_per_year", "10"),
        [("price_tiers.csv", LUM_T1, "min_studies_per_year", "tier 1 of 'CXR-LUM' starts at 10")],
        id="tier-1-not-from-zero",
    ),
    pytest.param(
        set_cell("price_tiers", LUM_T2, "min_studies_per_year", "0"),
        [("price_tiers.csv", LUM_T2, "min_studies_per_year", "does not start above tier 1")],
        id="tier-thresholds-not-rising",
    ),
    pytest.param(
        set_cell("products", LUM, "minutes_saved_low", "0.9"),
        [("products.csv", LUM, "minutes_saved_per_study", "not between low 0.9 and high 1")],
        id="low-above-central",
    ),
    pytest.param(
        set_cell("products", PRF, "qalys_per_1000_high", "0.1"),
        [("products.csv", PRF, "qalys_per_1000", "not between low 0.5 and high 0.1")],
        id="high-below-central",
    ),
    pytest.param(
        set_cell("trusts", RAS, "has_platform", "maybe"),
        [("trusts.csv", RAS, "has_platform", "'maybe' is not yes or no")],
        id="bad-boolean",
    ),
    pytest.param(
        append_row("deployments", ["RFB", "LNC-ORV"]),
        [
            (
                "deployments.csv",
                next_row("deployments"),
                "product_code",
                "needs a deployment platform but trust RFB has none",
            )
        ],
        id="platform-product-at-trust-without-platform",
    ),
    pytest.param(
        append_row("deployments", ["RNV", "CXR-QLF"]),
        [("deployments.csv", next_row("deployments"), "product_code", "already has 'CXR-LUM'")],
        id="two-deployments-in-one-use-case",
    ),
    pytest.param(
        set_cell("trusts", RCF, "imd_q1_share", "0.078"),  # was 0.148: the five add up to 0.93
        [("trusts.csv", RCF, "imd_q1_share", "imd_q1_share..imd_q5_share add up to 0.93, not 1")],
        id="quintile-shares-not-adding-to-one",
    ),
    pytest.param(
        combine(
            set_cell("trusts", RHM, "imd_q3_share", ""), set_cell("trusts", RHM, "imd_q4_share", "")
        ),
        [
            (
                "trusts.csv",
                RHM,
                "imd_q3_share",
                "imd_q3_share, imd_q4_share are blank but the other quintile shares are given",
            )
        ],
        id="quintile-shares-partly-given",
    ),
    pytest.param(
        # q5 0.34 -> 0.3 and q4 0.248 -> 0.288: still adding up to 1, but not core20_share 0.34
        combine(
            set_cell("trusts", RST, "imd_q5_share", "0.3"),
            set_cell("trusts", RST, "imd_q4_share", "0.288"),
        ),
        [("trusts.csv", RST, "imd_q5_share", "imd_q5_share 0.3 differs from core20_share 0.34")],
        id="quintile-5-share-not-core20",
    ),
    pytest.param(
        set_cell("trusts", RWY, "imd_q2_share", "1.2"),
        [("trusts.csv", RWY, "imd_q2_share", "1.2 is too large")],
        id="quintile-share-above-one",
    ),
]

#: Cases also run through ``planner validate``.
VALIDATE_IDS = {
    "missing-file",
    "text-in-integer-column",
    "duplicate-trust-code",
    "not-utf8",
    "tier-price-rising",
    "platform-product-at-trust-without-platform",
    "quintile-shares-not-adding-to-one",
}


def test_enough_distinct_cases():
    assert len({p.id for p in CASES}) == len(CASES) >= 18


@pytest.mark.parametrize(("mutate", "expected"), CASES)
def test_solve_reports_each_problem_with_file_row_column(tmp_path, capsys, mutate, expected):
    data = broken_copy(tmp_path, mutate)
    code, out, err = run(capsys, "solve", "--data", data, "--budget", "2m")
    assert_problems(code, err, expected)
    assert out == ""


@pytest.mark.parametrize(("mutate", "expected"), [p for p in CASES if p.id in VALIDATE_IDS])
def test_validate_reports_the_same_problems(tmp_path, capsys, mutate, expected):
    data = broken_copy(tmp_path, mutate)
    code, out, err = run(capsys, "validate", "--data", data)
    assert_problems(code, err, expected)
    assert "valid" not in out


def test_bad_input_as_a_subprocess_exits_2_without_traceback(tmp_path):
    data = broken_copy(tmp_path, set_cell("trusts", RNV, "population", "lots"))
    proc = run_subprocess(tmp_path, "solve", "--data", data, "--budget", "2m")
    assert_problems(
        proc.returncode, proc.stderr, [("trusts.csv", RNV, "population", "not a whole number")]
    )


def test_several_problems_in_one_file_are_all_reported(tmp_path, capsys):
    data = broken_copy(
        tmp_path,
        combine(
            set_cell("trusts", RAS, "has_platform", "maybe"),
            set_cell("trusts", RNV, "population", "lots"),
            set_cell("trusts", RNV, "vacancy_rate", "NaN"),
            set_cell("trusts", RHM, "imd_score", "inf"),
            set_cell("trusts", RBH, "core20_share", "2"),
        ),
    )
    code, _, err = run(capsys, "solve", "--data", data, "--budget", "2m")
    assert_problems(
        code,
        err,
        [
            ("trusts.csv", RAS, "has_platform", "not yes or no"),
            ("trusts.csv", RNV, "population", "not a whole number"),
            ("trusts.csv", RNV, "vacancy_rate", "not a number"),
            ("trusts.csv", RHM, "imd_score", "infinite"),
            ("trusts.csv", RBH, "core20_share", "too large"),
        ],
    )
    # reported in file order: row by row
    rows = [int(line.split(" row ")[1].split()[0]) for line in err.strip().splitlines()]
    assert rows == sorted(rows)


def test_problems_in_several_files_are_all_reported(tmp_path, capsys):
    data = broken_copy(
        tmp_path,
        combine(
            set_cell("trusts", RNV, "population", "lots"),
            set_cell("products", LUM, "needs_platform", "perhaps"),
            set_cell("price_tiers", LUM_T1, "tier", "one"),
        ),
    )
    code, _, err = run(capsys, "validate", "--data", data)
    assert_problems(
        code,
        err,
        [
            ("trusts.csv", RNV, "population", "not a whole number"),
            ("products.csv", LUM, "needs_platform", "not yes or no"),
            ("price_tiers.csv", LUM_T1, "tier", "not a whole number"),
        ],
    )


def test_several_unreadable_files_are_all_reported(tmp_path, capsys):
    data = broken_copy(tmp_path, combine(remove_file("deployments"), write_bytes("products", b"")))
    code, _, err = run(capsys, "validate", "--data", data)
    assert_problems(
        code,
        err,
        [
            ("products.csv", None, None, "file is empty"),
            ("deployments.csv", None, None, "file is missing"),
        ],
    )


def test_several_cross_file_problems_are_all_reported(tmp_path, capsys):
    data = broken_copy(
        tmp_path,
        combine(
            set_cell("trusts", RHM, "trust_code", "RAS"),
            set_cell("trusts", RCF, "ics_code", "QZZ"),
            set_cell("price_tiers", LUM_T2, "price_per_study_gbp", "9"),
            set_cell("products", PRF, "prerequisite", "NOPE-PRE"),
        ),
    )
    code, _, err = run(capsys, "solve", "--data", data, "--budget", "2m")
    assert_problems(
        code,
        err,
        [
            ("trusts.csv", RHM, "trust_code", "duplicate"),
            ("trusts.csv", RCF, "ics_code", "unknown ICS"),
            ("price_tiers.csv", LUM_T2, "price_per_study_gbp", "costs more"),
            ("products.csv", PRF, "prerequisite", "not a product"),
        ],
    )


def test_quintile_share_problems_read_exactly(tmp_path, capsys):
    data = broken_copy(
        tmp_path,
        combine(
            set_cell("trusts", RAS, "imd_q2_share", ""),  # one of five blank
            set_cell("trusts", RCF, "imd_q1_share", "0.078"),  # adds up to 0.93
            set_cell("trusts", RBH, "core20_share", "0.45"),  # q5 stays 0.5
        ),
    )
    code, out, err = run(capsys, "validate", "--data", data)
    assert code == 2
    assert out == ""
    assert err.strip().splitlines() == [
        f"error: trusts.csv row {RAS} column imd_q2_share: imd_q2_share is blank but the other "
        "quintile shares are given; give all five quintile shares or leave all five blank",
        f"error: trusts.csv row {RCF} column imd_q1_share: imd_q1_share..imd_q5_share add up to "
        "0.93, not 1; make the five shares add up to 1",
        f"error: trusts.csv row {RBH} column imd_q5_share: imd_q5_share 0.5 differs from "
        "core20_share 0.45 (both are the share in the most deprived national fifth); "
        "make core20_share equal imd_q5_share",
    ]


def test_quintile_shares_within_the_tolerance_are_accepted(tmp_path, capsys):
    # RCF's q5 0.26 -> 0.264: the five add up to 1.004 and q5 is 0.004 above core20_share
    data = broken_copy(tmp_path, set_cell("trusts", RCF, "imd_q5_share", "0.264"))
    code, out, err = run(capsys, "validate", "--data", data)
    assert (code, err) == (0, "")
    assert "8 trusts" in out


def test_trusts_without_quintile_columns_still_load(tmp_path, capsys):
    from planner.data import load_dataset

    data = broken_copy(tmp_path, combine(*(drop_column("trusts", c) for c in QUINTILE_SHARES)))
    assert "imd_q1_share" not in read_rows(data / "trusts.csv")[0]
    code, out, err = run(capsys, "validate", "--data", data)
    assert (code, err) == (0, "")
    assert "8 trusts" in out
    trusts = load_dataset(data).trusts
    assert list(trusts.columns[5:10]) == QUINTILE_SHARES
    assert trusts[QUINTILE_SHARES].dtypes.eq("float64").all()
    assert trusts[QUINTILE_SHARES].isna().all().all()
    assert not trusts[QUINTILE_SHARES].notna().all(axis=1).any()


def test_quintile_shares_blank_for_some_trusts_load_as_nan(tmp_path):
    from planner.data import load_dataset

    blank = [set_cell("trusts", RBH, c, "") for c in QUINTILE_SHARES]
    trusts = load_dataset(broken_copy(tmp_path, combine(*blank))).trusts
    given = trusts[QUINTILE_SHARES].notna().all(axis=1)
    assert given.to_dict() == {code: code != "RBH" for code in trusts.index}
    assert trusts.loc["RBH", QUINTILE_SHARES].isna().all()
    assert trusts.loc["RST", QUINTILE_SHARES].tolist() == [0.097, 0.133, 0.182, 0.248, 0.34]


def test_dataset_path_that_does_not_exist(tmp_path, capsys):
    code, _, err = run(capsys, "solve", "--data", tmp_path / "nowhere", "--budget", "2m")
    assert_problems(code, err, [(str(tmp_path / "nowhere"), None, None, "does not exist")])


def test_dataset_path_that_is_a_plain_file(tmp_path, capsys):
    path = tmp_path / "trusts.csv"
    shutil.copy(DEFAULT / "trusts.csv", path)
    code, _, err = run(capsys, "validate", "--data", path)
    assert_problems(code, err, [("trusts.csv", None, None, "neither a folder nor an .xlsx")])


# ---------------------------------------------------------------------------------------
# workbooks


def write_workbook(path: Path, src: Path = DEFAULT) -> Path:
    """A workbook with one sheet per file, numbers stored as numbers."""
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        for name in FILES:
            pd.read_csv(src / f"{name}.csv").to_excel(xl, sheet_name=name, index=False)
    return path


def set_sheet_cell(path: Path, sheet: str, row: int, column: str, value) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    header = [c.value for c in ws[1]]
    ws.cell(row=row, column=header.index(column) + 1).value = value
    wb.save(path)


def test_valid_workbook_gives_the_same_plan_as_the_csv_folder(tmp_path, capsys):
    book = write_workbook(tmp_path / "data.xlsx")
    code, out, err = run(capsys, "validate", "--data", book)
    assert (code, err) == (0, "")
    assert "valid (1 ICSs, 8 trusts, 24 products" in out
    from_book, from_csv = tmp_path / "book.json", tmp_path / "csv.json"
    assert main(["solve", "--data", str(book), "--budget", "2m", "--json", str(from_book)]) == 0
    assert main(["solve", "--data", str(DEFAULT), "--budget", "2m", "--json", str(from_csv)]) == 0
    assert from_book.read_bytes() == from_csv.read_bytes()


def test_text_file_renamed_xlsx_is_not_a_workbook(tmp_path, capsys):
    book = tmp_path / "data.xlsx"
    shutil.copy(DEFAULT / "trusts.csv", book)
    code, _, err = run(capsys, "solve", "--data", book, "--budget", "2m")
    assert_problems(code, err, [("data.xlsx", None, None, "is not an Excel workbook")])


def test_uploads_get_fixes_for_the_browser_and_no_python_words(tmp_path):
    """In the app a fix points to the Data page, not to a command; no exception names."""
    from planner.data import load_upload
    from planner.errors import DataError

    book = write_workbook(tmp_path / "data.xlsx")
    wb = openpyxl.load_workbook(book)
    del wb["price_tiers"]
    wb.save(book)
    with pytest.raises(DataError) as err:
        load_upload("mine.xlsx", book.read_bytes())
    (problem,) = err.value.problems
    assert "Data page" in problem.fix
    assert "planner template" not in problem.fix
    with pytest.raises(DataError) as err:
        load_upload("mine.xlsx", b"plain text, not a workbook")
    (problem,) = err.value.problems
    assert problem.problem == "is not an Excel workbook (it could not be opened as one)"
    with pytest.raises(DataError) as err:
        load_upload("trusts.csv", b"trust_code\n")
    (problem,) = err.value.problems
    assert problem.problem == "is neither an .xlsx workbook nor a .zip"
    assert problem.fix == "upload an Excel workbook or a zip of the five CSV files"


def test_workbook_missing_a_sheet(tmp_path, capsys):
    book = write_workbook(tmp_path / "data.xlsx")
    wb = openpyxl.load_workbook(book)
    del wb["price_tiers"]
    wb.save(book)
    code, _, err = run(capsys, "validate", "--data", book)
    assert_problems(code, err, [("data.xlsx sheet price_tiers", None, None, "sheet is missing")])


def test_workbook_with_an_empty_sheet(tmp_path, capsys):
    book = write_workbook(tmp_path / "data.xlsx")
    wb = openpyxl.load_workbook(book)
    del wb["icss"]
    wb.create_sheet("icss")
    wb.save(book)
    code, _, err = run(capsys, "validate", "--data", book)
    assert_problems(code, err, [("data.xlsx sheet icss", None, None, "sheet is empty")])


@pytest.mark.parametrize(
    ("sheet", "row", "column", "value", "words"),
    [
        ("trusts", RNV, "population", "lots", "'lots' is not a whole number"),
        ("trusts", RBH, "it_capacity", 2.5, "'2.5' is not a whole number"),
        ("products", LUM, "implementation_gbp", "=1+1", "is not a number"),
        ("trusts", RHM, "trust_name", "=SUM(A1:A3)", "looks like a spreadsheet formula"),
        ("trusts", RCF, "has_platform", "maybe", "not yes or no"),
        ("price_tiers", LUM_T2, "price_per_study_gbp", 99, "costs more than tier 1"),
    ],
)
def test_workbook_cell_problems_name_sheet_row_and_column(
    tmp_path, capsys, sheet, row, column, value, words
):
    book = write_workbook(tmp_path / "data.xlsx")
    set_sheet_cell(book, sheet, row, column, value)
    code, _, err = run(capsys, "solve", "--data", book, "--budget", "2m")
    assert_problems(code, err, [(f"data.xlsx sheet {sheet}", row, column, words)])


def test_workbook_quintile_shares_are_checked(tmp_path, capsys):
    book = write_workbook(tmp_path / "data.xlsx")
    set_sheet_cell(book, "trusts", RCF, "imd_q1_share", 0.078)
    set_sheet_cell(book, "trusts", RST, "imd_q4_share", None)
    code, _, err = run(capsys, "validate", "--data", book)
    assert err.strip().splitlines() == [
        f"error: data.xlsx sheet trusts row {RCF} column imd_q1_share: "
        "imd_q1_share..imd_q5_share add up to 0.93, not 1; make the five shares add up to 1",
        f"error: data.xlsx sheet trusts row {RST} column imd_q4_share: imd_q4_share is blank "
        "but the other quintile shares are given; give all five quintile shares or leave all "
        "five blank",
    ]
    assert code == 2


def test_workbook_without_quintile_columns_loads_with_nan_shares(tmp_path):
    from planner.data import load_dataset

    folder = broken_copy(tmp_path, combine(*(drop_column("trusts", c) for c in QUINTILE_SHARES)))
    book = write_workbook(tmp_path / "data.xlsx", src=folder)
    trusts = load_dataset(book).trusts
    assert trusts[QUINTILE_SHARES].isna().all().all()
    with_shares = load_dataset(write_workbook(tmp_path / "full.xlsx")).trusts
    assert with_shares.loc["RBH", QUINTILE_SHARES].tolist() == [0.036, 0.07, 0.135, 0.259, 0.5]


def test_workbook_booleans_are_accepted(tmp_path, capsys):
    book = write_workbook(tmp_path / "data.xlsx")
    set_sheet_cell(book, "trusts", RAS, "has_platform", True)
    set_sheet_cell(book, "trusts", RBH, "has_platform", False)
    code, out, err = run(capsys, "validate", "--data", book)
    assert (code, err) == (0, "")
    assert "8 trusts" in out


# ---------------------------------------------------------------------------------------
# options and scenario files


def test_bad_budget_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["solve", "--data", str(DEFAULT), "--budget", "abc"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --budget: 'abc' is not an amount of money" in err
    assert "Traceback" not in err


def test_bad_budget_as_a_subprocess(tmp_path):
    proc = run_subprocess(tmp_path, "solve", "--data", DEFAULT, "--budget", "abc")
    assert proc.returncode == 2
    assert "--budget" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--set", "nosuch=1"], [("override", None, "nosuch", "unknown setting")]),
        (
            ["--set", "procurement.nosuch.lead_time_months=3"],
            [("scenario", None, "procurement.nosuch.lead_time_months", "unknown setting")],
        ),
        (["--set", "noequals"], [("--set", None, "noequals", "must be KEY=VALUE")]),
        (["--set", "budget_gbp=lots"], [("override", None, "budget_gbp", "not an amount")]),
        (["--set", "discount_rate=0.5"], [("override", None, "discount_rate", "above 0.2")]),
        (["--set", "model=national"], [("override", None, "model", "not allowed")]),
        (["--horizon", "0"], [("scenario", None, "horizon_years", "below 1")]),
        (["--gap", "-1"], [("scenario", None, "mip_gap", "below 0")]),
        (
            ["--lock", "NOPE:CXR-LUM"],
            [("scenario", None, "locks[0].trust", "unknown trust 'NOPE'")],
        ),
        (
            ["--exclude", "RNV:NOPE"],
            [("scenario", None, "locks[0].product", "unknown product 'NOPE'")],
        ),
        (["--ics", "QZZ"], [("--ics", None, None, "unknown ICS code 'QZZ'")]),
    ],
    ids=[
        "set-unknown",
        "set-unknown-nested",
        "set-without-equals",
        "set-bad-money",
        "set-out-of-range",
        "set-bad-choice",
        "horizon-zero",
        "negative-gap",
        "lock-unknown-trust",
        "exclude-unknown-product",
        "unknown-ics-option",
    ],
)
def test_bad_options_exit_2_naming_the_setting(capsys, args, expected):
    code, out, err = run(capsys, "solve", "--data", DEFAULT, "--budget", "2m", *args)
    assert_problems(code, err, expected)
    assert out == ""


def test_unknown_set_key_as_a_subprocess(tmp_path):
    proc = run_subprocess(
        tmp_path, "solve", "--data", DEFAULT, "--budget", "2m", "--set", "nosuch=1"
    )
    assert_problems(proc.returncode, proc.stderr, [("override", None, "nosuch", "unknown setting")])


@pytest.mark.parametrize(
    ("filename", "text", "expected"),
    [
        (
            "scenario.yaml",
            "budgett_gbp: 2m\nmodel: ics\n",
            [("scenario.yaml", None, "budgett_gbp", "unknown setting")],
        ),
        (
            "scenario.yaml",
            "procurement:\n  ics:\n    lead_time: 3\n",
            [("scenario.yaml", None, "procurement.ics.lead_time", "unknown setting")],
        ),
        (
            "scenario.toml",
            'model = "ics"\ncolour = "red"\n',
            [("scenario.toml", None, "colour", "unknown setting")],
        ),
        (
            "scenario.yaml",
            "budgett_gbp: 2m\nhorizon_years: 0\nlocks:\n  - {trust: RNV}\n",
            [
                ("scenario.yaml", None, "budgett_gbp", "unknown setting"),
                ("scenario.yaml", None, "horizon_years", "below 1"),
                ("scenario.yaml", None, "locks[0]", "needs trust and product"),
            ],
        ),
        (
            "scenario.yaml",
            "model: [ics\n",
            [("scenario.yaml", 2, None, "cannot be parsed")],
        ),
        ("scenario.yaml", "- 1\n- 2\n", [("scenario.yaml", None, None, "table of settings")]),
    ],
    ids=["unknown-key", "unknown-nested-key", "toml-unknown-key", "several", "syntax", "list"],
)
def test_bad_scenario_file_exits_2_naming_the_key(tmp_path, capsys, filename, text, expected):
    path = tmp_path / filename
    path.write_text(text, encoding="utf-8")
    code, _, err = run(capsys, "solve", "--data", DEFAULT, "--scenario", path)
    assert_problems(code, err, expected)


def test_missing_scenario_file(tmp_path, capsys):
    code, _, err = run(capsys, "solve", "--data", DEFAULT, "--scenario", tmp_path / "missing.yaml")
    assert_problems(code, err, [("missing.yaml", None, None, "file not found")])


# ---------------------------------------------------------------------------------------
# inputs that once slipped through validation (kept as regression tests)


def test_unknown_modality_is_reported(tmp_path, capsys):
    data = broken_copy(tmp_path, set_cell("products", LUM, "modality", "ultrasound"))
    code, _, err = run(capsys, "validate", "--data", data)
    assert_problems(code, err, [("products.csv", LUM, "modality", "ultrasound")])


def test_row_longer_than_the_header_is_reported(tmp_path, capsys):
    data = broken_copy(tmp_path, append_row("icss", ["QZZ", "Extra ICS", "North West", "oops"]))
    code, _, err = run(capsys, "validate", "--data", data)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(prefix("icss.csv", next_row("icss"), None)[:-1])


def test_huge_integer_is_reported(tmp_path, capsys):
    data = broken_copy(tmp_path, set_cell("trusts", RAS, "it_capacity", "99999999999999999999999"))
    code, _, err = run(capsys, "solve", "--data", data, "--budget", "2m")
    assert_problems(code, err, [("trusts.csv", RAS, "it_capacity", "too large")])


def test_empty_cell_message_keeps_acronyms(tmp_path, capsys):
    data = broken_copy(tmp_path, set_cell("icss", 2, "region", ""))
    code, _, err = run(capsys, "validate", "--data", data)
    assert_problems(code, err, [("icss.csv", 2, "region", "is empty")])
    assert "NHS England region" in err


def test_locks_that_are_not_a_list(capsys):
    code, _, err = run(capsys, "solve", "--data", DEFAULT, "--budget", "2m", "--set", "locks=5")
    assert_problems(code, err, [("override", None, "locks", "")])


def test_procurement_route_that_is_not_a_table(capsys):
    code, _, err = run(
        capsys, "solve", "--data", DEFAULT, "--budget", "2m", "--set", "procurement.ics=5"
    )
    assert_problems(code, err, [("override", None, "procurement.ics", "")])


def test_boolean_for_a_number_setting(capsys):
    code, _, err = run(
        capsys, "solve", "--data", DEFAULT, "--budget", "2m", "--set", "horizon_years=true"
    )
    assert_problems(code, err, [("override", None, "horizon_years", "")])
