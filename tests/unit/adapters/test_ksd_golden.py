"""Every KSD example in contracts/ksd/examples renders to its reviewed expected result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.domain.claim import SourceSystem
from tests.golden import examples, expected_path, render

EXAMPLES = examples(SourceSystem.KSD)


def test_there_are_examples_in_both_encodings() -> None:
    declarations = [path.read_bytes()[:60].lower() for path in EXAMPLES]
    assert len(EXAMPLES) >= 6
    assert sum(b'encoding="iso-8859-1"' in head for head in declarations) >= 2
    assert sum(b'encoding="utf-8"' in head for head in declarations) >= 2


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_example_renders_to_its_expected_result(example: Path) -> None:
    expected = json.loads(expected_path(example).read_text(encoding="utf-8"))

    result = json.loads(json.dumps(render(SourceSystem.KSD, example.read_bytes())))

    assert result == expected
