"""Every KY example message renders to its reviewed expected file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.domain.claim import SourceSystem
from tests.golden import examples, expected_path, render

EXAMPLES = examples(SourceSystem.KY)


def test_there_are_enough_examples_to_cover_the_contract() -> None:
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_example_renders_to_its_expected_file(example: Path) -> None:
    expected = json.loads(expected_path(example).read_text(encoding="utf-8"))

    assert render(SourceSystem.KY, example.read_bytes()) == expected


def test_the_examples_show_rejected_claims_beside_accepted_ones() -> None:
    results = [
        claim["result"]
        for example in EXAMPLES
        for claim in json.loads(expected_path(example).read_text(encoding="utf-8"))["claims"]
    ]

    assert results.count("rejected") >= 5
    assert results.count("accepted") > results.count("rejected")
