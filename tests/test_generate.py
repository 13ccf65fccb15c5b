"""Tests of the seeded synthetic-dataset generator and the shipped generated data."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner.generate import (
    TABLES,
    generate_tables,
    load_catalogue,
    quintile_mix,
    table_to_csv,
    write_tables,
)

REPO = Path(__file__).resolve().parents[1]
DICTIONARY = REPO / "planner" / "schema" / "dictionary.csv"
ENGLAND = REPO / "data" / "england"
DEFAULT_ICS = REPO / "data" / "default_ics"
QUINTILE_SHARES = [f"imd_q{q}_share" for q in range(1, 6)]
CATALOGUE = REPO / "planner" / "catalogue"
CATALOGUE_USE_CASES = {
    "chest_xray",
    "lung_nodule_ct",
    "stroke_lvo_ct",
    "stroke_perfusion_ct",
    "ct_head_bleed",
    "fracture_xray",
    "breast_screening",
    "prostate_mri",
    "vertebral_fracture_ct",
    "pe_ct",
}


def dictionary_columns() -> dict[str, list[str]]:
    # Read the dictionary file directly so the test does not trust the generator's own reader.
    dictionary = pd.read_csv(DICTIONARY, dtype=str, keep_default_na=False)
    return {name: group["column"].tolist() for name, group in dictionary.groupby("file")}


def ics_core20(trusts: pd.DataFrame) -> pd.Series:
    weighted = (trusts["core20_share"] * trusts["population"]).groupby(trusts["ics_code"]).sum()
    return weighted / trusts.groupby("ics_code")["population"].sum()


def check_price_tiers(products: pd.DataFrame, tiers: pd.DataFrame) -> None:
    assert set(tiers["product_code"]) == set(products["product_code"])
    for code, group in tiers.groupby("product_code"):
        group = group.sort_values("tier")
        assert group["tier"].tolist() == list(range(1, len(group) + 1)), code
        assert group["min_studies_per_year"].iloc[0] == 0, code
        assert group["min_studies_per_year"].diff().dropna().gt(0).all(), code
        assert group["price_per_study_gbp"].diff().dropna().le(0).all(), code
        assert group["price_per_study_gbp"].ge(0).all(), code


def check_products(products: pd.DataFrame) -> None:
    assert products["product_code"].is_unique
    assert products["product_name"].is_unique
    assert products["modality"].isin(["xray", "ct", "mri", "mammography"]).all()
    assert products["applicable_share"].between(0, 1, inclusive="right").all()
    for stem in ("minutes_saved", "qalys_per_1000"):
        central = "minutes_saved_per_study" if stem == "minutes_saved" else stem
        assert (products[f"{stem}_low"] <= products[central]).all()
        assert (products[central] <= products[f"{stem}_high"]).all()
    with_prerequisite = products[products["prerequisite"] != ""]
    assert with_prerequisite["prerequisite"].isin(products["product_code"]).all()
    for column in ("needs_platform", "framework"):
        assert products[column].isin(["yes", "no"]).all()


def check_deployments(tables: dict[str, pd.DataFrame]) -> None:
    deployments = tables["deployments"]
    trusts = tables["trusts"].set_index("trust_code")
    products = tables["products"].set_index("product_code")
    assert deployments["trust_code"].isin(trusts.index).all()
    assert deployments["product_code"].isin(products.index).all()
    use_case = deployments["product_code"].map(products["use_case"])
    assert not pd.concat([deployments["trust_code"], use_case], axis=1).duplicated().any()
    needs_platform = deployments["product_code"].map(products["needs_platform"]) == "yes"
    has_platform = deployments["trust_code"].map(trusts["has_platform"]) == "yes"
    assert (~needs_platform | has_platform).all()


def test_same_seed_gives_identical_tables():
    first = generate_tables(n_ics=10, n_trusts=30, n_products=40, seed=7)
    second = generate_tables(n_ics=10, n_trusts=30, n_products=40, seed=7)
    assert list(first) == list(TABLES)
    for name in TABLES:
        pd.testing.assert_frame_equal(first[name], second[name])
        assert table_to_csv(first[name]) == table_to_csv(second[name])


def test_different_seed_gives_different_tables():
    first = generate_tables(seed=1)
    second = generate_tables(seed=2)
    assert not first["trusts"].equals(second["trusts"])
    assert not first["icss"].equals(second["icss"])
    # The catalogue is fixed when n_products is None, whatever the seed.
    assert first["products"].equals(second["products"])
    grown_first = generate_tables(n_products=40, seed=1)["products"]
    grown_second = generate_tables(n_products=40, seed=2)["products"]
    assert not grown_first.equals(grown_second)


def test_england_sizes_give_42_icss_with_1_to_8_trusts_each():
    tables = generate_tables(n_ics=42, n_trusts=120)
    icss, trusts = tables["icss"], tables["trusts"]
    assert len(icss) == 42
    assert icss["ics_code"].is_unique
    assert len(trusts) == 120
    assert trusts["trust_code"].is_unique
    assert trusts["trust_name"].is_unique
    counts = trusts.groupby("ics_code").size()
    assert set(counts.index) == set(icss["ics_code"])
    assert counts.between(1, 8).all()
    assert counts.sum() == 120
    assert counts.max() > 1  # trusts really are spread, not one per ICS plus a remainder


def test_shapes_for_200_trusts_and_60_products():
    tables = generate_tables(n_ics=42, n_trusts=200, n_products=60, seed=11)
    assert tables["icss"].shape == (42, 3)
    assert tables["trusts"].shape == (200, 21)
    assert tables["products"].shape == (60, 20)
    assert len(tables["price_tiers"]) >= 60
    assert len(tables["deployments"]) >= 1
    assert len(tables["deployments"]) <= 200
    products = tables["products"]
    assert set(products["use_case"]) >= CATALOGUE_USE_CASES
    assert products["use_case"].nunique() > len(CATALOGUE_USE_CASES)  # some extra use cases
    check_products(products)
    check_price_tiers(products, tables["price_tiers"])
    check_deployments(tables)


@pytest.mark.parametrize(
    "sizes",
    [
        {},
        {"n_ics": 42, "n_trusts": 200, "n_products": 60},
        {"n_ics": 3, "n_trusts": 5, "n_products": 6},
    ],
)
def test_columns_equal_the_dictionary(sizes):
    expected = dictionary_columns()
    tables = generate_tables(**sizes)
    assert set(tables) == set(expected)
    for name, table in tables.items():
        assert list(table.columns) == expected[name], name


def test_core20_spread_across_icss_covers_one_to_fifty_percent():
    trusts = generate_tables(n_ics=42, n_trusts=120)["trusts"]
    by_ics = ics_core20(trusts)
    assert by_ics.min() <= 0.03
    assert 0.40 <= by_ics.max() <= 0.60
    assert 0.12 <= by_ics.mean() <= 0.28
    assert trusts["core20_share"].between(0, 1).all()
    assert trusts["imd_score"].between(0, 100).all()


def test_deprived_trusts_have_more_vacancies_and_less_headroom():
    trusts = generate_tables(n_ics=42, n_trusts=200)["trusts"]
    headroom_per_head = trusts["local_budget_gbp"] / trusts["population"]
    assert trusts["core20_share"].corr(trusts["vacancy_rate"]) > 0.5
    assert trusts["core20_share"].corr(headroom_per_head) < -0.5
    assert trusts["core20_share"].corr(trusts["imd_score"]) > 0.9


def test_trust_figures_stay_in_the_reference_ranges():
    trusts = generate_tables(n_ics=42, n_trusts=200, seed=3)["trusts"]
    assert trusts["xray_per_year"].between(80_000, 450_000).all()
    assert trusts["ct_per_year"].between(20_000, 150_000).all()
    assert trusts["mri_per_year"].between(10_000, 80_000).all()
    mammography = trusts["mammography_per_year"]
    assert ((mammography == 0) | mammography.between(15_000, 60_000)).all()
    assert trusts["vacancy_rate"].between(0, 1).all()
    assert trusts["has_platform"].isin(["yes", "no"]).all()
    assert trusts["it_capacity"].between(1, 6).all()
    assert (trusts["local_budget_gbp"] > 0).all()


def test_deployments_obey_platform_and_use_case_rules():
    for seed in range(5):
        check_deployments(generate_tables(n_ics=20, n_trusts=80, n_products=40, seed=seed))


@pytest.mark.parametrize("n_products", [1, 5, 10, 12, 23])
def test_small_catalogues_keep_use_cases_and_prerequisites(n_products):
    tables = generate_tables(n_ics=2, n_trusts=4, n_products=n_products)
    products = tables["products"]
    assert len(products) == n_products
    assert products["use_case"].nunique() == min(n_products, len(CATALOGUE_USE_CASES))
    check_products(products)
    check_price_tiers(products, tables["price_tiers"])
    check_deployments(tables)


@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        ({"n_ics": 0, "n_trusts": 1}, "n_ics"),
        ({"n_ics": 5, "n_trusts": 4}, "n_trusts"),
        ({"n_ics": 2, "n_trusts": 17}, "n_trusts"),
        ({"n_products": 0}, "n_products"),
    ],
)
def test_impossible_sizes_are_refused(sizes, message):
    with pytest.raises(ValueError, match=message):
        generate_tables(**sizes)


def test_committed_england_data_equals_a_fresh_generation(tmp_path):
    write_tables(generate_tables(42, 120, seed=2026), tmp_path)
    for name in TABLES:
        committed = (ENGLAND / f"{name}.csv").read_bytes()
        fresh = (tmp_path / f"{name}.csv").read_bytes()
        assert committed == fresh, (
            f"data/england/{name}.csv differs from a fresh generation; regenerate it with "
            "`planner generate --out data/england --seed 2026` (after removing the folder)"
        )


def test_catalogue_package_data_equals_default_ics():
    for name in ("products", "price_tiers"):
        assert (CATALOGUE / f"{name}.csv").read_bytes() == (
            DEFAULT_ICS / f"{name}.csv"
        ).read_bytes()
    products, tiers = load_catalogue()
    assert len(products) == 24
    assert set(products["use_case"]) == CATALOGUE_USE_CASES
    assert 12 <= (products["framework"] == "yes").sum() <= 16
    framework_use_cases = products.loc[products["framework"] == "yes", "use_case"]
    assert set(framework_use_cases) == CATALOGUE_USE_CASES
    check_products(products)
    check_price_tiers(products, tiers)


def test_default_ics_matches_the_dictionary_and_its_rules():
    expected = dictionary_columns()
    tables = {
        name: pd.read_csv(DEFAULT_ICS / f"{name}.csv", keep_default_na=False) for name in TABLES
    }
    for name, table in tables.items():
        assert list(table.columns) == expected[name], name
    trusts = tables["trusts"]
    assert len(trusts) == 8
    assert trusts["core20_share"].min() <= 0.05
    assert trusts["core20_share"].max() >= 0.45
    assert trusts["local_budget_gbp"].sum() == pytest.approx(2_400_000, rel=0.05)
    assert (trusts["has_platform"] == "yes").sum() == 2
    check_products(tables["products"])
    check_deployments(tables)


def test_write_tables_refuses_to_overwrite(tmp_path):
    write_tables(generate_tables(n_ics=2, n_trusts=4, seed=1), tmp_path)
    before = {name: (tmp_path / f"{name}.csv").read_bytes() for name in TABLES}
    other = generate_tables(n_ics=2, n_trusts=4, seed=2)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_tables(other, tmp_path)
    assert {name: (tmp_path / f"{name}.csv").read_bytes() for name in TABLES} == before
    write_tables(other, tmp_path, overwrite=True)
    assert (tmp_path / "trusts.csv").read_bytes() != before["trusts"]


def test_write_tables_round_trips_and_checks_columns(tmp_path):
    tables = generate_tables(n_ics=3, n_trusts=9, n_products=30, seed=5)
    paths = write_tables(tables, tmp_path / "new" / "folder")
    for name in TABLES:
        text = paths[name].read_text(encoding="utf-8")
        assert "\r" not in text
        read = pd.read_csv(paths[name], keep_default_na=False)
        assert list(read.columns) == list(tables[name].columns)
        assert len(read) == len(tables[name])
    reordered = dict(tables, icss=tables["icss"][["region", "ics_code", "ics_name"]])
    with pytest.raises(ValueError, match="dictionary"):
        write_tables(reordered, tmp_path / "other")
    with pytest.raises(ValueError, match="missing"):
        write_tables({"icss": tables["icss"]}, tmp_path / "other")
    assert not np.any([(tmp_path / "other" / f"{name}.csv").exists() for name in TABLES])


# --------------------------------------------------------------------------------------------
# population by national IMD quintile


def thousandths(shares) -> list[int]:
    return [round(float(v) * 1000) for v in shares]


def test_quintile_mix_at_core20_share_0_2_is_a_fifth_each():
    assert quintile_mix(0.2).tolist() == [0.2, 0.2, 0.2, 0.2, 0.2]
    assert quintile_mix(0.2, decimals=None).tolist() == [0.2, 0.2, 0.2, 0.2, 0.2]


@pytest.mark.parametrize(
    ("core20", "expected"),
    [
        (0.03, [0.526, 0.257, 0.126, 0.061, 0.03]),
        (0.19, [0.21, 0.205, 0.2, 0.195, 0.19]),
        (0.26, [0.148, 0.17, 0.196, 0.226, 0.26]),
        (0.5, [0.036, 0.07, 0.135, 0.259, 0.5]),
        (0.0, [1.0, 0.0, 0.0, 0.0, 0.0]),
        (1.0, [0.0, 0.0, 0.0, 0.0, 1.0]),
    ],
)
def test_quintile_mix_values(core20, expected):
    assert quintile_mix(core20).tolist() == expected


def test_quintile_mix_is_an_exponential_tilt_hitting_the_core20_share():
    for core20 in (0.005, 0.03, 0.13, 0.34, 0.75):
        mix = quintile_mix(core20, decimals=None)
        assert mix[4] == core20
        assert mix.sum() == pytest.approx(1.0, abs=1e-12)
        ratios = mix[1:] / mix[:-1]  # exp(b) between neighbouring quintiles: one constant
        assert ratios == pytest.approx(np.full(4, ratios[0]), rel=1e-9)
        assert (ratios[0] > 1) == (core20 > 0.2)


def test_quintile_mix_rounds_to_thousandths_adding_to_one_with_q5_the_core20_share():
    for k in range(1001):
        core20 = k / 1000
        mix = quintile_mix(core20)
        assert mix[4] == core20, core20
        assert sum(thousandths(mix)) == 1000, core20
        assert mix.sum() == pytest.approx(1.0, abs=1e-12)
        assert (mix >= 0).all(), core20
        assert thousandths(mix) == [v * 1000 for v in mix.tolist()], core20  # 3 decimals
        exact = quintile_mix(core20, decimals=None)
        assert np.abs(mix - exact).max() <= 0.0025, core20


def test_quintile_mix_puts_the_rounding_residue_on_the_largest_of_q1_to_q4():
    # 0.091: q1..q4 round to 352 + 251 + 179 + 128 thousandths, one too many with q5's 91,
    # so q1 (the largest) gives one up
    assert thousandths(np.round(quintile_mix(0.091, decimals=None)[:4], 3)) == [352, 251, 179, 128]
    assert thousandths(quintile_mix(0.091)) == [351, 251, 179, 128, 91]
    # 0.222: 179 + 189 + 199 + 210 + 222 = 999, so q4 (the largest of q1..q4) gets one more
    assert thousandths(np.round(quintile_mix(0.222, decimals=None)[:4], 3)) == [179, 189, 199, 210]
    assert thousandths(quintile_mix(0.222)) == [179, 189, 199, 211, 222]


def test_more_deprived_trusts_have_more_in_q5_and_less_in_q1():
    mixes = [quintile_mix(c) for c in (0.01, 0.05, 0.1, 0.2, 0.3, 0.45, 0.6)]
    for less, more in zip(mixes[:-1], mixes[1:], strict=True):
        assert more[4] > less[4]
        assert more[0] < less[0]


def test_quintile_mix_is_deterministic_and_refuses_impossible_shares():
    assert quintile_mix(0.123).tolist() == quintile_mix(0.123).tolist()
    for bad in (-0.1, 1.2, float("nan")):
        with pytest.raises(ValueError, match="core20_share must be from 0 to 1"):
            quintile_mix(bad)


def test_generated_trusts_carry_the_quintile_mix_of_their_core20_share():
    trusts = generate_tables(n_ics=42, n_trusts=200, seed=3)["trusts"]
    shares = trusts[QUINTILE_SHARES]
    assert shares.notna().all().all()
    assert (shares["imd_q5_share"] == trusts["core20_share"]).all()
    assert shares.apply(thousandths, axis=1).map(sum).eq(1000).all()
    for core20, row in zip(trusts["core20_share"], shares.to_numpy(), strict=True):
        assert row.tolist() == quintile_mix(core20).tolist()
    # the five columns sit right after core20_share, as in the data dictionary
    assert trusts.columns[5:11].tolist() == ["core20_share", *QUINTILE_SHARES]


def test_default_ics_quintile_shares_come_from_quintile_mix():
    trusts = pd.read_csv(DEFAULT_ICS / "trusts.csv")
    for core20, row in zip(trusts["core20_share"], trusts[QUINTILE_SHARES].to_numpy(), strict=True):
        assert row.tolist() == quintile_mix(core20).tolist()
