"""Valid KY messages of any size, for benchmarks and integration tests.

The claims are distinct within and across messages (their references derive from the message
id), use only fordringstyper of the seed catalogue, and have due, SRB and notice dates in 2025,
so each is ready for transfer as soon as its business area is on-boarded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from typing import Any

_FIRST_NAMES = ("Mette", "Lars", "Sofie", "Jens", "Fatima", "Niels", "Camilla", "Ahmad", "Ida")
_LAST_NAMES = ("Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Larsen", "Sørensen")


def _cpr(i: int) -> str:
    # Date-valid CPR numbers born 1950-1999 (a 7th digit of 1-3 means the 1900s).
    day, month, year = 1 + i % 28, 1 + (i // 28) % 12, 50 + (i // 336) % 50
    return f"{day:02d}{month:02d}{year:02d}{1000 + (i * 7919) % 3000:04d}"


def _claim(i: int, prefix: str) -> dict[str, Any]:
    boligindskud = i % 5 == 4
    start = dt.date(2025, 1 + i % 6, 1)
    end = start + dt.timedelta(days=27 + i % 3)
    decided = end + dt.timedelta(days=30 + i % 20)
    due = decided + dt.timedelta(days=30)
    srb = due + dt.timedelta(days=14)
    principal = Decimal(1_500 + (i * 37) % 48_000) + Decimal(i % 100) / 100
    amount = principal - Decimal((i * 13) % 1_000) if principal > 1_000 else principal
    name = f"{_FIRST_NAMES[i % len(_FIRST_NAMES)]} {_LAST_NAMES[i % len(_LAST_NAMES)]}"
    return {
        "reference": f"{prefix}-{i:05d}",
        "benefit": "boligindskud" if boligindskud else "kontanthjaelp",
        "citizen": {"cpr": _cpr(i), "name": name},
        "period": {"from": start.isoformat(), "to": end.isoformat()},
        "principal": str(principal),
        "amount": str(amount),
        "decisionDate": decided.isoformat(),
        "dueDate": due.isoformat(),
        "srbDate": srb.isoformat(),
        "noticeDate": (srb + dt.timedelta(days=14)).isoformat(),
        "description": (
            "Tilbagebetaling af boligindskud"
            if boligindskud
            else f"Tilbagebetaling af kontanthjælp {start:%m.%Y}"
        ),
    }


def message(n: int, *, message_id: str) -> bytes:
    """Build a valid KY message with `n` distinct claims (1 to 10,000) as UTF-8 JSON bytes."""
    prefix = "S" + hashlib.blake2b(message_id.encode(), digest_size=6).hexdigest()
    body = {
        "messageId": message_id,
        "sentAt": "2026-03-02T08:15:00+01:00",
        "claims": [_claim(i, prefix) for i in range(n)],
    }
    return json.dumps(body, ensure_ascii=False).encode("utf-8")
