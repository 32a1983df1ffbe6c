"""PSRM's XML: the three SOAP operations' requests and answers, built and read with lxml.

Element names follow the public traces of NyMF and PSRM (see `contracts/psrm/PSRM-XML.md`,
which marks each name as PSRM's own or kravbro's modelling). Every builder returns a whole
SOAP 1.1 envelope as UTF-8 bytes; every parser takes one and reads it with the hardened parser
of `adapters._xml`.

The high-volume messages (a delivery of hundreds of claims, the status of each of its
actions) are written as text: building an lxml tree costs about a microsecond per element in
Python, a claim has about 45, and serialising a finished tree costs again. Every value in that
text goes through `_esc` (or is a date, an amount or a closed code), and the tests read every
message back with lxml. The rest (requests, notifications, faults) is built with lxml.

Amounts are written with two decimals, dates as `YYYY-MM-DD`, times in UTC with an offset.
Times without an offset (as NyMF's own test data shows them) are read as Danish time.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree

from adapters._xml import parse_document
from adapters.base import AdapterError, MessageContractError
from adapters.psrm.messages import (
    Action,
    ActionCode,
    ActionStatus,
    BalanceMovement,
    CoverageKind,
    CoverageLine,
    CreateClaim,
    DeliveryHeader,
    HearingReason,
    InterestNotice,
    Notification,
    NotificationRequest,
    ParsedDelivery,
    Recall,
    RecallReason,
    Receipt,
    ReceiptError,
    ReceiptRequest,
    Resubmit,
    ReturnKind,
    ReturnNotice,
    Settlement,
    SoapFault,
    SubmitAck,
    UnreadableAction,
    WriteDown,
    WriteDownReason,
    WriteOff,
    WriteUp,
    WriteUpReason,
)
from app.domain.claim import (
    CanonicalClaim,
    ClaimCandidate,
    ClaimCategory,
    FordringArt,
    Liability,
    validate,
)
from app.domain.identifiers import IdentifierKind
from app.domain.problems import Problem

NS = "http://skat.dk/begrebsmodel/2009/01/15/"
KONTEKST_NS = "http://skat.dk/begrebsmodel/xml/schemas/kontekst/2007/05/31/"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
KRAVBRO_NS = "urn:kravbro:psrm:extension:1"
NSMAP: dict[str | None, str] = {"soap": SOAP_NS, "sk": KONTEKST_NS, "kb": KRAVBRO_NS, None: NS}

DANISH_TIME = ZoneInfo("Europe/Copenhagen")
_CENT = Decimal("0.01")


@cache
def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


def _k(name: str) -> str:
    return f"{{{KONTEKST_NS}}}{name}"


def _x(name: str) -> str:
    return f"{{{KRAVBRO_NS}}}{name}"


_ENVELOPE = f"{{{SOAP_NS}}}Envelope"
_BODY = f"{{{SOAP_NS}}}Body"
_FAULT = f"{{{SOAP_NS}}}Fault"
_SE = etree.SubElement


# ---------------------------------------------------------------------------------------------
# values to text and back


def _date(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _money(value: Decimal) -> str:
    if not value.is_finite() or value != value.quantize(_CENT):
        raise ValueError("an amount must be finite and have at most two decimals")
    return f"{value:.2f}"


def _time(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return value.astimezone(dt.UTC).isoformat()


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _contract_error(message: str, path: str | None = None) -> MessageContractError:
    return MessageContractError(
        message, [Problem(code="psrm.xml", message=message, source_path=path)]
    )


def _read_date(text: str | None, path: str) -> dt.date:
    try:
        return dt.date.fromisoformat((text or "").strip())
    except ValueError as exc:
        raise _contract_error("not a date (YYYY-MM-DD)", path) from exc


def _read_time(text: str | None, path: str) -> dt.datetime:
    try:
        return _utc_time((text or "").strip())
    except ValueError as exc:
        raise _contract_error("not a date and time", path) from exc


@lru_cache(maxsize=256)
def _utc_time(text: str) -> dt.datetime:
    # An answer repeats the same few times hundreds of times: read each once.
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=DANISH_TIME)
    return value.astimezone(dt.UTC)


def _read_money(text: str | None, path: str) -> Decimal:
    try:
        value = Decimal((text or "").strip())
    except InvalidOperation as exc:
        raise _contract_error("not a decimal amount", path) from exc
    if not value.is_finite():
        raise _contract_error("not a decimal amount", path)
    return value


def _read_int(text: str | None, path: str) -> int:
    try:
        return int((text or "").strip())
    except ValueError as exc:
        raise _contract_error("not a whole number", path) from exc


def _child(parent: etree._Element, name: str) -> etree._Element:
    found = parent.find(name)
    if found is None:
        raise _contract_error(f"{_local(name)} is missing", _local(parent.tag))
    return found


def _text(parent: etree._Element, name: str) -> str:
    found = _child(parent, name)
    return found.text or ""


def _maybe(parent: etree._Element, name: str) -> str | None:
    found = parent.find(name)
    return None if found is None else (found.text or "")


def _local(tag: Any) -> str:
    text = str(tag)
    return text.rsplit("}", 1)[-1]


# ---------------------------------------------------------------------------------------------
# writing text: the delivery and the action statuses, the high-volume messages

# Characters XML 1.0 cannot carry at all (tab, newline and carriage return it can).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SPECIAL = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ENVELOPE_OPEN = (
    "<?xml version='1.0' encoding='UTF-8'?>\n"
    f'<soap:Envelope xmlns:soap="{SOAP_NS}" xmlns:sk="{KONTEKST_NS}" '
    f'xmlns:kb="{KRAVBRO_NS}" xmlns="{NS}"><soap:Body>'
)
_ENVELOPE_CLOSE = "</soap:Body></soap:Envelope>"


def _esc(text: str) -> str:
    """Escape text for element content; a carriage return survives as a reference.

    Raises:
        ValueError: the text holds control characters XML 1.0 cannot carry.
    """
    if _SPECIAL.search(text) is None:  # the common case: nothing to do
        return text
    if _NOT_XML.search(text) is not None:
        raise ValueError("text holds characters XML 1.0 cannot carry (control characters)")
    return text.translate(_ESCAPES)


def _collection(tag: str, content: str) -> str:
    """A collection element, written short when empty as NyMF's own example has it."""
    return f"<{tag}>{content}</{tag}>" if content else f"<{tag}/>"


def _leaf(tag: str, value: str | None) -> str:
    """An element holding `value`, escaped; nothing at all when the value is None."""
    return "" if value is None else f"<{tag}>{_esc(value)}</{tag}>"


@lru_cache(maxsize=64)
def _time_text(value: dt.datetime) -> str:
    return _time(value)


_KIND_ELEMENT = {
    IdentifierKind.CPR: "PersonCPRNummer",
    IdentifierKind.CVR: "VirksomhedCVRNummer",
    IdentifierKind.SE: "VirksomhedSENummer",
    IdentifierKind.AKR: "AKRNummer",
}

# Adjustments: the structure each action code travels in, and its amount element.
ADJUSTMENT_STRUCTURES: dict[ActionCode, tuple[str, str | None]] = {
    ActionCode.NEDSKRIV: ("MFNedskrivFordringStruktur", "FordringNedskrivningBeløb"),
    ActionCode.NAOR: (
        "MFNedskrivningAnnulleretOpskrivningReguleringStruktur",
        "FordringNedskrivningBeløb",
    ),
    ActionCode.NAOI: (
        "MFNedskrivningAnnulleretOpskrivningIndbetalingStruktur",
        "FordringNedskrivningBeløb",
    ),
    ActionCode.OPSKRIVNINGREGULERING: (
        "MFOpskrivningReguleringStruktur",
        "FordringOpskrivningBeløb",
    ),
    ActionCode.OANI: (
        "MFOpskrivningAnnulleretNedskrivningIndbetalingStruktur",
        "FordringOpskrivningBeløb",
    ),
    ActionCode.OONR: (
        "MFOpskrivningOmgjortNedskrivningReguleringStruktur",
        "FordringOpskrivningBeløb",
    ),
    ActionCode.TILBAGEKALD: ("MFTilbagekaldFordringStruktur", None),
}


# ---------------------------------------------------------------------------------------------
# envelope, context and faults


def _envelope(payload: etree._Element, nsmap: dict[str | None, str] = NSMAP) -> bytes:
    envelope = etree.Element(_ENVELOPE, nsmap=nsmap)
    _SE(envelope, _BODY).append(payload)
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"))


def _request_root(name: str, transaction_id: str, sent_at: dt.datetime) -> etree._Element:
    root = etree.Element(_q(name), nsmap=NSMAP)
    head = _SE(_SE(root, _q("Kontekst")), _k("HovedOplysninger"))
    _SE(head, _k("TransaktionsID")).text = transaction_id
    _SE(head, _k("TransaktionsTid")).text = _time(sent_at)
    return root


def _response_root(
    name: str, service: str, transaction_id: str, answered_at: dt.datetime
) -> etree._Element:
    root = etree.Element(_q(name), nsmap=NSMAP)
    head = _SE(_SE(root, _q("Kontekst")), _k("HovedOplysningerSvar"))
    _SE(head, _k("TransaktionsID")).text = transaction_id
    _SE(head, _k("ServiceID")).text = service
    _SE(head, _k("TransaktionsTid")).text = _time(answered_at)
    _SE(head, _k("SvarReaktion"))
    return root


def _sender(parent: etree._Element, sender_se: str) -> None:
    _SE(_SE(parent, _q("FordringhaverSystemIDStruktur")), _q("VirksomhedSENummer")).text = sender_se


def _payload(raw: bytes, name: str) -> etree._Element:
    """Return the body's element `name`, after checking the message is no fault."""
    root = parse_document(raw)
    if root.tag != _ENVELOPE:
        raise _contract_error("not a SOAP 1.1 envelope", _local(root.tag))
    body = _child(root, _BODY)
    if len(body) == 0:
        raise _contract_error("the SOAP body is empty", "Body")
    payload = body[0]
    if payload.tag == _FAULT:
        raise _contract_error("the message is a SOAP fault", "Body/Fault")
    if payload.tag != _q(name):
        raise _contract_error(f"expected {name}, found {_local(payload.tag)}", "Body")
    return payload


def _context(payload: etree._Element, answer: bool) -> tuple[str, dt.datetime]:
    head = _child(
        _child(payload, _q("Kontekst")),
        _k("HovedOplysningerSvar" if answer else "HovedOplysninger"),
    )
    return _text(head, _k("TransaktionsID")), _read_time(
        _text(head, _k("TransaktionsTid")), "HovedOplysninger/TransaktionsTid"
    )


def _sender_se(payload: etree._Element) -> str:
    return _text(_child(payload, _q("FordringhaverSystemIDStruktur")), _q("VirksomhedSENummer"))


def build_fault(*, code: str, message: str, detail: str | None = None) -> bytes:
    """Build a SOAP 1.1 fault; `code` is `Client` or `Server` (prefixed with `soap:`)."""
    # No default namespace here: SOAP 1.1's faultcode and faultstring are unqualified.
    nsmap: dict[str | None, str] = {"soap": SOAP_NS, "kb": KRAVBRO_NS}
    fault = etree.Element(_FAULT, nsmap=nsmap)
    _SE(fault, "faultcode").text = f"soap:{code}"
    _SE(fault, "faultstring").text = message
    if detail is not None:
        _SE(_SE(fault, "detail"), _x("Detail")).text = detail
    return _envelope(fault, nsmap)


def parse_fault(raw: bytes) -> SoapFault | None:
    """Read a SOAP fault; None when the bytes are not a SOAP envelope holding one."""
    try:
        root = parse_document(raw)
    except AdapterError:
        return None
    body = root.find(_BODY) if root.tag == _ENVELOPE else None
    fault = body.find(_FAULT) if body is not None else None
    if fault is None:
        return None
    code = (fault.findtext("faultcode") or "").strip()
    detail = fault.find("detail")
    detail_text = None if detail is None else " ".join(t.strip() for t in detail.itertext()).strip()
    return SoapFault(
        code=code.split(":", 1)[-1],
        message=(fault.findtext("faultstring") or "").strip(),
        detail=detail_text or None,
    )


# ---------------------------------------------------------------------------------------------
# MFFordringIndberet_I: the delivery


def _request_context(transaction_id: str, sent_at: dt.datetime) -> str:
    return (
        "<Kontekst><sk:HovedOplysninger>"
        f"<sk:TransaktionsID>{_esc(transaction_id)}</sk:TransaktionsID>"
        f"<sk:TransaktionsTid>{_time(sent_at)}</sk:TransaktionsTid>"
        "</sk:HovedOplysninger></Kontekst>"
    )


def _sender_xml(sender_se: str) -> str:
    return (
        "<FordringhaverSystemIDStruktur>"
        f"<VirksomhedSENummer>{_esc(sender_se)}</VirksomhedSENummer>"
        "</FordringhaverSystemIDStruktur>"
    )


def _liability_xml(liability: Liability) -> str:
    kind = _KIND_ELEMENT[liability.debtor_kind]
    return (
        "<MFHæftelseStruktur><MFKundeStruktur>"
        f"<Valg><{kind}>{liability.debtor_id}</{kind}></Valg>"  # digits only
        f"{_leaf('KundeNavn', liability.debtor_name)}"
        "</MFKundeStruktur>"
        f"<HæftelseForældelseDato>{liability.limitation_date.isoformat()}</HæftelseForældelseDato>"
        f"<HæftelseDom>{_bool(liability.judgment_date is not None)}</HæftelseDom>"
        f"{_leaf('HæftelseDomDato', _date(liability.judgment_date))}"
        f"<HæftelseForlig>{_bool(liability.settlement_date is not None)}</HæftelseForlig>"
        f"{_leaf('HæftelseForligDato', _date(liability.settlement_date))}"
        f"<HæftelseBobehandling>{_bool(liability.in_estate)}</HæftelseBobehandling>"
        "</MFHæftelseStruktur>"
    )


def _claim_xml(claim: CanonicalClaim, main_fordrings_id: str | None) -> str:
    """MFOpretFordringStruktur: the claim as PSRM takes it."""
    period = ""
    if claim.period_start_date is not None or claim.period_end_date is not None:
        period = (
            "<FordringPeriodeStruktur>"
            f"{_leaf('DMIFordringPeriodeFraDato', _date(claim.period_start_date))}"
            f"{_leaf('DMIFordringPeriodeTilDato', _date(claim.period_end_date))}"
            "</FordringPeriodeStruktur>"
        )
    interest = ""
    if claim.interest is not None:
        extra = claim.interest.extra_rate
        interest = (
            "<RenteValgStruktur>"
            f"<RenteRegelKode>{claim.interest.rule}</RenteRegelKode>"
            f"<RenteSatsKode>{claim.interest.rate_code}</RenteSatsKode>"
            f"{_leaf('MerRenteSats', None if extra is None else str(extra))}"
            "</RenteValgStruktur>"
        )
    notes = "".join(
        f"<Sagsbemærkning><SagsbemærkningTekst>{_esc(note)}</SagsbemærkningTekst></Sagsbemærkning>"
        for note in claim.notes
    )
    documents = "".join(
        "<Dokument>"
        f"<DokumentReference>{_esc(document.reference)}</DokumentReference>"
        f"{_leaf('DokumentTitel', document.title)}"
        "</Dokument>"
        for document in claim.documents
    )
    # Codes, ids and references below are constrained by the canonical model's patterns.
    currency = claim.currency
    return (
        "<MFOpretFordringStruktur>"
        f"<DMIFordringFordringArtKode>{claim.art.value}</DMIFordringFordringArtKode>"
        f"<DMIFordringTypeKode>{claim.fordringstype}</DMIFordringTypeKode>"
        f"<DMIFordringTypeKategori>{claim.category.value}</DMIFordringTypeKategori>"
        f"{_leaf('DMIFordringEFIHovedFordringID', main_fordrings_id)}"
        f"<DMIFordringFordringHaverRef>{claim.claimant_reference}</DMIFordringFordringHaverRef>"
        f"{_leaf('DMIFordringStiftelseTidspunkt', _date(claim.founding_date))}"
        f"{_leaf('DMIFordringForfaldDato', _date(claim.due_date))}"
        f"{_leaf('DMIFordringSRBDato', _date(claim.srb_date))}"
        f"<FordringBeløbStruktur><ValutaKode>{currency}</ValutaKode>"
        f"<DMIFordringBeløb>{_money(claim.amount)}</DMIFordringBeløb></FordringBeløbStruktur>"
        f"{period}"
        f"<FordringOprindeligBeløbStruktur><ValutaKode>{currency}</ValutaKode>"
        f"<EFIFordringOprindeligBeløb>{_money(claim.principal)}</EFIFordringOprindeligBeløb>"
        "</FordringOprindeligBeløbStruktur>"
        f"{_leaf('FordringBeskrivelse', claim.description)}"
        f"{interest}"
        f"{_collection('SagsbemærkningSamling', notes)}"
        f"{_collection('DokumentSamling', documents)}"
        f"<DMIFordringHaverID>{claim.claimant_id}</DMIFordringHaverID>"
        "<FordringHæftelseSamling>"
        f"{''.join(_liability_xml(item) for item in claim.liabilities)}"
        "</FordringHæftelseSamling>"
        "</MFOpretFordringStruktur>"
    )


def _kravbro_xml(claim: CanonicalClaim) -> str:
    """kravbro's own claim fields, outside PSRM's namespace."""
    return (
        "<kb:KravbroOplysninger>"
        f"<kb:Source>{claim.source.value}</kb:Source>"
        f"<kb:SourceReference>{_esc(claim.source_reference)}</kb:SourceReference>"
        f"<kb:BusinessArea>{_esc(claim.business_area)}</kb:BusinessArea>"
        f"{_leaf('kb:MainClaimReference', claim.main_claim_reference)}"
        f"{_leaf('kb:Agreement', claim.agreement)}"
        f"{_leaf('kb:NoticeDate', _date(claim.notice_date))}"
        f"{_leaf('kb:DecisionDate', _date(claim.decision_date))}"
        f"{_leaf('kb:LegalBasis', claim.legal_basis)}"
        "</kb:KravbroOplysninger>"
    )


def _adjustment_xml(action: WriteDown | WriteUp | Recall) -> str:
    code = action.code
    structure, amount_name = ADJUSTMENT_STRUCTURES[code]
    reference = None if isinstance(action, Recall) else action.reference_action_id
    if isinstance(action, Recall):
        details = _leaf("HovedFordringTilbagekaldÅrsagKode", action.reason.value)
    else:
        assert amount_name is not None  # every action but a recall moves an amount
        details = f"<{amount_name}>{_money(action.amount)}</{amount_name}>"
        if code is ActionCode.NEDSKRIV:
            details += _leaf("FordringNedskrivningÅrsagKode", action.reason.value)
    return (
        "<FordringAktion>"
        f"<MFAktionID>{_esc(action.action_id)}</MFAktionID>"
        f"<MFAktionKode>{code.value}</MFAktionKode>"
        f"{_leaf('DMIFordringHaverID', action.claimant_id)}"
        f"{_leaf('MFAktionIDRef', reference)}"
        f"<AktionValg><{structure}>"
        f"<DMIFordringEFIFordringID>{_esc(action.fordrings_id)}</DMIFordringEFIFordringID>"
        f"{details}"
        f"{_leaf('VirkningFra', _date(action.effective_date))}"
        f"</{structure}></AktionValg>"
        "</FordringAktion>"
    )


def _action_xml(action: Action, extension: bool) -> str:
    if isinstance(action, CreateClaim | Resubmit):
        claim = action.claim
        if isinstance(action, CreateClaim):
            choice = (
                "<OpretFordringAktion>"
                f"{_claim_xml(claim, action.main_fordrings_id)}"
                "<OpretUnderfordringSamling/>"
                "</OpretFordringAktion>"
            )
            reference = _leaf("MFAktionIDRef", action.main_action_id)
        else:
            choice = (
                "<MFGenindsendFordringStruktur>"
                f"<DMIFordringEFIFordringID>{_esc(action.fordrings_id)}</DMIFordringEFIFordringID>"
                f"{_claim_xml(claim, None)}"
                "</MFGenindsendFordringStruktur>"
            )
            reference = ""
        return (
            "<FordringAktion>"
            f"<MFAktionID>{_esc(action.action_id)}</MFAktionID>"
            f"<MFAktionKode>{action.code.value}</MFAktionKode>"
            f"<DMIFordringHaverID>{_esc(claim.claimant_id)}</DMIFordringHaverID>"
            f"{reference}"
            f"<AktionValg>{choice}</AktionValg>"
            f"{_kravbro_xml(claim) if extension else ''}"
            "</FordringAktion>"
        )
    return _adjustment_xml(action)


def build_delivery(
    *,
    delivery_id: str,
    transaction_id: str,
    sender_se: str,
    sent_at: dt.datetime,
    actions: Sequence[Action],
    kravbro_fields: bool = True,
) -> bytes:
    """Build a delivery (MFFordringIndberet_I) of claim actions in a SOAP envelope.

    `kravbro_fields` adds kravbro's own claim fields (source, business area, ...) in the
    `urn:kravbro:psrm:extension:1` namespace, so the simulator gets the whole canonical claim
    back; the real PSRM will not take them.

    Raises:
        ValueError: a time without a timezone, an amount with more than two decimals, or text
            with characters XML 1.0 cannot carry (control characters).
    """
    parts = [
        _ENVELOPE_OPEN,
        "<MFFordringIndberet_I>",
        _request_context(transaction_id, sent_at),
        _sender_xml(sender_se),
        f"<MFLeveranceID>{_esc(delivery_id)}</MFLeveranceID>",
        "<FordringAktionSamling>",
    ]
    parts.extend(_action_xml(action, kravbro_fields) for action in actions)
    parts.append("</FordringAktionSamling></MFFordringIndberet_I>")
    parts.append(_ENVELOPE_CLOSE)
    return "".join(parts).encode("utf-8")


def _header(payload: etree._Element) -> tuple[str, str, str, dt.datetime]:
    transaction_id, sent_at = _context(payload, answer=False)
    return _text(payload, _q("MFLeveranceID")), transaction_id, _sender_se(payload), sent_at


def scan_delivery(raw: bytes) -> DeliveryHeader:
    """Read a delivery's identity and its actions' ids and codes, leaving the claims unread.

    Raises:
        MessageParseError: not well-formed XML.
        MessageContractError: not an MFFordringIndberet_I envelope.
    """
    payload = _payload(raw, "MFFordringIndberet_I")
    delivery_id, transaction_id, sender_se, sent_at = _header(payload)
    ids: list[str] = []
    codes: list[str] = []
    action_id, action_code = _q("MFAktionID"), _q("MFAktionKode")
    for action in _child(payload, _q("FordringAktionSamling")):
        first, second = action[0], action[1]  # where kravbro writes them, a fast path
        if first.tag == action_id and second.tag == action_code:
            ids.append(first.text or "")
            codes.append(second.text or "")
        else:
            ids.append(action.findtext(action_id) or "")
            codes.append(action.findtext(action_code) or "")
    return DeliveryHeader(delivery_id, transaction_id, sender_se, sent_at, tuple(ids), tuple(codes))


_CLAIM_LEAVES = (
    ("art", _q("DMIFordringFordringArtKode")),
    ("fordringstype", _q("DMIFordringTypeKode")),
    ("category", _q("DMIFordringTypeKategori")),
    ("claimant_reference", _q("DMIFordringFordringHaverRef")),
    ("founding_date", _q("DMIFordringStiftelseTidspunkt")),
    ("due_date", _q("DMIFordringForfaldDato")),
    ("srb_date", _q("DMIFordringSRBDato")),
    ("description", _q("FordringBeskrivelse")),
    ("claimant_id", _q("DMIFordringHaverID")),
)
_KRAVBRO_LEAVES = (
    ("source", _x("Source")),
    ("source_reference", _x("SourceReference")),
    ("business_area", _x("BusinessArea")),
    ("main_claim_reference", _x("MainClaimReference")),
    ("agreement", _x("Agreement")),
    ("notice_date", _x("NoticeDate")),
    ("decision_date", _x("DecisionDate")),
    ("legal_basis", _x("LegalBasis")),
)
_ELEMENT_KIND = {_q(name): kind for kind, name in _KIND_ELEMENT.items()}


def _leaves(
    children: Mapping[Any, etree._Element], names: Iterable[tuple[str, str]]
) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for field, tag in names:
        node = children.get(tag)
        if node is not None:
            fields[field] = node.text or ""
    return fields


def _liability_fields(node: etree._Element) -> dict[str, Any]:
    children = {child.tag: child for child in node}
    fields: dict[str, Any] = {}
    customer = children.get(_q("MFKundeStruktur"))
    if customer is not None:
        choice = customer.find(_q("Valg"))
        if choice is not None and len(choice):
            identifier = choice[0]
            fields["debtor_kind"] = _ELEMENT_KIND.get(identifier.tag, _local(identifier.tag))
            fields["debtor_id"] = identifier.text or ""
        name = customer.find(_q("KundeNavn"))
        if name is not None:
            fields["debtor_name"] = name.text or ""
    for field, tag in (
        ("limitation_date", _q("HæftelseForældelseDato")),
        ("judgment_date", _q("HæftelseDomDato")),
        ("settlement_date", _q("HæftelseForligDato")),
    ):
        found = children.get(tag)
        if found is not None:
            fields[field] = found.text or ""
    estate = children.get(_q("HæftelseBobehandling"))
    if estate is not None:
        fields["in_estate"] = (estate.text or "").strip() == "true"
    return fields


def _claim_fields(structure: etree._Element, action: etree._Element) -> dict[str, Any]:
    children = {child.tag: child for child in structure}
    fields = _leaves(children, _CLAIM_LEAVES)
    amount = children.get(_q("FordringBeløbStruktur"))
    if amount is not None:
        fields["currency"] = amount.findtext(_q("ValutaKode"))
        fields["amount"] = amount.findtext(_q("DMIFordringBeløb"))
    principal = children.get(_q("FordringOprindeligBeløbStruktur"))
    if principal is not None:
        fields["principal"] = principal.findtext(_q("EFIFordringOprindeligBeløb"))
    period = children.get(_q("FordringPeriodeStruktur"))
    if period is not None:
        for field, tag in (
            ("period_start_date", _q("DMIFordringPeriodeFraDato")),
            ("period_end_date", _q("DMIFordringPeriodeTilDato")),
        ):
            value = period.findtext(tag)
            if value is not None:
                fields[field] = value
    interest = children.get(_q("RenteValgStruktur"))
    if interest is not None:
        fields["interest"] = {
            key: value
            for key, value in (
                ("rule", interest.findtext(_q("RenteRegelKode"))),
                ("rate_code", interest.findtext(_q("RenteSatsKode"))),
                ("extra_rate", interest.findtext(_q("MerRenteSats"))),
            )
            if value is not None
        }
    notes = children.get(_q("SagsbemærkningSamling"))
    if notes is not None and len(notes):
        fields["notes"] = [note.findtext(_q("SagsbemærkningTekst")) or "" for note in notes]
    documents = children.get(_q("DokumentSamling"))
    if documents is not None and len(documents):
        fields["documents"] = [
            {
                key: value
                for key, value in (
                    ("reference", document.findtext(_q("DokumentReference"))),
                    ("title", document.findtext(_q("DokumentTitel"))),
                )
                if value is not None
            }
            for document in documents
        ]
    liabilities = children.get(_q("FordringHæftelseSamling"))
    fields["liabilities"] = (
        [] if liabilities is None else [_liability_fields(node) for node in liabilities]
    )
    extension = action.find(_x("KravbroOplysninger"))
    if extension is not None:
        fields.update(_leaves({child.tag: child for child in extension}, _KRAVBRO_LEAVES))
    return fields


def _read_claim(
    index: int, action_id: str, code: str, structure: etree._Element, action: etree._Element
) -> CanonicalClaim | UnreadableAction:
    fields = _claim_fields(structure, action)
    candidate = ClaimCandidate(
        index=index,
        source_path=f"FordringAktion[{index + 1}]",
        source_reference=fields.get("source_reference"),
        fields=fields,
    )
    claim, problems = validate(candidate)
    if claim is None:
        return UnreadableAction(action_id, code, tuple(problems))
    return claim


def _read_action(index: int, action: etree._Element) -> Action | UnreadableAction:
    action_id = action.findtext(_q("MFAktionID")) or ""
    code = action.findtext(_q("MFAktionKode")) or ""
    where = f"FordringAktion[{index + 1}]"
    choice = action.find(_q("AktionValg"))
    if choice is None or len(choice) == 0:
        return _unreadable(action_id, code, "AktionValg is missing", where)
    if code == ActionCode.OPRETFORDRING:
        structure = choice.find(f"{_q('OpretFordringAktion')}/{_q('MFOpretFordringStruktur')}")
        if structure is None:
            return _unreadable(action_id, code, "MFOpretFordringStruktur is missing", where)
        claim = _read_claim(index, action_id, code, structure, action)
        if isinstance(claim, UnreadableAction):
            return claim
        return CreateClaim(
            action_id=action_id,
            claim=claim,
            main_action_id=action.findtext(_q("MFAktionIDRef")),
            main_fordrings_id=structure.findtext(_q("DMIFordringEFIHovedFordringID")),
        )
    if code == ActionCode.GENINDSENDFORDRING:
        wrapper = choice.find(_q("MFGenindsendFordringStruktur"))
        structure = None if wrapper is None else wrapper.find(_q("MFOpretFordringStruktur"))
        if wrapper is None or structure is None:
            return _unreadable(action_id, code, "MFGenindsendFordringStruktur is missing", where)
        claim = _read_claim(index, action_id, code, structure, action)
        if isinstance(claim, UnreadableAction):
            return claim
        return Resubmit(
            action_id=action_id,
            fordrings_id=wrapper.findtext(_q("DMIFordringEFIFordringID")) or "",
            claim=claim,
        )
    try:
        return _read_adjustment(action_id, code, choice[0], action)
    except (MessageContractError, ValueError) as exc:
        return _unreadable(action_id, code, str(exc), where)


def _read_adjustment(
    action_id: str, code: str, structure: etree._Element, action: etree._Element
) -> Action | UnreadableAction:
    try:
        action_code = ActionCode(code)
    except ValueError:
        return _unreadable(action_id, code, f"unknown MFAktionKode {code[:40]}", "MFAktionKode")
    expected, amount_name = ADJUSTMENT_STRUCTURES[action_code]
    if structure.tag != _q(expected):
        return _unreadable(action_id, code, f"{expected} is missing", "AktionValg")
    fordrings_id = _text(structure, _q("DMIFordringEFIFordringID"))
    effective = structure.findtext(_q("VirkningFra"))
    effective_date = None if effective is None else _read_date(effective, "VirkningFra")
    claimant_id = action.findtext(_q("DMIFordringHaverID"))
    reference = action.findtext(_q("MFAktionIDRef"))
    if action_code is ActionCode.TILBAGEKALD:
        return Recall(
            action_id=action_id,
            fordrings_id=fordrings_id,
            reason=RecallReason(_text(structure, _q("HovedFordringTilbagekaldÅrsagKode"))),
            effective_date=effective_date,
            claimant_id=claimant_id,
        )
    assert amount_name is not None  # every action but a recall moves an amount
    amount = _read_money(_text(structure, _q(amount_name)), amount_name)
    if action_code in (ActionCode.NEDSKRIV, ActionCode.NAOR, ActionCode.NAOI):
        reason = (
            WriteDownReason(_text(structure, _q("FordringNedskrivningÅrsagKode")))
            if action_code is ActionCode.NEDSKRIV
            else WriteDownReason(action_code.name)
        )
        return WriteDown(
            action_id=action_id,
            fordrings_id=fordrings_id,
            amount=amount,
            reason=reason,
            effective_date=effective_date,
            reference_action_id=reference,
            claimant_id=claimant_id,
        )
    up_reason = (
        WriteUpReason.REGU
        if action_code is ActionCode.OPSKRIVNINGREGULERING
        else WriteUpReason(action_code.name)
    )
    return WriteUp(
        action_id=action_id,
        fordrings_id=fordrings_id,
        amount=amount,
        reason=up_reason,
        effective_date=effective_date,
        reference_action_id=reference,
        claimant_id=claimant_id,
    )


def _unreadable(action_id: str, code: str, message: str, where: str) -> UnreadableAction:
    return UnreadableAction(
        action_id,
        code,
        (Problem(code="psrm.action_unreadable", message=message, source_path=where),),
    )


def parse_delivery(raw: bytes) -> ParsedDelivery:
    """Read a delivery with every action; an action that makes no valid claim is `Unreadable`.

    Raises:
        MessageParseError: not well-formed XML.
        MessageContractError: not an MFFordringIndberet_I envelope, or its header is incomplete.
    """
    payload = _payload(raw, "MFFordringIndberet_I")
    delivery_id, transaction_id, sender_se, sent_at = _header(payload)
    actions = tuple(
        _read_action(index, action)
        for index, action in enumerate(_child(payload, _q("FordringAktionSamling")))
    )
    return ParsedDelivery(delivery_id, transaction_id, sender_se, sent_at, actions)


# ---------------------------------------------------------------------------------------------
# MFAktionStruktur: an action's status, in the submit answer and in receipts


def _status_xml(receipt: Receipt) -> str:
    """MFAktionStruktur: one action's status, with its errors and hearing rules."""
    rejected = "".join(
        "<MFAktionAfvistStruktur>"
        f"<MFAktionAfvistNummer>{error.code}</MFAktionAfvistNummer>"
        f"<MFAktionAfvistTekst>{_esc(error.text)}</MFAktionAfvistTekst>"
        f"{_leaf('IndgangsfilterRegelID', error.rule_id)}"
        "</MFAktionAfvistStruktur>"
        for error in receipt.errors
    )
    errors = _collection("AfvistÅrsagSamling", rejected)
    hearing = ""
    if receipt.hearing:
        rules = "".join(
            "<HoeringRegel>"
            f"<IndgangsfilterRegelID>{_esc(reason.rule_id)}</IndgangsfilterRegelID>"
            f"<HoeringRegelTekst>{_esc(reason.text)}</HoeringRegelTekst>"
            "</HoeringRegel>"
            for reason in receipt.hearing
        )
        hearing = (
            "<MFHoeringStatusStruktur>"
            f"<HoeringRegelSamling>{rules}</HoeringRegelSamling>"
            "</MFHoeringStatusStruktur>"
        )
    changed, received = receipt.status_changed_at, receipt.received_at
    return (
        "<MFAktionStruktur>"
        f"{_leaf('DMIFordringEFIFordringID', receipt.fordrings_id)}"
        f"{_leaf('DMIFordringEFIHovedFordringID', receipt.main_fordrings_id)}"
        f"{_leaf('DMIFordringFordringHaverRef', receipt.claimant_reference)}"
        f"<MFAktionID>{_esc(receipt.action_id)}</MFAktionID>"
        f"<MFAktionKode>{_esc(receipt.action_code)}</MFAktionKode>"
        f"{_leaf('DMIFordringHaverID', receipt.claimant_id)}"
        f"<MFAktionStatusKode>{receipt.status.value}</MFAktionStatusKode>"
        f"{_leaf('MFAktionStatusÆndretDato', None if changed is None else _time_text(changed))}"
        f"{_leaf('DMIFordringModtagelseDato', None if received is None else _time_text(received))}"
        f"{errors}"
        f"{hearing}"
        "</MFAktionStruktur>"
    )


def _answer_context(service: str, transaction_id: str, answered_at: dt.datetime) -> str:
    return (
        "<Kontekst><sk:HovedOplysningerSvar>"
        f"<sk:TransaktionsID>{_esc(transaction_id)}</sk:TransaktionsID>"
        f"<sk:ServiceID>{service}</sk:ServiceID>"
        f"<sk:TransaktionsTid>{_time(answered_at)}</sk:TransaktionsTid>"
        "<sk:SvarReaktion/>"
        "</sk:HovedOplysningerSvar></Kontekst>"
    )


_STATUS_FIELDS = {
    _q(name): field
    for name, field in (
        ("DMIFordringEFIFordringID", "fordrings_id"),
        ("DMIFordringEFIHovedFordringID", "main_fordrings_id"),
        ("DMIFordringFordringHaverRef", "claimant_reference"),
        ("MFAktionID", "action_id"),
        ("MFAktionKode", "action_code"),
        ("DMIFordringHaverID", "claimant_id"),
        ("MFAktionStatusKode", "status"),
        ("MFAktionStatusÆndretDato", "status_changed_at"),
        ("DMIFordringModtagelseDato", "received_at"),
        ("AfvistÅrsagSamling", "errors"),
        ("MFHoeringStatusStruktur", "hearing"),
    )
}


def _read_errors(collection: etree._Element) -> tuple[ReceiptError, ...]:
    return tuple(
        ReceiptError(
            code=_read_int(item.findtext(_q("MFAktionAfvistNummer")), "MFAktionAfvistNummer"),
            text=item.findtext(_q("MFAktionAfvistTekst")) or "",
            rule_id=item.findtext(_q("IndgangsfilterRegelID")),
        )
        for item in collection
    )


def _read_hearing(structure: etree._Element) -> tuple[HearingReason, ...]:
    return tuple(
        HearingReason(
            rule_id=item.findtext(_q("IndgangsfilterRegelID")) or "",
            text=item.findtext(_q("HoeringRegelTekst")) or "",
        )
        for item in structure.iterfind(f"{_q('HoeringRegelSamling')}/{_q('HoeringRegel')}")
    )


_STATUSES = {status.value: status for status in ActionStatus}


def _read_status(node: etree._Element, delivery_id: str) -> Receipt:
    values: dict[str, Any] = {"action_id": "", "action_code": ""}
    fields = _STATUS_FIELDS
    for child in node:
        field = fields.get(child.tag)
        if field == "errors":
            if len(child):
                values[field] = _read_errors(child)
        elif field == "hearing":
            values[field] = _read_hearing(child)
        elif field is not None:
            values[field] = child.text or ""
    status = _STATUSES.get(values.get("status", ""))
    if status is None:
        raise _contract_error("unknown MFAktionStatusKode", "MFAktionStatusKode")
    values["status"] = status
    for field in ("status_changed_at", "received_at"):
        if field in values:
            values[field] = _read_time(values[field], field)
    return Receipt(delivery_id=delivery_id, **values)


# ---------------------------------------------------------------------------------------------
# MFFordringIndberet_O: the submit answer


def build_submit_response(
    *,
    transaction_id: str,
    sender_se: str,
    delivery_id: str,
    answered_at: dt.datetime,
    actions: Sequence[Receipt],
) -> bytes:
    """Build PSRM's answer to a delivery (MFFordringIndberet_O), one status per action.

    Raises:
        ValueError: a time without a timezone.
    """
    parts = [
        _ENVELOPE_OPEN,
        "<MFFordringIndberet_O>",
        _answer_context("MFFordringIndberet", transaction_id, answered_at),
        "<FordringInfo>",
        _sender_xml(sender_se),
        f"<MFLeveranceID>{_esc(delivery_id)}</MFLeveranceID>",
        "<FordringAktionStatusSamling>",
    ]
    parts.extend(_status_xml(receipt) for receipt in actions)
    parts.append("</FordringAktionStatusSamling></FordringInfo></MFFordringIndberet_O>")
    parts.append(_ENVELOPE_CLOSE)
    return "".join(parts).encode("utf-8")


def parse_submit_response(raw: bytes) -> SubmitAck:
    """Read PSRM's answer to a delivery.

    Raises:
        MessageParseError: not well-formed XML.
        MessageContractError: not an MFFordringIndberet_O envelope (a fault included).
    """
    payload = _payload(raw, "MFFordringIndberet_O")
    transaction_id, answered_at = _context(payload, answer=True)
    info = _child(payload, _q("FordringInfo"))
    delivery_id = _text(info, _q("MFLeveranceID"))
    collection = info.find(_q("FordringAktionStatusSamling"))
    actions = (
        () if collection is None else tuple(_read_status(node, delivery_id) for node in collection)
    )
    return SubmitAck(delivery_id, transaction_id, answered_at, actions)


# ---------------------------------------------------------------------------------------------
# MFKvitteringHent_I / _O: receipts


def build_receipt_request(
    *,
    transaction_id: str,
    sender_se: str,
    sent_at: dt.datetime,
    delivery_id: str,
    max_items: int,
    offset: int = 0,
) -> bytes:
    """Build a request for a delivery's receipts (MFKvitteringHent_I).

    Raises:
        ValueError: a time without a timezone, or a negative offset or non-positive maximum.
    """
    if offset < 0 or max_items < 1:
        raise ValueError("offset must be 0 or more and max_items 1 or more")
    root = _request_root("MFKvitteringHent_I", transaction_id, sent_at)
    _sender(root, sender_se)
    _SE(root, _q("MFLeveranceID")).text = delivery_id
    _SE(root, _q("KvitteringStartNummer")).text = str(offset)
    _SE(root, _q("KvitteringMaksAntal")).text = str(max_items)
    return _envelope(root)


def parse_receipt_request(raw: bytes) -> ReceiptRequest:
    """Read a receipt request.

    Raises:
        MessageParseError: not well-formed XML.
        MessageContractError: not an MFKvitteringHent_I envelope, or a field is missing.
    """
    payload = _payload(raw, "MFKvitteringHent_I")
    transaction_id, sent_at = _context(payload, answer=False)
    offset_text = payload.findtext(_q("KvitteringStartNummer"))
    return ReceiptRequest(
        transaction_id=transaction_id,
        sender_se=_sender_se(payload),
        sent_at=sent_at,
        delivery_id=_text(payload, _q("MFLeveranceID")),
        offset=0 if offset_text is None else _read_int(offset_text, "KvitteringStartNummer"),
        max_items=_read_int(_text(payload, _q("KvitteringMaksAntal")), "KvitteringMaksAntal"),
    )


def build_receipt_response(
    *,
    transaction_id: str,
    answered_at: dt.datetime,
    delivery_id: str,
    receipts: Sequence[Receipt],
) -> bytes:
    """Build the receipts of a delivery (MFKvitteringHent_O); empty when none are ready.

    Raises:
        ValueError: a time without a timezone.
    """
    parts = [
        _ENVELOPE_OPEN,
        "<MFKvitteringHent_O>",
        _answer_context("MFKvitteringHent", transaction_id, answered_at),
        f"<MFLeveranceID>{_esc(delivery_id)}</MFLeveranceID>",
        "<KvitteringSamling>",
    ]
    parts.extend(f"<Kvittering>{_status_xml(receipt)}</Kvittering>" for receipt in receipts)
    parts.append("</KvitteringSamling></MFKvitteringHent_O>")
    parts.append(_ENVELOPE_CLOSE)
    return "".join(parts).encode("utf-8")


def parse_receipt_response(raw: bytes) -> list[Receipt]:
    """Read the receipts of a delivery.

    Raises:
        MessageParseError: not well-formed XML.
        MessageContractError: not an MFKvitteringHent_O envelope (a fault included).
    """
    payload = _payload(raw, "MFKvitteringHent_O")
    delivery_id = _text(payload, _q("MFLeveranceID"))
    collection = payload.find(_q("KvitteringSamling"))
    if collection is None:
        return []
    status = _q("MFAktionStruktur")
    return [_read_status(_child(item, status), delivery_id) for item in collection]


# ---------------------------------------------------------------------------------------------
# MFUnderretSamlingHent_I / _O: notifications


def build_notification_request(
    *,
    transaction_id: str,
    sender_se: str,
    sent_at: dt.datetime,
    from_number: int,
    to_number: int,
) -> bytes:
    """Build a request for notifications by number range (MFUnderretSamlingHent_I).

    Raises:
        ValueError: a time without a timezone, or a range that ends before it starts.
    """
    if from_number < 1 or to_number < from_number:
        raise ValueError("the range must start at 1 or more and not end before it starts")
    root = _request_root("MFUnderretSamlingHent_I", transaction_id, sent_at)
    _sender(root, sender_se)
    _SE(root, _q("UnderretNummerFra")).text = str(from_number)
    _SE(root, _q("UnderretNummerTil")).text = str(to_number)
    return _envelope(root)


def parse_notification_request(raw: bytes) -> NotificationRequest:
    """Read a notification request.

    Raises:
        MessageParseError: not well-formed XML.
        MessageContractError: not an MFUnderretSamlingHent_I envelope, or the range is missing.
    """
    payload = _payload(raw, "MFUnderretSamlingHent_I")
    transaction_id, sent_at = _context(payload, answer=False)
    return NotificationRequest(
        transaction_id=transaction_id,
        sender_se=_sender_se(payload),
        sent_at=sent_at,
        from_number=_read_int(_text(payload, _q("UnderretNummerFra")), "UnderretNummerFra"),
        to_number=_read_int(_text(payload, _q("UnderretNummerTil")), "UnderretNummerTil"),
    )


def _amount_structure(parent: etree._Element, prefix: str, amount: Decimal) -> None:
    structure = _SE(parent, _q(f"{prefix}BeloebStruktur"))
    text = _money(amount)
    _SE(structure, _q(f"{prefix}Beloeb")).text = text
    _SE(structure, _q(f"{prefix}BeloebDKK")).text = text
    _SE(structure, _q("ValutaKode")).text = "DKK"


def _read_amount(parent: etree._Element, prefix: str) -> Decimal:
    structure = _child(parent, _q(f"{prefix}BeloebStruktur"))
    return _read_money(_text(structure, _q(f"{prefix}Beloeb")), f"{prefix}Beloeb")


def _coverage_element(parent: etree._Element, line: CoverageLine) -> None:
    item = _SE(parent, _q("FordringerOmfattetAfUdligningenAfregningen"))
    _SE(item, _q("DMIFordringEFIFordringID")).text = line.fordrings_id
    if line.main_fordrings_id is not None:
        _SE(item, _q("DMIFordringEFIHovedFordringID")).text = line.main_fordrings_id
    if line.claimant_reference is not None:
        _SE(item, _q("DMIFordringFordringHaverRef")).text = line.claimant_reference
    _SE(item, _q("DMIFordringFordringArtKode")).text = line.art.value
    _SE(item, _q("DMIFordringTypeKode")).text = line.fordringstype
    _SE(item, _q("DMIFordringTypeKategori")).text = line.category.value
    _SE(item, _q("DMITransaktionVirkningDato")).text = line.effective_date.isoformat()
    payment = _SE(item, _q("SupplerendeIndbetalingOplysninger"))
    if line.payment_id is not None:
        _SE(payment, _q("DMIIndbetalingID")).text = line.payment_id
    _SE(payment, _q("DMIIndbetalingAktivitetType")).text = line.activity.value
    if line.activity_text is not None:
        _SE(payment, _q("DMIIndbetalingAktivitetTekst")).text = line.activity_text
    _amount_structure(item, "FordringAfregning", line.amount)
    _amount_structure(item, "FordringRest", line.remaining_amount)


def _read_coverage(item: etree._Element) -> CoverageLine:
    payment = _child(item, _q("SupplerendeIndbetalingOplysninger"))
    try:
        activity = CoverageKind(_text(payment, _q("DMIIndbetalingAktivitetType")))
        category = ClaimCategory(_text(item, _q("DMIFordringTypeKategori")))
        art = FordringArt(_text(item, _q("DMIFordringFordringArtKode")))
    except ValueError as exc:
        raise _contract_error("unknown code in a coverage line", "FordringerOmfattet") from exc
    return CoverageLine(
        fordrings_id=_text(item, _q("DMIFordringEFIFordringID")),
        main_fordrings_id=_maybe(item, _q("DMIFordringEFIHovedFordringID")),
        claimant_reference=_maybe(item, _q("DMIFordringFordringHaverRef")),
        fordringstype=_text(item, _q("DMIFordringTypeKode")),
        category=category,
        art=art,
        effective_date=_read_date(
            _text(item, _q("DMITransaktionVirkningDato")), "DMITransaktionVirkningDato"
        ),
        activity=activity,
        payment_id=_maybe(payment, _q("DMIIndbetalingID")),
        activity_text=_maybe(payment, _q("DMIIndbetalingAktivitetTekst")),
        amount=_read_amount(item, "FordringAfregning"),
        remaining_amount=_read_amount(item, "FordringRest"),
    )


def _claim_identity(parent: etree._Element, fordrings_id: str, reference: str | None) -> None:
    _SE(parent, _q("DMIFordringEFIFordringID")).text = fordrings_id
    if reference is not None:
        _SE(parent, _q("DMIFordringFordringHaverRef")).text = reference


def _notification_element(parent: etree._Element, notice: Notification) -> None:
    item = _SE(parent, _q("Underret"))
    _SE(item, _q("UnderretNummer")).text = str(notice.number)
    _SE(item, _q("UnderretDannetTidspunkt")).text = _time(notice.created_at)
    choice = _SE(item, _q("UnderretValg"))
    if isinstance(notice, Settlement):
        settlement = _SE(_SE(choice, _q("MFUnderretAfregningStruktur")), _q("UdligningAfregning"))
        _SE(settlement, _q("FordringHaverAfregningID")).text = notice.settlement_id
        _amount_structure(settlement, "FordringHaverAfregning", notice.amount)
        _SE(settlement, _q("FordringHaverAfregningDato")).text = notice.settlement_date.isoformat()
        _SE(
            settlement, _q("FordringHaverAfregningPerFra")
        ).text = notice.period_start_date.isoformat()
        _SE(
            settlement, _q("FordringHaverAfregningPerTil")
        ).text = notice.period_end_date.isoformat()
        lines = _SE(settlement, _q("FordringHaverFordringListe"))
        for line in notice.lines:
            _coverage_element(lines, line)
    elif isinstance(notice, BalanceMovement):
        _coverage_element(_SE(choice, _q("MFUnderretUdligningStruktur")), notice.line)
    elif isinstance(notice, InterestNotice):
        interest = _SE(choice, _q("MFUnderretRenteStruktur"))
        _claim_identity(interest, notice.fordrings_id, notice.claimant_reference)
        _amount_structure(interest, "Rente", notice.amount)
        _SE(interest, _q("RentePeriodeFra")).text = notice.period_start_date.isoformat()
        _SE(interest, _q("RentePeriodeTil")).text = notice.period_end_date.isoformat()
        if notice.rate_percent is not None:
            _SE(interest, _q("RenteSatsProcent")).text = str(notice.rate_percent)
    elif isinstance(notice, WriteOff):
        write_off = _SE(choice, _q("MFUnderretAfskrivningStruktur"))
        _claim_identity(write_off, notice.fordrings_id, notice.claimant_reference)
        _amount_structure(write_off, "FordringAfskrivning", notice.amount)
        _SE(write_off, _q("FordringAfskrivningAarsagKode")).text = notice.reason
        _SE(write_off, _q("DMITransaktionVirkningDato")).text = notice.effective_date.isoformat()
    else:
        returned = _SE(choice, _q("MFUnderretTilbagesendStruktur"))
        _claim_identity(returned, notice.fordrings_id, notice.claimant_reference)
        _SE(returned, _q("TilbagesendTypeKode")).text = notice.kind.value
        _SE(returned, _q("HovedFordringReturAarsagKode")).text = notice.reason
        _amount_structure(returned, "FordringRest", notice.remaining_amount)
        _SE(returned, _q("DMITransaktionVirkningDato")).text = notice.effective_date.isoformat()


_NOTIFICATION_KINDS = frozenset(
    _q(name)
    for name in (
        "MFUnderretAfregningStruktur",
        "MFUnderretUdligningStruktur",
        "MFUnderretRenteStruktur",
        "MFUnderretAfskrivningStruktur",
        "MFUnderretTilbagesendStruktur",
    )
)


def _read_notification(item: etree._Element) -> Notification:
    number = _read_int(_text(item, _q("UnderretNummer")), "UnderretNummer")
    created_at = _read_time(_text(item, _q("UnderretDannetTidspunkt")), "UnderretDannetTidspunkt")
    choice = _child(item, _q("UnderretValg"))
    if len(choice) == 0:
        raise _contract_error("UnderretValg is empty", "Underret/UnderretValg")
    body = choice[0]
    kind = _local(body.tag)
    if body.tag not in _NOTIFICATION_KINDS:
        raise _contract_error(f"unknown notification {kind[:60]}", "Underret/UnderretValg")
    if kind == "MFUnderretAfregningStruktur":
        settlement = _child(body, _q("UdligningAfregning"))
        lines = settlement.find(_q("FordringHaverFordringListe"))
        return Settlement(
            number=number,
            created_at=created_at,
            settlement_id=_text(settlement, _q("FordringHaverAfregningID")),
            amount=_read_amount(settlement, "FordringHaverAfregning"),
            settlement_date=_read_date(
                _text(settlement, _q("FordringHaverAfregningDato")), "FordringHaverAfregningDato"
            ),
            period_start_date=_read_date(
                _text(settlement, _q("FordringHaverAfregningPerFra")),
                "FordringHaverAfregningPerFra",
            ),
            period_end_date=_read_date(
                _text(settlement, _q("FordringHaverAfregningPerTil")),
                "FordringHaverAfregningPerTil",
            ),
            lines=() if lines is None else tuple(_read_coverage(line) for line in lines),
        )
    if kind == "MFUnderretUdligningStruktur":
        line = _child(body, _q("FordringerOmfattetAfUdligningenAfregningen"))
        return BalanceMovement(number=number, created_at=created_at, line=_read_coverage(line))
    fordrings_id = _text(body, _q("DMIFordringEFIFordringID"))
    reference = _maybe(body, _q("DMIFordringFordringHaverRef"))
    if kind == "MFUnderretRenteStruktur":
        rate = _maybe(body, _q("RenteSatsProcent"))
        return InterestNotice(
            number=number,
            created_at=created_at,
            fordrings_id=fordrings_id,
            claimant_reference=reference,
            amount=_read_amount(body, "Rente"),
            period_start_date=_read_date(_text(body, _q("RentePeriodeFra")), "RentePeriodeFra"),
            period_end_date=_read_date(_text(body, _q("RentePeriodeTil")), "RentePeriodeTil"),
            rate_percent=None if rate is None else _read_money(rate, "RenteSatsProcent"),
        )
    effective_date = _read_date(
        _text(body, _q("DMITransaktionVirkningDato")), "DMITransaktionVirkningDato"
    )
    if kind == "MFUnderretAfskrivningStruktur":
        return WriteOff(
            number=number,
            created_at=created_at,
            fordrings_id=fordrings_id,
            claimant_reference=reference,
            amount=_read_amount(body, "FordringAfskrivning"),
            reason=_text(body, _q("FordringAfskrivningAarsagKode")),
            effective_date=effective_date,
        )
    try:
        return_kind = ReturnKind(_text(body, _q("TilbagesendTypeKode")))
    except ValueError as exc:
        raise _contract_error("unknown TilbagesendTypeKode", "TilbagesendTypeKode") from exc
    return ReturnNotice(
        number=number,
        created_at=created_at,
        fordrings_id=fordrings_id,
        claimant_reference=reference,
        kind=return_kind,
        reason=_text(body, _q("HovedFordringReturAarsagKode")),
        remaining_amount=_read_amount(body, "FordringRest"),
        effective_date=effective_date,
    )


def build_notification_response(
    *, transaction_id: str, answered_at: dt.datetime, notifications: Sequence[Notification]
) -> bytes:
    """Build a collection of notifications (MFUnderretSamlingHent_O).

    Raises:
        ValueError: a time without a timezone, or an amount with more than two decimals.
    """
    root = _response_root(
        "MFUnderretSamlingHent_O", "MFUnderretSamlingHent", transaction_id, answered_at
    )
    collection = _SE(root, _q("UnderretSamling"))
    for notice in notifications:
        _notification_element(collection, notice)
    return _envelope(root)


def parse_notification_response(raw: bytes) -> list[Notification]:
    """Read a collection of notifications, in the order PSRM sent them.

    Raises:
        MessageParseError: not well-formed XML.
        MessageContractError: not an MFUnderretSamlingHent_O envelope, or a notification is
            incomplete or of an unknown kind.
    """
    payload = _payload(raw, "MFUnderretSamlingHent_O")
    collection = payload.find(_q("UnderretSamling"))
    if collection is None:
        return []
    return [_read_notification(item) for item in collection]
