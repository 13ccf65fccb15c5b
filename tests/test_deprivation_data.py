"""The optional national IMD quintile shares of trusts through every way a dataset comes in.

``imd_q1_share`` .. ``imd_q5_share`` are optional: a folder, workbook or upload without them
still loads, with the five columns present in ``Dataset.trusts`` and NaN; given ones are
checked (all five or none, adding up to 1, the fifth equal to ``core20_share``).
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from builders import make_dataset

from planner.data import load_dataset, load_upload, template_files, write_template
from planner.errors import DataError, Problem
from planner.schema import FILES

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "data" / "default_ics"
QUINTILE_SHARES = [f"imd_q{q}_share" for q in range(1, 6)]
#: RBH, the most deprived default trust (row 9 of trusts.csv), and its shipped mix.
RBH_ROW = 9
RBH_MIX = [0.036, 0.07, 0.135, 0.259, 0.5]


def csv_texts(drop_shares: bool = False, **cells: str) -> dict[str, bytes]:
    """The default ICS's five files as bytes; ``cells`` sets RBH's trust cells by column."""
    out = {}
    for name in FILES:
        rows = list(csv.reader((DEFAULT / f"{name}.csv").read_text("utf-8").splitlines()))
        if name == "trusts":
            header = rows[0]
            for column, value in cells.items():
                rows[RBH_ROW - 1][header.index(column)] = value
            if drop_shares:
                keep = [i for i, h in enumerate(header) if h not in QUINTILE_SHARES]
                rows = [[r[i] for i in keep] for r in rows]
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(rows)
        out[name] = buffer.getvalue().encode("utf-8")
    return out


def zipped(files: dict[str, bytes], folder: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(f"{folder}{name}.csv", data)
    return buffer.getvalue()


def test_shipped_default_ics_loads_the_five_shares():
    trusts = load_dataset(DEFAULT).trusts
    assert trusts[QUINTILE_SHARES].dtypes.eq("float64").all()
    assert trusts[QUINTILE_SHARES].notna().all(axis=1).all()
    assert trusts.loc["RBH", QUINTILE_SHARES].tolist() == RBH_MIX
    assert (trusts["imd_q5_share"] == trusts["core20_share"]).all()


def test_shipped_england_loads_the_five_shares():
    trusts = load_dataset(ROOT / "data" / "england").trusts
    assert len(trusts) == 120
    assert trusts[QUINTILE_SHARES].notna().all(axis=1).all()
    assert trusts[QUINTILE_SHARES].sum(axis=1).round(9).eq(1.0).all()
    assert (trusts["imd_q5_share"] == trusts["core20_share"]).all()


@pytest.mark.parametrize("folder", ["", "my_ics/"])
def test_zip_upload_with_and_without_the_shares(folder):
    full = load_upload("data.zip", zipped(csv_texts(), folder)).trusts
    assert full.loc["RBH", QUINTILE_SHARES].tolist() == RBH_MIX
    bare = load_upload("data.zip", zipped(csv_texts(drop_shares=True), folder)).trusts
    assert list(bare.columns) == list(full.columns)
    assert bare[QUINTILE_SHARES].isna().all().all()
    pd.testing.assert_frame_equal(
        bare.drop(columns=QUINTILE_SHARES), full.drop(columns=QUINTILE_SHARES)
    )


def test_zip_upload_reports_shares_not_adding_to_one():
    upload = zipped(csv_texts(imd_q3_share="0.2"))  # RBH: 0.036 + 0.07 + 0.2 + 0.259 + 0.5
    with pytest.raises(DataError) as caught:
        load_upload("data.zip", upload)
    assert caught.value.problems == [
        Problem(
            "trusts.csv",
            RBH_ROW,
            "imd_q1_share",
            "imd_q1_share..imd_q5_share add up to 1.065, not 1",
            "make the five shares add up to 1",
        )
    ]


def test_xlsx_upload_reports_q5_unequal_to_core20_share(tmp_path):
    files = csv_texts(core20_share="0.48")
    with pd.ExcelWriter(tmp_path / "data.xlsx", engine="openpyxl") as xl:
        for name, data in files.items():
            pd.read_csv(io.BytesIO(data)).to_excel(xl, sheet_name=name, index=False)
    with pytest.raises(DataError) as caught:
        load_upload("data.xlsx", (tmp_path / "data.xlsx").read_bytes())
    assert [str(p) for p in caught.value.problems] == [
        f"data.xlsx sheet trusts row {RBH_ROW} column imd_q5_share: imd_q5_share 0.5 differs "
        "from core20_share 0.48 (both are the share in the most deprived national fifth); "
        "make core20_share equal imd_q5_share"
    ]


def test_all_problems_of_one_row_are_reported_together():
    upload = zipped(csv_texts(imd_q1_share="0.1", core20_share="0.4"))
    with pytest.raises(DataError) as caught:
        load_upload("data.zip", upload)
    assert [(p.row, p.column, p.problem) for p in caught.value.problems] == [
        (RBH_ROW, "imd_q1_share", "imd_q1_share..imd_q5_share add up to 1.064, not 1"),
        (
            RBH_ROW,
            "imd_q5_share",
            "imd_q5_share 0.5 differs from core20_share 0.4 (both are the share in the most "
            "deprived national fifth)",
        ),
    ]


def test_partly_given_shares_name_every_blank_column():
    upload = zipped(csv_texts(imd_q1_share="", imd_q2_share="", imd_q5_share=""))
    with pytest.raises(DataError) as caught:
        load_upload("data.zip", upload)
    assert caught.value.problems == [
        Problem(
            "trusts.csv",
            RBH_ROW,
            "imd_q1_share",
            "imd_q1_share, imd_q2_share, imd_q5_share are blank but the other quintile shares "
            "are given",
            "give all five quintile shares or leave all five blank",
        )
    ]


def test_datasets_built_in_code_without_shares_have_nan_columns():
    data = make_dataset([{"trust_code": "T1"}], [{"product_code": "P1"}])
    assert data.trusts.loc["T1", QUINTILE_SHARES].isna().all()
    given = make_dataset(
        [{"trust_code": "T1", **dict(zip(QUINTILE_SHARES, [0.2] * 5, strict=True))}],
        [{"product_code": "P1"}],
    )
    assert given.trusts.loc["T1", QUINTILE_SHARES].tolist() == [0.2] * 5
    assert list(given.tables()["trusts"].columns[6:11]) == QUINTILE_SHARES


def test_templates_carry_the_five_columns(tmp_path):
    write_template(tmp_path / "t")
    header = (tmp_path / "t" / "trusts.csv").read_text("utf-8").strip().split(",")
    assert header[header.index("core20_share") + 1 : header.index("core20_share") + 6] == (
        QUINTILE_SHARES
    )
    with zipfile.ZipFile(io.BytesIO(template_files()["templates.zip"])) as archive:
        assert archive.read("trusts.csv").decode("utf-8").strip().split(",") == header
