"""The adjustment contract's example validates, and the schema refuses what the service refuses."""

from __future__ import annotations

import json

import jsonschema
import pytest

from tests.golden import CONTRACTS

FOLDER = CONTRACTS / "adjustments"


def schema() -> dict[str, object]:
    loaded: dict[str, object] = json.loads((FOLDER / "message.schema.json").read_text("utf-8"))
    return loaded


def test_the_example_validates() -> None:
    example = json.loads((FOLDER / "examples" / "payment-and-recall.json").read_text("utf-8"))

    jsonschema.validate(example, schema())


@pytest.mark.parametrize(
    "adjustment",
    [
        {"reference": "R", "action": "recall", "reason": "INDB"},
        {"reference": "R", "action": "write_down", "reason": "INDB", "amount": "10"},
        {
            "reference": "R",
            "action": "write_down",
            "reason": "REGU",
            "amount": "10",
            "effectiveDate": "2026-01-01",
        },
        {"reference": "R", "action": "write_up", "reason": "REGU"},
        {"reference": "R", "action": "move", "reason": "REGU"},
        {"reference": "R\x00", "action": "recall", "reason": "FEJL"},
    ],
)
def test_the_schema_refuses_what_the_service_refuses(adjustment: dict[str, str]) -> None:
    message = {"messageId": "A", "adjustments": [adjustment]}

    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(message, schema())


def test_the_schema_refuses_a_message_id_with_a_control_character() -> None:
    recall = {"reference": "R", "action": "recall", "reason": "FEJL"}

    jsonschema.validate({"messageId": "A-1", "adjustments": [recall]}, schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"messageId": "A\x00", "adjustments": [recall]}, schema())
