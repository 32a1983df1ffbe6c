"""The KSD contract: examples and samples validate against batch.xsd; the README covers it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from adapters._xml import CONTRACTS, parse_document, schema
from adapters.ksd import samples
from adapters.ksd.message import NAMESPACE
from app.domain.claim import SourceSystem
from tests.golden import examples

XSD = schema("ksd/batch.xsd")
VALID = [path for path in examples(SourceSystem.KSD) if "invalid" not in path.name]
INVALID = [path for path in examples(SourceSystem.KSD) if "invalid" in path.name]
XS = "{http://www.w3.org/2001/XMLSchema}"


@pytest.mark.parametrize("example", VALID, ids=lambda path: path.name)
def test_example_validates_against_the_schema(example: Path) -> None:
    root = parse_document(example.read_bytes())

    assert XSD.validate(root), [entry.message for entry in XSD.error_log]
    assert etree.QName(root).namespace == NAMESPACE


@pytest.mark.parametrize("example", INVALID, ids=lambda path: path.name)
def test_invalid_example_breaks_the_schema_only_inside_a_claim(example: Path) -> None:
    root = parse_document(example.read_bytes())

    assert not XSD.validate(root)
    krav = [element for element in root if etree.QName(element).localname == "Krav"]
    for entry in XSD.error_log:
        element = root.getroottree().xpath(entry.path)[0]
        assert any(claim in element.iterancestors() for claim in krav), entry.message


@pytest.mark.parametrize("encoding", ["UTF-8", "ISO-8859-1"])
def test_samples_validate_against_the_schema(encoding: str) -> None:
    root = parse_document(samples.message(25, message_id="contract-1", encoding=encoding))

    assert XSD.validate(root), [entry.message for entry in XSD.error_log]


def test_schema_has_one_global_element_batch() -> None:
    tree = etree.parse(str(CONTRACTS / "ksd" / "batch.xsd"))

    globals_ = [element.get("name") for element in tree.getroot().iterchildren(XS + "element")]

    assert globals_ == ["Batch"]
    assert tree.getroot().get("targetNamespace") == NAMESPACE


def test_readme_names_every_element_of_the_schema() -> None:
    tree = etree.parse(str(CONTRACTS / "ksd" / "batch.xsd"))
    readme = (CONTRACTS / "ksd" / "README.md").read_text(encoding="utf-8")

    names = {element.get("name") for element in tree.iter(XS + "element")}

    missing = sorted(name for name in names if not re.search(rf"`[^`]*\b{name}\b[^`]*`", readme))
    assert missing == []
    assert NAMESPACE in readme
