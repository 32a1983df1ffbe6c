"""What operations staff see of the queue: counts, ages, throughput, dead letters, limitation."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.tables import Claim, ClaimEvent, Delivery, Transfer, WorkerStatus
from app.domain.catalogue import Catalogue
from app.domain.claim import CanonicalClaim
from app.errors import NotFound
from app.services import readiness

# Claims not yet received by PSRM: only receipt by PSRM interrupts limitation.
# Claims not (or no longer) received by PSRM, whose limitation nothing has interrupted:
# rejected by PSRM and withdrawn from hearing too, which their fagsystem may correct and send.
UNPROTECTED = (
    "accepted",
    "held",
    "queued",
    "sending",
    "sent",
    "hearing",
    "dead_letter",
    "rejected",
    "withdrawn",
)
WAITING = ("held", "queued", "sending", "sent")
BUCKETS = ((0, "overdue"), (30, "0-30"), (60, "31-60"), (90, "61-90"))


def overview(session: Session, *, now: dt.datetime) -> dict[str, Any]:
    """Return counts by area and state, the oldest waiting claim, throughput and workers."""
    by_area: dict[str, dict[str, int]] = defaultdict(dict)
    for area, state, count in session.execute(
        select(Claim.business_area, Claim.state, func.count()).group_by(
            Claim.business_area, Claim.state
        )
    ):
        by_area[area or "unknown"][state] = count
    oldest = session.execute(
        select(Claim.business_area, func.min(Claim.received_at))
        .where(Claim.state.in_(WAITING))
        .group_by(Claim.business_area)
    ).all()
    hour_ago = now - dt.timedelta(hours=1)
    throughput = dict(
        session.execute(
            select(ClaimEvent.kind, func.count())
            .where(ClaimEvent.at >= hour_ago, ClaimEvent.kind.in_(["sent", "at_psrm", "rejected"]))
            .group_by(ClaimEvent.kind)
        ).all()
    )
    transfers = dict(
        session.execute(select(Transfer.state, func.count()).group_by(Transfer.state)).all()
    )
    deliveries = dict(
        session.execute(select(Delivery.state, func.count()).group_by(Delivery.state)).all()
    )
    workers = [
        {
            "name": w.name,
            "seen_at": w.seen_at.isoformat(),
            "alive": (now - w.seen_at) < dt.timedelta(minutes=2),
            "circuit": w.circuit,
            "sent": w.sent,
            "receipts": w.receipts,
            "retries": w.retries,
        }
        for w in session.scalars(select(WorkerStatus).order_by(WorkerStatus.name))
    ]
    alive = [w for w in workers if w["alive"]]
    circuit = (
        "open"
        if any(w["circuit"] == "open" for w in alive)
        else ("half_open" if any(w["circuit"] == "half_open" for w in alive) else "closed")
    )
    return {
        "as_of": now.isoformat(),
        "by_area": {area: dict(sorted(states.items())) for area, states in sorted(by_area.items())},
        "totals": _totals(by_area),
        "oldest_waiting": {
            area or "unknown": {
                "received_at": at.isoformat(),
                "age_seconds": int((now - at).total_seconds()),
            }
            for area, at in oldest
        },
        "throughput_last_hour": {
            "sent": throughput.get("sent", 0),
            "accepted": throughput.get("at_psrm", 0),
            "rejected": throughput.get("rejected", 0),
        },
        "transfers": transfers,
        "deliveries": deliveries,
        "dead_letters": transfers.get("dead", 0),
        "hearings": sum(states.get("hearing", 0) for states in by_area.values()),
        "circuit": circuit if alive else "no_worker",
        "workers": workers,
    }


def _totals(by_area: dict[str, dict[str, int]]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for states in by_area.values():
        for state, count in states.items():
            totals[state] += count
    return dict(sorted(totals.items()))


def limitation_watch(
    session: Session, *, today: dt.date, horizon_days: int, limit: int = 500
) -> dict[str, Any]:
    """Return claims not yet at PSRM whose limitation or lapse date is within the horizon."""
    until = today + dt.timedelta(days=horizon_days)
    rows = session.execute(
        select(
            Claim.id,
            Claim.business_area,
            Claim.fordringstype,
            Claim.state,
            Claim.holds,
            Claim.amount,
            Claim.limitation_date,
            Claim.source,
            Claim.source_reference,
        )
        .where(
            Claim.state.in_(UNPROTECTED),
            Claim.limitation_date.is_not(None),
            Claim.limitation_date <= until,
        )
        .order_by(Claim.limitation_date, Claim.id)
    ).all()
    buckets = {name: 0 for _, name in BUCKETS}
    if horizon_days > BUCKETS[-1][0]:  # a longer horizon reaches past the last bucket
        buckets[bucket_of(horizon_days)] = 0
    areas: dict[str, dict[str, Any]] = {}
    claims: list[dict[str, Any]] = []
    for row in rows:
        days = (row.limitation_date - today).days
        bucket = bucket_of(days)
        buckets[bucket] += 1
        area = areas.setdefault(
            row.business_area or "unknown", {"count": 0, "amount_dkk": Decimal("0.00")}
        )
        area["count"] += 1
        area["amount_dkk"] += row.amount or Decimal("0.00")
        if len(claims) < limit:
            claims.append(
                {
                    "id": str(row.id),
                    "source": row.source,
                    "source_reference": row.source_reference,
                    "business_area": row.business_area,
                    "fordringstype": row.fordringstype,
                    "state": row.state,
                    "holds": row.holds,
                    "amount_dkk": str(row.amount) if row.amount is not None else None,
                    "limitation_date": row.limitation_date.isoformat(),
                    "days_left": days,
                    "bucket": bucket,
                }
            )
    return {
        "as_of": today.isoformat(),
        "horizon_days": horizon_days,
        "total": len(rows),
        "buckets": buckets,
        "by_area": {
            name: {"count": v["count"], "amount_dkk": str(v["amount_dkk"])}
            for name, v in sorted(areas.items())
        },
        "claims": claims,
    }


def bucket_of(days_left: int) -> str:
    """Name the limitation-watch bucket of a claim `days_left` days from its limitation date."""
    if days_left < 0:
        return "overdue"
    for upper, name in BUCKETS[1:]:
        if days_left <= upper:
            return name
    return f">{BUCKETS[-1][0]}"


# States of a claim that has gone to PSRM (or is on its way): readiness no longer applies.
_LEFT_KRAVBRO = frozenset({"sending", "sent", "at_psrm", "hearing", "recalled"})


def claim_readiness(
    session: Session,
    *,
    claim_id: uuid.UUID,
    source: str | None,
    catalogue: Catalogue,
    claimant_id: str,
    today: dt.date,
) -> dict[str, Any]:
    """Explain why a claim waits (or that it may go) and which hearing rules it would trigger.

    Raises:
        NotFound: no such claim (or not the caller's).
    """
    row = session.get(Claim, claim_id)
    if row is None or (source is not None and row.source != source):
        raise NotFound(f"no claim {claim_id}")
    if row.state == "invalid":
        return {
            "claim_id": str(row.id),
            "state": row.state,
            "ready": False,
            "holds": [],
            "problems": row.problems,
            "hearing_rules": [],
        }
    if row.state in _LEFT_KRAVBRO:
        # PSRM's entry rules were applied when it went; re-checked against today, a claim at
        # PSRM would look lapsed, while being at PSRM is what protects it from lapsing.
        return {
            "claim_id": str(row.id),
            "state": row.state,
            "ready": False,
            "holds": [],
            "rule_results": [],
            "hearing_rules": [],
            "limitation_date": row.limitation_date.isoformat() if row.limitation_date else None,
            "note": f"the claim has left kravbro for PSRM (state {row.state}); its readiness "
            "was decided when it was queued",
        }
    claim = CanonicalClaim.model_validate(row.data)
    context = readiness.load_context(session, claimant_id=claimant_id)
    main_state = (
        session.scalar(select(Claim.state).where(Claim.id == row.main_claim_id))
        if row.main_claim_id is not None
        else None
    )
    result = readiness.verdict(
        claim,
        catalogue=catalogue,
        context=context,
        today=today,
        has_main_claim=row.main_claim_id is not None,
        main_claim_state=main_state,
    )
    return {
        "claim_id": str(row.id),
        "state": row.state,
        "assessed_on": today.isoformat(),
        "ready": result.ready,
        "holds": [
            {
                "reason": hold.reason.value,
                "message": hold.message,
                "rules": list(hold.rules),
                "until": hold.until.isoformat() if hold.until else None,
            }
            for hold in result.holds
        ],
        "rule_results": [
            {
                "rule": r.rule,
                "consequence": r.consequence,
                "field": r.field,
                "message": r.message,
                "values": dict(r.values),
            }
            for r in (*result.rejections, *result.hearing)
        ],
        "hearing_rules": [r.rule for r in result.hearing],
        "limitation_date": row.limitation_date.isoformat() if row.limitation_date else None,
    }
