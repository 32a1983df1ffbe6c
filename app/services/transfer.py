"""Transfer to PSRM: take ready work from the queue, send it in deliveries, fetch receipts.

The queue is the `transfer` table. A worker takes a batch of queued transfers (`FOR UPDATE
SKIP LOCKED` on PostgreSQL, so any number of workers share the queue) and binds them to a new
delivery with a unique delivery id in one transaction; it sends the delivery outside any
transaction; and records the outcome in a third. A delivery that was bound but never
confirmed sent (the worker died) is leased: when the lease runs out another worker sends the
very same delivery again, with the same delivery id and action ids, so PSRM sees one delivery
at most once and each claim is accepted at most once. Transport errors, 5xx and service
windows are retried with exponential backoff and jitter behind a circuit breaker; a rejection
is never retried blindly; after `max_attempts` a delivery is a dead letter until staff requeue.

Adjustments of one claim wait until the claim is at PSRM and go strictly one at a time in
their order; other claims are not held up.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

import tenacity
from sqlalchemy import (
    ColumnElement,
    String,
    Text,
    Uuid,
    any_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Session

from adapters.psrm import xml as psrm_xml
from adapters.psrm.breaker import BreakerState, CircuitBreaker
from adapters.psrm.client import (
    PsrmBadResponse,
    PsrmCircuitOpen,
    PsrmClient,
    PsrmDuplicateDelivery,
    PsrmRequestRejected,
    PsrmUnavailable,
)
from adapters.psrm.messages import (
    Action,
    ActionStatus,
    CreateClaim,
    Recall,
    RecallReason,
    Receipt,
    WriteDown,
    WriteDownReason,
    WriteUp,
    WriteUpReason,
)
from adapters.psrm.portal import HearingPortal
from app.db.session import Database
from app.db.tables import Base, Claim, ClaimEvent, Delivery, Pause, Transfer
from app.domain.claim import CanonicalClaim
from app.domain.problems import Problem
from app.encoding import dumps
from app.errors import AppError, BadGateway, Conflict, NotFound, PsrmRefused
from app.ids import new_id
from app.metrics_registry import DEAD_LETTERS, RETRIES, TRANSFER_LATENCY

log = logging.getLogger(__name__)

# Transfer states
WAITING = "waiting"  # an adjustment waiting for its claim or an earlier adjustment
QUEUED = "queued"
IN_DELIVERY = "in_delivery"
SENT = "sent"
ACCEPTED = "accepted"
REJECTED = "rejected"
HEARING = "hearing"
CONFIRMED = "confirmed"  # staff confirmed the hearing; PSRM's receipt still says HØRING
WITHDRAWN = "withdrawn"
DEAD = "dead"
FINAL = frozenset({ACCEPTED, REJECTED, WITHDRAWN})

# Delivery states
OPEN, RETRY, D_SENT, COMPLETE, D_DEAD = "open", "retry", "sent", "complete", "dead"


@dataclass(frozen=True, slots=True)
class TransferConfig:
    """How the worker batches, retries and polls."""

    batch_size: int = 1000
    max_attempts: int = 8
    backoff_base_seconds: float = 2.0
    backoff_max_seconds: float = 600.0
    lease_seconds: float = 300.0
    receipt_first_poll_seconds: float = 0.0
    receipt_poll_seconds: float = 5.0
    hearing_poll_seconds: float = 60.0
    receipt_batch: int = 1000
    requeue_stagger_seconds: float = 2.0


def backoff(attempt: int, config: TransferConfig) -> float:
    """Seconds to wait before attempt `attempt + 1`: exponential, capped, with full jitter.

    The schedule is tenacity's (the same policy the PSRM client retries with), but it is kept
    in the database as the delivery's next attempt, so a retry survives a worker's restart.
    """
    wait = tenacity.wait_random_exponential(
        multiplier=config.backoff_base_seconds, max=config.backoff_max_seconds
    )
    state = tenacity.RetryCallState(retry_object=tenacity.Retrying(), fn=None, args=(), kwargs={})
    state.attempt_number = attempt
    return float(wait(state))


def _event(
    claim_id: uuid.UUID, at: dt.datetime, kind: str, actor: str, **detail: Any
) -> dict[str, Any]:
    return {"claim_id": claim_id, "at": at, "kind": kind, "actor": actor, "detail": detail}


# ---------------------------------------------------------------------------------------------
# set-wise writes: a delivery's hundreds of rows in a few statements


# The tables themselves, for UPDATEs that set values row by row.
_TRANSFER = Base.metadata.tables["transfer"]
_CLAIM = Base.metadata.tables["claim"]


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _ids(values: Sequence[uuid.UUID] | Sequence[int], item: Any) -> ColumnElement[Any]:
    """UUIDs or integers as one PostgreSQL array parameter, written as an array literal (psycopg
    would adapt a list of them value by value, several times slower)."""
    literal_text = "{" + ",".join(map(str, values)) + "}"
    return sql_cast(bindparam(None, literal_text, type_=Text()), ARRAY(item))


def _among(
    session: Session, column: Any, values: Sequence[uuid.UUID] | Sequence[int]
) -> ColumnElement[bool]:
    """`column IN values` for ids; on PostgreSQL one array parameter, not one a value."""
    if _postgres(session):
        return cast(ColumnElement[bool], column == any_(_ids(values, column.type)))
    return cast(ColumnElement[bool], column.in_(list(values)))


def _insert_events(session: Session, events: Sequence[dict[str, Any]]) -> None:
    """Insert claim events (in order) made by `_event`."""
    if not events:
        return
    at, actor = events[0]["at"], events[0]["actor"]
    uniform = all(e["at"] == at and e["actor"] == actor for e in events)
    if not (uniform and _postgres(session)):
        session.execute(insert(ClaimEvent), events)
        return
    # Claim ids and kinds as arrays, the details as one JSON array: three parameters in all.
    rows = (
        func.unnest(
            _ids([e["claim_id"] for e in events], Uuid()),
            bindparam("event_kinds", [e["kind"] for e in events], type_=ARRAY(String())),
        )
        .table_valued("claim_id", "kind", with_ordinality="n")
        .render_derived("event_rows")
    )
    details = (
        func.jsonb_array_elements(
            sql_cast(
                bindparam("event_details", dumps([e["detail"] for e in events]), Text()), JSONB()
            )
        )
        .table_valued("value", with_ordinality="n")
        .render_derived("event_details")
    )
    session.execute(
        insert(ClaimEvent).from_select(
            ["claim_id", "at", "kind", "actor", "detail"],
            select(
                rows.c.claim_id,
                literal(at, ClaimEvent.at.type),
                rows.c.kind,
                literal(actor, String()),
                details.c.value,
            )
            .select_from(rows.join(details, rows.c.n == details.c.n))
            .order_by(rows.c.n),
        )
    )


def _claims_at_psrm(
    session: Session, accepted: Sequence[tuple[uuid.UUID, str | None]], now: dt.datetime
) -> None:
    """Mark claims at PSRM, each with its own fordrings-ID."""
    if _postgres(session):
        given = (
            func.unnest(
                _ids([claim_id for claim_id, _ in accepted], Uuid()),
                bindparam("fordrings_ids", [fid for _, fid in accepted], type_=ARRAY(String())),
            )
            .table_valued("id", "fordrings_id")
            .render_derived("given")
        )
        session.execute(
            update(_CLAIM)
            .where(_CLAIM.c.id == given.c.id)
            .values(state="at_psrm", fordrings_id=given.c.fordrings_id, updated_at=now)
        )
        return
    session.execute(
        update(_CLAIM)
        .where(_CLAIM.c.id == bindparam("c_id"))
        .values(state="at_psrm", fordrings_id=bindparam("c_fordrings_id"), updated_at=now),
        [{"c_id": claim_id, "c_fordrings_id": fid} for claim_id, fid in accepted],
    )


# ---------------------------------------------------------------------------------------------
# taking work


def _paused_areas(session: Session) -> tuple[bool, set[str]]:
    rows = session.execute(
        select(Pause.area).where(Pause.lifted_at.is_(None), Pause.fordringstype.is_(None))
    ).all()
    return any(area is None for (area,) in rows), {area for (area,) in rows if area}


def take(
    session: Session, *, worker: str, now: dt.datetime, config: TransferConfig
) -> uuid.UUID | None:
    """Lease a delivery to send: a due or abandoned one, else a new batch from the queue."""
    lease_until = now + dt.timedelta(seconds=config.lease_seconds)
    due = session.scalar(
        select(Delivery.id)
        .where(
            Delivery.state.in_([OPEN, RETRY]),
            Delivery.next_attempt_at <= now,
            (Delivery.lease_until.is_(None)) | (Delivery.lease_until < now),
        )
        .order_by(Delivery.next_attempt_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if due is not None:
        session.execute(
            update(Delivery)
            .where(Delivery.id == due)
            .values(lease_until=lease_until, worker=worker)
            .execution_options(synchronize_session=False)
        )
        return due
    everything_paused, paused = _paused_areas(session)
    if everything_paused:
        return None
    query = (
        select(Transfer.id, Transfer.claim_id, Transfer.kind)
        .where(Transfer.state == QUEUED, Transfer.next_attempt_at <= now)
        .order_by(Transfer.id)
        .limit(config.batch_size)
        .with_for_update(skip_locked=True)
    )
    if paused:
        query = query.where(Transfer.area.not_in(paused))
    batch = session.execute(query).all()
    if not batch:
        return None
    delivery_pk = new_id()
    session.execute(
        insert(Delivery),
        [
            {
                "id": delivery_pk,
                "delivery_id": f"KB-{now:%Y%m%d}-{new_id().hex[:20]}",
                "transaction_id": str(new_id()),
                "state": OPEN,
                "action_count": len(batch),
                "attempts": 0,
                "next_attempt_at": now,
                "lease_until": lease_until,
                "worker": worker,
                "created_at": now,
            }
        ],
    )
    session.execute(
        update(Transfer)
        .where(_among(session, Transfer.id, [row.id for row in batch]))
        .values(state=IN_DELIVERY, delivery_pk=delivery_pk, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    _set_created_claims(
        session, [t.claim_id for t in batch if t.kind == "create"], state="sending", now=now
    )
    return delivery_pk


def _action(
    kind: str,
    action_id: str,
    payload: dict[str, Any],
    claim_json: str,
    fordrings_id: str | None,
    main_fordrings_id: str | None,
    claimant_id: str,
) -> Action:
    effective = payload.get("effective_date")
    effective_date = dt.date.fromisoformat(effective) if effective else None
    if kind == "create":
        return CreateClaim(
            action_id=action_id,
            # The stored JSON straight into the model: one parse, no dict in between.
            claim=CanonicalClaim.model_validate_json(claim_json),
            main_fordrings_id=main_fordrings_id,
        )
    fordrings_id = fordrings_id or ""
    if kind == "write_down":
        return WriteDown(
            action_id=action_id,
            fordrings_id=fordrings_id,
            amount=Decimal(payload["amount"]),
            reason=WriteDownReason(payload["reason"]),
            effective_date=effective_date,
            claimant_id=claimant_id,
        )
    if kind == "write_up":
        return WriteUp(
            action_id=action_id,
            fordrings_id=fordrings_id,
            amount=Decimal(payload["amount"]),
            reason=WriteUpReason(payload["reason"]),
            effective_date=effective_date,
            claimant_id=claimant_id,
        )
    return Recall(
        action_id=action_id,
        fordrings_id=fordrings_id,
        reason=RecallReason(payload["reason"]),
        effective_date=effective_date,
        claimant_id=claimant_id,
    )


def build(session: Session, *, delivery_pk: uuid.UUID, sender_se: str, claimant_id: str) -> bytes:
    """Build the XML of a leased delivery from its transfers (the same bytes on every resend)."""
    delivery = session.execute(
        select(Delivery.delivery_id, Delivery.transaction_id, Delivery.created_at).where(
            Delivery.id == delivery_pk
        )
    ).one()
    rows = session.execute(
        select(
            Transfer.kind,
            Transfer.action_id,
            Transfer.payload,
            sql_cast(Claim.data, String),
            Claim.fordrings_id,
            Claim.main_claim_id,
        )
        .join(Claim, Claim.id == Transfer.claim_id)
        .where(Transfer.delivery_pk == delivery_pk)
        .order_by(Transfer.id)
    ).all()
    main_ids = {row.main_claim_id for row in rows if row.main_claim_id is not None}
    mains: dict[uuid.UUID, str | None] = (
        dict(
            session.execute(
                select(Claim.id, Claim.fordrings_id).where(Claim.id.in_(main_ids))
            ).all()
        )
        if main_ids
        else {}
    )
    actions = [
        _action(
            kind,
            action_id,
            payload,
            data,
            fordrings_id,
            mains.get(main_id) if main_id else None,
            claimant_id,
        )
        for kind, action_id, payload, data, fordrings_id, main_id in rows
    ]
    return psrm_xml.build_delivery(
        delivery_id=delivery.delivery_id,
        transaction_id=delivery.transaction_id,
        sender_se=sender_se,
        sent_at=delivery.created_at,
        actions=actions,
    )


# ---------------------------------------------------------------------------------------------
# recording outcomes


def mark_sent(
    session: Session,
    *,
    delivery_pk: uuid.UUID,
    now: dt.datetime,
    config: TransferConfig,
    worker: str,
    answers: Sequence[Receipt] = (),
) -> None:
    """Record that PSRM has the delivery; apply any statuses its answer already carried.

    A delivery whose actions all got a final status in the answer is complete at once: there
    is no receipt left to fetch.
    """
    delivery_id = session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_pk)
        .values(
            state=D_SENT,
            sent_at=now,
            lease_until=None,
            attempts=Delivery.attempts + 1,
            next_attempt_at=now + dt.timedelta(seconds=config.receipt_first_poll_seconds),
            last_error=None,
        )
        .returning(Delivery.delivery_id)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    transfers = [
        _Sent(*row)
        for row in session.execute(
            select(
                Transfer.id,
                Transfer.claim_id,
                Transfer.kind,
                Transfer.action_id,
                Transfer.created_at,
            )
            .where(Transfer.delivery_pk == delivery_pk, Transfer.state == IN_DELIVERY)
            .order_by(Transfer.id)
        )
    ]
    if transfers:
        _insert_events(
            session,
            [
                _event(
                    t.claim_id,
                    now,
                    "sent",
                    worker,
                    action=t.kind,
                    delivery_id=delivery_id,
                    action_id=t.action_id,
                )
                for t in transfers
            ],
        )
    final = {a.action_id: a for a in answers if a.status is not ActionStatus.MODTAGET}
    # Actions already final in the answer go from in delivery to their outcome in one write.
    answered = [t for t in transfers if t.action_id in final]
    waiting = [t for t in transfers if t.action_id not in final]
    if waiting:
        session.execute(
            update(Transfer)
            .where(_among(session, Transfer.id, [t.id for t in waiting]))
            .values(state=SENT, attempts=Transfer.attempts + 1, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        _set_created_claims(
            session, [t.claim_id for t in waiting if t.kind == "create"], state="sent", now=now
        )
    if answered:
        _apply(
            session,
            [(t, final[t.action_id]) for t in answered],
            now=now,
            worker=worker,
            sending=True,
        )
    if final:
        open_left = session.scalar(
            select(func.count())
            .select_from(Transfer)
            .where(Transfer.delivery_pk == delivery_pk, Transfer.state.not_in(FINAL))
        )
        if not open_left:
            session.execute(
                update(Delivery)
                .where(Delivery.id == delivery_pk)
                .values(state=COMPLETE, completed_at=now)
                .execution_options(synchronize_session=False)
            )


def mark_failed(
    session: Session,
    *,
    delivery_pk: uuid.UUID,
    error: str,
    retryable: bool,
    now: dt.datetime,
    config: TransferConfig,
    worker: str,
) -> str:
    """Record a failed send: schedule a retry with backoff, or make it a dead letter.

    A delivery another worker has meanwhile recorded as sent (it took the delivery over when
    this worker's lease ran out) stays as it is: PSRM has it.
    """
    delivery = session.get_one(Delivery, delivery_pk)
    if delivery.state not in (OPEN, RETRY):
        return delivery.state
    delivery.attempts += 1
    delivery.last_error = error[:1000]
    delivery.lease_until = None
    if retryable and delivery.attempts < config.max_attempts:
        RETRIES.inc()
        delivery.state = RETRY
        delivery.next_attempt_at = now + dt.timedelta(seconds=backoff(delivery.attempts, config))
        return RETRY
    DEAD_LETTERS.inc()
    delivery.state = D_DEAD
    delivery.completed_at = now
    transfers = list(
        session.scalars(
            select(Transfer).where(
                Transfer.delivery_pk == delivery_pk, Transfer.state == IN_DELIVERY
            )
        )
    )
    for transfer in transfers:
        transfer.state, transfer.updated_at = DEAD, now
        transfer.error = {"message": error[:1000], "attempts": delivery.attempts}
    _set_created_claims(
        session, [t.claim_id for t in transfers if t.kind == "create"], state="dead_letter", now=now
    )
    session.execute(
        insert(ClaimEvent),
        [
            _event(
                t.claim_id,
                now,
                "dead_letter",
                worker,
                error=error[:300],
                delivery_id=delivery.delivery_id,
                attempts=delivery.attempts,
            )
            for t in transfers
        ],
    )
    return D_DEAD


def postpone(session: Session, *, delivery_pk: uuid.UUID, until: dt.datetime) -> None:
    """Give a leased delivery back without an attempt (the circuit is open)."""
    delivery = session.get_one(Delivery, delivery_pk)
    delivery.lease_until, delivery.next_attempt_at = None, until
    if delivery.state == OPEN:
        delivery.state = RETRY


@dataclass(frozen=True, slots=True)
class _Sent:
    """A transfer of a delivery, as recording an outcome needs it."""

    id: int
    claim_id: uuid.UUID
    kind: str
    action_id: str
    created_at: dt.datetime
    state: str = IN_DELIVERY


def apply_receipts(
    session: Session,
    *,
    delivery_pk: uuid.UUID,
    receipts: Sequence[Receipt],
    now: dt.datetime,
    config: TransferConfig,
    worker: str,
) -> int:
    """Apply PSRM's receipts to transfers and claims; return how many became final."""
    by_action = {r.action_id: r for r in receipts}
    rows = session.execute(
        select(
            Transfer.id,
            Transfer.claim_id,
            Transfer.kind,
            Transfer.action_id,
            Transfer.created_at,
            Transfer.state,
        )
        .where(
            Transfer.delivery_pk == delivery_pk,
            Transfer.state.in_([SENT, HEARING, CONFIRMED, IN_DELIVERY]),
        )
        .order_by(Transfer.id)
    ).all()
    outcomes: list[tuple[_Sent, Receipt]] = []
    for row in rows:
        receipt = by_action.get(row.action_id)
        if receipt is None or receipt.status is ActionStatus.MODTAGET:
            continue
        if receipt.status is ActionStatus.HOERING and row.state in (HEARING, CONFIRMED):
            continue
        outcomes.append((_Sent(*row), receipt))
    return _apply(session, outcomes, now=now, worker=worker, sending=False)


def _apply(
    session: Session,
    outcomes: Sequence[tuple[_Sent, Receipt]],
    *,
    now: dt.datetime,
    worker: str,
    sending: bool,
) -> int:
    """Write final (or hearing) statuses to transfers and claims, in a few set-wise statements.

    `sending`: the transfers are still in delivery (their answer came with the send), so this
    write also counts their attempt.
    """
    events: list[dict[str, Any]] = []
    finished: list[uuid.UUID] = []
    at_psrm: list[tuple[uuid.UUID, str | None]] = []
    accepted: list[int] = []
    in_hearing: list[int] = []
    rejected: list[dict[str, Any]] = []
    claim_states: dict[str, list[uuid.UUID]] = {}
    claims_rejected: list[dict[str, Any]] = []
    for transfer, receipt in outcomes:
        status = receipt.status
        TRANSFER_LATENCY.observe(max((now - transfer.created_at).total_seconds(), 0.0))
        create = transfer.kind == "create"
        if status is ActionStatus.UDFOERT:
            accepted.append(transfer.id)
            finished.append(transfer.claim_id)
            if create:
                at_psrm.append((transfer.claim_id, receipt.fordrings_id))
                events.append(
                    _event(
                        transfer.claim_id,
                        now,
                        "at_psrm",
                        worker,
                        fordrings_id=receipt.fordrings_id,
                    )
                )
            else:
                state = "recalled" if transfer.kind == "recall" else ""
                claim_states.setdefault(state, []).append(transfer.claim_id)
                events.append(
                    _event(
                        transfer.claim_id,
                        now,
                        "adjusted",
                        worker,
                        action=transfer.kind,
                        action_id=transfer.action_id,
                    )
                )
        elif status is ActionStatus.AFVIST:
            errors = [{"code": e.code, "text": e.text, "rule": e.rule_id} for e in receipt.errors]
            rejected.append({"t_id": transfer.id, "t_error": {"errors": errors}})
            finished.append(transfer.claim_id)
            if create:
                claims_rejected.append({"c_id": transfer.claim_id, "c_errors": errors})
            else:
                claim_states.setdefault("", []).append(transfer.claim_id)
            events.append(
                _event(
                    transfer.claim_id, now, "rejected", worker, action=transfer.kind, errors=errors
                )
            )
        else:  # HØRING
            in_hearing.append(transfer.id)
            claim_states.setdefault("hearing" if create else "", []).append(transfer.claim_id)
            rules = [h.rule_id for h in receipt.hearing]
            events.append(_event(transfer.claim_id, now, "hearing", worker, rules=rules))
    counted: dict[str, Any] = {"attempts": _TRANSFER.c.attempts + 1} if sending else {}
    for ids, state, status in (
        (accepted, ACCEPTED, ActionStatus.UDFOERT),
        (in_hearing, HEARING, ActionStatus.HOERING),
    ):
        if ids:
            session.execute(
                update(_TRANSFER)
                .where(_among(session, _TRANSFER.c.id, ids))
                .values(state=state, receipt_status=status.value, updated_at=now, **counted)
            )
    if rejected:
        session.execute(
            update(_TRANSFER)
            .where(_TRANSFER.c.id == bindparam("t_id"))
            .values(
                state=REJECTED,
                receipt_status=ActionStatus.AFVIST.value,
                error=bindparam("t_error"),
                updated_at=now,
                **counted,
            ),
            rejected,
        )
    if at_psrm:
        _claims_at_psrm(session, at_psrm, now)
    for state, claim_ids in claim_states.items():
        values: dict[str, Any] = {"updated_at": now, **({"state": state} if state else {})}
        session.execute(
            update(_CLAIM).where(_among(session, _CLAIM.c.id, claim_ids)).values(**values)
        )
    if claims_rejected:
        session.execute(
            update(_CLAIM)
            .where(_CLAIM.c.id == bindparam("c_id"))
            .values(state="rejected", psrm_errors=bindparam("c_errors"), updated_at=now),
            claims_rejected,
        )
    recalled = claim_states.get("recalled", [])
    if recalled or at_psrm:
        events += _recall_related(
            session,
            recalled_mains=recalled,
            accepted=[claim_id for claim_id, _ in at_psrm],
            now=now,
            worker=worker,
        )
    _insert_events(session, events)
    if finished:
        promote_next(session, claim_ids=finished, now=now)
    if at_psrm or recalled:
        # Held related claims are assessed again: released behind an accepted main claim, or
        # held for good (`main_claim_closed`) behind a recalled one.
        _reassess_related(
            session, main_ids=[claim_id for claim_id, _ in at_psrm] + recalled, now=now
        )
    return len(finished)


def _recall_related(
    session: Session,
    *,
    recalled_mains: Sequence[uuid.UUID],
    accepted: Sequence[uuid.UUID],
    now: dt.datetime,
    worker: str,
) -> list[dict[str, Any]]:
    """Record as recalled the related claims PSRM recalled with their main claim; their events.

    PSRM's TILBAGEKALD of a main claim recalls its related claims (interest, fees) with it, so
    a related claim at PSRM follows its main claim when the main claim's recall is confirmed.
    A related claim whose own UDFØRT is read only after that confirmation was taken before the
    recall (PSRM refuses a related claim on a recalled main claim), so it was recalled with it.
    """
    main = _CLAIM.alias("main")
    which = [
        _among(session, column, ids)
        for column, ids in ((_CLAIM.c.main_claim_id, recalled_mains), (_CLAIM.c.id, accepted))
        if ids
    ]
    rows = session.execute(
        update(_CLAIM)
        .where(
            _CLAIM.c.state == "at_psrm",
            _CLAIM.c.main_claim_id.is_not(None),
            or_(*which),
            exists().where(main.c.id == _CLAIM.c.main_claim_id, main.c.state == "recalled"),
        )
        .values(state="recalled", updated_at=now)
        .returning(_CLAIM.c.id, _CLAIM.c.main_claim_id)
    ).all()
    return [
        _event(claim_id, now, "recalled_with_main_claim", worker, main_claim_id=str(main_id))
        for claim_id, main_id in rows
    ]


def promote_next(session: Session, *, claim_ids: Sequence[uuid.UUID], now: dt.datetime) -> None:
    """Queue each claim's next waiting adjustment when the claim is at PSRM and nothing is out."""
    # Most claims have no adjustment waiting: find the few that do first.
    waiting = set(
        session.scalars(
            select(Transfer.claim_id)
            .where(Transfer.state == WAITING, _among(session, Transfer.claim_id, claim_ids))
            .distinct()
        )
    )
    if not waiting:
        return
    claim_ids = [c for c in claim_ids if c in waiting]
    busy = set(
        session.scalars(
            select(Transfer.claim_id).where(
                Transfer.claim_id.in_(list(claim_ids)),
                Transfer.state.in_([QUEUED, IN_DELIVERY, SENT, HEARING, CONFIRMED]),
            )
        )
    )
    candidates = [c for c in claim_ids if c not in busy]
    if not candidates:
        return
    at_psrm = set(
        session.scalars(select(Claim.id).where(Claim.id.in_(candidates), Claim.state == "at_psrm"))
    )
    first = (
        select(Transfer.claim_id, func.min(Transfer.seq))
        .where(Transfer.claim_id.in_(list(at_psrm)), Transfer.state == WAITING)
        .group_by(Transfer.claim_id)
    )
    for claim_id, seq in session.execute(first).all():
        session.execute(
            update(Transfer)
            .where(Transfer.claim_id == claim_id, Transfer.seq == seq)
            .values(state=QUEUED, next_attempt_at=now, updated_at=now)
        )


def _set_created_claims(
    session: Session, creates: Sequence[uuid.UUID], *, state: str, now: dt.datetime
) -> None:
    """Move claims being created at PSRM to `state` (an adjustment leaves its claim's state)."""
    if creates:
        session.execute(
            update(Claim)
            .where(_among(session, Claim.id, creates))
            .values(state=state, updated_at=now)
            .execution_options(synchronize_session=False)
        )


def _reassess_related(session: Session, *, main_ids: Sequence[uuid.UUID], now: dt.datetime) -> None:
    # Related claims held for their main claim are assessed at the next sweep: mark them due.
    session.execute(
        update(Claim)
        .where(_among(session, Claim.main_claim_id, main_ids), Claim.state == "held")
        .values(next_check_date=now.date())
        .execution_options(synchronize_session=False)
    )


def due_for_receipts(
    session: Session, *, worker: str, now: dt.datetime, config: TransferConfig, limit: int = 4
) -> list[tuple[uuid.UUID, str]]:
    """Lease sent deliveries whose receipts are due; return (pk, delivery id) pairs."""
    rows = list(
        session.scalars(
            select(Delivery)
            .where(
                Delivery.state == D_SENT,
                Delivery.next_attempt_at <= now,
                (Delivery.lease_until.is_(None)) | (Delivery.lease_until < now),
            )
            .order_by(Delivery.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    for row in rows:
        row.lease_until = now + dt.timedelta(seconds=config.lease_seconds)
        row.worker = worker
    return [(row.id, row.delivery_id) for row in rows]


def after_receipts(
    session: Session, *, delivery_pk: uuid.UUID, now: dt.datetime, config: TransferConfig
) -> str:
    """Close a delivery whose actions are all final, or schedule its next receipt poll."""
    delivery = session.get_one(Delivery, delivery_pk)
    states = dict(
        session.execute(
            select(Transfer.state, func.count())
            .where(Transfer.delivery_pk == delivery_pk)
            .group_by(Transfer.state)
        ).all()
    )
    delivery.lease_until = None
    open_states = {s for s in states if s not in FINAL}
    if not open_states:
        delivery.state, delivery.completed_at = COMPLETE, now
        return COMPLETE
    hearings_only = open_states <= {HEARING, CONFIRMED}
    wait = config.hearing_poll_seconds if hearings_only else config.receipt_poll_seconds
    delivery.next_attempt_at = now + dt.timedelta(seconds=wait)
    return D_SENT


# ---------------------------------------------------------------------------------------------
# staff actions


def requeue(
    session: Session,
    *,
    transfer_ids: Sequence[int] | None,
    now: dt.datetime,
    config: TransferConfig,
    actor: str,
) -> int:
    """Put dead letters back in the queue (all when `transfer_ids` is None), staggered in time.

    Bulk requeues are spread `requeue_stagger_seconds` per batch so a backlog does not hit PSRM
    all at once.
    """
    query = select(Transfer).where(Transfer.state == DEAD).order_by(Transfer.id)
    if transfer_ids is not None:
        query = query.where(Transfer.id.in_(list(transfer_ids)))
    rows = list(session.scalars(query))
    for position, transfer in enumerate(rows):
        wave = position // max(config.batch_size, 1)
        transfer.state = QUEUED
        transfer.delivery_pk = None
        transfer.error = None
        transfer.next_attempt_at = now + dt.timedelta(seconds=wave * config.requeue_stagger_seconds)
        transfer.updated_at = now
    _set_created_claims(
        session, [t.claim_id for t in rows if t.kind == "create"], state="queued", now=now
    )
    if rows:
        session.execute(
            insert(ClaimEvent),
            [_event(t.claim_id, now, "requeued", actor, transfer=t.id) for t in rows],
        )
    return len(rows)


def dead_letters(session: Session, *, limit: int) -> list[dict[str, Any]]:
    """List dead letters, oldest first, with their errors."""
    rows = session.execute(
        select(Transfer, Claim.source, Claim.source_reference, Delivery.delivery_id)
        .join(Claim, Claim.id == Transfer.claim_id)
        .outerjoin(Delivery, Delivery.id == Transfer.delivery_pk)
        .where(Transfer.state == DEAD)
        .order_by(Transfer.id)
        .limit(limit)
    ).all()
    return [
        {
            "transfer_id": t.id,
            "claim_id": str(t.claim_id),
            "kind": t.kind,
            "area": t.area,
            "source": source,
            "source_reference": ref,
            "delivery_id": delivery_id,
            "error": t.error,
            "updated_at": t.updated_at.isoformat(),
        }
        for t, source, ref, delivery_id in rows
    ]


# ---------------------------------------------------------------------------------------------
# the worker's unit of work


@dataclass
class Counters:
    """What a worker has done since it started."""

    sent: int = 0
    receipts: int = 0
    retries: int = 0
    dead: int = 0


def _record(client: PsrmClient, breaker: CircuitBreaker, *, answered: bool) -> None:
    # The client records each call on its own breaker; a client without one leaves it to us.
    if client.breaker is breaker:
        return
    if answered:
        breaker.record_success()
    else:
        breaker.record_failure()


def send_one(
    db: Database,
    client: PsrmClient,
    breaker: CircuitBreaker,
    *,
    worker: str,
    now: dt.datetime,
    config: TransferConfig,
    sender_se: str,
    claimant_id: str,
    counters: Counters,
) -> bool:
    """Take, send and record one delivery; return whether there was one.

    While the circuit is open nothing is taken (the queue stays as it is); once it is half-open
    the client lets one trial call through, and a call it refuses costs the delivery no attempt.
    """
    if breaker.state is BreakerState.OPEN:
        return False
    with db.transaction() as session:
        delivery_pk = take(session, worker=worker, now=now, config=config)
        if delivery_pk is None:
            return False
    try:
        with db.sessions() as session:
            body = build(
                session, delivery_pk=delivery_pk, sender_se=sender_se, claimant_id=claimant_id
            )
    except Exception as exc:  # a delivery that cannot be built must not be retaken forever
        log.exception("delivery could not be built")
        with db.transaction() as session:
            mark_failed(
                session,
                delivery_pk=delivery_pk,
                error=f"the delivery could not be built: {type(exc).__name__}",
                retryable=False,
                now=now,
                config=config,
                worker=worker,
            )
        counters.dead += 1
        return True
    try:
        if client.breaker is not breaker and not breaker.allow():
            raise PsrmCircuitOpen("the circuit breaker is open; PSRM was not called")
        ack = client.submit(body)
    except PsrmDuplicateDelivery:
        # PSRM has this delivery already (a resend after a crash): fetch its receipts.
        _record(client, breaker, answered=True)
        answers: Sequence[Receipt] = ()
    except PsrmCircuitOpen:
        # Not tried (another call holds the half-open trial): give the delivery back as it was.
        with db.transaction() as session:
            postpone(
                session,
                delivery_pk=delivery_pk,
                until=now + dt.timedelta(seconds=config.receipt_poll_seconds),
            )
        return False
    except (PsrmUnavailable, PsrmBadResponse) as exc:
        # An unreadable answer may or may not mean PSRM has the delivery: resending it under
        # the same id is safe either way (a duplicate id sends us to the receipts).
        _record(client, breaker, answered=isinstance(exc, PsrmBadResponse))
        counters.retries += 1
        with db.transaction() as session:
            state = mark_failed(
                session,
                delivery_pk=delivery_pk,
                error=str(exc),
                retryable=True,
                now=now,
                config=config,
                worker=worker,
            )
        counters.dead += state == D_DEAD
        log.warning("delivery not sent (%s): %s", state, exc)
        return True
    except PsrmRequestRejected as exc:
        _record(client, breaker, answered=True)
        with db.transaction() as session:
            mark_failed(
                session,
                delivery_pk=delivery_pk,
                error=str(exc),
                retryable=False,
                now=now,
                config=config,
                worker=worker,
            )
        counters.dead += 1
        log.error("delivery refused by PSRM: %s", exc)
        return True
    else:
        _record(client, breaker, answered=True)
        answers = ack.actions
    with db.transaction() as session:
        mark_sent(
            session, delivery_pk=delivery_pk, now=now, config=config, worker=worker, answers=answers
        )
    counters.sent += 1
    return True


def poll_receipts(
    db: Database,
    client: PsrmClient,
    breaker: CircuitBreaker,
    *,
    worker: str,
    now: dt.datetime,
    config: TransferConfig,
    counters: Counters,
) -> int:
    """Fetch receipts for due deliveries; return how many deliveries were polled."""
    if breaker.state is BreakerState.OPEN:
        return 0
    with db.transaction() as session:
        due = due_for_receipts(session, worker=worker, now=now, config=config)
    for delivery_pk, delivery_id in due:
        try:
            if client.breaker is not breaker and not breaker.allow():
                raise PsrmCircuitOpen("the circuit breaker is open; PSRM was not called")
            receipts = client.fetch_receipts(
                delivery_id=delivery_id, max_items=config.receipt_batch
            )
        except (PsrmUnavailable, PsrmRequestRejected) as exc:
            if not isinstance(exc, PsrmCircuitOpen):
                _record(client, breaker, answered=isinstance(exc, PsrmRequestRejected))
            with db.transaction() as session:
                delivery = session.get_one(Delivery, delivery_pk)
                delivery.lease_until = None
                delivery.next_attempt_at = now + dt.timedelta(seconds=config.receipt_poll_seconds)
            log.warning("receipts for %s not fetched: %s", delivery_id, exc)
            continue
        _record(client, breaker, answered=True)
        with db.transaction() as session:
            counters.receipts += apply_receipts(
                session,
                delivery_pk=delivery_pk,
                receipts=receipts,
                now=now,
                config=config,
                worker=worker,
            )
            after_receipts(session, delivery_pk=delivery_pk, now=now, config=config)
    return len(due)


# ---------------------------------------------------------------------------------------------
# hearings

# A decision and the past tense its event is named by (`hearing_confirmed`, `hearing_withdrawn`).
DECIDED = {"confirm": "confirmed", "withdraw": "withdrawn"}


def hearings(session: Session, *, limit: int) -> list[dict[str, Any]]:
    """List claims PSRM has parked in hearing and staff have yet to decide, oldest first."""
    rows = session.execute(
        select(Transfer, Claim)
        .join(Claim, Claim.id == Transfer.claim_id)
        .where(Transfer.state == HEARING)
        .order_by(Transfer.updated_at, Transfer.id)
        .limit(limit)
    ).all()
    out = []
    for transfer, claim in rows:
        event = session.scalars(
            select(ClaimEvent)
            .where(ClaimEvent.claim_id == claim.id, ClaimEvent.kind == "hearing")
            .order_by(ClaimEvent.id.desc())
            .limit(1)
        ).first()
        out.append(
            {
                "claim_id": str(claim.id),
                "source": claim.source,
                "source_reference": claim.source_reference,
                "business_area": claim.business_area,
                "fordringstype": claim.fordringstype,
                "amount_dkk": str(claim.amount) if claim.amount is not None else None,
                "action_id": transfer.action_id,
                "since": transfer.updated_at.isoformat(),
                "rules": (event.detail.get("rules", []) if event else []),
            }
        )
    return out


def decide_hearing(
    session: Session,
    *,
    claim_id: uuid.UUID,
    confirm: bool,
    actor: str,
    note: str,
    now: dt.datetime,
    portal: HearingPortal,
) -> str:
    """Decide a claim's hearing, once; return the action id it concerns.

    The decision is stored and passed on to PSRM (the simulator) in the caller's transaction,
    both or neither: the transfer leaves `hearing` by a conditional update, the transaction's
    first statement, so of two decisions at once the second waits for the first (the row's
    lock on PostgreSQL, the database's on SQLite) and then finds nothing left to decide; and
    PSRM is told before the transaction commits, so a decision PSRM refuses, or one that
    cannot reach it, is rolled back whole. Should the commit itself fail after PSRM took the
    decision, the receipt (UDFØRT, or AFVIST for a withdrawal) brings kravbro to PSRM's state.

    Confirming leaves the claim in hearing until PSRM's receipt says UDFØRT; withdrawing ends
    its transfer (the fagsystem may send a corrected claim under the same reference).

    Raises:
        NotFound: the claim is not in hearing, and its hearing was not decided either.
        Conflict: its hearing was decided already (problem `hearing.already_decided`).
        PsrmRefused: PSRM answered and did not take the decision; nothing was stored.
        BadGateway: PSRM could not be reached or did not answer; nothing was stored.
    """
    decision = "confirm" if confirm else "withdraw"
    action_id = session.execute(
        update(Transfer)
        .where(Transfer.claim_id == claim_id, Transfer.kind == "create", Transfer.state == HEARING)
        .values(state=CONFIRMED if confirm else WITHDRAWN, updated_at=now)
        .returning(Transfer.action_id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if action_id is None:
        raise _not_in_hearing(session, claim_id=claim_id)
    if not confirm:
        claim = session.get_one(Claim, claim_id)
        claim.state, claim.updated_at = "withdrawn", now
    session.add(
        ClaimEvent(
            claim_id=claim_id,
            at=now,
            kind=f"hearing_{DECIDED[decision]}",
            actor=actor,
            detail={"note": note[:500], "action_id": action_id},
        )
    )
    session.flush()
    try:
        portal.decide_hearing(action_id=action_id, confirm=confirm)
    except PsrmRequestRejected as exc:
        raise PsrmRefused(
            f"PSRM did not take the decision to {decision} the hearing of claim {claim_id} "
            f"({exc.message}); nothing was stored, the claim stays in hearing in kravbro, and "
            "PSRM's next receipt will show where it stands",
            extra={"claim_id": str(claim_id), "action_id": action_id},
        ) from exc
    except PsrmUnavailable as exc:
        raise BadGateway(
            f"the decision to {decision} the hearing of claim {claim_id} could not be passed on "
            f"to PSRM ({exc.message}); nothing was stored, so send it again; should PSRM have "
            "taken it after all, its next receipt will show it",
            extra={"claim_id": str(claim_id), "action_id": action_id},
        ) from exc
    log.info("hearing decided claim=%s action=%s decision=%s", claim_id, action_id, decision)
    return action_id


def _not_in_hearing(session: Session, *, claim_id: uuid.UUID) -> AppError:
    """Say why a claim's hearing cannot be decided: decided already (409), or none (404)."""
    latest = session.scalars(
        select(Transfer)
        .where(Transfer.claim_id == claim_id, Transfer.kind == "create")
        .order_by(Transfer.seq.desc())
        .limit(1)
    ).first()
    kinds = {f"hearing_{past}": decision for decision, past in DECIDED.items()}
    if latest is None:
        return NotFound(f"claim {claim_id} is not in hearing")
    earlier = next(
        (
            event
            for event in session.scalars(
                select(ClaimEvent)
                .where(ClaimEvent.claim_id == claim_id, ClaimEvent.kind.in_(list(kinds)))
                .order_by(ClaimEvent.id.desc())
            )
            if event.detail.get("action_id") == latest.action_id
        ),
        None,
    )
    if earlier is None:
        return NotFound(f"claim {claim_id} is not in hearing")
    decided = {"decision": kinds[earlier.kind], "by": earlier.actor, "at": earlier.at.isoformat()}
    return Conflict(
        f"the hearing of claim {claim_id} was already decided ({decided['decision']}, by "
        f"{decided['by']} at {decided['at']}); a hearing is decided once, and nothing was changed",
        problems=[
            Problem(
                code="hearing.already_decided",
                message="this hearing has been decided; a decision cannot be changed or repeated",
                source_path="/decision",
                value=decided["decision"],
            )
        ],
        extra={"claim_id": str(claim_id), "action_id": latest.action_id, "decided": decided},
    )
