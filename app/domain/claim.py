"""The canonical claim: one strict model for every claim, whichever fagsystem sent it.

Its fields follow what PSRM needs (Danish names in brackets). A `CanonicalClaim` cannot be
built with invalid content; `validate` turns an adapter's `ClaimCandidate` into either a claim
or the full list of problems, each located in the sender's message.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from app.domain.identifiers import (
    REFERENCE_CHARACTERS,
    IdentifierKind,
    contains_cpr_like,
    identifier_problem,
)
from app.domain.problems import Problem


class SourceSystem(StrEnum):
    """The fagsystemer kravbro takes claims from."""

    KY = "ky"
    KSD = "ksd"
    OIR = "oir"


class FordringArt(StrEnum):
    """INDR: for collection; MODR: for offset (modregning) only."""

    INDR = "INDR"
    MODR = "MODR"


class ClaimCategory(StrEnum):
    """HF: main claim (hovedfordring); UF: related claim (interest, fee) tied to a main claim."""

    HF = "HF"
    UF = "UF"


MAX_PRINCIPAL = Decimal("99999999.99")  # 8 integer digits and 2 decimals, as PSRM's portal
DESCRIPTION_MAX = 100
NOTES_MAX = 20
CLAIMANT_REFERENCE_MAX = 36
TYPE_CODE = re.compile(r"[A-ZÆØÅ0-9]{7}")
_CLAIMANT_ID = re.compile(r"[0-9]{4}")
_REFERENCE = re.compile(REFERENCE_CHARACTERS + "+")


def _anchored(pattern: re.Pattern[str]) -> str:
    """Return a pattern for a field's whole value: pydantic (and JSON Schema) search a value
    for a pattern, so `[A-Z0-9]{7}` took `ABCDEFGH` as a fordringstype (an outside probe)."""
    return f"^{pattern.pattern}$"


_CENT = Decimal("0.01")
# What nearly every amount looks like: checked by one match instead of the steps below.
_PLAIN_AMOUNT = re.compile(r"[0-9]{1,8}(?:\.[0-9]{1,2})?")


def _money(value: Any) -> Decimal:
    if type(value) is str and _PLAIN_AMOUNT.fullmatch(value):
        return Decimal(value).quantize(_CENT)
    if isinstance(value, str) and not value.isascii():
        # `Decimal` reads every script's digits ("١٠٠" is 100); a sender's amount is 0-9.
        raise PydanticCustomError("amount.invalid", "not a decimal amount (digits 0-9)")
    if isinstance(value, bool):
        raise PydanticCustomError(
            "amount.not_decimal", "amounts must be decimal numbers, not true or false"
        )
    if isinstance(value, float):
        raise PydanticCustomError(
            "amount.not_decimal", "amounts must be sent as decimal numbers, not floating point"
        )
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise PydanticCustomError("amount.invalid", "not a decimal amount") from exc
    if not amount.is_finite():
        raise PydanticCustomError("amount.invalid", "not a decimal amount")
    # Size first: quantizing a number of more than 28 digits is itself an error.
    if amount < 0 or amount.is_signed():  # -0 too: an amount carries no sign
        raise PydanticCustomError("amount.negative", "must not be negative")
    if amount > MAX_PRINCIPAL:
        raise PydanticCustomError("amount.too_large", "at most 8 integer digits")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and amount != amount.quantize(_CENT):
        raise PydanticCustomError("amount.too_many_decimals", "at most two decimals (øre)")
    return amount.quantize(_CENT)


# The dates a claim may hold. Far wider than any real claim's, and narrow enough that the
# years and months the rules add to them stay within what a date can hold (year 9999): a
# judgment dated 9999-12-31 used to end in an overflow, not in a problem.
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2199, 12, 31)


def _iso_date(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        raise PydanticCustomError("date.invalid", "a date (YYYY-MM-DD) is expected, not a time")
    if isinstance(value, dt.date):
        return _in_range(value)
    if isinstance(value, str):
        try:
            day = dt.date.fromisoformat(value.strip())
        except ValueError as exc:
            raise PydanticCustomError("date.invalid", "not a valid date (YYYY-MM-DD)") from exc
        return _in_range(day)
    raise PydanticCustomError("date.invalid", "not a valid date (YYYY-MM-DD)")


def _in_range(day: dt.date) -> dt.date:
    if EARLIEST_DATE <= day <= LATEST_DATE:
        return day
    raise PydanticCustomError(
        "date.out_of_range", f"dates must lie between {EARLIEST_DATE} and {LATEST_DATE}"
    )


def _no_personal_data(value: str | None) -> str | None:
    if value is not None and contains_cpr_like(value):
        raise PydanticCustomError(
            "text.personal_data", "must not contain a CPR number or other personal data"
        )
    return value


# Characters XML 1.0 cannot carry (C0 controls but tab, newline, return; U+FFFE, U+FFFF;
# lone surrogates): a claim holding one could never be sent to PSRM. And DEL and the C1
# controls (U+007F-U+009F), which XML carries but no name or text means: they are what a
# windows-1252 file declared ISO-8859-1 turns its euro signs and quotes into, and such a
# claim went on to PSRM with them (an outside probe).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")


def _xml_safe(value: Any) -> Any:
    texts = value if isinstance(value, list) else [value]
    for text in texts:
        if isinstance(text, str) and _NOT_XML.search(text):
            raise PydanticCustomError(
                "text.control_character", "contains a control character that cannot be sent"
            )
    return value


Money = Annotated[Decimal, BeforeValidator(_money)]


def _ascii_number(value: Any) -> Any:
    """Refuse a number written in another script's digits, which `Decimal` would read."""
    if isinstance(value, str) and not value.isascii():
        raise PydanticCustomError("field.invalid", "not a decimal number (digits 0-9)")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
Text = Annotated[str, Field(min_length=1)]


class Liability(BaseModel):
    """One debtor's liability (hæftelse) for the claim; all debtors are jointly liable."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    debtor_kind: IdentifierKind
    debtor_id: Annotated[str, Field(description="CPR (10), CVR/SE (8) or AKR (11) digits")]
    debtor_name: Annotated[str | None, Field(max_length=200)] = None
    limitation_date: Annotated[
        IsoDate,
        Field(description="forældelsesdato; for lapse types the bortfaldsdato"),
    ]
    judgment_date: Annotated[IsoDate | None, Field(description="domsdato")] = None
    settlement_date: Annotated[IsoDate | None, Field(description="forligsdato")] = None
    in_estate: Annotated[bool, Field(description="bobehandling: estate or bankruptcy")] = False

    _text = field_validator("debtor_id", "debtor_name", mode="after")(_xml_safe)

    @field_validator("debtor_id")
    @classmethod
    def _valid_identifier(cls, value: str, info: ValidationInfo) -> str:
        kind = info.data.get("debtor_kind")
        if isinstance(kind, IdentifierKind):
            reason = identifier_problem(kind, value)
            if reason is not None:
                raise PydanticCustomError(
                    f"{kind.value.lower()}.invalid", f"{kind.value} number: {reason}"
                )
        return value

    @field_validator("settlement_date")
    @classmethod
    def _not_both(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        if value is not None and info.data.get("judgment_date") is not None:
            raise PydanticCustomError(
                "liability.judgment_and_settlement",
                "a judgment date and a settlement date cannot both be set",
            )
        return value


class InterestChoice(BaseModel):
    """Renteregel, rentesatskode and merrentesats as PSRM takes them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: Literal["001", "002"]
    rate_code: Literal["03", "04", "07", "10", "20", "98", "99"]
    extra_rate: (
        Annotated[Decimal, Field(ge=0, le=100, decimal_places=4), BeforeValidator(_ascii_number)]
        | None
    ) = None


class DocumentReference(BaseModel):
    """A document kept by the fagsystem, referenced by its id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reference: Annotated[str, Field(min_length=1, max_length=200)]
    title: Annotated[str | None, Field(max_length=200)] = None

    _text = field_validator("reference", "title", mode="after")(_xml_safe)


class CanonicalClaim(BaseModel):
    """A claim (fordring) in kravbro's one schema, valid by construction."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="CanonicalClaim")

    # identity
    source: SourceSystem
    source_reference: Annotated[
        str, Field(min_length=1, max_length=64, description="the fagsystem's own reference")
    ]
    claimant_reference: Annotated[
        str,
        Field(
            min_length=1,
            max_length=CLAIMANT_REFERENCE_MAX,
            pattern=_anchored(_REFERENCE),
            description=(
                "fordringshaverreference sent to PSRM; unique per claimant, no personal data"
            ),
        ),
        AfterValidator(_no_personal_data),
    ]
    claimant_id: Annotated[
        str, Field(pattern=_anchored(_CLAIMANT_ID), description="fordringshaver-ID (4 digits)")
    ]
    agreement: Annotated[str | None, Field(max_length=40, description="fordringshaveraftale")] = (
        None
    )
    # classification
    fordringstype: Annotated[
        str, Field(pattern=_anchored(TYPE_CODE), description="7-character fordringstype code")
    ]
    art: FordringArt = FordringArt.INDR
    category: ClaimCategory = ClaimCategory.HF
    main_claim_reference: Annotated[
        str | None,
        Field(max_length=64, description="source_reference of the main claim (related claims)"),
    ] = None
    business_area: Annotated[str, Field(min_length=1, description="derived from fordringstype")]
    # money
    currency: Literal["DKK"] = "DKK"
    principal: Annotated[Money, Field(description="hovedstol (DKK)")]
    amount: Annotated[Money, Field(description="beløb to collect (DKK)")]
    # dates
    period_start_date: IsoDate | None = None
    period_end_date: IsoDate | None = None
    founding_date: Annotated[IsoDate | None, Field(description="stiftelsesdato")] = None
    due_date: Annotated[IsoDate | None, Field(description="forfaldsdato")] = None
    srb_date: Annotated[
        IsoDate | None, Field(description="sidste rettidige betalingsdato (SRB)")
    ] = None
    notice_date: Annotated[
        IsoDate | None, Field(description="date the debtor was notified in writing of transfer")
    ] = None
    decision_date: Annotated[IsoDate | None, Field(description="date of the decision")] = None
    # liabilities
    liabilities: Annotated[list[Liability], Field(min_length=1, max_length=50)]
    # text and documents
    description: Annotated[
        str | None,
        Field(max_length=DESCRIPTION_MAX, description="printed to the debtor"),
        AfterValidator(_no_personal_data),
    ] = None
    legal_basis: Annotated[str | None, Field(max_length=200)] = None
    notes: Annotated[
        list[Annotated[str, Field(max_length=1000)]],
        Field(max_length=NOTES_MAX, default_factory=list),
    ]
    documents: Annotated[list[DocumentReference], Field(max_length=50, default_factory=list)]
    interest: InterestChoice | None = None

    _text = field_validator(
        "source_reference",
        "claimant_reference",
        "agreement",
        "main_claim_reference",
        "description",
        "legal_basis",
        "notes",
        mode="after",
    )(_xml_safe)

    @field_validator("liabilities")
    @classmethod
    def _unique_debtors(cls, value: list[Liability]) -> list[Liability]:
        keys = [(item.debtor_kind, item.debtor_id) for item in value]
        if len(set(keys)) != len(keys):
            raise PydanticCustomError(
                "liability.duplicate_debtor", "the same debtor is listed twice"
            )
        return value

    @model_validator(mode="after")
    def _cross_field(self, info: ValidationInfo) -> CanonicalClaim:
        problems = cross_field_problems(self.__dict__)
        collect = info.context.get("collect") if isinstance(info.context, dict) else None
        if isinstance(collect, list):
            collect.extend(problems)
        elif problems:
            first = problems[0]
            raise PydanticCustomError(first.code, first.message)
        return self


def _as_date(value: Any) -> dt.date | None:
    if type(value) is dt.date:
        return value
    try:
        parsed = _iso_date(value)
    except PydanticCustomError:
        return None
    return parsed if isinstance(parsed, dt.date) else None


def _as_money(value: Any) -> Decimal | None:
    if type(value) is Decimal:
        return value
    try:
        return _money(value)
    except PydanticCustomError:
        return None


def cross_field_problems(values: Mapping[str, Any]) -> list[Problem]:
    """Return the problems that involve more than one field, on validated or raw values."""
    problems: list[Problem] = []
    principal, amount = _as_money(values.get("principal")), _as_money(values.get("amount"))
    if principal is not None and amount is not None and amount > principal:
        problems.append(
            Problem(
                code="amount.exceeds_principal",
                field="amount",
                message=f"amount {amount} is larger than the principal {principal}",
                value=str(amount),
            )
        )
    start, end = _as_date(values.get("period_start_date")), _as_date(values.get("period_end_date"))
    if start is not None and end is not None and start > end:
        problems.append(
            Problem(
                code="period.reversed",
                field="period_start_date",
                message=f"period starts {start} after it ends {end}",
                value=start.isoformat(),
            )
        )
    due, srb = _as_date(values.get("due_date")), _as_date(values.get("srb_date"))
    if due is not None and srb is not None and due > srb:
        problems.append(
            Problem(
                code="srb.before_due_date",
                field="srb_date",
                message=f"SRB {srb} is before the due date {due}",
                value=srb.isoformat(),
            )
        )
    category, main_ref = values.get("category"), values.get("main_claim_reference")
    if category == ClaimCategory.UF and not main_ref:
        problems.append(
            Problem(
                code="related.main_claim_missing",
                field="main_claim_reference",
                message="a related claim (UF) must name its main claim",
            )
        )
    if category == ClaimCategory.HF and main_ref:
        problems.append(
            Problem(
                code="main.has_main_reference",
                field="main_claim_reference",
                message="a main claim (HF) cannot point at another main claim",
                value=str(main_ref),
            )
        )
    return problems


@dataclass(frozen=True, slots=True)
class ClaimCandidate:
    """What an adapter makes of one claim in a message, before validation.

    `fields` has the canonical claim's shape with JSON-like values; `field_paths` maps a
    canonical field path (`liabilities.0.debtor_id`) to where it came from in the message.
    """

    index: int
    source_path: str
    source_reference: str | None
    fields: dict[str, Any]
    field_paths: dict[str, str] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()


# Fields whose values are personal data: never echoed in a problem.
PERSONAL_FIELDS = frozenset({"debtor_id", "debtor_name", "description", "notes"})

_PYDANTIC_CODES = {
    "missing": "field.missing",
    "extra_forbidden": "field.unknown",
    "string_too_long": "field.too_long",
    "string_too_short": "field.empty",
    "too_short": "field.too_few",
    "too_long": "field.too_many",
    "string_pattern_mismatch": "field.bad_format",
    "enum": "field.not_allowed",
    "literal_error": "field.not_allowed",
    "string_type": "field.wrong_type",
    "bool_type": "field.wrong_type",
    "bool_parsing": "field.wrong_type",
    "list_type": "field.wrong_type",
    "model_type": "field.wrong_type",
    "dict_type": "field.wrong_type",
}


def _field_path(loc: Iterable[str | int]) -> str:
    return ".".join(str(part) for part in loc)


def locate(candidate: ClaimCandidate, field_path: str | None) -> str:
    """Find where in the sender's message a canonical field came from."""
    if field_path:
        parts = field_path.split(".")
        while parts:
            found = candidate.field_paths.get(".".join(parts))
            if found is not None:
                return found
            parts.pop()
    return candidate.source_path


def _problem_from_error(candidate: ClaimCandidate, error: Mapping[str, Any]) -> Problem:
    loc = tuple(error.get("loc", ()))
    path = _field_path(loc) or None
    kind = str(error.get("type", "invalid"))
    code = _PYDANTIC_CODES.get(kind, kind if "." in kind else "field.invalid")
    value: str | None = None
    raw = error.get("input")
    personal = any(str(part) in PERSONAL_FIELDS for part in loc)
    if (
        not personal
        and isinstance(raw, str | int | Decimal | dt.date)
        and not isinstance(raw, bool)
    ):
        text = str(raw)
        if len(text) <= 100 and not contains_cpr_like(text):
            value = text
    if code == "liability.duplicate_debtor":
        # At the debtor listed again, not at the list (which has no place of its own in an
        # XML message, so the problem named the whole claim: an outside probe).
        path = _repeated_debtor(candidate.fields.get("liabilities")) or path
    return Problem(
        code=code,
        message=str(error.get("msg", "invalid")),
        field=path,
        source_path=locate(candidate, path),
        value=value,
    )


def _repeated_debtor(liabilities: Any) -> str | None:
    """Return the field path of the first liability whose debtor an earlier one has."""
    if not isinstance(liabilities, list):
        return None
    seen = set()
    for index, item in enumerate(liabilities):
        if isinstance(item, Mapping):
            key = (str(item.get("debtor_kind")), str(item.get("debtor_id")))
            if key in seen:
                return f"liabilities.{index}"
            seen.add(key)
    return None


def _told_by_adapter(
    candidate: ClaimCandidate, error: Mapping[str, Any], taken: set[str | None]
) -> bool:
    """Tell whether a list's "too many" is told already, at its first item too many.

    An XML schema refuses the 21st note, the 51st document or debtor where it stands; the
    model's finding of the same, for the list, would tell it again (an outside probe).
    """
    if error.get("type") != "too_long":
        return False
    limit = (error.get("ctx") or {}).get("max_length")
    field = _field_path(tuple(error.get("loc", ())))
    if not isinstance(limit, int) or not field:
        return False
    first_too_many = candidate.field_paths.get(f"{field}.{limit}")
    return first_too_many is not None and first_too_many in taken


def validate(candidate: ClaimCandidate) -> tuple[CanonicalClaim | None, list[Problem]]:
    """Validate a candidate: the claim when it has no problems, and every problem found."""
    problems = list(candidate.problems)
    # The adapter's own finding at a place says it best; the model's at the same place is noise.
    taken = {p.source_path for p in candidate.problems}
    collected: list[Problem] = []
    try:
        claim = CanonicalClaim.model_validate(candidate.fields, context={"collect": collected})
    except ValidationError as exc:
        claim = None
        found = [
            _problem_from_error(candidate, error)
            for error in exc.errors(include_url=False)
            if not _told_by_adapter(candidate, error, taken)
        ]
        # A missing limitation date is derived at admission where it can be; where it cannot,
        # the reason is reported (an unknown type, an unreadable or absent starting date), not
        # a missing field the sender was told it may leave out.
        derived_only = [p for p in found if _missing_limitation_date(p)]
        if len(derived_only) < len(found) + len(candidate.problems):
            found = [p for p in found if not _missing_limitation_date(p)]
        problems.extend(p for p in found if p.source_path not in taken)
        collected = cross_field_problems(candidate.fields)
    problems.extend(
        located
        for p in collected
        if (located := p.at(locate(candidate, p.field))).source_path not in taken
    )
    if problems:
        return None, _dedupe(
            problems, claim_path=candidate.source_path, mapped=candidate.field_paths
        )
    return claim, []


def _missing_limitation_date(problem: Problem) -> bool:
    return problem.code == "field.missing" and (problem.field or "").endswith(".limitation_date")


def _dedupe(
    problems: list[Problem], *, claim_path: str, mapped: Mapping[str, str] | None = None
) -> list[Problem]:
    """Drop problems said twice: the same code for the same field and place, or the same
    problem at the same place of the sender's message, which one value mapped to two fields
    gives (KY's `decisionDate` is both `founding_date` and `decision_date`).

    Of the same problem at one place, the one kept names the field the place was mapped to
    first (`mapped`, the candidate's field paths in the order the adapter made them): the
    field the sender wrote, not one defaulted from it (`decision_date`, not `founding_date`).
    A problem placed at the claim as a whole (its field came from nowhere in particular) is
    told apart by its field: there, two fields can have the same code and message.
    """
    first = {field: rank for rank, field in enumerate(mapped or {})}
    unknown = len(first)
    kept: dict[tuple[str, str, str | None, str | None], int] = {}
    unique: list[Problem] = []
    for problem in problems:
        key: tuple[str, str, str | None, str | None]
        if problem.source_path is not None and problem.source_path != claim_path:
            key = ("place", problem.code, problem.source_path, problem.message)
        else:
            key = ("field", problem.code, problem.field, problem.source_path)
        at = kept.get(key)
        if at is None:
            kept[key] = len(unique)
            unique.append(problem)
        elif first.get(problem.field or "", unknown) < first.get(unique[at].field or "", unknown):
            unique[at] = problem
    return unique


# The plain path: a claim whose every field is plainly valid (the common case: nearly every
# claim of a message) is checked here in one pass and built without pydantic-core, whose
# per-field calls into the Python validators above cost more than the checks themselves.
# Anything not plainly valid (a wrong type, a bad value, a cross-field problem, an input
# shape the model would coerce) returns None, and the model decides. It never accepts what
# the model refuses, nor builds a different claim: tests/unit/domain/test_plain_claim.py
# checks that against the model for generated candidates.

_SOURCES = {member.value: member for member in SourceSystem}
_ARTS = {member.value: member for member in FordringArt}
_CATEGORIES = {member.value: member for member in ClaimCategory}
_KINDS = {member.value: member for member in IdentifierKind}
_ABSENT: Any = object()  # a required field not sent, or a list the model would default
# Every field in the model's order, with its default: a claim is this updated with its fields.
_CLAIM_TEMPLATE: dict[str, Any] = {
    name: _ABSENT if info.is_required() or info.default_factory else info.default
    for name, info in CanonicalClaim.model_fields.items()
}
_LIABILITY_TEMPLATE: dict[str, Any] = {
    name: _ABSENT if info.is_required() else info.default
    for name, info in Liability.model_fields.items()
}
_DOCUMENT_KEYS = frozenset(DocumentReference.model_fields)
_INTEREST_KEYS = frozenset({"rule", "rate_code"})  # an extra rate goes the model's way
_RULES = frozenset({"001", "002"})
_RATE_CODES = frozenset({"03", "04", "07", "10", "20", "98", "99"})
_DATE_NAMES = (
    "period_start_date",
    "period_end_date",
    "founding_date",
    "due_date",
    "srb_date",
    "notice_date",
    "decision_date",
)
_NO_LIMIT = 1 << 62
# Optional texts and their greatest length (the claimant reference has a pattern of its own).
_TEXTS = (
    ("source_reference", 64),
    ("agreement", 40),
    ("main_claim_reference", 64),
    ("business_area", _NO_LIMIT),
    ("description", DESCRIPTION_MAX),
    ("legal_basis", 200),
)
# Stricter than the model's pattern where it differs: its reference length is a field limit.
_PLAIN_CLAIMANT_REFERENCE = re.compile(REFERENCE_CHARACTERS + "{1,36}")
_PLAIN_CLAIMANT_ID = re.compile(r"[0-9]{4}")
_set = object.__setattr__
_M = TypeVar("_M", bound=BaseModel)


class _NotPlain(Exception):
    """A value the plain path leaves to the model."""


def _built(cls: type[_M], values: dict[str, Any], fields_set: set[str]) -> _M:
    # What `model_construct` does, without its per-field loop over aliases and defaults:
    # `values` holds every field, in the model's order, already valid.
    model = cls.__new__(cls)
    _set(model, "__dict__", values)
    _set(model, "__pydantic_fields_set__", fields_set)
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_private__", None)
    return model


def _plain_date(value: Any) -> dt.date:
    day: dt.date = value if type(value) is dt.date else dt.date.fromisoformat(value)
    if not EARLIEST_DATE <= day <= LATEST_DATE:  # a date.fromisoformat error: not plain either
        raise _NotPlain
    return day


def _plain_liability(item: Any, texts: list[str]) -> Liability:
    if type(item) is not dict:
        raise _NotPlain
    values = _LIABILITY_TEMPLATE.copy()
    values.update(item)
    if len(values) != len(_LIABILITY_TEMPLATE):  # a field the model does not know
        raise _NotPlain
    kind, debtor_id, name = values["debtor_kind"], values["debtor_id"], values["debtor_name"]
    if type(kind) is str or type(kind) is IdentifierKind:
        values["debtor_kind"] = kind = _KINDS[kind]
    else:
        raise _NotPlain
    # A valid identifier is digits only: nothing for the XML check.
    if type(debtor_id) is not str or identifier_problem(kind, debtor_id) is not None:
        raise _NotPlain
    if name is not None:
        if type(name) is not str or len(name) > 200:
            raise _NotPlain
        texts.append(name)
    for key in ("limitation_date", "judgment_date", "settlement_date"):
        day = values[key]
        if day is not None:
            values[key] = _plain_date(day)
    if values["limitation_date"] is _ABSENT or values["limitation_date"] is None:
        raise _NotPlain
    if values["judgment_date"] is not None and values["settlement_date"] is not None:
        raise _NotPlain
    if type(values["in_estate"]) is not bool:
        raise _NotPlain
    return _built(Liability, values, set(item))


def _plain_document(item: Any, texts: list[str]) -> DocumentReference:
    if type(item) is not dict or not _DOCUMENT_KEYS.issuperset(item):
        raise _NotPlain
    reference, title = item.get("reference"), item.get("title")
    if type(reference) is not str or not 0 < len(reference) <= 200:
        raise _NotPlain
    texts.append(reference)
    if title is not None:
        if type(title) is not str or len(title) > 200:
            raise _NotPlain
        texts.append(title)
    return _built(DocumentReference, {"reference": reference, "title": title}, set(item))


def _plain_interest(item: Any) -> InterestChoice:
    if type(item) is not dict or not _INTEREST_KEYS.issuperset(item):
        raise _NotPlain
    rule, rate_code = item.get("rule"), item.get("rate_code")
    if type(rule) is not str or rule not in _RULES:
        raise _NotPlain
    if type(rate_code) is not str or rate_code not in _RATE_CODES:
        raise _NotPlain
    values = {"rule": rule, "rate_code": rate_code, "extra_rate": None}
    return _built(InterestChoice, values, set(item))


def _plain_claim(fields: Mapping[str, Any]) -> CanonicalClaim:
    values = _CLAIM_TEMPLATE.copy()
    values.update(fields)
    if len(values) != len(_CLAIM_TEMPLATE):  # a field the model does not know
        raise _NotPlain
    texts: list[str] = []  # checked for characters XML cannot carry all at once, at the end
    for name, limit in _TEXTS:
        text = values[name]
        if text is not None:
            if type(text) is not str or len(text) > limit:
                raise _NotPlain
            texts.append(text)
    if not values["source_reference"] or not values["business_area"]:
        raise _NotPlain
    source, art, category = values["source"], values["art"], values["category"]
    if type(source) is str or type(source) is SourceSystem:
        values["source"] = _SOURCES[source]
    else:
        raise _NotPlain
    if type(art) is str or type(art) is FordringArt:
        values["art"] = _ARTS[art]
    else:
        raise _NotPlain
    if type(category) is str or type(category) is ClaimCategory:
        values["category"] = category = _CATEGORIES[category]
    else:
        raise _NotPlain
    # The cross-field rules (`cross_field_problems`) hold, or the model reports them.
    if (category is ClaimCategory.UF) is not bool(values["main_claim_reference"]):
        raise _NotPlain
    reference, claimant_id = values["claimant_reference"], values["claimant_id"]
    fordringstype = values["fordringstype"]
    if (
        type(reference) is not str
        or not _PLAIN_CLAIMANT_REFERENCE.fullmatch(reference)
        or type(claimant_id) is not str
        or not _PLAIN_CLAIMANT_ID.fullmatch(claimant_id)
        or type(fordringstype) is not str
        or not TYPE_CODE.fullmatch(fordringstype)
    ):
        raise _NotPlain
    description = values["description"]
    if contains_cpr_like(f"{reference}\n{description}" if description else reference):
        raise _NotPlain
    if values["currency"] != "DKK" or type(values["currency"]) is not str:
        raise _NotPlain
    values["principal"] = principal = _money(values["principal"])
    values["amount"] = amount = _money(values["amount"])
    if amount > principal:
        raise _NotPlain
    for name in _DATE_NAMES:
        day = values[name]
        if day is not None:
            values[name] = _plain_date(day)
    start, end = values["period_start_date"], values["period_end_date"]
    if start is not None and end is not None and start > end:
        raise _NotPlain
    due, srb = values["due_date"], values["srb_date"]
    if due is not None and srb is not None and due > srb:
        raise _NotPlain
    liabilities = values["liabilities"]
    if type(liabilities) is not list or not 0 < len(liabilities) <= 50:
        raise _NotPlain
    debtors = values["liabilities"] = [_plain_liability(item, texts) for item in liabilities]
    if len(debtors) > 1 and len({(d.debtor_kind, d.debtor_id) for d in debtors}) != len(debtors):
        raise _NotPlain
    notes, documents, interest = values["notes"], values["documents"], values["interest"]
    if notes is _ABSENT:
        values["notes"] = []
    elif type(notes) is list and len(notes) <= NOTES_MAX:
        for note in notes:
            if type(note) is not str or len(note) > 1000:
                raise _NotPlain
        texts.extend(notes)
        values["notes"] = list(notes)
    else:
        raise _NotPlain
    if documents is _ABSENT:
        values["documents"] = []
    elif type(documents) is list and len(documents) <= 50:
        values["documents"] = [_plain_document(item, texts) for item in documents]
    else:
        raise _NotPlain
    if interest is not None:
        values["interest"] = _plain_interest(interest)
    # One search over all texts; the separator is itself allowed, so it finds nothing new.
    if _NOT_XML.search("\n".join(texts)):
        raise _NotPlain
    return _built(CanonicalClaim, values, set(fields))


def plain_claim(fields: Mapping[str, Any]) -> CanonicalClaim | None:
    """Build the claim when every field is plainly valid, else None (the model then decides).

    The claim is the one `CanonicalClaim.model_validate(fields)` builds, without
    cross-field problems; for any other input the answer is None, never an error.
    """
    try:
        return _plain_claim(fields)
    except Exception:  # whatever is not plain goes to the model, which reports it
        return None
