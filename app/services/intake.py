"""Intake: store a fagsystem's message, map it, validate every claim, store each with its result.

One message is one transaction. The raw bytes are kept with the first answer, unique on
(source, message id): the same message again gets that answer back (a replay); the same id
with other content is a conflict and changes nothing. A message from which no claim can be
taken (malformed, breaking its contract, or every claim rejected) is refused whole and nothing
of it is stored, so the sender can fix it and send it again under the same id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.orm import Session

from adapters import registry
from adapters.base import MappingContext
from app.db.tables import Base, Claim, ClaimEvent, SourceMessage, Transfer
from app.domain.admission import admit, related_type_problem
from app.domain.catalogue import Catalogue
from app.domain.claim import CanonicalClaim, ClaimCandidate, ClaimCategory, SourceSystem
from app.domain.problems import Problem
from app.encoding import dumps
from app.errors import Conflict, InvalidRequest, UnsupportedMediaType
from app.metrics_registry import INTAKE_CLAIMS
from app.services import readiness

log = logging.getLogger(__name__)


class ClaimState:
    """States a claim can be in (a closed set; see the README's state table)."""

    INVALID = "invalid"
    ACCEPTED = "accepted"


# A claim not (yet) on its way to PSRM — invalid here, waiting under a hold, rejected by PSRM,
# withdrawn from hearing — may be sent again, corrected, under the same reference; it becomes
# the claim's next revision and is assessed again. A claim queued or further along changes
# only through adjustments.
CORRECTABLE = frozenset({"invalid", "held", "rejected", "withdrawn"})


# Statements built once. SQLAlchemy caches their compiled form either way, but building a
# statement and its cache key on every call costs more than running it on SQLite; the inserts
# go to the tables (Core executemany), not through the ORM's bulk machinery.
_MESSAGES: Table = Base.metadata.tables[SourceMessage.__tablename__]
_PREVIOUS = select(_MESSAGES.c.content_sha256, _MESSAGES.c.response, _MESSAGES.c.received_at).where(
    _MESSAGES.c.source == bindparam("source"), _MESSAGES.c.message_id == bindparam("message_id")
)
_EXISTING = select(Claim).where(
    Claim.source == bindparam("source"),
    Claim.source_reference.in_(bindparam("references", expanding=True)),
)
_INSERT_MESSAGE = insert(_MESSAGES)
_INSERT_CLAIMS = insert(Base.metadata.tables[Claim.__tablename__])
_INSERT_EVENTS = insert(Base.metadata.tables[ClaimEvent.__tablename__])
_INSERT_TRANSFERS = insert(Base.metadata.tables[Transfer.__tablename__])


@dataclass(frozen=True, slots=True)
class Outcome:
    """What intake answers: an HTTP status, the body, and whether it is a replay."""

    status_code: int
    body: dict[str, Any]
    replay: bool = False


@dataclass(slots=True)
class _Item:
    candidate: ClaimCandidate
    claim: CanonicalClaim | None
    problems: list[Problem]
    content_sha256: str = ""
    data: dict[str, Any] | None = None  # the claim as stored (JSON), once it is final
    claim_id: uuid.UUID = field(default_factory=uuid.uuid4)
    state: str = ClaimState.ACCEPTED
    duplicate: bool = False
    corrects: Claim | None = None
    main_claim_id: uuid.UUID | None = None
    main_at_psrm: bool = False
    holds: list[str] = field(default_factory=list)
    next_check_date: dt.date | None = None

    @property
    def accepted(self) -> bool:
        return self.claim is not None and not self.problems


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _content_hash(item: _Item) -> str:
    payload = (
        item.claim.model_dump(mode="json") if item.claim is not None else item.candidate.fields
    )
    return _hash_payload(payload)


def _hash_payload(payload: dict[str, Any]) -> str:
    return _sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS, default=str))


def receive(
    session: Session,
    *,
    source: SourceSystem,
    raw: bytes,
    media_type: str,
    principal: str,
    catalogue: Catalogue,
    claimant_id: str,
    now: dt.datetime,
    today: dt.date | None = None,
) -> Outcome:
    """Take one message from a fagsystem and return the answer to give it.

    Raises:
        AdapterError: the message is malformed or breaks its contract (nothing stored).
        UnsupportedMediaType: the body's media type is not one the source sends.
        Conflict: the message id, or a claim's reference, was used before with other content.
        InvalidRequest: no claim in the message could be taken (nothing stored).
    """
    today = today or now.date()
    adapter = registry()[source]
    if media_type not in adapter.media_types:
        raise UnsupportedMediaType(
            f"{source.value} messages are sent as {' or '.join(adapter.media_types)}",
            extra={"accepted_media_types": list(adapter.media_types)},
        )
    message = adapter.parse(raw)
    message_id = adapter.message_id(message)
    raw_sha = _sha256(raw)

    previous = session.execute(
        _PREVIOUS, {"source": source.value, "message_id": message_id}
    ).one_or_none()
    if previous is not None:
        if previous.content_sha256 == raw_sha:
            return Outcome(status_code=200, body=previous.response, replay=True)
        raise Conflict(
            f"message {message_id} was received before with different content",
            extra={
                "message_id": message_id,
                "first_received_at": previous.received_at.isoformat(),
            },
        )

    context = MappingContext(claimant_id=claimant_id, catalogue=catalogue)
    items = [_Item(c, *admit(c, catalogue)) for c in adapter.to_candidates(message, context)]
    _check_within_message(items)
    existing = _existing_claims(session, source, items)
    _check_against_stored(items, existing)
    _link_related(items, existing, catalogue)
    for item in items:
        # Dumped once: the same JSON is hashed and stored.
        item.data = item.claim.model_dump(mode="json") if item.claim is not None else None
        item.content_sha256 = _hash_payload(
            item.data if item.data is not None else item.candidate.fields
        )
        item.state = ClaimState.ACCEPTED if item.accepted else ClaimState.INVALID
    _resolve_repeats(items, existing, message_id)
    _assess(session, items, catalogue=catalogue, claimant_id=claimant_id, today=today)

    results = [_result(item) for item in items]
    accepted = sum(1 for item in items if item.accepted)
    if accepted == 0:
        problems = [p for item in items for p in item.problems]
        # Nothing was stored, so no claim has an id or a state.
        unstored = [
            {k: v for k, v in r.items() if k not in ("claim_id", "state", "holds")} for r in results
        ]
        raise InvalidRequest(
            "no claim in the message could be taken; nothing was stored",
            problems=problems,
            extra={"message_id": message_id, "claims": unstored},
        )
    body = {
        "message_id": message_id,
        "source": source.value,
        "received_at": now.isoformat(),
        "status": "accepted" if accepted == len(items) else "partially_accepted",
        "counts": {
            "claims": len(items),
            "accepted": accepted,
            "rejected": len(items) - accepted,
            "duplicates": sum(1 for item in items if item.duplicate),
        },
        "claims": results,
    }
    message_pk = uuid.uuid4()
    session.execute(
        _INSERT_MESSAGE,
        [
            {
                "id": message_pk,
                "source": source.value,
                "message_id": message_id,
                "content_sha256": raw_sha,
                "media_type": media_type,
                "raw": raw,
                "size_bytes": len(raw),
                "principal": principal,
                "received_at": now,
                "claim_count": len(items),
                "accepted_count": accepted,
                "response": body,
            }
        ],
    )
    _store_claims(session, items, source=source, message_pk=message_pk, now=now, actor=principal)
    INTAKE_CLAIMS.labels(source.value, "accepted").inc(accepted)
    INTAKE_CLAIMS.labels(source.value, "rejected").inc(len(items) - accepted)
    log.info(
        "intake source=%s message=%s claims=%d accepted=%d",
        source.value,
        message_id,
        len(items),
        accepted,
    )
    return Outcome(status_code=202, body=body)


def _check_within_message(items: Sequence[_Item]) -> None:
    seen: dict[str, int] = {}
    for item in items:
        ref = item.candidate.source_reference
        if not ref:
            continue
        if ref in seen:
            item.claim = None
            item.problems.append(
                Problem(
                    code="claim.duplicate_in_message",
                    field="source_reference",
                    source_path=item.candidate.source_path,
                    message=f"reference {ref} is used by claim {seen[ref]} of this message too",
                    value=ref,
                )
            )
        else:
            seen[ref] = item.candidate.index


def _existing_claims(
    session: Session, source: SourceSystem, items: Sequence[_Item]
) -> dict[str, Claim]:
    refs = {item.candidate.source_reference for item in items if item.candidate.source_reference}
    refs |= {
        item.claim.main_claim_reference
        for item in items
        if item.claim is not None and item.claim.main_claim_reference
    }
    found: dict[str, Claim] = {}
    ordered = sorted(refs)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        rows = session.scalars(_EXISTING, {"source": source.value, "references": chunk})
        found.update({row.source_reference: row for row in rows})
    return found


def _check_against_stored(items: Sequence[_Item], existing: dict[str, Claim]) -> None:
    """Refuse the message when a claim reuses a stored claim's reference with other content."""
    conflicts = []
    for item in items:
        ref = item.candidate.source_reference
        stored = existing.get(ref) if ref else None
        if stored is None or stored.state in CORRECTABLE:
            continue
        if item.claim is None or _content_hash(item) != stored.content_sha256:
            conflicts.append(
                Problem(
                    code="claim.conflict",
                    field="source_reference",
                    source_path=item.candidate.source_path,
                    message=(
                        f"claim {ref} was received before with different content "
                        f"(claim id {stored.id}); send changes as adjustments"
                    ),
                    value=ref,
                )
            )
    if conflicts:
        raise Conflict(
            "the message reuses the reference of a stored claim with different content; "
            "nothing was stored",
            problems=conflicts,
        )


def _link_related(items: Sequence[_Item], existing: dict[str, Claim], catalogue: Catalogue) -> None:
    in_message = {
        item.candidate.source_reference: item for item in items if item.candidate.source_reference
    }
    for item in items:
        claim = item.claim
        if claim is None or claim.category is not ClaimCategory.UF:
            continue
        ref = claim.main_claim_reference or ""
        main_item = in_message.get(ref)
        problem: Problem | None
        if main_item is not None:
            if not main_item.accepted:
                problem = Problem(
                    code="related.main_claim_rejected",
                    field="main_claim_reference",
                    message=f"its main claim {ref} in this message was rejected",
                    value=ref,
                )
            elif main_item.claim is not None and main_item.claim.category is ClaimCategory.UF:
                problem = Problem(
                    code="related.main_claim_not_main",
                    field="main_claim_reference",
                    message=f"claim {ref} is itself a related claim",
                    value=ref,
                )
            else:
                main_type = main_item.claim.fordringstype if main_item.claim else ""
                problem = related_type_problem(claim, main_type, catalogue)
                item.main_claim_id = main_item.claim_id
        elif (stored := existing.get(ref)) is not None and stored.state != ClaimState.INVALID:
            if stored.category != ClaimCategory.HF.value:
                problem = Problem(
                    code="related.main_claim_not_main",
                    field="main_claim_reference",
                    message=f"claim {ref} is itself a related claim",
                    value=ref,
                )
            else:
                problem = related_type_problem(claim, stored.fordringstype or "", catalogue)
                item.main_claim_id = stored.id
                item.main_at_psrm = stored.state == "at_psrm"
        else:
            problem = Problem(
                code="related.main_claim_unknown",
                field="main_claim_reference",
                message=f"no main claim {ref} in this message or received before",
                value=ref,
            )
        if problem is not None:
            from app.domain.claim import locate

            item.problems.append(problem.at(locate(item.candidate, problem.field)))
            item.claim = None
            item.main_claim_id = None


def _resolve_repeats(items: Sequence[_Item], existing: dict[str, Claim], message_id: str) -> None:
    for item in items:
        ref = item.candidate.source_reference
        stored = existing.get(ref) if ref else None
        if stored is None:
            continue
        if stored.content_sha256 == item.content_sha256:
            item.duplicate = True
            item.claim_id = stored.id
            item.state = stored.state
        elif stored.state in CORRECTABLE:
            item.corrects = stored
            item.claim_id = stored.id


def _assess(
    session: Session,
    items: Sequence[_Item],
    *,
    catalogue: Catalogue,
    claimant_id: str,
    today: dt.date,
) -> None:
    """Decide for each new valid claim whether it waits (held, with reasons) or is queued."""
    fresh = [i for i in items if i.accepted and not i.duplicate and i.claim is not None]
    if not fresh:
        return
    context = readiness.load_context(session, claimant_id=claimant_id)
    for item in fresh:
        assert item.claim is not None
        result = readiness.verdict(
            item.claim,
            catalogue=catalogue,
            context=context,
            today=today,
            main_claim_at_psrm=item.main_claim_id is None or item.main_at_psrm,
        )
        if result.ready:
            item.state = readiness.QUEUED
        else:
            item.state = readiness.HELD
            item.holds = sorted(hold.reason.value for hold in result.holds)
            item.next_check_date = result.next_check_date


def _result(item: _Item) -> dict[str, Any]:
    return {
        "index": item.candidate.index,
        "source_path": item.candidate.source_path,
        "source_reference": item.candidate.source_reference,
        "claim_id": str(item.claim_id),
        "result": "accepted" if item.accepted else "rejected",
        "state": item.state,
        "holds": item.holds,
        "duplicate": item.duplicate,
        "problems": [p.as_dict() for p in item.problems],
    }


def _row(item: _Item) -> dict[str, Any]:
    claim = item.claim
    if claim is not None:
        return {
            "claimant_id": claim.claimant_id,
            "claimant_reference": claim.claimant_reference,
            "fordringstype": claim.fordringstype,
            "business_area": claim.business_area,
            "category": claim.category.value,
            "main_claim_id": item.main_claim_id,
            "principal": claim.principal,
            "amount": claim.amount,
            "data": item.data if item.data is not None else claim.model_dump(mode="json"),
            "holds": item.holds,
            "next_check_date": item.next_check_date,
            "limitation_date": readiness.limitation_date(claim),
            "fordrings_id": None,
            "psrm_errors": None,
        }
    fields = item.candidate.fields

    def text(name: str, limit: int) -> str | None:
        value = fields.get(name)
        return value[:limit] if isinstance(value, str) else None

    return {
        "claimant_id": text("claimant_id", 4),
        "claimant_reference": text("claimant_reference", 64),
        "fordringstype": text("fordringstype", 16),
        "business_area": text("business_area", 40),
        "category": text("category", 2),
        "main_claim_id": None,
        "principal": None,
        "amount": None,
        "data": orjson.loads(dumps(fields)),
        "holds": [],
        "next_check_date": None,
        "limitation_date": None,
        "fordrings_id": None,
        "psrm_errors": None,
    }


def _store_claims(
    session: Session,
    items: Sequence[_Item],
    *,
    source: SourceSystem,
    message_pk: uuid.UUID,
    now: dt.datetime,
    actor: str,
) -> None:
    new_rows: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    transfers: list[dict[str, Any]] = []
    seqs = readiness.next_seq(session, [i.corrects.id for i in items if i.corrects is not None])
    # Main claims first, so a related claim's foreign key finds its main claim.
    for item in sorted(items, key=lambda i: i.main_claim_id is not None):
        if item.duplicate:
            continue
        problems = [p.as_dict() for p in item.problems]
        row = {
            **_row(item),
            "state": item.state,
            "problems": problems,
            "content_sha256": item.content_sha256,
            "updated_at": now,
        }
        if item.corrects is not None:
            stored = item.corrects
            for key, value in row.items():
                setattr(stored, key, value)
            stored.message_pk = message_pk
            stored.claim_index = item.candidate.index
            stored.revision += 1
            kind = "corrected"
        else:
            row.update(
                id=item.claim_id,
                source=source.value,
                source_reference=(item.candidate.source_reference or f"#{uuid.uuid4()}")[:64],
                message_pk=message_pk,
                claim_index=item.candidate.index,
                revision=1,
                received_at=now,
            )
            new_rows.append(row)
            kind = "received"
        events.append(
            {
                "claim_id": item.claim_id,
                "at": now,
                "kind": kind if item.accepted else f"{kind}_rejected",
                "actor": actor,
                "detail": {"state": item.state, "problems": len(problems), "holds": item.holds},
            }
        )
        if item.state == readiness.QUEUED:
            transfers.append(
                {
                    "claim_id": item.claim_id,
                    "seq": seqs.get(item.claim_id, 0),
                    "kind": "create",
                    "action_id": uuid.uuid4().hex,
                    "area": row["business_area"] or "",
                    "payload": {},
                    "state": readiness.QUEUED,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
            )
    if new_rows:
        session.execute(_INSERT_CLAIMS, new_rows)
    session.flush()
    if events:
        session.execute(_INSERT_EVENTS, events)
    if transfers:
        session.execute(_INSERT_TRANSFERS, transfers)
