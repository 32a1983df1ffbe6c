"""Golden files: an example message in `contracts/<source>/examples/` and what kravbro makes of it.

For `examples/<name>.<ext>` the expected result is `examples/<name>.expected.json`. Regenerate
after a deliberate change with `python -m tests.golden <source>` and review the diff.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from adapters import registry
from adapters.base import MappingContext
from app.domain import catalogue as catalogue_module
from app.domain.admission import admit
from app.domain.claim import SourceSystem

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ROOT / "contracts"
CLAIMANT_ID = "1234"


def catalogue() -> catalogue_module.Catalogue:
    """Load the catalogue the service uses."""
    return catalogue_module.load(CONTRACTS / "psrm" / "catalogue.json")


def examples(source: SourceSystem) -> list[Path]:
    """Return the example messages of a source (not their expected files)."""
    folder = CONTRACTS / source.value / "examples"
    return sorted(p for p in folder.iterdir() if not p.name.endswith(".expected.json"))


def expected_path(example: Path) -> Path:
    """Return where an example's expected result is kept."""
    return example.with_name(example.name.rsplit(".", 1)[0] + ".expected.json")


def render(source: SourceSystem, raw: bytes) -> dict[str, Any]:
    """Parse, map and admit every claim of a message, as JSON-ready data."""
    adapter = registry()[source]
    cat = catalogue()
    message = adapter.parse(raw)
    context = MappingContext(claimant_id=CLAIMANT_ID, catalogue=cat)
    claims = []
    for candidate in adapter.to_candidates(message, context):
        claim, problems = admit(candidate, cat)
        claims.append(
            {
                "index": candidate.index,
                "source_path": candidate.source_path,
                "source_reference": candidate.source_reference,
                "result": "accepted" if claim is not None else "rejected",
                "claim": claim.model_dump(mode="json") if claim is not None else None,
                "problems": [p.as_dict() for p in problems],
            }
        )
    return {"message_id": adapter.message_id(message), "claims": claims}


def main(argv: list[str]) -> None:
    """Regenerate the expected files of the named sources."""
    for name in argv:
        source = SourceSystem(name)
        for example in examples(source):
            result = render(source, example.read_bytes())
            text = json.dumps(result, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
            expected_path(example).write_text(text, encoding="utf-8")
            print(f"wrote {expected_path(example).relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
