"""Readiness in the database: hold claims with their reasons, or release them into the queue.

A claim is assessed when it arrives, when a date it waits for passes (the sweep), when its
area's on-boarding changes and when a pause is placed or lifted. Releasing a claim and putting
its transfer in the queue happen in one transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select
from sqlalchemy.orm import Session

from app.db.bulk import Query, fetch_all
from app.db.locks import hold_readiness
from app.db.tables import Claim, ClaimEvent, Onboarding, Pause, Transfer
from app.domain.catalogue import Catalogue
from app.domain.claim import CanonicalClaim
from app.domain.readiness import Onboarding as OnboardingVerdict
from app.domain.readiness import OnboardingState, Readiness, assess
from app.domain.readiness import Pause as PauseVerdict
from app.ids import new_id

# Claim states (a closed set; the README has the table).
HELD = "held"
QUEUED = "queued"
ASSESSABLE = frozenset({"accepted", HELD, QUEUED})
# A main claim in these states is closed for good: its related claims can never go (hold
# `main_claim_closed`). A rejected or withdrawn main claim is not: it may come back corrected.
MAIN_CLOSED = frozenset({"recalled"})


@dataclass(frozen=True, slots=True)
class ScopedPause:
    """An active pause and what it covers: an area (or all), a type in it (or all)."""

    area: str | None
    fordringstype: str | None
    pause: PauseVerdict


@dataclass(frozen=True, slots=True)
class Context:
    """On-boarding and active pauses for one claimant, read once per batch of claims."""

    onboarding: dict[tuple[str, str], OnboardingVerdict]
    pauses: list[ScopedPause]

    def onboarding_for(self, area: str, fordringstype: str) -> OnboardingVerdict:
        """Return the on-boarding in force for a type: its own, else its area's."""
        return (
            self.onboarding.get((area, fordringstype))
            or self.onboarding.get((area, ""))
            or OnboardingVerdict(OnboardingState.NOT_ONBOARDED)
        )

    def pauses_for(self, area: str, fordringstype: str) -> list[PauseVerdict]:
        """Return the active pauses that cover a type."""
        return [
            p.pause
            for p in self.pauses
            if (p.area is None or p.area == area)
            and (p.fordringstype is None or p.fordringstype == fordringstype)
        ]


# Built once and run as Core on the session's connection: this runs for every batch of
# intake messages, where building a statement, or ORM objects, costs more than the query.
_ONBOARDED = select(
    Onboarding.area, Onboarding.fordringstype, Onboarding.state, Onboarding.from_date
).where(Onboarding.claimant_id == bindparam("claimant_id"))
_ACTIVE_PAUSES = select(
    Pause.id, Pause.area, Pause.fordringstype, Pause.holder, Pause.reason
).where(Pause.claimant_id == bindparam("claimant_id"), Pause.lifted_at.is_(None))


def load_context(session: Session, *, claimant_id: str) -> Context:
    """Read the claimant's on-boarding and active pauses."""
    return context_from(fetch_all(session.connection(), context_queries(claimant_id)))


def context_queries(claimant_id: str) -> list[tuple[Query, dict[str, Any]]]:
    """Return the look-ups a `Context` is made from, to run with others (`fetch_all`)."""
    parameters = {"claimant_id": claimant_id}
    return [(_ONBOARDED, parameters), (_ACTIVE_PAUSES, parameters)]


def context_from(rows: Sequence[Sequence[Any]]) -> Context:
    """Make a `Context` of the rows of `context_queries`, in their order."""
    onboarded, paused = rows
    onboarding = {
        (row.area, row.fordringstype): OnboardingVerdict(OnboardingState(row.state), row.from_date)
        for row in onboarded
    }
    pauses = [
        ScopedPause(row.area, row.fordringstype, PauseVerdict(str(row.id), row.holder, row.reason))
        for row in paused
    ]
    return Context(onboarding=onboarding, pauses=pauses)


def verdict(
    claim: CanonicalClaim,
    *,
    catalogue: Catalogue,
    context: Context,
    today: dt.date,
    has_main_claim: bool = False,
    main_claim_state: str | None = None,
) -> Readiness:
    """Assess one canonical claim against the catalogue, on-boarding and pauses.

    For a related claim (`has_main_claim`), `main_claim_state` is its main claim's state
    (None: not stored yet): it may go once that is `at_psrm`.
    """
    kind = catalogue.types[claim.fordringstype]
    return assess(
        claim,
        kind,
        today=today,
        onboarding=context.onboarding_for(kind.area, kind.code),
        pauses=context.pauses_for(kind.area, kind.code),
        main_claim_at_psrm=not has_main_claim or main_claim_state == "at_psrm",
        main_claim_closed=main_claim_state if main_claim_state in MAIN_CLOSED else None,
    )


def limitation_date(claim: CanonicalClaim) -> dt.date:
    """Return the earliest limitation (or lapse) date over the claim's liabilities."""
    return min(item.limitation_date for item in claim.liabilities)


def apply(
    session: Session,
    rows: Sequence[tuple[Claim, CanonicalClaim]],
    *,
    catalogue: Catalogue,
    context: Context,
    today: dt.date,
    now: dt.datetime,
    actor: str,
) -> dict[str, int]:
    """Assess claims and move each to held or queued; return how many went where.

    Claims already queued stay queued while still ready; a queued claim that is no longer
    ready (say, paused) goes back to held and its waiting transfer is withdrawn.
    """
    counts = {HELD: 0, QUEUED: 0, "released": 0}
    transfers: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    unqueue: list[uuid.UUID] = []
    mains = _main_states(session, rows)
    seqs = next_seq(session, [row.id for row, _ in rows if row.state != QUEUED])
    for row, claim in rows:
        main = mains.get(row.main_claim_id) if row.main_claim_id is not None else None
        result = verdict(
            claim,
            catalogue=catalogue,
            context=context,
            today=today,
            has_main_claim=row.main_claim_id is not None,
            main_claim_state=main,
        )
        reasons = sorted(hold.reason.value for hold in result.holds)
        before = row.state
        if result.ready:
            counts[QUEUED] += 1
            if before != QUEUED:
                transfers.append(
                    {
                        "claim_id": row.id,
                        "seq": seqs.get(row.id, 0),
                        "kind": "create",
                        "action_id": new_id().hex,
                        "area": row.business_area or "",
                        "payload": {},
                        "state": QUEUED,
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                if before == HELD:
                    counts["released"] += 1
                events.append(
                    _event(row.id, now, "released" if before == HELD else "queued", actor, {})
                )
            row.state, row.holds, row.next_check_date = QUEUED, [], None
        else:
            counts[HELD] += 1
            if before == QUEUED:
                unqueue.append(row.id)
            if before != HELD or reasons != sorted(row.holds or []):
                detail = {
                    "holds": reasons,
                    "rules": sorted({r for h in result.holds for r in h.rules}),
                }
                events.append(_event(row.id, now, "held", actor, detail))
            row.state, row.holds, row.next_check_date = HELD, reasons, result.next_check_date
        row.updated_at = now
    session.flush()
    if unqueue:
        session.execute(
            delete(Transfer).where(
                Transfer.claim_id.in_(unqueue), Transfer.kind == "create", Transfer.state == QUEUED
            )
        )
    if transfers:
        session.execute(insert(Transfer), transfers)
    if events:
        session.execute(insert(ClaimEvent), events)
    return counts


def next_seq(session: Session | Connection, claim_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Return, per claim with transfers, the sequence number its next transfer gets."""
    if not claim_ids:
        return {}
    rows = session.execute(
        select(Transfer.claim_id, func.max(Transfer.seq))
        .where(Transfer.claim_id.in_(list(claim_ids)))
        .group_by(Transfer.claim_id)
    )
    return {claim_id: seq + 1 for claim_id, seq in rows}


def _event(
    claim_id: uuid.UUID, at: dt.datetime, kind: str, actor: str, detail: dict[str, Any]
) -> dict[str, Any]:
    return {"claim_id": claim_id, "at": at, "kind": kind, "actor": actor, "detail": detail}


def _main_states(
    session: Session, rows: Sequence[tuple[Claim, CanonicalClaim]]
) -> dict[uuid.UUID, str]:
    mains = {row.main_claim_id for row, _ in rows if row.main_claim_id is not None}
    if not mains:
        return {}
    return dict(session.execute(select(Claim.id, Claim.state).where(Claim.id.in_(mains))).all())


def reassess(
    session: Session,
    claims: Iterable[Claim],
    *,
    catalogue: Catalogue,
    claimant_id: str,
    today: dt.date,
    now: dt.datetime,
    actor: str,
) -> dict[str, int]:
    """Assess stored claims again (after a date passed, on-boarding changed, a pause)."""
    rows = [(row, CanonicalClaim.model_validate(row.data)) for row in claims]
    context = load_context(session, claimant_id=claimant_id)
    totals = {HELD: 0, QUEUED: 0, "released": 0}
    for start in range(0, len(rows), 1000):
        counts = apply(
            session,
            rows[start : start + 1000],
            catalogue=catalogue,
            context=context,
            today=today,
            now=now,
            actor=actor,
        )
        totals = {key: totals[key] + counts[key] for key in totals}
    return totals


def sweep(
    session: Session, *, catalogue: Catalogue, claimant_id: str, today: dt.date, now: dt.datetime
) -> dict[str, int]:
    """Assess every held claim whose awaited date has come."""
    # Before the claims are read, so that no change of on-boarding or pauses commits
    # between them and their new verdicts (see `locks`).
    hold_readiness(session.connection(), claimant_id, exclusive=False)
    due = session.scalars(
        select(Claim)
        .where(
            Claim.state == HELD,
            Claim.claimant_id == claimant_id,
            Claim.next_check_date.is_not(None),
            Claim.next_check_date <= today,
        )
        .order_by(Claim.received_at)
    )
    return reassess(
        session,
        list(due),
        catalogue=catalogue,
        claimant_id=claimant_id,
        today=today,
        now=now,
        actor="sweep",
    )


def in_scope(
    session: Session,
    *,
    claimant_id: str,
    states: Iterable[str],
    area: str | None = None,
    fordringstype: str | None = None,
) -> list[Claim]:
    """Return the claimant's claims in given states, optionally of one area or type."""
    query = select(Claim).where(Claim.claimant_id == claimant_id, Claim.state.in_(list(states)))
    if area is not None:
        query = query.where(Claim.business_area == area)
    if fordringstype is not None:
        query = query.where(Claim.fordringstype == fordringstype)
    return list(session.scalars(query.order_by(Claim.received_at)))
