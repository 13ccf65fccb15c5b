"""The ``planner`` command line: solve, compare, validate, template, generate.

A thin shell over the library: it parses options into a Scenario, calls the library and
writes what was asked for. The exit codes are :data:`EXIT_CODES` (``planner --help`` lists
them). Problems go to stderr, one line each; no tracebacks (set ``PLANNER_DEBUG=1`` to see
them). Starting is cheap: pandas, PuLP and HiGHS load inside the commands that use them, so
``--help`` and ``--version`` answer at once.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from planner.formatting import money, percent, pounds, status_text

if TYPE_CHECKING:
    from planner.scenario import Scenario

EXIT_OK, EXIT_ERROR, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_SOLVER = 0, 1, 2, 3, 4
EXIT_RUNS_FAILED, EXIT_FILE, EXIT_INTERRUPTED = 5, 6, 130

#: What each exit code means: the one list behind ``--help`` (and the README's copy, which a
#: test keeps the same).
EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_ERROR: "an unexpected error",
    EXIT_INPUT: "bad input (dataset, scenario or option)",
    EXIT_INFEASIBLE: "no plan meets the scenario",
    EXIT_SOLVER: "the solver failed",
    EXIT_RUNS_FAILED: "some runs of a sweep, batch or uncertainty analysis failed (the "
    "others are still in the table)",
    EXIT_FILE: "a file could not be read or written (a full disk, no permission, a file "
    "where a folder should be) or the --scheduler could not be reached",
    EXIT_INTERRUPTED: "stopped with Ctrl-C (files are written whole or not at all)",
}

T = TypeVar("T")


class UsageError(Exception):
    """A command-line option that cannot be used."""


class ReadError(Exception):
    """A file the command reads could not be read; ``error`` is the operating system's."""

    def __init__(self, error: OSError):
        self.error = error
        super().__init__(str(error))


def _read(load: Callable[..., T], *args) -> T:
    """Call a loader of the command's input; an OSError from it is a failed read."""
    try:
        return load(*args)
    except OSError as exc:
        raise ReadError(exc) from exc


def _os_problem(exc: OSError, verb: str) -> str:
    """``could not write PATH: reason`` (or the reason alone when no file is named)."""
    reason = exc.strerror or str(exc)
    path = exc.filename2 if exc.filename2 is not None else exc.filename
    return reason if path is None else f"could not {verb} {path}: {reason}"


def package_version() -> str:
    """The installed package's version (``planner.__version__`` if it is not installed)."""
    from importlib import metadata

    try:
        return metadata.version("planner")
    except metadata.PackageNotFoundError:
        import planner

        return getattr(planner, "__version__", "unknown (not installed)")


class _VersionAction(argparse.Action):
    """``--version``: print ``planner X.Y.Z`` and exit 0 (looked up only when asked)."""

    def __init__(
        self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None
    ):
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"planner {package_version()}")
        parser.exit(EXIT_OK)


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """The epilog as written; and room for the longest command name beside its help.

    argparse measures the commands without the indent it prints them with, so a long name
    (``uncertainty``) would push its help onto the next line.
    """

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        if isinstance(action, argparse._SubParsersAction):
            longest = max((len(name) for name in action.choices), default=0)
            width = longest + self._current_indent + 2 * self._indent_increment
            self._action_max_length = max(self._action_max_length, width)


def _epilog() -> str:
    """The exit codes, one a line, for the end of ``planner --help``."""
    import textwrap

    lines = ["exit codes:"]
    for code, meaning in sorted(EXIT_CODES.items()):
        lines += textwrap.wrap(
            meaning, width=88, initial_indent=f"  {code}  ", subsequent_indent="     "
        )
    return "\n".join(lines)


#: Bounds of the options that are not scenario settings (those take the setting's own).
MAX_WORKERS = 256
MAX_SAMPLES = 100_000
MAX_SEED = 2**32 - 1
MAX_GENERATED_ICSS = 1_000
MAX_GENERATED_TRUSTS = 8_000
MAX_GENERATED_PRODUCTS = 1_000
MAX_RAMP_MONTHS = 240  # the longest horizon (20 years)
MONEY_HINT = ", e.g. 2.5m, 750k or 2,000,000"


def _checked(check: Callable[[str], T], name: str) -> Callable[[str], T]:
    """An option's ``type=``: a :class:`ScenarioError` from ``check`` is the option's error.

    argparse then exits 2 with ``argument --OPTION: <problem>; <fix>``.
    """

    def convert(text: str) -> T:
        from planner.errors import ScenarioError

        try:
            return check(text)
        except ScenarioError as exc:
            p = exc.problems[0]
            raise argparse.ArgumentTypeError(f"{p.problem}; {p.fix}") from None

    convert.__name__ = name  # argparse names the type in some messages
    return convert


def _read_number(text: str, read: str | None) -> float | str:
    """The option's text as a number if it reads as one, else the text itself.

    nan and infinity are read as numbers, for the check to refuse by name. ``read``:
    ``percent`` also reads 30% as 0.3, ``money`` also reads 2.5m, £750k or 2,000,000.
    """
    from planner.scenario import parse_money

    t = text.strip()
    per = 1.0
    if read == "percent" and t.endswith("%"):
        t, per = t[:-1].strip(), 100.0
    try:
        return float(t) / per
    except ValueError:
        pass
    if read == "money":
        try:
            return parse_money(t)
        except ValueError:
            pass
    return text


def _setting(name: str, read: str | None = None, hint: str | None = None) -> Callable:
    """``type=`` of an option that sets the scenario setting ``name``.

    Text that is not a number is refused here, saying what the setting allows. A number
    (nan, infinity and out-of-range ones included) is checked where every setting is, when
    the scenario is built: one line naming the setting, as for a file or ``--set``.
    """
    from planner.scenario import check_setting

    def check(text: str):
        value = _read_number(text, read)
        return check_setting(name, value, hint=hint) if isinstance(value, str) else value

    return _checked(check, name)


def _number(kind: str = "float", lo=None, hi=None, read: str | None = None) -> Callable:
    """``type=`` of a number option that is not a setting: the settings' number check here.

    nan, infinity, a fraction for ``kind="int"`` and values beyond ``lo``..``hi`` are
    refused. A command that already refuses values below its minimum with its own one-line
    message (``--workers must be at least 1``) keeps doing so: give ``lo`` only where none
    does.
    """
    from planner.scenario import check_number

    def check(text: str):
        value = _read_number(text, read)
        return check_number("option", value, kind=kind, lo=lo, hi=hi)

    return _checked(check, kind)


def _pair(text: str) -> tuple[str, str]:
    trust, sep, product = text.partition(":")
    if not sep or not trust or not product:
        raise argparse.ArgumentTypeError(f"{text!r} must be TRUST:PRODUCT, e.g. RNV:CXR01")
    return trust.strip(), product.strip()


def _add_scenario_options(
    p: argparse.ArgumentParser, with_model: bool, with_outputs: bool = True
) -> None:
    from planner.scenario import FLOOR_TARGETS, MAX_THREADS, MAX_TIME_LIMIT_S, MODELS

    p.add_argument(
        "--data",
        required=True,
        metavar="PATH",
        help="dataset folder of CSV files, or an .xlsx workbook",
    )
    p.add_argument("--scenario", metavar="FILE", help="scenario settings (.yaml or .toml)")
    p.add_argument(
        "--ics", action="append", metavar="CODE", help="plan only this ICS (repeat for several)"
    )
    if with_model:
        p.add_argument("--model", choices=MODELS, help="procurement model (default: ics)")
    p.add_argument(
        "--budget",
        type=_setting("budget_gbp", read="money", hint=MONEY_HINT),
        metavar="GBP",
        help="total money over the horizon, e.g. 2m, 750k, 2,000,000 (at most £1 trillion)",
    )
    p.add_argument(
        "--equity-weight",
        type=_setting("equity_weight", read="percent"),
        metavar="W",
        help="0 = unweighted (default), 1 = full distributional weights",
    )
    p.add_argument(
        "--coverage-floor",
        type=_setting("coverage_floor", read="percent"),
        metavar="SHARE",
        help="minimum share of addressable studies each trust covers, e.g. 0.3 or 30%%",
    )
    p.add_argument(
        "--floor-applies-to",
        choices=FLOOR_TARGETS,
        help="all: every trust (default); core20: the Core20 people of each ICS (the most "
        "deprived national fifth); core20_trusts: every trust whose Core20 share is above "
        "core20_trust_threshold",
    )
    p.add_argument(
        "--core20-parity",
        action="store_true",
        default=None,
        help="the Core20 people of each ICS get at least the ICS's average coverage",
    )
    p.add_argument(
        "--min-adoptions",
        type=_setting("min_adoptions_per_trust"),
        metavar="N",
        help="every trust adopts at least N new products (or as many as it can)",
    )
    p.add_argument(
        "--deprivation-reference",
        choices=("national", "dataset"),
        help="national (default): England's IMD fifths; dataset: rank the file's trusts "
        "against each other (for comparison only)",
    )
    p.add_argument(
        "--maximin-weight",
        type=_setting("maximin_weight_gbp", read="money", hint=MONEY_HINT),
        metavar="GBP",
        help="pounds of benefit traded for raising the lowest coverage to 100%%",
    )
    p.add_argument(
        "--horizon", type=_setting("horizon_years"), metavar="YEARS", help="horizon in years"
    )
    p.add_argument(
        "--lock",
        type=_pair,
        action="append",
        metavar="TRUST:PRODUCT",
        help="force a product in at a trust (repeatable)",
    )
    p.add_argument(
        "--exclude",
        type=_pair,
        action="append",
        metavar="TRUST:PRODUCT",
        help="force a product out at a trust (repeatable)",
    )
    p.add_argument(
        "--time-limit",
        type=_setting("time_limit_s"),
        metavar="SECONDS",
        help=f"solver time limit, 0.1 to {MAX_TIME_LIMIT_S:,} (a week)",
    )
    p.add_argument(
        "--gap", type=_setting("mip_gap"), metavar="REL", help="relative MIP gap, e.g. 0.005"
    )
    p.add_argument(
        "--threads",
        type=_setting("threads"),
        metavar="N",
        help=f"solver threads, 1 to {MAX_THREADS} (default 1: runs reproducible byte for byte)",
    )
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        default=[],
        help="any scenario setting, e.g. procurement.central.lead_time_months=18",
    )
    if not with_outputs:
        return
    p.add_argument("--json", metavar="FILE", help="write the plan as JSON ('-' for stdout)")
    p.add_argument("--csv", metavar="DIR", help="write the plan's tables as CSV files")
    p.add_argument("--xlsx", metavar="FILE", help="write the plan as an Excel workbook")

    p.add_argument(
        "--timings",
        action="store_true",
        help="include wall-clock times in the JSON (it is then not reproducible)",
    )
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")


def _add_models_option(p: argparse.ArgumentParser, default: str) -> None:
    """``--model``, repeatable, for commands that run several procurement models."""
    from planner.scenario import MODELS

    p.add_argument(
        "--model",
        action="append",
        choices=MODELS,
        help=f"procurement model (repeatable; default: {default})",
    )


def _add_batch_outputs(p: argparse.ArgumentParser, plans: bool = True) -> None:
    p.add_argument("--out", metavar="FILE", help="write the table of runs as CSV")
    p.add_argument("--parquet", metavar="FILE", help="write the table of runs as Parquet")
    if plans:
        p.add_argument("--plans", metavar="DIR", help="also write each run's plan as JSON")
    p.add_argument(
        "--workers",
        type=_number("int", hi=MAX_WORKERS),
        default=1,
        metavar="N",
        help=f"local worker processes, 1 to {MAX_WORKERS} (default 1)",
    )
    p.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="run on a Dask cluster instead of local processes",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")


class _CommandParser(argparse.ArgumentParser):
    """A command's parser whose options are added the first time it parses.

    ``planner --help`` then builds no command's options, and so imports neither the
    scenario settings nor anything below them.
    """

    def __init__(self, *args, options: Callable[[argparse.ArgumentParser], None], **kwargs):
        super().__init__(*args, **kwargs)
        self._options: Callable[[argparse.ArgumentParser], None] | None = options

    def parse_known_args(self, args=None, namespace=None):
        """Add the command's options (once), then parse as usual."""
        if self._options is not None:
            options, self._options = self._options, None
            options(self)
        return super().parse_known_args(args, namespace)


def _add_marginal_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--marginal",
        action="store_true",
        help="also say what the next marginal_step_gbp of budget buys (one more solve each)",
    )


def _solve_options(p: argparse.ArgumentParser) -> None:
    _add_scenario_options(p, with_model=True)
    _add_marginal_option(p)
    p.add_argument(
        "--cost-share",
        metavar="DIR",
        help="also write how the pooled cost is shared among trusts (CSV files)",
    )
    p.add_argument(
        "--explain",
        metavar="DIR",
        help="also write explanations and a one-page HTML summary per trust",
    )


def _compare_options(p: argparse.ArgumentParser) -> None:
    from planner.scenario import COMPARED, MODELS

    _add_scenario_options(p, with_model=False)
    _add_marginal_option(p)
    p.add_argument(
        "--routes",
        metavar="LIST",
        help=f"the procurement routes to compare, comma-separated, from {', '.join(MODELS)} "
        f"(default: {','.join(COMPARED)})",
    )


def route_list(text: str | None) -> tuple[str, ...]:
    """The routes of ``--routes`` (default: :data:`planner.scenario.COMPARED`).

    Raises:
        UsageError: If a name is not a route, or a route is named twice.
    """
    from planner.scenario import COMPARED, MODELS

    if text is None:
        return COMPARED
    names = [n.strip() for n in text.split(",")]
    for n in names:
        if n not in MODELS:
            raise UsageError(f"--routes: {n!r} is not a procurement route; use {', '.join(MODELS)}")
    if len(set(names)) != len(names):
        raise UsageError("--routes: a route is named twice")
    return tuple(names)


def _sweep_options(p: argparse.ArgumentParser) -> None:
    _add_scenario_options(p, with_model=False, with_outputs=False)
    _add_models_option(p, "the scenario's")
    p.add_argument("--all-icss", action="store_true", help="sweep every ICS separately")
    p.add_argument(
        "--budgets", metavar="LIST", help="budgets: 1m,2m,3m or start:stop:count, e.g. 0.5m:4m:25"
    )
    p.add_argument(
        "--budget-fractions",
        metavar="LIST",
        help="budgets as multiples of each ICS's local budgets, e.g. 0.25:2:8",
    )
    p.add_argument("--equity-weights", metavar="LIST", help="e.g. 0:1:5 or 0,0.5,1")
    _add_batch_outputs(p)


def _batch_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="the batch file (see the README)")
    p.add_argument("--data", required=True, metavar="PATH")
    p.add_argument("--scenario", metavar="FILE", help="base settings under the batch file's")
    _add_batch_outputs(p)


def _uncertainty_options(p: argparse.ArgumentParser) -> None:
    _add_scenario_options(p, with_model=True, with_outputs=False)
    p.add_argument(
        "--samples",
        type=_number("int", hi=MAX_SAMPLES),
        default=500,
        help=f"number of samples, 1 to {MAX_SAMPLES:,} (default 500)",
    )
    p.add_argument(
        "--seed",
        type=_number("int", lo=0, hi=MAX_SEED),
        default=2026,
        help=f"random seed, 0 to {MAX_SEED:,} (default 2026)",
    )
    p.add_argument(
        "--price-spread",
        type=_number(lo=0, hi=1, read="percent"),
        default=0.2,
        help="prices vary uniformly by +/- this share, 0 to 1 (default 0.2)",
    )
    p.add_argument(
        "--probabilities",
        metavar="FILE",
        help="write the probability each (trust, product) is chosen (CSV)",
    )
    p.add_argument("--summary", metavar="FILE", help="write the summary as JSON")
    _add_batch_outputs(p, plans=False)


def _rollout_options(p: argparse.ArgumentParser) -> None:
    _add_scenario_options(p, with_model=False, with_outputs=False)
    _add_models_option(p, "all three")
    p.add_argument(
        "--years",
        type=_number("int"),
        help="decision years, at most the horizon (default: the horizon)",
    )
    p.add_argument(
        "--no-carry-over",
        action="store_true",
        help="money unspent in a year is lost (default: it carries over)",
    )
    p.add_argument(
        "--ramp-months",
        type=_number(hi=MAX_RAMP_MONTHS),
        default=6.0,
        help=f"months for a live product's benefit to ramp up, 0 to {MAX_RAMP_MONTHS} (default 6)",
    )
    p.add_argument("--out", metavar="FILE", help="write the schedules (one row per adoption)")
    p.add_argument("--curve", metavar="FILE", help="write the cumulative benefit curves (CSV)")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")


def _explain_options(p: argparse.ArgumentParser) -> None:
    _add_scenario_options(p, with_model=True, with_outputs=False)
    p.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="folder for the explanation tables (CSV) and one HTML page per trust",
    )
    p.add_argument(
        "--trust",
        action="append",
        metavar="CODE",
        help="explain only this trust (repeatable; default every trust)",
    )
    p.add_argument(
        "--max-resolves",
        type=_number("int"),
        metavar="N",
        help="cap the re-solves (break-even prices, displacements)",
    )
    p.add_argument(
        "--workers",
        type=_number("int", hi=MAX_WORKERS),
        default=None,
        metavar="N",
        help=f"threads for the re-solves, 1 to {MAX_WORKERS} (default 2, or 1 with --max-resolves)",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="replace existing tables and HTML pages"
    )
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")


def _validate_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, metavar="PATH")


def _template_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", metavar="DIR")


def _generate_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument(
        "--icss",
        type=_number("int", hi=MAX_GENERATED_ICSS),
        default=42,
        help=f"number of ICSs, 1 to {MAX_GENERATED_ICSS:,} (default 42)",
    )
    p.add_argument(
        "--trusts",
        type=_number("int", hi=MAX_GENERATED_TRUSTS),
        default=120,
        help=f"number of trusts, 1 to {MAX_GENERATED_TRUSTS:,} (default 120)",
    )
    p.add_argument(
        "--products",
        type=_number("int", hi=MAX_GENERATED_PRODUCTS),
        default=None,
        help=f"number of products, 1 to {MAX_GENERATED_PRODUCTS:,} (default: the shipped "
        "catalogue)",
    )
    p.add_argument(
        "--seed",
        type=_number("int", lo=0, hi=MAX_SEED),
        default=2026,
        help=f"random seed, 0 to {MAX_SEED:,} (default 2026)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing files")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``planner`` command.

    Each command's options are added when that command is parsed (see ``_CommandParser``).
    """
    parser = argparse.ArgumentParser(
        prog="planner",
        description="Plan AI imaging adoption across NHS trusts and compare ways of buying.",
        epilog=_epilog(),
        formatter_class=_HelpFormatter,
    )
    parser.add_argument(
        "--version", action=_VersionAction, help="print the planner's version and exit"
    )
    sub = parser.add_subparsers(
        dest="command",
        required=True,
        title="commands",
        metavar="COMMAND",
        help="one of these (planner COMMAND --help for its options)",
        parser_class=_CommandParser,
    )
    for name, command in COMMANDS.items():
        sub.add_parser(name, help=command.help, options=command.options)
    return parser


def scenario_from_args(args: argparse.Namespace) -> Scenario:
    """Build the scenario: the file (if any), then the command-line overrides."""
    import yaml

    from planner.errors import Problem, ScenarioError
    from planner.scenario import Lock, Scenario, load_scenario, parse_yaml

    scenario = _read(load_scenario, args.scenario) if args.scenario else Scenario()
    changes: dict = {}
    for key, value in [
        ("model", args.model if isinstance(getattr(args, "model", None), str) else None),
        ("budget_gbp", args.budget),
        ("equity_weight", args.equity_weight),
        ("coverage_floor", args.coverage_floor),
        ("floor_applies_to", args.floor_applies_to),
        ("core20_parity", args.core20_parity),
        ("min_adoptions_per_trust", args.min_adoptions),
        ("deprivation_reference", args.deprivation_reference),
        ("maximin_weight_gbp", args.maximin_weight),
        ("horizon_years", args.horizon),
        ("time_limit_s", args.time_limit),
        ("mip_gap", args.gap),
        ("threads", args.threads),
    ]:
        if value is not None:
            changes[key] = value
    locks = list(scenario.locks)
    locks += [Lock(t, p, True) for t, p in args.lock or []]
    locks += [Lock(t, p, False) for t, p in args.exclude or []]
    if locks:
        changes["locks"] = locks
    if changes:
        scenario = scenario.replace(**changes)
    overrides = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise ScenarioError(
                [
                    Problem(
                        "--set", None, item, "must be KEY=VALUE", "e.g. --set discount_rate=0.035"
                    )
                ]
            )
        try:  # the value read as YAML, as in a scenario file (so no anchors or aliases)
            overrides[key.strip()] = parse_yaml(value, "--set", key.strip())
        except yaml.YAMLError:
            overrides[key.strip()] = value
    return scenario.with_overrides(overrides) if overrides else scenario


def _read_dataset(path: str):
    from planner.data import load_dataset

    return _read(load_dataset, path)


def _load(args):
    dataset = _read_dataset(args.data)
    if args.ics:
        dataset = dataset.subset(args.ics)
    return dataset


def _print_plan(plan, out) -> None:
    eq = plan.equity
    print(f"model {plan.model}: {status_text(plan.status, plan.gap)}", file=out)
    print(
        f"  budget {pounds(plan.budget_gbp)}, spent {pounds(plan.cost_gbp)}, "
        f"benefit {pounds(plan.benefit_gbp)} (present value)",
        file=out,
    )
    print(
        f"  {len(plan.adoptions)} adoptions at {eq['trusts_with_new_adoptions']} trusts; "
        f"coverage {percent(eq['coverage'])}, lowest trust {percent(eq['min_coverage'])}",
        file=out,
    )
    q = eq["by_imd_quintile"]
    reference = (
        "most deprived fifth of the trusts planned"
        if plan.scenario.deprivation_reference == "dataset"
        else "most deprived national fifth"
    )
    print(
        f"  Core20 people ({reference}): coverage "
        f"{percent(eq['core20_coverage'])} against {percent(eq['population_coverage'])} for all "
        f"people; least deprived fifth {percent((q.get('1') or {}).get('coverage'))}",
        file=out,
    )
    if eq["trusts_without_new_adoptions"]:
        names = plan.trusts.set_index("trust")["trust_name"]
        left = [f"{names[t]} ({t})" for t in eq["trusts_without_new_adoptions"]]
        print(f"  no new AI tool: {'; '.join(left)}", file=out)
    g = plan.greedy
    if g:
        print(
            f"  greedy order of buy: benefit {pounds(g['benefit_gbp'])}; the optimum gains "
            f"{pounds(g['gain_gbp'])}",
            file=out,
        )
    if plan.base_case:
        print(
            f"  benefit given up for equity: "
            f"{pounds(plan.base_case['benefit_given_up_for_equity_gbp'])}",
            file=out,
        )
    if plan.marginal:
        print(
            f"  next {pounds(plan.marginal['step_gbp'])} of budget adds "
            f"{pounds(plan.marginal['extra_benefit_gbp'])} of benefit"
            + ("" if plan.marginal["reliable"] else " (not reliable: a solve stopped early)"),
            file=out,
        )


def _write_outputs(args, plans, comparison=None) -> None:
    from planner import report

    single = plans[0] if len(plans) == 1 and comparison is None else None
    if args.json:
        target = single if single is not None else plans
        if args.json == "-":
            if isinstance(target, list):
                data = {"plans": [p.to_dict(args.timings) for p in target]}
            else:
                data = target.to_dict(args.timings)
            sys.stdout.write(report.to_json_text(data))
        else:
            report.write_json(target, args.json, include_timings=args.timings)
    if args.csv:
        report.write_plan_csv(single if single is not None else plans, args.csv, comparison)
    if args.xlsx:
        report.write_plan_xlsx(single if single is not None else plans, args.xlsx, comparison)


def cmd_solve(args) -> int:
    """Solve one procurement model."""
    from planner.plan import solve

    dataset = _load(args)
    scenario = scenario_from_args(args)
    plan = solve(dataset, scenario, with_marginal=args.marginal)
    quiet = args.quiet or args.json == "-"
    if not quiet:
        _print_plan(plan, sys.stdout)
    elif args.json == "-" and not args.quiet:
        _print_plan(plan, sys.stderr)
    _write_outputs(args, [plan])
    if args.cost_share:
        from planner.costshare import share_costs

        share_costs(dataset, plan).write_csv(args.cost_share)
    if args.explain:
        from planner.explain import explain_plan
        from planner.explain_output import write_explanation

        result = explain_plan(dataset, scenario, plan)
        write_explanation(dataset, plan, result, args.explain)
        if not quiet:
            print(f"wrote the explanation and a page per trust to {args.explain}")
    return EXIT_OK


def cmd_compare(args) -> int:
    """Solve procurement routes on the same money."""
    from planner.plan import compare

    routes = route_list(args.routes)
    dataset = _load(args)
    scenario = scenario_from_args(args)
    plans, table = compare(dataset, scenario, routes, with_marginal=args.marginal)
    out = sys.stderr if args.json == "-" else sys.stdout
    if not args.quiet:
        for plan in plans:
            _print_plan(plan, out)
    _write_outputs(args, plans, table)
    return EXIT_OK


def cmd_validate(args) -> int:
    """Validate a dataset."""
    d = _read_dataset(args.data)
    print(
        f"{args.data}: valid ({len(d.icss)} ICSs, {len(d.trusts)} trusts, "
        f"{len(d.products)} products, {len(d.price_tiers)} price tiers, "
        f"{len(d.deployments)} existing deployments)"
    )
    return EXIT_OK


def cmd_template(args) -> int:
    """Write empty templates."""
    from planner.data import write_template

    written = write_template(args.dir)
    print(f"wrote {len(written)} template files to {args.dir}")
    return EXIT_OK


def cmd_generate(args) -> int:
    """Generate a synthetic dataset."""
    from planner.generate import generate_tables, write_tables

    for name, v in [("--icss", args.icss), ("--trusts", args.trusts)]:
        if v < 1:
            raise UsageError(f"{name} must be at least 1")
    if args.trusts < args.icss:
        raise UsageError("--trusts must be at least --icss (every ICS holds a trust)")
    if args.products is not None and args.products < 1:
        raise UsageError("--products must be at least 1")
    try:
        tables = generate_tables(args.icss, args.trusts, args.products, seed=args.seed)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    write_tables(tables, args.out, overwrite=args.overwrite)
    print(
        f"wrote {len(tables['icss'])} ICSs, {len(tables['trusts'])} trusts and "
        f"{len(tables['products'])} products to {args.out}"
    )
    return EXIT_OK


class _ProgressBar:
    """A tqdm bar on stderr that shows itself only for runs longer than a couple of seconds."""

    def __init__(self, quiet: bool, what: str):
        self.bar = None
        self.quiet = quiet
        self.what = what

    def __call__(self, done: int, total: int) -> None:
        if self.quiet:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(
                total=total,
                desc=self.what,
                unit="run",
                delay=2.0,
                mininterval=0.5,
                file=sys.stderr,
                dynamic_ncols=True,
                disable=not sys.stderr.isatty(),  # a bar, not a log, on a terminal only
            )
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _write_table(args, table) -> None:
    from planner import report

    if args.out:
        report.write_csv_frame(table, args.out)
    if args.parquet:
        from planner.sheets import atomic_write

        frame = report.safe_frame(table)
        atomic_write(Path(args.parquet), lambda p: frame.to_parquet(p, index=False))


def _finish_batch(args, table, plans) -> int:
    from planner import report
    from planner.batch import summarise
    from planner.solve import has_plan

    _write_table(args, table)
    if getattr(args, "plans", None):
        for run_id, plan_data in plans.items():
            report.write_text(
                Path(args.plans) / f"run-{run_id:05d}.json", report.to_json_text(plan_data)
            )
    failed = table[~has_plan(table["status"])]
    if not args.quiet:
        for row in summarise(table).itertuples(index=False):
            print(_summary_line(row))
    lost = _not_finished(table)
    for r in failed[~lost.loc[failed.index]].itertuples():
        print(
            f"run {r.run_id} ({r.scenario}, {r.ics}, {r.model}) {r.status}: {r.reason}",
            file=sys.stderr,
        )
    if lost.any():
        print(_not_finished_line(args, table, lost, "run_id", "run"), file=sys.stderr)
    if len(failed):
        print(f"{len(failed)} of {len(table)} runs failed", file=sys.stderr)
        return EXIT_RUNS_FAILED
    return EXIT_OK


def _not_finished(table):
    """Which rows of a run table are jobs a lost Dask scheduler (or a cancel) never returned."""
    from planner.parallel import not_finished

    return table["reason"].fillna("").astype(str).map(not_finished).astype(bool)


def _not_finished_line(args, table, lost, id_column: str, noun: str) -> str:
    """One line on jobs the Dask cluster never returned, and what was kept."""
    from planner.parallel import SCHEDULER_LOST

    reasons = table.loc[lost, "reason"]
    cause = (
        f"lost the Dask scheduler {args.scheduler}"
        if (reasons == SCHEDULER_LOST).all()
        else f"the Dask cluster {args.scheduler} cancelled some {noun}s"
    )
    kept = int((~lost).sum())
    where = f" and are written to {args.out}" if kept and args.out else ""
    return (
        f"error: {cause}: {kept} of {len(table)} {noun}s finished{where}; not finished "
        f"({int(lost.sum())}): {noun}s {_id_ranges(table.loc[lost, id_column])}"
    )


def _id_ranges(ids, limit: int = 20) -> str:
    """Whole numbers as short ranges: ``2-5, 9, 12-13`` (the first ``limit`` ranges)."""
    spans: list[list[int]] = []
    for i in sorted(int(v) for v in ids):
        if spans and i == spans[-1][1] + 1:
            spans[-1][1] = i
        else:
            spans.append([i, i])
    text = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in spans[:limit])
    return text + (f" and {len(spans) - limit} more ranges" if len(spans) > limit else "")


def _spread(row, figure: str) -> str:
    """``£1.20m to £9.90m (median £5.10m)`` over a group's plans, or one figure for one."""
    low, mid, high = (getattr(row, f"{figure}_{s}_gbp") for s in ("min", "median", "max"))
    if money(low) == money(high):
        return money(low)
    return f"{money(low)} to {money(high)} (median {money(mid)})"


def _summary_line(row) -> str:
    """One scenario and model of a batch: its runs, failures and the range of its plans.

    The runs are alternatives (budgets, weights, ICSs), so their figures are never added.
    """
    runs = f"{row.runs} run" + ("s" if row.runs != 1 else "")
    failed = f", {row.failed} failed" if row.failed else ""
    if row.failed == row.runs:
        return f"{row.scenario}, model {row.model}: {runs}{failed}; no plan"
    return (
        f"{row.scenario}, model {row.model}: {runs}{failed}; "
        f"benefit {_spread(row, 'benefit')}; spent {_spread(row, 'cost')}"
    )


def _check_workers(args) -> None:
    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if args.scheduler and not args.scheduler.startswith(("tcp://", "tls://")):
        raise UsageError("--scheduler must look like tcp://HOST:PORT")
    # a missing extra is said before any run starts, not after them all
    if args.scheduler and importlib.util.find_spec("distributed") is None:
        raise UsageError("--scheduler needs Dask: pip install 'planner[dask]'")
    if getattr(args, "parquet", None) and importlib.util.find_spec("pyarrow") is None:
        raise UsageError("--parquet needs pyarrow: pip install 'planner[parquet]'")


def cmd_sweep(args) -> int:
    """Budget and/or equity-weight sweep."""
    from planner.batch import parse_range, sweep_runs

    _check_workers(args)
    dataset = _read_dataset(args.data)
    scenario = scenario_from_args(args)
    try:
        budgets = parse_range(args.budgets, money=True) if args.budgets else None
        fractions = parse_range(args.budget_fractions) if args.budget_fractions else None
        weights = parse_range(args.equity_weights) if args.equity_weights else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if budgets is None and fractions is None and weights is None and not args.all_icss:
        raise UsageError(
            "give --budgets, --budget-fractions or --equity-weights, or --all-icss for one "
            "run per ICS on its own money"
        )
    if weights and not all(0 <= w <= 1 for w in weights):
        raise UsageError("--equity-weights must lie between 0 and 1")
    if args.all_icss:
        icss = list(dataset.icss.index)
    elif args.ics:
        dataset.subset(args.ics)  # reports unknown codes
        icss = list(args.ics)
    else:
        icss = [None]
    runs = sweep_runs(
        dataset,
        scenario,
        icss=icss,
        models=args.model or [scenario.model],
        budgets=budgets,
        budget_fractions=fractions,
        equity_weights=weights,
        keep_plans=bool(args.plans),
    )
    return _run_and_finish(args, dataset, runs, "sweep")


def _run_and_finish(args, dataset, runs, what: str) -> int:
    """Execute runs with a progress bar, then write and summarise the table."""
    from planner.batch import run_table

    bar = _ProgressBar(args.quiet, what)
    try:
        table, plans = run_table(
            dataset, runs, workers=args.workers, scheduler=args.scheduler, progress=bar
        )
    finally:
        bar.close()
    return _finish_batch(args, table, plans)


def cmd_batch(args) -> int:
    """Named scenarios x models x ICSs."""
    from planner.batch import load_batch
    from planner.scenario import load_scenario

    _check_workers(args)
    dataset = _read_dataset(args.data)
    base = _read(load_scenario, args.scenario) if args.scenario else None
    runs = _read(load_batch, args.file, dataset, base)
    if args.plans:
        runs = [r.__class__(**{**r.__dict__, "keep_plan": True}) for r in runs]
    return _run_and_finish(args, dataset, runs, "batch")


def cmd_uncertainty(args) -> int:
    """Probabilistic sensitivity analysis."""
    from planner import report
    from planner.uncertainty import ranges_text, run_psa

    _check_workers(args)
    if args.samples < 1:
        raise UsageError("--samples must be at least 1")
    dataset = _load(args)
    scenario = scenario_from_args(args)
    bar = _ProgressBar(args.quiet, "samples")
    try:
        result = run_psa(
            dataset,
            scenario,
            args.samples,
            seed=args.seed,
            price_spread=args.price_spread,
            workers=args.workers,
            scheduler=args.scheduler,
            progress=bar,
        )
    finally:
        bar.close()
    _write_table(args, result.samples)
    if args.probabilities:
        report.write_csv_frame(result.adoption, args.probabilities)
    if args.summary:
        report.write_text(args.summary, report.to_json_text(result.summary))
    s = result.summary
    if not args.quiet:
        print(
            f"{s['samples']} samples ({s['failed']} failed), seed {s['seed']}, model {s['model']}"
        )
        print(
            f"  re-optimised benefit: mean {pounds(s['mean_benefit_gbp'])}, 90% interval "
            f"{pounds(s['p05_benefit_gbp'])} to {pounds(s['p95_benefit_gbp'])}"
        )
        print(
            f"  base-case plan: {pounds(s['base_case_benefit_gbp'])} at central values, "
            f"expected {pounds(s['expected_base_plan_benefit_gbp'])} under uncertainty; it "
            f"overspends in {percent(s['base_plan_overspend_share'], 0)} of samples"
        )
        print("  " + ranges_text(s))
    table = result.samples
    lost = _not_finished(table)
    # samples without a plan are expected now and then; an error in one is not
    broken = table[table["reason"].fillna("").astype(str).str.startswith("unexpected") & ~lost]
    for r in broken.head(10).itertuples():
        print(f"sample {r.sample} failed: {r.reason}", file=sys.stderr)
    if len(broken) > 10:
        print(f"and {len(broken) - 10} more samples failed like this", file=sys.stderr)
    if lost.any():
        print(_not_finished_line(args, table, lost, "sample", "sample"), file=sys.stderr)
    return EXIT_RUNS_FAILED if s["failed"] else EXIT_OK


def cmd_rollout(args) -> int:
    """Year-by-year rollout under each procurement model."""
    import pandas as pd

    from planner import report
    from planner.rollout import RolloutSettings, solve_rollout
    from planner.scenario import COMPARED

    dataset = _load(args)
    scenario = scenario_from_args(args)
    years = args.years or scenario.horizon_years
    if not 1 <= years <= scenario.horizon_years:
        raise UsageError(f"--years must be between 1 and the horizon ({scenario.horizon_years})")
    if args.ramp_months < 0:
        raise UsageError("--ramp-months must be at least 0")
    settings = RolloutSettings(
        years=years, carry_over=not args.no_carry_over, ramp_months=args.ramp_months
    )
    schedules, curves = [], []
    for model in args.model or list(COMPARED):
        result = solve_rollout(dataset, scenario, model, settings)
        schedules.append(result.schedule.assign(model=model))
        curves.append(result.curve)
        if not args.quiet:
            by_year = result.schedule.groupby("start_year").size().to_dict()
            signed = ", ".join(f"year {y}: {n}" for y, n in sorted(by_year.items()))
            print(
                f"model {model}: {result.status} (gap {result.gap:.2%}); "
                f"{len(result.schedule)} adoptions ({signed or 'none'}); benefit "
                f"{pounds(result.benefit_gbp)}, committed {pounds(result.cost_gbp)}"
            )
    if args.out:
        report.write_csv_frame(pd.concat(schedules, ignore_index=True), args.out)
    if args.curve:
        report.write_csv_frame(pd.concat(curves, ignore_index=True), args.curve)
    return EXIT_OK


def cmd_explain(args) -> int:
    """Explain a plan and write one HTML summary per trust."""
    from planner import explain
    from planner.explain_output import write_explanation
    from planner.plan import solve

    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if args.max_resolves is not None and args.max_resolves < 0:
        raise UsageError("--max-resolves must be at least 0")
    if args.max_resolves is not None and (args.workers or 1) > 1:
        raise UsageError(
            "--max-resolves needs --workers 1 (a shared cap on re-solves is not split "
            "between threads)"
        )
    dataset = _load(args)
    scenario = scenario_from_args(args)
    unknown = [t for t in args.trust or [] if t not in dataset.trusts.index]
    if unknown:
        raise UsageError(f"unknown trust code {unknown[0]!r} (see trusts.csv)")
    plan = solve(dataset, scenario)
    result = explain.explain_plan(
        dataset,
        scenario,
        plan,
        trusts=args.trust,
        max_resolves=args.max_resolves,
        workers=args.workers,
    )
    out = Path(args.out)
    _, pages = write_explanation(
        dataset, plan, result, out, trusts=args.trust, overwrite=args.overwrite
    )
    if not args.quiet:
        print(
            f"explained {len(result.adoptions)} adoptions and {len(result.not_chosen)} "
            f"options not chosen with {result.resolves} re-solves; wrote {len(pages)} "
            f"trust pages to {out / 'trusts'}"
        )
    return EXIT_OK


class Command(NamedTuple):
    """One ``planner`` command: its one-line help, its options and what it runs."""

    help: str
    options: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


#: The commands, in the order ``planner --help`` lists them.
COMMANDS = {
    "solve": Command(
        "optimal adoption plan under one procurement model", _solve_options, cmd_solve
    ),
    "compare": Command("procurement routes on the same money", _compare_options, cmd_compare),
    "sweep": Command(
        "budget and/or equity-weight sweep, one row per run", _sweep_options, cmd_sweep
    ),
    "batch": Command("named scenarios x models x ICSs from a YAML file", _batch_options, cmd_batch),
    "uncertainty": Command(
        "probabilistic sensitivity analysis", _uncertainty_options, cmd_uncertainty
    ),
    "rollout": Command("year-by-year rollout under yearly budgets", _rollout_options, cmd_rollout),
    "explain": Command(
        "why each adoption, why not the others; HTML pages", _explain_options, cmd_explain
    ),
    "validate": Command("check a dataset and list every problem", _validate_options, cmd_validate),
    "template": Command("write empty CSV and Excel templates", _template_options, cmd_template),
    "generate": Command(
        "generate a synthetic dataset of any size", _generate_options, cmd_generate
    ),
}


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # imported after parsing: --help and --version load nothing they do not need
    from planner.errors import InfeasibleError, InputError, PlannerError, SolverError

    try:
        return COMMANDS[args.command].run(args)
    except KeyboardInterrupt:
        print("stopped (Ctrl-C); files are written whole or not at all", file=sys.stderr)
        return EXIT_INTERRUPTED
    except InputError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_INPUT
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except InfeasibleError as exc:
        for reason in exc.reasons:
            print(f"infeasible: {reason}", file=sys.stderr)
        return EXIT_INFEASIBLE
    except SolverError as exc:
        print(f"solver error: {exc}", file=sys.stderr)
        return EXIT_SOLVER
    except PlannerError as exc:  # raised on purpose, but neither bad input nor the solver
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except ReadError as exc:
        print(f"error: {_os_problem(exc.error, 'read')}", file=sys.stderr)
        return EXIT_FILE
    except OSError as exc:
        if isinstance(exc, FileExistsError) and exc.errno is None:
            # refused to overwrite (planner.sheets.refuse_existing): a choice of path
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_INPUT
        print(f"error: {_os_problem(exc, 'write')}", file=sys.stderr)
        return EXIT_FILE
    except Exception as exc:  # the user must never see a traceback
        if os.environ.get("PLANNER_DEBUG"):
            raise
        print(
            f"internal error: {type(exc).__name__}: {exc} (rerun with PLANNER_DEBUG=1 and "
            "report it)",
            file=sys.stderr,
        )
        return EXIT_ERROR


def silence_solver_banner() -> None:
    """Keep the solver's banner off this process's stdout, once, for the whole run.

    HiGHS prints from C straight to file descriptor 1. The command line is one user's
    process, so it points descriptor 1 at the null device once and gives Python's
    ``sys.stdout`` a copy of the real one: what the planner prints (tables, ``--json -``)
    stays clean. The library itself never redirects anything (the app is a shared server).
    """
    sys.stdout.flush()
    real = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.close(null)
    sys.stdout = open(  # noqa: SIM115 - lives as long as the process
        real, "w", buffering=1, encoding=sys.stdout.encoding or "utf-8", errors="replace"
    )


def run() -> None:  # pragma: no cover - the console script; tests call main()
    """The ``planner`` command: silence the solver's banner, run, exit with the code."""
    silence_solver_banner()
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
