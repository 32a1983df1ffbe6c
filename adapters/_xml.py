"""One hardened way to read XML: no DTDs, no entities, no network, a size limit, and XSDs.

Every XML adapter parses through `parse_document`, so a DOCTYPE or an entity declaration is
refused before anything else looks at the message (billion laughs, XXE), and validates with a
schema loaded from `contracts/`.
"""

from __future__ import annotations

import codecs
import re
import threading
from collections.abc import Collection
from functools import cache
from pathlib import Path

from lxml import etree

from adapters.base import MessageContractError, MessageParseError
from app.domain.identifiers import redact_cpr_like
from app.domain.problems import Problem

CONTRACTS = Path(__file__).resolve().parent.parent / "contracts"


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        dtd_validation=False,
        load_dtd=False,
        # libxml2's own caps (a text node or comment of 10,000,000 bytes) would refuse
        # well-formed messages under the body limit; with DTDs refused, nothing can expand
        # beyond the body, which the service has already capped (KRAVBRO_MAX_BODY_BYTES).
        huge_tree=True,
        remove_comments=True,
        remove_pis=True,
    )


_UTF8_BOM = b"\xef\xbb\xbf"
_UTF32_BOMS = (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")
_DECLARED = re.compile(r"""^<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")


def _encoding_of(raw: bytes) -> tuple[str, str | None, bool]:
    """Return the encoding the bytes are in, the one the prolog declares, and if a BOM says so.

    Encodings are given by their Python codec name (`utf-8`, `iso8859-1`, `utf-16`).
    """
    # UTF-32 first: its little-endian byte-order mark begins with UTF-16's.
    utf32 = raw.startswith(_UTF32_BOMS) or raw[:4] in (b"<\x00\x00\x00", b"\x00\x00\x00<")
    utf16 = not utf32 and raw.startswith((b"\xff\xfe", b"\xfe\xff", b"<\x00?\x00", b"\x00<\x00?"))
    by_bytes = "utf-32" if utf32 else "utf-16" if utf16 else "utf-8"
    bom = raw.startswith((*_UTF32_BOMS, b"\xff\xfe", b"\xfe\xff", _UTF8_BOM))
    match = _DECLARED.match(_head_text(raw, by_bytes, 400))
    declared = _codec(match.group(1)) if match else None
    wide = utf16 or utf32
    return (declared if declared and not bom and not wide else by_bytes), declared, bom


def _head_text(raw: bytes, encoding: str, size: int) -> str:
    """The first part of the message as text, for the checks made before parsing.

    UTF-16 is decoded by its byte-order mark or, without one, by the order of `<?`; anything
    else as Latin-1 after a UTF-8 byte-order mark, which reads every byte and keeps the ASCII
    of a prolog or DOCTYPE as is.
    """
    head = raw[:size]
    if encoding.startswith("utf-32"):
        if raw.startswith(_UTF32_BOMS):
            return head[: len(head) // 4 * 4].decode("utf-32", errors="replace")
        order = "utf-32-le" if head.startswith(b"<") else "utf-32-be"
        return head[: len(head) // 4 * 4].decode(order, errors="replace")
    if not encoding.startswith("utf-16"):
        return head.removeprefix(_UTF8_BOM).decode("latin-1")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="replace")
    order = "utf-16-le" if head.startswith(b"<\x00") else "utf-16-be"
    return head.decode(order, errors="replace")


_NAMES = {
    "utf-8": "UTF-8",
    "iso8859-1": "ISO-8859-1",
    "utf-16": "UTF-16",
    "utf-32": "UTF-32",
    "ascii": "US-ASCII",
}


def _name(codec: str) -> str:
    """An encoding's name as XML declarations write it."""
    return _NAMES.get(codec, codec.upper())


def _known(codec: str) -> bool:
    try:
        codecs.lookup(codec)
    except LookupError:
        return False
    return True


def _codec(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return name.lower()


def parse_document(raw: bytes, *, encodings: Collection[str] | None = None) -> etree._Element:
    """Parse XML bytes safely and return the root element.

    The encoding comes from the XML prolog (UTF-8 when none is declared), so ISO-8859-1
    exports are read as such. `encodings`, when given, are the only ones a contract allows
    (Python codec names: `utf-8`, `iso8859-1`).

    Raises:
        MessageParseError: empty, not well-formed, in an encoding the contract does not
            allow or that contradicts its byte-order mark, or with a DOCTYPE/entity declaration;
            its problem names the line (`line 1` where the parser names none).
    """
    if not raw or raw.isspace():  # as `not raw.strip()`, without copying the message
        raise MessageParseError(
            "the message is empty",
            [Problem(code="xml.malformed", message="the message is empty", source_path="line 1")],
        )
    encoding, declared, bom = _encoding_of(raw)
    if encoding == "utf-32" and not bom and declared is None:
        # Neither a byte-order mark nor a declaration: the message is UTF-8 by the contracts,
        # and these bytes are not. (libxml2 would guess, and read it.)
        raise MessageParseError(
            "the message's encoding is not declared",
            [
                Problem(
                    code="xml.encoding",
                    message="UTF-32 without a byte-order mark or an XML declaration: send "
                    "UTF-8, or declare the encoding",
                    source_path="line 1",
                )
            ],
        )
    if bom and declared is not None and not declared.startswith(encoding):
        raise MessageParseError(
            "the message's byte-order mark and its XML declaration disagree",
            [
                Problem(
                    code="xml.malformed",
                    message=(
                        f"a {_name(encoding)} byte-order mark, but the XML declaration says "
                        f"encoding {_name(declared)}"
                    ),
                    source_path="line 1",
                )
            ],
        )
    if encodings is not None and encoding not in encodings:
        allowed = " or ".join(sorted(_name(e) for e in encodings))
        raise MessageParseError(
            "the message's encoding is not one the contract allows",
            [
                Problem(
                    code="xml.encoding",
                    message=f"encoding {_name(encoding)} is not allowed: send {allowed}",
                    source_path="line 1",
                )
            ],
        )
    if not _known(encoding):
        # As the contract's own refusal above, for every source: libxml2 would call it
        # malformed XML.
        raise MessageParseError(
            "the message's encoding is not readable",
            [
                Problem(
                    code="xml.encoding",
                    message=f"encoding {_name(encoding)[:40]} is not one kravbro knows",
                    source_path="line 1",
                )
            ],
        )
    head = _head_text(raw, encoding, 8192).lower()
    # Lower-casing a large message costs more than reading it; without a `<!` (a comment,
    # CDATA or declaration) it cannot hold an entity declaration in any case. A lone `!` is
    # looked for first: it is rare in a message, and finding one byte is far quicker than
    # finding `<!` among a message's many `<` (0.5 ms against 0.005 ms in 600 KiB).
    declares = b"!" in raw and b"<!" in raw and b"<!entity" in raw.lower()
    if "<!doctype" in head or declares or "<!entity" in head:
        # Only a declaration, not its words in a comment, CDATA section or processing
        # instruction, where a message may mention them.
        line = _declaration_line(raw, encoding)
        if line is not None:
            raise MessageParseError(
                "XML with a DOCTYPE or entity declarations is refused",
                [
                    Problem(
                        code="xml.doctype_forbidden",
                        message="DOCTYPE and ENTITY are not allowed",
                        source_path=line,
                    )
                ],
            )
    try:
        root = etree.fromstring(raw, parser=_parser())
    except etree.XMLSyntaxError as exc:
        line = getattr(exc, "lineno", None)
        text = str(exc.msg if hasattr(exc, "msg") else exc)
        if "nsupported encoding" in text:
            # One Python knows and libxml2 does not (EBCDIC, UTF-7): not malformed, unreadable.
            raise MessageParseError(
                "the message's encoding is not readable",
                [
                    Problem(
                        code="xml.encoding",
                        message=f"encoding {_name(encoding)[:40]} is not one kravbro reads",
                        source_path="line 1",
                    )
                ],
            ) from exc
        raise MessageParseError(
            "the message is not well-formed XML",
            [
                Problem(
                    code="xml.malformed",
                    message=clean_message(text),
                    # libxml2 counts lines from 1; 0 or none when it has no line to give.
                    source_path=f"line {line if line and line > 0 else 1}",
                )
            ],
        ) from exc
    except (ValueError, LookupError) as exc:  # unknown encoding, bytes not in the declared one
        raise MessageParseError(
            "the message's encoding is not readable",
            [
                Problem(
                    code="xml.encoding",
                    message=clean_message(str(exc)),
                    source_path="line 1",  # where the XML declaration names the encoding
                )
            ],
        ) from exc
    docinfo = root.getroottree().docinfo
    if docinfo.xml_version not in (None, "1.0"):
        # libxml2 reads a 1.1 document by 1.0's rules; the contracts say XML 1.0.
        raise MessageParseError(
            "the message is not XML 1.0",
            [
                Problem(
                    code="xml.malformed",
                    message="XML 1.0 is taken; the declaration says another version",
                    source_path="line 1",
                )
            ],
        )
    if docinfo.doctype:
        raise MessageParseError(
            "XML with a DOCTYPE is refused",
            [
                Problem(
                    code="xml.doctype_forbidden",
                    message="DOCTYPE is not allowed",
                    source_path=_declaration_line(raw, encoding) or "line 1",
                )
            ],
        )
    return root


# A DOCTYPE or ENTITY declaration, or what may mention one without being one: a comment, a
# CDATA section, a processing instruction. Left to right, each match starts where the last
# ended, so a declaration's words inside one of those are part of its match, not one of their
# own. (Elsewhere `<` cannot stand unescaped.)
_SPANS = r"(<!--.*?-->)|(<!\[CDATA\[.*?\]\]>)|(<\?.*?\?>)|(<!(?:doctype|entity))"
_DECLARATION = re.compile(_SPANS, re.IGNORECASE | re.DOTALL)
_DECLARATION_BYTES = re.compile(_SPANS.encode(), re.IGNORECASE | re.DOTALL)


def _declaration_line(raw: bytes, encoding: str) -> str | None:
    """Return `line N` of the first DOCTYPE or ENTITY declaration; None if there is none.

    Lines end at a line feed, a carriage return, or both, as XML counts them. UTF-16 is
    decoded first; any other encoding the contracts read keeps `<`, `!`, `?`, `-`, `[`, the
    letters of the keywords and the line ends as single ASCII bytes.
    """
    if encoding.startswith(("utf-16", "utf-32")):
        text = _head_text(raw, encoding, len(raw))
        for match in _DECLARATION.finditer(text):
            if match.group(4):
                before = text[: match.start()]
                ends = before.count("\n") + before.count("\r") - before.count("\r\n")
                return f"line {ends + 1}"
        return None
    for found in _DECLARATION_BYTES.finditer(raw):
        if found.group(4):
            head = raw[: found.start()]
            ends = head.count(b"\n") + head.count(b"\r") - head.count(b"\r\n")
            return f"line {ends + 1}"
    return None


# What libxml2 says of an element where the schema allows none of its name and namespace: an
# unknown element, one of another namespace, or a known one out of its place (also where an
# element before it is missing). It is a fault of the message's structure, not of the value
# of the field the element would fill, so such a problem names no canonical field.
UNEXPECTED = "This element is not expected"

_QUOTED_VALUE = re.compile(r"(value|Element '[^']*'): '[^']*'")
_THE_VALUE = re.compile(r"[Tt]he value '[^']*'")


# libxml2's own advice, which names one of its options: said in the sender's terms instead.
_TOO_DEEP = re.compile(r"Excessive depth in document: (\d+), use XML_PARSE_HUGE option")


_LONG_DIGITS = re.compile(r"[0-9]{11,}")


def clean_message(text: str) -> str:
    # lxml quotes offending values, which may be CPR numbers or names: withhold them.
    text = _THE_VALUE.sub("the value", text)
    text = _TOO_DEEP.sub(r"elements nest deeper than \1 levels", text)
    text = _QUOTED_VALUE.sub(r"\1", text)
    # A run of more than ten digits (in a name or prefix the parser quotes) may hold a CPR
    # number that the CPR pattern, which wants one standing alone, does not see (an outside
    # probe's `S101017012341`): withheld as well.
    text = _LONG_DIGITS.sub("[digits]", text)
    return redact_cpr_like(text)[:300]


# Loaded schemas, per thread. lxml keeps a validation's problems on the schema object (its
# `error_log`, cleared when a validation starts and filled while libxml2 validates without
# the GIL), so two threads checking messages against one shared schema mixed their problems
# up: a message could come back with another sender's problems, or with none at all.
_SCHEMAS = threading.local()


def schema(relative: str) -> etree.XMLSchema:
    """Return an XSD from `contracts/`, e.g. `schema("ksd/batch.xsd")`, loaded once per thread.

    The schema is this thread's own: validate with it and read its `error_log` in this thread.
    """
    loaded: dict[str, etree.XMLSchema] | None = getattr(_SCHEMAS, "loaded", None)
    if loaded is None:
        loaded = _SCHEMAS.loaded = {}
    found = loaded.get(relative)
    if found is None:
        found = loaded[relative] = etree.XMLSchema(_schema_document(relative))
    return found


@cache
def _schema_document(relative: str) -> etree._ElementTree:
    # Parsed once; each thread compiles its own schema from it (lxml copies the document).
    return etree.parse(str(CONTRACTS / relative), parser=_parser())


@cache
def element_names(relative: str) -> frozenset[str]:
    """Return the names an XSD from `contracts/` gives its elements (`Krav`, `Beloeb`, ...)."""
    found = _schema_document(relative).xpath("//xs:element/@name", namespaces=_XS)
    return frozenset(str(name) for name in found)


_XS = {"xs": "http://www.w3.org/2001/XMLSchema"}
_STEP = re.compile(r"(?:(?P<prefix>[^:\[\]/]+):)?(?P<name>[^:\[\]/]+)(?:\[(?P<index>\d+)\])?")


class ErrorLocator:
    """Finds the element a libxml2 error path names, below the element that was validated.

    Each parent's children are indexed once per kind of step, so a message with a violation
    in every one of thousands of claims is located in linear time.
    """

    def __init__(self, root: etree._Element) -> None:
        self._root = root
        self._matches: dict[tuple[etree._Element, str | None, str], list[etree._Element]] = {}

    def element_at(self, path: str | None) -> etree._Element | None:
        """Find the element a libxml2 error path (`/*/*[2]/p:Fordring[3]/Beloeb`) names.

        libxml2 writes an element of a default namespace as `*[n]`, counted among all its
        element siblings; one with a prefix as `p:Name[n]`, counted among the siblings of that
        prefix and name; and one in no namespace as `Name[n]`, counted among the siblings in no
        namespace of that name. Without `[n]` it is the only one. The first step is the
        validated element.
        """
        if not path or not path.startswith("/"):
            return None
        node = self._root
        for step in path[1:].split("/")[1:]:
            match = _STEP.fullmatch(step)
            if match is None:
                return None
            key = (node, match.group("prefix"), match.group("name"))
            found = self._matches.get(key)
            if found is None:
                found = self._matches[key] = [c for c in node if _is_step(c, key[1], key[2])]
            wanted = int(match.group("index") or 1)
            if wanted > len(found):
                return None
            node = found[wanted - 1]
        return node


def _is_step(child: etree._Element, prefix: str | None, name: str) -> bool:
    tag = child.tag
    if not isinstance(tag, str):
        return False
    if name == "*":
        return True
    if prefix is None:
        # A name without a prefix is an element in no namespace (`<Fordring xmlns="">`): one
        # in a default namespace is written `*`. Matching it by its local name alone found the
        # contract's own element of that name, a valid claim, instead (an outside probe).
        return tag == name
    return child.prefix == prefix and tag.endswith("}" + name)


def by_position(element: etree._Element) -> str:
    """Return `*[n]`: the element's place among its parent's elements, counted from 1.

    For an element of another namespace, or of none, that bears a name of the contract: by
    that name alone it could not be told from the contract's element (`/Batch/Krav[1]`).
    """
    earlier = element.itersiblings(preceding=True)
    return f"*[{sum(1 for sibling in earlier if isinstance(sibling.tag, str)) + 1}]"


def validate(root: etree._Element, xsd: etree.XMLSchema) -> None:
    """Validate an element against an XSD, listing every violation.

    Raises:
        MessageContractError: the element breaks the schema; each problem names its line and
            element path, never the offending value (it may be personal data).
    """
    if xsd.validate(root):
        return
    problems = []
    for entry in list(xsd.error_log)[:50]:
        problems.append(
            Problem(
                code="xml.schema",
                message=clean_message(entry.message),
                source_path=entry.path or f"line {entry.line}",
            )
        )
    raise MessageContractError("the message does not match its schema", problems)


# Kept for code written against the earlier private name.
_clean = clean_message
