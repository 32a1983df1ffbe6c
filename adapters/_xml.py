"""One hardened way to read XML: no DTDs, no entities, no network, a size limit, and XSDs.

Every XML adapter parses through `parse_document`, so a DOCTYPE or an entity declaration is
refused before anything else looks at the message (billion laughs, XXE), and validates with a
schema loaded from `contracts/`.
"""

from __future__ import annotations

import re
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
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_document(raw: bytes) -> etree._Element:
    """Parse XML bytes safely and return the root element.

    The encoding comes from the XML prolog (UTF-8 when none is declared), so ISO-8859-1
    exports are read as such.

    Raises:
        MessageParseError: empty, not well-formed, or with a DOCTYPE/entity declaration.
    """
    if not raw.strip():
        raise MessageParseError("the message is empty")
    head = raw[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in raw.lower():
        raise MessageParseError(
            "XML with a DOCTYPE or entity declarations is refused",
            [Problem(code="xml.doctype_forbidden", message="DOCTYPE and ENTITY are not allowed")],
        )
    try:
        root = etree.fromstring(raw, parser=_parser())
    except etree.XMLSyntaxError as exc:
        line = getattr(exc, "lineno", None)
        raise MessageParseError(
            "the message is not well-formed XML",
            [
                Problem(
                    code="xml.malformed",
                    message=clean_message(str(exc.msg if hasattr(exc, "msg") else exc)),
                    source_path=f"line {line}" if line else None,
                )
            ],
        ) from exc
    except (ValueError, LookupError) as exc:  # unknown encoding, bytes not in the declared one
        raise MessageParseError(
            "the message's encoding is not readable",
            [Problem(code="xml.encoding", message=clean_message(str(exc)))],
        ) from exc
    if root.getroottree().docinfo.doctype:
        raise MessageParseError(
            "XML with a DOCTYPE is refused",
            [Problem(code="xml.doctype_forbidden", message="DOCTYPE is not allowed")],
        )
    return root


_QUOTED_VALUE = re.compile(r"(value|Element '[^']*'): '[^']*'")
_THE_VALUE = re.compile(r"[Tt]he value '[^']*'")


def clean_message(text: str) -> str:
    # lxml quotes offending values, which may be CPR numbers or names: withhold them.
    text = _THE_VALUE.sub("the value", text)
    text = _QUOTED_VALUE.sub(r"\1", text)
    return redact_cpr_like(text)[:300]


@cache
def schema(relative: str) -> etree.XMLSchema:
    """Load (once) an XSD from `contracts/`, e.g. `schema("ksd/batch.xsd")`."""
    path = CONTRACTS / relative
    return etree.XMLSchema(etree.parse(str(path), parser=_parser()))


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
                source_path=(entry.path or None),
            )
        )
    raise MessageContractError("the message does not match its schema", problems)


# Kept for code written against the earlier private name.
_clean = clean_message
