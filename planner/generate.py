"""Seeded generator of synthetic planner datasets of any size, with fictional names.

The generator builds the seven tables of a dataset folder (``icss``, ``trusts``,
``products``, ``price_tiers``, ``deployments``, ``networks``, ``regions``) with exactly the
columns of the data dictionary (``planner/schema/dictionary.csv``), in the dictionary's
order, holding values as they are written to CSV (booleans as ``yes``/``no``, blanks as
empty text). The same arguments always
give byte-identical CSV files: all randomness comes from ``numpy.random.default_rng`` seeded
from one :class:`numpy.random.SeedSequence`, with a separate child stream for each part (ICSs,
trusts, products, deployments, imaging networks), so changing the number of trusts does not
reshuffle the products and vice versa, and the networks (added later) left every other
column as it was.

Model and assumptions (ranges and their public sources are listed in ``data/README.md``):

- **ICSs.** Regions follow England's seven NHS England regions in the proportions of the 42
  real ICSs. Each ICS gets a Core20 share (share of its population in the most deprived
  national fifth of neighbourhoods) spread from 0.01 to 0.50 across ICSs (the range of the
  IMD analysis of ICSs), skewed towards the less deprived end so the mean is about 0.2, as it
  must be nationally since Core20 is a fifth of the population (the shape is an assumption).
  A single ICS gets 0.2.
- **Trusts.** Every ICS holds 1 to 8 acute trusts (at least one); extra trusts go to ICSs in
  proportion to a seeded ICS size. A trust's Core20 share scatters around its ICS's, rescaled
  so the population-weighted mean of each ICS equals the ICS value; the IMD score is a noisy
  linear function of the Core20 share. Imaging volumes are catchment population times seeded
  per-capita rates, clipped to the per-trust ranges (X-ray 80k-450k, CT 20k-150k, MRI
  10k-80k; about three trusts in four run a breast service, 15k-60k mammograms). Deprived
  trusts have higher radiologist vacancy rates, lower local budget headroom per head, lower IT
  capacity and are less likely to have an AI platform already (a little over one trust in
  five has one); these correlations are assumptions, not measured relationships.
- **Population by national IMD quintile.** Each trust's catchment is spread over England's
  five IMD quintiles (``imd_q1_share`` .. ``imd_q5_share``, 1 least and 5 most deprived) by
  an exponential tilt, with no random draw: share_q is proportional to exp(b x (q - 3)) for
  q = 1..5, with the tilt b found by bisection so that share_5 equals the trust's Core20
  share exactly (see :func:`quintile_mix`). b = 0 (Core20 share 0.2, England as a whole)
  gives a fifth in each quintile; a more deprived trust has more people in quintile 5 and
  fewer in quintile 1. The shares are rounded to 3 decimals, with share_5 kept equal to the
  Core20 share and the rounding residue put on the largest of quintiles 1 to 4, so the five
  add up to exactly 1. The single-parameter shape is an assumption; real mixes come from
  population by IMD quintile (OHID Fingertips) or from LSOA populations and the IMD file.
- **Products.** With ``n_products=None`` the shipped 24-product catalogue (package data under
  ``planner/catalogue``) is used unchanged. A smaller number takes a seeded subset that keeps
  one product per use case first and never drops a product's prerequisite. A larger number
  adds seeded variants of catalogue products (new fictional vendors, codes and names, jittered
  prices, shares and benefits) over the catalogue's use cases and a few extra ones. Variants
  never have prerequisites. Price-tier thresholds of a variant scale with its typical
  per-trust volume, as the catalogue's do: one trust reaches tier 1-2, a pooled ICS tier 2-3
  and a national buyer over about 100 trusts or more the deepest tier. Per-trust volumes do
  not depend on the dataset size, so the thresholds stay sensible for any size; a national
  buyer over a small synthetic country may simply not reach the deepest tier.
- **Imaging networks and regions.** Each trust's ``region_code`` is the NHS England code
  of its ICS's region (:data:`REGION_CODES`); ``regions`` lists the regions used. Imaging
  networks lie within one region, as England's do, and hold about
  :data:`TRUSTS_PER_NETWORK` trusts (about 20 networks for 120 trusts; England has 22):
  each region with trusts gets at least one, the rest go to the regions with most trusts
  per network (D'Hondt). Within a region the ICSs are put in a seeded order, their trusts
  listed ICS by ICS, and the list cut into consecutive networks of seeded, roughly equal
  sizes, so a network often takes whole ICSs plus part of a neighbouring one: networks
  cross ICS borders and some ICSs are split between two networks. Names are fictional
  places not used by any ICS or trust ("Tarnley Imaging Network"). This part draws only
  from its own random stream.
- **Deployments.** About one trust in eight already uses one product, drawn with probability
  proportional to budget headroom per head (well-funded trusts bought first); a product that
  needs the platform is only placed at a trust that has one, and products with prerequisites
  are not placed.

Note that NumPy keeps ``Generator`` streams stable in practice but does not promise it across
releases; ``tests/test_generate.py`` checks that the committed ``data/england`` still matches
a fresh generation.
"""

from __future__ import annotations

import io
import math
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from planner.schema import ALL_FILES
from planner.sheets import check_targets, write_bytes

#: Table names in the order they are written; each is written as ``<name>.csv``.
TABLES = ALL_FILES

#: Number of real ICSs in each NHS England region (42 in all); used as proportions.
REGION_WEIGHTS = {
    "North East and Yorkshire": 4,
    "North West": 3,
    "Midlands": 11,
    "East of England": 6,
    "London": 5,
    "South East": 6,
    "South West": 7,
}

#: NHS England's region codes (the ``Y`` codes of its published organisation data).
REGION_CODES = {
    "London": "Y56",
    "South West": "Y58",
    "South East": "Y59",
    "Midlands": "Y60",
    "East of England": "Y61",
    "North West": "Y62",
    "North East and Yorkshire": "Y63",
}
#: Trusts per imaging network, on average: England's 22 networks over its 124 to 137
#: acute and specialist trusts (derived).
TRUSTS_PER_NETWORK = 6
#: How the imaging networks are named ({a} and {b} are fictional places), with weights.
_NETWORK_FORMS = (
    ("{a} Imaging Network", 0.5),
    ("{a} and {b} Imaging Network", 0.3),
    ("{a} Imaging Collaborative", 0.2),
)

MAX_TRUSTS_PER_ICS = 8
#: Each ICS serves 0.5m to 3m people (King's Fund).
ICS_POPULATION = (500_000, 3_000_000)
#: Mean catchment of an acute trust: about 57m people over about 124 acute trusts, rounded
#: down for overlap with specialist trusts (derived); the per-trust range is an assumption.
TRUST_POPULATION = 420_000
TRUST_POPULATION_RANGE = (200_000, 850_000)

#: Typical annual studies of one mid-size trust by modality (North West Anglia FT, 2022/23;
#: mammography: about 2m a year over about 90 breast services). Used to scale tier thresholds.
TYPICAL_TRUST_VOLUME = {"xray": 220_000, "ct": 60_000, "mri": 35_000, "mammography": 35_000}

#: Short label and code prefix for each catalogue use case (names of generated variants).
USE_CASE_LABELS = {
    "chest_xray": ("CXR", "Chest X-ray Triage"),
    "lung_nodule_ct": ("LNC", "Lung Nodule CT"),
    "stroke_lvo_ct": ("LVO", "Stroke LVO"),
    "stroke_perfusion_ct": ("PRF", "Stroke Perfusion"),
    "ct_head_bleed": ("ICH", "Head CT Bleed"),
    "fracture_xray": ("FRX", "Fracture Detect"),
    "breast_screening": ("BRS", "Breast Screening Reader"),
    "prostate_mri": ("PRM", "Prostate MRI"),
    "vertebral_fracture_ct": ("VFC", "Vertebral Fracture CT"),
    "pe_ct": ("PEC", "PE Detect"),
}

#: Extra use cases for large catalogues: (use_case, modality, applicable_share, code prefix,
#: label, catalogue product whose economics seed the template). Shares are assumptions.
EXTRA_USE_CASES = (
    ("abdominal_ct_triage", "ct", 0.20, "ABD", "Abdomen CT Triage", "ICH-NRV"),
    ("knee_mri", "mri", 0.10, "KNE", "Knee MRI Assist", "PRM-PRV"),
    ("brain_mri_volumetry", "mri", 0.08, "BRV", "Brain MRI Volumetry", "PRM-ZNR"),
    ("paediatric_fracture_xray", "xray", 0.05, "PFX", "Paediatric Fracture", "FRX-OST"),
    ("coronary_calcium_ct", "ct", 0.10, "CAC", "Coronary Calcium CT", "VFC-OSR"),
)

#: Share of generated variants that go to an extra use case rather than a catalogue one.
EXTRA_USE_CASE_SHARE = 0.2

# Syllables for fictional place and vendor names. Combinations that spell well-known real
# English places are dropped (the list is not exhaustive: any resemblance is coincidental).
_PLACE_HEADS = (
    "Amber", "Bellow", "Brack", "Cald", "Coll", "Dray", "Dun", "Elder", "Esk", "Fell",
    "Fern", "Gar", "Glen", "Hallow", "Hollin", "Ivel", "Kel", "Lark", "Lyn", "Marr",
    "Mere", "Nether", "North", "Orm", "Pell", "Quen", "Raven", "Rook", "Sil", "Stan",
    "Tarn", "Thorn", "Ulver", "Wend", "Wyre", "Yarn",
)  # fmt: skip
_PLACE_TAILS = (
    "by", "vale", "ford", "mere", "holt", "wick", "ton", "field", "bridge", "dale",
    "moor", "side", "ham", "stow", "combe", "worth", "hurst", "ley",
)  # fmt: skip
_REAL_PLACES = frozenset(
    {
        "Amberley", "Brackley", "Dunford", "Dunham", "Dunley", "Dunton", "Eskdale", "Ferndale",
        "Garford", "Garton", "Glenfield", "Kelham", "Larkfield", "Lynford", "Lynton", "Marton",
        "Netherfield", "Netherton", "Northam", "Northfield", "Northwick", "Ormside",
        "Stanford", "Stanley", "Stanton", "Stanwick", "Thornford", "Thornham", "Thornley",
        "Thornton",
    }
)  # fmt: skip
_VENDOR_HEADS = (
    "Alv", "Brin", "Corv", "Dax", "Elv", "Fyn", "Grav", "Isol", "Jav", "Kest", "Lor",
    "Mirr", "Nov", "Pyr", "Ryl", "Sev", "Tav", "Ux", "Vel", "Wyn", "Xal", "Zar",
)  # fmt: skip
_VENDOR_TAILS = ("ara", "ento", "ix", "onic", "una", "yra")  # distinct first letters
_TRUST_FORMS = (
    "{place} Hospitals",
    "{place} University Hospitals",
    "{place} General Hospital",
    "{place} and District Hospitals",
    "{place} Royal Infirmary",
    "{place} Teaching Hospitals",
)


#: Bracket of the tilt searched by :func:`quintile_mix` (wide enough for shares to 1e-17).
_TILT_BRACKET = (-20.0, 20.0)
_TILT_ITERATIONS = 200


def _tilted(b: float) -> np.ndarray:
    """Quintile shares proportional to exp(b x (q - 3)), q = 1..5 (summing to 1)."""
    weights = np.exp(b * (np.arange(1, 6) - 3.0))
    return weights / weights.sum()


def quintile_mix(core20_share: float, decimals: int | None = 3) -> np.ndarray:
    """Spread a catchment over England's five IMD quintiles from its Core20 share alone.

    The model is an exponential tilt: share_q is proportional to exp(b x (q - 3)) for
    q = 1 (least deprived) to 5 (most deprived), with b found by bisection so that share_5
    equals ``core20_share``. A Core20 share of 0.2 gives b = 0 and a fifth in each quintile;
    a larger share tilts the mix towards quintile 5 (and away from quintile 1), a smaller
    one towards quintile 1. A share of 0 puts everyone in quintile 1; a share of 1 puts
    everyone in quintile 5. The computation is deterministic (no random draw).

    Args:
        core20_share: Share of the catchment in the most deprived national fifth, 0 to 1.
        decimals: Round to this many decimals (default 3), keeping share_5 equal to
            ``core20_share`` rounded to the same decimals and the five adding up to exactly
            1 in those units: the rounding residue goes on the largest of quintiles 1 to 4.
            ``None`` returns the unrounded tilt.

    Returns:
        The five shares, quintile 1 first.

    Raises:
        ValueError: If ``core20_share`` is not a number from 0 to 1.
    """
    share = float(core20_share)
    if not 0.0 <= share <= 1.0:  # also refuses NaN
        raise ValueError(f"core20_share must be from 0 to 1, got {core20_share!r}")
    if share == 0.0:
        mix = np.array([1.0, 0.0, 0.0, 0.0, 0.0])
    elif share == 1.0:
        mix = np.array([0.0, 0.0, 0.0, 0.0, 1.0])
    elif share == 0.2:
        mix = np.full(5, 0.2)
    else:
        low, high = _TILT_BRACKET
        for _ in range(_TILT_ITERATIONS):
            mid = 0.5 * (low + high)
            if _tilted(mid)[4] < share:
                low = mid
            else:
                high = mid
        mix = _tilted(0.5 * (low + high))
        mix[4] = share
        mix[:4] *= (1.0 - share) / mix[:4].sum()
    if decimals is None:
        return mix
    unit = 10**decimals
    units = np.round(mix * unit).astype(np.int64)
    units[4] = round(share * unit)
    residue = unit - units.sum()
    units[int(np.argmax(mix[:4]))] += residue
    return units / unit


def generate_tables(
    n_ics: int = 42,
    n_trusts: int = 120,
    n_products: int | None = None,
    seed: int = 2026,
) -> dict[str, pd.DataFrame]:
    """Generate a synthetic dataset with fictional ICSs, trusts and products.

    Args:
        n_ics: Number of Integrated Care Systems (England has 42).
        n_trusts: Number of acute trusts; each ICS gets 1 to 8, so ``n_ics <= n_trusts <=
            8 * n_ics``.
        n_products: Number of products. ``None`` uses the shipped 24-product catalogue; fewer
            takes a seeded subset (one product per use case first, prerequisites kept); more
            adds seeded variants of catalogue products.
        seed: Seed of the random streams; the same arguments give identical tables.

    Returns:
        A dict keyed by table name (``icss``, ``trusts``, ``products``, ``price_tiers``,
        ``deployments``, ``networks``, ``regions``) of DataFrames with exactly the data
        dictionary's columns in order, holding values as written to CSV (booleans as
        ``yes``/``no``, blanks as ``""``).

    Raises:
        ValueError: If the sizes are impossible (for example fewer trusts than ICSs).
    """
    n_ics, n_trusts = int(n_ics), int(n_trusts)
    if n_ics < 1:
        raise ValueError(f"n_ics must be at least 1, got {n_ics}")
    if not n_ics <= n_trusts <= MAX_TRUSTS_PER_ICS * n_ics:
        raise ValueError(
            f"n_trusts must be between n_ics ({n_ics}) and {MAX_TRUSTS_PER_ICS} * n_ics "
            f"({MAX_TRUSTS_PER_ICS * n_ics}) so that every ICS holds 1 to "
            f"{MAX_TRUSTS_PER_ICS} trusts, got {n_trusts}"
        )
    if n_products is not None and int(n_products) < 1:
        raise ValueError(f"n_products must be at least 1 or None, got {n_products}")

    sequence = np.random.SeedSequence(seed)
    streams = [np.random.default_rng(s) for s in sequence.spawn(4)]
    rng_ics, rng_trusts, rng_products, rng_deployments = streams
    rng_networks = np.random.default_rng(sequence.spawn(1)[0])  # the fifth child, added later

    places = _place_names(rng_ics, n_trusts + 2 * n_ics)
    icss, ics_core20, trusts_per_ics = _make_icss(rng_ics, n_ics, n_trusts, places)
    trusts = _make_trusts(rng_trusts, icss, ics_core20, trusts_per_ics, places)
    products, price_tiers = _make_products(rng_products, n_products)
    deployments = _make_deployments(rng_deployments, trusts, products)
    networks, regions = _add_networks_and_regions(rng_networks, icss, trusts, places)

    tables = {
        "icss": icss,
        "trusts": trusts,
        "products": products,
        "price_tiers": price_tiers,
        "deployments": deployments,
        "networks": networks,
        "regions": regions,
    }
    columns = dictionary_columns()
    return {name: tables[name][columns[name]].reset_index(drop=True) for name in TABLES}


def write_tables(
    tables: dict[str, pd.DataFrame], out_dir: str | Path, overwrite: bool = False
) -> dict[str, Path]:
    """Write dataset tables as UTF-8 CSV files (``<name>.csv``) into a folder.

    Files are written with a header row, comma separators, LF line endings and no index,
    so the same tables always give byte-identical files. Nothing is written if any target
    file exists and ``overwrite`` is false, or if any target is a symbolic link (even with
    ``overwrite``). Each file is written atomically (:func:`planner.sheets.atomic_write`).

    Args:
        tables: Tables keyed by name, as returned by :func:`generate_tables`; all seven names
            must be present, each with exactly the data dictionary's columns in order.
        out_dir: Folder to write into; created if missing.
        overwrite: Replace existing files instead of refusing.

    Returns:
        The path written for each table name.

    Raises:
        FileExistsError: If a target file exists and ``overwrite`` is false, or a target is
            a symbolic link or not a regular file.
        OSError: If a file cannot be written (naming that file).
        ValueError: If a table is missing, unknown or has columns other than the dictionary's.
    """
    missing = [name for name in TABLES if name not in tables]
    unknown = [name for name in tables if name not in TABLES]
    if missing or unknown:
        raise ValueError(
            f"tables must be exactly {', '.join(TABLES)}; "
            f"missing: {missing or 'none'}; unknown: {unknown or 'none'}"
        )
    columns = dictionary_columns()
    for name in TABLES:
        found = list(tables[name].columns)
        if found != columns[name]:
            raise ValueError(
                f"{name} has columns {found}; the data dictionary expects {columns[name]}"
            )

    out = Path(out_dir)
    paths = {name: out / f"{name}.csv" for name in TABLES}
    check_targets(paths.values(), overwrite)
    for name, path in paths.items():
        write_bytes(path, table_to_csv(tables[name]).encode("utf-8"))
    return paths


def table_to_csv(table: pd.DataFrame) -> str:
    """Render one table as CSV text exactly as :func:`write_tables` writes it.

    Args:
        table: A dataset table.

    Returns:
        CSV text with a header row and LF line endings.
    """
    buffer = io.StringIO()
    table.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


def dictionary_columns() -> dict[str, list[str]]:
    """Read the data dictionary's column names per file, in order.

    Returns:
        Column names keyed by table name.
    """
    text = (resources.files("planner") / "schema" / "dictionary.csv").read_text("utf-8")
    dictionary = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    return {name: dictionary.loc[dictionary["file"] == name, "column"].tolist() for name in TABLES}


def load_catalogue() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read the shipped product catalogue and its price tiers from the package data.

    Returns:
        ``(products, price_tiers)`` as written in ``planner/catalogue``, with blanks as ``""``.
    """
    folder = resources.files("planner") / "catalogue"
    frames = []
    for name in ("products", "price_tiers"):
        text = (folder / f"{name}.csv").read_text("utf-8")
        frames.append(pd.read_csv(io.StringIO(text), keep_default_na=False))
    products, price_tiers = frames
    text_columns = ["evidence", "regulatory", "prerequisite"]
    products[text_columns] = products[text_columns].astype(str)
    return products, price_tiers


# --------------------------------------------------------------------------------------------
# ICSs and trusts


def _letter_codes(rng: np.random.Generator, prefix: str, n: int) -> list[str]:
    """Draw ``n`` unique codes of ``prefix`` plus uppercase letters (two while they suffice)."""
    width = 2
    while 26**width < n:
        width += 1
    picks = rng.choice(26**width, size=n, replace=False)
    codes = []
    for value in picks:
        letters = ""
        for _ in range(width):
            value, digit = divmod(int(value), 26)
            letters = chr(ord("A") + digit) + letters
        codes.append(prefix + letters)
    return codes


def _place_names(rng: np.random.Generator, n: int) -> list[str]:
    """Draw ``n`` unique fictional place names from syllable combinations."""
    pool = [
        head + tail
        for head in _PLACE_HEADS
        for tail in _PLACE_TAILS
        if head + tail not in _REAL_PLACES
        and not head.lower().endswith(tail[0])
        and tail not in head.lower()
    ]
    # Very large datasets qualify the names ("Upper Kelmere") to stay unique.
    qualifiers = ("", "Upper ", "Lower ", "East ", "West ", "Great ", "Little ")
    names: list[str] = []
    for qualifier in qualifiers:
        names.extend(qualifier + place for place in pool)
        if len(names) >= n:
            break
    rounds = math.ceil(max(n - len(names), 0) / len(pool))
    names.extend(f"{place} {i}" for i in range(2, 2 + rounds) for place in pool)
    order = rng.permutation(len(names))
    return [names[i] for i in order[:n]]


def _region_list(n_ics: int) -> list[str]:
    """Spread ``n_ics`` over the regions in England's proportions (largest remainder)."""
    total = sum(REGION_WEIGHTS.values())
    quotas = {r: n_ics * w / total for r, w in REGION_WEIGHTS.items()}
    counts = {r: math.floor(q) for r, q in quotas.items()}
    by_remainder = sorted(quotas, key=lambda r: (-(quotas[r] - counts[r]), r))
    for region in by_remainder[: n_ics - sum(counts.values())]:
        counts[region] += 1
    return [region for region in REGION_WEIGHTS for _ in range(counts[region])]


def _make_icss(
    rng: np.random.Generator, n_ics: int, n_trusts: int, places: list[str]
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Make the ICS table, each ICS's Core20 share and its number of trusts."""
    codes = sorted(_letter_codes(rng, "Q", n_ics))
    names = [f"{places[2 * i]} and {places[2 * i + 1]} ICS" for i in range(n_ics)]
    regions = _region_list(n_ics)

    # Core20 share of the ICS: evenly spread quantiles from 0.01 to 0.50, skewed towards the
    # less deprived end (median about 0.16, mean about 0.19), then shuffled over the ICSs.
    if n_ics == 1:
        core20 = np.array([0.20])
    else:
        core20 = 0.01 + 0.49 * np.linspace(0.0, 1.0, n_ics) ** 1.7
        core20 = core20[rng.permutation(n_ics)]
    regions = [regions[i] for i in rng.permutation(n_ics)]

    # Trusts per ICS: one each, then the rest in proportion to a seeded ICS size, max 8.
    size = rng.lognormal(0.0, 0.6, n_ics)
    counts = np.ones(n_ics, dtype=int)
    for _ in range(n_trusts - n_ics):
        open_ = counts < MAX_TRUSTS_PER_ICS
        weights = np.where(open_, size, 0.0)
        counts[rng.choice(n_ics, p=weights / weights.sum())] += 1

    icss = pd.DataFrame({"ics_code": codes, "ics_name": names, "region": regions})
    return icss, core20, counts


def _make_trusts(
    rng: np.random.Generator,
    icss: pd.DataFrame,
    ics_core20: np.ndarray,
    trusts_per_ics: np.ndarray,
    places: list[str],
) -> pd.DataFrame:
    """Make the trust table: deprivation around the ICS's, volumes, workforce and money.

    ``places[2 * i]`` and ``places[2 * i + 1]`` name ICS ``i`` and its first two trusts;
    ``places[2 * n_ics :]`` name the other trusts.
    """
    n = int(trusts_per_ics.sum())
    ics_index = np.repeat(np.arange(len(icss)), trusts_per_ics)
    codes = _letter_codes(rng, "R", n)

    # The first two trusts of an ICS are named after the ICS's two places; others get new ones.
    names = []
    spare = iter(places[2 * len(icss) :])
    position = np.concatenate([np.arange(k) for k in trusts_per_ics])
    for i, pos in zip(ics_index, position, strict=True):
        place = places[2 * i + pos] if pos < 2 else next(spare)
        form = _TRUST_FORMS[int(rng.integers(len(_TRUST_FORMS)))]
        kind = "NHS Foundation Trust" if rng.random() < 0.6 else "NHS Trust"
        names.append(f"{form.format(place=place)} {kind}")

    # ICS population of about 420k per trust within England's 0.5m-3m per ICS, split over its
    # trusts by seeded shares; each trust serves 200k to 850k people.
    ics_population = trusts_per_ics * TRUST_POPULATION * rng.lognormal(0.0, 0.2, len(icss))
    ics_population = np.clip(
        ics_population,
        np.maximum(ICS_POPULATION[0], TRUST_POPULATION_RANGE[0] * trusts_per_ics),
        np.minimum(ICS_POPULATION[1], TRUST_POPULATION_RANGE[1] * trusts_per_ics),
    )
    shares = rng.gamma(5.0, 1.0, n)
    shares = shares / pd.Series(shares).groupby(ics_index).transform("sum").to_numpy()
    population = np.clip(ics_population[ics_index] * shares, *TRUST_POPULATION_RANGE)
    population = np.round(population, -3)

    # Trust Core20 share scatters around the ICS's; rescale so the population-weighted mean of
    # each ICS equals the ICS value (single-trust ICSs take it exactly), then clip.
    core20 = ics_core20[ics_index] * rng.lognormal(0.0, 0.3, n)
    weighted = pd.Series(core20 * population).groupby(ics_index).transform("sum")
    pop_sum = pd.Series(population).groupby(ics_index).transform("sum")
    core20 = core20 * ics_core20[ics_index] / (weighted / pop_sum).to_numpy()
    core20 = np.round(np.clip(core20, 0.005, 0.75), 3)
    imd_score = np.round(np.clip(6.0 + 70.0 * core20 + rng.normal(0.0, 1.5, n), 4.0, 60.0), 1)
    # Population by national IMD quintile: a deterministic tilt from the Core20 share (no
    # random draw, so the other columns do not depend on it).
    quintiles = np.array([quintile_mix(c) for c in core20])

    def volume(low_rate: float, high_rate: float, low: int, high: int) -> np.ndarray:
        rate = rng.uniform(low_rate, high_rate, n)
        return np.round(np.clip(population * rate, low, high), -2).astype(int)

    xray = volume(0.38, 0.55, 80_000, 450_000)
    ct = volume(0.09, 0.15, 20_000, 150_000)
    mri = volume(0.05, 0.09, 10_000, 80_000)
    mammography = volume(0.04, 0.07, 15_000, 60_000)
    mammography = np.where(rng.random(n) < 0.75, mammography, 0)

    deprivation = np.clip(core20 / 0.5, 0.0, 1.0)  # 0 least deprived, 1 Core20 half or more
    size01 = (population - 200_000) / 650_000
    vacancy = np.round(np.clip(0.12 + 0.5 * core20 + rng.normal(0.0, 0.04, n), 0.05, 0.45), 3)
    capacity_score = 0.5 * size01 + 0.5 * (1 - deprivation) + rng.normal(0.0, 0.15, n)
    it_capacity = np.clip(np.round(2 + 4 * capacity_score), 1, 6).astype(int)
    platform_probability = np.clip(0.32 - 0.45 * core20, 0.05, 0.4)
    has_platform = np.where(rng.random(n) < platform_probability, "yes", "no")
    headroom_per_head = 0.95 * np.clip(1.3 - 1.7 * core20, 0.15, None)
    headroom_per_head = headroom_per_head * rng.lognormal(0.0, 0.2, n)
    local_budget = np.round(np.clip(population * headroom_per_head, 20_000, None), -3)

    return pd.DataFrame(
        {
            "trust_code": codes,
            "trust_name": names,
            "ics_code": icss["ics_code"].to_numpy()[ics_index],
            "population": population.astype(int),
            "imd_score": imd_score,
            "core20_share": core20,
            **{f"imd_q{q}_share": quintiles[:, q - 1] for q in range(1, 6)},
            "xray_per_year": xray,
            "ct_per_year": ct,
            "mri_per_year": mri,
            "mammography_per_year": mammography.astype(int),
            "vacancy_rate": vacancy,
            "has_platform": has_platform,
            "it_capacity": it_capacity,
            "local_budget_gbp": local_budget.astype(float),
        }
    )


def _networks_per_region(trusts_per_region: dict[str, int], n_networks: int) -> dict[str, int]:
    """Share ``n_networks`` over the regions: one each, the rest by D'Hondt on trust counts."""
    counts = dict.fromkeys(trusts_per_region, 1)
    for _ in range(n_networks - len(counts)):
        open_ = [r for r in counts if counts[r] < trusts_per_region[r]]
        if not open_:
            break
        best = max(open_, key=lambda r: (trusts_per_region[r] / (counts[r] + 1), r))
        counts[best] += 1
    return counts


def _chunk_sizes(rng: np.random.Generator, n: int, k: int) -> list[int]:
    """Split ``n`` items into ``k`` seeded, roughly equal sizes, each at least 1."""
    weights = rng.uniform(0.75, 1.25, k)
    quotas = 1 + (n - k) * weights / weights.sum()
    sizes = np.floor(quotas).astype(int)
    for i in np.argsort(-(quotas - sizes), kind="stable")[: n - int(sizes.sum())]:
        sizes[i] += 1
    return [int(s) for s in sizes]


def _add_networks_and_regions(
    rng: np.random.Generator, icss: pd.DataFrame, trusts: pd.DataFrame, places: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Give each trust a network and a region (columns added to ``trusts`` in place).

    Returns the ``networks`` and ``regions`` tables. See the module docstring for the model.
    """
    region_of_ics = dict(zip(icss["ics_code"], icss["region"], strict=True))
    trusts["region_code"] = [REGION_CODES[region_of_ics[c]] for c in trusts["ics_code"]]
    used = sorted(set(trusts["region_code"]))
    by_code = {code: name for name, code in REGION_CODES.items()}
    regions = pd.DataFrame({"region_code": used, "region_name": [by_code[c] for c in used]})

    region_trusts = trusts.groupby("region_code", sort=True).size()
    n_networks = max(len(used), round(len(trusts) / TRUSTS_PER_NETWORK))
    per_region = _networks_per_region(region_trusts.to_dict(), n_networks)
    members: list[list[int]] = []  # trust positions of each network, in creation order
    for region in used:
        ics_in_region = [c for c in icss["ics_code"] if REGION_CODES[region_of_ics[c]] == region]
        order = [ics_in_region[i] for i in rng.permutation(len(ics_in_region))]
        listed = [i for code in order for i in np.flatnonzero(trusts["ics_code"] == code)]
        start = 0
        for size in _chunk_sizes(rng, len(listed), per_region[region]):
            members.append(listed[start : start + size])
            start += size

    n = len(members)
    # "NAN" is skipped: spreadsheets and pandas read it as a missing number.
    codes = sorted(c for c in _letter_codes(rng, "N", n + 1) if c != "NAN")[:n]
    fresh = iter(_unused_places(rng, set(places), 2 * n))
    forms, weights = zip(*_NETWORK_FORMS, strict=True)
    picks = rng.choice(len(forms), size=n, p=np.array(weights) / sum(weights))
    names = [forms[k].format(a=next(fresh), b=next(fresh)) for k in picks]
    network_of = np.empty(len(trusts), dtype=object)
    for code, positions in zip(codes, members, strict=True):
        network_of[positions] = code
    trusts["network_code"] = network_of.astype(str)
    networks = pd.DataFrame({"network_code": codes, "network_name": names})
    return networks, regions


def _unused_places(rng: np.random.Generator, taken: set[str], n: int) -> list[str]:
    """Draw ``n`` fictional place names that none of ``taken`` uses."""
    drawn = _place_names(rng, len(taken) + n)
    return [name for name in drawn if name not in taken][:n]


# --------------------------------------------------------------------------------------------
# Products, price tiers and deployments


def _make_products(
    rng: np.random.Generator, n_products: int | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Take the catalogue as is, a subset of it, or the catalogue plus seeded variants."""
    products, tiers = load_catalogue()
    if n_products is None or n_products == len(products):
        return products, tiers
    if n_products < len(products):
        keep = _subset_codes(rng, products, n_products)
        products = products[products["product_code"].isin(keep)]
        tiers = tiers[tiers["product_code"].isin(keep)]
        return products.reset_index(drop=True), tiers.reset_index(drop=True)
    new_products, new_tiers = _variants(rng, products, tiers, n_products - len(products))
    return (
        pd.concat([products, new_products], ignore_index=True),
        pd.concat([tiers, new_tiers], ignore_index=True),
    )


def _subset_codes(rng: np.random.Generator, products: pd.DataFrame, n: int) -> list[str]:
    """Pick ``n`` product codes: one per use case first, then a seeded order, prerequisites kept."""
    firsts = products.drop_duplicates("use_case")["product_code"].tolist()
    rest = [code for code in products["product_code"] if code not in firsts]
    order = firsts + [rest[i] for i in rng.permutation(len(rest))]
    prerequisite = dict(zip(products["product_code"], products["prerequisite"], strict=True))
    chosen: list[str] = []
    while len(chosen) < n:
        added = False
        for code in order:
            if len(chosen) == n:
                break
            if code not in chosen and prerequisite[code] in ("", *chosen):
                chosen.append(code)
                added = True
        if not added:  # cannot happen with the shipped catalogue; guards against loops
            break
    return [code for code in products["product_code"] if code in chosen]  # catalogue order


def _vendor_names(rng: np.random.Generator, taken_stems: set[str], n: int) -> list[tuple[str, str]]:
    """Draw ``n`` fictional vendors as (name, three-letter code stem), avoiding taken stems.

    The stem is the name's first two letters and the first letter of its ending, unique per
    vendor. Vendors repeat (one vendor, several products) only once the pool of about 130 is
    used up.
    """
    pool = [
        (head + tail, (head[:2] + tail[0]).upper())
        for head in _VENDOR_HEADS
        for tail in _VENDOR_TAILS
    ]
    pool = [(name, stem) for name, stem in pool if stem not in taken_stems]
    order = rng.permutation(len(pool))
    return [pool[order[k % len(pool)]] for k in range(n)]


def _significant(value: float, digits: int = 2) -> float:
    """Round a positive number to ``digits`` significant figures."""
    if value <= 0:
        return 0.0
    scale = 10 ** (math.floor(math.log10(value)) - digits + 1)
    return float(round(value / scale) * scale)


def _variants(
    rng: np.random.Generator, products: pd.DataFrame, tiers: pd.DataFrame, n: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Make ``n`` seeded variants of catalogue products with jittered figures and new names."""
    bases = products[products["prerequisite"] == ""].reset_index(drop=True)
    by_code = products.set_index("product_code")
    vendor_stems = {code.split("-")[1] for code in products["product_code"]}
    vendors = _vendor_names(rng, vendor_stems, n)
    taken = set(products["product_code"])
    rows, tier_rows = [], []
    for k in range(n):
        if rng.random() < EXTRA_USE_CASE_SHARE:
            use_case, modality, share, prefix, label, template = EXTRA_USE_CASES[
                int(rng.integers(len(EXTRA_USE_CASES)))
            ]
            base = by_code.loc[template]
            base_code = template
        else:
            base = bases.iloc[int(rng.integers(len(bases)))]
            base_code = base["product_code"]
            use_case, modality, share = base["use_case"], base["modality"], base["applicable_share"]
            prefix, label = USE_CASE_LABELS.get(use_case, (use_case[:3].upper(), use_case))
        vendor, stem = vendors[k]
        generation = 1  # a vendor's second product for a use case is its "2", and so on
        while f"{prefix}-{stem}{generation if generation > 1 else ''}" in taken:
            generation += 1
        code = f"{prefix}-{stem}{generation if generation > 1 else ''}"
        name = f"{vendor} {label}{f' {generation}' if generation > 1 else ''}"
        taken.add(code)

        share = float(np.round(np.clip(share * rng.uniform(0.85, 1.15), 0.005, 1.0), 3))
        minutes_factor = rng.lognormal(0.0, 0.2)
        qaly_factor = rng.lognormal(0.0, 0.25)
        months = float(np.clip(base["implementation_months"] + rng.integers(-1, 3), 2, 9))
        row = {
            "product_code": code,
            "product_name": name,
            "use_case": use_case,
            "modality": modality,
            "applicable_share": share,
            "implementation_gbp": float(
                np.clip(
                    np.round(base["implementation_gbp"] * rng.uniform(0.7, 1.4), -3),
                    20_000,
                    150_000,
                )
            ),  # fmt: skip
            "licence_gbp_per_year": float(
                np.round(base["licence_gbp_per_year"] * rng.uniform(0.7, 1.4) / 500) * 500
            ),
            "needs_platform": "yes" if rng.random() < 0.3 else "no",
            "framework": "yes" if rng.random() < 0.55 else "no",
            "evidence": base["evidence"],
            "regulatory": base["regulatory"],
            "downstream_share": float(
                np.round(np.clip(base["downstream_share"] + rng.uniform(-0.1, 0.1), 0.2, 0.8), 2)
            ),
            "implementation_months": months,
            "prerequisite": "",
        }
        for column in ("minutes_saved_per_study", "minutes_saved_low", "minutes_saved_high"):
            row[column] = float(np.round(np.clip(base[column] * minutes_factor, 0.05, 6.0), 2))
        for column in ("qalys_per_1000", "qalys_per_1000_low", "qalys_per_1000_high"):
            row[column] = float(np.round(base[column] * qaly_factor, 3))
        rows.append(row)

        # Thresholds follow the variant's typical per-trust volume; prices share one factor,
        # so they stay non-increasing and the discount depth matches the base product's.
        base_tiers = tiers[tiers["product_code"] == base_code].sort_values("tier")
        volume_ratio = (share * TYPICAL_TRUST_VOLUME[modality]) / (
            base["applicable_share"] * TYPICAL_TRUST_VOLUME[base["modality"]]
        )
        price_factor = rng.uniform(0.75, 1.3)
        thresholds: list[float] = []
        for tier in base_tiers.itertuples():
            threshold = _significant(tier.min_studies_per_year * volume_ratio)
            if thresholds and threshold <= thresholds[-1]:  # rounding merged two tiers
                continue
            thresholds.append(threshold)
            tier_rows.append(
                {
                    "product_code": code,
                    "tier": len(thresholds),
                    "min_studies_per_year": threshold,
                    "price_per_study_gbp": float(
                        np.round(tier.price_per_study_gbp * price_factor, 2)
                    ),
                }
            )
    columns = list(products.columns)
    return pd.DataFrame(rows)[columns], pd.DataFrame(tier_rows)[list(tiers.columns)]


def _make_deployments(
    rng: np.random.Generator, trusts: pd.DataFrame, products: pd.DataFrame
) -> pd.DataFrame:
    """Place a few existing deployments, favouring trusts with more budget headroom per head."""
    n = max(1, round(len(trusts) / 8))
    headroom = (trusts["local_budget_gbp"] / trusts["population"]).to_numpy()
    picked = rng.choice(len(trusts), size=n, replace=False, p=headroom / headroom.sum())
    eligible_all = products[products["prerequisite"] == ""]
    rows = []
    for i in sorted(picked):
        trust = trusts.iloc[i]
        eligible = eligible_all
        if trust["has_platform"] != "yes":
            eligible = eligible[eligible["needs_platform"] == "no"]
        if eligible.empty:
            continue
        product = eligible.iloc[int(rng.integers(len(eligible)))]
        rows.append({"trust_code": trust["trust_code"], "product_code": product["product_code"]})
    return pd.DataFrame(rows, columns=["trust_code", "product_code"])
