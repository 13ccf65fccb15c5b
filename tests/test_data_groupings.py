"""Imaging networks and NHS regions in the data.

The optional trust columns ``network_code`` and ``region_code``, their name tables
``networks`` and ``regions``, :func:`trust_groups`, and the shipped and generated datasets
that carry them.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from builders import make_dataset
from test_bad_input import read_rows, write_rows

from planner.cli import main
from planner.data import (
    NATIONAL_UNIT,
    load_dataset,
    load_upload,
    template_files,
    trust_groups,
    write_template,
)
from planner.errors import DataError, Problem
from planner.formatting import Names
from planner.generate import REGION_CODES, TRUSTS_PER_NETWORK, generate_tables
from planner.scenario import GROUPINGS
from planner.schema import ALL_FILES, FILES, OPTIONAL_FILES, columns
from planner.sheets import write_xlsx_sheets

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "data" / "default_ics"
ENGLAND = ROOT / "data" / "england"
#: NHS England's seven regions, by their published codes.
NHS_REGIONS = {
    "Y56": "London",
    "Y58": "South West",
    "Y59": "South East",
    "Y60": "Midlands",
    "Y61": "East of England",
    "Y62": "North West",
    "Y63": "North East and Yorkshire",
}
#: The default ICS's trusts in file order (trusts.csv rows 2 to 9).
DEFAULT_TRUSTS = ["RAS", "RNV", "RFB", "RHM", "RCF", "RST", "RWY", "RBH"]
#: (name table, trust column, name column, what it is called, a shipped default code).
TABLES = [
    ("networks", "network_code", "network_name", "imaging network", "NNK"),
    ("regions", "region_code", "region_name", "NHS England region", "Y62"),
]


@pytest.fixture(scope="module")
def england():
    return load_dataset(ENGLAND)


@pytest.fixture(scope="module")
def default():
    return load_dataset(DEFAULT)


def copy_default(tmp_path: Path) -> Path:
    out = tmp_path / "data"
    shutil.copytree(DEFAULT, out)
    return out


def set_trust_cell(folder: Path, trust: str, column: str, value: str) -> int:
    """Set one cell of trusts.csv; return the trust's row number in the file."""
    rows = read_rows(folder / "trusts.csv")
    at = next(i for i, r in enumerate(rows) if r[0] == trust)
    rows[at][rows[0].index(column)] = value
    write_rows(folder / "trusts.csv", rows)
    return at + 1


def drop_trust_column(folder: Path, column: str) -> None:
    rows = read_rows(folder / "trusts.csv")
    i = rows[0].index(column)
    write_rows(folder / "trusts.csv", [r[:i] + r[i + 1 :] for r in rows])


def raw_workbook(tables: dict[str, pd.DataFrame], path: Path) -> None:
    """A workbook of the tables as given (the planner's own writer defuses formula-like text)."""
    with pd.ExcelWriter(path, engine="openpyxl") as book:
        for name, frame in tables.items():
            frame.to_excel(book, sheet_name=name, index=False)


def problems_of(path) -> list[Problem]:
    with pytest.raises(DataError) as caught:
        load_dataset(path)
    return list(caught.value.problems)


# ---------------------------------------------------------------------------------------
# the shipped datasets


def test_default_ics_is_one_network_in_the_north_west(default):
    assert default.networks.index.name == "network_code"
    assert default.networks["network_name"].to_dict() == {
        "NNK": "Northvale and Kelmoor Imaging Network"
    }
    assert default.regions["region_name"].to_dict() == {"Y62": "North West"}
    assert default.icss.loc["QNA", "region"] == "North West"
    assert sorted(default.trusts.index) == sorted(DEFAULT_TRUSTS)
    assert (default.trusts["network_code"] == "NNK").all()
    assert (default.trusts["region_code"] == "Y62").all()
    # the default ICS stays one ICS of 8 trusts: the network's other trusts are not shipped
    assert list(default.icss.index) == ["QNA"]


def test_england_has_about_twenty_networks_and_the_seven_regions(england):
    trusts, networks = england.trusts, england.networks
    assert len(networks) == 20
    assert networks.index.is_unique
    assert networks["network_name"].is_unique
    assert england.regions["region_name"].to_dict() == NHS_REGIONS
    # every trust in exactly one named network and one named region
    assert trusts["network_code"].isin(networks.index).all()
    assert trusts["region_code"].isin(england.regions.index).all()
    assert set(trusts["network_code"]) == set(networks.index)
    # a trust's region is its ICS's region
    region_name = trusts["region_code"].map(england.regions["region_name"])
    assert (region_name == trusts["ics_code"].map(england.icss["region"])).all()
    # networks cross ICS borders (but not region borders), and some ICSs span two networks
    by_network = trusts.groupby("network_code")
    assert (by_network["ics_code"].nunique() > 1).sum() >= 5
    assert (by_network["region_code"].nunique() == 1).all()
    assert (trusts.groupby("ics_code")["network_code"].nunique() > 1).any()
    assert by_network.size().between(2, 12).all()


def test_generated_networks_follow_the_model_at_other_sizes():
    for n_ics, n_trusts, seed in [(1, 1, 1), (3, 5, 2), (10, 40, 3), (42, 200, 4), (42, 336, 5)]:
        tables = generate_tables(n_ics, n_trusts, n_products=6, seed=seed)
        trusts, networks = tables["trusts"], tables["networks"]
        used_regions = set(trusts["region_code"])
        assert len(networks) == max(len(used_regions), round(n_trusts / TRUSTS_PER_NETWORK))
        assert networks["network_code"].is_unique
        assert networks["network_name"].is_unique
        assert set(trusts["network_code"]) == set(networks["network_code"])
        assert (trusts.groupby("network_code")["region_code"].nunique() == 1).all()
        assert list(tables["regions"]["region_code"]) == sorted(used_regions)
        ics_region = dict(zip(tables["icss"]["ics_code"], tables["icss"]["region"], strict=True))
        assert [REGION_CODES[ics_region[c]] for c in trusts["ics_code"]] == list(
            trusts["region_code"]
        )
        # network names use no place of an ICS name
        places = {p for name in tables["icss"]["ics_name"] for p in name[:-4].split(" and ")}
        assert not any(p in name for name in networks["network_name"] for p in places)


def test_generator_region_codes_are_nhs_englands():
    assert {code: name for name, code in REGION_CODES.items()} == NHS_REGIONS


# ---------------------------------------------------------------------------------------
# bad input: every problem names the file, row, column and fix


@pytest.mark.parametrize(("table", "column", "name_column", "noun", "code"), TABLES)
def test_a_code_not_in_the_name_table_is_refused(tmp_path, table, column, name_column, noun, code):
    data = copy_default(tmp_path)
    row = set_trust_cell(data, "RHM", column, "ZZ9")
    assert problems_of(data) == [
        Problem(
            "trusts.csv",
            row,
            column,
            f"{noun} code 'ZZ9' is not in {table}.csv",
            f"add it to {table}.csv ({column}, {name_column}) or correct the code",
        )
    ]


@pytest.mark.parametrize(("table", "column", "name_column", "noun", "code"), TABLES)
def test_a_name_table_without_its_trust_column_is_refused(
    tmp_path, table, column, name_column, noun, code
):
    data = copy_default(tmp_path)
    drop_trust_column(data, column)
    assert problems_of(data) == [
        Problem(
            "trusts.csv",
            1,
            column,
            f"column is missing, but {table}.csv names 1 {noun}",
            f"add a {column} column giving each trust's {noun} (a code from {table}.csv), "
            f"or remove {table}.csv",
        )
    ]


@pytest.mark.parametrize(("table", "column", "name_column", "noun", "code"), TABLES)
def test_name_table_cells_are_checked(tmp_path, table, column, name_column, noun, code):
    data = copy_default(tmp_path)
    description = next(c.description for c in columns(table) if c.column == name_column)
    write_rows(
        data / f"{table}.csv",
        [
            [column, name_column],
            [code, "Fine name"],
            [code, "Repeated code"],
            ["ZZ1", ""],
            ["ZZ2", "=HYPERLINK(1)"],
            ["Z Z", "Spaced code"],
        ],
    )
    assert problems_of(data) == [
        Problem(f"{table}.csv", 4, name_column, "is empty", f"fill it in ({description})"),
        Problem(
            f"{table}.csv",
            5,
            name_column,
            "'=HYPERLINK(1)' looks like a spreadsheet formula",
            "remove the leading =, +, - or @ (text must not start with them)",
        ),
        Problem(
            f"{table}.csv",
            6,
            column,
            "'Z Z' is not a valid code",
            "use letters, digits, '_', '-' or '.' with no spaces",
        ),
    ]
    write_rows(data / f"{table}.csv", [[column, name_column], [code, "Fine"], [code, "Repeated"]])
    assert problems_of(data) == [
        Problem(
            f"{table}.csv",
            3,
            column,
            f"duplicate {column} {code}",
            "give each row its own code or remove the repeated row",
        )
    ]


def test_problems_in_a_workbook_name_its_sheet(tmp_path, default):
    tables = default.tables()
    tables["networks"] = pd.DataFrame({"network_code": ["NNK"], "network_name": ["=1+1"]})
    tables["trusts"].loc[2, "network_code"] = "NOPE"
    book = tmp_path / "data.xlsx"
    raw_workbook(tables, book)
    assert [str(p) for p in problems_of(book)] == [
        "data.xlsx sheet networks row 2 column network_name: '=1+1' looks like a spreadsheet "
        "formula; remove the leading =, +, - or @ (text must not start with them)",
    ]
    tables["networks"] = pd.DataFrame({"network_code": ["NNK"], "network_name": ["Fine"]})
    raw_workbook(tables, book)
    row = 2 + 2  # the header is row 1 and RAS row 2
    assert [str(p) for p in problems_of(book)] == [
        f"data.xlsx sheet trusts row {row} column network_code: imaging network code 'NOPE' "
        "is not in data.xlsx sheet networks; add it to data.xlsx sheet networks "
        "(network_code, network_name) or correct the code",
    ]


def test_the_command_line_exits_2_naming_file_row_column_and_fix(tmp_path, capsys):
    data = copy_default(tmp_path)
    row = set_trust_cell(data, "RBH", "network_code", "NXX")
    assert main(["validate", "--data", str(data)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip() == (
        f"error: trusts.csv row {row} column network_code: imaging network code 'NXX' is not "
        "in networks.csv; add it to networks.csv (network_code, network_name) or correct the "
        "code"
    )


def test_blank_codes_load_and_only_their_grouping_refuses_them(tmp_path):
    data = copy_default(tmp_path)
    row = set_trust_cell(data, "RST", "network_code", "")
    dataset = load_dataset(data)
    assert dataset.trusts.loc["RST", "network_code"] == ""
    assert (trust_groups(dataset, "region") == "Y62").all()
    with pytest.raises(DataError) as caught:
        trust_groups(dataset, "network")
    assert caught.value.problems == [
        Problem(
            "trusts.csv",
            row,
            "network_code",
            "trust RST has no imaging network (blank network_code), so it has no buyer under "
            "a route that buys or holds money by network",
            "fill in its network_code with a code from networks.csv, or choose a route that "
            "does not buy or hold money by network",
        )
    ]


@pytest.mark.parametrize(("table", "column", "name_column", "noun", "code"), TABLES)
def test_codes_without_a_name_table_stand_alone(tmp_path, table, column, name_column, noun, code):
    data = copy_default(tmp_path)
    (data / f"{table}.csv").unlink()
    dataset = load_dataset(data)
    assert getattr(dataset, table).empty
    assert (trust_groups(dataset, table[:-1]) == code).all()
    assert dataset.names().unit(code) == code
    tables = dataset.tables()
    assert table not in tables
    assert column in tables["trusts"]
    # a header-only table names nothing either
    write_rows(data / f"{table}.csv", [[column, name_column]])
    assert getattr(load_dataset(data), table).empty


# ---------------------------------------------------------------------------------------
# trust_groups


def test_trust_groups_gives_each_trusts_code_in_every_grouping(england):
    trusts = england.trusts
    expected = {
        "trust": pd.Series(trusts.index, index=trusts.index),
        "ics": trusts["ics_code"],
        "network": trusts["network_code"],
        "region": trusts["region_code"],
        "nation": pd.Series(NATIONAL_UNIT, index=trusts.index),
    }
    assert set(expected) == set(GROUPINGS)
    for grouping, codes in expected.items():
        got = trust_groups(england, grouping)
        assert got.name == grouping
        assert got.index.equals(trusts.index)
        assert got.tolist() == codes.tolist(), grouping
    assert NATIONAL_UNIT == "ENGLAND"
    with pytest.raises(ValueError, match="grouping must be one of trust, ics, network"):
        trust_groups(england, "county")


@pytest.mark.parametrize(("grouping", "column", "table", "noun"), [
    ("network", "network_code", "networks", "imaging network"),
    ("region", "region_code", "regions", "NHS England region"),
])  # fmt: skip
def test_trust_groups_refuses_a_grouping_the_data_lack(grouping, column, table, noun):
    dataset = make_dataset([{"trust_code": "A"}, {"trust_code": "B"}], [{"product_code": "P"}])
    assert dataset.networks.empty
    assert dataset.regions.empty
    for fine in ("trust", "ics", "nation"):
        assert len(trust_groups(dataset, fine)) == 2
    with pytest.raises(DataError) as caught:
        trust_groups(dataset, grouping)
    name_column = f"{grouping}_name"
    assert caught.value.problems == [
        Problem(
            "trusts.csv",
            None,
            column,
            f"the data give no {noun}s, so trusts cannot be grouped by {grouping}",
            f"give each trust a {column} in trusts.csv (and name them in {table}.csv: "
            f"{column}, {name_column}), or choose a route that does not buy or hold money "
            f"by {grouping}",
        )
    ]


def test_trust_groups_lists_every_blank_trust_of_a_built_dataset():
    dataset = make_dataset(
        [{"trust_code": "B", "network_code": "N1"}, {"trust_code": "A"}, {"trust_code": "C"}],
        [{"product_code": "P"}],
    )
    with pytest.raises(DataError) as caught:
        trust_groups(dataset, "network")
    problems = caught.value.problems
    assert [(p.file, p.row, p.column) for p in problems] == [
        ("trusts.csv", 3, "network_code"),
        ("trusts.csv", 4, "network_code"),
    ]
    assert [p.problem.split(" has ")[0] for p in problems] == ["trust A", "trust C"]


def test_an_ics_view_keeps_whole_name_tables_and_its_own_trusts_of_a_network(england):
    trusts = england.trusts
    crossing = trusts.groupby("network_code")["ics_code"].nunique()
    network = crossing[crossing > 1].index[0]
    ics = trusts.loc[trusts["network_code"] == network, "ics_code"].iloc[0]
    view = england.subset([ics])
    pd.testing.assert_frame_equal(view.networks, england.networks)
    pd.testing.assert_frame_equal(view.regions, england.regions)
    in_view = trust_groups(view, "network")
    assert set(in_view.index) == set(trusts.index[trusts["ics_code"] == ics])
    members = in_view.index[in_view == network]
    whole = trusts.index[trusts["network_code"] == network]
    assert 0 < len(members) < len(whole)
    assert view.names().network(network) == england.networks.loc[network, "network_name"]


# ---------------------------------------------------------------------------------------
# names, tables, workbooks, uploads and templates


def test_names_carry_networks_and_regions(default):
    names = default.names()
    assert names.network("NNK") == "Northvale and Kelmoor Imaging Network"
    assert names.network_label("NNK") == "Northvale and Kelmoor Imaging Network (NNK)"
    assert names.region("Y62") == "North West"
    assert names.region_label("Y62") == "North West (Y62)"
    assert names.unit("NNK") == names.network("NNK")
    assert names.unit_label("Y62") == "North West (Y62)"
    assert names.unit("RBH") == default.trusts.loc["RBH", "trust_name"]
    assert names.network("N0") == "N0"
    old_style = Names({"T": "Trust"}, {"P": "Product"}, {"Q": "ICS"}, {"X": "Nat"})
    assert (old_style.networks, old_style.regions, old_style.unit("X")) == ({}, {}, "Nat")


def test_tables_include_the_groupings_only_when_present(default):
    tables = default.tables()
    assert list(tables) == list(ALL_FILES)
    assert list(tables["networks"].columns) == ["network_code", "network_name"]
    assert list(tables["trusts"].columns) == [c.column for c in columns("trusts")]
    bare = make_dataset([{"trust_code": "A"}], [{"product_code": "P"}]).tables()
    assert list(bare) == list(FILES)
    assert "network_code" not in bare["trusts"]
    assert "region_code" not in bare["trusts"]


def assert_same_groupings(loaded, original):
    for name in OPTIONAL_FILES:
        pd.testing.assert_frame_equal(getattr(loaded, name), getattr(original, name))
    pd.testing.assert_frame_equal(loaded.trusts, original.trusts)


def test_workbook_and_folder_round_trip(tmp_path, england):
    book = tmp_path / "england.xlsx"
    write_xlsx_sheets(england.tables(), book)
    assert set(openpyxl.load_workbook(book, read_only=True).sheetnames) == set(ALL_FILES)
    assert_same_groupings(load_dataset(book), england)
    folder = tmp_path / "folder"
    folder.mkdir()
    for name, frame in england.tables().items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    assert_same_groupings(load_dataset(folder), england)


def test_uploads_carry_the_name_tables(tmp_path, default):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in ALL_FILES:
            archive.writestr(f"my_ics/{name}.csv", (DEFAULT / f"{name}.csv").read_bytes())
    assert_same_groupings(load_upload("data.zip", buffer.getvalue()), default)
    book = tmp_path / "data.xlsx"
    write_xlsx_sheets(default.tables(), book)
    assert_same_groupings(load_upload("data.xlsx", book.read_bytes()), default)
    # without the optional sheets the codes stand alone
    write_xlsx_sheets({n: f for n, f in default.tables().items() if n in FILES}, book)
    bare = load_upload("data.xlsx", book.read_bytes())
    assert bare.networks.empty
    assert bare.regions.empty
    assert (bare.trusts["network_code"] == "NNK").all()


def test_templates_hold_the_name_tables(tmp_path):
    written = write_template(tmp_path / "tpl")
    names = {p.name for p in written}
    assert {"networks.csv", "regions.csv", "template.xlsx"} <= names
    assert read_rows(tmp_path / "tpl" / "networks.csv") == [["network_code", "network_name"]]
    trust_header = read_rows(tmp_path / "tpl" / "trusts.csv")[0]
    assert trust_header[-2:] == ["network_code", "region_code"]
    book = openpyxl.load_workbook(tmp_path / "tpl" / "template.xlsx", read_only=True)
    assert {"networks", "regions"} <= set(book.sheetnames)
    with zipfile.ZipFile(io.BytesIO(template_files()["templates.zip"])) as archive:
        assert {"networks.csv", "regions.csv"} <= set(archive.namelist())
