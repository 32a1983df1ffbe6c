"""The KSD batch file as sent: its header and each Krav's values by element path.

`parse` reads the bytes through the hardened XML parser, checks the envelope (root, header,
control count), validates the whole file against `contracts/ksd/batch.xsd` and hands each
schema violation to the claim it lies in, so one bad Krav never sinks the batch.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from lxml import etree

from adapters._xml import (
    UNEXPECTED,
    ErrorLocator,
    by_position,
    clean_message,
    element_names,
    parse_document,
    schema,
)
from adapters.base import MessageContractError, not_personal
from app.domain.problems import Problem

NAMESPACE = "urn:kombit:ksd:debitor:krav:1"
SCHEMA = "ksd/batch.xsd"
MAX_CLAIMS = 10_000
# The encodings of the contract (Python codec names); US-ASCII is a subset of both.
ENCODINGS = frozenset({"utf-8", "iso8859-1", "ascii"})
ROOT = "/Batch"
_SHOWN_COUNT_MAX = 999_999

_NS = "{" + NAMESPACE + "}"
_BATCH = _NS + "Batch"
_HOVED = _NS + "Hoved"
_KRAV = _NS + "Krav"
_RENTER = _NS + "Renter"
_RENTE = _NS + "Rente"
_REPEAT, _CONTAINER, _COLLAPSE = 1, 2, 4
_KINDS = {
    "Skyldner": _CONTAINER,
    "Medskyldner": _CONTAINER | _REPEAT,
    "Periode": _CONTAINER,
    "Noter": _CONTAINER,
    "Note": _REPEAT,  # free text: line breaks kept, only the ends trimmed
    "Dokumenter": _CONTAINER,
    "Dokument": _CONTAINER | _REPEAT,
    "Rentevalg": _CONTAINER,
    "Renter": _CONTAINER,
    "Rente": _CONTAINER | _REPEAT,
    # text collapsed like xs:token; every other value is only trimmed
    "Navn": _COLLAPSE,
    "Beskrivelse": _COLLAPSE,
    "Lovgrundlag": _COLLAPSE,
    "Reference": _COLLAPSE,
    "Titel": _COLLAPSE,
}
_LEAVES = [
    "BatchId",
    "Dannet",
    "Kommunekode",
    "FordringshaverId",
    "AntalKrav",
    "KravId",
    "RenteId",
    "Fordringstype",
    "Fordringsart",
    "Fordringshaverreference",
    "CPR",
    "CVR",
    "SE",
    "Foraeldelsesdato",
    "Domsdato",
    "Forligsdato",
    "Bobehandling",
    "Fra",
    "Til",
    "Hovedstol",
    "Beloeb",
    "Stiftelsesdato",
    "Forfaldsdato",
    "SidsteRettidigeBetalingsdato",
    "Varslingsdato",
    "Afgoerelsesdato",
    "Renteregel",
    "Rentesatskode",
    "Merrentesats",
]
# Elements that may repeat: their paths always carry the 1-based position.
_REPEATABLE = frozenset({"Krav", *(name for name, kind in _KINDS.items() if kind & _REPEAT)})
# Clark tag -> (local name, kind): one lookup per element while reading a claim.
_ELEMENTS = {
    _NS + name: (name, kind) for name, kind in (*_KINDS.items(), *((n, 0) for n in _LEAVES))
}
# The same with the value key under the prefixes without a position (`Periode/Fra`), made once.
_KEYS = {
    prefix: {tag: (prefix + name, kind) for tag, (name, kind) in _ELEMENTS.items()}
    for prefix in ("", *(f"{name}/" for name, kind in _KINDS.items() if kind == _CONTAINER))
}


@dataclass(frozen=True, slots=True)
class KsdClaim:
    """One Krav as sent: its values keyed by element path relative to the Krav.

    `values` holds leaf elements (`Hovedstol`, `Periode/Fra`, `Medskyldner[2]/CVR`,
    `Renter/Rente[1]/Beloeb`); `counts` how many of each repeatable element there are
    (`Medskyldner`, `Renter/Rente`, `Noter/Note`, `Dokumenter/Dokument`).
    """

    path: str
    values: Mapping[str, str]
    counts: Mapping[str, int]
    problems: tuple[Problem, ...] = ()
    interest_problems: Mapping[int, tuple[Problem, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class KsdBatch:
    """A parsed KSD batch file: the header and its claims in file order."""

    message_id: str
    created_at: dt.datetime
    municipality_code: str
    claimant_id: str | None
    claims: tuple[KsdClaim, ...]


def parse(raw: bytes) -> KsdBatch:
    """Parse and validate a KSD batch file.

    Raises:
        MessageParseError: not well-formed XML, an unreadable encoding, or a DOCTYPE.
        MessageContractError: the envelope breaks the contract: wrong root or namespace,
            a header that does not match the schema, no claims, too many claims, or a
            control count (AntalKrav) that differs from the number of Krav elements.
    """
    root = parse_document(raw, encodings=ENCODINGS)
    if root.tag != _BATCH:
        found = etree.QName(root)
        raise MessageContractError(
            "the message is not a KSD batch",
            [
                Problem(
                    code="batch.wrong_root",
                    message=(
                        f"the root element must be Batch in namespace {NAMESPACE}, "
                        f"not {found.localname} in namespace {found.namespace or '(none)'}"
                    ),
                    source_path="/" + found.localname[:100],
                )
            ],
        )
    krav = [child for child in root if child.tag == _KRAV]
    if not krav:
        raise MessageContractError(
            "the batch holds no claims",
            [
                Problem(
                    code="batch.no_claims",
                    message="a batch holds at least one Krav",
                    source_path=ROOT,
                )
            ],
        )
    if len(krav) > MAX_CLAIMS:
        raise MessageContractError(
            "the batch holds too many claims",
            [
                Problem(
                    code="batch.too_many_claims",
                    message=f"a batch holds at most {MAX_CLAIMS} Krav, this one {len(krav)}",
                    source_path=ROOT,
                )
            ],
        )
    envelope, by_claim = _schema_problems(root, krav)
    header = root.find(_HOVED)
    values: dict[str, str] = {}
    if header is not None:
        _flatten(header, "", values, {})
    envelope.extend(_header_problems(values, len(krav)))
    created_at = _datetime(values.get("Dannet", ""))
    if envelope or created_at is None:
        raise MessageContractError("the batch breaks the KSD contract", envelope)
    claims = []
    for index, element in enumerate(krav):
        claim_values: dict[str, str] = {}
        counts: dict[str, int] = {}
        _flatten(element, "", claim_values, counts)
        located = by_claim.get(index)
        if located is None:
            claims.append(KsdClaim(f"{ROOT}/Krav[{index + 1}]", claim_values, counts))
            continue
        claims.append(
            KsdClaim(
                path=f"{ROOT}/Krav[{index + 1}]",
                values=claim_values,
                counts=counts,
                problems=tuple(located.get(None, ())),
                interest_problems={
                    key: tuple(items) for key, items in located.items() if key is not None
                },
            )
        )
    return KsdBatch(
        message_id=values["BatchId"],
        created_at=created_at,
        municipality_code=values["Kommunekode"],
        claimant_id=values.get("FordringshaverId"),
        claims=tuple(claims),
    )


def message_id(batch: KsdBatch) -> str:
    """Return the batch's message id (its BatchId)."""
    return batch.message_id


def _flatten(
    element: etree._Element, prefix: str, values: dict[str, str], counts: dict[str, int]
) -> None:
    keys = _KEYS.get(prefix)
    if keys is None:  # under a repeated element: `Medskyldner[2]/`
        for child in element:
            named = _ELEMENTS.get(child.tag)
            if named is not None:
                _put(child, prefix + named[0], named[1], values, counts)
        return
    # The hot loop of the reader: a 1,000-claim batch has some 18,000 elements, so the common
    # ones (plain values, collapsed text, the Skyldner's and Periode's elements) are read here
    # without a call. `element[:]` lists the children in one call, quicker than iterating.
    for child in element[:]:
        # Unknown elements and other namespaces are schema violations, reported as such.
        known = keys.get(child.tag)
        if known is None:
            continue
        key, kind = known
        if not kind:  # most elements: a plain value
            if key not in values:  # a repeated single element breaks the schema: keep the first
                text = child.text
                values[key] = text.strip() if text else ""
            continue
        if kind == _COLLAPSE:
            if key not in values:
                values[key] = _collapsed(child.text)
            continue
        inner = _KEYS.get(key + "/") if kind == _CONTAINER else None
        if inner is None:
            _put(child, key, kind, values, counts)
            continue
        # A container that does not repeat (Skyldner, Periode): its elements are read here, as
        # `_flatten(child, key + "/", ...)` would read them.
        for grandchild in child[:]:
            known = inner.get(grandchild.tag)
            if known is None:
                continue
            key, kind = known
            if not kind:
                if key not in values:
                    text = grandchild.text
                    values[key] = text.strip() if text else ""
            elif kind == _COLLAPSE:
                if key not in values:
                    values[key] = _collapsed(grandchild.text)
            else:
                _put(grandchild, key, kind, values, counts)


def _put(
    element: etree._Element, key: str, kind: int, values: dict[str, str], counts: dict[str, int]
) -> None:
    """Read one element of a known name and kind: a repeated one, a container, or a value."""
    if kind & _REPEAT:
        position = counts.get(key, 0) + 1
        counts[key] = position
        key = f"{key}[{position}]"
    if kind & _CONTAINER:
        _flatten(element, key + "/", values, counts)
    elif key not in values:
        text = element.text
        values[key] = _collapsed(text) if kind & _COLLAPSE else (text.strip() if text else "")


def _collapsed(text: str | None) -> str:
    """The text with its ends trimmed and each run of white space made one space, as xs:token."""
    value = text.strip() if text else ""
    # Most names and descriptions hold no run of white space to collapse: a printable text
    # without two spaces in a row has none (every white space but the space is unprintable).
    if "  " in value or not value.isprintable():
        value = " ".join(value.split())
    return value


def _header_problems(values: Mapping[str, str], krav_count: int) -> list[Problem]:
    problems = []
    if not values.get("BatchId"):
        problems.append(
            Problem(
                code="batch.id_missing",
                message="the header must carry a BatchId (the message id)",
                source_path=f"{ROOT}/Hoved/BatchId",
            )
        )
    for name in ("Dannet", "Kommunekode", "AntalKrav"):
        if not values.get(name):
            problems.append(
                Problem(
                    code="batch.header_missing",
                    message=f"the header must carry {name}",
                    source_path=f"{ROOT}/Hoved/{name}",
                )
            )
    stated = _integer(values.get("AntalKrav", ""))
    if stated is not None and stated != krav_count:
        # A count is shown back only while it can be one (a batch holds at most 10,000 Krav):
        # nine or ten digits there could be most of a CPR number put in the wrong element.
        shown = stated <= _SHOWN_COUNT_MAX
        problems.append(
            Problem(
                code="batch.count_mismatch",
                message=(
                    f"AntalKrav is {stated}, but the batch holds {krav_count} Krav"
                    if shown
                    else f"AntalKrav is not the batch's number of Krav ({krav_count})"
                ),
                source_path=f"{ROOT}/Hoved/AntalKrav",
                value=str(stated) if shown else None,
            )
        )
    created = values.get("Dannet")
    if created and _datetime(created) is None:
        problems.append(
            Problem(
                code="batch.created_invalid",
                message="Dannet is not a date and time kravbro can read",
                source_path=f"{ROOT}/Hoved/Dannet",
                value=not_personal(created),
            )
        )
    return problems


_COUNT = re.compile(r"([+-]?)0*([0-9]{1,18})")
_COUNT_DIGITS = re.compile(r"[+-]?[0-9]+")


def _integer(text: str) -> int | None:
    """Read a count as an integer is written; None if it is not one (the schema says so).

    Any number of digits is an xs:positiveInteger, more than Python's `int` reads from text
    (4,300): one too long to read is still a count, and no batch's, so it is read as a number
    too big to be shown back (`_header_problems`).
    """
    found = _COUNT.fullmatch(text)
    if found is not None:
        return int(found.group(1) + found.group(2))
    return _TOO_MANY if _COUNT_DIGITS.fullmatch(text) else None


_TOO_MANY = 10**18
_FRACTION = re.compile(r"(\.\d{6})\d+")


# xs:dateTime's end of a day, `T24:00:00` (fraction zeros only), is the next day's start.
_END_OF_DAY = re.compile(r"(\d{4}-\d{2}-\d{2})T24:00:00(?:\.0+)?(.*)")


def _datetime(text: str) -> dt.datetime | None:
    # xs:dateTime allows any number of fraction digits; Python reads at most six.
    try:
        end = _END_OF_DAY.fullmatch(text)
        if end is not None:
            start = dt.datetime.fromisoformat(f"{end[1]}T00:00:00{end[2]}")
            return start + dt.timedelta(days=1)
        return dt.datetime.fromisoformat(_FRACTION.sub(r"\1", text))
    except (ValueError, OverflowError):  # 9999-12-31T24:00:00 has no next day
        return None


# ---------------------------------------------------------------------------------------------
# Schema violations, each handed to the claim (or interest claim) whose element it lies in.

ClaimProblems = dict[int, dict[int | None, list[Problem]]]


def _schema_problems(
    root: etree._Element, krav: list[etree._Element]
) -> tuple[list[Problem], ClaimProblems]:
    xsd = schema(SCHEMA)
    if xsd.validate(root):
        return [], {}
    claim_index = {element: index for index, element in enumerate(krav)}
    locator = ErrorLocator(root)
    envelope: list[Problem] = []
    by_claim: ClaimProblems = {}
    for entry in xsd.error_log:
        element = locator.element_at(entry.path)
        problem = Problem(
            code="xml.schema",
            message=clean_message(entry.message.replace(_NS, "")),
            source_path=_path_of(element, root) if element is not None else f"line {entry.line}",
        )
        owner = _owner(element, root, claim_index) if element is not None else None
        # An element out of place in the batch itself stops the check of the batch's content
        # model, so the claims after it are unchecked: the whole batch is refused.
        if element is not None and element.getparent() is root and UNEXPECTED in entry.message:
            owner = None
        if owner is None:
            envelope.append(problem)
            continue
        claim, interest = owner
        by_claim.setdefault(claim, {}).setdefault(interest, []).append(problem)
    return envelope, by_claim


def _owner(
    element: etree._Element, root: etree._Element, claim_index: Mapping[etree._Element, int]
) -> tuple[int, int | None] | None:
    interest: int | None = None
    node = element
    while True:
        parent = node.getparent()
        if parent is None:
            return None
        if parent is root:
            index = claim_index.get(node)
            return None if index is None else (index, interest)
        if node.tag == _RENTE and parent.tag == _RENTER:
            interest = [child for child in parent if child.tag == _RENTE].index(node)
        node = parent


def _path_of(element: etree._Element, root: etree._Element) -> str:
    steps = []
    node = element
    while node is not root:
        parent = node.getparent()
        if parent is None:
            break
        # An element's name is the sender's to choose: a long one is cut, as in every place.
        name = etree.QName(node).localname[:100]
        if not node.tag.startswith(_NS) and name in element_names(SCHEMA):
            # Of another namespace or none, named as a contract element: `/Batch/*[4]`, not
            # the `/Batch/Krav[1]` of a valid claim (an outside probe).
            steps.append(by_position(node))
        else:
            same = [child for child in parent if child.tag == node.tag]
            position = same.index(node) + 1
            steps.append(f"{name}[{position}]" if position > 1 or name in _REPEATABLE else name)
        node = parent
    return ROOT + "".join("/" + step for step in reversed(steps))
