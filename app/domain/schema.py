"""The canonical claim's published JSON Schema (contracts/canonical/claim.schema.json)."""

from __future__ import annotations

import json
from typing import Any

from app.domain.claim import CanonicalClaim

SCHEMA_ID = "https://kravbro.example/contracts/canonical/claim.schema.json"


def claim_schema() -> dict[str, Any]:
    """Return the JSON Schema of the canonical claim, as published."""
    schema = CanonicalClaim.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
    }


def render() -> str:
    """Return the schema file's exact text."""
    return json.dumps(claim_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


if __name__ == "__main__":
    from pathlib import Path

    target = Path(__file__).resolve().parents[2] / "contracts" / "canonical" / "claim.schema.json"
    target.write_text(render(), encoding="utf-8")
    print(f"wrote {target}")  # noqa: T201
