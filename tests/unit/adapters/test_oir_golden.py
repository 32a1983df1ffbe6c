"""Every ØiR example message renders to its reviewed expected result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.domain.claim import SourceSystem
from tests.golden import examples, expected_path, render

EXAMPLES = examples(SourceSystem.OIR)


def test_there_are_examples_of_every_kind() -> None:
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_example_renders_to_its_expected_file(example: Path) -> None:
    expected = json.loads(expected_path(example).read_text(encoding="utf-8"))

    result = render(SourceSystem.OIR, example.read_bytes())

    assert json.loads(json.dumps(result, ensure_ascii=False)) == expected
