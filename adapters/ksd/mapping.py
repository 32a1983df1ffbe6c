"""From a KSD batch to claim candidates: each Krav, then each of its Rente, in file order.

The tables below are the mapping published in `contracts/ksd/README.md`. Values are passed on
as sent (strings); the canonical claim's validation judges them, so a bad value becomes a
problem on its own claim with the canonical code, located at its element.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from adapters._xml import UNEXPECTED
from adapters.base import MappingContext
from adapters.ksd.message import ROOT, KsdBatch, KsdClaim
from app.domain.claim import ClaimCandidate, SourceSystem
from app.domain.problems import Problem

CITIZEN_TYPE = "KLSYGDP"
EMPLOYER_TYPE = "KLSYGAG"
INTEREST_TYPE = "REOPKOM"
REFERENCE_PREFIX = "KSD-"

_CLAIMANT_ID_PATH = f"{ROOT}/Hoved/FordringshaverId"
_SOURCE = SourceSystem.KSD.value
_DEFAULT_TYPE = {"CPR": CITIZEN_TYPE, "CVR": EMPLOYER_TYPE, "SE": EMPLOYER_TYPE}

# element of a Rente (relative to it) -> canonical field
_INTEREST_FIELDS = {
    "RenteId": "source_reference",
    "Fordringstype": "fordringstype",
    "Fordringshaverreference": "claimant_reference",
    "Periode/Fra": "period_start_date",
    "Periode/Til": "period_end_date",
    "Hovedstol": "principal",
    "Beloeb": "amount",
    "Stiftelsesdato": "founding_date",
    "Forfaldsdato": "due_date",
    "SidsteRettidigeBetalingsdato": "srb_date",
    "Beskrivelse": "description",
    "Lovgrundlag": "legal_basis",
}
# element of a Krav (relative to it) -> canonical field
_CLAIM_FIELDS = {
    **{k: v for k, v in _INTEREST_FIELDS.items() if k != "RenteId"},
    "KravId": "source_reference",
    "Fordringsart": "art",
    "Varslingsdato": "notice_date",
    "Afgoerelsesdato": "decision_date",
}
# element of a Skyldner or Medskyldner -> field of the liability
_LIABILITY_FIELDS = {
    "CPR": "debtor_id",
    "CVR": "debtor_id",
    "SE": "debtor_id",
    "Navn": "debtor_name",
    "Foraeldelsesdato": "limitation_date",
    "Domsdato": "judgment_date",
    "Forligsdato": "settlement_date",
    "Bobehandling": "in_estate",
}
# element of the Skyldner (relative to the Krav) -> field of the liability, its field path, and
# for an identifier the debtor kind it says
_DEBTOR_FIELDS = {
    "Skyldner/" + element: (
        name,
        "liabilities.0." + name,
        element if name == "debtor_id" else None,
    )
    for element, name in _LIABILITY_FIELDS.items()
}
_INTEREST_CHOICE = {
    "Renteregel": "rule",
    "Rentesatskode": "rate_code",
    "Merrentesats": "extra_rate",
}
_DOCUMENT_FIELDS = {"Reference": "reference", "Titel": "title"}
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
# What an interest claim takes over from its Krav.
_INHERITED = ("art", "notice_date")
_INHERITED_LIABILITY = ("debtor_kind", "debtor_id", "debtor_name", "in_estate")


def to_candidates(batch: KsdBatch, context: MappingContext) -> list[ClaimCandidate]:
    """Map every Krav of a batch, and each Rente after its Krav, to a claim candidate."""
    claimant_id = batch.claimant_id or context.claimant_id
    claimant_path = _CLAIMANT_ID_PATH if batch.claimant_id else None
    candidates: list[ClaimCandidate] = []
    for claim in batch.claims:
        main, interest = _map_claim(claim, len(candidates), claimant_id, claimant_path)
        candidates.append(main)
        if interest:
            candidates.extend(interest)
    return candidates


def _map_claim(
    claim: KsdClaim, index: int, claimant_id: str, claimant_path: str | None
) -> tuple[ClaimCandidate, list[ClaimCandidate] | None]:
    base = claim.path + "/"
    counts = claim.counts
    fields: dict[str, Any] = {"source": _SOURCE, "category": "HF", "claimant_id": claimant_id}
    paths: dict[str, str] = {"claimant_id": claimant_path} if claimant_path else {}
    debtor: dict[str, Any] = {}
    liabilities = [debtor]
    if counts:
        liabilities.extend({} for _ in range(counts.get("Medskyldner", 0)))
    rente: list[dict[str, str]] = []
    # The hot loop of the mapping: a 1,000-claim batch passes through it 13,000 times.
    claim_fields, debtor_fields = _CLAIM_FIELDS, _DEBTOR_FIELDS
    for key, value in claim.values.items():
        name = claim_fields.get(key)
        if name is not None:
            fields[name] = value
            paths[name] = base + key
            continue
        located = debtor_fields.get(key)
        if located is not None:
            name, field_path, kind = located
            debtor[name] = _BOOLEANS.get(value, value) if name == "in_estate" else value
            where = paths[field_path] = base + key
            if kind is not None:
                debtor["debtor_kind"] = kind
                paths["liabilities.0.debtor_kind"] = where
            continue
        _map_repeated(key, value, base, fields, paths, liabilities, rente)
    if debtor:
        paths["liabilities.0"] = base + "Skyldner"
    fields["liabilities"] = liabilities
    if "fordringstype" not in fields:
        kind = debtor.get("debtor_kind")
        if kind in _DEFAULT_TYPE:
            fields["fordringstype"] = _DEFAULT_TYPE[kind]
    reference = fields.get("source_reference")
    if reference and "claimant_reference" not in fields:
        fields["claimant_reference"] = REFERENCE_PREFIX + reference
        paths["claimant_reference"] = paths["source_reference"]
    problems = claim.problems
    main = ClaimCandidate(
        index,
        claim.path,
        reference or None,
        fields,
        paths,
        _with_fields(problems, paths) if problems else (),
    )
    if not rente:
        return main, None
    interest = [
        _interest(claim, main, number, values, index + 1 + number)
        for number, values in enumerate(rente)
    ]
    return main, interest


def _map_repeated(
    key: str,
    value: str,
    base: str,
    fields: dict[str, Any],
    paths: dict[str, str],
    liabilities: list[dict[str, Any]],
    rente: list[dict[str, str]],
) -> None:
    """Map the values of co-debtors, notes, documents, interest choice and interest claims."""
    head, _, rest = key.partition("/")
    if head.startswith("Medskyldner["):
        number = _position(head)
        name = _LIABILITY_FIELDS.get(rest)
        if name is None:
            return
        liabilities[number][name] = _BOOLEANS.get(value, value) if name == "in_estate" else value
        paths[f"liabilities.{number}.{name}"] = base + key
        if name == "debtor_id":
            liabilities[number]["debtor_kind"] = rest
            paths[f"liabilities.{number}.debtor_kind"] = base + key
        paths.setdefault(f"liabilities.{number}", base + head)
    elif head == "Renter":
        position, _, element = rest.partition("/")
        number = _position(position) - 1
        if number < 0:  # not in a Rente: the schema check has said so
            return
        while len(rente) <= number:
            rente.append({})
        rente[number][element] = value
    elif head == "Noter":
        notes = fields.setdefault("notes", [])
        paths[f"notes.{len(notes)}"] = base + key
        notes.append(value)
    elif head == "Dokumenter":
        position, _, element = rest.partition("/")
        number = _position(position) - 1
        if number < 0:  # not in a Dokument: the schema check has said so
            return
        name = _DOCUMENT_FIELDS.get(element)
        documents = fields.setdefault("documents", [])
        while len(documents) <= number:
            documents.append({})
        paths.setdefault(f"documents.{number}", f"{base}{head}/{position}")
        if name is not None:
            documents[number][name] = value
            paths[f"documents.{number}.{name}"] = base + key
    elif head == "Rentevalg" and rest in _INTEREST_CHOICE:
        choice = fields.setdefault("interest", {})
        choice[_INTEREST_CHOICE[rest]] = value
        paths[f"interest.{_INTEREST_CHOICE[rest]}"] = base + key


def _interest(
    claim: KsdClaim, main: ClaimCandidate, number: int, values: Mapping[str, str], index: int
) -> ClaimCandidate:
    path = f"{claim.path}/Renter/Rente[{number + 1}]"
    base = path + "/"
    fields: dict[str, Any] = {
        "source": _SOURCE,
        "category": "UF",
        "claimant_id": main.fields["claimant_id"],
        "fordringstype": INTEREST_TYPE,
    }
    paths: dict[str, str] = {}
    if "claimant_id" in main.field_paths:
        paths["claimant_id"] = main.field_paths["claimant_id"]
    for key, value in values.items():
        name = _INTEREST_FIELDS.get(key)
        if name is not None:
            fields[name] = value
            paths[name] = base + key
    if main.source_reference is not None:
        fields["main_claim_reference"] = main.source_reference
        paths["main_claim_reference"] = main.field_paths["source_reference"]
    for name in _INHERITED:
        if name in main.fields:
            fields[name] = main.fields[name]
            paths[name] = main.field_paths[name]
    liabilities = []
    for position, liability in enumerate(main.fields["liabilities"]):
        liabilities.append(
            {key: liability[key] for key in _INHERITED_LIABILITY if key in liability}
        )
        for key in _INHERITED_LIABILITY:
            located = main.field_paths.get(f"liabilities.{position}.{key}")
            if located is not None:
                paths[f"liabilities.{position}.{key}"] = located
    fields["liabilities"] = liabilities
    _default_reference(fields, paths)
    return ClaimCandidate(
        index=index,
        source_path=path,
        source_reference=fields.get("source_reference") or None,
        fields=fields,
        field_paths=paths,
        problems=_with_fields(claim.interest_problems.get(number, ()), paths),
    )


def _default_reference(fields: dict[str, Any], paths: dict[str, str]) -> None:
    own = fields.get("source_reference")
    if own and "claimant_reference" not in fields:
        fields["claimant_reference"] = REFERENCE_PREFIX + own
        paths["claimant_reference"] = paths["source_reference"]


def _position(step: str) -> int:
    """Return a step's position (`Medskyldner[2]` -> 2), or 0 for a step without one.

    An element of another list's name directly inside Dokumenter or Renter (`Beloeb`, not
    `Dokument[1]`) has none: the schema check reports it, and the mapping skips it.
    """
    opening = step.find("[")
    if opening < 0 or not step.endswith("]"):
        return 0
    return int(step[opening + 1 : -1])


def _with_fields(problems: tuple[Problem, ...], paths: Mapping[str, str]) -> tuple[Problem, ...]:
    if not problems:
        return problems
    by_path: dict[str, str] = {}
    for name, path in paths.items():
        # The first field taken from an element names it (source_reference before the
        # claimant_reference made from it).
        by_path.setdefault(path, name)
    # An element out of place is a fault of the structure, not of the field it would fill.
    return tuple(
        problem
        if problem.field is not None
        or problem.source_path not in by_path
        or UNEXPECTED in problem.message
        else replace(problem, field=by_path[problem.source_path])
        for problem in problems
    )
