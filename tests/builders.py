"""Small builders for test data."""

from __future__ import annotations

from typing import Any

KEYS = {
    "ky": "demo-ky-key",
    "ksd": "demo-ksd-key",
    "oir": "demo-oir-key",
    "ops": "demo-ops-key",
    "admin": "demo-admin-key",
}


def auth(who: str) -> dict[str, str]:
    """Return the Authorization header of a demo key."""
    return {"Authorization": f"Bearer {KEYS[who]}"}


def ky_claim(reference: str, **overrides: Any) -> dict[str, Any]:
    """Return one valid KY claim (KTTIBAK, ready on 2 March 2026 once Socialret is on-boarded)."""
    claim: dict[str, Any] = {
        "reference": reference,
        "benefit": "kontanthjaelp",
        "citizen": {"cpr": "0101501000", "name": "Mette Jensen"},
        "period": {"from": "2025-01-01", "to": "2025-01-28"},
        "principal": "1500.00",
        "amount": "1500.00",
        "decisionDate": "2025-02-27",
        "dueDate": "2025-03-29",
        "srbDate": "2025-04-12",
        "noticeDate": "2025-04-26",
        "description": "Tilbagebetaling af kontanthjælp 01.2025",
    }
    claim.update(overrides)
    return claim


def ky_interest(reference: str = "R-1-I", **overrides: Any) -> dict[str, Any]:
    """Return a KY interest claim (REOPKOM, area renter), due and past its SRB: ready on its own."""
    interest: dict[str, Any] = {
        "reference": reference,
        "period": {"from": "2025-09-16", "to": "2025-11-30"},
        "principal": "100.00",
        "amount": "100.00",
        "foundingDate": "2025-11-30",
        "dueDate": "2025-12-01",
        "srbDate": "2025-12-15",
        "description": "Renter",
    }
    interest.update(overrides)
    return interest
