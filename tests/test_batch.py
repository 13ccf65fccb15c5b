"""Sweeps, batches and the uncertainty analysis: library, command line and exports."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from builders import make_dataset, run

from planner import report
from planner.batch import load_batch, parse_range, run_table, summarise, sweep_runs
from planner.evaluate import BUDGET_TOLERANCE_GBP
from planner.formatting import money
from planner.plan import solve
from planner.scenario import MODELS, Scenario
from planner.uncertainty import run_psa, sample_dataset

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "data" / "default_ics"
ENGLAND = ROOT / "data" / "england"
OK_STATUSES = {"optimal", "gap_reached"}
ROW_COLUMNS = [
    "run_id",
    "scenario",
    "ics",
    "model",
    "status",
    "reason",
    "budget_gbp",
    "benefit_gbp",
    "cost_gbp",
]
BUDGETS = [0.0, 0.4e6, 0.8e6, 1.2e6, 1.6e6, 2.0e6, 2.4e6, 2.8e6]


def read_csv(path: Path) -> pd.DataFrame:
    """Read a table of runs (or samples) back; an empty reason stays an empty string."""
    table = pd.read_csv(path)
    table["reason"] = ["" if pd.isna(v) else v for v in table["reason"]]
    return table


def rising(values, tol: float) -> bool:
    return all(b >= a - tol for a, b in zip(values, values[1:], strict=False))


# ---------------------------------------------------------------------------------------
# budget and equity sweeps


@pytest.fixture(scope="module")
def budget_sweep(default_ics):
    """Every model over eight budgets, solved to a zero gap, with plans kept."""
    runs = sweep_runs(
        default_ics, Scenario(mip_gap=0.0), models=MODELS, budgets=BUDGETS, keep_plans=True
    )
    return run_table(default_ics, runs)


def test_sweep_runs_cross_models_budgets_and_weights(default_ics):
    runs = sweep_runs(
        default_ics,
        Scenario(),
        models=["ics", "local"],
        budgets=[1e6, 2e6],
        equity_weights=[0.0, 1.0],
    )
    assert [r.run_id for r in runs] == list(range(8))
    assert [(r.model, r.scenario.budget_gbp, r.scenario.equity_weight) for r in runs] == [
        (m, b, w) for m in ["ics", "local"] for b in [1e6, 2e6] for w in [0.0, 1.0]
    ]
    assert {r.ics for r in runs} == {None}
    assert not any(r.keep_plan for r in runs)


def test_budget_fractions_scale_each_ics_money(default_ics):
    total = default_ics.trusts["local_budget_gbp"].sum()
    runs = sweep_runs(default_ics, Scenario(), icss=["QNA"], budget_fractions=[0.5, 1, 2])
    assert [r.scenario.budget_gbp for r in runs] == pytest.approx([total / 2, total, 2 * total])
    assert {r.ics for r in runs} == {"QNA"}


def test_budget_sweep_benefit_and_objective_never_fall(budget_sweep):
    table, plans = budget_sweep
    assert len(table) == len(MODELS) * len(BUDGETS)
    assert list(table["run_id"]) == list(range(len(table)))
    assert (table["status"] == "optimal").all(), table[["model", "status", "reason"]]
    assert (table["reason"] == "").all()
    assert set(plans) == set(table["run_id"])
    for model in MODELS:
        rows = table[table["model"] == model].sort_values("budget_gbp")
        assert list(rows["budget_gbp"]) == BUDGETS
        benefit = list(rows["benefit_gbp"])
        objective = [plans[i]["objective"] for i in rows["run_id"]]
        # the objective is benefit - 1e-6 x cost, so benefit may dip by at most 1e-6 x budget
        assert rising(objective, tol=1e-6 * max(objective)), (model, objective)
        assert rising(benefit, tol=1e-6 * max(BUDGETS) + 1e-7 * max(benefit)), (model, benefit)
        assert benefit[0] == 0.0
        assert benefit[-1] > benefit[1] > 0
        assert (rows["cost_gbp"] <= rows["budget_gbp"] + BUDGET_TOLERANCE_GBP).all()
        for i in rows["run_id"]:
            row = table.set_index("run_id").loc[i]
            assert plans[i]["model"] == model
            assert plans[i]["benefit_gbp"] == pytest.approx(row["benefit_gbp"], rel=1e-9)
            assert len(plans[i]["adoptions"]) == row["adoptions"]


def test_sweep_cli_writes_csv_and_parquet(tmp_path, capsys, default_ics):
    csv_path, pq_path = tmp_path / "runs.csv", tmp_path / "out" / "runs.parquet"
    code, out, err = run(
        capsys,
        "sweep",
        "--data",
        DEFAULT,
        "--budgets",
        "0.5m:2m:4",
        "--model",
        "ics",
        "--model",
        "central",
        "--gap",
        "0",
        "--out",
        csv_path,
        "--parquet",
        pq_path,
    )
    assert code == 0, err
    assert "central" in out  # the summary
    csv = read_csv(csv_path)
    parquet = pd.read_parquet(pq_path)
    for table in (csv, parquet):
        assert len(table) == 8
        assert set(ROW_COLUMNS) <= set(table.columns)
        assert list(table["run_id"]) == list(range(8))
        assert list(table["budget_gbp"]) == [0.5e6, 1e6, 1.5e6, 2e6] * 2
        assert list(table["model"]) == ["ics"] * 4 + ["central"] * 4
        assert set(table["scenario"]) == {"sweep"}
        assert set(table["ics"]) == {"all"}
        assert set(table["status"]) <= OK_STATUSES
        assert (table["cost_gbp"] <= table["budget_gbp"] + BUDGET_TOLERANCE_GBP).all()
        for model in ("ics", "central"):
            rows = table[table["model"] == model]
            assert rising(list(rows["benefit_gbp"]), tol=10.0)
    # the same table in both files (a column with no values reads back as None from Parquet)
    empty = [c for c in csv.columns if csv[c].isna().all()]
    assert empty == ["marginal_benefit_per_gbp"]  # sweeps skip the extra solve
    assert parquet[empty].isna().all().all()
    pd.testing.assert_frame_equal(csv.drop(columns=empty), parquet.drop(columns=empty))
    # the command line gives what the library gives
    runs = sweep_runs(
        default_ics,
        Scenario(mip_gap=0.0),
        models=["ics", "central"],
        budgets=[0.5e6, 1e6, 1.5e6, 2e6],
    )
    table, _ = run_table(default_ics, runs)
    assert csv_path.read_text(encoding="utf-8") == report.csv_text(table)


def test_equity_weight_sweep_gives_up_benefit_and_writes_plans(tmp_path, capsys):
    out_csv, plans_dir = tmp_path / "w.csv", tmp_path / "plans"
    code, _, err = run(
        capsys,
        "sweep",
        "--data",
        DEFAULT,
        "--budget",
        "2m",
        "--gap",
        "0",
        "--equity-weights",
        "0:1:3",
        "--out",
        out_csv,
        "--plans",
        plans_dir,
        "--quiet",
    )
    assert code == 0, err
    table = read_csv(out_csv)
    assert list(table["equity_weight"]) == [0.0, 0.5, 1.0]
    assert set(table["budget_gbp"]) == {2e6}
    assert set(table["status"]) <= OK_STATUSES
    unweighted = table.loc[0, "benefit_gbp"]
    # the unweighted run maximises benefit (less a 1e-6 x cost tie-break)
    assert (table["benefit_gbp"] <= unweighted + 1e-6 * 2e6 + 1.0).all()
    assert table.loc[0, "weighted_benefit_gbp"] == pytest.approx(unweighted, rel=1e-12)
    files = sorted(p.name for p in plans_dir.iterdir())
    assert files == ["run-00000.json", "run-00001.json", "run-00002.json"]
    for i, name in enumerate(files):
        plan = json.loads((plans_dir / name).read_text(encoding="utf-8"))
        assert isinstance(plan["adoptions"], list)
        assert plan["adoptions"]
        assert {"trust", "product"} <= set(plan["adoptions"][0])
        assert len(plan["adoptions"]) == table.loc[i, "adoptions"]
        assert plan["scenario"]["equity_weight"] == table.loc[i, "equity_weight"]
        assert plan["benefit_gbp"] == pytest.approx(table.loc[i, "benefit_gbp"], rel=1e-9)


def test_plans_are_written_only_for_successful_runs(tmp_path, capsys):
    out_csv, plans_dir = tmp_path / "f.csv", tmp_path / "plans"
    code, _, err = run(
        capsys,
        "sweep",
        "--data",
        DEFAULT,
        "--budgets",
        "0,2m",
        "--coverage-floor",
        "0.3",
        "--out",
        out_csv,
        "--plans",
        plans_dir,
        "--quiet",
    )
    assert code == 5
    assert "run 0 (sweep, all, ics) infeasible: " in err
    assert "1 of 2 runs failed" in err
    table = read_csv(out_csv)
    assert table.loc[0, "status"] == "infeasible"
    assert table.loc[1, "status"] in OK_STATUSES
    assert "budget £0" in table.loc[0, "reason"]
    assert table.loc[1, "reason"] == ""
    assert sorted(p.name for p in plans_dir.iterdir()) == ["run-00001.json"]


def test_sweep_every_ics_of_england(tmp_path, capsys):
    out_csv = tmp_path / "england.csv"
    code, _, err = run(
        capsys,
        "sweep",
        "--data",
        ENGLAND,
        "--all-icss",
        "--budget-fractions",
        "0.5,1",
        "--workers",
        "2",
        "--out",
        out_csv,
        "--quiet",
    )
    assert code == 0, err
    table = read_csv(out_csv)
    icss = pd.read_csv(ENGLAND / "icss.csv")["ics_code"]
    trusts = pd.read_csv(ENGLAND / "trusts.csv")
    assert len(icss) == 42
    assert len(table) == 42 * 2
    assert list(table["run_id"]) == list(range(84))
    assert list(table["ics"]) == [c for c in icss for _ in range(2)]
    assert set(table["status"]) <= OK_STATUSES
    money = trusts.groupby("ics_code")["local_budget_gbp"].sum()
    expected = [round(f * money[c], 2) for c in icss for f in (0.5, 1.0)]
    assert list(table["budget_gbp"]) == pytest.approx(expected)
    assert (table["cost_gbp"] <= table["budget_gbp"] + BUDGET_TOLERANCE_GBP).all()
    # twice the money never buys less (up to the default relative MIP gap of 1e-4)
    half = table.iloc[0::2]["benefit_gbp"].to_numpy()
    full = table.iloc[1::2]["benefit_gbp"].to_numpy()
    assert (full >= half * (1 - 2e-4)).all()
    assert (full > 0).all()


# ---------------------------------------------------------------------------------------
# parse_range and bad sweep options


def test_parse_range_start_stop_count():
    values = parse_range("0.5m:4m:25", money=True)
    assert len(values) == 25
    assert values[0] == 500000
    assert values[-1] == 4000000
    assert np.allclose(np.diff(values), 3.5e6 / 24)
    assert parse_range("0:1:3") == [0.0, 0.5, 1.0]
    assert parse_range("2m:9m:1", money=True) == [2e6]


def test_parse_range_lists():
    assert parse_range("1m,2m", money=True) == [1e6, 2e6]
    assert parse_range(" 750k , £1.5m ,", money=True) == [750e3, 1.5e6]
    assert parse_range("0.25,1") == [0.25, 1.0]
    assert parse_range("3") == [3.0]


@pytest.mark.parametrize(
    ("text", "money"),
    [
        ("1m:2m", True),
        ("1:2:3:4", False),
        ("1m:2m:0", True),
        ("1m:2m:-3", True),
        ("1m:2m:2.5", True),
        ("", True),
        (",", False),
        ("abc", False),
        ("1m", False),
        ("-1m", True),
        ("lots:4m:3", True),
    ],
)
def test_parse_range_rejects(text, money):
    with pytest.raises(ValueError, match=r"."):
        parse_range(text, money=money)


def test_parse_range_plain_number_error_says_how_to_write_it():
    with pytest.raises(ValueError, match=r"0\.5:x:3"):
        parse_range("0.5:x:3")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--budgets", "1m:2m"], "start:stop:count"),
        (["--budgets", "1m:2m:0"], "at least 1"),
        (["--budgets", "plenty"], "amount of money"),
        (["--budget-fractions", "0.5:x:3"], "'x'"),
        (["--equity-weights", "0:2:3"], "between 0 and 1"),
        (["--equity-weights", "0:1"], "start:stop:count"),
        ([], "give --budgets"),
        (["--budgets", "1m", "--workers", "0"], "--workers"),
        (["--budgets", "1m", "--scheduler", "127.0.0.1:8786"], "tcp://"),
        (["--budgets", "1m", "--ics", "NOPE"], "NOPE"),
    ],
)
def test_sweep_cli_rejects_bad_options(capsys, args, words):
    code, out, err = run(capsys, "sweep", "--data", DEFAULT, *args)
    assert code == 2
    assert words in err
    assert "Traceback" not in err


# ---------------------------------------------------------------------------------------
# batch files

INFEASIBLE_BATCH = """\
scenarios:
  ok: {}
  impossible: {coverage_floor: 0.9}
models: [ics, local]
"""


def check_infeasible_table(table: pd.DataFrame) -> None:
    assert list(table["run_id"]) == [0, 1, 2, 3]
    assert list(table["scenario"]) == ["ok", "ok", "impossible", "impossible"]
    assert list(table["model"]) == ["ics", "local", "ics", "local"]
    assert set(table["ics"]) == {"all"}
    ok, bad = table.iloc[:2], table.iloc[2:]
    assert set(ok["status"]) <= OK_STATUSES
    assert (ok["reason"] == "").all()
    assert (ok["benefit_gbp"] > 0).all()
    assert (ok["cost_gbp"] <= ok["budget_gbp"] + BUDGET_TOLERANCE_GBP).all()
    assert list(bad["status"]) == ["infeasible", "infeasible"]
    assert all("coverage floor 90%" in r for r in bad["reason"])
    assert bad["benefit_gbp"].isna().all()
    assert list(table["coverage_floor"]) == [0.0, 0.0, 0.9, 0.9]


def test_batch_with_an_infeasible_scenario_cli(tmp_path, capsys):
    batch = tmp_path / "batch.yaml"
    batch.write_text(INFEASIBLE_BATCH, encoding="utf-8")
    out_csv = tmp_path / "runs.csv"
    code, out, err = run(capsys, "batch", batch, "--data", DEFAULT, "--out", out_csv)
    assert code == 5
    failed = [line for line in err.splitlines() if line.startswith("run ")]
    assert len(failed) == 2
    assert failed[0].startswith("run 2 (impossible, all, ics) infeasible: ")
    assert failed[1].startswith("run 3 (impossible, all, local) infeasible: ")
    assert all("coverage floor 90%" in line for line in failed)
    assert "2 of 4 runs failed" in err
    table = read_csv(out_csv)
    check_infeasible_table(table)
    b, c = table["benefit_gbp"], table["cost_gbp"]
    assert out.splitlines() == [
        f"ok, model ics: 1 run; benefit {money(b[0])}; spent {money(c[0])}",
        f"ok, model local: 1 run; benefit {money(b[1])}; spent {money(c[1])}",
        "impossible, model ics: 1 run, 1 failed; no plan",
        "impossible, model local: 1 run, 1 failed; no plan",
    ]


def test_batch_with_an_infeasible_scenario_library(tmp_path, default_ics):
    batch = tmp_path / "batch.yaml"
    batch.write_text(INFEASIBLE_BATCH, encoding="utf-8")
    runs = load_batch(batch, default_ics)
    assert [(r.name, r.model, r.ics) for r in runs] == [
        ("ok", "ics", None),
        ("ok", "local", None),
        ("impossible", "ics", None),
        ("impossible", "local", None),
    ]
    ticks = []
    table, plans = run_table(
        default_ics, runs, workers=2, progress=lambda done, total: ticks.append((done, total))
    )
    assert plans == {}
    assert ticks == [(i, 4) for i in range(1, 5)]
    check_infeasible_table(table)
    serial, _ = run_table(default_ics, runs, workers=1)
    pd.testing.assert_frame_equal(table, serial)
    summary = summarise(table)
    assert list(summary["scenario"]) == ["ok", "ok", "impossible", "impossible"]
    assert list(summary["failed"]) == [0, 0, 1, 1]
    assert list(summary["runs"]) == [1, 1, 1, 1]
    for figure in ("benefit", "cost"):
        for stat in ("min", "median", "max"):
            column = summary[f"{figure}_{stat}_gbp"]
            assert list(column[:2]) == list(table[f"{figure}_gbp"][:2])
            assert column[2:].isna().all()  # no plan, no figure (not a zero)


def test_sweep_summary_gives_ranges_over_the_runs_not_sums(tmp_path, capsys):
    """The runs of a sweep are alternatives: the summary says how far they range."""
    out_csv = tmp_path / "runs.csv"
    args = ["--budgets", "0.5m,1m,2m", "--model", "ics", "--model", "local", "--out", out_csv]
    code, out, err = run(capsys, "sweep", "--data", DEFAULT, *args)
    assert code == 0, err
    table = read_csv(out_csv)
    expected = []
    for model in ("ics", "local"):
        rows = table[table["model"] == model]
        b, c = rows["benefit_gbp"], rows["cost_gbp"]
        assert b.min() < b.median() < b.max()
        expected.append(
            f"sweep, model {model}: 3 runs; benefit {money(b.min())} to {money(b.max())} "
            f"(median {money(b.median())}); spent {money(c.min())} to {money(c.max())} "
            f"(median {money(c.median())})"
        )
    assert out.splitlines() == expected
    assert money(table["benefit_gbp"].sum()) not in out
    assert money(table["cost_gbp"].sum()) not in out


def test_summarise_ranges_from_a_table():
    table = pd.DataFrame(
        {
            "scenario": ["a", "a", "a", "b"],
            "model": ["ics"] * 4,
            "status": ["optimal", "gap_reached", "infeasible", "optimal"],
            "benefit_gbp": [3.0, 9.0, np.nan, 5.0],
            "cost_gbp": [1.0, 2.0, np.nan, 4.0],
        }
    )
    summary = summarise(table).set_index("scenario")
    assert summary.loc["a", ["runs", "failed"]].tolist() == [3, 1]
    assert summary.loc[
        "a", ["benefit_min_gbp", "benefit_median_gbp", "benefit_max_gbp"]
    ].tolist() == [3.0, 6.0, 9.0]
    assert (
        summary.loc["b", ["cost_min_gbp", "cost_median_gbp", "cost_max_gbp"]].tolist() == [4.0] * 3
    )
    failed_only = summarise(table.iloc[2:3].drop(columns=["benefit_gbp", "cost_gbp"]))
    assert failed_only[["runs", "failed"]].values.tolist() == [[1, 1]]
    assert failed_only["benefit_max_gbp"].isna().all()


def test_shipped_batch_file_loads_and_merges_settings():
    from planner import load_dataset

    england = load_dataset(ENGLAND)
    runs = load_batch(ROOT / "data" / "scenarios" / "batch.yaml", england)
    assert len(runs) == 5 * 3 * 42
    by_name = {r.name: r.scenario for r in runs}
    assert set(by_name) == {
        "baseline",
        "equity",
        "core20_floor",
        "slow_central",
        "shallow_discounts",
    }
    assert by_name["baseline"] == Scenario()
    assert by_name["equity"].equity_weight == 1.0
    assert by_name["core20_floor"].coverage_floor == 0.15
    assert by_name["core20_floor"].floor_applies_to == "core20"
    central = by_name["slow_central"].procurement["central"]
    assert central.lead_time_months == 24
    # nested tables merge key by key: the rest of the central route keeps its defaults
    assert central.implementation_share == Scenario().procurement["central"].implementation_share
    assert central.framework_only is True
    assert by_name["slow_central"].procurement["ics"] == Scenario().procurement["ics"]
    assert by_name["shallow_discounts"].procurement["ics"].volume_discount_depth == 0.5
    assert by_name["shallow_discounts"].procurement["local"].volume_discount_depth == 1.0


def test_batch_base_settings_and_scenario_file_layering(tmp_path, default_ics):
    batch = tmp_path / "b.yaml"
    batch.write_text(
        "base: {budget_gbp: 1m, horizon_years: 3}\n"
        "scenarios:\n  a: {}\n  b: {horizon_years: 7}\n"
        "models: central\nicss: [QNA]\n",
        encoding="utf-8",
    )
    runs = load_batch(batch, default_ics, base=Scenario(discount_rate=0.05, budget_gbp=5e6))
    assert [(r.name, r.model, r.ics) for r in runs] == [("a", "central", "QNA")] + [
        ("b", "central", "QNA")
    ]
    a, b = runs[0].scenario, runs[1].scenario
    assert (a.budget_gbp, a.horizon_years, a.discount_rate) == (1e6, 3, 0.05)
    assert (b.budget_gbp, b.horizon_years, b.discount_rate) == (1e6, 7, 0.05)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("scenarios: {ok: {}}\nmodelz: [ics]\n", ["modelz", "unknown key"]),
        ("scenarios: {ok: {budjet_gbp: 1m}}\n", ["scenarios.ok", "budjet_gbp", "unknown setting"]),
        (
            "scenarios: {ok: {procurement: {ics: {lead_time: 3}}}}\n",
            ["procurement.ics.lead_time", "unknown setting"],
        ),
        ("scenarios: {ok: {}}\nmodels: [ics, regional]\n", ["models", "'regional'"]),
        ("scenarios: {ok: {}}\nicss: [QNA, QXX]\n", ["icss", "'QXX'"]),
        ("scenarios: {ok: {}}\nicss: QNA\n", ["icss", "must be all or a list"]),
        ("models: [ics]\n", ["scenarios", "at least one scenario"]),
        ("scenarios: {ok: 3}\n", ["scenarios.ok", "must be a table"]),
        ("scenarios: {ok: {equity_weight: 2}}\n", ["equity_weight", "above 1"]),
        ("base: [1]\nscenarios: {ok: {}}\n", ["base", "must be a table"]),
        ("- a\n- b\n", ["must be a table"]),
        ("scenarios: {ok: [\n", ["cannot be read"]),
    ],
)
def test_bad_batch_files_exit_2_naming_the_key(tmp_path, capsys, text, words):
    batch = tmp_path / "bad.yaml"
    batch.write_text(text, encoding="utf-8")
    code, out, err = run(capsys, "batch", batch, "--data", DEFAULT, "--quiet")
    assert code == 2
    assert err.startswith("error: bad.yaml")
    for w in words:
        assert w in err
    assert "internal error" not in err


def test_batch_file_not_found(tmp_path, capsys):
    code, _, err = run(capsys, "batch", tmp_path / "nothere.yaml", "--data", DEFAULT)
    assert code == 2
    assert "nothere.yaml: file not found" in err


def test_batch_models_that_is_not_a_list(tmp_path, capsys):
    batch = tmp_path / "bad.yaml"
    batch.write_text("scenarios: {ok: {}}\nmodels: 3\n", encoding="utf-8")
    code, _, err = run(capsys, "batch", batch, "--data", DEFAULT, "--quiet")
    assert code == 2
    assert "models" in err


@pytest.mark.parametrize("key", ["models", "icss"])
def test_batch_with_an_empty_list(tmp_path, capsys, key):
    batch = tmp_path / "bad.yaml"
    batch.write_text(f"scenarios: {{ok: {{}}}}\n{key}: []\n", encoding="utf-8")
    code, _, err = run(capsys, "batch", batch, "--data", DEFAULT, "--quiet")
    assert code == 2
    assert key in err


# ---------------------------------------------------------------------------------------
# uncertainty

PSA_SCENARIO = Scenario(budget_gbp=2e6)


@pytest.fixture(scope="module")
def psa_serial(default_ics):
    return run_psa(default_ics, PSA_SCENARIO, 30, seed=7, workers=1)


@pytest.fixture(scope="module")
def psa_pool(default_ics):
    return run_psa(default_ics, PSA_SCENARIO, 30, seed=7, workers=2)


def test_psa_is_the_same_with_one_or_two_workers(psa_serial, psa_pool):
    pd.testing.assert_frame_equal(psa_serial.samples, psa_pool.samples)
    pd.testing.assert_frame_equal(psa_serial.adoption, psa_pool.adoption)
    assert psa_serial.summary == psa_pool.summary


def test_psa_sample_depends_only_on_seed_and_index(default_ics, psa_serial):
    first = run_psa(default_ics, PSA_SCENARIO, 5, seed=7)
    pd.testing.assert_frame_equal(first.samples, psa_serial.samples.iloc[:5])
    other = run_psa(default_ics, PSA_SCENARIO, 5, seed=8)
    assert list(other.samples["sample"]) == list(range(5))
    assert not other.samples["benefit_gbp"].equals(first.samples["benefit_gbp"])
    assert not other.samples["base_plan_benefit_gbp"].equals(first.samples["base_plan_benefit_gbp"])
    assert other.summary["seed"] == 8


def test_psa_tables_and_summary(default_ics, psa_serial):
    s, a, summary = psa_serial.samples, psa_serial.adoption, psa_serial.summary
    assert list(s["sample"]) == list(range(30))
    assert set(s["status"]) <= OK_STATUSES
    assert (summary["samples"], summary["failed"]) == (30, 0)
    assert (summary["seed"], summary["model"]) == (7, "ics")
    assert summary["mean_benefit_gbp"] == pytest.approx(s["benefit_gbp"].mean(), rel=1e-12)
    assert summary["p05_benefit_gbp"] <= summary["p50_benefit_gbp"] <= summary["p95_benefit_gbp"]
    assert summary["expected_base_plan_benefit_gbp"] == pytest.approx(
        s["base_plan_benefit_gbp"].mean(), rel=1e-12
    )
    over = ~s["base_plan_within_budget"]
    assert summary["base_plan_overspend_share"] == pytest.approx(over.mean())
    # within budget means the base-case plan costs at most the budget under that sample
    assert (s.loc[~over, "base_plan_cost_gbp"] <= 2e6 + BUDGET_TOLERANCE_GBP + 1e-3).all()
    assert (s.loc[over, "base_plan_cost_gbp"] > 2e6).all()
    assert (s["cost_gbp"] <= 2e6 + BUDGET_TOLERANCE_GBP + 1e-3).all()
    # where the base-case plan is affordable, re-optimising can only do as well or better
    # (up to the default relative MIP gap of 1e-4)
    fits = s[~over]
    assert len(fits) > 0
    assert (
        fits["benefit_gbp"] >= fits["base_plan_benefit_gbp"] * (1 - 2e-4) - 1e-6 * 2e6 - 1.0
    ).all()
    # adoption probabilities
    assert list(a.columns) == ["trust", "product", "probability", "in_base_plan"]
    assert not a.duplicated(["trust", "product"]).any()
    assert ((a["probability"] > 0) & (a["probability"] <= 1)).all()
    counts = a["probability"] * 30
    assert np.allclose(counts, counts.round())
    # the base case plan, solved directly
    plan = solve(default_ics, PSA_SCENARIO, with_greedy=False, with_marginal=False)
    base_pairs = set(zip(plan.adoptions["trust"], plan.adoptions["product"], strict=True))
    assert base_pairs
    assert summary["base_case_benefit_gbp"] == pytest.approx(plan.benefit_gbp, rel=1e-9)
    flagged = set(
        zip(a.loc[a["in_base_plan"], "trust"], a.loc[a["in_base_plan"], "product"], strict=True)
    )
    listed = set(zip(a["trust"], a["product"], strict=True))
    assert flagged == base_pairs & listed
    assert flagged  # some base-case adoptions are chosen again under uncertainty


def test_sample_dataset_draws(default_ics):
    before = default_ics.products.copy(), default_ics.price_tiers.copy()
    one = sample_dataset(default_ics, 11, 3)
    again = sample_dataset(default_ics, 11, 3)
    pd.testing.assert_frame_equal(one.products, again.products)
    pd.testing.assert_frame_equal(one.price_tiers, again.price_tiers)
    other = sample_dataset(default_ics, 11, 4)
    assert not np.allclose(other.products["qalys_per_1000"], one.products["qalys_per_1000"])
    # the input is not changed
    pd.testing.assert_frame_equal(default_ics.products, before[0])
    pd.testing.assert_frame_equal(default_ics.price_tiers, before[1])
    base = default_ics.products
    for seed, index in [(11, 3), (11, 4), (0, 0), (2026, 99)]:
        p = sample_dataset(default_ics, seed, index).products
        for col, low, high in [
            ("minutes_saved_per_study", "minutes_saved_low", "minutes_saved_high"),
            ("qalys_per_1000", "qalys_per_1000_low", "qalys_per_1000_high"),
        ]:
            assert (p[col] >= p[low]).all()
            assert (p[col] <= p[high]).all()
            assert not np.allclose(p[col], base[col])
        factor = p["implementation_gbp"] / base["implementation_gbp"]
        assert factor.between(0.8, 1.2).all()
        licensed = base["licence_gbp_per_year"] > 0
        assert np.allclose(
            p.loc[licensed, "licence_gbp_per_year"] / base.loc[licensed, "licence_gbp_per_year"],
            factor[licensed],
        )
        tiers = sample_dataset(default_ics, seed, index).price_tiers
        priced = default_ics.price_tiers["price_per_study_gbp"] > 0
        ratio = (
            tiers.loc[priced, "price_per_study_gbp"]
            / default_ics.price_tiers.loc[priced, "price_per_study_gbp"]
        )
        expected = tiers.loc[priced, "product_code"].map(factor)
        assert np.allclose(ratio, expected)


def test_sample_dataset_price_spread(default_ics):
    base = default_ics.products
    still = sample_dataset(default_ics, 5, 0, price_spread=0.0)
    pd.testing.assert_series_equal(still.products["implementation_gbp"], base["implementation_gbp"])
    pd.testing.assert_frame_equal(still.price_tiers, default_ics.price_tiers)
    wide = sample_dataset(default_ics, 5, 0, price_spread=0.5).products
    factor = wide["implementation_gbp"] / base["implementation_gbp"]
    assert factor.between(0.5, 1.5).all()
    assert not factor.between(0.8, 1.2).all()


def test_sample_dataset_distributions():
    """Many identical products: the draws follow the triangular and uniform laws."""
    n = 400
    products = [
        {
            "product_code": f"P{i:03d}",
            "use_case": f"u{i}",
            "implementation_gbp": 1000.0,
            "licence_gbp_per_year": 100.0,
            "minutes_saved_per_study": 1.0,
            "minutes_saved_low": 0.5,
            "minutes_saved_high": 3.0,
        }
        for i in range(n)
    ]
    flat = {f"qalys_per_1000{s}": 1.0 for s in ("", "_low", "_high")}
    products.append({"product_code": "FLAT", "use_case": "flat", **flat})  # no spread
    dataset = make_dataset([{"trust_code": "T1"}], products)
    p = sample_dataset(dataset, 1, 0).products
    drawn, flat = p.drop(index="FLAT"), p.loc["FLAT"]
    assert flat["minutes_saved_per_study"] == 0.0
    assert flat["qalys_per_1000"] == 1.0
    minutes = drawn["minutes_saved_per_study"]
    assert minutes.between(0.5, 3.0).all()
    assert minutes.mean() == pytest.approx((0.5 + 1.0 + 3.0) / 3, abs=0.1)
    assert (minutes < 1.0).mean() == pytest.approx(0.5 / 2.5, abs=0.06)  # the mode's CDF
    qalys = drawn["qalys_per_1000"]
    assert qalys.between(0.5, 1.5).all()
    assert qalys.mean() == pytest.approx(1.0, abs=0.05)
    factor = drawn["implementation_gbp"] / 1000.0
    assert factor.between(0.8, 1.2).all()
    assert factor.mean() == pytest.approx(1.0, abs=0.03)
    assert factor.std() == pytest.approx(0.4 / np.sqrt(12), rel=0.15)
    assert np.allclose(drawn["licence_gbp_per_year"] / 100.0, factor)


def test_uncertainty_cli(tmp_path, capsys, default_ics):
    s_csv, p_csv, summary_json = tmp_path / "s.csv", tmp_path / "p.csv", tmp_path / "sum.json"
    code, out, err = run(
        capsys,
        "uncertainty",
        "--data",
        DEFAULT,
        "--budget",
        "2m",
        "--samples",
        "20",
        "--seed",
        "3",
        "--workers",
        "2",
        "--out",
        s_csv,
        "--probabilities",
        p_csv,
        "--summary",
        summary_json,
    )
    assert code == 0, err
    assert "20 samples (0 failed), seed 3, model ics" in out
    samples = read_csv(s_csv)
    assert list(samples["sample"]) == list(range(20))
    assert set(samples["status"]) <= OK_STATUSES
    assert {"benefit_gbp", "cost_gbp", "base_plan_benefit_gbp", "base_plan_within_budget"} <= set(
        samples.columns
    )
    # sample i depends only on (seed, i): the first five match a five-sample run
    head = run_psa(default_ics, PSA_SCENARIO, 5, seed=3).samples
    pd.testing.assert_frame_equal(samples.iloc[:5], head, check_dtype=False)
    probs = pd.read_csv(p_csv)
    assert list(probs.columns) == ["trust", "product", "probability", "in_base_plan"]
    assert len(probs) > 0
    assert probs["probability"].between(0, 1).all()
    assert probs["in_base_plan"].any()
    summary = json.loads(summary_json.read_text(encoding="utf-8"))
    assert (summary["samples"], summary["seed"], summary["failed"]) == (20, 3, 0)
    assert (summary["model"], summary["price_spread"]) == ("ics", 0.2)
    assert summary["mean_benefit_gbp"] == pytest.approx(samples["benefit_gbp"].mean(), rel=1e-6)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--samples", "0"], "--samples"),
        (["--workers", "0"], "--workers"),
        (["--scheduler", "localhost:8786"], "tcp://"),
    ],
)
def test_uncertainty_cli_rejects_bad_options(capsys, args, words):
    code, _, err = run(capsys, "uncertainty", "--data", DEFAULT, "--budget", "2m", *args)
    assert code == 2
    assert words in err
