"""The ØiR debitor registration (SF1590_B_1) as it arrives: parsed, validated and read.

The wire model keeps ØiR's element names as the keys of each node's `values`, and every node
knows its own XPath-like, 1-based path (`/DebitorRegistrering/DebitorKonto[2]/Fordring[1]`),
counted from the `DebitorRegistrering` element whether or not a SOAP envelope came around it.

Schema violations inside a claim do not fail the message: they travel with that claim (or,
when they sit in a debitor account outside its claims, with every claim of the account).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from lxml import etree

from adapters import _xml
from adapters.base import MessageContractError
from app.domain.problems import Problem

NAMESPACE = "urn:oio:kombit:oir:debitorregistrering:1.0"
SOAP_NAMESPACES = (
    "http://schemas.xmlsoap.org/soap/envelope/",  # SOAP 1.1
    "http://www.w3.org/2003/05/soap-envelope",  # SOAP 1.2
)
ROOT_NAME = "DebitorRegistrering"
SCHEMA = "oir/debitorregistrering.xsd"
MAX_MESSAGE_PROBLEMS = 50

_NS = "{" + NAMESPACE + "}"
_NS_LEN = len(_NS)
_ROOT_TAG = _NS + ROOT_NAME
_ACCOUNT_TAG = _NS + "DebitorKonto"
_CLAIM_TAG = _NS + "Fordring"
# Elements that may repeat carry a 1-based index in every path, even when there is one.
_REPEATED = frozenset(
    {"DebitorKonto", "Fordring", "Delfordring", "Haeftelse", "Fordringsnote", "Dokument"}
)
_COMPOUND = frozenset(
    {"Haeftelse", "Dokument", "Fordringsnote", "Delfordring", "Periode", "Rentevalg"}
)
# Every element name of the schema, by its namespaced tag; anything else is not read.
_NAMES = (
    "MeddelelseHoved",
    "MeddelelseID",
    "AfsendtTidspunkt",
    "AfsenderSystem",
    "KommuneKode",
    "FordringshaverID",
    "DebitorKonto",
    "KontoID",
    "CPRNummer",
    "CVRNummer",
    "SENummer",
    "AKRNummer",
    "Navn",
    "Fordring",
    "Delfordring",
    "FordringID",
    "FordringshaverRef",
    "HovedFordringID",
    "Fordringstype",
    "FordringArt",
    "Hovedstol",
    "Beloeb",
    "Valuta",
    "Periode",
    "FraDato",
    "TilDato",
    "Stiftelsesdato",
    "Forfaldsdato",
    "SRBDato",
    "AfgoerelsesDato",
    "VarslingsDato",
    "Beskrivelse",
    "Fordringsnote",
    "Dokument",
    "DokumentID",
    "Titel",
    "Rentevalg",
    "Renteregel",
    "RenteSatsKode",
    "MerRenteSats",
    "Haeftelse",
    "ForaeldelsesDato",
    "DomsDato",
    "ForligsDato",
    "Bobehandling",
)
_LOCAL = {_NS + name: name for name in _NAMES}
_FREE_TEXT = frozenset({"Navn", "Beskrivelse", "Titel", "AfsenderSystem", "DokumentID"})


class WireNode(NamedTuple):
    """A Haeftelse or Dokument: its path and its simple child elements by name."""

    path: str
    values: Mapping[str, str]


class WireNote(NamedTuple):
    """One Fordringsnote."""

    path: str
    text: str


class WireClaim(NamedTuple):
    """One Fordring or Delfordring as sent (a named tuple: many are made per message).

    `values` holds the simple child elements by name; those of Periode and Rentevalg as
    `Periode/FraDato`. `problems` are the schema violations inside the claim (outside its
    Haeftelse and Delfordring elements); `liability_problems` those inside its Haeftelse.
    """

    path: str
    values: Mapping[str, str]
    notes: tuple[WireNote, ...]
    documents: tuple[WireNode, ...]
    liabilities: tuple[WireNode, ...]
    sub_claims: tuple[WireClaim, ...]
    problems: tuple[Problem, ...]
    liability_problems: tuple[Problem, ...]


@dataclass(frozen=True, slots=True)
class WireAccount:
    """One DebitorKonto: KontoID, the debitor's identity and Navn in `values`, and its claims.

    `problems` are schema violations in the account outside its claims; they concern every
    claim of the account.
    """

    path: str
    values: Mapping[str, str]
    claims: tuple[WireClaim, ...]
    problems: tuple[Problem, ...]


@dataclass(frozen=True, slots=True)
class DebtorRegistration:
    """A parsed DebitorRegistrering message."""

    message_id: str
    sent_at: str | None
    sender_system: str | None
    municipality_code: str | None
    claimant_id: str | None
    accounts: tuple[WireAccount, ...]
    enveloped: bool


def parse(raw: bytes) -> DebtorRegistration:
    """Parse and validate a DebitorRegistrering, bare or in a SOAP envelope.

    Raises:
        MessageParseError: not well-formed XML, unreadable encoding, DOCTYPE or entities.
        MessageContractError: not a DebitorRegistrering (or a SOAP Fault), or a schema
            violation outside every debitor account's claims.
    """
    root = _xml.parse_document(raw)
    body, enveloped = _unwrap(root)
    buckets = _schema_problems(body)
    used: set[tuple[str, str]] = set()
    header: Mapping[str, str] = {}
    accounts: list[WireAccount] = []
    for child in body:
        if child.tag == _ACCOUNT_TAG:
            path = f"/{ROOT_NAME}/DebitorKonto[{len(accounts) + 1}]"
            accounts.append(_read_account(child, path, buckets, used))
        elif child.tag == _NS + "MeddelelseHoved" and not header:
            header = _simple_values(child)
    _check_all_placed(buckets, used, accounts)
    return DebtorRegistration(
        message_id=header.get("MeddelelseID", ""),
        sent_at=header.get("AfsendtTidspunkt"),
        sender_system=header.get("AfsenderSystem"),
        municipality_code=header.get("KommuneKode"),
        claimant_id=header.get("FordringshaverID"),
        accounts=tuple(accounts),
        enveloped=enveloped,
    )


def _contract_error(
    code: str, message: str, source_path: str, value: str | None = None
) -> MessageContractError:
    return MessageContractError(
        message, [Problem(code=code, message=message, source_path=source_path, value=value)]
    )


def _unwrap(root: etree._Element) -> tuple[etree._Element, bool]:
    """Return the DebitorRegistrering element and whether a SOAP envelope came around it.

    Raises:
        MessageContractError: another root, or an envelope without the message; the problem
            points at the root (`/Faktura`), `/Envelope`, or the SOAP Body or what is in it.
    """
    qname = etree.QName(root)
    if qname.localname == "Envelope" and qname.namespace in SOAP_NAMESPACES:
        envelope = "{" + qname.namespace + "}"
        parts = [child for child in root if isinstance(child.tag, str)]
        body = next((child for child in parts if child.tag == envelope + "Body"), None)
        if body is None:
            raise _contract_error("soap.body_missing", "the SOAP envelope has no Body", "/Envelope")
        _check_envelope(root, parts, envelope)
        elements = [child for child in body if isinstance(child.tag, str)]
        if any(child.tag == envelope + "Fault" for child in elements):
            raise _contract_error(
                "soap.fault",
                "the SOAP Body holds a Fault, not a message",
                "/Envelope/Body/Fault",
            )
        if len(elements) != 1 or elements[0].tag != _ROOT_TAG:
            raise _contract_error(
                "soap.unknown_body",
                f"the SOAP Body must hold exactly one {ROOT_NAME} element in {NAMESPACE}",
                _unexpected_in_body(elements),
            )
        if _has_text(body):
            raise _contract_error(
                "soap.unknown_body",
                f"the SOAP Body must hold only the {ROOT_NAME} element, no text beside it",
                "/Envelope/Body",
            )
        return elements[0], True
    if root.tag != _ROOT_TAG:
        raise _contract_error(
            "message.unknown_root",
            f"the root element must be {ROOT_NAME} in {NAMESPACE} or a SOAP Envelope",
            "/" + qname.localname[:100],
            value=_xml_name(qname),
        )
    return root, False


def _check_envelope(root: etree._Element, parts: list[etree._Element], envelope: str) -> None:
    """Refuse an envelope that holds more than an optional Header and then one Body.

    A second Body, or anything else beside them, would otherwise be passed over without a
    word, and with it any claims it holds.

    Raises:
        MessageContractError: `soap.unknown_envelope`, pointing at the first element the
            envelope should not hold; or at `/Envelope` for text in it.
    """
    expected = [envelope + "Body"]
    if parts and parts[0].tag == envelope + "Header":
        expected.insert(0, envelope + "Header")
    for index, part in enumerate(parts):
        if index >= len(expected) or part.tag != expected[index]:
            same = sum(1 for earlier in parts[:index] if earlier.tag == part.tag) + 1
            step = etree.QName(part).localname[:100]
            raise _contract_error(
                "soap.unknown_envelope",
                "a SOAP envelope holds an optional Header, then one Body, and nothing else",
                f"/Envelope/{step}" + (f"[{same}]" if same > 1 else ""),
            )
    if _has_text(root):
        raise _contract_error(
            "soap.unknown_envelope",
            "a SOAP envelope holds an optional Header, then one Body, and no text",
            "/Envelope",
        )


def _has_text(element: etree._Element) -> bool:
    """Tell whether an element holds text of its own (not whitespace) beside its children."""
    if element.text is not None and element.text.strip():
        return True
    return any(child.tail is not None and child.tail.strip() for child in element)


def _unexpected_in_body(elements: list[etree._Element]) -> str:
    """Return the path of the first element a SOAP Body should not hold, or of an empty Body.

    The first element that is not the message, or else the second message, named as in
    `/Envelope/Body/DebitorRegistrering[2]`: an index counts the elements of the same name
    and namespace, given from the second.
    """
    for index, element in enumerate(elements):
        if element.tag != _ROOT_TAG or index > 0:
            same = sum(1 for earlier in elements[:index] if earlier.tag == element.tag) + 1
            step = etree.QName(element).localname[:100]
            return f"/Envelope/Body/{step}" + (f"[{same}]" if same > 1 else "")
    return "/Envelope/Body"


def _xml_name(qname: etree.QName) -> str:
    name = qname.localname if qname.namespace is None else f"{{{qname.namespace}}}{qname.localname}"
    return name[:100]


def _token(name: str, text: str | None) -> str | None:
    # Schema types are xs:token: surrounding (and, in free text, repeated) whitespace is not
    # part of the value; the other token types allow no inner whitespace at all.
    if text is None:
        return None
    text = text.strip()
    if name in _FREE_TEXT:
        text = " ".join(text.split())
    return text or None


def _simple_values(element: etree._Element) -> dict[str, str]:
    values: dict[str, str] = {}
    for child in element:
        name = _LOCAL.get(child.tag)
        if name is not None:
            text = _token(name, child.text)
            if text is not None:
                values[name] = text
    return values


Buckets = dict[tuple[str, str], list[Problem]]

# A Fordring's or Delfordring's children by namespaced tag: the plain values by their name,
# the free-text values (whitespace collapsed) by theirs, and the elements with children by kind.
_CLAIM_PLAIN = {
    tag: name for tag, name in _LOCAL.items() if name not in _COMPOUND and name not in _FREE_TEXT
}
_CLAIM_FREE = {tag: name for tag, name in _LOCAL.items() if name in _FREE_TEXT}
_GROUP, _LIABILITY, _DOCUMENT, _NOTE, _SUB_CLAIM = range(5)
_CLAIM_COMPOUND = {
    _NS + "Periode": _GROUP,
    _NS + "Rentevalg": _GROUP,
    _NS + "Haeftelse": _LIABILITY,
    _NS + "Dokument": _DOCUMENT,
    _NS + "Fordringsnote": _NOTE,
    _NS + "Delfordring": _SUB_CLAIM,
}
# The value keys of a Periode's or Rentevalg's children (`Periode/FraDato`), made once.
_GROUP_KEYS = {
    _NS + group: {tag: f"{group}/{name}" for tag, name in _LOCAL.items()}
    for group in ("Periode", "Rentevalg")
}
_new_claim = tuple.__new__  # WireClaim's own __new__ without its keyword handling


def _read_account(
    element: etree._Element, path: str, buckets: Buckets, used: set[tuple[str, str]]
) -> WireAccount:
    values: dict[str, str] = {}
    claims: list[WireClaim] = []
    for child in element:
        tag = child.tag
        if tag == _CLAIM_TAG:
            claim_path = f"{path}/Fordring[{len(claims) + 1}]"
            claims.append(_read_claim(child, claim_path, buckets, used, main=True))
            continue
        name = _LOCAL.get(tag)
        if name is not None:
            text = _token(name, child.text)
            if text is not None:
                values[name] = text
    return WireAccount(
        path=path,
        values=values,
        claims=tuple(claims),
        problems=_take(buckets, used, "account", path) if buckets else (),
    )


def _read_claim(
    element: etree._Element,
    path: str,
    buckets: Buckets,
    used: set[tuple[str, str]],
    *,
    main: bool,
) -> WireClaim:
    values: dict[str, str] = {}
    compound: list[etree._Element] | None = None
    # The hot loop of the adapter, kept flat: it runs once for every child of every claim.
    # Children with children of their own other than Periode and Rentevalg are rare: they are
    # read after the loop, in their order.
    for child in element:
        tag = child.tag
        name = _CLAIM_PLAIN.get(tag)
        if name is not None:
            text = child.text
            if text is not None and (text := text.strip()):
                values[name] = text
            continue
        name = _CLAIM_FREE.get(tag)
        if name is not None:
            text = child.text
            if text is not None and (text := " ".join(text.split())):
                values[name] = text
            continue
        kind = _CLAIM_COMPOUND.get(tag)
        if kind == _GROUP:
            keys = _GROUP_KEYS[tag]
            for grand in child:
                key = keys.get(grand.tag)
                text = grand.text
                if key is not None and text is not None and (text := text.strip()):
                    values[key] = text
        elif kind is not None:
            if compound is None:
                compound = []
            compound.append(child)
    if compound is None and not buckets:
        return _new_claim(WireClaim, (path, values, (), (), (), (), (), ()))
    notes: list[WireNote] = []
    documents: list[WireNode] = []
    liabilities: list[WireNode] = []
    sub_claims: list[WireClaim] = []
    # Empty notes are not read, but count in the paths of the notes after them, as in the
    # paths of schema problems.
    note_position = 0
    for child in compound or ():
        kind = _CLAIM_COMPOUND[child.tag]
        if kind == _LIABILITY:
            item_path = f"{path}/Haeftelse[{len(liabilities) + 1}]"
            liabilities.append(WireNode(item_path, _simple_values(child)))
        elif kind == _DOCUMENT:
            item_path = f"{path}/Dokument[{len(documents) + 1}]"
            documents.append(WireNode(item_path, _simple_values(child)))
        elif kind == _NOTE:
            note_position += 1
            note = (child.text or "").strip()
            if note:
                notes.append(WireNote(f"{path}/Fordringsnote[{note_position}]", note))
        elif main:  # Delfordring; one nested in a Delfordring is a schema error, not read
            sub_path = f"{path}/Delfordring[{len(sub_claims) + 1}]"
            sub_claims.append(_read_claim(child, sub_path, buckets, used, main=False))
    return WireClaim(
        path,
        values,
        tuple(notes),
        tuple(documents),
        tuple(liabilities),
        tuple(sub_claims),
        _take(buckets, used, "claim", path),
        _take(buckets, used, "liability", path),
    )


def _take(
    buckets: Buckets, used: set[tuple[str, str]], kind: str, path: str
) -> tuple[Problem, ...]:
    if not buckets:
        return ()
    key = (kind, path)
    found = buckets.get(key)
    if not found:
        return ()
    used.add(key)
    return tuple(found)


def _check_all_placed(
    buckets: Buckets, used: set[tuple[str, str]], accounts: list[WireAccount]
) -> None:
    """Raise for schema problems that belong to no claim.

    Raises:
        MessageContractError: a violation outside every claim, or in an account without claims.
    """
    left = [p for key, problems in buckets.items() if key not in used for p in problems]
    left.extend(p for account in accounts if not account.claims for p in account.problems)
    if left:
        raise MessageContractError(
            "the message does not match its schema", left[:MAX_MESSAGE_PROBLEMS]
        )


def _schema_problems(body: etree._Element) -> Buckets:
    """Validate against the XSD and sort each violation to the claim or account it sits in."""
    xsd = _xml.schema(SCHEMA)
    buckets: Buckets = {}
    if xsd.validate(body):
        return buckets
    locator = _Locator(body)
    for entry in xsd.error_log:
        element = locator.element_at(entry.path)
        segments = locator.segments(element) if element is not None else None
        path = "/" + "/".join(segments) if segments else f"line {entry.line}"
        problem = Problem(code="xml.schema", message=_message(entry.message), source_path=path)
        buckets.setdefault(_bucket(segments), []).append(problem)
    return buckets


def _message(text: str) -> str:
    return _xml.clean_message(text.replace(_NS, ""))


def _bucket(segments: list[str] | None) -> tuple[str, str]:
    """Name where a violation at `segments` belongs: a claim, its liabilities, an account."""
    if not segments:
        return ("message", "")
    names = [segment.split("[", 1)[0] for segment in segments]
    depth = 0
    if names[1:2] == ["DebitorKonto"]:
        depth = 2
        if names[2:3] == ["Fordring"]:
            depth = 4 if names[3:4] == ["Delfordring"] else 3
    if depth == 0:
        return ("message", "")
    owner = "/" + "/".join(segments[:depth])
    if depth == 2:
        return ("account", owner)
    return ("liability" if names[depth : depth + 1] == ["Haeftelse"] else "claim", owner)


class _Locator(_xml.ErrorLocator):
    """Turns libxml2's error paths into elements, and elements into wire-model paths."""

    def __init__(self, body: etree._Element) -> None:
        super().__init__(body)
        self._body = body
        self._steps: dict[etree._Element, str] = {}

    def segments(self, element: etree._Element) -> list[str]:
        """Return the path steps from the message element down to `element`."""
        steps: list[str] = []
        node: etree._Element | None = element
        while node is not None:
            steps.append(self._step(node))
            if node is self._body:
                break
            node = node.getparent()
        steps.reverse()
        return steps

    def _step(self, node: etree._Element) -> str:
        step = self._steps.get(node)
        if step is not None:
            return step
        parent = node.getparent()
        if node is self._body or parent is None:
            return _local_name(node)
        names = _xml.element_names(SCHEMA)
        counts: dict[str, int] = {}
        position = 0
        for child in parent:
            tag = child.tag
            if isinstance(tag, str):
                position += 1
                name = _local_name(child)
                if not tag.startswith(_NS):
                    if name in names:
                        # Of another namespace or none, named as a contract element: placed
                        # by position (`DebitorKonto[1]/*[5]`), as by its name it would be
                        # the place of a valid claim, or of none (an outside probe).
                        name = f"*[{position}]"
                elif name in _REPEATED:
                    counts[tag] = counts.get(tag, 0) + 1
                    name = f"{name}[{counts[tag]}]"
                self._steps[child] = name
        return self._steps[node]


def _local_name(node: etree._Element) -> str:
    # For a place in a problem: an element's name is the sender's to choose, so a long one is
    # cut, as in every place.
    tag = node.tag
    return (tag[_NS_LEN:] if tag.startswith(_NS) else str(etree.QName(node).localname))[:100]
