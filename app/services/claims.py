"""The read side of claims: one claim, or a filtered page of them, with CPR numbers masked.

Nothing CPR-shaped leaves here unmasked: a rejected claim is stored as its sender sent it, so
a CPR number may sit anywhere in it, as text or as a number.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from app.clock import COPENHAGEN
from app.db.tables import Claim, ClaimEvent, SourceMessage
from app.domain.catalogue import Catalogue
from app.domain.claim import SourceSystem
from app.domain.identifiers import IdentifierKind, mask, mask_cpr_like
from app.domain.problems import Problem, shown_value
from app.errors import InvalidRequest, NotFound
from app.services import readiness
from app.services.intake import ClaimState

# Every state a stored claim can be in (the README's table). Intake's `accepted` is not one:
# a valid claim is held or queued before it is stored.
STATES = (
    ClaimState.INVALID,
    readiness.HELD,
    readiness.QUEUED,
    "sending",
    "sent",
    "at_psrm",
    "hearing",
    "rejected",
    "withdrawn",
    "dead_letter",
    "recalled",
)

_KINDS = frozenset(kind.value for kind in IdentifierKind)
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# A date-time begins with its date: pydantic would also read "1" or "20261204" as seconds
# since 1970.
_DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ]")
DEFAULT_LIMIT = 100
MAX_LIMIT = 500
# Parsed as FastAPI parsed the parameter before dates were taken, so date-times keep their meaning.
_INSTANT: TypeAdapter[dt.datetime] = TypeAdapter(dt.datetime)


@dataclass(frozen=True, slots=True)
class ClaimFilter:
    """What a caller may filter the claim list on."""

    source: str | None = None
    business_area: str | None = None
    fordringstype: str | None = None
    state: str | None = None
    received_from: dt.datetime | None = None
    received_to: dt.datetime | None = None
    # Where the page starts: after this (received_at, id), newest first.
    after: tuple[dt.datetime, uuid.UUID] | None = None
    limit: int = DEFAULT_LIMIT


def masked(data: dict[str, Any]) -> dict[str, Any]:
    """Return claim data with every CPR number masked as `DDMMYY-****`.

    A debtor identified by CPR (or by a kind the model does not know) has its identifier masked
    whatever it looks like; anything else CPR-shaped, at any depth, as text or as a number, is
    masked too.
    """
    liabilities = data.get("liabilities")
    if isinstance(liabilities, list):
        data = {**data, "liabilities": [_debtor_masked(item) for item in liabilities]}
    out: dict[str, Any] = _without_cpr(data)
    return out


def _debtor_masked(item: Any) -> Any:
    if not isinstance(item, dict):
        return item
    kind, debtor_id = item.get("debtor_kind"), item.get("debtor_id")
    if kind in _KINDS and kind != IdentifierKind.CPR:
        return item
    if isinstance(debtor_id, str):
        return {**item, "debtor_id": mask(IdentifierKind.CPR, debtor_id)}
    if isinstance(debtor_id, int) and not isinstance(debtor_id, bool) and debtor_id >= 0:
        # Sent as a JSON number, a CPR number has lost its leading zero.
        return {**item, "debtor_id": mask(IdentifierKind.CPR, str(debtor_id).zfill(10))}
    return item


def _without_cpr(value: Any) -> Any:
    """Return a JSON value with every CPR-shaped number in it masked, at any depth."""
    if isinstance(value, str):
        return mask_cpr_like(value)
    if isinstance(value, dict):
        return {mask_cpr_like(str(key)): _without_cpr(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_cpr(item) for item in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = str(value)
        shown = mask_cpr_like(text)
        return value if shown == text else shown
    return value


def _text_without_cpr(text: str | None) -> str | None:
    return mask_cpr_like(text) if text is not None else None


def render(row: Claim, message_id: str | None = None) -> dict[str, Any]:
    """Render a stored claim for the API."""
    # What a rejected claim's sender sent is stored as sent: the columns taken from it too.
    return {
        "id": str(row.id),
        "source": row.source,
        "source_reference": _text_without_cpr(row.source_reference),
        "message_id": _text_without_cpr(message_id),
        "state": row.state,
        "revision": row.revision,
        "fordringstype": _text_without_cpr(row.fordringstype),
        "business_area": _text_without_cpr(row.business_area),
        "received_at": row.received_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
        # Why a held claim waits (its readiness endpoint says it in full).
        "holds": list(row.holds or []),
        "problems": _without_cpr(row.problems),
        # What PSRM said when it rejected the claim (`rejected`): code, text, rule.
        "psrm_errors": _without_cpr(row.psrm_errors) if row.psrm_errors else [],
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
        {
            "at": row.at.isoformat(),
            "kind": row.kind,
            "actor": row.actor,
            "detail": _without_cpr(row.detail),
        }
        for row in rows
    ]


def claim_filter(
    *,
    catalogue: Catalogue,
    source: str | None = None,
    business_area: str | None = None,
    fordringstype: str | None = None,
    state: str | None = None,
    received_from: str | None = None,
    received_to: str | None = None,
    cursor: str | None = None,
    limit: str | None = None,
) -> ClaimFilter:
    """Build the claim list's filter from its query parameters.

    `received_from` and `received_to` are each a date (a calendar day in Copenhagen: from its
    start, or up to and including its end) or a date-time with an offset (from inclusive, to
    exclusive).

    Raises:
        InvalidRequest: an area, type or state the service does not know, a bound that is
            neither a date nor a date-time with an offset, bounds the wrong way round, a limit
            outside 1-500, or a cursor this service did not give out; every one is listed.
    """
    start, start_problem = _bound("received_from", received_from, whole_day=False)
    end, end_problem = _bound("received_to", received_to, whole_day=True)
    after, cursor_problem = _decode_cursor(cursor) if cursor else (None, None)
    count, limit_problem = _limit(limit)
    order_problem = None
    if start is not None and end is not None and start >= end:
        order_problem = Problem(
            code="request.range_reversed",
            message="received_from must be before received_to (received_to is exclusive; "
            "a date there includes its whole day)",
            source_path="query/received_from",
        )
    problems = [
        problem
        for problem in (
            _unknown("source", source, [s.value for s in SourceSystem], "sources"),
            _unknown("business_area", business_area, sorted(catalogue.areas), "business areas"),
            _unknown("fordringstype", fordringstype, sorted(catalogue.types), "fordringstyper"),
            _unknown("state", state, STATES, "claim states"),
            start_problem,
            end_problem,
            order_problem,
            cursor_problem,
            limit_problem,
        )
        if problem is not None
    ]
    if problems:
        raise InvalidRequest("the claim filter is invalid", problems=problems)
    return ClaimFilter(
        source=source,
        business_area=business_area,
        fordringstype=fordringstype,
        state=state,
        received_from=start,
        received_to=end,
        after=after,
        limit=count,
    )


def _limit(text: str | None) -> tuple[int, Problem | None]:
    if text is None:
        return DEFAULT_LIMIT, None
    stripped = text.strip()
    if stripped.isascii() and stripped.isdigit() and 1 <= int(stripped) <= MAX_LIMIT:
        return int(stripped), None
    return DEFAULT_LIMIT, Problem(
        code="request.limit",
        message=f"limit must be a whole number from 1 to {MAX_LIMIT}",
        source_path="query/limit",
    )


def _unknown(name: str, value: str | None, known: Sequence[str], what: str) -> Problem | None:
    if value is None or value in known:
        return None
    # The value is repeated only if it reads as a code: a name put in a filter is not.
    shown = f" {_text_without_cpr(value)!r}" if shown_value(value) else ""
    return Problem(
        code="request.enum",
        message=f"{name}{shown} is unknown; known {what}: {', '.join(known)}",
        source_path=f"query/{name}",
    )


def _bound(
    name: str, text: str | None, *, whole_day: bool
) -> tuple[dt.datetime | None, Problem | None]:
    """Return a received bound as a UTC instant, or the problem with it."""
    if text is None:
        return None, None
    try:
        if _DAY.fullmatch(text):
            day = dt.date.fromisoformat(text)
            if whole_day:  # up to the next day's start, so the bound stays exclusive
                day += dt.timedelta(days=1)
            return dt.datetime.combine(day, dt.time(), tzinfo=COPENHAGEN).astimezone(dt.UTC), None
        if not _DATE_TIME.match(text):
            raise ValueError("not a date-time")
        at = _INSTANT.validate_python(text)
        if at.utcoffset() is None:
            return None, Problem(
                code="request.timezone_aware",
                message=f"{name} is a date-time without an offset: give one, such as Z or "
                "+01:00 (2026-12-04T14:34:00+01:00), or a date (YYYY-MM-DD) for a whole day "
                "in Copenhagen",
                source_path=f"query/{name}",
            )
        return at.astimezone(dt.UTC), None
    except OverflowError:
        # A date or instant that reads well but lies at the very end of what can be held
        # (9999-12-31, the day after it is the bound; 0001-01-01, before it in UTC).
        return None, Problem(
            code="request.datetime_range",
            message=f"{name} lies beyond the bounds a search can take: "
            "from 0001-01-02 to 9999-12-30",
            source_path=f"query/{name}",
        )
    except (ValueError, ValidationError):
        return None, Problem(
            code="request.datetime_parsing",
            message=f"{name} must be a date (YYYY-MM-DD) or a date-time with an offset "
            "(2026-12-04T14:34:00+01:00)",
            source_path=f"query/{name}",
        )


def _encode_cursor(received_at: dt.datetime, claim_id: uuid.UUID) -> str:
    raw = orjson.dumps([received_at.isoformat(), str(claim_id)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[tuple[dt.datetime, uuid.UUID] | None, Problem | None]:
    """Return where a page starts, or the problem with the cursor (never an error: a cursor
    is the caller's text, and anything that is not one this service made is refused)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, claim_id = orjson.loads(base64.urlsafe_b64decode(padded))
        if not isinstance(at, str) or not isinstance(claim_id, str):
            raise ValueError("not a cursor")
        received = dt.datetime.fromisoformat(at)
        if received.utcoffset() is None:
            raise ValueError("not a cursor")  # this service's cursors carry UTC
        return (received.astimezone(dt.UTC), uuid.UUID(claim_id)), None
    except (ValueError, TypeError, OverflowError, orjson.JSONDecodeError):
        return None, Problem(
            code="request.cursor",
            message="the cursor is not one this service gave out: send next_cursor as given",
            source_path="query/cursor",
        )


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


def page(session: Session, *, where: ClaimFilter) -> dict[str, Any]:
    """Return one page of claims (`where.limit`, after `where.after`), newest first, and the
    cursor of the next page."""
    query = _filtered(
        select(Claim, SourceMessage.message_id).join(
            SourceMessage, SourceMessage.id == Claim.message_pk
        ),
        where,
    )
    limit = where.limit
    if where.after is not None:
        at, last_id = where.after
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
