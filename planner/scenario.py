"""Scenario settings: every constant the planner uses, with its default, unit and source.

A :class:`Scenario` is frozen and hashable (so the app can cache on it). Build one with
keyword arguments, from a YAML or TOML file, or with dotted overrides such as
``{"procurement.ics.lead_time_months": 9}``. Unknown keys are an error, never ignored.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from planner.errors import Problem, ScenarioError

MODELS = ("local", "ics", "central")
#: What a coverage floor can bind (see ``Scenario.floor_applies_to``).
FLOOR_TARGETS = ("all", "core20", "core20_trusts")


def _f(default, doc: str, *, lo=None, hi=None, choices=None):
    """Declare a setting with its documentation and bounds."""
    meta = {"doc": doc, "lo": lo, "hi": hi, "choices": choices}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Route:
    """How one procurement model turns the same data into prices, shared costs and timing."""

    lead_time_months: float = _f(
        6.0,
        "Months from the decision to a signed contract (benefit starts after this plus "
        "the product's implementation months)",
        lo=0,
        hi=60,
    )
    implementation_share: float = _f(
        1.0,
        "Share of each trust's one-off implementation cost paid under this route "
        "(shared project teams cost less)",
        lo=0,
        hi=1,
    )
    licence_share: float = _f(
        1.0, "Share of the per-trust annual licence paid under this route", lo=0, hi=1
    )
    platform_share: float = _f(
        1.0,
        "Share of the per-trust deployment-platform cost paid under this route "
        "(a shared platform costs less)",
        lo=0,
        hi=1,
    )
    volume_discount_depth: float = _f(
        1.0,
        "How much of the catalogue's volume discount is realised: 1 = the tier prices "
        "as listed, 0 = every tier at the tier-1 price (the evidence that volume buys lower "
        "prices in the NHS is mixed)",
        lo=0,
        hi=1,
    )
    framework_only: bool = _f(False, "Only products awarded on a national framework can be bought")


def _default_routes() -> dict[str, Route]:
    return {
        "local": Route(lead_time_months=4.0),
        "ics": Route(
            lead_time_months=8.0, implementation_share=0.8, licence_share=0.9, platform_share=0.7
        ),
        "central": Route(
            lead_time_months=14.0,
            implementation_share=0.7,
            licence_share=0.8,
            platform_share=0.5,
            framework_only=True,
        ),
    }


@dataclass(frozen=True)
class Lock:
    """Force a product in (``adopt=True``) or out (``adopt=False``) at a trust."""

    trust: str
    product: str
    adopt: bool = True


@dataclass(frozen=True)
class Scenario:
    """All settings of one planning run. Money is in pounds (GBP), present value."""

    model: str = _f("ics", "Procurement model: local, ics or central", choices=MODELS)
    budget_gbp: float | None = _f(
        None,
        "Total money over the horizon (present value) for the whole dataset; empty = "
        "the sum of the trusts' local_budget_gbp",
        lo=0,
    )
    local_budget_split: str = _f(
        "headroom",
        "How the total is split between trusts in the local model (and between "
        "ICSs when a dataset has several): by each trust's local_budget_gbp ('headroom') or "
        "by population",
        choices=("headroom", "population"),
    )
    horizon_years: int = _f(5, "Years over which costs and benefits are counted", lo=1, hi=20)
    discount_rate: float = _f(
        0.035, "Annual discount rate (HM Treasury Green Book, NICE: 3.5%)", lo=0, hi=0.2
    )
    qaly_value_gbp: float = _f(
        25000.0,
        "Value of one QALY in pounds (NICE threshold range £20,000 to £30,000; midpoint)",
        lo=0,
    )
    radiologist_hour_gbp: float = _f(
        110.0,
        "Value of one consultant radiologist hour released (about £100 to £130: "
        "Insights into Imaging 2023)",
        lo=0,
    )
    vacancy_premium: float = _f(
        1.0,
        "An hour released is worth radiologist_hour_gbp x (1 + vacancy_premium x "
        "vacancy_rate): released time displaces outsourcing and locums where posts are "
        "vacant (assumption)",
        lo=0,
        hi=10,
    )
    platform_setup_gbp: float = _f(
        60000.0,
        "One-off cost of an AI deployment platform at a trust without one "
        "(assumption, within the £20k to £150k integration range)",
        lo=0,
    )
    platform_gbp_per_year: float = _f(
        25000.0, "Annual cost of running the deployment platform at one trust (assumption)", lo=0
    )
    equity_weight: float = _f(
        0.0,
        "0 = unweighted benefit (NICE base case); 1 = full distributional weights from "
        "the inequality aversion; between mixes the two",
        lo=0,
        hi=1,
    )
    inequality_aversion: float = _f(
        10.95, "Atkinson inequality aversion epsilon for England (Robson et al. 2017)", lo=0, hi=50
    )
    qale_least_deprived_years: float = _f(
        72.0,
        "Quality-adjusted life expectancy of the least deprived fifth (assumption "
        "consistent with Love-Koh et al. 2015)",
        lo=1,
    )
    qale_gap_years: float = _f(
        11.0,
        "QALE gap between the least and most deprived fifths (Love-Koh et al. 2015)",
        lo=0,
        hi=50,
    )
    maximin_weight_gbp: float = _f(
        0.0,
        "Pounds of benefit the objective trades for raising the lowest trust coverage "
        "from 0 to 100% (0 = off)",
        lo=0,
    )
    coverage_floor: float = _f(
        0.0,
        "The least coverage (share of addressable studies read by AI) that what "
        "floor_applies_to names must reach (0 = off)",
        lo=0,
        hi=1,
    )
    floor_applies_to: str = _f(
        "all",
        "What the coverage floor binds: all (every trust), core20 (the coverage delivered "
        "to the Core20 people of each ICS: its trusts' coverage weighted by core20_share x "
        "population, so it bites in a 1-trust ICS as in England) or core20_trusts (every "
        "trust whose core20_share is above core20_trust_threshold)",
        choices=FLOOR_TARGETS,
    )
    core20_trust_threshold: float = _f(
        0.2,
        "Core20 share above which a trust is bound by a core20_trusts floor (0.2: more "
        "than England's own fifth of its people in the most deprived national fifth)",
        lo=0,
        hi=1,
    )
    min_adoptions_per_trust: int = _f(
        0,
        "Every trust adopts at least this many new products, or as many as it can "
        "(bounded by its IT capacity and what it can buy) if fewer (0 = off)",
        lo=0,
        hi=20,
    )
    core20_parity: bool = _f(
        False,
        "The Core20 people of each ICS get at least the ICS's average coverage",
    )
    deprivation_reference: str = _f(
        "national",
        "How deprivation is judged: national (each trust's population across England's IMD "
        "fifths, from imd_q1_share..imd_q5_share, or else its core20_share in the most "
        "deprived fifth and the rest in the national fifth of its imd_score) or dataset "
        "(trusts ranked against the other trusts of the file: differs between an ICS and "
        "England, so only for comparison)",
        choices=("national", "dataset"),
    )
    imd_cut_points: tuple[float, ...] = _f(
        (8.49, 13.79, 21.35, 34.17),
        "The four IMD scores that divide England's neighbourhoods (LSOAs) into national "
        "fifths, least to most deprived; used for trusts without imd_q*_share columns "
        "(approximate boundaries of the English Indices of Deprivation 2019, MHCLG; set "
        "those of the IMD release your imd_score comes from)",
    )
    locks: tuple[Lock, ...] = _f((), "Products forced in or out at trusts")
    procurement: dict[str, Route] = field(
        default_factory=_default_routes,
        metadata={"doc": "Per-model rules (local, ics, central)"},
    )
    marginal_step_gbp: float = _f(
        100000.0, "Budget step used to value more money (re-solve with this much more)", lo=0
    )
    time_limit_s: float = _f(60.0, "Solver time limit in seconds", lo=0.1)
    mip_gap: float = _f(1e-4, "Relative MIP gap at which the solver may stop", lo=0, hi=1)
    threads: int = _f(1, "Solver threads (1 keeps runs byte-for-byte reproducible)", lo=1)

    def __hash__(self) -> int:
        return hash(_freeze(self.to_dict()))

    def route(self, model: str | None = None) -> Route:
        """Return the procurement rules of ``model`` (default: this scenario's model)."""
        return self.procurement[model or self.model]

    def replace(self, **changes: Any) -> Scenario:
        """Return a copy with some settings changed (validated)."""
        return from_dict({**self.to_dict(), **_normalise(changes)})

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
                                "scenario",
                                None,
                                key,
                                "unknown setting",
                                "check the spelling against the README",
                            )
                        ]
                    )
                target = target[p]
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


def _normalise(changes: dict) -> dict:
    out = dict(changes)
    if "locks" in out:
        out["locks"] = [dataclasses.asdict(x) if isinstance(x, Lock) else x for x in out["locks"]]
    if "procurement" in out:
        out["procurement"] = {
            k: dataclasses.asdict(v) if isinstance(v, Route) else v
            for k, v in out["procurement"].items()
        }
    return out


_MONEY_RE = re.compile(r"^£?\s*([0-9][0-9,]*\.?[0-9]*|\.[0-9]+)\s*([kKmMbB]?)$")


def parse_money(text: str | float | int) -> float:
    """Parse an amount such as ``2.5m``, ``£750k``, ``2,000,000`` or ``1200000`` into pounds.

    Raises:
        ValueError: If the text is not a non-negative amount.
    """
    if isinstance(text, bool):
        raise ValueError(f"{text!r} is not an amount of money")
    if isinstance(text, int | float):
        value = float(text)
    else:
        m = _MONEY_RE.match(str(text).strip())
        if not m:
            raise ValueError(f"{text!r} is not an amount of money (write e.g. 2.5m, 750k)")
        value = (
            float(m.group(1).replace(",", ""))
            * {"": 1, "k": 1e3, "m": 1e6, "b": 1e9}[m.group(2).lower()]
        )
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{text!r} is not a non-negative amount of money")
    return value


def _check_value(name: str, f, value, where: str, problems: list[Problem]):
    meta = f.metadata
    default = f.default
    if name == "budget_gbp":
        if value is None:
            return None
        try:
            return parse_money(value)
        except ValueError as exc:
            problems.append(Problem(where, None, name, str(exc), "write e.g. 2.5m or 750k"))
            return None
    if isinstance(default, tuple):
        return _check_cut_points(name, value, where, problems, default)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            problems.append(
                Problem(where, None, name, f"{value!r} is not true or false", "write true or false")
            )
        return value
    if isinstance(default, int | float):
        if isinstance(value, bool):
            problems.append(
                Problem(where, None, name, f"{value!r} is not a number", "give a number")
            )
            return default
        if not isinstance(value, int | float):
            try:
                value = float(value)
            except (TypeError, ValueError):
                problems.append(
                    Problem(where, None, name, f"{value!r} is not a number", "give a number")
                )
                return default
        if not math.isfinite(value):
            problems.append(
                Problem(where, None, name, f"{value!r} is not finite", "give a finite number")
            )
            return default
        if isinstance(default, int) and not float(value).is_integer():
            problems.append(
                Problem(
                    where, None, name, f"{value!r} is not a whole number", "give a whole number"
                )
            )
            return default
        lo, hi = meta.get("lo"), meta.get("hi")
        if lo is not None and value < lo:
            problems.append(
                Problem(
                    where,
                    None,
                    name,
                    f"{value:g} is below {lo:g}",
                    f"give a value of at least {lo:g}",
                )
            )
        if hi is not None and value > hi:
            problems.append(
                Problem(
                    where,
                    None,
                    name,
                    f"{value:g} is above {hi:g}",
                    f"give a value of at most {hi:g}",
                )
            )
        return int(value) if isinstance(default, int) else float(value)
    if meta.get("choices"):
        if value not in meta["choices"]:
            problems.append(
                Problem(
                    where,
                    None,
                    name,
                    f"{value!r} is not allowed",
                    "use one of " + ", ".join(meta["choices"]),
                )
            )
        return value
    return value


def _check_cut_points(name: str, value, where: str, problems: list[Problem], default):
    """Check a list of ascending IMD score boundaries (as many as the default has)."""
    n = len(default)
    fix = f"give {n} increasing scores between 0 and 100, e.g. {list(default)}"
    if isinstance(value, str) or not isinstance(value, list | tuple) or len(value) != n:
        problems.append(Problem(where, None, name, f"{value!r} is not a list of {n}", fix))
        return default
    try:
        out = tuple(float(v) for v in value if not isinstance(v, bool))
    except (TypeError, ValueError):
        out = ()
    ok = len(out) == n and all(math.isfinite(v) and 0 <= v <= 100 for v in out)
    if not ok or any(b <= a for a, b in zip(out, out[1:], strict=False)):
        problems.append(
            Problem(where, None, name, f"{list(value)!r} are not increasing scores", fix)
        )
        return default
    return out


def _build(cls, data: dict, where: str, problems: list[Problem], prefix: str = ""):
    if not isinstance(data, dict):
        problems.append(
            Problem(
                where,
                None,
                prefix.rstrip(".") or None,
                "must be a table of settings",
                "see the README",
            )
        )
        return cls()
    known = {f.name: f for f in fields(cls)}
    kwargs = {}
    for key, value in data.items():
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
            continue
        f = known[key]
        if key == "procurement":
            routes = _default_routes()
            if not isinstance(value, dict):
                problems.append(
                    Problem(where, None, "procurement", "must be a table", "see the README")
                )
                continue
            for model, rdata in value.items():
                if model in MODELS and not isinstance(rdata, dict):
                    problems.append(
                        Problem(
                            where,
                            None,
                            f"procurement.{model}",
                            "must be a table of route settings",
                            "e.g. procurement: {ics: {lead_time_months: 9}}",
                        )
                    )
                    continue
                if model not in MODELS:
                    problems.append(
                        Problem(
                            where,
                            None,
                            f"procurement.{model}",
                            "unknown procurement model",
                            "use local, ics or central",
                        )
                    )
                    continue
                base = dataclasses.asdict(routes[model])
                if isinstance(rdata, dict):
                    base.update(rdata)
                routes[model] = _build(Route, base, where, problems, f"procurement.{model}.")
            kwargs[key] = routes
        elif key == "locks":
            locks = []
            if value is not None and not isinstance(value, list | tuple):
                problems.append(
                    Problem(
                        where,
                        None,
                        "locks",
                        "must be a list of locks",
                        "write [{trust: RXX, product: PXX, adopt: true}]",
                    )
                )
                continue
            for i, item in enumerate(value or []):
                if not isinstance(item, dict) or not {"trust", "product"} <= set(item):
                    problems.append(
                        Problem(
                            where,
                            None,
                            f"locks[{i}]",
                            "a lock needs trust and product",
                            "write {trust: RXX, product: PXX, adopt: true}",
                        )
                    )
                    continue
                extra = set(item) - {"trust", "product", "adopt"}
                if extra:
                    problems.append(
                        Problem(
                            where,
                            None,
                            f"locks[{i}]",
                            f"unknown keys {sorted(extra)}",
                            "use trust, product and adopt",
                        )
                    )
                    continue
                adopt = item.get("adopt", True)
                if not isinstance(adopt, bool):
                    problems.append(
                        Problem(
                            where,
                            None,
                            f"locks[{i}].adopt",
                            f"{adopt!r} is not true or false",
                            "write true or false",
                        )
                    )
                    continue
                locks.append(Lock(str(item["trust"]), str(item["product"]), adopt))
            kwargs[key] = tuple(locks)
        else:
            kwargs[key] = _check_value(prefix + key, f, value, where, problems)
    return cls(**kwargs)


def from_dict(data: dict, source: str = "scenario") -> Scenario:
    """Build a validated scenario from plain data.

    Raises:
        ScenarioError: Listing every unknown key or bad value.
    """
    problems: list[Problem] = []
    scenario = _build(Scenario, dict(data), source, problems)
    if problems:
        raise ScenarioError(problems)
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    """Load a scenario from a ``.yaml``/``.yml`` or ``.toml`` file.

    Raises:
        ScenarioError: If the file cannot be read or holds unknown or bad settings.
    """
    path = Path(path)
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(
            [Problem(name, None, None, "file not found", "check the path")]
        ) from None
    except UnicodeDecodeError:
        raise ScenarioError(
            [Problem(name, None, None, "file is not UTF-8 text", "save it as UTF-8")]
        ) from None
    try:
        is_toml = path.suffix.lower() == ".toml"
        data = tomllib.loads(text) if is_toml else (yaml.safe_load(text) or {})
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
