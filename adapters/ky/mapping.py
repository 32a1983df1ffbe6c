"""Mapping KY claims to candidates for the canonical claim, one claim at a time.

Each claim, and each of its interest claims, becomes one `ClaimCandidate`. What the canonical
model checks itself (lengths, patterns, CPR dates, amounts, cross-field rules) is passed through
as sent, so it is reported once and located by `field_paths`. What only the KY contract knows
(required and unknown members, the JSON type of each member and empty strings, the benefit list,
the strict date and amount formats, unique references) is checked here and put on the
candidate. Nothing here raises for a bad claim.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from adapters.base import MappingContext, not_personal
from adapters.ky.benefits import Benefit, benefits
from adapters.ky.message import (
    NUMBER_EXPECTED,
    STRING_EXPECTED,
    KyMessage,
    must_not_be_empty,
    unknown_member,
)
from app.domain.catalogue import Catalogue
from app.domain.claim import ClaimCandidate
from app.domain.identifiers import contains_cpr_like
from app.domain.problems import Problem

CLAIMANT_REFERENCE_PREFIX = "KY-"
REFERENCE_MAX = 33  # "KY-" and 33 characters fill PSRM's 36
MAX_INTEREST_CLAIMS = 20
DEFAULT_INTEREST_TYPE = "REOPKOM"

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# The digits 0-9, as the contract's JSON Schema means `\d`; Python's `\d` takes any script's.
_AMOUNT = re.compile(r"[0-9]{1,8}(\.[0-9]{1,2})?")
_CPR = re.compile(r"[0-9]{6}-?[0-9]{4}")
_REFERENCE = re.compile(r"[A-Za-z0-9ÆØÅæøå._:/\-]+")
_AMOUNT_TEXT = 'an amount sent as text must be digits with at most two decimals, e.g. "1234.50"'
# Dates already seen written as YYYY-MM-DD: a message repeats the same few hundred dates, and
# a set look-up costs a tenth of the pattern. Bounded, as the senders choose what is in it.
_DATES: set[str] = set()
_DATES_MAX = 4096


def _is_date(value: str) -> bool:
    """Tell whether `value` is written YYYY-MM-DD (any decimal digits, as `\\d` reads them)."""
    if _DATE.fullmatch(value) is None:
        return False
    if len(_DATES) < _DATES_MAX:
        _DATES.add(value)
    return True


# How a member's value is taken. Its JSON type is checked here for all (a wrong type is
# field.wrong_type, an empty string field.empty); then a date's and an amount's written form is
# checked here too, while text and numbers go on as sent for the canonical model to check
# (lengths, patterns, code lists). Special members are handled by their own function.
DATE, AMOUNT, NUMBER, TEXT, BOOL, SPECIAL = "date", "amount", "number", "text", "bool", "special"


# One member as mapping reads it: the field path it fills (with the prefix of the object
# holding it, `liabilities.1.debtor_name`), its canonical field, how it is taken, the step its
# pointer ends in (`/dueDate`, so a claim joins two strings where it would format three) and
# whether it is required.
Spec = tuple[str, str, str, str, bool]
_SPECS_KEPT = 64  # prefixes whose specs are kept: the first debtors and documents, interest


@dataclass(frozen=True, slots=True)
class Shape:
    """The members of one kind of object in the contract: wire name -> (canonical field, how)."""

    members: Mapping[str, tuple[str, str]]
    required: tuple[str, ...]
    by_prefix: dict[str, Mapping[str, Spec]]

    def specs(self, prefix: str) -> Mapping[str, Spec]:
        """Return the members as read in an object whose fields' paths start with `prefix`."""
        specs = self.by_prefix.get(prefix)
        if specs is None:
            specs = {
                key: (prefix + name, name, how, f"/{key}", key in self.required)
                for key, (name, how) in self.members.items()
            }
            if len(self.by_prefix) < _SPECS_KEPT:
                self.by_prefix[prefix] = specs
        return specs


def _shape(members: Mapping[str, tuple[str, str]], required: tuple[str, ...]) -> Shape:
    return Shape(members, required, {})


CLAIM = _shape(
    {
        "reference": ("source_reference", SPECIAL),
        "benefit": ("fordringstype", SPECIAL),
        "fordringstype": ("fordringstype", TEXT),
        "legalBasis": ("legal_basis", TEXT),
        "art": ("art", TEXT),
        "claimantReference": ("claimant_reference", TEXT),
        "citizen": ("liabilities", SPECIAL),
        "coDebtors": ("liabilities", SPECIAL),
        "period": ("period_start_date", SPECIAL),
        "principal": ("principal", AMOUNT),
        "amount": ("amount", AMOUNT),
        "currency": ("currency", TEXT),
        "decisionDate": ("decision_date", DATE),
        "foundingDate": ("founding_date", DATE),
        "dueDate": ("due_date", DATE),
        "srbDate": ("srb_date", DATE),
        "noticeDate": ("notice_date", DATE),
        "description": ("description", TEXT),
        "notes": ("notes", SPECIAL),
        "documents": ("documents", SPECIAL),
        "interestChoice": ("interest", SPECIAL),
        "interestClaims": ("", SPECIAL),
    },
    (
        "reference",
        "benefit",
        "citizen",
        "period",
        "principal",
        "amount",
        "decisionDate",
        "dueDate",
        "srbDate",
        "description",
    ),
)
INTEREST_CLAIM = _shape(
    {
        "reference": ("source_reference", SPECIAL),
        "fordringstype": ("fordringstype", TEXT),
        "legalBasis": ("legal_basis", TEXT),
        "claimantReference": ("claimant_reference", TEXT),
        "period": ("period_start_date", SPECIAL),
        "principal": ("principal", AMOUNT),
        "amount": ("amount", AMOUNT),
        "currency": ("currency", TEXT),
        "foundingDate": ("founding_date", DATE),
        "dueDate": ("due_date", DATE),
        "srbDate": ("srb_date", DATE),
        "noticeDate": ("notice_date", DATE),
        "limitationDate": ("liabilities", SPECIAL),
        "description": ("description", TEXT),
    },
    ("reference", "period", "principal", "amount", "dueDate", "srbDate"),
)
DEBTOR = _shape(
    {
        "cpr": ("debtor_id", SPECIAL),
        "name": ("debtor_name", TEXT),
        "limitationDate": ("limitation_date", DATE),
        "judgmentDate": ("judgment_date", DATE),
        "settlementDate": ("settlement_date", DATE),
        "inEstate": ("in_estate", BOOL),
    },
    ("cpr",),
)
PERIOD = _shape(
    {"from": ("period_start_date", DATE), "to": ("period_end_date", DATE)}, ("from", "to")
)
DOCUMENT = _shape({"reference": ("reference", TEXT), "title": ("title", TEXT)}, ("reference",))
INTEREST_CHOICE = _shape(
    {"rule": ("rule", TEXT), "rateCode": ("rate_code", TEXT), "extraRate": ("extra_rate", NUMBER)},
    ("rule", "rateCode"),
)
# An interest claim's own limitation date, taken like its debtor's but not required to hold more.
_LIMITATION = _shape({"limitationDate": DEBTOR.members["limitationDate"]}, ())
_INHERITED_DEBTOR_FIELDS = ("debtor_kind", "debtor_id", "debtor_name", "in_estate")


@dataclass(slots=True)
class _Draft:
    """One claim being mapped: its canonical fields, where each came from, and its problems."""

    pointer: str
    fields: dict[str, Any]
    paths: dict[str, str]
    problems: list[Problem]

    def problem(
        self, code: str, message: str, pointer: str, name: str | None, value: Any = None
    ) -> None:
        self.problems.append(
            Problem(
                code=code,
                message=message,
                field=name or None,
                source_path=pointer,
                value=not_personal(value),
            )
        )

    def candidate(self, index: int) -> ClaimCandidate:
        reference = self.fields.get("source_reference")
        return ClaimCandidate(
            index=index,
            source_path=self.pointer,
            source_reference=reference if isinstance(reference, str) else None,
            fields=self.fields,
            field_paths=self.paths,
            problems=tuple(self.problems),
        )


def _member_problems(
    obj: Mapping[str, Any], pointer: str, shape: Shape, prefix: str
) -> list[Problem]:
    """Return the problems of the unknown members of `obj`, then those of its missing ones."""
    found = []
    for key in obj:
        if key not in shape.members:
            unknown = unknown_member(pointer, key)
            found.append(
                Problem(
                    code=unknown.code,
                    message=unknown.message,
                    source_path=unknown.source_path or pointer,
                )
            )
    for key in shape.required:
        if obj.get(key) is None:
            name = prefix + shape.members[key][0]
            found.append(
                Problem(
                    code="field.missing",
                    message=f"{key} is required",
                    field=name or None,
                    source_path=f"{pointer}/{key}",
                )
            )
    return found


def _members(
    draft: _Draft,
    obj: Mapping[str, Any],
    pointer: str,
    shape: Shape,
    target: dict[str, Any],
    prefix: str = "",
    at: int | None = None,
) -> None:
    """Check the members of `obj` against `shape`, and take every one that is not special.

    What the contract says of each taken member is checked here. Unknown and missing members
    are reported before the problems of the members taken (at index `at` of the draft's
    problems when given, so a caller's own checks of special members can come between).
    """
    problems = draft.problems
    if at is None:
        at = len(problems)
    paths = draft.paths
    specs = shape.by_prefix.get(prefix) or shape.specs(prefix)
    dates = _DATES
    known = True
    required = 0
    # One pass does the check and the take: in the common case, every member is known and
    # every required one is present, which the counts tell without a second look.
    for key, value in obj.items():
        spec = specs.get(key)
        if spec is None:
            known = False
            continue
        if value is None:
            continue
        located, name, how, step, is_required = spec
        if is_required:
            required += 1
        if how is SPECIAL:
            continue
        where = pointer + step
        paths[located] = where
        if type(value) is str and how is not BOOL:
            if not value:
                message = must_not_be_empty(key, required=is_required)
                draft.problem("field.empty", message, where, located)
            elif how is DATE:
                if value in dates or _is_date(value):
                    target[name] = value  # its calendar: the canonical model checks
                else:
                    message = "must be a date written YYYY-MM-DD"
                    draft.problem("date.invalid", message, where, located, value=value)
            else:
                if how is AMOUNT and not _AMOUNT.fullmatch(value):
                    draft.problem("amount.invalid", _AMOUNT_TEXT, where, located, value=value)
                # A text's length and pattern: the canonical model checks.
                target[name] = value
        elif how is BOOL:
            if type(value) is bool:
                target[name] = value
            else:
                draft.problem("field.wrong_type", "must be true or false", where, located)
        elif isinstance(value, Decimal) and (how is AMOUNT or how is NUMBER):
            target[name] = value  # every JSON number is read as a Decimal
        else:
            expected = STRING_EXPECTED if how is TEXT or how is DATE else NUMBER_EXPECTED
            draft.problem("field.wrong_type", expected, where, located)
    if not known or required != len(shape.required):
        problems[at:at] = _member_problems(obj, pointer, shape, prefix)


def _required_text_problem(
    draft: _Draft, value: Any, pointer: str, name: str | None, key: str
) -> bool:
    """Report a required string member that is not a string or is empty; tell if one was."""
    if type(value) is not str:
        draft.problem("field.wrong_type", STRING_EXPECTED, pointer, name)
        return True
    if not value:
        draft.problem("field.empty", must_not_be_empty(key, required=True), pointer, name)
        return True
    return False


def _identity(draft: _Draft, obj: Mapping[str, Any], pointer: str, seen: set[str]) -> None:
    """Check a claim's KY reference (at `pointer`) and make the claimant reference from it."""
    value = obj.get("reference")
    if value is None:
        return
    draft.fields["source_reference"] = value
    if type(value) is not str or not value:
        _required_text_problem(draft, value, pointer, "source_reference", "reference")
        return
    if len(value) > REFERENCE_MAX or not _REFERENCE.fullmatch(value):
        draft.problem(
            "reference.invalid",
            f"reference must be 1-{REFERENCE_MAX} characters of A-Z, Æ, Ø, Å, a-z, æ, ø, å, "
            "0-9 and . _ : / -",
            pointer,
            "source_reference",
            value=value,
        )
        return
    if contains_cpr_like(value):
        draft.problem(
            "reference.personal_data",
            "reference must not contain a CPR number",
            pointer,
            "source_reference",
        )
        return
    if value in seen:
        draft.problem(
            "reference.duplicate",
            "another claim in this message has the same reference",
            pointer,
            "source_reference",
            value=value,
        )
    seen.add(value)
    if obj.get("claimantReference") is None:
        draft.fields["claimant_reference"] = CLAIMANT_REFERENCE_PREFIX + value


def _period(draft: _Draft, value: Any, pointer: str) -> None:
    if not isinstance(value, dict):
        draft.problem(
            "field.wrong_type", "period must be an object {from, to}", pointer, "period_start_date"
        )
        return
    _members(draft, value, pointer, PERIOD, draft.fields)


def _debtor_names(index: int) -> tuple[str, str, str]:
    prefix = f"liabilities.{index}."
    return prefix, prefix[:-1], prefix + "debtor_id"


# The names of the first debtors' fields, made once: most claims have one or two debtors.
_DEBTOR_NAMES = tuple(_debtor_names(index) for index in range(8))


def _debtor(draft: _Draft, value: Any, pointer: str, index: int) -> Any:
    prefix, item, debtor_id = _DEBTOR_NAMES[index] if index < 8 else _debtor_names(index)
    paths = draft.paths
    cpr_path = pointer + "/cpr"
    paths[item] = pointer
    paths[debtor_id] = cpr_path
    if not isinstance(value, dict):
        return value  # the canonical model reports that it is not an object
    at = len(draft.problems)  # unknown and missing members are reported before the CPR number
    liability: dict[str, Any] = {"debtor_kind": "CPR"}
    cpr = value.get("cpr")
    if cpr is not None:
        # Only the documented forms are normalised; anything else goes on as sent, for the
        # interest claims that inherit this debtor to be rejected too.
        if type(cpr) is str and cpr:
            if "-" in cpr and _CPR.fullmatch(cpr):
                cpr = cpr.replace("-", "")
        else:
            _required_text_problem(draft, cpr, cpr_path, debtor_id, "cpr")
        liability["debtor_id"] = cpr
    _members(draft, value, pointer, DEBTOR, liability, prefix, at)
    return liability


def _liabilities(draft: _Draft, obj: Mapping[str, Any]) -> None:
    pointer = draft.pointer
    citizen = obj.get("citizen")
    if citizen is None:
        return  # reported as missing, and the canonical model agrees
    liabilities = [_debtor(draft, citizen, pointer + "/citizen", 0)]
    co_debtors = obj.get("coDebtors")
    if isinstance(co_debtors, list):
        where = pointer + "/coDebtors"
        draft.paths["liabilities"] = where
        for position, co_debtor in enumerate(co_debtors):
            liabilities.append(_debtor(draft, co_debtor, f"{where}/{position}", position + 1))
    elif co_debtors is not None:
        draft.problem(
            "field.wrong_type",
            "coDebtors must be an array of debtors",
            f"{pointer}/coDebtors",
            "liabilities",
        )
    draft.fields["liabilities"] = liabilities


def _notes(draft: _Draft, value: Any, pointer: str) -> None:
    if not isinstance(value, list):
        draft.fields["notes"] = value  # the canonical model reports the wrong type
        return
    for position, note in enumerate(value):
        where = f"{pointer}/{position}"
        draft.paths[f"notes.{position}"] = where
        if note == "":
            draft.problem("field.empty", "a note must not be empty", where, f"notes.{position}")
    draft.fields["notes"] = list(value)


def _documents(draft: _Draft, value: Any, pointer: str) -> None:
    if not isinstance(value, list):
        draft.fields["documents"] = value
        return
    documents = []
    for position, item in enumerate(value):
        where, prefix = f"{pointer}/{position}", f"documents.{position}."
        draft.paths[prefix[:-1]] = where
        if not isinstance(item, dict):
            documents.append(item)
            continue
        draft.paths[prefix + "reference"] = f"{where}/reference"
        document: dict[str, Any] = {}
        _members(draft, item, where, DOCUMENT, document, prefix)
        documents.append(document)
    draft.fields["documents"] = documents


def _interest_choice(draft: _Draft, value: Any, pointer: str) -> None:
    if not isinstance(value, dict):
        draft.fields["interest"] = value
        return
    draft.paths["interest.rule"] = draft.paths["interest.rate_code"] = pointer
    choice: dict[str, Any] = {}
    _members(draft, value, pointer, INTEREST_CHOICE, choice, "interest.")
    draft.fields["interest"] = choice


def _classification(
    draft: _Draft, obj: Mapping[str, Any], where: str, table: Mapping[str, Benefit]
) -> None:
    """Give the claim the fordringstype and legal basis of its benefit (at `where`)."""
    fields = draft.fields
    code = obj.get("benefit")
    if code is None or _required_text_problem(draft, code, where, None, "benefit"):
        return
    benefit = table.get(code)
    if benefit is None:
        draft.problem(
            "benefit.unknown",
            "not a KY benefit code (see contracts/ky/benefits.json)",
            where,
            None,
            value=code,
        )
        return
    if "fordringstype" not in fields:
        if benefit.fordringstype is not None:
            fields["fordringstype"] = benefit.fordringstype
        elif obj.get("fordringstype") is None:
            pointer = f"{draft.pointer}/fordringstype"
            draft.paths["fordringstype"] = pointer
            draft.problem(
                "field.missing",
                f"fordringstype is required for the benefit {benefit.code}",
                pointer,
                "fordringstype",
            )
    if obj.get("legalBasis") is None and benefit.legal_basis is not None:
        fields["legal_basis"] = benefit.legal_basis
        draft.paths["legal_basis"] = where


def _main_claim(
    obj: dict[str, Any],
    pointer: str,
    claimant: tuple[str, str],
    table: Mapping[str, Benefit],
    seen: set[str],
) -> _Draft:
    fields: dict[str, Any] = {"source": "ky", "claimant_id": claimant[0], "category": "HF"}
    reference_path = pointer + "/reference"
    benefit_path = pointer + "/benefit"
    paths = {
        "claimant_id": claimant[1] or pointer,
        "source_reference": reference_path,
        "claimant_reference": reference_path,
        "fordringstype": benefit_path,
        "principal": pointer + "/principal",
        "amount": pointer + "/amount",
        "liabilities": pointer + "/citizen",
    }
    draft = _Draft(pointer, fields, paths, [])
    _members(draft, obj, pointer, CLAIM, fields)
    _identity(draft, obj, reference_path, seen)
    _classification(draft, obj, benefit_path, table)
    paths["category"] = paths["fordringstype"]  # a main claim of a related type: the type is wrong
    if "founding_date" not in fields and "decision_date" in fields:
        fields["founding_date"] = fields["decision_date"]
        paths["founding_date"] = paths["decision_date"]
    _liabilities(draft, obj)
    period = obj.get("period")
    if period is not None:
        _period(draft, period, pointer + "/period")
    # Where notes, documents and the interest choice would be is known even when they are not.
    where = paths["notes"] = pointer + "/notes"
    if (notes := obj.get("notes")) is not None:
        _notes(draft, notes, where)
    where = paths["documents"] = pointer + "/documents"
    if (documents := obj.get("documents")) is not None:
        _documents(draft, documents, where)
    where = paths["interest"] = pointer + "/interestChoice"
    if (choice := obj.get("interestChoice")) is not None:
        _interest_choice(draft, choice, where)
    return draft


def _inherited_names(position: int) -> tuple[str, tuple[str, ...], str]:
    prefix = f"liabilities.{position}"
    names = (prefix, *(f"{prefix}.{name}" for name in _INHERITED_DEBTOR_FIELDS))
    return prefix, names, prefix + ".limitation_date"


_INHERITED_NAMES = tuple(_inherited_names(position) for position in range(8))


def _inherit_liabilities(main: _Draft, draft: _Draft, limitation: Any) -> None:
    """Give an interest claim its main claim's debtors, with its own limitation date if sent."""
    main_paths, paths = main.paths, draft.paths
    paths["liabilities"] = main_paths["liabilities"]
    own: dict[str, Any] = {}
    if limitation is not None:
        member = {"limitationDate": limitation}
        _members(draft, member, draft.pointer, _LIMITATION, own, "liabilities.0.")
    liabilities = main.fields.get("liabilities")
    if not isinstance(liabilities, list):
        return
    where = draft.pointer + "/limitationDate"
    inherited: list[Any] = []
    for position, item in enumerate(liabilities):
        _, names, limitation_name = (
            _INHERITED_NAMES[position] if position < 8 else _inherited_names(position)
        )
        for name in names:
            if name in main_paths:
                paths[name] = main_paths[name]
        if isinstance(item, dict):
            item = {key: item[key] for key in _INHERITED_DEBTOR_FIELDS if key in item} | own
            paths[limitation_name] = where
        inherited.append(item)
    draft.fields["liabilities"] = inherited


def _interest_claim(
    obj: dict[str, Any], pointer: str, main: _Draft, catalogue: Catalogue, seen: set[str]
) -> _Draft:
    main_fields, main_paths = main.fields, main.paths
    fields: dict[str, Any] = {
        "source": "ky",
        "claimant_id": main_fields["claimant_id"],
        "category": "UF",
        "fordringstype": DEFAULT_INTEREST_TYPE,
    }
    reference_path = pointer + "/reference"
    paths = {
        "claimant_id": main_paths["claimant_id"],
        "source_reference": reference_path,
        "claimant_reference": reference_path,
        "main_claim_reference": main_paths["source_reference"],
        "fordringstype": pointer,
        "principal": pointer + "/principal",
        "amount": pointer + "/amount",
    }
    for name in ("art", "notice_date"):  # the main claim's, unless the interest claim says
        if name in main_fields:
            fields[name] = main_fields[name]
            paths[name] = main_paths[name]
    if isinstance(main_fields.get("source_reference"), str):
        fields["main_claim_reference"] = main_fields["source_reference"]
    draft = _Draft(pointer, fields, paths, [])
    _members(draft, obj, pointer, INTEREST_CLAIM, fields)
    _identity(draft, obj, reference_path, seen)
    paths["category"] = paths["fordringstype"]
    period = obj.get("period")
    if period is not None:
        _period(draft, period, pointer + "/period")
    if "founding_date" not in fields and "period_end_date" in fields:
        fields["founding_date"] = fields["period_end_date"]
        paths["founding_date"] = paths["period_end_date"]
    _inherit_liabilities(main, draft, obj.get("limitationDate"))
    main_type, own_type = main_fields.get("fordringstype"), fields["fordringstype"]
    main_kind = catalogue.get(main_type) if isinstance(main_type, str) else None
    if (
        main_kind is not None
        and isinstance(own_type, str)
        and own_type not in main_kind.related_types
    ):
        draft.problem(
            "related.type_not_allowed",
            f"a related claim of this type cannot belong to a main claim of type {main_kind.code}",
            paths["fordringstype"],
            "fordringstype",
            value=own_type,
        )
    return draft


def _not_an_object(pointer: str, what: str) -> _Draft:
    draft = _Draft(pointer, {"source": "ky"}, {}, [])
    draft.problem("claim.not_object", f"{what} must be a JSON object", pointer, None)
    return draft


def _interest_drafts(
    items: Any, main: _Draft, catalogue: Catalogue, seen: set[str]
) -> list[_Draft]:
    where = f"{main.pointer}/interestClaims"
    if not isinstance(items, list):
        main.problem("field.wrong_type", "interestClaims must be an array", where, None)
        return []
    if len(items) > MAX_INTEREST_CLAIMS:
        main.problem(
            "field.too_many",
            f"at most {MAX_INTEREST_CLAIMS} interest claims per claim",
            where,
            None,
            value=len(items),
        )
        return []
    drafts = []
    for position, item in enumerate(items):
        pointer = f"{where}/{position}"
        if isinstance(item, dict):
            drafts.append(_interest_claim(item, pointer, main, catalogue, seen))
        else:
            drafts.append(_not_an_object(pointer, "an interest claim"))
    return drafts


def to_candidates(message: KyMessage, context: MappingContext) -> list[ClaimCandidate]:
    """Map every claim of a KY message, each followed by its interest claims, in message order.

    Never raises for a bad claim: its problems are on its candidate, located in the message.
    """
    table = benefits()
    catalogue = context.catalogue
    if message.claimant_id is not None:
        claimant = (message.claimant_id, "/claimantId")
    else:
        claimant = (context.claimant_id, "")  # the deployment's own id, from no member
    seen: set[str] = set()
    drafts: list[_Draft] = []
    single = message.single
    for position, obj in enumerate(message.claims):
        pointer = "/claim" if single else f"/claims/{position}"
        if not isinstance(obj, dict):
            drafts.append(_not_an_object(pointer, "a claim"))
            continue
        main = _main_claim(obj, pointer, claimant, table, seen)
        drafts.append(main)
        if (items := obj.get("interestClaims")) is not None:
            drafts.extend(_interest_drafts(items, main, catalogue, seen))
    return [draft.candidate(index) for index, draft in enumerate(drafts)]
