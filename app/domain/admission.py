"""Admission of a claim at intake: complete it from the catalogue, validate it, check its type.

`admit` is the one function intake calls per claim: it fills in what kravbro derives (business
area, limitation dates the fagsystem left out), validates the canonical claim, and checks it
against the catalogue (known type, allowed art and category, related type allowed).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from app.domain.catalogue import Catalogue, FordringType, derive_limitation_date
from app.domain.claim import (
    TYPE_CODE,
    CanonicalClaim,
    ClaimCandidate,
    ClaimCategory,
    FordringArt,
    locate,
    plain_claim,
    validate,
)
from app.domain.problems import Problem

_DATE_FIELDS = (
    "due_date",
    "period_end_date",
    "period_start_date",
    "founding_date",
    "srb_date",
    "decision_date",
)


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def complete(candidate: ClaimCandidate, catalogue: Catalogue) -> ClaimCandidate:
    """Fill in the business area and missing limitation dates from the catalogue."""
    fields = dict(candidate.fields)
    code = fields.get("fordringstype")
    kind = catalogue.get(code) if isinstance(code, str) else None
    problems = list(candidate.problems)
    if kind is None:
        # A code of the wrong shape is reported by the model (field.bad_format), not here.
        if isinstance(code, str) and TYPE_CODE.fullmatch(code):
            problems.append(
                Problem(
                    code="fordringstype.unknown",
                    field="fordringstype",
                    source_path=locate(candidate, "fordringstype"),
                    message=f"fordringstype {code} is not in the catalogue",
                    value=code,
                )
            )
        # A placeholder area: the unknown type is the problem reported, not a missing area.
        fields.setdefault("business_area", "unknown")
        return replace(candidate, fields=fields, problems=tuple(problems))
    fields["business_area"] = kind.area
    dates = {name: _date(fields.get(name)) for name in _DATE_FIELDS}
    liabilities = fields.get("liabilities")
    if isinstance(liabilities, list):
        completed = []
        for index, item in enumerate(liabilities):
            if isinstance(item, dict) and not item.get("limitation_date"):
                derived = derive_limitation_date(
                    kind,
                    dates=dates,
                    judgment_date=_date(item.get("judgment_date")),
                    settlement_date=_date(item.get("settlement_date")),
                )
                if derived is not None:
                    item = {**item, "limitation_date": derived.isoformat()}
                elif fields.get(kind.regime.from_field) in (None, ""):
                    # A date sent but unreadable is reported as itself; a date not sent at all
                    # is what the sender must add.
                    problems.append(_not_derivable(candidate, kind, index))
            completed.append(item)
        fields["liabilities"] = completed
    return replace(candidate, fields=fields, problems=tuple(problems))


def _not_derivable(candidate: ClaimCandidate, kind: FordringType, index: int) -> Problem:
    field = f"liabilities.{index}.limitation_date"
    start = kind.regime.from_field
    return Problem(
        code="limitation_date.not_derivable",
        field=field,
        source_path=locate(candidate, field),
        message=(
            f"no limitation date (forældelsesdato): send it, or the {start} that type "
            f"{kind.code} derives it from ({kind.regime.years} years after it), or a judgment "
            "or settlement date"
        ),
    )


def catalogue_problems(claim: CanonicalClaim, catalogue: Catalogue) -> list[Problem]:
    """Check a valid claim against its type in the catalogue."""
    kind = catalogue.get(claim.fordringstype)
    if kind is None:
        return [
            Problem(
                code="fordringstype.unknown",
                field="fordringstype",
                message=f"fordringstype {claim.fordringstype} is not in the catalogue",
                value=claim.fordringstype,
            )
        ]
    return _type_problems(kind, claim.art, claim.category)


def _raw_catalogue_problems(fields: dict[str, Any], catalogue: Catalogue) -> list[Problem]:
    """The same checks on an invalid claim's fields, where type, art and category are readable.

    A claim is rejected with every problem found in it, not only those of its first kind.
    """
    code = fields.get("fordringstype")
    kind = catalogue.get(code) if isinstance(code, str) else None
    if kind is None:  # an unknown or unreadable type is reported already
        return []
    try:
        art = FordringArt(fields.get("art") or FordringArt.INDR)
        category = ClaimCategory(fields.get("category") or ClaimCategory.HF)
    except ValueError:  # reported by the model
        return []
    return _type_problems(kind, art, category)


def _type_problems(kind: FordringType, art: FordringArt, category: ClaimCategory) -> list[Problem]:
    problems = []
    if art not in kind.arts:
        allowed = ", ".join(art.value for art in kind.arts)
        problems.append(
            Problem(
                code="art.not_allowed",
                field="art",
                rule="R_1_1",
                message=f"fordringstype {kind.code} takes art {allowed}, not {art.value}",
                value=art.value,
            )
        )
    if category is not kind.category:
        problems.append(
            Problem(
                code="category.mismatch",
                field="category",
                rule="R_1_2" if kind.category is ClaimCategory.HF else None,
                message=(
                    f"fordringstype {kind.code} is a "
                    f"{'main' if kind.category is ClaimCategory.HF else 'related'} claim type "
                    f"({kind.category.value}), but the claim is {category.value}"
                ),
                value=category.value,
            )
        )
    return problems


def related_type_problem(
    related: CanonicalClaim, main_type: str, catalogue: Catalogue
) -> Problem | None:
    """Tell whether a related claim's type may hang under a main claim of `main_type`."""
    main = catalogue.get(main_type)
    if main is None or related.fordringstype in main.related_types:
        return None
    return Problem(
        code="related.type_not_allowed",
        field="fordringstype",
        message=(
            f"a related claim of type {related.fordringstype} cannot belong to a main claim "
            f"of type {main_type}"
        ),
        value=related.fordringstype,
    )


def admit(
    candidate: ClaimCandidate, catalogue: Catalogue
) -> tuple[CanonicalClaim | None, list[Problem]]:
    """Complete, validate and check one claim: the claim, or every problem found."""
    claim = _admit_plain(candidate, catalogue)
    if claim is not None:
        return claim, []
    return admit_by_model(candidate, catalogue)


def _admit_plain(candidate: ClaimCandidate, catalogue: Catalogue) -> CanonicalClaim | None:
    """`complete`, `validate` and the catalogue checks in one pass, for a plainly valid claim.

    None when the claim is not plainly valid: `admit_by_model` then finds every problem.
    """
    if candidate.problems:
        return None
    fields = candidate.fields
    code = fields.get("fordringstype")
    kind = catalogue.get(code) if type(code) is str else None
    liabilities = fields.get("liabilities")
    if kind is None or type(liabilities) is not list:
        return None
    start = kind.regime.from_field
    completed = []
    for item in liabilities:
        if type(item) is not dict:
            return None
        if not item.get("limitation_date"):
            derived = derive_limitation_date(
                kind,
                dates={start: _date(fields.get(start))},
                judgment_date=_date(item.get("judgment_date")),
                settlement_date=_date(item.get("settlement_date")),
            )
            if derived is None:
                return None
            # The date itself, not its text as `complete` puts it: the same date, parsed once.
            item = {**item, "limitation_date": derived}
        completed.append(item)
    claim = plain_claim({**fields, "business_area": kind.area, "liabilities": completed})
    if claim is None or claim.art not in kind.arts or claim.category is not kind.category:
        return None
    return claim


def admit_by_model(
    candidate: ClaimCandidate, catalogue: Catalogue
) -> tuple[CanonicalClaim | None, list[Problem]]:
    """`admit` by way of the pydantic model only: the reference the plain path must match."""
    completed = complete(candidate, catalogue)
    claim, problems = validate(completed)
    if claim is None:
        seen = {(p.code, p.field) for p in problems}
        more = [
            p.at(_place(completed, p.field))
            for p in _raw_catalogue_problems(completed.fields, catalogue)
            if (p.code, p.field) not in seen
        ]
        return None, problems + more
    found = [p.at(_place(completed, p.field)) for p in catalogue_problems(claim, catalogue)]
    return (None, found) if found else (claim, [])


def _place(candidate: ClaimCandidate, field: str | None) -> str:
    """Where a catalogue problem with `field` lies in the sender's message.

    A category the sender did not write (an XML claim's comes from where it stands: a
    Delfordring, a HovedFordringID) is placed at the type it disagrees with, where one was
    written; otherwise, as every problem, at its field's own place.
    """
    if field == "category" and field not in candidate.field_paths:
        field = "fordringstype"
    return locate(candidate, field)
