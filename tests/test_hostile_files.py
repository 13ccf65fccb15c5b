"""Hostile and unlucky files: each ends in a clear error, fast and in bounded memory.

Every file is generated at test time (a few hundred KB on disk at most) and read in a child
process, through the command line (``planner validate``, exit 2) and through the Data
page's upload path (``app_pages.shared.add_upload``). The child's wall time and peak memory
are measured around the real process, so one bad file is shown not to take the server down:
each must end within :data:`SECONDS` and :data:`PEAK_MB` (the limits the README documents).
"""

from __future__ import annotations

import io
import json
import shutil
import struct
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from planner import readers
from planner.errors import MAX_PROBLEMS_LISTED
from planner.schema import FILES

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "data" / "default_ics"
#: Every hostile file must be refused within this many seconds of wall time...
SECONDS = 10.0
#: ...and with at most this peak resident memory (the interpreter and pandas included).
PEAK_MB = 500

# The child runs one command and reports how it ended; RUSAGE_CHILDREN then holds exactly
# that command's peak memory, because it is the only process the child waited for.
MEASURE = textwrap.dedent(
    """
    import json, resource, subprocess, sys, time
    start = time.perf_counter()
    done = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=120)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"code": done.returncode, "out": done.stdout, "err": done.stderr,
                      "seconds": seconds, "peak_mb": peak}))
    """
)

# The Data page's upload path, exactly as the app calls it, timed inside the process.
UPLOAD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from app_pages import shared
    from planner.errors import DataError
    path = Path(sys.argv[1])
    start = time.perf_counter()
    try:
        shared.add_upload(path.name, path.read_bytes())
    except DataError as error:
        print("\\n".join(str(p) for p in error.problems))
        print(f"seconds {time.perf_counter() - start:.3f}", file=sys.stderr)
        sys.exit(2)
    sys.exit(0)
    """
)


def measure(*command: str) -> dict:
    """Run a command in a child process; return its exit code, output, seconds and peak MB."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *command],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def cli_validate(path: Path) -> dict:
    """``planner validate --data PATH`` as a real process, measured."""
    return measure(sys.executable, "-m", "planner.cli", "validate", "--data", str(path))


def upload(path: Path) -> dict:
    """The Data page's upload of a file, as a real process, measured."""
    return measure(sys.executable, "-c", UPLOAD, str(path))


def assert_refused(result: dict, *words: str, code: int = 2) -> str:
    """Exit ``code``, no traceback, within the time and memory caps; return the message."""
    text = result["out"] + result["err"]
    assert result["code"] == code, text
    assert "Traceback" not in text, text
    assert "internal error" not in text, text
    for word in words:
        assert word in text, f"{word!r} not in:\n{text}"
    assert result["seconds"] < SECONDS, (result["seconds"], text[:500])
    assert result["peak_mb"] < PEAK_MB, (result["peak_mb"], text[:500])
    return text


# ---------------------------------------------------------------------------------------
# building hostile files


def shipped_tables() -> dict[str, bytes]:
    return {name: (DEFAULT / f"{name}.csv").read_bytes() for name in FILES}


def zip_of(tables: dict[str, bytes], path: Path, extra: tuple[tuple[str, bytes], ...] = ()):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in tables.items():
            archive.writestr(f"{name}.csv", data)
        for name, data in extra:
            archive.writestr(name, data)
    return path


def folder_of(tables: dict[str, bytes], path: Path) -> Path:
    path.mkdir()
    for name, data in tables.items():
        (path / f"{name}.csv").write_bytes(data)
    return path


def patched(content: bytes, *, flag: int | None = None, method: int | None = None) -> bytes:
    """Set the flag bits or compression method of every member, in both zip headers."""
    data = bytearray(content)
    for signature, flag_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        at = data.find(signature)
        while at != -1:
            if flag is not None:
                data[at + flag_at : at + flag_at + 2] = struct.pack("<H", flag)
            if method is not None:
                data[at + method_at : at + method_at + 2] = struct.pack("<H", method)
            at = data.find(signature, at + 4)
    return bytes(data)


def workbook(path: Path) -> Path:
    with pd.ExcelWriter(path, engine="openpyxl") as book:
        for name in FILES:
            pd.read_csv(DEFAULT / f"{name}.csv").to_excel(book, sheet_name=name, index=False)
    return path


def rewrite_sheet(path: Path, sheet: str, change) -> Path:
    """Rewrite one sheet's XML inside an .xlsx with ``change(xml) -> xml``."""
    wb = openpyxl.load_workbook(path, read_only=True)
    index = wb.sheetnames.index(sheet) + 1
    wb.close()
    member = f"xl/worksheets/sheet{index}.xml"
    source = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == member:
                data = change(data.decode()).encode()
            target.writestr(info.filename, data)
    path.write_bytes(out.getvalue())
    return path


def far_cell(xml: str, dimension: str | None) -> str:
    """Declare ``dimension`` (or none) and put one cell in the sheet's last row and column."""
    head, rest = xml.split("<dimension", 1)
    rest = rest.split("/>", 1)[1]
    declared = f'<dimension ref="{dimension}"/>' if dimension else ""
    cell = '<row r="1048576"><c r="XFD1048576" t="n"><v>1</v></c></row>'
    return head + declared + rest.replace("</sheetData>", cell + "</sheetData>")


def csv_bytes(rows: list[list[str]]) -> bytes:
    return "".join(",".join(r) + "\n" for r in rows).encode()


def shipped_rows(name: str) -> list[list[str]]:
    return [line.split(",") for line in (DEFAULT / f"{name}.csv").read_text().splitlines()]


# ---------------------------------------------------------------------------------------
# 1. zip bombs and floods of bad cells


def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path):
    """A ~150 KB zip whose trusts.csv unpacks to 49 MB of short cells."""
    tables = shipped_tables()
    tables["trusts"] = tables["trusts"] + b"x," * (49 * 1024 * 1024 // 2)
    bomb = zip_of(tables, tmp_path / "bomb.zip")
    assert bomb.stat().st_size < 300_000
    assert_refused(upload(bomb), "bomb.zip", "unpacks to 49 MB", "at most 40 MB")


def test_a_table_over_the_size_limit_is_refused_unread(tmp_path):
    tables = shipped_tables()
    size = readers.MAX_TABLE_BYTES + 1024
    tables["deployments"] = tables["deployments"] + b"\n" * size
    assert_refused(upload(zip_of(tables, tmp_path / "big.zip")), "deployments.csv", "per table")
    folder = folder_of(tables, tmp_path / "big")
    assert_refused(cli_validate(folder), "deployments.csv", "at most 10 MB per table")


def test_a_flood_of_bad_cells_lists_a_few_and_counts_the_rest(tmp_path):
    """90,000 deployment rows, every one naming an unknown trust: 20 listed, the rest counted."""
    tables = shipped_tables()
    rows = [["trust_code", "product_code"]] + [[f"T{i}", "CXR-TRI"] for i in range(90_000)]
    tables["deployments"] = csv_bytes(rows)
    for result in (
        cli_validate(folder_of(tables, tmp_path / "flood")),
        upload(zip_of(tables, tmp_path / "flood.zip")),
    ):
        text = assert_refused(result, "unknown trust code 'T0'")
        more = 90_000 - MAX_PROBLEMS_LISTED
        assert f"and {more:,} more problems like these" in text
        assert text.count("unknown trust code") == MAX_PROBLEMS_LISTED


def test_the_problems_stay_in_row_order_within_a_table(tmp_path):
    """Column-wise parsing still reports a table's problems row by row."""
    rows = shipped_rows("trusts")
    header = rows[0]
    rows[2][header.index("population")] = "-1"
    rows[1][header.index("vacancy_rate")] = "lots"
    tables = shipped_tables()
    tables["trusts"] = csv_bytes(rows)
    result = cli_validate(folder_of(tables, tmp_path / "order"))
    text = assert_refused(result)
    lines = [ln for ln in text.splitlines() if "trusts.csv row" in ln]
    assert [ln.split(" column ")[0] for ln in lines] == [
        "error: trusts.csv row 2",
        "error: trusts.csv row 3",
    ]


# ---------------------------------------------------------------------------------------
# 2. workbooks that declare or hold a huge sheet


@pytest.mark.parametrize("dimension", ["A1:XFD1048576", None], ids=["declared", "undeclared"])
def test_a_workbook_with_one_far_cell_is_refused_without_padding(tmp_path, dimension):
    """One cell at XFD1048576: refused from its declared size, or by the row cap if unsized."""
    book = rewrite_sheet(
        workbook(tmp_path / "far.xlsx"), "trusts", lambda xml: far_cell(xml, dimension)
    )
    assert book.stat().st_size < 20_000
    words = ("far.xlsx sheet trusts", "1,048,576 rows") if dimension else ("more than 5,000 rows",)
    assert_refused(cli_validate(book), *words)
    assert_refused(upload(book), *words)


def test_a_password_protected_workbook_is_named_as_such(tmp_path):
    book = tmp_path / "locked.xlsx"
    book.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 4096)
    assert_refused(cli_validate(book), "locked.xlsx", "password-protected")


# ---------------------------------------------------------------------------------------
# 3. large sheets that look valid


def test_more_rows_than_the_limit_are_refused_quickly(tmp_path):
    """A million deployment rows are refused at the row limit, not validated for minutes."""
    tables = shipped_tables()
    row = b"RBH,CXR-TRI\n"
    tables["deployments"] = b"trust_code,product_code\n" + row * (
        readers.MAX_TABLE_BYTES // len(row) - 10
    )
    result = cli_validate(folder_of(tables, tmp_path / "million"))
    assert_refused(result, "deployments.csv", "more than 100,000 rows")


def test_a_sheet_at_the_row_limit_is_validated_within_the_caps(tmp_path):
    """100,000 deployment rows (every one a duplicate) are checked column by column in time."""
    tables = shipped_tables()
    rows = shipped_rows("deployments")
    body = rows[1:] * (readers.MAX_ROWS["deployments"] // (len(rows) - 1))
    tables["deployments"] = csv_bytes([rows[0]] + body[: readers.MAX_ROWS["deployments"]])
    result = cli_validate(folder_of(tables, tmp_path / "many"))
    assert_refused(result, "duplicate trust_code/product_code", "more problems like these")


# ---------------------------------------------------------------------------------------
# 9. members, cells and names that cannot be read


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"flag": 1}, "is encrypted"),
        ({"method": 99}, "compression method"),
    ],
    ids=["encrypted", "unsupported-compression"],
)
def test_unreadable_zip_members_are_named(tmp_path, change, words):
    good = zip_of(shipped_tables(), tmp_path / "good.zip").read_bytes()
    bad = tmp_path / "bad.zip"
    bad.write_bytes(patched(good, **change))
    assert_refused(upload(bad), "bad.zip: icss.csv", words)


def test_a_damaged_zip_member_is_named(tmp_path):
    tables = shipped_tables()
    tables["trusts"] = tables["trusts"] * 20  # long enough to damage its middle
    content = bytearray(zip_of(tables, tmp_path / "good.zip").read_bytes())
    archive = zipfile.ZipFile(io.BytesIO(bytes(content)))
    info = archive.getinfo("trusts.csv")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    middle = start + info.compress_size // 2
    content[middle : middle + 8] = b"\xff" * 8
    bad = tmp_path / "damaged.zip"
    bad.write_bytes(bytes(content))
    assert_refused(upload(bad), "damaged.zip: trusts.csv", "damaged")


def test_a_table_twice_in_one_zip_is_an_error(tmp_path):
    twice = zip_of(shipped_tables(), tmp_path / "twice.zip", extra=(("copy/trusts.csv", b"x\n"),))
    assert_refused(upload(twice), "twice.zip: trusts.csv", "in the zip twice")


def test_a_cell_over_the_csv_field_limit_is_a_located_error(tmp_path):
    rows = shipped_rows("trusts")
    rows[1][rows[0].index("trust_name")] = '"' + "x" * 200_000 + '"'
    tables = shipped_tables()
    tables["trusts"] = csv_bytes(rows)
    for result in (
        cli_validate(folder_of(tables, tmp_path / "long")),
        upload(zip_of(tables, tmp_path / "long.zip")),
    ):
        assert_refused(result, "trusts.csv row 2", "could not be read as CSV")


def test_a_long_cell_under_the_csv_limit_is_refused_by_ours(tmp_path):
    rows = shipped_rows("trusts")
    rows[3][rows[0].index("trust_name")] = "y" * 5_000
    tables = shipped_tables()
    tables["trusts"] = csv_bytes(rows)
    result = cli_validate(folder_of(tables, tmp_path / "long"))
    assert_refused(result, "trusts.csv row 4 column trust_name", "5,000 characters")


@pytest.mark.parametrize("char", ["\x00", "\x07", "\t", "\u2028"], ids=["nul", "bell", "tab", "ls"])
def test_control_characters_in_names_are_refused_at_validation(tmp_path, char):
    """Refused when read, so exports and the Plan page's Excel download cannot fail later."""
    rows = shipped_rows("trusts")
    rows[1][rows[0].index("trust_name")] = f"North{char}gate"
    tables = shipped_tables()
    tables["trusts"] = csv_bytes(rows)
    text = assert_refused(cli_validate(folder_of(tables, tmp_path / "names")), "trusts.csv row 2")
    assert "control character" in text or "could not be read as CSV" in text


def test_numbers_too_large_for_money_are_refused(tmp_path):
    rows = shipped_rows("products")
    rows[1][rows[0].index("implementation_gbp")] = "1e300"
    tables = shipped_tables()
    tables["products"] = csv_bytes(rows)
    result = cli_validate(folder_of(tables, tmp_path / "huge"))
    assert_refused(result, "products.csv row 2 column implementation_gbp", "too large")


def test_limits_are_the_ones_the_readme_and_the_server_state():
    """The README's Limits section and Streamlit's upload cap say the library's numbers."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Limits and safety", 1)[1].split("\n## ", 1)[0]
    for figure in (
        readers.megabytes(readers.MAX_UPLOAD_BYTES),
        readers.megabytes(readers.MAX_UNPACKED_BYTES),
        readers.megabytes(readers.MAX_TABLE_BYTES),
        f"{readers.MAX_ROWS['trusts']:,}",
        f"{readers.MAX_ROWS['deployments']:,}",
        f"{readers.MAX_COLUMNS}",
        f"{readers.MAX_CELL_CHARS:,}",
        f"{MAX_PROBLEMS_LISTED}",
        f"{SECONDS:g} s",
        f"{PEAK_MB} MB",
    ):
        assert figure in section, figure
    config = (ROOT / ".streamlit" / "config.toml").read_text()
    assert f"maxUploadSize = {readers.MAX_UPLOAD_BYTES // (1024 * 1024)}\n" in config


def test_shipped_data_still_loads_after_the_limits(tmp_path):
    """The guards refuse only what is beyond them: the shipped data and a workbook load."""
    from planner.data import load_dataset, load_upload

    assert len(load_dataset(DEFAULT).trusts) == 8
    assert len(load_upload("data.xlsx", workbook(tmp_path / "d.xlsx").read_bytes()).trusts) == 8
    shutil.copytree(ROOT / "data" / "england", tmp_path / "england")
    assert len(load_dataset(tmp_path / "england").icss) == 42


# ---------------------------------------------------------------------------------------
# 9. scenario files: a YAML alias bomb and an oversized file


def alias_bomb(levels: int = 9) -> str:
    """A billion-laughs scenario: each anchor repeats the last ten times (10^9 at 9 levels)."""
    lines = ['a0: &a0 ["lol"]']
    for k in range(1, levels + 1):
        lines.append(f"a{k}: &a{k} [" + ", ".join([f"*a{k - 1}"] * 10) + "]")
    lines.append(f"budget_gbp: *a{levels}")
    return "\n".join(lines) + "\n"


def test_a_yaml_alias_bomb_is_refused_without_expanding_it(tmp_path):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(alias_bomb())
    assert bomb.stat().st_size < 2_000
    command = [sys.executable, "-m", "planner.cli", "solve", "--data", str(DEFAULT)]
    text = assert_refused(measure(*command, "--scenario", str(bomb)), "bomb.yaml", "alias")
    assert "lol" not in text  # the value is never expanded into the message
    assert len(text) < 2_000


def test_an_oversized_scenario_file_is_refused_unread(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("budget_gbp: 2m\n" + "# padding\n" * 200_000)
    command = [sys.executable, "-m", "planner.cli", "solve", "--data", str(DEFAULT)]
    assert_refused(measure(*command, "--scenario", str(big)), "big.yaml", "1,000,000 bytes")
