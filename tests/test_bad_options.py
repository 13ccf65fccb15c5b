"""Bad option and scenario values: exit 2 naming the option or key and the fix, never exit 1.

Every number option goes through one check (no nan, no infinity, a whole number where one
is needed, within documented bounds); scenario and batch files are read size-capped and
without YAML anchors or aliases; an overflow in the economics names the settings behind it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pytest

from planner.cli import MAX_SEED, build_parser, main
from planner.errors import ScenarioError
from planner.scenario import (
    MAX_GBP,
    MAX_SETTINGS_FILE_BYTES,
    MAX_THREADS,
    Scenario,
    load_scenario,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "data" / "default_ics"


def cli(capsys, *args) -> tuple[int, str, str]:
    """Run the command line in-process, argparse's own exits included."""
    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_refused(code: int, err: str, *words: str) -> None:
    """Exit 2, the words in the message, no traceback and no internal error."""
    assert code == 2, err
    assert "Traceback" not in err
    assert "internal error" not in err
    for word in words:
        assert word in err, err


# ---------------------------------------------------------------------------------------
# 1. --set into a value that is not a table


@pytest.mark.parametrize(
    ("key", "parent"),
    [
        ("locks.x", "locks"),
        ("budget_gbp.x", "budget_gbp"),
        ("procurement.ics.lead_time_months.x", "procurement.ics.lead_time_months"),
    ],
)
def test_set_into_a_value_that_is_not_a_table(capsys, key, parent):
    code, out, err = cli(capsys, "solve", "--data", DEFAULT, "--set", f"{key}=1")
    assert_refused(code, err, f"error: override column {key}:", "not a table of settings")
    assert f"set {parent} itself" in err
    assert out == ""


# ---------------------------------------------------------------------------------------
# 2. hostile scenario and batch files


def _alias_bomb(levels: int, last: str) -> str:
    """Nested anchors and aliases: 9**levels items once expanded ("billion laughs")."""
    lines = ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n" + last + "\n"


def test_alias_bomb_in_a_scenario_file_is_refused_quickly(tmp_path, capsys):
    # 9**5 items: survivable unexpanded-or-not, so the old code fails the test, not the run
    path = tmp_path / "bomb.yaml"
    path.write_text(_alias_bomb(5, "model: *a5"), encoding="utf-8")
    started = time.perf_counter()
    code, _, err = cli(capsys, "solve", "--data", DEFAULT, "--scenario", path)
    assert time.perf_counter() - started < 30
    assert_refused(code, err, "bomb.yaml row 1:", "anchor or alias", "write each value out")
    assert len(err) < 300  # the value is never spelled out


def test_alias_bomb_in_a_batch_file_is_refused(tmp_path, capsys):
    path = tmp_path / "batch.yaml"
    path.write_text(_alias_bomb(5, "scenarios: {ok: {model: *a5}}"), encoding="utf-8")
    code, _, err = cli(capsys, "batch", path, "--data", DEFAULT, "--quiet")
    assert_refused(code, err, "batch.yaml row 1:", "anchor or alias")
    assert len(err) < 300


def test_alias_in_a_set_value_is_refused(capsys):
    code, _, err = cli(capsys, "solve", "--data", DEFAULT, "--set", "model=&a [ics]")
    assert_refused(code, err, "error: --set column model:", "anchor or alias")


@pytest.mark.parametrize(
    ("filename", "text"),
    [
        ("deep.yaml", "model: " + "[" * 5000 + "]" * 5000 + "\n"),
        ("deep.toml", "model = " + "[" * 5000 + "]" * 5000 + "\n"),
    ],
    ids=["yaml", "toml"],
)
def test_values_nested_too_deeply_are_refused(tmp_path, capsys, filename, text):
    path = tmp_path / filename
    path.write_text(text, encoding="utf-8")
    code, _, err = cli(capsys, "solve", "--data", DEFAULT, "--scenario", path)
    assert_refused(code, err, f"error: {filename}:", "nested too deeply")


@pytest.mark.parametrize(
    "text",
    ["horizon_years: " + "1" * 5000, "discount_rate: 2024-13-45", "horizon_years: !!int abc"],
    ids=["5000-digit-number", "impossible-date", "bad-tag"],
)
def test_yaml_values_that_cannot_be_read(tmp_path, capsys, text):
    path = tmp_path / "scenario.yaml"
    path.write_text(text + "\n", encoding="utf-8")
    code, _, err = cli(capsys, "solve", "--data", DEFAULT, "--scenario", path)
    assert_refused(code, err, "error: scenario.yaml:", "cannot be read")
    assert len(err) < 300


def test_scenario_file_too_large_is_refused_before_parsing(tmp_path, capsys):
    path = tmp_path / "huge.yaml"
    path.write_text("budgett_gbp: 1\n" + "# padding\n" * (MAX_SETTINGS_FILE_BYTES // 10), "utf-8")
    code, _, err = cli(capsys, "solve", "--data", DEFAULT, "--scenario", path)
    assert_refused(code, err, "error: huge.yaml:", f"larger than {MAX_SETTINGS_FILE_BYTES:,}")


def test_a_huge_value_is_quoted_short(capsys):
    code, _, err = cli(
        capsys, "solve", "--data", DEFAULT, "--set", "model=[" + "ics, " * 50_000 + "]"
    )
    assert_refused(code, err, "error: override column model:", "not allowed")
    assert len(err) < 300


# ---------------------------------------------------------------------------------------
# 3. solver threads


def test_threads_option_is_bounded_and_documented(capsys):
    code, _, err = cli(capsys, "solve", "--data", DEFAULT, "--threads", "100000")
    assert_refused(code, err, "error: scenario column threads:", f"from 1 to {MAX_THREADS}")
    code, out, _ = cli(capsys, "solve", "--help")
    assert code == 0
    assert f"1 to {MAX_THREADS}" in out


def test_threads_in_a_scenario_file_is_bounded(tmp_path):
    path = tmp_path / "scenario.yaml"
    path.write_text("threads: 100000\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=f"scenario.yaml column threads: .*above {MAX_THREADS}"):
        load_scenario(path)
    assert Scenario(threads=MAX_THREADS).threads == MAX_THREADS


# ---------------------------------------------------------------------------------------
# 4. seeds


@pytest.mark.parametrize(
    "args",
    [
        ["uncertainty", "--data", DEFAULT, "--samples", "1", "--seed", "-1"],
        ["generate", "--out", "OUT", "--seed", "-1"],
        ["generate", "--out", "OUT", "--seed", str(MAX_SEED + 1)],
    ],
    ids=["uncertainty", "generate", "generate-too-large"],
)
def test_seed_out_of_range(tmp_path, capsys, args):
    args = [tmp_path / "out" if a == "OUT" else a for a in args]
    code, _, err = cli(capsys, *args)
    assert_refused(code, err, "argument --seed:", f"from 0 to {MAX_SEED:,}")
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------
# 5. nan and infinity, and 6. numbers too large, in every number option

# options that set a scenario setting: read here, checked with the scenario (one line each,
# naming the setting, as for a file or --set)
BAD_SETTINGS = [
    ("--budget", "nan", "budget_gbp", "nan is not a finite number"),
    ("--budget", "inf", "budget_gbp", "inf is not a finite number"),
    ("--budget", "1e300", "budget_gbp", "1e+300 is above 1,000,000,000,000 (the maximum)"),
    ("--budget", "5000b", "budget_gbp", "5,000,000,000,000 is above 1,000,000,000,000"),
    ("--equity-weight", "inf", "equity_weight", "inf is not a finite number"),
    ("--equity-weight", "nan%", "equity_weight", "nan is not a finite number"),
    ("--coverage-floor", "nan", "coverage_floor", "nan is not a finite number"),
    ("--min-adoptions", "inf", "min_adoptions_per_trust", "inf is not a finite number"),
    ("--maximin-weight", "5000b", "maximin_weight_gbp", "above 1,000,000,000,000"),
    ("--horizon", "nan", "horizon_years", "nan is not a finite number"),
    ("--horizon", "2.5", "horizon_years", "2.5 is not a whole number"),
    ("--time-limit", "1e9", "time_limit_s", "above 604,800 (the maximum)"),
    ("--threads", "nan", "threads", "nan is not a finite number"),
    ("--threads", "100000", "threads", f"above {MAX_THREADS} (the maximum)"),
]


@pytest.mark.parametrize(
    ("option", "value", "key", "words"),
    BAD_SETTINGS,
    ids=[f"{o}={v}" for o, v, _, _ in BAD_SETTINGS],
)
def test_bad_setting_options_name_the_setting_and_the_fix(capsys, option, value, key, words):
    code, out, err = cli(capsys, "solve", "--data", DEFAULT, f"{option}={value}")
    assert_refused(code, err, words, "; give ")
    assert err.startswith(f"error: scenario column {key}: "), err
    assert len(err.strip().splitlines()) == 1, err
    assert out == ""


ROLLOUT = ["rollout", "--data", DEFAULT]
PSA = ["uncertainty", "--data", DEFAULT]
SWEEP = ["sweep", "--data", DEFAULT, "--budgets", "1m"]
EXPLAIN = ["explain", "--data", DEFAULT, "--out", "OUT"]
GENERATE = ["generate", "--out", "OUT"]

# other number options: checked as they are parsed
BAD_NUMBERS = [
    (SWEEP, "--budget", "abc", "'abc' is not an amount of money"),
    (SWEEP, "--horizon", "abc", "'abc' is not a number"),
    (ROLLOUT, "--ramp-months", "nan", "nan is not a finite number"),
    (ROLLOUT, "--ramp-months", "1e300", "1e+300 is above 240 (the maximum)"),
    (ROLLOUT, "--years", "inf", "inf is not a finite number"),
    (PSA, "--price-spread", "nan", "nan is not a finite number"),
    (PSA, "--samples", "1e9", "1,000,000,000 is above 100,000"),
    (PSA, "--samples", "2.5", "2.5 is not a whole number"),
    (SWEEP, "--workers", "nan", "nan is not a finite number"),
    (SWEEP, "--workers", "100000", "100,000 is above 256"),
    (EXPLAIN, "--max-resolves", "inf", "inf is not a finite number"),
    (EXPLAIN, "--workers", "-inf", "-inf is not a finite number"),
    (GENERATE, "--icss", "1000000", "1,000,000 is above 1000"),
    (GENERATE, "--trusts", "nan", "nan is not a finite number"),
    (GENERATE, "--products", "1e6", "1,000,000 is above 1000"),
]


@pytest.mark.parametrize(
    ("command", "option", "value", "words"),
    BAD_NUMBERS,
    ids=[f"{c[0]}{o}={v}" for c, o, v, _ in BAD_NUMBERS],
)
def test_bad_number_options_name_the_option_and_the_fix(
    tmp_path, capsys, command, option, value, words
):
    args = [tmp_path / "out" if a == "OUT" else a for a in command]
    code, out, err = cli(capsys, *args, f"{option}={value}")  # = lets a value start with -
    # argparse's form: the option, what is wrong, then "give" what is allowed
    assert_refused(code, err, f"argument {option}: {words}", "; give ")
    assert out == ""
    assert not (tmp_path / "out").exists()


def test_every_number_option_has_a_checked_type():
    """No option is parsed by bare int or float (which take nan and inf as numbers)."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in sub.choices.items():
        options, command._options = command._options, None  # added when first parsed
        options(command)
        for action in command._actions:
            assert action.type not in (int, float), f"{name} {action.option_strings}"


def test_percentages_still_read(capsys):
    args = build_parser().parse_args(
        ["solve", "--data", "x", "--equity-weight", "30%", "--coverage-floor", "0.5"]
    )
    assert (args.equity_weight, args.coverage_floor) == (pytest.approx(0.3), 0.5)
    code, _, err = cli(capsys, "solve", "--data", DEFAULT, "--coverage-floor", "120%")
    assert_refused(code, err, "error: scenario column coverage_floor: 1.2 is above 1")


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ("budget_gbp: 5000b\n", "budget_gbp", "above 1,000,000,000,000 (the maximum)"),
        ("qaly_value_gbp: 1e200\n", "qaly_value_gbp", "above 1,000,000,000,000"),
        ("time_limit_s: 1e9\n", "time_limit_s", "above 604,800"),
        ("qale_least_deprived_years: 1000\n", "qale_least_deprived_years", "above 120"),
    ],
)
def test_scenario_file_values_too_large(tmp_path, text, key, words):
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    assert [p.column for p in exc.value.problems] == [key]
    assert words in str(exc.value)


def test_money_written_as_text_is_bounded_like_a_number():
    with pytest.raises(ScenarioError, match="budget_gbp: 2,000,000,000,000 is above"):
        Scenario(budget_gbp="2000b")
    assert Scenario(budget_gbp="1000b").budget_gbp == MAX_GBP


def test_most_deprived_fifth_needs_a_positive_life_expectancy():
    with pytest.raises(ScenarioError, match="qale_gap_years: 9.5 leaves the most deprived"):
        Scenario(qale_least_deprived_years=10, qale_gap_years=9.5)
    Scenario(qale_least_deprived_years=10, qale_gap_years=9)


def test_overflowing_value_reports_the_setting_not_the_solver(capsys):
    code, _, err = cli(capsys, "solve", "--data", DEFAULT, "--set", "qaly_value_gbp=1e200")
    assert_refused(code, err, "error: override column qaly_value_gbp:", "above")
    assert "time_limit" not in err


def test_economics_overflow_names_the_settings(default_ics):
    """The backstop behind the bounds: a figure that overflows names its settings."""
    from planner.economics import build_options

    scenario = Scenario(equity_weight=1.0, inequality_aversion=50)
    # past the constructor's checks, as a future setting without bounds could be
    object.__setattr__(scenario, "qale_gap_years", 72.0 - 1e-12)
    with (
        np.errstate(over="ignore", invalid="ignore", divide="ignore"),
        pytest.raises(ScenarioError) as exc,
    ):
        build_options(default_ics, scenario)
    (problem,) = exc.value.problems
    assert problem.column == "inequality_aversion"
    assert "the equity weights is too large to compute" in problem.problem
    assert "qale_gap_years" in problem.problem


# ---------------------------------------------------------------------------------------
# already refused before this change; kept so they stay refused


@pytest.mark.parametrize(
    ("args", "where"),
    [
        (["--set", "budget_gbp=.nan"], "override column budget_gbp"),
        (["--set", "discount_rate=.inf"], "override column discount_rate"),
        (["--set", "horizon_years=1e9"], "override column horizon_years"),
        (["--set", "mip_gap=-.inf"], "override column mip_gap"),
        (["--time-limit", "nan"], "scenario column time_limit_s"),
        (["--gap", "inf"], "scenario column mip_gap"),
        (["--horizon", "100000"], "scenario column horizon_years"),
    ],
)
def test_nan_infinity_and_huge_values_stay_refused(capsys, args, where):
    code, _, err = cli(capsys, "solve", "--data", DEFAULT, *args)
    assert_refused(code, err, f"error: {where}:", "; give ")
