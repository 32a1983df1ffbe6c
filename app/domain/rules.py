"""PSRM's entry rules (indgangsfilter) as data: one small check per rule id, set per type.

Each fordringstype in `contracts/psrm/catalogue.json` lists its rules as `{id, consequence,
params}`. `evaluate` runs them against a claim at a receipt date and returns every rule broken,
with the values compared. The same engine serves kravbro's readiness check, the on-boarding dry
run and the PSRM simulator, so it is pure: no clock, no I/O.

Rule ids `R_*` are PSRM's; ids `K_*` are kravbro's own checks for what PSRM reports as numbered
errors rather than filter rules (`K_152`: currency, error 152). Dates compared with a missing
(None) date do not fire; the `R_7_*` rules are the ones that report a missing field. Messages and
values never carry personal data: no debtor ids, names or description text.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from operator import attrgetter
from typing import Any, Literal

from app.domain.catalogue import Catalogue, Consequence, FordringType, RuleSpec
from app.domain.claim import DESCRIPTION_MAX, CanonicalClaim, ClaimCategory, Liability
from app.domain.identifiers import contains_cpr_like


@dataclass(frozen=True, slots=True)
class RuleResult:
    """One entry rule a claim breaks: the rule, what PSRM would do, where, and the values."""

    rule: str
    consequence: Literal["reject", "hearing"]
    field: str
    message: str
    values: Mapping[str, str]


# What a check finds: the canonical field path, a message, and the values compared as text.
Breach = tuple[str, str, dict[str, str]]
Check = Callable[[CanonicalClaim, "Facts", Mapping[str, Any]], Sequence[Breach]]

_NONE: tuple[Breach, ...] = ()
_ZERO = Decimal(0)  # amounts compare faster with a Decimal than with an int
_CONSEQUENCES = frozenset({"reject", "hearing"})
DATE_FIELDS = frozenset(
    {
        "due_date",
        "srb_date",
        "founding_date",
        "period_start_date",
        "period_end_date",
        "decision_date",
    }
)


# ---------------------------------------------------------------------------------------------
# helpers


# Cached: a message's claims share a handful of due dates and periods, and a date is cheaper
# to look up than to recompute in Python.
@lru_cache(maxsize=4096)
def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)


_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


@lru_cache(maxsize=4096)
def _add_months(day: dt.date, months: int) -> dt.date:
    years, month_index = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month_index + 1
    # Every month has 28 days, so only a later day can need clamping (to 28, 29, 30 or 31).
    if day.day <= 28:
        return dt.date(year, month, day.day)
    last = 29 if month == 2 and calendar.isleap(year) else _MONTH_DAYS[month]
    return dt.date(year, month, min(day.day, last))


@lru_cache(maxsize=256)
def _dkk(text: str) -> Decimal:
    return Decimal(text).quantize(Decimal("0.01"))


def _date_label(kind: FordringType) -> str:
    return "lapse date" if kind.regime.kind == "lapse" else "limitation date"


_LABELS = {
    "due_date": "due date",
    "srb_date": "SRB",
    "founding_date": "founding date",
    "period_start_date": "period start",
    "period_end_date": "period end",
    "decision_date": "decision date",
    "judgment_date": "judgment date",
    "settlement_date": "settlement date",
}


def _label(field: str) -> str:
    return _LABELS.get(field, field)


def _limitation(liability: Liability) -> dt.date | None:
    # The model requires the date, but the simulator and tests may build claims unvalidated
    # (model_construct / model_copy), and the rules must then report rather than crash.
    day: dt.date | None = liability.limitation_date
    return day


# Not frozen: a frozen dataclass sets each field through object.__setattr__, and one is made
# for every claim evaluated. Nothing changes it after `facts` returns.
@dataclass(slots=True)
class Facts:
    """What the rules share about one claim at one receipt date, worked out once per claim.

    `limits` holds each liability's index and limitation date, skipping those without one
    (`_limitation`). `ordinary` skips, in addition, liabilities founded by a judgment or
    settlement: their limitation follows R_2_1a/b, not the type's ordinary window. `plain` says
    every liability has a limitation date and none is founded by a court, the usual case, in
    which the rules about those (`_COURT_RULES`) cannot break.
    """

    kind: FordringType
    receipt: dt.date
    limits: list[tuple[int, dt.date]]
    ordinary: list[tuple[int, dt.date]]
    plain: bool


def facts(claim: CanonicalClaim, kind: FordringType, receipt: dt.date) -> Facts:
    """Work out what the rules share about a claim of a type at a receipt date."""
    liabilities = claim.liabilities
    if len(liabilities) == 1:  # most claims have one debtor
        only = liabilities[0]
        day = _limitation(only)
        if day is not None and only.judgment_date is None and only.settlement_date is None:
            limits = [(0, day)]
            return Facts(kind, receipt, limits, limits, True)
    limits = []
    ordinary: list[tuple[int, dt.date]] = []
    plain = True
    for i, liability in enumerate(liabilities):
        day = _limitation(liability)
        court = liability.judgment_date is not None or liability.settlement_date is not None
        if court or day is None:
            plain = False
        if day is not None:
            limits.append((i, day))
            if not court:
                ordinary.append((i, day))
    return Facts(kind, receipt, limits, ordinary, plain)


# ---------------------------------------------------------------------------------------------
# R_1: art, category, currency


def _r_1_1(claim: CanonicalClaim, facts: Facts, p: Mapping[str, Any]) -> Sequence[Breach]:
    """Art (INDR/MODR) must be one the type allows."""
    kind = facts.kind
    if claim.art in kind.arts:
        return _NONE
    allowed = ", ".join(art.value for art in kind.arts)
    return [
        (
            "art",
            f"art {claim.art.value} is not allowed for {kind.code} (allowed: {allowed})",
            {"art": claim.art.value, "allowed": allowed},
        )
    ]


def _r_1_2(claim: CanonicalClaim, facts: Facts, p: Mapping[str, Any]) -> Sequence[Breach]:
    """Category must be the type's: main claim (HF) for main types, related (UF) for the rest."""
    kind = facts.kind
    if claim.category is kind.category:
        return _NONE
    wanted = "main claims (HF)" if kind.category is ClaimCategory.HF else "related claims (UF)"
    return [
        (
            "category",
            f"{kind.code} takes {wanted}, not {claim.category.value}",
            {"category": claim.category.value, "expected": kind.category.value},
        )
    ]


def _k_152(claim: CanonicalClaim, facts: Facts, p: Mapping[str, Any]) -> Sequence[Breach]:
    """Currency must be DKK (PSRM error 152)."""
    currency: str = claim.currency
    if currency == "DKK":
        return _NONE
    return [("currency", f"currency {currency} is not DKK", {"currency": currency})]


# ---------------------------------------------------------------------------------------------
# R_2, R_3: limitation (forældelse) or lapse (bortfald), per liability


def _r_2_1(claim: CanonicalClaim, facts: Facts, p: Mapping[str, Any]) -> Sequence[Breach]:
    """Every liability needs a limitation date (the lapse date for lapse types)."""
    return [
        (f"liabilities.{i}.limitation_date", f"{_date_label(facts.kind)} is required", {})
        for i, liability in enumerate(claim.liabilities)
        if _limitation(liability) is None
    ]


def _court_limitation(
    claim: CanonicalClaim, facts: Facts, p: Mapping[str, Any], attribute: str
) -> Sequence[Breach]:
    years, tolerance = p["years"], p["tolerance_days"]
    name = _label(attribute)
    found: list[Breach] = []
    for i, limit in facts.limits:
        founded: dt.date | None = getattr(claim.liabilities[i], attribute)
        if founded is None:
            continue
        earliest = _add_years(founded, years) - dt.timedelta(days=tolerance)
        if limit < earliest:
            found.append(
                (
                    f"liabilities.{i}.limitation_date",
                    f"{_date_label(facts.kind)} {limit} is less than {years} years after the "
                    f"{name} {founded} (at least {earliest})",
                    {
                        "limitation_date": limit.isoformat(),
                        attribute: founded.isoformat(),
                        "earliest": earliest.isoformat(),
                    },
                )
            )
    return found


def _r_2_1a(claim: CanonicalClaim, facts: Facts, p: Mapping[str, Any]) -> Sequence[Breach]:
    """After a judgment, the limitation date is at least `years` after the judgment date."""
    return _court_limitation(claim, facts, p, "judgment_date")


def _r_2_1b(claim: CanonicalClaim, facts: Facts, p: Mapping[str, Any]) -> Sequence[Breach]:
    """After a settlement, the limitation date is at least `years` after the settlement date."""
    return _court_limitation(claim, facts, p, "settlement_date")


def _r_2_2(claim: CanonicalClaim, facts: Facts, p: Mapping[str, Any]) -> Sequence[Breach]:
    """The lapse date (in the limitation field) is at most `years` after the receipt date."""
    years, receipt = p["years"], facts.receipt
    latest = _add_years(receipt, years)
    found: list[Breach] = []
    for i, limit in facts.limits:
        if limit > latest:
            found.append(
                (
                    f"liabilities.{i}.limitation_date",
                    f"{_date_label(facts.kind)} {limit} is more than {years} years after the "
                    f"receipt date {receipt} (at most {latest})",
                    {
                        "limitation_date": limit.isoformat(),
                        "receipt_date": receipt.isoformat(),
                        "latest": latest.isoformat(),
                    },
                )
            )
    return found


def _r_2_3(claim: CanonicalClaim, facts: Facts, p: Mapping[str, Any]) -> Sequence[Breach]:
    """The limitation date is at most `years` after the `from` date (judgments excepted)."""
    field, years = p["from"], p["years"]
    base: dt.date | None = getattr(claim, field)
    if base is None or not facts.ordinary:
        return _NONE
    latest = _add_years(base, years)
    found: list[Breach] = []
    for i, limit in facts.ordinary:
        if limit > latest:
            found.append(
                (
                    f"liabilities.{i}.limitation_date",
                    f"{_date_label(facts.kind)} {limit} is more than {years} years after the "
                    f"{_label(field)} {base} (at most {latest})",
                    {
                        "limitation_date": limit.isoformat(),
                        field: base.isoformat(),
                        "latest": latest.isoformat(),
                    },
                )
            )
    return found


def _r_2_3a(claim: CanonicalClaim, facts: Facts, p: Mapping[str, Any]) -> Sequence[Breach]:
    """The limitation date is at least `years` after the `from` date (judgments excepted)."""
    field, years = p["from"], p["years"]
    base: dt.date | None = getattr(claim, field)
    if base is None or not facts.ordinary:
        return _NONE
    earliest = _add_years(base, years)
    found: list[Breach] = []
    for i, limit in facts.ordinary:
        if limit < earliest:
            found.append(
                (
                    f"liabilities.{i}.limitation_date",
                    f"{_date_label(facts.kind)} {limit} is less than {years} years after the "
                    f"{_label(field)} {base} (at least {earliest})",
                    {
                        "limitation_date": limit.isoformat(),
                        field: base.isoformat(),
                        "earliest": earliest.isoformat(),
                    },
                )
            )
    return found


def _r_3_1(claim: CanonicalClaim, facts: Facts, p: Mapping[str, Any]) -> Sequence[Breach]:
    """The limitation date is on or after the receipt date: the claim is not time-barred."""
    receipt = facts.receipt
    found: list[Breach] = []
    for i, limit in facts.limits:
        if limit < receipt:
            found.append(
                (
                    f"liabilities.{i}.limitation_date",
                    f"{_date_label(facts.kind)} {limit} is before the receipt date {receipt}",
                    {"limitation_date": limit.isoformat(), "receipt_date": receipt.isoformat()},
                )
            )
    return found


# ---------------------------------------------------------------------------------------------
# R_4: amounts


def _r_4_1(claim: CanonicalClaim, facts: Facts, p: Mapping[str, Any]) -> Sequence[Breach]:
    """The principal is above 0; with `allow_zero`, a 0-claim (principal and amount 0) passes."""
    if claim.principal > _ZERO or (p["allow_zero"] and claim.amount == _ZERO):
        return _NONE
    return [
        (
            "principal",
            f"principal {claim.principal} must be above 0 for {facts.kind.code}",
            {"principal": str(claim.principal), "amount": str(claim.amount)},
        )
    ]


def _r_4_2(claim: CanonicalClaim, facts: Facts, p: Mapping[str, Any]) -> Sequence[Breach]:
    """The principal is at most `cap` DKK."""
    cap = p["cap"]
    if claim.principal <= cap:
        return _NONE
    return [
        (
            "principal",
            f"principal {claim.principal} is above the cap {cap} for {facts.kind.code}",
            {"principal": str(claim.principal), "cap": str(cap)},
        )
    ]


def _r_4_4(claim: CanonicalClaim, facts: Facts, p: Mapping[str, Any]) -> Sequence[Breach]:
    """The amount to collect is not negative."""
    if claim.amount >= _ZERO:
        return _NONE
    return [("amount", f"amount {claim.amount} is negative", {"amount": str(claim.amount)})]


def _r_4_7(claim: CanonicalClaim, facts: Facts, p: Mapping[str, Any]) -> Sequence[Breach]:
    """The principal is at least the amount to collect."""
    if claim.principal >= claim.amount:
        return _NONE
    return [
        (
            "amount",
            f"amount {claim.amount} is above the principal {claim.principal}",
            {"amount": str(claim.amount), "principal": str(claim.principal)},
        )
    ]


# ---------------------------------------------------------------------------------------------
# R_5: dates before the receipt date


def _before_receipt(claim: CanonicalClaim, field: str, receipt: dt.date) -> Sequence[Breach]:
    day: dt.date | None = getattr(claim, field)
    if day is None or day < receipt:
        return _NONE
    return [
        (
            field,
            f"{_label(field)} {day} is not before the receipt date {receipt}",
            {field: day.isoformat(), "receipt_date": receipt.isoformat()},
        )
    ]


def _r_5_1(claim: CanonicalClaim, facts: Facts, p: Mapping[str, Any]) -> Sequence[Breach]:
    """The due date is before the receipt date."""
    return _before_receipt(claim, "due_date", facts.receipt)


def _r_5_2(claim: CanonicalClaim, facts: Facts, p: Mapping[str, Any]) -> Sequence[Breach]:
    """The SRB (last timely payment date) is before the receipt date: it has passed."""
    return _before_receipt(claim, "srb_date", facts.receipt)


def _r_5_3(claim: CanonicalClaim, facts: Facts, p: Mapping[str, Any]) -> Sequence[Breach]:
    """The founding date is before the receipt date."""
    return _before_receipt(claim, "founding_date", facts.receipt)


# ---------------------------------------------------------------------------------------------
# R_6: dates against each other


def _r_6_1(claim: CanonicalClaim, facts: Facts, p: Mapping[str, Any]) -> Sequence[Breach]:
    """The SRB is on or after the due date."""
    due, srb = claim.due_date, claim.srb_date
    if due is None or srb is None or srb >= due:
        return _NONE
    return [
        (
            "srb_date",
            f"SRB {srb} is before the due date {due}",
            {"srb_date": srb.isoformat(), "due_date": due.isoformat()},
        )
    ]


def _r_6_5(claim: CanonicalClaim, facts: Facts, p: Mapping[str, Any]) -> Sequence[Breach]:
    """The due date is on or after the period start."""
    due, start = claim.due_date, claim.period_start_date
    if due is None or start is None or due >= start:
        return _NONE
    return [
        (
            "due_date",
            f"due date {due} is before the period start {start}",
            {"due_date": due.isoformat(), "period_start_date": start.isoformat()},
        )
    ]


def _r_6_6(claim: CanonicalClaim, facts: Facts, p: Mapping[str, Any]) -> Sequence[Breach]:
    """The due date is at most `months` months after the period start."""
    due, start = claim.due_date, claim.period_start_date
    if due is None or start is None:
        return _NONE
    months = p["months"]
    latest = _add_months(start, months)
    if due <= latest:
        return _NONE
    return [
        (
            "due_date",
            f"due date {due} is more than {months} months after the period start {start} "
            f"(at most {latest})",
            {
                "due_date": due.isoformat(),
                "period_start_date": start.isoformat(),
                "latest": latest.isoformat(),
            },
        )
    ]


def _r_6_15(claim: CanonicalClaim, facts: Facts, p: Mapping[str, Any]) -> Sequence[Breach]:
    """The founding date is at most `days` days before the period start."""
    founded, start = claim.founding_date, claim.period_start_date
    if founded is None or start is None:
        return _NONE
    days = p["days"]
    earliest = start - dt.timedelta(days=days)
    if founded >= earliest:
        return _NONE
    return [
        (
            "founding_date",
            f"founding date {founded} is more than {days} days before the period start {start} "
            f"(at least {earliest})",
            {
                "founding_date": founded.isoformat(),
                "period_start_date": start.isoformat(),
                "earliest": earliest.isoformat(),
            },
        )
    ]


def _r_6_16(claim: CanonicalClaim, facts: Facts, p: Mapping[str, Any]) -> Sequence[Breach]:
    """The founding date equals the period start."""
    founded, start = claim.founding_date, claim.period_start_date
    if founded is None or start is None or founded == start:
        return _NONE
    return [
        (
            "founding_date",
            f"founding date {founded} differs from the period start {start}",
            {"founding_date": founded.isoformat(), "period_start_date": start.isoformat()},
        )
    ]


def _r_6_19(claim: CanonicalClaim, facts: Facts, p: Mapping[str, Any]) -> Sequence[Breach]:
    """The period is at most `months` months long (it ends before start + `months`)."""
    start, end = claim.period_start_date, claim.period_end_date
    if start is None or end is None:
        return _NONE
    months = p["months"]
    latest = _add_months(start, months) - dt.timedelta(days=1)
    if end <= latest:
        return _NONE
    return [
        (
            "period_end_date",
            f"period {start} to {end} is longer than {months} months (end at most {latest})",
            {
                "period_start_date": start.isoformat(),
                "period_end_date": end.isoformat(),
                "latest": latest.isoformat(),
            },
        )
    ]


def _r_6_20(claim: CanonicalClaim, facts: Facts, p: Mapping[str, Any]) -> Sequence[Breach]:
    """The period is at least `days` days long, both ends counted."""
    start, end = claim.period_start_date, claim.period_end_date
    if start is None or end is None:
        return _NONE
    days = p["days"]
    length = (end - start).days + 1
    if length >= days:
        return _NONE
    return [
        (
            "period_end_date",
            f"period {start} to {end} is {length} days, shorter than {days} days",
            {
                "period_start_date": start.isoformat(),
                "period_end_date": end.isoformat(),
                "days": str(length),
            },
        )
    ]


# ---------------------------------------------------------------------------------------------
# R_7: required and forbidden fields; description


def _required(field: str) -> Check:
    def check(claim: CanonicalClaim, facts: Facts, p: Mapping[str, Any]) -> Sequence[Breach]:
        if getattr(claim, field) is not None:
            return _NONE
        return [(field, f"{_label(field)} is required for {facts.kind.code}", {})]

    check.__doc__ = f"The {_label(field)} ({field}) is required."
    return check


def _r_7_11(claim: CanonicalClaim, facts: Facts, p: Mapping[str, Any]) -> Sequence[Breach]:
    """A description is required (it is printed in letters to the debtor)."""
    if claim.description is not None and claim.description.strip():
        return _NONE
    return [("description", f"description is required for {facts.kind.code}", {})]


def _r_7_12(claim: CanonicalClaim, facts: Facts, p: Mapping[str, Any]) -> Sequence[Breach]:
    """No judgment or settlement date: the type is not founded by a court."""
    found: list[Breach] = []
    for i, liability in enumerate(claim.liabilities):
        for attribute, name in (("judgment_date", "judgment"), ("settlement_date", "settlement")):
            day: dt.date | None = getattr(liability, attribute)
            if day is not None:
                found.append(
                    (
                        f"liabilities.{i}.{attribute}",
                        f"{facts.kind.code} takes no {name} date",
                        {attribute: day.isoformat()},
                    )
                )
    return found


def _r_7_12a(claim: CanonicalClaim, facts: Facts, p: Mapping[str, Any]) -> Sequence[Breach]:
    """A liability has a judgment date or a settlement date, not both."""
    return [
        (
            f"liabilities.{i}.settlement_date",
            "a liability cannot have both a judgment date and a settlement date",
            {
                "judgment_date": str(liability.judgment_date),
                "settlement_date": str(liability.settlement_date),
            },
        )
        for i, liability in enumerate(claim.liabilities)
        if liability.judgment_date is not None and liability.settlement_date is not None
    ]


def _k_desc_length(claim: CanonicalClaim, facts: Facts, p: Mapping[str, Any]) -> Sequence[Breach]:
    """The description is at most `max_length` characters."""
    limit = p["max_length"]
    if claim.description is None or len(claim.description) <= limit:
        return _NONE
    return [
        (
            "description",
            f"description has {len(claim.description)} characters, more than {limit}",
            {"length": str(len(claim.description)), "max_length": str(limit)},
        )
    ]


def _k_desc_personal(claim: CanonicalClaim, facts: Facts, p: Mapping[str, Any]) -> Sequence[Breach]:
    """The description holds no CPR number (it is printed to the debtor)."""
    if claim.description is None or not contains_cpr_like(claim.description):
        return _NONE
    return [("description", "description holds a CPR number", {})]


# ---------------------------------------------------------------------------------------------
# the registry

RULES: dict[str, Check] = {
    "R_1_1": _r_1_1,
    "R_1_2": _r_1_2,
    "K_152": _k_152,
    "R_2_1": _r_2_1,
    "R_2_1a": _r_2_1a,
    "R_2_1b": _r_2_1b,
    "R_2_2": _r_2_2,
    "R_2_3": _r_2_3,
    "R_2_3a": _r_2_3a,
    "R_3_1": _r_3_1,
    "R_4_1": _r_4_1,
    "R_4_2": _r_4_2,
    "R_4_4": _r_4_4,
    "R_4_7": _r_4_7,
    "R_5_1": _r_5_1,
    "R_5_2": _r_5_2,
    "R_5_3": _r_5_3,
    "R_6_1": _r_6_1,
    "R_6_5": _r_6_5,
    "R_6_6": _r_6_6,
    "R_6_15": _r_6_15,
    "R_6_16": _r_6_16,
    "R_6_19": _r_6_19,
    "R_6_20": _r_6_20,
    "R_7_1": _required("founding_date"),
    "R_7_2": _required("due_date"),
    "R_7_3": _required("srb_date"),
    "R_7_4": _required("period_start_date"),
    "R_7_5": _required("period_end_date"),
    "R_7_11": _r_7_11,
    "R_7_12": _r_7_12,
    "R_7_12a": _r_7_12a,
    "K_DESC_LENGTH": _k_desc_length,
    "K_DESC_PERSONAL": _k_desc_personal,
}

# Every parameter a rule takes, with its default. A default's type is the parameter's type;
# caps are DKK written as strings ("10000" or "10000.00") so JSON never carries a float.
DEFAULTS: dict[str, dict[str, int | bool | str]] = {
    **{rule: {} for rule in RULES},
    "R_2_1a": {"years": 10, "tolerance_days": 0},
    "R_2_1b": {"years": 10, "tolerance_days": 0},
    "R_2_2": {"years": 5},
    "R_2_3": {"years": 4, "from": "due_date"},
    "R_2_3a": {"years": 3, "from": "due_date"},
    "R_4_1": {"allow_zero": True},
    "R_4_2": {"cap": "10000"},
    "R_6_6": {"months": 2},
    "R_6_15": {"days": 0},
    "R_6_19": {"months": 12},
    "R_6_20": {"days": 1},
    "K_DESC_LENGTH": {"max_length": DESCRIPTION_MAX},
}

# The canonical field each "required" rule asks for.
REQUIRED_FIELDS: dict[str, str] = {
    "R_7_1": "founding_date",
    "R_7_2": "due_date",
    "R_7_3": "srb_date",
    "R_7_4": "period_start_date",
    "R_7_5": "period_end_date",
    "R_7_11": "description",
}


def _params(spec: RuleSpec) -> Mapping[str, Any]:
    defaults = DEFAULTS[spec.id]
    return {**defaults, **spec.params} if spec.params else defaults


def _ready(rule: str, params: Mapping[str, Any]) -> dict[str, Any]:
    # Each parameter as the type its rule compares with, converted once per type rather than
    # once per claim: counts as int, switches as bool, the date field's name, caps as Decimal.
    defaults = DEFAULTS[rule]
    ready = dict(params)
    for name, value in params.items():
        default = defaults.get(name)
        if isinstance(default, bool):
            ready[name] = bool(value)
        elif isinstance(default, int):
            ready[name] = int(value)
        elif name == "cap":
            ready[name] = _dkk(str(value))
        elif name == "from":
            ready[name] = str(value)
    return ready


# Rules that can break only for a liability without a limitation date or one founded by a
# judgment or settlement; a plain claim (`Facts.plain`) skips them.
_COURT_RULES = frozenset({"R_2_1", "R_2_1a", "R_2_1b", "R_7_12", "R_7_12a"})

# Rules that break exactly when a date field is None. R_7_11 is not one: it also refuses a
# blank description.
_PRESENCE_RULES = {rule: field for rule, field in REQUIRED_FIELDS.items() if rule != "R_7_11"}

_Step = tuple[str, Consequence, Check, Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class _Plan:
    """A type's rules as (id, consequence, check, ready parameters), worked out once per type.

    `steps[plain][complete]` leaves out the rules that cannot break for a claim that is plain
    (`Facts.plain`: `_COURT_RULES`) or complete (every date its `_PRESENCE_RULES` ask for is
    there, which `present` reads in one C call); an ordinary claim runs about 16 of 26 rules.
    """

    steps: tuple[tuple[tuple[_Step, ...], tuple[_Step, ...]], ...]
    present: Callable[[CanonicalClaim], tuple[Any, ...]]


def _reader(fields: Sequence[str]) -> Callable[[CanonicalClaim], tuple[Any, ...]]:
    if len(fields) > 1:
        return attrgetter(*fields)  # a tuple of the values
    return lambda claim: tuple(getattr(claim, field) for field in fields)


# Keyed by the type object's id; the type is kept beside its plan, so that no other type can
# take over the id while the entry exists.
_PLANS: dict[int, tuple[FordringType, _Plan]] = {}


def _plan(kind: FordringType) -> _Plan:
    cached = _PLANS.get(id(kind))
    if cached is not None and cached[0] is kind:
        return cached[1]
    full = tuple(
        (spec.id, spec.consequence, RULES[spec.id], _ready(spec.id, _params(spec)))
        for spec in kind.rules
    )

    def without(skipped: Set[str]) -> tuple[_Step, ...]:
        return tuple(step for step in full if step[0] not in skipped)

    plan = _Plan(
        steps=(
            (full, without(_PRESENCE_RULES.keys())),
            (without(_COURT_RULES), without(_COURT_RULES | _PRESENCE_RULES.keys())),
        ),
        present=_reader([_PRESENCE_RULES[step[0]] for step in full if step[0] in _PRESENCE_RULES]),
    )
    if len(_PLANS) >= 4096:  # a catalogue has dozens of types; tests may make thousands
        _PLANS.clear()
    _PLANS[id(kind)] = (kind, plan)
    return plan


def evaluate(
    claim: CanonicalClaim, kind: FordringType, *, receipt_date: dt.date
) -> list[RuleResult]:
    """Return every rule of the type that the claim breaks at that receipt date.

    Raises:
        KeyError: the type names a rule the engine does not know (run `check_catalogue` first).
    """
    plan = _plan(kind)
    shared = facts(claim, kind, receipt_date)
    complete = None not in plan.present(claim)
    results: list[RuleResult] = []
    for rule, consequence, check, params in plan.steps[shared.plain][complete]:
        breaches = check(claim, shared, params)
        if breaches:
            for field, message, values in breaches:
                results.append(RuleResult(rule, consequence, field, message, values))
    return results


def required_fields(kind: FordringType) -> list[str]:
    """Return the canonical fields the type's R_7_x rules require, in rule order."""
    return [REQUIRED_FIELDS[spec.id] for spec in kind.rules if spec.id in REQUIRED_FIELDS]


def meaning(rule: str) -> str:
    """Return what a rule checks, in one line.

    Raises:
        KeyError: the rule id is unknown.
    """
    return (RULES[rule].__doc__ or "").strip()


def _param_problem(name: str, value: Any, default: int | bool | str) -> str | None:
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "must be true or false"
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return "must be a whole number, 0 or more"
        return None
    if name == "from":
        return None if value in DATE_FIELDS else f"must be one of {', '.join(sorted(DATE_FIELDS))}"
    if not isinstance(value, str):
        return "must be an amount written as a string"
    try:
        amount = Decimal(value)
    except InvalidOperation:
        return "must be an amount written as a string"
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        return "must be a non-negative amount with at most two decimals"
    return None


def _spec_problems(code: str, spec: RuleSpec) -> list[str]:
    where = f"{code} rule {spec.id}"
    if spec.id not in RULES:
        return [f"{where}: unknown rule id"]
    problems = []
    if spec.consequence not in _CONSEQUENCES:
        problems.append(f"{where}: consequence {spec.consequence!r} is not reject or hearing")
    defaults = DEFAULTS[spec.id]
    for name, value in spec.params.items():
        if name not in defaults:
            problems.append(f"{where}: unknown parameter {name!r}")
            continue
        reason = _param_problem(name, value, defaults[name])
        if reason is not None:
            problems.append(f"{where}: parameter {name!r} {reason} (got {value!r})")
    return problems


def _window_problem(kind: FordringType) -> str | None:
    specs = {spec.id: _params(spec) for spec in kind.rules if spec.id in {"R_2_3", "R_2_3a"}}
    if len(specs) < 2 or specs["R_2_3"]["from"] != specs["R_2_3a"]["from"]:
        return None
    if int(specs["R_2_3a"]["years"]) > int(specs["R_2_3"]["years"]):
        return f"{kind.code}: R_2_3a asks for more years than R_2_3 allows; no date can pass"
    return None


def check_catalogue(catalogue: Catalogue) -> None:
    """Check that every rule of every type is known to the engine, with valid parameters.

    Raises:
        ValueError: every problem found, one a line (unknown rule id, bad consequence,
            unknown or badly typed parameter, a rule listed twice, an impossible window).
    """
    problems: list[str] = []
    for kind in catalogue.types.values():
        found: list[str] = []
        seen: set[str] = set()
        for spec in kind.rules:
            if spec.id in seen:
                found.append(f"{kind.code} rule {spec.id}: listed twice")
            seen.add(spec.id)
            found.extend(_spec_problems(kind.code, spec))
        window = None if found else _window_problem(kind)
        problems.extend(found if window is None else [*found, window])
    if problems:
        raise ValueError("catalogue rules are not valid:\n" + "\n".join(problems))
