"""Hostile intake messages: valid ones written from the published contracts, then broken.

Nothing here comes from kravbro's own examples or sample builders: each source's valid message
is written from its contract (contracts/<source>/README.md and schema), with every optional part
drawn in or left out. Hypothesis then breaks it, structurally (members and elements dropped,
repeated, reordered, renamed, moved into other namespaces, values of other types), in its values
(empty, white space, control characters, huge, non-ASCII digits, impossible dates, numbers like
1e400 or NaN, CPR numbers and names in every text field) and as bytes (encodings against the
declared one, truncation, corruption).

`render` turns a drawn case into the bytes to post; `Checker` posts them and checks the
properties intake promises for any message at all (see `Checker.post`).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st
from sqlalchemy import select, text

from app.db.session import Database
from app.db.tables import Claim
from tests.builders import auth

TAG = "TAGX"  # replaced by a per-example tag of letters, so every message and claim id is new

KY_NS = None
KSD_NS = "urn:kombit:ksd:debitor:krav:1"
OIR_NS = "urn:oio:kombit:oir:debitorregistrering:1.0"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"

NAMES = (
    "Mette Kristensen",
    "Søren Ærø Østergaard",
    "Ahmad Rahimi",
    "Åse Bødker Møller",
    "Yusuf Haddad",
    "Line Ørsted-Blå",
)

# Names put where no name belongs (a reference, a date): a pool of their own.
STRAY_NAMES = ("Karen Blixen Dinesen", "Hans Christian Andersen")

# Kinds of case that `render` can keep out (`known`), each a failure reported and not yet fixed:
CPR_IN_MESSAGE_ID = "cpr-in-message-id"  # KSD BatchId, ØiR MeddelelseID echoed as message_id
CPR_IN_MAIN_REFERENCE = "cpr-in-main-reference"  # echoed by related.main_claim_rejected
CPR_IN_FORDRINGSTYPE = "cpr-in-fordringstype"  # KY: echoed by fordringstype.unknown
CPR_IN_XML_NAME = "cpr-in-xml-name"  # element names and namespaces echoed in paths/messages
CPR_IN_COUNT = "cpr-in-count"  # KSD: AntalKrav echoed by batch.count_mismatch
KSD_NAME_IN_LIST = "ksd-known-name-in-list"
LONG_REFERENCE = "long-reference"  # a claim reference > 64 characters sent again: 500

_REFERENCES = {
    "reference",
    "KravId",
    "RenteId",
    "FordringID",
    "HovedFordringID",
}  # <Dokumenter><Beloeb/> or <Renter><KravId/>: 500

_PROTECTED_FIELDS = {
    CPR_IN_MESSAGE_ID: {"BatchId", "MeddelelseID"},
    CPR_IN_MAIN_REFERENCE: {"reference", "KravId", "FordringID", "HovedFordringID"},
    CPR_IN_FORDRINGSTYPE: {"fordringstype", "Fordringstype"},
    CPR_IN_COUNT: {"AntalKrav"},
}

# ---------------------------------------------------------------------------------------------
# Identifiers and plain values
# ---------------------------------------------------------------------------------------------


@st.composite
def cprs(draw: st.DrawFn) -> str:
    """A CPR number with a valid date (DDMMYY + 4 digits); the 7th digit any century."""
    day = draw(st.integers(1, 28))
    month = draw(st.integers(1, 12))
    year = draw(st.integers(0, 99))
    serial = draw(st.integers(0, 9999))
    return f"{day:02d}{month:02d}{year:02d}{serial:04d}"


def mod11_number(seed: int) -> str:
    """An 8-digit number passing modulus 11 (weights 2,7,6,5,4,3,2,1), as CVR and SE need."""
    weights = (2, 7, 6, 5, 4, 3, 2)
    base = 3_000_000 + seed * 7919 % 6_000_000
    while True:
        digits = f"{base:07d}"
        check = -sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
        if check < 10:
            return digits + str(check)
        base += 1


def _date(day: dt.date) -> str:
    return day.isoformat()


@dataclass
class Dates:
    """A consistent set of claim dates: period, decision, due ≤ SRB, notice."""

    start: dt.date
    end: dt.date
    decision: dt.date
    due: dt.date
    srb: dt.date
    notice: dt.date


@st.composite
def claim_dates(draw: st.DrawFn) -> Dates:
    start = dt.date(2024, 1, 1) + dt.timedelta(days=draw(st.integers(0, 600)))
    end = start + dt.timedelta(days=draw(st.integers(0, 90)))
    decision = end + dt.timedelta(days=draw(st.integers(0, 60)))
    due = decision + dt.timedelta(days=draw(st.integers(0, 45)))
    srb = due + dt.timedelta(days=draw(st.integers(0, 30)))
    notice = srb + dt.timedelta(days=draw(st.integers(0, 30)))
    return Dates(start, end, decision, due, srb, notice)


@st.composite
def amounts(draw: st.DrawFn) -> tuple[str, str]:
    """(principal, amount) as decimal text with amount ≤ principal."""
    principal_cents = draw(st.integers(100, 9_999_999))
    amount_cents = draw(st.integers(0, principal_cents))
    return f"{principal_cents // 100}.{principal_cents % 100:02d}", (
        f"{amount_cents // 100}.{amount_cents % 100:02d}"
    )


# Values put in place of any value. Strings, then JSON tokens (KY only).
HOSTILE_TEXT = (
    "",
    " ",
    "  \t\r\n  ",
    "\u00a0",
    "\u200b",
    "\ufeff",
    "\u202eKY-2025",
    "x\u0000y",
    "\u0001\u0008\u000b\u001f",
    "\u007f\u0085",
    "Æ Ø Å æ ø å",
    "日本語",
    "😀",
    "١٢٣",
    "١٢٣٤.٥٠",
    "𝟙𝟚𝟛",
    "１２３４",
    "0",
    "-0",
    "0.001",
    "12.345",
    "12,50",
    "1.000,00",
    "-1",
    "+1",
    "1e400",
    "1E-400",
    "NaN",
    "Infinity",
    "-Infinity",
    "99999999.99",
    "100000000.00",
    "9" * 400,
    "0x1F",
    "0000-00-00",
    "2026-02-30",
    "2025-02-29",
    "2024-02-29",
    "9999-12-31",
    "0001-01-01",
    "1899-12-31",
    "2200-01-01",
    "2026-13-01",
    "2026-3-2",
    "20260302",
    "2026-03-02T00:00:00Z",
    "2026-03-02Z",
    "-2026-03-02",
    "true",
    "null",
    "DKK",
    "EUR",
    "INDR",
    "MODR",
    "REOPKOM",
    "KTTIBAK",
    "ÆØÅ1234",
    "<b>x</b>",
    "&amp;",
    "]]>",
    "'; DROP TABLE claim; --",
    "%s%s%s%n",
    "{0}{1}",
    "${jndi:ldap://x}",
    "\\",
    '"',
    "a" * 33,
    "a" * 64,
    "a" * 65,
    "b" * 201,
    "c" * 1001,
    "d" * 70_000,
    "e " * 5000,
)

HOSTILE_JSON_TOKENS = (
    "1e400",
    "-1e400",
    "1e-400",
    "1E+999999",
    # Beyond any Decimal's exponent (found by an outside probe; a 500 until fixed).
    "1e99999999999999999999",
    "0e99999999999999999999",
    "-1e-99999999999999999999",
    "NaN",
    "Infinity",
    "-Infinity",
    "-0",
    "-0.0",
    "0.001",
    "0",
    "1.5e2",
    "12.345",
    "12.340",
    "99999999.99",
    "100000000",
    "123456789012345678901234567890",
    "9" * 5001,
    "0.1e1",
    "-1",
    "true",
    "false",
    "null",
    "[]",
    "{}",
    "[null]",
    '{"a": 1}',
    "0101",  # a leading zero: not JSON
    "1.",  # not JSON
    ".5",  # not JSON
    "+1",  # not JSON
    "0x10",  # not JSON
    '"\\ud800"',  # an escaped lone surrogate
    '"\\u0000"',
    '"\\u0030\\u0031\\u0030\\u0031\\u0035\\u0030\\u0031\\u0030\\u0030\\u0030"',  # 0101501000
)

# ---------------------------------------------------------------------------------------------
# JSON trees with member order, repeats and raw tokens (for KY)
# ---------------------------------------------------------------------------------------------


@dataclass
class Obj:
    """A JSON object as a list of members: order kept, a name may repeat."""

    pairs: list[tuple[str, Any]]

    def get(self, name: str) -> Any:
        for key, value in self.pairs:
            if key == name:
                return value
        return None


@dataclass(frozen=True)
class Raw:
    """JSON text written as is (a number token, or something that is not JSON)."""

    token: str


def obj(**members: Any) -> Obj:
    return Obj([(k, v) for k, v in members.items() if v is not _ABSENT])


_ABSENT: Any = object()


def dump_json(value: Any, *, ascii_only: bool = False) -> str:
    if isinstance(value, Obj):
        inner = ",".join(
            f"{json.dumps(k, ensure_ascii=ascii_only)}:{dump_json(v, ascii_only=ascii_only)}"
            for k, v in value.pairs
        )
        return "{" + inner + "}"
    if isinstance(value, list):
        return "[" + ",".join(dump_json(v, ascii_only=ascii_only) for v in value) + "]"
    if isinstance(value, Raw):
        return value.token
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=ascii_only)
    return json.dumps(value)


def json_slots(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a tree that holds a value (the root too), as a path of keys/indexes."""
    yield path
    if isinstance(value, Obj):
        for i, (_, v) in enumerate(value.pairs):
            yield from json_slots(v, (*path, i))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from json_slots(v, (*path, i))


def json_at(root: Any, path: tuple[Any, ...]) -> Any:
    node = root
    for step in path:
        node = node.pairs[step][1] if isinstance(node, Obj) else node[step]
    return node


def json_set(root: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = json_at(root, path[:-1])
    last = path[-1]
    if isinstance(parent, Obj):
        parent.pairs[last] = (parent.pairs[last][0], value)
    else:
        parent[last] = value
    return root


# ---------------------------------------------------------------------------------------------
# XML trees (for KSD and ØiR)
# ---------------------------------------------------------------------------------------------


@dataclass
class El:
    """An element: its local name, namespace (None: its parent's), text or children."""

    name: str
    children: list[El] = field(default_factory=list)
    text: str | None = None
    ns: str | None = None
    attrs: list[tuple[str, str]] = field(default_factory=list)
    cdata: bool = False
    extra: str = ""  # raw markup written after the start tag (comments, PIs, mixed content)


def el(name: str, *children: El | None, text: str | None = None) -> El:
    return El(name, [c for c in children if c is not None], text)


def leaf(name: str, value: str | None) -> El | None:
    return None if value is None else El(name, text=value)


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def dump_xml(root: El, *, prefix: str | None, default_ns: str) -> str:
    """Serialise with the contract's namespace as default (prefix None) or under `prefix`."""
    out: list[str] = []

    def write(node: El, inherited: str, top: bool) -> None:
        ns = node.ns or inherited
        decl = ""
        if ns == default_ns:
            tag = f"{prefix}:{node.name}" if prefix else node.name
            if top:
                decl = f' xmlns:{prefix}="{ns}"' if prefix else f' xmlns="{ns}"'
        elif ns == "":
            tag = node.name
            decl = ' xmlns=""' if not prefix else ""
        else:
            tag = f"q:{node.name}"
            decl = f' xmlns:q="{_escape(ns)}"'
        attrs = "".join(f' {k}="{_escape(v).replace(chr(34), "&quot;")}"' for k, v in node.attrs)
        if node.text is None and not node.children and not node.extra:
            out.append(f"<{tag}{decl}{attrs}/>")
            return
        out.append(f"<{tag}{decl}{attrs}>{node.extra}")
        if node.text is not None:
            if node.cdata and "]]>" not in node.text:
                out.append(f"<![CDATA[{node.text}]]>")
            else:
                out.append(_escape(node.text))
        for child in node.children:
            write(child, ns, False)
        out.append(f"</{tag}>")

    write(root, root.ns or default_ns, True)
    return "".join(out)


def xml_slots(node: El, path: tuple[int, ...] = ()) -> Iterator[tuple[int, ...]]:
    yield path
    for i, child in enumerate(node.children):
        yield from xml_slots(child, (*path, i))


def xml_at(root: El, path: tuple[int, ...]) -> El:
    node = root
    for step in path:
        node = node.children[step]
    return node


def xml_leaves(root: El) -> list[El]:
    return [n for n in _walk(root) if not n.children]


def _walk(node: El) -> Iterator[El]:
    yield node
    for child in node.children:
        yield from _walk(child)


# ---------------------------------------------------------------------------------------------
# Valid messages, from each contract
# ---------------------------------------------------------------------------------------------

_BENEFITS = (
    "kontanthjaelp",
    "uddannelseshjaelp",
    "selvforsoergelsesydelse",
    "overgangsydelse",
    "enkeltydelse",
    "boligindskud",
    "ressourceforloebsydelse",
    "ledighedsydelse",
    "revalideringsydelse",
    "kontantydelse",
    "flekslontilskud",
    "jobafklaringsydelse",
    "personligt_tillaeg",
    "andet",
)


@dataclass
class Planted:
    """The personal data written into a message: none of it may come back."""

    cprs: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    # Names written where no name belongs (a date, a reference): checked only when asked.
    stray_names: set[str] = field(default_factory=set)


@dataclass
class Base:
    """A valid message as a tree, before the per-example tag and the mutations."""

    source: str
    tree: Any
    planted: Planted
    # XML only: the namespace prefix (None: default namespace), the envelope (ØiR).
    prefix: str | None = None
    envelope: str = "bare"


def _maybe(draw: st.DrawFn, value: Any) -> Any:
    return value if draw(st.booleans()) else _ABSENT


@st.composite
def ky_messages(draw: st.DrawFn) -> Base:
    planted = Planted()

    def debtor(cpr: str, *, main: bool) -> Obj:
        planted.cprs.add(cpr)
        written = f"{cpr[:6]}-{cpr[6:]}" if draw(st.booleans()) else cpr
        name = draw(st.sampled_from(NAMES))
        planted.names.add(name)
        return obj(
            cpr=written,
            name=_maybe(draw, name),
            limitationDate=_maybe(draw, "2030-12-31") if main else _ABSENT,
            inEstate=_maybe(draw, draw(st.booleans())),
        )

    def amount_value(text_value: str) -> Any:
        return text_value if draw(st.booleans()) else Raw(text_value)

    claims = []
    n = draw(st.integers(1, 3))
    for i in range(n):
        dates = draw(claim_dates())
        principal, amount = draw(amounts())
        benefit = draw(st.sampled_from(_BENEFITS))
        debtors = draw(st.lists(cprs(), min_size=1, max_size=3, unique=True))
        interest = []
        for j in range(draw(st.integers(0, 2))):
            ip, ia = draw(amounts())
            interest.append(
                obj(
                    reference=f"{TAG}-{i}-R{j}",
                    fordringstype=_maybe(draw, "REOPKOM"),
                    period=obj(**{"from": _date(dates.srb), "to": _date(dates.notice)}),
                    principal=amount_value(ip),
                    amount=amount_value(ia),
                    currency=_maybe(draw, "DKK"),
                    dueDate=_date(dates.notice + dt.timedelta(days=1)),
                    srbDate=_date(dates.notice + dt.timedelta(days=15)),
                    description=_maybe(draw, "Morarenter"),
                )
            )
        claim = obj(
            reference=f"{TAG}-{i}",
            benefit=benefit,
            fordringstype="KTTIBAK" if benefit == "andet" else _maybe(draw, "KTTIBAK"),
            legalBasis="aktivloven § 91" if benefit == "andet" else _maybe(draw, "aktivloven"),
            art=_maybe(draw, "INDR"),
            claimantReference=_maybe(draw, f"KYR-{TAG}-{i}"),
            citizen=debtor(debtors[0], main=True),
            coDebtors=_maybe(draw, [debtor(c, main=False) for c in debtors[1:]]),
            period=obj(**{"from": _date(dates.start), "to": _date(dates.end)}),
            principal=amount_value(principal),
            amount=amount_value(amount),
            currency=_maybe(draw, "DKK"),
            decisionDate=_date(dates.decision),
            foundingDate=_maybe(draw, _date(dates.decision)),
            dueDate=_date(dates.due),
            srbDate=_date(dates.srb),
            noticeDate=_maybe(draw, _date(dates.notice)),
            description="Tilbagebetaling af ydelse",
            notes=_maybe(draw, ["Note om sagen", "Anden note"]),
            documents=_maybe(draw, [obj(reference="DOK-1", title="Afgørelse")]),
            interestChoice=_maybe(draw, obj(rule="001", rateCode="03", extraRate="2.5")),
            interestClaims=interest if interest else _ABSENT,
        )
        claims.append(claim)
    envelope = obj(
        messageId=f"KY-{TAG}",
        sentAt=_maybe(draw, "2026-03-02T08:15:04+01:00"),
        claimantId=_maybe(draw, "1234"),
    )
    if n == 1 and draw(st.booleans()):
        envelope.pairs.append(("claim", claims[0]))
    else:
        envelope.pairs.append(("claims", claims))
    return Base("ky", envelope, planted)


@st.composite
def ksd_messages(draw: st.DrawFn) -> Base:
    planted = Planted()

    def debtor(tag: str, seed: int, kind: str) -> El:
        name = draw(st.sampled_from(NAMES))
        if kind == "CPR":
            number = draw(cprs())
            planted.cprs.add(number)
            planted.names.add(name)
        else:
            number = mod11_number(seed)
        return el(
            tag,
            leaf(kind, number),
            leaf("Navn", name) if draw(st.booleans()) else None,
            leaf("Foraeldelsesdato", "2030-06-30") if draw(st.booleans()) else None,
            leaf("Bobehandling", draw(st.sampled_from(["true", "false", "1", "0"])))
            if draw(st.booleans())
            else None,
        )

    krav = []
    n = draw(st.integers(1, 3))
    for i in range(n):
        dates = draw(claim_dates())
        principal, amount = draw(amounts())
        kind = draw(st.sampled_from(["CPR", "CPR", "CVR", "SE"]))
        renter = []
        for j in range(draw(st.integers(0, 2))):
            ip, ia = draw(amounts())
            renter.append(
                el(
                    "Rente",
                    leaf("RenteId", f"{TAG}-{i}-R{j}"),
                    leaf("Fordringstype", "REOPKOM") if draw(st.booleans()) else None,
                    el("Periode", leaf("Fra", _date(dates.srb)), leaf("Til", _date(dates.notice))),
                    leaf("Hovedstol", ip),
                    leaf("Beloeb", ia),
                    leaf("Stiftelsesdato", _date(dates.notice)),
                    leaf("Forfaldsdato", _date(dates.notice + dt.timedelta(days=1))),
                    leaf(
                        "SidsteRettidigeBetalingsdato", _date(dates.notice + dt.timedelta(days=15))
                    ),
                    leaf("Beskrivelse", "Morarenter") if draw(st.booleans()) else None,
                )
            )
        medskyldnere = [
            debtor("Medskyldner", i * 10 + m + 1, "CPR" if kind == "CPR" else "CVR")
            for m in range(draw(st.integers(0, 2)))
        ]
        krav.append(
            el(
                "Krav",
                leaf("KravId", f"{TAG}-{i}"),
                leaf("Fordringstype", "KLSYGDP" if kind == "CPR" else "KLSYGAG")
                if draw(st.booleans())
                else None,
                leaf("Fordringsart", "INDR") if draw(st.booleans()) else None,
                leaf("Fordringshaverreference", f"FR-{TAG}-{i}") if draw(st.booleans()) else None,
                debtor("Skyldner", i * 10, kind),
                *medskyldnere,
                el("Periode", leaf("Fra", _date(dates.start)), leaf("Til", _date(dates.end))),
                leaf("Hovedstol", principal),
                leaf("Beloeb", amount),
                leaf("Stiftelsesdato", _date(dates.decision)),
                leaf("Forfaldsdato", _date(dates.due)),
                leaf("SidsteRettidigeBetalingsdato", _date(dates.srb)),
                leaf("Varslingsdato", _date(dates.notice)) if draw(st.booleans()) else None,
                leaf("Afgoerelsesdato", _date(dates.decision)) if draw(st.booleans()) else None,
                leaf("Beskrivelse", "Tilbagebetaling af sygedagpenge")
                if draw(st.booleans())
                else None,
                leaf("Lovgrundlag", "Lov om sygedagpenge") if draw(st.booleans()) else None,
                el("Noter", leaf("Note", "Linje 1\nLinje 2")) if draw(st.booleans()) else None,
                el("Dokumenter", el("Dokument", leaf("Reference", "D-1"), leaf("Titel", "Brev")))
                if draw(st.booleans())
                else None,
                el(
                    "Rentevalg",
                    leaf("Renteregel", "001"),
                    leaf("Rentesatskode", "03"),
                    leaf("Merrentesats", "2.5"),
                )
                if draw(st.booleans())
                else None,
                el("Renter", *renter) if renter else None,
            )
        )
    hoved = el(
        "Hoved",
        leaf("BatchId", f"KSD-{TAG}"),
        leaf("Dannet", draw(st.sampled_from(["2026-03-01T06:30:00+01:00", "2026-03-01T06:30:00"]))),
        leaf("Kommunekode", "751"),
        leaf("FordringshaverId", "1234") if draw(st.booleans()) else None,
        leaf("AntalKrav", str(n)),
    )
    prefix = draw(st.sampled_from([None, "ksd", "k"]))
    return Base("ksd", el("Batch", hoved, *krav), planted, prefix=prefix)


@st.composite
def oir_messages(draw: st.DrawFn) -> Base:
    planted = Planted()
    counter = iter(range(1000))

    def number(kind: str) -> str:
        if kind == "CPRNummer":
            value = draw(cprs())
            planted.cprs.add(value)
            return value
        if kind == "AKRNummer":
            return f"9{next(counter):010d}"
        return mod11_number(next(counter) + 17)

    def name() -> El | None:
        if not draw(st.booleans()):
            return None
        value = draw(st.sampled_from(NAMES))
        planted.names.add(value)
        return leaf("Navn", value)

    def fordring(tag: str, ident: str, fordringstype: str, *, sub: bool) -> El:
        dates = draw(claim_dates())
        principal, amount = draw(amounts())
        haeftelser = []
        if draw(st.integers(0, 3)) == 0:
            for _ in range(draw(st.integers(1, 2))):
                haeftelser.append(
                    el(
                        "Haeftelse",
                        leaf("CPRNummer", number("CPRNummer")),
                        name(),
                        leaf("ForaeldelsesDato", "2031-01-31") if draw(st.booleans()) else None,
                        leaf("Bobehandling", "false") if draw(st.booleans()) else None,
                    )
                )
        subs = []
        if not sub:
            subs = [
                fordring("Delfordring", f"{ident}-D{k}", "REOPKOM", sub=True)
                for k in range(draw(st.integers(0, 2)))
            ]
        return el(
            tag,
            leaf("FordringID", ident),
            leaf("FordringshaverRef", f"R-{ident}") if draw(st.booleans()) else None,
            leaf("Fordringstype", fordringstype),
            leaf("FordringArt", "INDR") if draw(st.booleans()) else None,
            leaf("Hovedstol", principal),
            leaf("Beloeb", amount),
            leaf("Valuta", "DKK") if draw(st.booleans()) else None,
            el("Periode", leaf("FraDato", _date(dates.start)), leaf("TilDato", _date(dates.end))),
            leaf("Stiftelsesdato", _date(dates.decision)),
            leaf("Forfaldsdato", _date(dates.due)),
            leaf("SRBDato", _date(dates.srb)),
            leaf("AfgoerelsesDato", _date(dates.decision)) if draw(st.booleans()) else None,
            leaf("VarslingsDato", _date(dates.notice)) if draw(st.booleans()) else None,
            leaf("Beskrivelse", "Tilbagebetaling") if draw(st.booleans()) else None,
            leaf("Fordringsnote", "En note") if draw(st.booleans()) else None,
            el("Dokument", leaf("DokumentID", "DOK 1"), leaf("Titel", "Brev"))
            if draw(st.booleans())
            else None,
            el(
                "Rentevalg",
                leaf("Renteregel", "002"),
                leaf("RenteSatsKode", "99"),
                leaf("MerRenteSats", "0.0001"),
            )
            if draw(st.booleans())
            else None,
            *haeftelser,
            *subs,
        )

    konti = []
    for a in range(draw(st.integers(1, 2))):
        kind = draw(
            st.sampled_from(["CPRNummer", "CPRNummer", "CVRNummer", "SENummer", "AKRNummer"])
        )
        fordringer = [
            fordring(
                "Fordring",
                f"{TAG}-{a}-{f}",
                draw(st.sampled_from(["KTTIBAK", "KTNEBOF", "KFDAINS"])),
                sub=False,
            )
            for f in range(draw(st.integers(1, 2)))
        ]
        konti.append(
            el(
                "DebitorKonto",
                leaf("KontoID", f"K-{TAG}-{a}"),
                leaf(kind, number(kind)),
                name(),
                *fordringer,
            )
        )
    hoved = el(
        "MeddelelseHoved",
        leaf("MeddelelseID", f"OIR-{TAG}"),
        leaf("AfsendtTidspunkt", "2026-03-02T10:05:41.512+01:00"),
        leaf("AfsenderSystem", draw(st.sampled_from(["KY", "Pladsanvisning", "FBS"]))),
        leaf("KommuneKode", "461"),
        leaf("FordringshaverID", "1234") if draw(st.booleans()) else None,
    )
    return Base(
        "oir",
        el("DebitorRegistrering", hoved, *konti),
        planted,
        prefix=draw(st.sampled_from([None, "oir", "dr"])),
        envelope=draw(st.sampled_from(["bare", "bare", "soap11", "soap11-header", "soap12"])),
    )


BASES: dict[str, Callable[[], st.SearchStrategy[Base]]] = {
    "ky": ky_messages,
    "ksd": ksd_messages,
    "oir": oir_messages,
}

# ---------------------------------------------------------------------------------------------
# Mutations
# ---------------------------------------------------------------------------------------------

# Where a name or other personal text belongs: no problem may show what is in them.
JSON_NAME_FIELDS = frozenset({"name", "description", "title", "notes"})
XML_NAME_FIELDS = frozenset({"Navn", "Beskrivelse", "Titel", "Note", "Fordringsnote"})

# A mutation is (kind, a, b, value): `a` and `b` pick places modulo how many there are.
Mutation = tuple[str, int, int, Any]

TREE_KINDS = (
    "drop",
    "duplicate",
    "swap",
    "move",
    "rename",
    "foreign_ns",
    "value",
    "cpr_value",
    "cpr_everywhere",
    "name_value",
    "stray_name",
    "empty",
    "nest",
    "unknown_member",
    "type",
    "attribute",
    "markup",
)

BYTE_KINDS = (
    "truncate",
    "flip",
    "delete",
    "insert",
    "duplicate_bytes",
    "encoding",
    "bom",
    "content_type",
)

_hostile_value = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=12),
)


@st.composite
def mutations(draw: st.DrawFn) -> list[Mutation]:
    count = draw(st.integers(0, 3))
    found: list[Mutation] = []
    for _ in range(count):
        kind = draw(st.sampled_from(TREE_KINDS + BYTE_KINDS))
        a = draw(st.integers(0, 10_000))
        b = draw(st.integers(0, 10_000))
        if kind in ("value", "unknown_member", "attribute"):
            value: Any = draw(_hostile_value)
        elif kind == "cpr_value":
            value = (draw(cprs()), draw(st.sampled_from(["plain", "dash", "embedded", "number"])))
        elif kind == "cpr_everywhere":
            value = draw(cprs())
        elif kind == "name_value":
            value = draw(st.sampled_from(NAMES))
        elif kind == "stray_name":
            value = draw(st.sampled_from(STRAY_NAMES))
        elif kind == "type":
            value = draw(st.sampled_from(HOSTILE_JSON_TOKENS))
        elif kind == "nest":
            value = draw(st.sampled_from([2, 31, 33, 100, 255, 257, 1000, 5000]))
        elif kind == "rename":
            value = draw(
                st.sampled_from(
                    ["Unknown", "x0101501000", "Mette Kristensen", "claims", "KravId", "a:b", "_"]
                )
            )
        elif kind == "markup":
            value = draw(
                st.sampled_from(
                    [
                        "<!-- 0101501000 -->",
                        "<?pi 0101501000?>",
                        "<![CDATA[x]]>",
                        "&#0;",
                        "&#x1F;",
                        "&#xD800;",
                        "&unknown;",
                        "&lt;",
                        "text",
                        "<!DOCTYPE x>",
                        '<!ENTITY e "x">',
                        "<Unknown/>",
                    ]
                )
            )
        elif kind == "encoding":
            value = draw(
                st.sampled_from(
                    [
                        ("UTF-8", "latin-1"),
                        ("ISO-8859-1", "utf-8"),
                        ("ISO-8859-1", "latin-1"),
                        ("iso-8859-1", "latin-1"),
                        ("latin1", "latin-1"),
                        ("US-ASCII", "utf-8"),
                        ("windows-1252", "cp1252"),
                        ("UTF-16", "utf-16"),
                        (None, "utf-16"),
                        (None, "utf-16-le"),
                        ("UTF-8", "utf-16"),
                        (None, "latin-1"),
                        ("EBCDIC", "cp500"),
                        ("", "utf-8"),
                        ("UTF-32", "utf-32"),
                    ]
                )
            )
        elif kind == "content_type":
            value = draw(
                st.sampled_from(
                    [
                        "application/json; charset=iso-8859-1",
                        "application/xml; charset=utf-16",
                        "text/xml; charset=iso-8859-1",
                        "application/soap+xml",
                        "text/plain",
                        "",
                        "application/octet-stream",
                        "APPLICATION/JSON",
                        "application/json;;",
                        "application/xml; charset=\u00e6",
                    ]
                )
            )
        elif kind == "insert":
            value = draw(
                st.one_of(
                    st.binary(min_size=1, max_size=8),
                    st.sampled_from(
                        [b"\x00", b"\xff\xfe", b"\xc3", b"\xe6", b"\xed\xa0\x80", b"<"]
                    ),
                )
            )
        else:
            value = None
        found.append((kind, a, b, value))
    return found


@dataclass
class Case:
    base: Base
    mutations: list[Mutation]
    fix_count: bool


def cases(source: str) -> st.SearchStrategy[Case]:
    return st.builds(Case, BASES[source](), mutations(), st.booleans())


@dataclass
class Rendered:
    body: bytes
    content_type: str
    planted: Planted


def _retag(value: Any, tag: str) -> Any:
    if isinstance(value, str):
        return value.replace(TAG, tag)
    if isinstance(value, Obj):
        return Obj([(k, _retag(v, tag)) for k, v in value.pairs])
    if isinstance(value, list):
        return [_retag(v, tag) for v in value]
    if isinstance(value, El):
        return El(
            value.name,
            [_retag(c, tag) for c in value.children],
            _retag(value.text, tag) if value.text is not None else None,
            value.ns,
            list(value.attrs),
            value.cdata,
            value.extra,
        )
    return value


def _cpr_form(cpr: str, form: str) -> str:
    if form == "dash":
        return f"{cpr[:6]}-{cpr[6:]}"
    if form == "embedded":
        return f"Sag vedr. {cpr[:6]}-{cpr[6:]} ({cpr})"
    return cpr


def _member_name(root: Any, path: tuple[Any, ...]) -> str | None:
    if not path:
        return None
    holder = json_at(root, path[:-1])
    return holder.pairs[path[-1]][0] if isinstance(holder, Obj) else None


def _mutate_json(root: Any, mutation: Mutation, planted: Planted, protect: set[str]) -> Any:
    kind, a, b, value = mutation
    slots = list(json_slots(root))
    path = slots[a % len(slots)]
    node = json_at(root, path)
    parent = json_at(root, path[:-1]) if path else None
    if kind == "drop" and path:
        if isinstance(parent, Obj):
            del parent.pairs[path[-1]]
        else:
            del parent[path[-1]]
    elif kind == "duplicate" and path:
        if isinstance(parent, Obj):
            parent.pairs.insert(path[-1], copy.deepcopy(parent.pairs[path[-1]]))
        else:
            parent.insert(path[-1], copy.deepcopy(node))
    elif kind in ("swap", "move") and path and isinstance(parent, Obj | list):
        items = parent.pairs if isinstance(parent, Obj) else parent
        j = b % len(items)
        items[path[-1]], items[j] = items[j], items[path[-1]]
    elif kind == "rename" and path and isinstance(parent, Obj):
        parent.pairs[path[-1]] = (value, node)
        if value == "Mette Kristensen":
            planted.names.add(value)
    elif kind == "value":
        if LONG_REFERENCE in protect and _member_name(root, path) in _REFERENCES:
            value = value[:64]
        root = json_set(root, path, value)
    elif kind == "cpr_value" and _member_name(root, path) not in protect:
        cpr, form = value
        planted.cprs.add(cpr)
        written = Raw(cpr.lstrip("0") or "0") if form == "number" else _cpr_form(cpr, form)
        root = json_set(root, path, written)
    elif kind == "cpr_everywhere":
        planted.cprs.add(value)
        for slot in json_slots(root):
            if isinstance(json_at(root, slot), str) and _member_name(root, slot) not in protect:
                root = json_set(root, slot, _cpr_form(value, ("plain", "dash", "embedded")[b % 3]))
    elif kind == "name_value":
        planted.names.add(value)
        for slot in json_slots(root):
            if (
                isinstance(json_at(root, slot), str)
                and _member_name(root, slot) in JSON_NAME_FIELDS
            ):
                root = json_set(root, slot, value)
    elif kind == "stray_name" and isinstance(node, str):
        planted.stray_names.add(value)
        root = json_set(root, path, value)
    elif kind == "empty":
        root = json_set(root, path, (None, "", [], Obj([]))[b % 4])
    elif kind == "nest":
        # Written as text: the tree itself stays shallow.
        opening = "".join("[" if (i + b) % 2 else '{"a":' for i in range(value))
        closing = "".join("]" if (i + b) % 2 else "}" for i in reversed(range(value)))
        root = json_set(root, path, Raw(opening + "1" + closing))
    elif kind == "unknown_member" and isinstance(node, Obj):
        key = ("extra", "Mette Kristensen", "x0101501000", "$ref", "", "a" * 65)[b % 6]
        if key == "Mette Kristensen":
            planted.names.add(key)
        node.pairs.insert(b % (len(node.pairs) + 1), (key, value))
    elif kind == "type":
        root = json_set(root, path, Raw(value))
    elif kind == "attribute" and isinstance(node, Obj):
        node.pairs.append((value if isinstance(value, str) else "k", "v"))
    return root


def _mutate_xml(
    root: El, mutation: Mutation, planted: Planted, namespace: str, protect: set[str]
) -> El:
    kind, a, b, value = mutation
    slots = list(xml_slots(root))
    path = slots[a % len(slots)]
    node = xml_at(root, path)
    parent = xml_at(root, path[:-1]) if path else None
    if kind == "drop" and parent is not None:
        del parent.children[path[-1]]
    elif kind == "duplicate" and parent is not None:
        parent.children.insert(path[-1], copy.deepcopy(node))
    elif kind == "swap" and parent is not None:
        j = b % len(parent.children)
        parent.children[path[-1]], parent.children[j] = parent.children[j], node
    elif kind == "move" and parent is not None:
        target = xml_at(root, slots[b % len(slots)])
        if KSD_NAME_IN_LIST in protect and target.name in ("Dokumenter", "Renter"):
            return root
        if target is not node and not _contains(node, target):
            del parent.children[path[-1]]
            target.children.insert(0, node)
            target.text = None
    elif kind == "rename":
        if (
            KSD_NAME_IN_LIST in protect
            and parent is not None
            and parent.name in ("Dokumenter", "Renter")
        ):
            return root
        if CPR_IN_XML_NAME in protect and value == "x0101501000":
            return root
        node.name = value if value not in ("Mette Kristensen", "a:b") else "Unknown"
    elif kind == "foreign_ns":
        choices = ("urn:other", "", namespace + "x", SOAP11, "urn:0101501000")
        node.ns = choices[b % (4 if CPR_IN_XML_NAME in protect else 5)]
    elif kind in ("value", "empty") and not node.children:
        if kind == "value" and LONG_REFERENCE in protect and node.name in _REFERENCES:
            value = value[:64]
        node.text = value if kind == "value" else ("", None, " ")[b % 3]
        node.cdata = b % 7 == 0
    elif kind == "cpr_value":
        cpr, form = value
        leaves = [n for n in xml_leaves(root) if n.name not in protect]
        if leaves:
            planted.cprs.add(cpr)
            leaves[a % len(leaves)].text = _cpr_form(cpr, "plain" if form == "number" else form)
    elif kind == "cpr_everywhere":
        planted.cprs.add(value)
        for target in xml_leaves(root):
            if target.name not in protect:
                target.text = _cpr_form(value, ("plain", "dash", "embedded")[b % 3])
    elif kind == "name_value":
        planted.names.add(value)
        for target in _walk(root):
            if target.name in XML_NAME_FIELDS:
                target.text = value
                target.cdata = b % 2 == 1
    elif kind == "stray_name" and not node.children:
        planted.stray_names.add(value)
        node.text = value
    elif kind == "nest":
        # Written as text: the tree itself stays shallow.
        node.extra = "<Unknown>" * value + "x" + "</Unknown>" * value
    elif kind == "unknown_member":
        node.children.insert(b % (len(node.children) + 1), El("Ukendt", text=value))
    elif kind == "type" and not node.children:
        node.text = value
    elif kind == "attribute":
        node.attrs.append((("attr", "xsi:type", "id", "xml:lang")[b % 4], value))
        if "xsi:" in node.attrs[-1][0]:
            node.attrs.append(("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"))
    elif kind == "markup":
        node.extra = value
    return root


def _contains(node: El, target: El) -> bool:
    return any(child is target or _contains(child, target) for child in node.children)


def _recount(root: El) -> None:
    krav = sum(1 for c in root.children if c.name == "Krav")
    for child in root.children:
        if child.name == "Hoved":
            for header in child.children:
                if header.name == "AntalKrav" and header.text and header.text.isdigit():
                    header.text = str(krav)


def _wrap(body: str, envelope: str) -> str:
    if envelope == "bare":
        return body
    ns = SOAP12 if envelope == "soap12" else SOAP11
    header = "<s:Header><a:Action xmlns:a='urn:x'>afsend</a:Action></s:Header>"
    return (
        f'<s:Envelope xmlns:s="{ns}">{header if envelope == "soap11-header" else ""}'
        f"<s:Body>{body}</s:Body></s:Envelope>"
    )


CONTENT_TYPES = {"ky": "application/json", "ksd": "application/xml", "oir": "application/xml"}


def render(case: Case, tag: str, *, known: frozenset[str] = frozenset()) -> Rendered:
    """The bytes of a case with `tag` in its ids; what it plants.

    Cases of the kinds in `known` (the constants above) are not made.
    """
    base = case.base
    planted = Planted(set(base.planted.cprs), set(base.planted.names))
    protected = {name for kind in known for name in _PROTECTED_FIELDS.get(kind, ())}
    protected |= set(known)
    tree = _retag(copy.deepcopy(base.tree), tag)
    tree_mutations = [m for m in case.mutations if m[0] in TREE_KINDS]
    byte_mutations = [m for m in case.mutations if m[0] in BYTE_KINDS]
    declared: str | None = "UTF-8"
    codec = "utf-8"
    for kind, _a, _b, value in byte_mutations:
        if kind == "encoding":
            declared, codec = value
    content_type = CONTENT_TYPES[base.source]
    if base.source == "ky":
        for mutation in tree_mutations:
            tree = _mutate_json(tree, mutation, planted, protected)
        text_value = dump_json(tree, ascii_only=any(m[1] % 2 for m in tree_mutations))
        if codec == "utf-8" or not any(m[0] == "encoding" for m in byte_mutations):
            body = text_value.encode("utf-8", "surrogatepass")
        else:
            body = text_value.encode(codec, "replace")
    else:
        namespace = KSD_NS if base.source == "ksd" else OIR_NS
        for mutation in tree_mutations:
            tree = _mutate_xml(tree, mutation, planted, namespace, protected)
        if base.source == "ksd" and case.fix_count:
            _recount(tree)
        if base.source == "oir" and base.envelope == "soap12":
            content_type = "application/soap+xml"
        text_value = _wrap(dump_xml(tree, prefix=base.prefix, default_ns=namespace), base.envelope)
        prolog = (
            f'<?xml version="1.0" encoding="{declared}"?>\n'
            if declared is not None
            else ('<?xml version="1.0"?>\n' if case.fix_count else "")
        )
        body = (prolog + text_value).encode(
            codec, "xmlcharrefreplace" if codec != "utf-8" else "surrogatepass"
        )
    for kind, a, b, value in byte_mutations:
        size = len(body)
        if kind == "truncate":
            body = body[: a % (size + 1)]
        elif kind == "flip" and size:
            i = a % size
            body = body[:i] + bytes([body[i] ^ (1 << (b % 8))]) + body[i + 1 :]
        elif kind == "delete" and size:
            i = a % size
            body = body[:i] + body[i + 1 + b % 16 :]
        elif kind == "insert":
            i = a % (size + 1)
            body = body[:i] + value + body[i:]
        elif kind == "duplicate_bytes" and size:
            i = a % size
            body = body[:i] + body[i : i + 1 + b % 64] + body[i:]
        elif kind == "bom":
            body = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf\xef\xbb\xbf")[
                b % 4
            ] + body
        elif kind == "content_type":
            content_type = value
    return Rendered(body, content_type, planted)


# ---------------------------------------------------------------------------------------------
# The properties
# ---------------------------------------------------------------------------------------------

TABLES = ("source_message", "claim", "claim_event", "transfer")
# Ten digits, or six-dash-four, not inside a longer run of digits (any script's digits).
_CPR_SHAPED = re.compile(r"(?<!\d)(\d{6})-?(\d{4})(?!\d)")


def cprs_in(data: bytes) -> set[str]:
    """Every CPR-shaped number with a valid date in a request's bytes, read any plausible way."""
    from app.domain.identifiers import cpr_birth_date

    found: set[str] = set()
    texts = [data.decode("utf-8", "replace"), data.decode("latin-1")]
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:4]:
        texts.append(data.decode("utf-16", "replace"))
    for value in texts:
        for first, rest in _CPR_SHAPED.findall(value):
            if cpr_birth_date(first + rest) is not None:
                found.add(first + rest)
    return found


def leaks(
    text_value: str, planted: Planted, request_cprs: set[str], *, stray_names: bool = False
) -> list[str]:
    """What of the personal data in a request shows in `text_value` (masked as `cpr[:6]`)."""
    found = []
    for cpr in planted.cprs | request_cprs:
        first, rest = cpr[:6], cpr[6:]
        if re.search(rf"(?<!\d){first}-?{rest}(?!\d)", text_value):
            found.append(f"CPR {first}-****")
    squeezed = " ".join(text_value.split())
    for name in planted.names | (planted.stray_names if stray_names else set()):
        if name in text_value or name in squeezed:
            found.append(f"name {name!r}")
    return found


def table_counts(db: Database) -> dict[str, int]:
    with db.transaction(write=False) as session:
        return {t: session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


def stored_claims(db: Database, ids: list[str]) -> dict[str, str]:
    """The stored state of each claim id that is stored."""
    if not ids:
        return {}
    query = select(Claim.id, Claim.state).where(Claim.id.in_([uuid.UUID(i) for i in ids]))
    with db.transaction(write=False) as session:
        return {str(row[0]): row[1] for row in session.execute(query)}


class PropertyFailed(AssertionError):
    pass


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise PropertyFailed(message)


@dataclass
class Checker:
    """Posts a message and checks what intake promises for every message, hostile or not.

    1. The answer is never 5xx and is JSON.
    2. A 4xx has the error shape {"error": {"code", "message", "problems": [...]}}, every
       problem with a code, a message and a place (source_path or field); a 400 or 422 names
       at least one problem.
    3. No CPR number and no name written in the request comes back in the answer or in a log
       record.
    4. A refused message stores nothing (no row in source_message, claim, claim_event,
       transfer); a taken one stores one message and every claim it reports, in the state it
       reports; a replay stores nothing.
    5. The same bytes again: a 202 is replayed (200, Idempotent-Replayed, the same body); a
       refusal is refused again with the same answer.
    """

    client: Any
    db: Database
    records: Callable[[], list[logging.LogRecord]]
    clear_records: Callable[[], None]
    stray_names: bool = False

    def post(self, source: str, rendered: Rendered, *, again: bool = True) -> Any:
        first = self._post_once(source, rendered)
        if again:
            second = self._post_once(source, rendered)
            if first.status_code == 202:
                _require(second.status_code == 200, f"resend of a 202 was {second.status_code}")
                _require(
                    second.headers.get("idempotent-replayed") == "true",
                    "resend of a 202 without Idempotent-Replayed",
                )
                _require(second.json() == first.json(), "resend of a 202 gave another body")
            elif first.status_code >= 400:
                _require(
                    second.status_code == first.status_code,
                    f"resend of a {first.status_code} was {second.status_code}",
                )
                _require(second.json() == first.json(), "resend of a refusal gave another body")
        return first

    def _post_once(self, source: str, rendered: Rendered) -> Any:
        before = table_counts(self.db)
        self.clear_records()
        headers: dict[str, Any] = {**auth(source)}
        if rendered.content_type:
            # As bytes: a media type may hold a character outside ASCII.
            headers["Content-Type"] = rendered.content_type.encode("utf-8")
        response = self.client.post(f"/v1/intake/{source}", content=rendered.body, headers=headers)
        status = response.status_code
        _require(status < 500, f"answered {status}: {response.text[:500]}")
        try:
            answer = response.json()
        except ValueError as exc:
            raise PropertyFailed(f"answer {status} is not JSON: {response.text[:200]!r}") from exc
        request_cprs = cprs_in(rendered.body)
        leaked = leaks(response.text, rendered.planted, request_cprs, stray_names=self.stray_names)
        _require(not leaked, f"answer {status} shows {leaked}")
        for record in self.records():
            logged = record.getMessage() + "\n" + (record.exc_text or "")
            leaked = leaks(logged, rendered.planted, request_cprs, stray_names=self.stray_names)
            _require(not leaked, f"log record {record.name} shows {leaked}: {logged[:300]!r}")
        after = table_counts(self.db)
        if status >= 400:
            _check_error_shape(status, answer)
            _require(after == before, f"refused ({status}) but stored: {before} -> {after}")
        elif status == 202:
            _check_taken(self.db, answer, before, after)
        elif status == 200:
            _require(
                response.headers.get("idempotent-replayed") == "true",
                "200 without Idempotent-Replayed",
            )
            _require(after == before, f"replay stored something: {before} -> {after}")
        else:
            raise PropertyFailed(f"unexpected status {status}")
        return response


def _check_error_shape(status: int, answer: Any) -> None:
    _require(
        isinstance(answer, dict) and set(answer) == {"error"}, f"not the error shape: {answer}"
    )
    error = answer["error"]
    _require(isinstance(error.get("code"), str) and error["code"], "error without a code")
    _require(isinstance(error.get("message"), str) and error["message"], "error without message")
    problems = error.get("problems")
    _require(isinstance(problems, list), "error without a problem list")
    if status in (400, 422):
        _require(bool(problems), f"a {status} names no problem: {error}")
    for problem in problems:
        _require(isinstance(problem.get("code"), str) and problem["code"], "problem without code")
        _require(isinstance(problem.get("message"), str), "problem without message")
        _require(
            isinstance(problem.get("source_path"), str) or isinstance(problem.get("field"), str),
            f"problem without a place: {problem}",
        )


def _check_taken(db: Database, answer: Any, before: dict[str, int], after: dict[str, int]) -> None:
    results = answer.get("claims")
    _require(isinstance(results, list) and results, "a 202 without claim results")
    _require(
        after["source_message"] == before["source_message"] + 1,
        f"a 202 stored {after['source_message'] - before['source_message']} messages",
    )
    new = [r for r in results if not r.get("duplicate") and not r.get("corrected")]
    _require(
        after["claim"] - before["claim"] == len(new),
        f"a 202 reporting {len(new)} new claims stored {after['claim'] - before['claim']}",
    )
    ids = [r["claim_id"] for r in results]
    stored = stored_claims(db, ids)
    for result in results:
        _require(result["claim_id"] in stored, f"claim {result['index']} reported but not stored")
        _require(
            stored[result["claim_id"]] == result["state"],
            f"claim {result['index']} reported {result['state']}, stored "
            f"{stored[result['claim_id']]}",
        )
        if result["result"] == "rejected":
            _require(bool(result["problems"]), f"claim {result['index']} rejected without problem")
            for problem in result["problems"]:
                _require(
                    isinstance(problem.get("code"), str)
                    and isinstance(problem.get("message"), str),
                    f"malformed problem {problem}",
                )
    counts = answer.get("counts", {})
    _require(
        counts.get("claims") == len(results)
        and counts.get("accepted", 0) + counts.get("rejected", 0) == len(results)
        and counts.get("accepted") == sum(1 for r in results if r["result"] == "accepted"),
        f"counts {counts} disagree with the results",
    )
