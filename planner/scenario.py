"""Scenario settings: every constant the planner uses, with its default, unit and source.

A :class:`Scenario` is frozen and hashable (so the app can cache on it). Build one with
keyword arguments, from a YAML or TOML file, or with dotted overrides such as
``{"procurement.ics.lead_time_months": 9}``. Each setting declares its bounds or choices
once (:func:`setting`); every way of building a scenario, the constructor included, runs
the same checks in ``__post_init__`` (:func:`check_settings`), so a bad value is a
:class:`~planner.errors.ScenarioError` naming the setting, the value, what is allowed and
the fix. Unknown keys are an error, never ignored.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import re
import reprlib
import tomllib
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from planner.errors import Problem, ScenarioError

#: The procurement routes shipped (see ``Scenario.procurement`` and README "Procurement
#: routes"): each is a :class:`Route` of settings, not code.
MODELS = ("local", "ics", "network", "framework", "central", "central_pot")
#: The routes compared when none are named (``planner compare``, the app's Compare page).
COMPARED = ("local", "ics", "central")
#: The groupings of trusts a route can buy or hold money by, finest first (``planner.data``
#: gives each trust's code in each: ``trust_groups``).
GROUPINGS = ("trust", "ics", "network", "region", "nation")
#: How a route splits the total money between trusts before its money holders pool it:
#: ``scenario`` (as ``Scenario.local_budget_split`` says), by ``headroom`` (each trust's
#: local_budget_gbp), by ``population``, or by ``needs`` (population with a deprivation
#: uplift, ``Scenario.needs_uplift``).
MONEY_SPLITS = ("scenario", "headroom", "population", "needs")
#: What a coverage floor can bind (see ``Scenario.floor_applies_to``).
FLOOR_TARGETS = ("all", "core20", "core20_trusts")


#: Where problems found while constructing a scenario are reported (loaders relabel them).
_HERE = "scenario"

#: The largest amount of money any setting may hold, in pounds (£1 trillion: several years
#: of the whole NHS budget; larger figures are typing slips that would break the arithmetic).
MAX_GBP = 1e12
#: The most solver threads a scenario may ask for (a fixed bound, so a scenario file valid on
#: one machine is valid on all; HiGHS gains little beyond a few threads).
MAX_THREADS = 64
#: The longest solver time limit, in seconds (one week).
MAX_TIME_LIMIT_S = 7 * 24 * 3600
#: The largest scenario or batch file read, in bytes (settings take a few kilobytes).
MAX_SETTINGS_FILE_BYTES = 1_000_000


def setting(
    default=MISSING,
    doc: str = "",
    *,
    lo=None,
    hi=None,
    choices=None,
    kind: str | None = None,
    hint: str = "",
    default_factory=MISSING,
):
    """Declare a setting with its documentation and what values it allows.

    The bounds and choices are checked whenever a settings class is constructed (see
    :func:`check_settings`). ``kind`` follows from the default unless given: ``choice``
    (text, one of ``choices``), ``bool``, ``int`` (a whole number) or ``float``; the others
    are ``money`` (pounds, None allowed, text such as ``2.5m`` read as money, at most
    :data:`MAX_GBP` unless ``hi`` says otherwise), ``amounts`` (None or a list of money),
    ``scores`` (ascending IMD cut points), ``code`` (text), ``locks`` and ``routes``.
    ``hint`` ends the fix given for a bad value.
    """
    if kind is None:
        if choices:
            kind = "choice"
        elif isinstance(default, bool):
            kind = "bool"
        elif isinstance(default, int):
            kind = "int"
        elif isinstance(default, float):
            kind = "float"
        else:
            raise TypeError(f"setting default {default!r} needs kind=")
    if kind == "money" and hi is None:
        hi = MAX_GBP
    meta = {
        "doc": doc,
        "choices": choices,
        "default": default,
        **_bounds(kind, lo, hi, hint),
    }
    return field(default=default, default_factory=default_factory, metadata=meta)


def _bounds(kind: str, lo, hi, hint: str = "") -> dict:
    """What a number check reads: the kind, the bounds (None = none) and the fix's ending."""
    return {
        "kind": kind,
        "lo": lo,
        "hi": hi,
        "hint": hint,
        "least": -math.inf if lo is None else lo,
        "most": math.inf if hi is None else hi,
    }


_MONEY_RE = re.compile(r"^£?\s*([0-9][0-9,]*\.?[0-9]*|\.[0-9]+)\s*([kKmMbB]?)$")


def parse_money(text: str | float | int) -> float:
    """Parse an amount such as ``2.5m``, ``£750k``, ``2,000,000`` or ``1200000`` into pounds.

    Raises:
        ValueError: If the text is not a non-negative amount.
    """
    if isinstance(text, bool):
        raise ValueError(f"{_shown(text)} is not an amount of money")
    if isinstance(text, int | float):
        value = float(text)
    else:
        m = _MONEY_RE.match(str(text).strip())
        if not m:
            raise ValueError(f"{_shown(text)} is not an amount of money (write e.g. 2.5m, 750k)")
        value = (
            float(m.group(1).replace(",", ""))
            * {"": 1, "k": 1e3, "m": 1e6, "b": 1e9}[m.group(2).lower()]
        )
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{_shown(text)} is not a non-negative amount of money")
    return value


# ---------------------------------------------------------------------------------------
# Checks: each kind of setting checked once, for the constructor and the file loaders alike.

_NOUNS = {"int": "a whole number", "float": "a number", "money": "an amount in pounds"}


_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 40
_SHORT.maxlevel = 3


def _shown(value) -> str:
    """A value as messages quote it, cut short: a file may hold a huge or deep one."""
    if type(value) is int and value.bit_length() > 128:
        return f"a number of about {value.bit_length() * 0.30103:.0f} digits"
    try:
        return _SHORT.repr(value)
    except ValueError:  # an integer of thousands of digits deep inside
        return "a value too large to show"


def _num(x) -> str:
    """A number as messages show it: 0.035, 7, 2,000,000, 1e+20."""
    try:
        f = float(x)
    except (OverflowError, ValueError, TypeError):
        return _shown(x)
    if f.is_integer() and 1e5 <= abs(f) < 1e15:
        return f"{f:,.0f}"
    return f"{f:g}"


def _allowed(meta) -> str:
    """What a numeric setting allows, in words: 'a number from 0 to 1'."""
    noun, lo, hi = _NOUNS[meta["kind"]], meta["lo"], meta["hi"]
    if meta["kind"] == "money" and lo is not None and hi is not None:
        return f"{noun} of at least {_num(lo)} and at most {_num(hi)}"
    if lo is not None and hi is not None:
        return f"{noun} from {_num(lo)} to {_num(hi)}"
    if lo is not None:
        return f"{noun} of at least {_num(lo)}"
    if hi is not None:
        return f"{noun} of at most {_num(hi)}"
    return noun


def _check_number(name, meta, value, where, problems):
    """A finite number within the setting's bounds (a whole one for ``int`` settings)."""
    kind = meta["kind"]
    if type(value) is (int if kind == "int" else float):  # the common case, kept fast
        if meta["least"] <= value <= meta["most"] and value - value == 0:  # not nan or inf
            return value
        x = value
    elif type(value) is int:
        x = value
    elif isinstance(value, bool) or not isinstance(value, numbers.Real | str):
        x = None
    else:
        try:
            x = float(value)  # numpy numbers, or a number written as text in a file
        except (ValueError, OverflowError):
            x = None
    try:
        if x is None:
            bad = f"{_shown(value)} is not " + (
                "an amount of money" if kind == "money" else "a number"
            )
        elif not math.isfinite(x):
            bad = f"{_num(x)} is not a finite number"
        elif kind == "int" and not float(x).is_integer():
            bad = f"{_num(x)} is not a whole number"
        elif meta["lo"] is not None and x < meta["lo"]:
            bad = f"{_num(x)} is below {_num(meta['lo'])} (the minimum)"
        elif meta["hi"] is not None and x > meta["hi"]:
            bad = f"{_num(x)} is above {_num(meta['hi'])} (the maximum)"
        else:
            return int(x) if kind == "int" else float(x)
    except OverflowError:
        bad = f"{_shown(value)} is not a finite number"
    problems.append(Problem(where, None, name, bad, "give " + _allowed(meta) + meta["hint"]))
    return value


def _check_money(name, meta, value, where, problems):
    """None (the sum of local budgets), a number, or text such as 2.5m or £750k."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            amount = parse_money(value)
        except ValueError:
            fix = "give " + _allowed(meta) + meta["hint"]
            problems.append(
                Problem(where, None, name, f"{_shown(value)} is not an amount of money", fix)
            )
            return value
        return _check_number(name, meta, amount, where, problems)  # within the bounds
    return _check_number(name, meta, value, where, problems)


#: One yearly amount of a list of money (``amounts`` settings).
_AMOUNT = _bounds("money", 0, MAX_GBP, ", e.g. 2.5m or 750k")


def _check_amounts(name, meta, value, where, problems):
    """None, or a list of amounts of money."""
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, list | tuple):
        problems.append(
            Problem(
                where, None, name, f"{_shown(value)} is not a list of amounts", "e.g. [1m, 500k]"
            )
        )
        return value
    out = []
    for i, item in enumerate(value):
        at = f"{name}[{i}]"
        if item is None:
            problems.append(Problem(where, None, at, "is empty", "give " + _allowed(_AMOUNT)))
        else:
            out.append(_check_money(at, _AMOUNT, item, where, problems))
    return tuple(out)


def _check_bool(name, meta, value, where, problems):
    """True or False (no 1, 0 or 'yes')."""
    if value is True or value is False:
        return value
    problems.append(
        Problem(where, None, name, f"{_shown(value)} is not true or false", "write true or false")
    )
    return value


def _check_choice(name, meta, value, where, problems):
    """One of the setting's choices (or None where the default is None: "as inherited")."""
    if isinstance(value, str) and value in meta["choices"]:
        return value
    if value is None and meta["default"] is None:
        return value
    problems.append(
        Problem(
            where,
            None,
            name,
            f"{_shown(value)} is not allowed",
            "use one of " + ", ".join(meta["choices"]),
        )
    )
    return value


def _check_code(name, meta, value, where, problems):
    """A code as text (a trust or product code)."""
    if isinstance(value, str) and value:
        return value
    problems.append(
        Problem(
            where, None, name, f"{_shown(value)} is not a code", "give the code as in the dataset"
        )
    )
    return value


def _check_scores(name, meta, value, where, problems):
    """Ascending IMD score boundaries, as many as the default has."""
    default = meta["default"]
    n = len(default)
    fix = f"give {n} increasing scores between 0 and 100, e.g. {list(default)}"
    if isinstance(value, str) or not isinstance(value, list | tuple) or len(value) != n:
        problems.append(Problem(where, None, name, f"{_shown(value)} is not a list of {n}", fix))
        return value
    try:
        out = tuple(float(v) for v in value if not isinstance(v, bool))
    except (TypeError, ValueError):
        out = ()
    ok = len(out) == n and all(math.isfinite(v) and 0 <= v <= 100 for v in out)
    if not ok or any(b <= a for a, b in zip(out, out[1:], strict=False)):
        problems.append(
            Problem(where, None, name, f"{_shown(list(value))} are not increasing scores", fix)
        )
        return value
    return out


def _check_locks(name, meta, value, where, problems):
    """A list of :class:`Lock` (or of tables with trust, product and adopt, as in a file)."""
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, list | tuple):
        problems.append(
            Problem(
                where,
                None,
                name,
                "must be a list of locks",
                "write [{trust: RXX, product: PXX, adopt: true}]",
            )
        )
        return value
    out = []
    for i, item in enumerate(value):
        at = f"{name}[{i}]"
        if isinstance(item, Lock):
            out.append(item)
            continue
        if not isinstance(item, dict) or not {"trust", "product"} <= set(item):
            problems.append(
                Problem(
                    where,
                    None,
                    at,
                    "a lock needs trust and product",
                    "write {trust: RXX, product: PXX, adopt: true}",
                )
            )
            continue
        # a file may write a numeric code without quotes
        data = {k: str(v) if k != "adopt" and type(v) is int else v for k, v in item.items()}
        lock = _make(Lock, data, where, at + ".", problems)
        if lock is not None:
            out.append(lock)
    return tuple(out)


def _check_routes(name, meta, value, where, problems):
    """Route per model; a model left out keeps its default, a table changes the default."""
    if not isinstance(value, dict):
        problems.append(
            Problem(
                where,
                None,
                name,
                "must be a table of routes by procurement model",
                "e.g. procurement: {ics: {lead_time_months: 9}}",
            )
        )
        return value
    routes = dict(_DEFAULT_ROUTES)
    for model, route in value.items():
        at = f"{name}.{model}"
        if model not in MODELS:
            problems.append(
                Problem(where, None, at, "unknown procurement route", "use " + ", ".join(MODELS))
            )
        elif isinstance(route, Route):
            routes[model] = route.inherit(_DEFAULT_ROUTES[model])
        elif isinstance(route, dict):
            base = dataclasses.asdict(_DEFAULT_ROUTES[model])
            made = _make(Route, {**base, **route}, where, at + ".", problems)
            if made is not None:
                routes[model] = made
        else:
            problems.append(
                Problem(
                    where,
                    None,
                    at,
                    "must be a table of route settings",
                    "e.g. procurement: {ics: {lead_time_months: 9}}",
                )
            )
    return routes


_CHECKS = {
    "bool": _check_bool,
    "int": _check_number,
    "float": _check_number,
    "money": _check_money,
    "amounts": _check_amounts,
    "choice": _check_choice,
    "code": _check_code,
    "scores": _check_scores,
    "locks": _check_locks,
    "routes": _check_routes,
}


@functools.cache
def _specs(cls) -> tuple:
    """(name, metadata, check) of each setting of a settings class."""
    return tuple((f.name, f.metadata, _CHECKS[f.metadata["kind"]]) for f in fields(cls))


@functools.cache
def _names(cls) -> frozenset:
    return frozenset(f.name for f in fields(cls))


def check_settings(obj, where: str) -> None:
    """Check every setting of a settings dataclass, storing its normal form (``__post_init__``).

    Whole numbers become ``int``, other numbers ``float``, lists tuples, and plain tables
    of routes and locks their classes; nothing else is changed.

    Raises:
        ScenarioError: Naming, for every bad setting, the value, what is allowed and the fix.
    """
    problems: list[Problem] = []
    for name, meta, check in _specs(type(obj)):
        value = getattr(obj, name)
        new = check(name, meta, value, where, problems)
        if new is not value:
            object.__setattr__(obj, name, new)
    if problems:
        raise ScenarioError(problems)


def check_setting(name: str, value: Any, settings: type | None = None, hint: str | None = None):
    """Check one value for the setting ``name`` as the constructor does; return its normal form.

    ``settings`` is the settings class (default :class:`Scenario`); ``hint``, if given,
    replaces the end of the fix (a command-line option has no "leave it empty").

    Raises:
        ScenarioError: Naming the setting, the value, what is allowed and the fix.
    """
    for spec_name, meta, check in _specs(settings or Scenario):
        if spec_name == name:
            if hint is not None:
                meta = {**meta, "hint": hint}
            problems: list[Problem] = []
            out = check(name, meta, value, _HERE, problems)
            if problems:
                raise ScenarioError(problems)
            return out
    raise KeyError(name)


def check_number(name: str, value: Any, *, kind: str = "float", lo=None, hi=None, hint: str = ""):
    """Check a number that is not a setting (a command-line option) as settings are checked.

    ``kind`` is ``int``, ``float`` or ``money``; text is read as a number (or as money), and
    nan, infinity, fractions for ``int`` and values outside ``lo``..``hi`` are refused.

    Raises:
        ScenarioError: Naming ``name``, the value, what is allowed and the fix.
    """
    problems: list[Problem] = []
    meta = _bounds(kind, lo, hi, hint)
    out = _CHECKS[kind](name, meta, value, name, problems)
    if problems:
        raise ScenarioError(problems)
    return out


def _make(cls, data: dict, where: str, prefix: str, problems: list[Problem]):
    """Construct ``cls`` from plain data; add its problems, located at ``where`` and ``prefix``.

    Returns:
        The object, or None if the constructor refused the values.
    """
    known = _names(cls)
    for key in data:
        if key not in known:
            problems.append(
                Problem(
                    where,
                    None,
                    prefix + str(key),
                    "unknown setting",
                    "remove it or fix its spelling; known: " + ", ".join(sorted(known)),
                )
            )
    try:
        return cls(**{k: v for k, v in data.items() if k in known})
    except ScenarioError as exc:
        problems += [
            Problem(
                where,
                p.row,
                prefix + p.column if p.column else prefix.rstrip(".") or None,
                p.problem,
                p.fix,
            )
            for p in exc.problems
        ]
        return None


@dataclass(frozen=True)
class Route:
    """How one procurement model turns the same data into prices, shared costs and timing."""

    lead_time_months: float = setting(
        6.0,
        "Months from the decision to a signed contract (benefit starts after this plus "
        "the product's implementation months)",
        lo=0,
        hi=60,
    )
    implementation_share: float = setting(
        1.0,
        "Share of each trust's one-off implementation cost paid under this route "
        "(shared project teams cost less)",
        lo=0,
        hi=1,
    )
    licence_share: float = setting(
        1.0, "Share of the per-trust annual licence paid under this route", lo=0, hi=1
    )
    platform_share: float = setting(
        1.0,
        "Share of the per-trust deployment-platform cost paid under this route "
        "(a shared platform costs less)",
        lo=0,
        hi=1,
    )
    volume_discount_depth: float = setting(
        1.0,
        "How much of the catalogue's volume discount is realised: 1 = the tier prices "
        "as listed, 0 = every tier at the tier-1 price (the evidence that volume buys lower "
        "prices in the NHS is mixed)",
        lo=0,
        hi=1,
    )
    framework_only: bool = setting(
        False, "Only products awarded on a national framework can be bought"
    )
    # None: as the shipped route of the same name (a route made in Python with only a lead
    # time keeps its route's groupings), or ``ics`` / ``scenario`` for a route of another name
    buys_together: str | None = setting(
        None,
        "The grouping of trusts whose pooled studies reach the price tiers: trust, ics, "
        "network, region or nation",
        choices=GROUPINGS,
    )
    holds_money: str | None = setting(
        None,
        "The grouping of trusts that holds the money, each within its own budget: trust, "
        "ics, network, region or nation (may differ from buys_together: a national price "
        "called off from local budgets)",
        choices=GROUPINGS,
    )
    money_split: str | None = setting(
        None,
        "How the total money is split between the trusts before their money holders pool "
        "it: scenario (as local_budget_split says), headroom, population or needs "
        "(population x the deprivation uplift of needs_uplift)",
        choices=MONEY_SPLITS,
    )

    def inherit(self, base: Route) -> Route:
        """This route with the groupings and split it leaves open (None) taken from ``base``."""
        open_ = {
            name: getattr(base, name)
            for name in ("buys_together", "holds_money", "money_split")
            if getattr(self, name) is None
        }
        return dataclasses.replace(self, **open_) if open_ else self

    def __post_init__(self) -> None:
        check_settings(self, "procurement route")


#: Each model's route when a scenario does not change it (routes are frozen, so shared).
_CENTRAL = {
    "lead_time_months": 14.0,
    "implementation_share": 0.7,
    "licence_share": 0.8,
    "platform_share": 0.5,
    "framework_only": True,
    "buys_together": "nation",
}
_DEFAULT_ROUTES = {
    "local": Route(
        lead_time_months=4.0, buys_together="trust", holds_money="trust", money_split="scenario"
    ),
    "ics": Route(
        lead_time_months=8.0,
        implementation_share=0.8,
        licence_share=0.9,
        platform_share=0.7,
        buys_together="ics",
        holds_money="ics",
        money_split="scenario",
    ),
    "network": Route(
        lead_time_months=10.0,
        implementation_share=0.75,
        licence_share=0.85,
        platform_share=0.6,
        buys_together="network",
        holds_money="network",
        money_split="scenario",
    ),
    "framework": Route(
        lead_time_months=3.0,
        framework_only=True,
        buys_together="nation",
        holds_money="trust",
        money_split="scenario",
    ),
    "central": Route(**_CENTRAL, holds_money="ics", money_split="needs"),
    "central_pot": Route(**_CENTRAL, holds_money="nation", money_split="scenario"),
}


def _default_routes() -> dict[str, Route]:
    return dict(_DEFAULT_ROUTES)


@dataclass(frozen=True)
class Lock:
    """Force a product in (``adopt=True``) or out (``adopt=False``) at a trust."""

    trust: str = setting(doc="Trust code", kind="code")
    product: str = setting(doc="Product code", kind="code")
    adopt: bool = setting(True, "True forces the product in, False keeps it out")

    def __post_init__(self) -> None:
        check_settings(self, "lock")


@dataclass(frozen=True)
class Scenario:
    """All settings of one planning run. Money is in pounds (GBP), present value."""

    model: str = setting(
        "ics",
        "Procurement route: local, ics, network, framework, central or central_pot",
        choices=MODELS,
    )
    budget_gbp: float | None = setting(
        None,
        "Total money over the horizon (present value) for the whole dataset; empty = "
        "the sum of the trusts' local_budget_gbp",
        lo=0,
        kind="money",
        hint=", e.g. 2.5m or 750k, or leave it empty to use the sum of the trusts' local budgets",
    )
    local_budget_split: str = setting(
        "headroom",
        "How the total is split between trusts in the local model (and between "
        "ICSs when a dataset has several): by each trust's local_budget_gbp ('headroom') or "
        "by population",
        choices=("headroom", "population"),
    )
    needs_uplift: float = setting(
        0.5,
        "Under a needs split (procurement.<route>.money_split: needs) each trust's share "
        "follows population x (1 + needs_uplift x core20_share): a person in England's most "
        "deprived fifth counts 1 + needs_uplift people (assumption; NHS allocations add a "
        "health-inequalities adjustment to population need)",
        lo=0,
        hi=10,
    )
    horizon_years: int = setting(5, "Years over which costs and benefits are counted", lo=1, hi=20)
    discount_rate: float = setting(
        0.035, "Annual discount rate (HM Treasury Green Book, NICE: 3.5%)", lo=0, hi=0.2
    )
    qaly_value_gbp: float = setting(
        25000.0,
        "Value of one QALY in pounds (NICE threshold range £20,000 to £30,000; midpoint)",
        lo=0,
        hi=MAX_GBP,
    )
    radiologist_hour_gbp: float = setting(
        110.0,
        "Value of one consultant radiologist hour released (about £100 to £130: "
        "Insights into Imaging 2023)",
        lo=0,
        hi=MAX_GBP,
    )
    vacancy_premium: float = setting(
        1.0,
        "An hour released is worth radiologist_hour_gbp x (1 + vacancy_premium x "
        "vacancy_rate): released time displaces outsourcing and locums where posts are "
        "vacant (assumption)",
        lo=0,
        hi=10,
    )
    platform_setup_gbp: float = setting(
        60000.0,
        "One-off cost of an AI deployment platform at a trust without one "
        "(assumption, within the £20k to £150k integration range)",
        lo=0,
        hi=MAX_GBP,
    )
    platform_gbp_per_year: float = setting(
        25000.0,
        "Annual cost of running the deployment platform at one trust (assumption)",
        lo=0,
        hi=MAX_GBP,
    )
    equity_weight: float = setting(
        0.0,
        "0 = unweighted benefit (NICE base case); 1 = full distributional weights from "
        "the inequality aversion; between mixes the two",
        lo=0,
        hi=1,
    )
    inequality_aversion: float = setting(
        10.95, "Atkinson inequality aversion epsilon for England (Robson et al. 2017)", lo=0, hi=50
    )
    qale_least_deprived_years: float = setting(
        72.0,
        "Quality-adjusted life expectancy of the least deprived fifth (assumption "
        "consistent with Love-Koh et al. 2015)",
        lo=1,
        hi=120,
    )
    qale_gap_years: float = setting(
        11.0,
        "QALE gap between the least and most deprived fifths (Love-Koh et al. 2015)",
        lo=0,
        hi=50,
    )
    maximin_weight_gbp: float = setting(
        0.0,
        "Pounds of benefit the objective trades for raising the lowest trust coverage "
        "from 0 to 100% (0 = off)",
        lo=0,
        hi=MAX_GBP,
    )
    coverage_floor: float = setting(
        0.0,
        "The least coverage (share of addressable studies read by AI) that what "
        "floor_applies_to names must reach (0 = off)",
        lo=0,
        hi=1,
    )
    floor_applies_to: str = setting(
        "all",
        "What the coverage floor binds: all (every trust), core20 (the coverage delivered "
        "to the Core20 people of each ICS: its trusts' coverage weighted by core20_share x "
        "population, so it bites in a 1-trust ICS as in England) or core20_trusts (every "
        "trust whose core20_share is above core20_trust_threshold)",
        choices=FLOOR_TARGETS,
    )
    core20_trust_threshold: float = setting(
        0.2,
        "Core20 share above which a trust is bound by a core20_trusts floor (0.2: more "
        "than England's own fifth of its people in the most deprived national fifth)",
        lo=0,
        hi=1,
    )
    min_adoptions_per_trust: int = setting(
        0,
        "Every trust adopts at least this many new products, or as many as it can "
        "(bounded by its IT capacity and what it can buy) if fewer (0 = off)",
        lo=0,
        hi=20,
    )
    core20_parity: bool = setting(
        False,
        "The Core20 people of each ICS get at least the ICS's average coverage",
    )
    deprivation_reference: str = setting(
        "national",
        "How deprivation is judged: national (each trust's population across England's IMD "
        "fifths, from imd_q1_share..imd_q5_share, or else its core20_share in the most "
        "deprived fifth and the rest in the national fifth of its imd_score) or dataset "
        "(trusts ranked against the other trusts of the file: differs between an ICS and "
        "England, so only for comparison)",
        choices=("national", "dataset"),
    )
    imd_cut_points: tuple[float, ...] = setting(
        (8.49, 13.79, 21.35, 34.17),
        "The four IMD scores that divide England's neighbourhoods (LSOAs) into national "
        "fifths, least to most deprived; used for trusts without imd_q*_share columns "
        "(approximate boundaries of the English Indices of Deprivation 2019, MHCLG; set "
        "those of the IMD release your imd_score comes from)",
        kind="scores",
    )
    locks: tuple[Lock, ...] = setting((), "Products forced in or out at trusts", kind="locks")
    procurement: dict[str, Route] = setting(
        doc="Per-route rules (" + ", ".join(MODELS) + ")",
        kind="routes",
        default_factory=_default_routes,
    )
    marginal_step_gbp: float = setting(
        100000.0,
        "Budget step used to value more money (re-solve with this much more)",
        lo=0,
        hi=MAX_GBP,
    )
    time_limit_s: float = setting(60.0, "Solver time limit in seconds", lo=0.1, hi=MAX_TIME_LIMIT_S)
    mip_gap: float = setting(1e-4, "Relative MIP gap at which the solver may stop", lo=0, hi=1)
    threads: int = setting(
        1,
        "Solver threads (1 keeps runs byte-for-byte reproducible)",
        lo=1,
        hi=MAX_THREADS,
    )

    def __post_init__(self) -> None:
        check_settings(self, _HERE)
        worst = self.qale_least_deprived_years - self.qale_gap_years
        if worst < 1:
            # the most deprived fifth's QALE must be positive for the Atkinson weights
            raise ScenarioError(
                [
                    Problem(
                        _HERE,
                        None,
                        "qale_gap_years",
                        f"{_num(self.qale_gap_years)} leaves the most deprived fifth a "
                        f"quality-adjusted life expectancy of {_num(worst)} years",
                        "give a gap at least 1 year less than qale_least_deprived_years "
                        f"({_num(self.qale_least_deprived_years)})",
                    )
                ]
            )

    def __hash__(self) -> int:
        return hash(_freeze(self.to_dict()))

    def route(self, model: str | None = None) -> Route:
        """Return the procurement rules of ``model`` (default: this scenario's model)."""
        return self.procurement[model or self.model]

    def replace(self, **changes: Any) -> Scenario:
        """Return a copy with some settings changed (checked as the constructor checks).

        Raises:
            ScenarioError: Naming every unknown setting or bad value.
        """
        current = {name: getattr(self, name) for name in _names(Scenario)}
        return from_dict({**current, **changes}, source=_HERE)

    def with_overrides(self, overrides: dict[str, Any]) -> Scenario:
        """Return a copy with dotted overrides applied (``procurement.ics.lead_time_months``)."""
        data = self.to_dict()
        for key, value in overrides.items():
            parts = key.split(".")
            target = data
            for p in parts[:-1]:
                if not isinstance(target, dict) or p not in target:
                    raise ScenarioError(
                        [
                            Problem(
                                _HERE,
                                None,
                                key,
                                "unknown setting",
                                "check the spelling against the README",
                            )
                        ]
                    )
                target = target[p]
            if not isinstance(target, dict):
                parent = ".".join(parts[:-1])
                what = "a list" if isinstance(target, list) else "a single value"
                raise ScenarioError(
                    [
                        Problem(
                            "override",
                            None,
                            key,
                            f"{parent} is {what}, not a table of settings",
                            f"set {parent} itself, e.g. {parent}=VALUE (see the README)",
                        )
                    ]
                )
            target[parts[-1]] = value
        return from_dict(data, source="override")

    def to_dict(self) -> dict:
        """Return the settings as plain data (what a scenario file holds)."""
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "procurement":
                v = {k: dataclasses.asdict(r) for k, r in sorted(v.items())}
            elif f.name == "locks":
                v = [dataclasses.asdict(lk) for lk in v]
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out


def _freeze(value):
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def from_dict(data: dict, source: str = _HERE) -> Scenario:
    """Build a scenario from plain data (a file's settings), checked as the constructor checks.

    Raises:
        ScenarioError: Listing every unknown key and bad value, located at ``source``.
    """
    problems: list[Problem] = []
    if not isinstance(data, dict):
        problems.append(
            Problem(source, None, None, "must be a table of settings", "see the README")
        )
        raise ScenarioError(problems)
    scenario = _make(Scenario, data, source, "", problems)
    if problems:
        raise ScenarioError(problems)
    return scenario


class _AliasRefused(Exception):
    """A YAML anchor (``&name``) or alias (``*name``) in settings; ``line`` counts from 1."""

    def __init__(self, line: int):
        self.line = line
        super().__init__(f"line {line}")


class _SettingsLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing anchors and aliases.

    Settings never need them, and nested aliases ("billion laughs") make a small file a
    value of billions of items once anything walks it (a check, a message, a hash).
    """

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _AliasRefused(event.start_mark.line + 1)
        return super().compose_node(parent, index)


def parse_yaml(text: str, source: str, key: str | None = None) -> Any:
    """Parse settings written in YAML: plain data only, without anchors or aliases.

    ``source`` (and ``key``, for one ``--set`` value) locate the problems.

    Raises:
        ScenarioError: For an anchor or alias, or values nested too deeply.
        yaml.YAMLError: For bad syntax (callers say where, or read the text as it is).
    """
    loader = _SettingsLoader(text)
    try:
        return loader.get_single_data()
    except _AliasRefused as exc:
        problem = "uses a YAML anchor or alias (&name or *name)"
        fix = "write each value out in full"
        line = None if key is not None else exc.line
        raise ScenarioError([Problem(source, line, key, problem, fix)]) from None
    except RecursionError:
        raise ScenarioError([_too_deep(source, key)]) from None
    except (ValueError, TypeError, AttributeError) as exc:
        # PyYAML's constructors: a date such as 2024-13-45, !!int abc, a 5,000-digit number
        raise ScenarioError([_unreadable(source, key, exc)]) from None
    finally:
        loader.dispose()


def _unreadable(source: str, key: str | None, exc: Exception) -> Problem:
    return Problem(
        source,
        None,
        key,
        f"holds a value that cannot be read ({_shown(str(exc))})",
        "write numbers, dates and text as plain values",
    )


def _too_deep(source: str, key: str | None = None) -> Problem:
    return Problem(
        source, None, key, "holds values nested too deeply", "settings nest a few levels at most"
    )


def read_settings_file(path: str | Path, toml: bool = False) -> Any:
    """Read a settings file (a scenario or a batch file): YAML, or TOML if ``toml``.

    At most :data:`MAX_SETTINGS_FILE_BYTES` are read, and YAML anchors and aliases are
    refused (:func:`parse_yaml`), so a hostile file costs little time or memory.

    Raises:
        ScenarioError: If the file is missing, too large or not UTF-8, or holds an anchor,
            an alias, values nested too deeply or a value that cannot be read.
        yaml.YAMLError, tomllib.TOMLDecodeError: For bad syntax (callers say where).
        OSError: If it cannot be read for another reason (permissions, a folder).
    """
    path = Path(path)
    name = path.name
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_SETTINGS_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ScenarioError(
            [Problem(name, None, None, "file not found", "check the path")]
        ) from None
    if len(raw) > MAX_SETTINGS_FILE_BYTES:
        raise ScenarioError(
            [
                Problem(
                    name,
                    None,
                    None,
                    f"is larger than {MAX_SETTINGS_FILE_BYTES:,} bytes",
                    "a settings file holds a few kilobytes; check that this is the right file",
                )
            ]
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(
            [Problem(name, None, None, "file is not UTF-8 text", "save it as UTF-8")]
        ) from None
    if not toml:
        return parse_yaml(text, name)
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise ScenarioError([_too_deep(name)]) from None
    except tomllib.TOMLDecodeError:
        raise
    except ValueError as exc:  # an integer of thousands of digits
        raise ScenarioError([_unreadable(name, None, exc)]) from None


def load_scenario(path: str | Path) -> Scenario:
    """Load a scenario from a ``.yaml``/``.yml`` or ``.toml`` file.

    Raises:
        ScenarioError: If the file cannot be read or holds unknown or bad settings.
    """
    path = Path(path)
    name = path.name
    try:
        data = read_settings_file(path, toml=path.suffix.lower() == ".toml")
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise ScenarioError(
            [
                Problem(
                    name,
                    None if line is None else line + 1,
                    None,
                    f"cannot be parsed ({type(exc).__name__})",
                    "fix the syntax",
                )
            ]
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(
            [
                Problem(
                    name,
                    None,
                    None,
                    "must hold a table of settings",
                    "see the README's scenario example",
                )
            ]
        )
    return from_dict(data, source=name)


def settings_table() -> list[dict]:
    """Return one row per setting (name, default, description) for documentation."""
    rows = []
    for f in fields(Scenario):
        if f.name == "procurement":
            continue
        if f.name == "locks":
            rows.append(
                {
                    "setting": "locks",
                    "default": "none",
                    "description": "Products forced in or out at trusts: a list of "
                    "{trust, product, adopt} (adopt false keeps a product out)",
                }
            )
            continue
        rows.append({"setting": f.name, "default": f.default, "description": f.metadata["doc"]})
    for model, route in _default_routes().items():
        for f in fields(Route):
            rows.append(
                {
                    "setting": f"procurement.{model}.{f.name}",
                    "default": getattr(route, f.name),
                    "description": f.metadata["doc"],
                }
            )
    return rows
