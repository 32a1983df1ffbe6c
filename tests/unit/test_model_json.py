"""Intake stores and hashes each claim's JSON as made by orjson alone (`encoding.model_json`).

It must be the very bytes pydantic's `model_dump(mode="json")` gives: a claim's content hash
decides whether a claim sent again is a duplicate of a stored one, so a byte of difference
would turn every repeat into a conflict. The generated claims of `test_plain_claim` check the
same; here every claim of every example message and of the benchmark's messages.
"""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest

from adapters import registry
from adapters.base import MappingContext
from adapters.ksd import samples as ksd_samples
from adapters.ky import samples as ky_samples
from adapters.oir import samples as oir_samples
from app.domain.admission import admit
from app.domain.claim import CanonicalClaim, SourceSystem
from app.encoding import model_json
from tests.golden import CLAIMANT_ID, catalogue, examples

CATALOGUE = catalogue()


def _claims(source: SourceSystem, raw: bytes) -> list[CanonicalClaim]:
    adapter = registry()[source]
    context = MappingContext(claimant_id=CLAIMANT_ID, catalogue=CATALOGUE)
    claims = []
    for candidate in adapter.to_candidates(adapter.parse(raw), context):
        claim, _ = admit(candidate, CATALOGUE)
        if claim is not None:
            claims.append(claim)
    return claims


def _messages(source: SourceSystem) -> list[bytes]:
    raws = [path.read_bytes() for path in examples(source)]
    samples = {
        SourceSystem.KY: ky_samples.message(50, message_id="JSON-KY-1"),
        SourceSystem.KSD: ksd_samples.message(50, message_id="JSON-KSD-1"),
        SourceSystem.OIR: oir_samples.message(50, message_id="JSON-OIR-1"),
    }
    return [*raws, samples[source]]


@pytest.mark.parametrize("source", list(SourceSystem), ids=lambda s: s.value)
def test_a_claims_json_is_pydantics(source: SourceSystem) -> None:
    claims = [claim for raw in _messages(source) for claim in _claims(source, raw)]
    assert len(claims) > 50  # the examples hold claims, not only broken messages

    for claim in claims:
        dumped = claim.model_dump(mode="json")
        assert model_json(claim) == orjson.dumps(dumped)
        assert model_json(claim, sort_keys=True) == orjson.dumps(
            dumped, option=orjson.OPT_SORT_KEYS
        )


def test_amounts_keep_their_exact_digits() -> None:
    (claim,) = _claims(SourceSystem.KY, ky_samples.message(1, message_id="JSON-KY-2"))
    changed = claim.model_copy(update={"principal": Decimal("1000.50"), "amount": Decimal("7.5")})

    data = orjson.loads(model_json(changed))

    assert (data["principal"], data["amount"]) == ("1000.50", "7.5")
    assert data == changed.model_dump(mode="json")


def test_something_it_cannot_serialise_is_an_error_not_a_guess() -> None:
    (claim,) = _claims(SourceSystem.KY, ky_samples.message(1, message_id="JSON-KY-3"))
    odd = claim.model_copy(update={"notes": [object()]})

    with pytest.raises(TypeError):
        model_json(odd)
