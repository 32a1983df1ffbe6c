"""The published ØiR contract: its schema loads and every example body follows it."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from adapters import _xml
from adapters.oir.message import NAMESPACE, SCHEMA, SOAP_NAMESPACES
from tests.golden import CONTRACTS

EXAMPLES = sorted((CONTRACTS / "oir" / "examples").glob("*.xml"))


def _body(path: Path) -> etree._Element:
    root = _xml.parse_document(path.read_bytes())
    if etree.QName(root).namespace in SOAP_NAMESPACES:
        (body,) = [child for child in root if etree.QName(child).localname == "Body"]
        (root,) = list(body)
    return root


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_example_body_validates_against_the_schema(example: Path) -> None:
    xsd = _xml.schema(SCHEMA)

    valid = xsd.validate(_body(example))

    assert valid, [entry.message for entry in xsd.error_log]


def test_examples_use_both_envelopes_and_the_bare_form() -> None:
    roots = {etree.QName(_xml.parse_document(path.read_bytes())).namespace for path in EXAMPLES}

    assert roots == {NAMESPACE, *SOAP_NAMESPACES}


def test_schema_publishes_the_documented_namespace_and_root() -> None:
    xsd = etree.parse(str(CONTRACTS / SCHEMA))

    assert xsd.getroot().get("targetNamespace") == NAMESPACE
    roots = xsd.getroot().findall("{http://www.w3.org/2001/XMLSchema}element")
    assert [element.get("name") for element in roots] == ["DebitorRegistrering"]


def test_readme_documents_every_element_of_the_schema() -> None:
    xsd = etree.parse(str(CONTRACTS / SCHEMA))
    names = {
        element.get("name")
        for element in xsd.iter("{http://www.w3.org/2001/XMLSchema}element")
        if element.get("name")
    }
    readme = (CONTRACTS / "oir" / "README.md").read_text(encoding="utf-8")

    assert sorted(name for name in names if name not in readme) == []


ARABIC_INDIC = str.maketrans("0123456789", "".join(chr(0x0660 + d) for d in range(10)))


@pytest.mark.parametrize("element", ["CPRNummer", "CVRNummer", "FraDato"])
def test_the_schema_takes_the_digits_0_to_9_only(element: str) -> None:
    # In XML Schema `\d` is any script's digit: the schema said so for numbers and dates,
    # and an example's CPR number written in Arabic-Indic digits was valid.
    example = next(e for e in EXAMPLES if f"<{element}>".encode() in e.read_bytes())
    xsd = _xml.schema(SCHEMA)
    body = _body(example)
    target = next(node for node in body.iter() if etree.QName(node).localname == element)
    assert xsd.validate(body)

    target.text = (target.text or "").translate(ARABIC_INDIC)

    assert not xsd.validate(body)
    assert element in xsd.error_log[0].message
