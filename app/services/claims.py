"""The read side of claims: one claim, or a filtered page of them, with CPR numbers masked."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from app.db.tables import Claim, ClaimEvent, SourceMessage
from app.domain.identifiers import IdentifierKind, mask
from app.errors import InvalidRequest, NotFound


@dataclass(frozen=True, slots=True)
class ClaimFilter:
    """What a caller may filter the claim list on."""

    source: str | None = None
    business_area: str | None = None
    fordringstype: str | None = None
    state: str | None = None
    received_from: dt.datetime | None = None
    received_to: dt.datetime | None = None


def masked(data: dict[str, Any]) -> dict[str, Any]:
    """Return claim data with every CPR number masked as `DDMMYY-****`."""
    liabilities = data.get("liabilities")
    if not isinstance(liabilities, list):
        return data
    out = []
    for item in liabilities:
        if isinstance(item, dict) and isinstance(item.get("debtor_id"), str):
            kind = item.get("debtor_kind")
            if kind not in {k.value for k in IdentifierKind} or kind == IdentifierKind.CPR:
                item = {**item, "debtor_id": mask(IdentifierKind.CPR, item["debtor_id"])}
        out.append(item)
    return {**data, "liabilities": out}


def render(row: Claim, message_id: str | None = None) -> dict[str, Any]:
    """Render a stored claim for the API."""
    return {
        "id": str(row.id),
        "source": row.source,
        "source_reference": row.source_reference,
        "message_id": message_id,
        "state": row.state,
        "revision": row.revision,
        "fordringstype": row.fordringstype,
        "business_area": row.business_area,
        "received_at": row.received_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
        "problems": row.problems,
        "claim": masked(row.data),
    }


def get(session: Session, *, claim_id: uuid.UUID, source: str | None) -> dict[str, Any]:
    """Return one claim; `source` limits the lookup to one fagsystem's own claims.

    Raises:
        NotFound: no such claim (or not the caller's).
    """
    query = (
        select(Claim, SourceMessage.message_id)
        .join(SourceMessage, SourceMessage.id == Claim.message_pk)
        .where(Claim.id == claim_id)
    )
    if source is not None:
        query = query.where(Claim.source == source)
    found = session.execute(query).one_or_none()
    if found is None:
        raise NotFound(f"no claim {claim_id}")
    return render(found[0], found[1])


def events(session: Session, *, claim_id: uuid.UUID, source: str | None) -> list[dict[str, Any]]:
    """Return a claim's event history, oldest first.

    Raises:
        NotFound: no such claim (or not the caller's).
    """
    get(session, claim_id=claim_id, source=source)
    rows = session.scalars(
        select(ClaimEvent).where(ClaimEvent.claim_id == claim_id).order_by(ClaimEvent.id)
    )
    return [
        {"at": row.at.isoformat(), "kind": row.kind, "actor": row.actor, "detail": row.detail}
        for row in rows
    ]


def _encode_cursor(received_at: dt.datetime, claim_id: uuid.UUID) -> str:
    raw = orjson.dumps([received_at.isoformat(), str(claim_id)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, claim_id = orjson.loads(base64.urlsafe_b64decode(padded))
        return dt.datetime.fromisoformat(at), uuid.UUID(claim_id)
    except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise InvalidRequest("the cursor is not one this service gave out") from exc


def _filtered(query: Select[Claim, str], where: ClaimFilter) -> Select[Claim, str]:
    if where.source:
        query = query.where(Claim.source == where.source)
    if where.business_area:
        query = query.where(Claim.business_area == where.business_area)
    if where.fordringstype:
        query = query.where(Claim.fordringstype == where.fordringstype)
    if where.state:
        query = query.where(Claim.state == where.state)
    if where.received_from:
        query = query.where(Claim.received_at >= where.received_from)
    if where.received_to:
        query = query.where(Claim.received_at < where.received_to)
    return query


def page(session: Session, *, where: ClaimFilter, limit: int, cursor: str | None) -> dict[str, Any]:
    """Return one page of claims, newest first, and the cursor of the next page.

    Raises:
        InvalidRequest: a cursor this service did not give out.
    """
    query = _filtered(
        select(Claim, SourceMessage.message_id).join(
            SourceMessage, SourceMessage.id == Claim.message_pk
        ),
        where,
    )
    if cursor:
        at, last_id = _decode_cursor(cursor)
        query = query.where(
            or_(Claim.received_at < at, and_(Claim.received_at == at, Claim.id < last_id))
        )
    rows = session.execute(
        query.order_by(Claim.received_at.desc(), Claim.id.desc()).limit(limit + 1)
    ).all()
    items = [render(row, message_id) for row, message_id in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1][0]
        next_cursor = _encode_cursor(last.received_at, last.id)
    return {"items": items, "next_cursor": next_cursor}
