"""Small builders for PSRM tests: claims, a fixed catalogue, a clock that only moves on demand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from app.domain import catalogue
from app.domain.claim import CanonicalClaim

CLAIMANT_ID = "1229"
SENDER_SE = "12345678"
RECEIPT_DATE = dt.date(2025, 3, 3)
NOW = dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC)


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: dt.datetime = NOW) -> None:
        self.current = now

    def __call__(self) -> dt.datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += dt.timedelta(seconds=seconds)


def claim(reference: str = "REF-1", **changes: Any) -> CanonicalClaim:
    """A valid KFDAINS claim that passes the test catalogue's rules on RECEIPT_DATE."""
    fields: dict[str, Any] = {
        "source": "ky",
        "source_reference": f"KY-{reference}",
        "claimant_reference": reference,
        "claimant_id": CLAIMANT_ID,
        "fordringstype": "KFDAINS",
        "business_area": "daginstitution",
        "principal": Decimal("1200.00"),
        "amount": Decimal("1000.00"),
        "period_start_date": dt.date(2024, 1, 1),
        "period_end_date": dt.date(2024, 1, 31),
        "founding_date": dt.date(2024, 1, 1),
        "due_date": dt.date(2024, 2, 1),
        "srb_date": dt.date(2024, 2, 15),
        "description": "Betaling for daginstitution januar 2024",
        "liabilities": [
            {
                "debtor_kind": "CPR",
                "debtor_id": "0505784634",
                "debtor_name": "Åse Ærø",
                "limitation_date": dt.date(2027, 2, 1),
            }
        ],
    }
    fields.update(changes)
    return CanonicalClaim.model_validate(fields)


def interest_claim(reference: str, main_reference: str, **changes: Any) -> CanonicalClaim:
    """A related interest claim (REOPKOM) on a main claim."""
    values: dict[str, Any] = {
        "fordringstype": "REOPKOM",
        "business_area": "renter",
        "category": "UF",
        "main_claim_reference": f"KY-{main_reference}",
        "principal": Decimal("50.00"),
        "amount": Decimal("50.00"),
    }
    values.update(changes)
    return claim(reference, **values)


def fixed_catalogue() -> catalogue.Catalogue:
    """A fixed catalogue, so simulator tests do not move when the real one grows."""
    regime = {"kind": "limitation", "years": 3, "from": "due_date"}
    return catalogue.from_dict(
        {
            "version": "test",
            "areas": [
                {"code": "daginstitution", "name": "Daginstitution"},
                {"code": "renter", "name": "Renter"},
                {"code": "socialret", "name": "Socialret"},
            ],
            "types": [
                {
                    "code": "KFDAINS",
                    "name": "Daginstitution, betaling",
                    "area": "daginstitution",
                    "category": "HF",
                    "regime": regime,
                    "related_types": ["REOPKOM"],
                    "rules": [
                        {"id": "K_152", "consequence": "reject"},
                        {"id": "R_3_1", "consequence": "reject"},
                        {"id": "R_5_2", "consequence": "reject"},
                        {"id": "R_4_2", "consequence": "hearing", "params": {"cap": "10000"}},
                    ],
                },
                {
                    "code": "KTNESÆR",
                    "name": "Tilbagebetaling, særlig støtte",
                    "area": "socialret",
                    "category": "HF",
                    "regime": regime,
                    "related_types": [],
                    "rules": [{"id": "R_3_1", "consequence": "reject"}],
                },
                {
                    "code": "REOPKOM",
                    "name": "Kommunale morarenter",
                    "area": "renter",
                    "category": "UF",
                    "regime": regime,
                    "rules": [
                        {"id": "R_3_1", "consequence": "reject"},
                        {"id": "R_4_2", "consequence": "hearing", "params": {"cap": "10000"}},
                    ],
                },
            ],
        }
    )


def cvr(seed: int) -> str:
    """A CVR number that passes modulus 11, derived from `seed`."""
    weights = (2, 7, 6, 5, 4, 3, 2)
    base = 10_000_000 + (seed * 7919) % 89_999_999
    while True:
        digits = str(base)[:7]
        total = sum(int(d) * w for d, w in zip(digits, weights, strict=True))
        check = (11 - total % 11) % 11
        if check < 10 and digits[0] != "0":
            return digits + str(check)
        base += 1
