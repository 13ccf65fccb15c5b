"""Tables to files a spreadsheet can open safely: CSV and Excel, written atomically.

Text cells that start with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return) are
prefixed with an apostrophe so no spreadsheet runs them as formulas. Files are written to a
temporary name in the target's folder and renamed into place, so a failed write never leaves
half a file; a new file gets the mode a plain ``open()`` gives (``0o666`` less the umask) and
a replaced file keeps its mode. No output is ever written through a symbolic link: a link (or
anything else but a regular file) where an output will go is refused, even when overwriting
is allowed. This is the lowest layer of output: the data templates, the cost-sharing tables
and the plan exports (:mod:`planner.report`) all write through it.
"""

from __future__ import annotations

import errno
import io
import os
import secrets
import stat
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

#: How to get past :func:`refuse_unsafe_targets`: no option writes through a link.
LINK_FIX = "remove it or choose another path (outputs are never written through a link)"


def _unsafe_reason(path: Path) -> str | None:
    """Why ``path`` may not be written (a link, a folder, a device), or None if it may."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None  # a file where a folder should be: the write itself reports it
    if stat.S_ISLNK(mode):
        return "is a symbolic link"
    if stat.S_ISDIR(mode):
        return "is a folder"
    if not stat.S_ISREG(mode):
        return "is not a regular file"
    return None


def refuse_unsafe_targets(paths) -> None:
    """Raise if any of ``paths`` is a symbolic link (even a broken one) or not a regular file.

    Called before anything is written, whether or not overwriting is allowed: replacing or
    writing through a link planted where an output goes is never what the user asked for.

    Raises:
        FileExistsError: ``<path> is a symbolic link (and N more ...); nothing was written:
            remove it or choose another path ...`` (no ``errno``: a choice of path, not a
            failed write).
    """
    bad = [(str(p), reason) for p in paths if (reason := _unsafe_reason(Path(p)))]
    if bad:
        first, reason = bad[0]
        more = f" (and {len(bad) - 1} more of the files to write)" if len(bad) > 1 else ""
        raise FileExistsError(f"{first} {reason}{more}; nothing was written: {LINK_FIX}")


def refuse_existing(paths, fix: str = OVERWRITE_FIX) -> None:
    """Raise if any of ``paths`` exists, naming them all, before anything is written.

    A symbolic link counts as existing even when what it points to does not, and is refused
    first, with :func:`refuse_unsafe_targets`'s message.

    Raises:
        FileExistsError: ``<first path> already exists (and N more ...); nothing was
            written: <fix>``.
    """
    paths = list(paths)
    refuse_unsafe_targets(paths)
    there = [str(p) for p in paths if os.path.lexists(p)]
    if there:
        more = f" (and {len(there) - 1} more of the files to write)" if len(there) > 1 else ""
        raise FileExistsError(f"{there[0]} already exists{more}; nothing was written: {fix}")


def check_targets(paths, overwrite: bool, fix: str = OVERWRITE_FIX) -> None:
    """Refuse targets that are links (always) or exist (unless ``overwrite``), writing nothing.

    The one rule for every command that writes several files, checked before the first.

    Raises:
        FileExistsError: As :func:`refuse_unsafe_targets` or :func:`refuse_existing`.
    """
    paths = list(paths)
    if overwrite:
        refuse_unsafe_targets(paths)
    else:
        refuse_existing(paths, fix)


def _naming(exc: OSError, path: Path) -> OSError:
    """The same operating-system error, naming the user's file instead of the temporary one."""
    reason = exc.strerror or (os.strerror(exc.errno) if exc.errno else str(exc))
    renamed = OSError(exc.errno, reason, str(path))  # OSError picks the subclass from errno
    renamed.__cause__ = exc
    return renamed


def _make_folder(path: Path) -> None:
    """Create the folder ``path`` goes in; a file in the way is reported against ``path``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        raise NotADirectoryError(
            errno.ENOTDIR, f"{exc.filename or path.parent} is not a folder", str(path)
        ) from exc
    except OSError as exc:
        raise _naming(exc, path) from exc


def _create_temporary(path: Path) -> tuple[Path, int]:
    """Create a new, empty file next to ``path``; return its path and open descriptor.

    ``O_CREAT | O_EXCL`` with mode ``0o666`` gives the file exactly the mode ``open()`` would
    (the kernel applies the umask, so it is never read or changed); ``O_EXCL`` also refuses a
    link planted at the temporary name.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = path.with_name(f".{path.name[:200]}.{secrets.token_hex(4)}.tmp")
        try:
            return tmp, os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name next to it", str(path))


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write ``path`` through ``write`` on a temporary file renamed into place at the end.

    The temporary file sits in ``path``'s folder (created if missing). A new file gets the
    mode ``open()`` would give it (``0o666`` less the umask); an existing regular file is
    replaced and keeps its mode. ``path`` itself must not be a symbolic link, a folder or
    another special file, checked before writing and again just before the rename (which
    replaces a directory entry and never follows a link, so a link planted in between is
    replaced, never written through). A failed or interrupted write removes the temporary
    file and leaves ``path`` as it was.

    Raises:
        FileExistsError: Without ``errno``, if ``path`` is a link or not a regular file
            (see :func:`refuse_unsafe_targets`).
        OSError: If the file cannot be written (a full disk, no permission, a file where a
            folder should be); it always names ``path``, never the temporary file.
    """
    path = Path(path)
    refuse_unsafe_targets([path])
    _make_folder(path)
    try:
        tmp, fd = _create_temporary(path)
    except OSError as exc:
        raise _naming(exc, path) from exc
    try:
        try:
            existing = os.lstat(path)
        except OSError:
            existing = None
        os.close(fd)
        fd = -1
        if existing is not None and stat.S_ISREG(existing.st_mode):
            os.chmod(tmp, stat.S_IMODE(existing.st_mode))  # as open() on an existing file
        write(tmp)
        refuse_unsafe_targets([path])
        os.replace(tmp, path)
    except BaseException as exc:
        if fd >= 0:
            os.close(fd)
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno is not None:
            raise _naming(exc, path) from exc
        raise


def write_text(path: str | Path, text: str) -> None:
    """Write UTF-8 text atomically, byte for byte (no newline translation)."""
    write_bytes(path, text.encode("utf-8"))


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write bytes atomically."""
    atomic_write(Path(path), lambda p: p.write_bytes(data))


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
