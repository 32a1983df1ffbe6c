"""Adjustments from a fagsystem: write-down, write-up and recall of claims it sent before.

Each adjustment becomes a transfer in the claim's own sequence. It waits until the claim is
accepted by PSRM and every earlier adjustment of the claim is done, then goes in order; other
claims are not held up. The message is stored raw and is idempotent like a claim message.
The format is the same JSON for every source (`contracts/adjustments/`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from adapters.base import MessageParseError
from adapters.ky.message import load_json
from app.clock import COPENHAGEN
from app.db.tables import Claim, ClaimEvent, MessageKind, SourceMessage, Transfer
from app.domain.claim import SourceSystem
from app.domain.identifiers import CONTROL_CHARACTERS, contains_cpr_like
from app.domain.problems import Problem, reference_text, shown_reference
from app.errors import Conflict, InvalidRequest
from app.ids import new_id
from app.services import transfer

MEDIA_TYPE = "application/json"
MAX_ADJUSTMENTS = 10_000
REASONS = {
    "write_down": {"INDB", "REGU", "NAOR", "NAOI"},
    "write_up": {"REGU", "OANI", "OONR"},
    "recall": {"BORD", "BORT", "FEJL", "HENS", "KLAG", "HAFT"},
}
# Reasons where PSRM requires the effective date, and where it must not be sent.
DATE_REQUIRED = {("write_down", "INDB"), ("recall", "BORT")}
DATE_FORBIDDEN = {("write_down", "REGU"), ("recall", "FEJL")}
CLOSED = {"invalid", "rejected", "withdrawn", "recalled"}
IN_FLIGHT = (
    transfer.QUEUED,
    transfer.IN_DELIVERY,
    transfer.SENT,
    transfer.HEARING,
    transfer.CONFIRMED,
)


def _parse(raw: bytes) -> tuple[str, list[Any]]:
    try:
        # Read as a KY message is, so that a body that cannot be read is refused with its
        # problem placed as the claim intakes place it (`line L, column C` of a NaN, too).
        body = load_json(raw)
    except MessageParseError as exc:
        raise InvalidRequest(exc.message, problems=exc.problems) from exc
    problems = []
    if not isinstance(body, dict):
        raise InvalidRequest(
            "the body must be a JSON object",
            problems=[
                Problem(
                    code="message.not_object",
                    message="the body must be a JSON object",
                    source_path="/",
                )
            ],
        )
    message_id = body.get("messageId")
    if not isinstance(message_id, str) or not 1 <= len(message_id) <= 100:
        problems.append(
            Problem(
                code="field.missing",
                source_path="/messageId",
                message="messageId (1-100 characters) is required",
            )
        )
    elif _CONTROL.search(message_id):
        # PostgreSQL's text cannot hold a NUL: such an id was a 500 there and taken on SQLite.
        problems.append(
            Problem(
                code="message_id.invalid",
                source_path="/messageId",
                message="the message id must not contain a control character",
            )
        )
    elif contains_cpr_like(message_id):
        # The id is echoed in answers, logs and conflicts: it must hold no personal data.
        problems.append(
            Problem(
                code="message_id.personal_data",
                source_path="/messageId",
                message="the message id must not contain a CPR number",
            )
        )
    items = body.get("adjustments")
    if not isinstance(items, list) or not items or len(items) > MAX_ADJUSTMENTS:
        problems.append(
            Problem(
                code="field.invalid",
                source_path="/adjustments",
                message=f"adjustments must be a list of 1-{MAX_ADJUSTMENTS}",
            )
        )
    if problems:
        raise InvalidRequest("the message breaks the adjustment contract", problems=problems)
    return str(message_id), list(items) if isinstance(items, list) else []


# An amount as the contract writes it: digits 0-9, at most two decimals after a point. (Python's
# `Decimal` also reads other scripts' digits, exponents and surrounding white space.)
_AMOUNT = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# A control character (C0, DEL, C1): NUL above all, which PostgreSQL's text and JSON cannot hold.
_CONTROL = re.compile(f"[{CONTROL_CHARACTERS}]")


def _value(raw: Any, limit: int) -> str | None:
    """Return what a sender wrote, for a problem's value; None if it holds a control character.

    `Problem.as_dict` shows it only if it reads as a code or a number (`shown_value`).
    """
    if raw is None:
        return None
    text = str(raw)[:limit]
    return None if _CONTROL.search(text) else text


def _check(index: int, item: Any, *, today: dt.date) -> tuple[dict[str, Any] | None, list[Problem]]:
    path = f"/adjustments/{index}"
    if not isinstance(item, dict):
        return None, [Problem(code="field.wrong_type", source_path=path, message="not an object")]
    problems: list[Problem] = []
    reference, action, reason = item.get("reference"), item.get("action"), item.get("reason")
    if not isinstance(reference, str) or not reference:
        problems.append(
            Problem(
                code="field.missing",
                source_path=f"{path}/reference",
                message="the claim's reference is required",
            )
        )
    elif _CONTROL.search(reference):
        # No claim's reference holds one, and PostgreSQL cannot even look a NUL up.
        problems.append(
            Problem(
                code="reference.invalid",
                source_path=f"{path}/reference",
                message="the claim's reference must not contain a control character",
            )
        )
    if action not in REASONS:
        problems.append(
            Problem(
                code="field.not_allowed",
                source_path=f"{path}/action",
                message=f"action must be one of {', '.join(REASONS)}",
                value=_value(action, 40),
            )
        )
    elif reason not in REASONS[action]:
        problems.append(
            Problem(
                code="adjustment.reason_not_allowed",
                source_path=f"{path}/reason",
                message=f"reason for {action} must be one of {', '.join(sorted(REASONS[action]))}",
                value=_value(reason, 10),
            )
        )
    amount: Decimal | None = None
    if action in ("write_down", "write_up"):
        raw_amount = item.get("amount")
        try:
            number = isinstance(raw_amount, int | Decimal) and not isinstance(raw_amount, bool)
            written = isinstance(raw_amount, str) and _AMOUNT.fullmatch(raw_amount) is not None
            # A JSON number as it is; a string only in digits 0-9.
            amount = Decimal(str(raw_amount)) if number or written else None
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite() or amount <= 0:
            problems.append(
                Problem(
                    code="amount.invalid",
                    source_path=f"{path}/amount",
                    message="a positive decimal amount is required",
                )
            )
            amount = None
        elif amount != amount.quantize(Decimal("0.01")):
            problems.append(
                Problem(
                    code="amount.too_many_decimals",
                    source_path=f"{path}/amount",
                    message="at most two decimals (øre)",
                    value=str(amount),
                )
            )
    if action == "recall" and "amount" in item:
        # A recall takes the whole claim back: an amount would be dropped without a word.
        problems.append(
            Problem(
                code="field.not_allowed",
                source_path=f"{path}/amount",
                message="a recall takes no amount (it recalls the whole claim)",
            )
        )
    effective = item.get("effectiveDate")
    effective_date: dt.date | None = None
    if effective is not None:
        try:
            if not isinstance(effective, str) or not _DATE.fullmatch(effective):
                raise ValueError(effective)  # fromisoformat also reads 20261204
            effective_date = dt.date.fromisoformat(effective)
        except ValueError:
            problems.append(
                Problem(
                    code="date.invalid",
                    source_path=f"{path}/effectiveDate",
                    message="not a valid date (YYYY-MM-DD)",
                )
            )
        else:
            if effective_date > today:
                # A payment received, a lapse: each has happened by the time it is reported.
                problems.append(
                    Problem(
                        code="adjustment.effective_date_future",
                        source_path=f"{path}/effectiveDate",
                        message=f"the effective date {effective_date} is after today, {today}",
                        value=effective_date.isoformat(),
                    )
                )
    if (action, reason) in DATE_REQUIRED and effective is None:
        problems.append(
            Problem(
                code="adjustment.effective_date_required",
                source_path=f"{path}/effectiveDate",
                message=f"{reason} needs the effective date",
            )
        )
    if (action, reason) in DATE_FORBIDDEN and effective is not None:
        problems.append(
            Problem(
                code="adjustment.effective_date_forbidden",
                source_path=f"{path}/effectiveDate",
                message=f"{reason} takes no effective date (PSRM uses the receipt date)",
            )
        )
    if problems:
        return None, problems
    return {
        "reference": reference,
        "kind": action,
        "payload": {
            "reason": reason,
            "amount": str(amount.quantize(Decimal("0.01"))) if amount is not None else None,
            "effective_date": effective_date.isoformat() if effective_date else None,
        },
    }, []


def _balances(session: Session, claims: Iterable[Claim]) -> dict[uuid.UUID, Decimal]:
    """Return each claim's balance as kravbro knows it: its amount, with the write-downs and
    write-ups sent for it before (all but those PSRM refused).

    PSRM's own balance may be lower still (payments and offsets it books); it is never higher.
    """
    known = {claim.id: claim.amount for claim in claims if claim.amount is not None}
    if not known:
        return {}
    rows = session.execute(
        select(Transfer.claim_id, Transfer.kind, Transfer.payload).where(
            Transfer.claim_id.in_(list(known)),
            Transfer.kind.in_(["write_down", "write_up"]),
            Transfer.state != transfer.REJECTED,
        )
    )
    for claim_id, kind, payload in rows:
        amount = Decimal(str((payload or {}).get("amount") or "0"))
        known[claim_id] += amount if kind == "write_up" else -amount
    return known


def _within_balance(
    found: dict[str, Any], claim: Claim, balances: dict[uuid.UUID, Decimal], path: str
) -> list[Problem]:
    """Refuse a write-down beyond the claim's balance; count an accepted one against it."""
    raw = found["payload"]["amount"]
    if claim.id not in balances or raw is None:
        return []
    amount = Decimal(raw)
    if found["kind"] == "write_down" and amount > balances[claim.id]:
        return [
            Problem(
                code="adjustment.exceeds_balance",
                source_path=path,
                message=f"a write-down of {amount} is more than the claim's balance, "
                f"{balances[claim.id]} (its amount, with the adjustments sent before)",
                value=str(amount),
            )
        ]
    balances[claim.id] += amount if found["kind"] == "write_up" else -amount
    return []


def _earlier(
    session: Session, *, source: SourceSystem, message_id: str, digest: str
) -> dict[str, Any] | None:
    """Return the first answer to this adjustment message if it was stored before, or None.

    Raises:
        Conflict: a claim message, or an adjustment message with other content, holds the id.
    """
    previous = session.execute(
        select(
            SourceMessage.kind,
            SourceMessage.content_sha256,
            SourceMessage.response,
            SourceMessage.received_at,
        ).where(SourceMessage.source == source.value, SourceMessage.message_id == message_id)
    ).one_or_none()
    if previous is None:
        return None
    # Claim and adjustment messages share one id space per source: a claim message under
    # this id is another message, whatever its bytes.
    if previous.kind == MessageKind.ADJUSTMENTS and previous.content_sha256 == digest:
        answer: dict[str, Any] = previous.response
        return answer
    # The id is not in the text: the sender chose it, and it may read as anything.
    raise Conflict(
        "this message id was received before with other content",
        problems=[
            Problem(
                code="message_id.conflict",
                message=(
                    "this message id was used before, by a claim or adjustment message "
                    "with other content: send a new message under a new id (the same "
                    "message again is answered as it was the first time)"
                ),
                source_path="/messageId",
            )
        ],
        extra={
            "message_id": message_id,
            "first_received_at": previous.received_at.isoformat(),
        },
    )


def receive(
    session: Session,
    *,
    source: SourceSystem,
    raw: bytes,
    principal: str,
    now: dt.datetime,
) -> tuple[int, dict[str, Any], bool]:
    """Take an adjustment message: (status, body, replayed).

    Raises:
        InvalidRequest: malformed, breaking the contract, or no adjustment could be taken.
        Conflict: the message id was used before, by a claim message or with other content.
    """
    message_id, items = _parse(raw)
    digest = hashlib.sha256(raw).hexdigest()
    earlier = _earlier(session, source=source, message_id=message_id, digest=digest)
    if earlier is not None:
        return 200, earlier, True
    today = now.astimezone(COPENHAGEN).date()
    checked = [_check(i, item, today=today) for i, item in enumerate(items)]
    refs = {c["reference"] for c, _ in checked if c is not None}
    claims = {
        row.source_reference: row
        for row in session.scalars(
            select(Claim).where(Claim.source == source.value, Claim.source_reference.in_(refs))
        )
    }
    claim_ids = [c.id for c in claims.values()]
    next_seq: dict[uuid.UUID, int] = (
        dict(
            session.execute(
                select(Transfer.claim_id, func.max(Transfer.seq))
                .where(Transfer.claim_id.in_(claim_ids))
                .group_by(Transfer.claim_id)
            ).all()
        )
        if claim_ids
        else {}
    )
    balances = _balances(session, claims.values())
    busy = (
        set(
            session.scalars(
                select(Transfer.claim_id).where(
                    Transfer.claim_id.in_(claim_ids),
                    Transfer.state.in_([*IN_FLIGHT, transfer.WAITING]),
                )
            )
        )
        if claim_ids
        else set()
    )
    results: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for index, (found, problems) in enumerate(checked):
        result: dict[str, Any] = {"index": index, "source_path": f"/adjustments/{index}"}
        claim = claims.get(found["reference"]) if found else None
        if found is not None and claim is None:
            problems = [
                Problem(
                    code="claim.unknown",
                    source_path=f"/adjustments/{index}/reference",
                    message=f"no claim {reference_text(found['reference'])} from {source.value}",
                    value=shown_reference(found["reference"]),
                )
            ]
        elif found is not None and claim is not None and claim.state in CLOSED:
            problems = [
                Problem(
                    code="claim.closed",
                    source_path=f"/adjustments/{index}/reference",
                    message=(
                        f"claim {reference_text(found['reference'])} is {claim.state}; "
                        "it cannot be adjusted"
                    ),
                    value=shown_reference(found["reference"]),
                )
            ]
        if not problems and found is not None and claim is not None:
            problems = _within_balance(found, claim, balances, f"/adjustments/{index}/amount")
        if problems or found is None or claim is None:
            results.append(
                {**result, "result": "rejected", "problems": [p.as_dict() for p in problems]}
            )
            continue
        seq = next_seq.get(claim.id, 0) + 1
        next_seq[claim.id] = seq
        ready = claim.state == "at_psrm" and claim.id not in busy
        busy.add(claim.id)
        action_id = new_id().hex
        rows.append(
            {
                "claim_id": claim.id,
                "seq": seq,
                "kind": found["kind"],
                "action_id": action_id,
                "area": claim.business_area or "",
                "payload": found["payload"],
                "state": transfer.QUEUED if ready else transfer.WAITING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "updated_at": now,
            }
        )
        events.append(
            {
                "claim_id": claim.id,
                "at": now,
                "kind": "adjustment_received",
                "actor": principal,
                "detail": {"kind": found["kind"], **found["payload"], "seq": seq},
            }
        )
        results.append(
            {
                **result,
                "result": "accepted",
                # Shown only as the contracts write a reference, as in a claim's result.
                "reference": shown_reference(found["reference"]),
                "claim_id": str(claim.id),
                "action": found["kind"],
                "action_id": action_id,
                "sequence": seq,
                "state": transfer.QUEUED if ready else transfer.WAITING,
                "problems": [],
            }
        )
    accepted = len(rows)
    if accepted == 0:
        raise InvalidRequest(
            "no adjustment in the message could be taken; nothing was stored",
            problems=[Problem(**p) for r in results for p in r["problems"]],
            extra={"message_id": message_id, "adjustments": results},
        )
    body = {
        "message_id": message_id,
        "source": source.value,
        "received_at": now.isoformat(),
        "counts": {
            "adjustments": len(items),
            "accepted": accepted,
            "rejected": len(items) - accepted,
        },
        "adjustments": results,
    }
    message = {
        "id": new_id(),
        "source": source.value,
        "message_id": message_id,
        "kind": MessageKind.ADJUSTMENTS.value,
        "content_sha256": digest,
        "media_type": MEDIA_TYPE,
        "raw": raw,
        "size_bytes": len(raw),
        "principal": principal,
        "received_at": now,
        "claim_count": len(items),
        "accepted_count": accepted,
        "response": body,
    }
    try:
        with session.begin_nested():
            session.execute(insert(SourceMessage), [message])
    except IntegrityError:
        # A message under this id was stored since the look-up (a claim message on
        # PostgreSQL, by the intake writer): answered as if it had been stored before.
        earlier = _earlier(session, source=source, message_id=message_id, digest=digest)
        if earlier is None:
            raise
        return 200, earlier, True
    session.execute(insert(Transfer), rows)
    session.execute(insert(ClaimEvent), events)
    return 202, body, False
