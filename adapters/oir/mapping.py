"""ØiR debitor registration → claim candidates: one per Fordring and one per Delfordring.

A Fordring is a main claim (HF), unless it names a HovedFordringID from an earlier message;
each Delfordring is a related claim (UF) of its Fordring. Missing Haeftelse elements mean the
account's debitor alone is liable (for a Delfordring: the same debtors as its Fordring, without
the Fordring's limitation, judgment and settlement dates); a
Haeftelse list, when given, names every debtor liable, the account's debitor among them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from adapters._xml import UNEXPECTED
from adapters.base import MappingContext
from adapters.oir.message import (
    ROOT_NAME,
    DebtorRegistration,
    WireAccount,
    WireClaim,
    WireNode,
)
from app.domain.claim import ClaimCandidate, ClaimCategory, SourceSystem
from app.domain.problems import Problem

CLAIMANT_REFERENCE_PREFIX = "OIR-"

# Element name in a Fordring → canonical field, for the values taken as they are.
_CLAIM_FIELDS = {
    "Fordringstype": "fordringstype",
    "FordringArt": "art",
    "Valuta": "currency",
    "Hovedstol": "principal",
    "Beloeb": "amount",
    "Periode/FraDato": "period_start_date",
    "Periode/TilDato": "period_end_date",
    "Stiftelsesdato": "founding_date",
    "Forfaldsdato": "due_date",
    "SRBDato": "srb_date",
    "VarslingsDato": "notice_date",
    "AfgoerelsesDato": "decision_date",
    "Beskrivelse": "description",
}
# The same, with the step each element's path ends in (`/Periode/FraDato`).
_CLAIM_STEPS = {name: (field, f"/{name}") for name, field in _CLAIM_FIELDS.items()}
# Values a Delfordring takes from its Fordring when it has none of its own.
_INHERITED = (("FordringArt", "art"), ("VarslingsDato", "notice_date"))
_IDENTITIES = (("CPRNummer", "CPR"), ("CVRNummer", "CVR"), ("SENummer", "SE"), ("AKRNummer", "AKR"))
_IDENTITY_ELEMENTS = {kind: name for name, kind in _IDENTITIES}
_LIABILITY_FIELDS = (
    ("Navn", "debtor_name"),
    ("ForaeldelsesDato", "limitation_date"),
    ("DomsDato", "judgment_date"),
    ("ForligsDato", "settlement_date"),
)
_INTEREST = (
    ("Rentevalg/Renteregel", "rule"),
    ("Rentevalg/RenteSatsKode", "rate_code"),
    ("Rentevalg/MerRenteSats", "extra_rate"),
)
_INTEREST_KEYS = frozenset(name for name, _ in _INTEREST)
# Where a schema problem's element has no value to map (empty, or not read), its canonical
# field comes from its place: the element's path below its Fordring or Delfordring...
_ELEMENT_FIELDS = {
    "FordringID": "source_reference",
    "FordringshaverRef": "claimant_reference",
    "HovedFordringID": "main_claim_reference",
    **_CLAIM_FIELDS,
    "Rentevalg": "interest",
    **{name: f"interest.{field}" for name, field in _INTEREST},
}
# ... below one of its repeated elements (`Haeftelse[2]/CPRNummer`: `liabilities.1.debtor_id`)
_ITEM_FIELDS = {
    "Haeftelse": (
        "liabilities",
        {
            **{name: "debtor_id" for name, _ in _IDENTITIES},
            **dict(_LIABILITY_FIELDS),
            "Bobehandling": "in_estate",
        },
    ),
    "Dokument": ("documents", {"DokumentID": "reference", "Titel": "title"}),
}
# ... or below its DebitorKonto, for a claim whose sole liable is the account's debitor.
_ACCOUNT_FIELDS = {
    **{name: "liabilities.0.debtor_id" for name, _ in _IDENTITIES},
    "Navn": "liabilities.0.debtor_name",
}
_SOURCE = SourceSystem.OIR.value
_MAIN = ClaimCategory.HF.value
_RELATED = ClaimCategory.UF.value
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}

Liabilities = tuple[list[dict[str, Any]], dict[str, str]]


def to_candidates(message: DebtorRegistration, context: MappingContext) -> list[ClaimCandidate]:
    """Map every Fordring and Delfordring of a message, in document order."""
    header_claimant = message.claimant_id
    claimant_id = header_claimant or context.claimant_id
    claimant_path = f"/{ROOT_NAME}/MeddelelseHoved/FordringshaverID" if header_claimant else None
    candidates: list[ClaimCandidate] = []
    for account in message.accounts:
        account_liabilities = _account_liability(account)
        account_problems = account.problems
        debtor = _account_debtor(account)
        for claim in account.claims:
            if claim.liabilities:
                own = _liabilities(claim)
                liability_problems = claim.liability_problems + _debtor_left_out(debtor, claim)
                from_account = None
            else:
                own, liability_problems = account_liabilities, claim.liability_problems
                from_account = account.path
            problems = claim.problems + liability_problems + account_problems
            candidates.append(
                _candidate(
                    len(candidates),
                    claim,
                    claimant_id,
                    claimant_path,
                    own,
                    problems,
                    None,
                    from_account,
                )
            )
            for sub in claim.sub_claims:
                if sub.liabilities:
                    sub_liabilities = _liabilities(sub)
                    inherited = sub.liability_problems + _debtor_left_out(debtor, sub)
                    sub_from_account = None
                else:
                    # The Fordring's debtors, and so whatever is wrong with its list.
                    sub_liabilities, inherited = _debtors_of(own), liability_problems
                    sub_from_account = from_account
                problems = sub.problems + inherited + account_problems
                candidates.append(
                    _candidate(
                        len(candidates),
                        sub,
                        claimant_id,
                        claimant_path,
                        sub_liabilities,
                        problems,
                        claim,
                        sub_from_account,
                    )
                )
    return candidates


def _candidate(
    index: int,
    claim: WireClaim,
    claimant_id: str,
    claimant_path: str | None,
    liabilities: Liabilities,
    problems: tuple[Problem, ...],
    parent: WireClaim | None,
    from_account: str | None,
) -> ClaimCandidate:
    """Map one Fordring (`parent` None) or one Delfordring of `parent`.

    `from_account` is the path of the DebitorKonto whose debitor is the claim's sole liable,
    when it has no Haeftelse (nor, for a Delfordring, its Fordring).
    """
    values, base = claim.values, claim.path
    fields: dict[str, Any] = {"source": _SOURCE, "claimant_id": claimant_id}
    paths: dict[str, str] = {"claimant_id": claimant_path} if claimant_path else {}
    reference = values.get("FordringID")
    if reference is not None:
        fields["source_reference"] = reference
        reference_path = paths["source_reference"] = base + "/FordringID"
    explicit = values.get("FordringshaverRef")
    if explicit is not None:
        fields["claimant_reference"] = explicit
        paths["claimant_reference"] = base + "/FordringshaverRef"
    elif reference is not None:
        fields["claimant_reference"] = CLAIMANT_REFERENCE_PREFIX + reference
        paths["claimant_reference"] = reference_path
    # The hot loop of the mapping: a 1,000-claim message passes through it 10,000 times.
    steps = _CLAIM_STEPS
    for name, value in values.items():
        step = steps.get(name)
        if step is not None:
            field = step[0]
            fields[field] = value
            paths[field] = base + step[1]
    if parent is None:
        main = values.get("HovedFordringID")
        if main is not None:
            fields["category"] = _RELATED
            fields["main_claim_reference"] = main
            paths["main_claim_reference"] = base + "/HovedFordringID"
        else:
            fields["category"] = _MAIN
    else:
        _inherit(fields, paths, parent)
    # Each candidate gets its own copies: an account's debtor is shared by all its claims.
    fields["liabilities"] = list(map(dict, liabilities[0]))
    paths.update(liabilities[1])
    if claim.notes:
        fields["notes"] = [note.text for note in claim.notes]
        paths.update((f"notes.{i}", note.path) for i, note in enumerate(claim.notes))
    if claim.documents:
        fields["documents"] = [_document(item, i, paths) for i, item in enumerate(claim.documents)]
    if not values.keys().isdisjoint(_INTEREST_KEYS):
        fields["interest"] = _interest(values, base, paths)
    if problems:
        places = (base, parent.path) if parent is not None else (base,)
        problems = _with_fields(problems, paths, places, from_account)
    return ClaimCandidate(index, base, reference, fields, paths, problems)


def _inherit(fields: dict[str, Any], paths: dict[str, str], parent: WireClaim) -> None:
    """Make a Delfordring a related claim of its Fordring, taking what it does not say."""
    fields["category"] = _RELATED
    main = parent.values.get("FordringID")
    if main is not None:
        fields["main_claim_reference"] = main
        paths["main_claim_reference"] = f"{parent.path}/FordringID"
    for name, field in _INHERITED:
        value = parent.values.get(name)
        if field not in fields and value is not None:
            fields[field] = value
            paths[field] = f"{parent.path}/{name}"


def _identity(values: Mapping[str, str]) -> tuple[str, str] | None:
    """Return a debtor's kind and number as an account or a Haeftelse names it, if it does."""
    for name, kind in _IDENTITIES:
        number = values.get(name)
        if number is not None:
            return kind, number
    return None


def _account_debtor(account: WireAccount) -> tuple[str, str] | None:
    """Return the account's debitor, unless it is missing or the schema found it wrong.

    A wrong one is the account's own problem, which every claim of the account carries; a
    Haeftelse list is not held against it as well.
    """
    debtor = _identity(account.values)
    if debtor is not None:
        path = f"{account.path}/{_IDENTITY_ELEMENTS[debtor[0]]}"
        if any(problem.source_path == path for problem in account.problems):
            return None
    return debtor


def _debtor_left_out(debtor: tuple[str, str] | None, claim: WireClaim) -> tuple[Problem, ...]:
    """Report a claim's Haeftelse list that leaves out its account's debitor.

    The contract asks for every debtor liable, the account's debitor included: a list without
    it would silently free the account's debitor of the claim.
    """
    if debtor is None or any(_identity(node.values) == debtor for node in claim.liabilities):
        return ()
    return (
        Problem(
            code="liability.account_debtor_missing",
            message=(
                "the claim's Haeftelse elements leave out the debitor of its DebitorKonto: "
                "list every debtor liable for the claim, the account's debitor included"
            ),
            field="liabilities",
            source_path=f"{claim.path}/Haeftelse",
        ),
    )


def _party(
    values: Mapping[str, str], base: str, prefix: str, paths: dict[str, str]
) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for name, kind in _IDENTITIES:
        number = values.get(name)
        if number is not None:
            item["debtor_kind"] = kind
            item["debtor_id"] = number
            paths[f"{prefix}.debtor_id"] = paths[f"{prefix}.debtor_kind"] = f"{base}/{name}"
            break
    return item


def _account_liability(account: WireAccount) -> Liabilities:
    paths: dict[str, str] = {}
    item = _party(account.values, account.path, "liabilities.0", paths)
    name = account.values.get("Navn")
    if name is not None:
        item["debtor_name"] = name
        paths["liabilities.0.debtor_name"] = f"{account.path}/Navn"
    return [item], paths


# What a Delfordring without Haeftelse does not take from its Fordring's: the dates that found
# or end the Fordring's liability. Its own limitation date is derived from its own dates, as a
# KY or KSD interest claim's is.
_OWN_DATES = frozenset({"limitation_date", "judgment_date", "settlement_date"})


def _debtors_of(liabilities: Liabilities) -> Liabilities:
    """Return a Fordring's liabilities as its Delfordringer take them: the debtors, not dates."""
    items, paths = liabilities
    debtors = [{k: v for k, v in item.items() if k not in _OWN_DATES} for item in items]
    kept = {key: path for key, path in paths.items() if key.rpartition(".")[2] not in _OWN_DATES}
    return debtors, kept


def _liabilities(claim: WireClaim) -> Liabilities:
    items: list[dict[str, Any]] = []
    paths: dict[str, str] = {}
    for i, node in enumerate(claim.liabilities):
        prefix = f"liabilities.{i}"
        paths[prefix] = node.path
        item = _party(node.values, node.path, prefix, paths)
        for name, field in _LIABILITY_FIELDS:
            value = node.values.get(name)
            if value is not None:
                item[field] = value
                paths[f"{prefix}.{field}"] = f"{node.path}/{name}"
        estate = node.values.get("Bobehandling")
        if estate is not None:
            item["in_estate"] = _BOOLEANS.get(estate, estate)
            paths[f"{prefix}.in_estate"] = f"{node.path}/Bobehandling"
        items.append(item)
    return items, paths


def _document(node: WireNode, index: int, paths: dict[str, str]) -> dict[str, Any]:
    item: dict[str, Any] = {}
    paths[f"documents.{index}"] = node.path
    for name, field in (("DokumentID", "reference"), ("Titel", "title")):
        value = node.values.get(name)
        if value is not None:
            item[field] = value
            paths[f"documents.{index}.{field}"] = f"{node.path}/{name}"
    return item


def _interest(values: Mapping[str, str], base: str, paths: dict[str, str]) -> dict[str, Any]:
    item: dict[str, Any] = {}
    paths["interest"] = f"{base}/Rentevalg"
    for name, field in _INTEREST:
        value = values.get(name)
        if value is not None:
            item[field] = value
            paths[f"interest.{field}"] = f"{base}/{name}"
    return item


def _with_fields(
    problems: tuple[Problem, ...],
    paths: Mapping[str, str],
    places: tuple[str, ...],
    from_account: str | None,
) -> tuple[Problem, ...]:
    """Name the canonical field of each schema problem whose element maps to one.

    The field an element's value was mapped to, or, where it had none to map (an empty
    element), the field its place maps to below the claim (`places`: the claim's path, then
    its Fordring's, whose Haeftelse a Delfordring may inherit) or below the account
    (`from_account`). An element the schema does not expect there (unknown, of another
    namespace, or out of its place) names none.
    """
    fields_at: dict[str, str] = {}
    for field, path in paths.items():
        fields_at.setdefault(path, field)
    named = []
    for problem in problems:
        place = problem.source_path
        if problem.field is None and place and UNEXPECTED not in problem.message:
            found = fields_at.get(place) or _field_at(place, places, from_account)
            if found is not None:
                problem = replace(problem, field=found)
        named.append(problem)
    return tuple(named)


def _field_at(path: str, places: tuple[str, ...], from_account: str | None) -> str | None:
    """Return the canonical field an element's place maps to, if any."""
    for place in places:
        if path.startswith(place + "/"):
            return _claim_element_field(path[len(place) + 1 :])
    if from_account is not None and path.startswith(from_account + "/"):
        return _ACCOUNT_FIELDS.get(path[len(from_account) + 1 :])
    return None


def _claim_element_field(step: str) -> str | None:
    """Map an element's path below its claim (`Periode/FraDato`, `Haeftelse[2]/Navn`)."""
    field = _ELEMENT_FIELDS.get(step)
    if field is not None:
        return field
    head, _, leaf = step.partition("/")
    name, _, position = head.partition("[")
    if not position.endswith("]") or not position[:-1].isdigit():
        return None
    if name == "Fordringsnote":
        # An empty note is not among the claim's notes, so it has no index there.
        return None if leaf else "notes"
    item = _ITEM_FIELDS.get(name)
    if item is None:
        return None
    prefix = f"{item[0]}.{int(position[:-1]) - 1}"
    if not leaf:
        return prefix
    field = item[1].get(leaf)
    return None if field is None else f"{prefix}.{field}"
