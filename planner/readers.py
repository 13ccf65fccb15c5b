"""Read dataset files into rows of text cells, within limits that keep one upload harmless.

A dataset arrives as a folder of CSV files, a ``.zip`` of them or an Excel workbook. This
module turns each table into a list of rows of text (header first) and nothing more;
:mod:`planner.data` parses and validates the cells. Every reader stops at a documented
limit before it allocates what a hostile file asks for, and says so as a :class:`Problem`:

* an upload or workbook file above :data:`MAX_UPLOAD_BYTES`;
* an archive (a ``.zip`` or the ``.xlsx`` itself) that unpacks to more than
  :data:`MAX_UNPACKED_BYTES`, holds more than :data:`MAX_ARCHIVE_MEMBERS` members, or one
  table above :data:`MAX_TABLE_BYTES` (a zip bomb);
* a table with more rows than :data:`MAX_ROWS` allows for it, more than
  :data:`MAX_COLUMNS` columns, or a cell longer than :data:`MAX_CELL_CHARS` characters;
* encrypted, damaged or unsupported archive members, two copies of one table, and sheets
  whose declared size is beyond the limits (read in streaming mode, never padded).

With these limits an upload is read in well under 10 s and 500 MB on two cores
(``tests/test_hostile_files.py`` measures both in a child process).
"""

from __future__ import annotations

import csv
import io
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from planner.errors import Problem
from planner.schema import ALL_FILES, FILES, OPTIONAL_FILES

#: Largest upload or workbook file accepted, compressed (a national dataset is under 1 MB).
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
#: Largest one table may be once unpacked: a CSV file, a zip member or a workbook's sheet.
MAX_TABLE_BYTES = 10 * 1024 * 1024
#: Largest everything in one archive (a zip of CSV files or an .xlsx) may unpack to.
MAX_UNPACKED_BYTES = 40 * 1024 * 1024
#: Most members an archive may hold (an .xlsx of the five sheets holds about 15).
MAX_ARCHIVE_MEMBERS = 1_000
#: Most data rows (below the header) each table may hold: far above England's
#: 42 ICSs, about 200 trusts and a few dozen products.
MAX_ROWS = {
    "icss": 1_000,
    "trusts": 5_000,
    "products": 2_000,
    "price_tiers": 20_000,
    "deployments": 100_000,
    "networks": 1_000,
    "regions": 1_000,
}
#: Most columns a table may have, counting blank ones up to the last filled cell.
MAX_COLUMNS = 100
#: Longest a cell may be, in characters.
MAX_CELL_CHARS = 1_000

#: How an OLE2 file (a password-protected workbook, or an old .xls) starts.
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_CENTRAL_DIRECTORY = b"PK\x01\x02"


def megabytes(size: int) -> str:
    """Return a size in bytes as whole megabytes for a message, e.g. ``'40 MB'``."""
    return f"{size / (1024 * 1024):,.0f} MB"


def _file_problem(label: str, problem: str, fix: str) -> Problem:
    return Problem(label, None, None, problem, fix)


# ---------------------------------------------------------------------------------------
# rows of text, within the row, column and cell limits


def limited_rows(
    rows: Iterable[list[str]], name: str, label: str, problems: list[Problem], kind: str = "file"
) -> list[list[str]] | None:
    """Collect one table's rows (header first), refusing it beyond the limits.

    Trailing blank cells and trailing blank rows are dropped. Returns None (with a problem
    appended) when the table has more rows than :data:`MAX_ROWS` allows, a row wider than
    :data:`MAX_COLUMNS`, or is empty.
    """
    limit = MAX_ROWS[name] + 1
    out: list[list[str]] = []
    long_cells = 0
    for number, row in enumerate(rows, start=1):
        if number > limit:
            problems.append(
                _file_problem(
                    label,
                    f"has more than {MAX_ROWS[name]:,} rows below the header (the limit for "
                    f"{name}, counting blank or formatted rows above the last one)",
                    "delete the rows below your data, or split the dataset by ICS",
                )
            )
            return None
        end = len(row)
        while end and not row[end - 1].strip():
            end -= 1
        if end > MAX_COLUMNS:
            problems.append(
                Problem(
                    label,
                    number,
                    None,
                    f"has {end:,} columns (at most {MAX_COLUMNS} are read)",
                    "delete the columns to the right of your data",
                )
            )
            return None
        cells = row[:end]
        for column, cell in enumerate(cells, start=1):
            if len(cell) > MAX_CELL_CHARS:
                long_cells += 1
                if long_cells == 1:
                    problems.append(
                        Problem(
                            label,
                            number,
                            cells_header(out, column),
                            f"a cell holds {len(cell):,} characters (at most {MAX_CELL_CHARS:,})",
                            "shorten it: codes, names and numbers are short",
                        )
                    )
        out.append(cells)
    if long_cells:
        return None
    while out and not out[-1]:
        out.pop()
    if not out:
        problems.append(
            _file_problem(label, f"{kind} is empty", "add the header row and the data rows")
        )
        return None
    return out


def cells_header(rows: list[list[str]], column: int) -> str:
    """Name a 1-based column by its header when the header is known, else by number."""
    if rows and column <= len(rows[0]) and rows[0][column - 1].strip():
        return rows[0][column - 1].strip()
    return f"#{column}"


# ---------------------------------------------------------------------------------------
# CSV text


def csv_rows(raw: bytes, name: str, label: str, problems: list[Problem]) -> list[list[str]] | None:
    """Decode one CSV table (UTF-8, optionally with a BOM) into rows, within the limits."""
    if len(raw) > MAX_TABLE_BYTES:
        problems.append(
            _file_problem(
                label,
                f"is {megabytes(len(raw))} (at most {megabytes(MAX_TABLE_BYTES)} per table)",
                "remove what is not part of the dataset, or split it by ICS",
            )
        )
        return None
    if not raw.strip():
        problems.append(
            _file_problem(label, "file is empty", "add the header row and the data rows")
        )
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problems.append(
            Problem(
                label,
                line,
                None,
                f"file is not UTF-8 text (byte 0x{raw[exc.start]:02x})",
                "save it as 'CSV UTF-8' from your spreadsheet program",
            )
        )
        return None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        return limited_rows(reader, name, label, problems)
    except csv.Error as exc:
        problems.append(
            Problem(
                label,
                reader.line_num or None,
                None,
                f"could not be read as CSV ({exc})",
                f"save it again as 'CSV UTF-8'; cells hold at most {MAX_CELL_CHARS:,} characters",
            )
        )
        return None


def read_csv_file(path: Path, name: str, problems: list[Problem]) -> list[list[str]] | None:
    """Read one table of a dataset folder, refusing a file above :data:`MAX_TABLE_BYTES`."""
    label = path.name
    size = path.stat().st_size
    if size > MAX_TABLE_BYTES:
        problems.append(
            _file_problem(
                label,
                f"is {megabytes(size)} (at most {megabytes(MAX_TABLE_BYTES)} per table)",
                "remove what is not part of the dataset, or split it by ICS",
            )
        )
        return None
    return csv_rows(path.read_bytes(), name, label, problems)


# ---------------------------------------------------------------------------------------
# archives: a zip of CSV files, or the zip inside an .xlsx


def open_archive(
    content: bytes, label: str, problems: list[Problem], not_one: tuple[str, str]
) -> zipfile.ZipFile | None:
    """Open an archive held in memory after checking its size, member count and unpacked size.

    Args:
        content: The archive's bytes.
        label: The user's name for it, for messages.
        problems: Where to append what is wrong.
        not_one: The problem and the fix to report if it is not an archive at all.
    """
    # Counting central-directory records first bounds what ZipFile would allocate.
    if content.count(_CENTRAL_DIRECTORY) > MAX_ARCHIVE_MEMBERS:
        problems.append(
            _file_problem(
                label,
                f"holds more than {MAX_ARCHIVE_MEMBERS:,} files",
                "put only the dataset's tables in it",
            )
        )
        return None
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        problems.append(_file_problem(label, *not_one))
        return None
    unpacked = sum(info.file_size for info in archive.infolist())
    if unpacked > MAX_UNPACKED_BYTES:
        problems.append(
            _file_problem(
                label,
                f"unpacks to {megabytes(unpacked)} (at most {megabytes(MAX_UNPACKED_BYTES)})",
                "upload only the dataset's tables; a national dataset unpacks to a few MB",
            )
        )
        return None
    return archive


def read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, label: str, problems: list[Problem]
) -> bytes | None:
    """Read one member, refusing encrypted, damaged, unsupported or oversized ones."""
    if info.flag_bits & 0x1:
        problems.append(
            _file_problem(label, "is encrypted", "zip the files again without a password")
        )
        return None
    if info.file_size > MAX_TABLE_BYTES:
        problems.append(
            _file_problem(
                label,
                f"unpacks to {megabytes(info.file_size)} (at most "
                f"{megabytes(MAX_TABLE_BYTES)} per table)",
                "remove what is not part of the dataset, or split it by ICS",
            )
        )
        return None
    try:
        with archive.open(info) as member:
            data = member.read(MAX_TABLE_BYTES + 1)
    except NotImplementedError:
        problems.append(
            _file_problem(
                label,
                "uses a compression method this tool cannot read",
                "zip the files again with your system's standard zip (deflate)",
            )
        )
        return None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, ValueError):
        problems.append(
            _file_problem(label, "is damaged and cannot be unpacked", "zip the files again")
        )
        return None
    return data


def zip_tables(content: bytes, label: str, problems: list[Problem]) -> dict[str, bytes]:
    """Return the raw bytes of each table found in a zip upload, by table name.

    The CSV files may sit at the top of the zip or in one folder inside it; other members
    (for example ``__MACOSX``) are ignored. A table present twice is refused.
    """
    archive = open_archive(content, label, problems, "zip the five CSV files and upload the .zip")
    if archive is None:
        return {}
    found: dict[str, zipfile.ZipInfo] = {}
    with archive:
        for info in archive.infolist():
            parts = Path(info.filename).parts
            if info.is_dir() or "__MACOSX" in parts or len(parts) > 2:
                continue
            stem = Path(info.filename).name
            if not (stem.endswith(".csv") and stem[:-4] in ALL_FILES):
                continue
            name = stem[:-4]
            if name in found:
                problems.append(
                    _file_problem(
                        f"{label}: {stem}",
                        f"is in the zip twice ({found[name].filename} and {info.filename})",
                        "keep one copy of each table in the zip",
                    )
                )
                continue
            found[name] = info
        if problems:
            return {}
        tables = {}
        for name, info in found.items():
            data = read_member(archive, info, f"{label}: {info.filename}", problems)
            if data is not None:
                tables[name] = data
    return tables


# ---------------------------------------------------------------------------------------
# Excel workbooks, read in streaming mode


def cell_text(value: object) -> str:
    """Return a workbook cell's value as the text a CSV file would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


NOT_A_WORKBOOK_FIX = "save the file as .xlsx (Excel workbook), or give a folder of CSV files"
NOT_A_WORKBOOK = ("is not an Excel workbook (it could not be opened as one)", NOT_A_WORKBOOK_FIX)


def workbook_sheets(
    content: bytes, label: str, problems: list[Problem], hint: str
) -> dict[str, list[list[str]]]:
    """Read the five sheets of an ``.xlsx`` workbook held in memory, within the limits.

    The optional sheets (``networks``, ``regions``) are read when the workbook has them.

    The workbook's zip is checked like any upload first. Sheets are read in openpyxl's
    read-only (streaming) mode; a sheet that declares a size beyond the limits is refused
    before any row is read, and rows are never padded beyond :data:`MAX_COLUMNS`.
    """
    if len(content) > MAX_UPLOAD_BYTES:
        problems.append(
            _file_problem(
                label,
                f"is {megabytes(len(content))} (at most {megabytes(MAX_UPLOAD_BYTES)})",
                "keep only the five sheets in the workbook",
            )
        )
        return {}
    if content.startswith(_OLE_MAGIC):
        problems.append(
            _file_problem(
                label,
                "is password-protected or an old-style .xls workbook",
                "save it as .xlsx (Excel workbook) without a password",
            )
        )
        return {}
    archive = open_archive(content, label, problems, NOT_A_WORKBOOK)
    if archive is None:
        return {}
    archive.close()
    import openpyxl  # imported here: only workbook users pay for it

    try:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=False)
    # BadZipFile, OSError, KeyError, ValueError or openpyxl's own InvalidFileException
    except Exception:
        problems.append(_file_problem(label, *NOT_A_WORKBOOK))
        return {}
    sheets: dict[str, list[list[str]]] = {}
    try:
        for name in FILES + tuple(n for n in OPTIONAL_FILES if n in book.sheetnames):
            where = f"{label} sheet {name}"
            if name not in book.sheetnames:
                problems.append(
                    _file_problem(where, "sheet is missing", f"add a sheet named {name!r} ({hint})")
                )
                continue
            try:
                rows = _sheet_rows(book[name], name, where, problems)
            # a damaged sheet inside a readable zip: openpyxl's parser raises many kinds
            except Exception:
                problems.append(
                    _file_problem(where, "sheet is damaged and cannot be read", NOT_A_WORKBOOK_FIX)
                )
                continue
            if rows is not None:
                sheets[name] = rows
    finally:
        book.close()
    return sheets


def _sheet_rows(sheet, name: str, where: str, problems: list[Problem]) -> list[list[str]] | None:
    declared_rows, declared_columns = sheet.max_row, sheet.max_column
    if (declared_rows or 0) > MAX_ROWS[name] + 1 or (declared_columns or 0) > MAX_COLUMNS:
        problems.append(
            _file_problem(
                where,
                f"sheet declares {declared_rows or 0:,} rows and {declared_columns or 0:,} "
                f"columns (at most {MAX_ROWS[name] + 1:,} rows with the header and "
                f"{MAX_COLUMNS} columns)",
                "delete the rows and columns beyond your data (select them, Delete) and save",
            )
        )
        return None
    # Trust the rows, not the declared size: a wrong one must not make us pad or stop early.
    sheet.reset_dimensions()
    values = sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS + 1)
    return limited_rows(_sheet_text(values), name, where, problems, kind="sheet")


def _sheet_text(values: Iterable[tuple]) -> Iterator[list[str]]:
    for row in values:
        if any(v is not None for v in row):
            yield [cell_text(v) for v in row]
        else:
            yield []


def read_workbook_file(
    path: Path, problems: list[Problem], hint: str
) -> dict[str, list[list[str]]]:
    """Read a workbook from disk, refusing one above :data:`MAX_UPLOAD_BYTES` unread."""
    size = path.stat().st_size
    if size > MAX_UPLOAD_BYTES:
        problems.append(
            _file_problem(
                path.name,
                f"is {megabytes(size)} (at most {megabytes(MAX_UPLOAD_BYTES)})",
                "keep only the five sheets in the workbook",
            )
        )
        return {}
    with path.open("rb") as handle:
        content = handle.read(MAX_UPLOAD_BYTES + 1)  # a file that grew meanwhile is refused
    return workbook_sheets(content, path.name, problems, hint)
