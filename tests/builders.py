"""Small builders for test data."""

from __future__ import annotations

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
