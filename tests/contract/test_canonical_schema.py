"""The published canonical schema is the model's, and what kravbro stores satisfies it."""

from __future__ import annotations

import json

import jsonschema

from adapters.ky import samples
from app.domain.schema import render
from tests.golden import CONTRACTS, SourceSystem, examples, expected_path
from tests.golden import render as render_message


def test_the_published_schema_has_not_drifted_from_the_model() -> None:
    published = (CONTRACTS / "canonical" / "claim.schema.json").read_text(encoding="utf-8")

    assert published == render(), "regenerate with: python -m app.domain.schema"


def test_every_accepted_example_claim_validates_against_the_schema() -> None:
    schema = json.loads((CONTRACTS / "canonical" / "claim.schema.json").read_text("utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    checked = 0

    for source in SourceSystem:
        for example in examples(source):
            expected = json.loads(expected_path(example).read_text("utf-8"))
            for claim in expected["claims"]:
                if claim["claim"] is not None:
                    validator.validate(claim["claim"])
                    checked += 1

    assert checked >= 18


def test_a_sample_message_validates_claim_by_claim() -> None:
    schema = json.loads((CONTRACTS / "canonical" / "claim.schema.json").read_text("utf-8"))
    result = render_message(SourceSystem.KY, samples.message(20, message_id="S"))

    for claim in result["claims"]:
        jsonschema.validate(claim["claim"], schema)
