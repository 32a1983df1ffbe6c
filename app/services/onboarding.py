"""On-boarding of business areas to PSRM, per claimant; pauses; the dry run before switching on.

Switching an area on releases its held claims into the queue in the same transaction. Every
change records who made it and when. A pause has one holder and one reason; lifting it lifts
only that pause, so two people pausing for different reasons do not undo each other.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.locks import hold_readiness
from app.db.tables import Onboarding, OnboardingChange, Pause
from app.domain.catalogue import Catalogue
from app.domain.identifiers import mask_cpr_like
from app.domain.problems import Problem
from app.domain.readiness import HoldReason, OnboardingState
from app.domain.readiness import Onboarding as OnboardingVerdict
from app.errors import Forbidden, InvalidRequest, NotFound
from app.ids import new_id
from app.services import readiness

# Free texts staff write (a pause's reason, an on-boarding note) are stored with every CPR
# number in them masked: they are shown to every staff key and kept for good. Masking may
# lengthen a text (0101601234 → 010160-****); the column holds 500 characters.
_TEXT_LENGTH = 500


def _without_cpr(text: str) -> str:
    return mask_cpr_like(text)[:_TEXT_LENGTH]


def _unknown_area(catalogue: Catalogue) -> str:
    # The area is not repeated: whatever a caller puts there (a CPR number, a name) is no area.
    return f"no such business area; known areas: {', '.join(sorted(catalogue.areas))}"


def _area(catalogue: Catalogue, area: str) -> None:
    if area not in catalogue.areas:
        raise NotFound(_unknown_area(catalogue))


def _type_in_area(catalogue: Catalogue, fordringstype: str, area: str | None) -> None:
    """Refuse a type the catalogue does not know, or one of another area than `area`."""
    kind = catalogue.get(fordringstype)
    fordringstype = mask_cpr_like(fordringstype)  # repeated in the answer: never a CPR number
    if kind is None:
        code, message = (
            "fordringstype.unknown",
            f"fordringstype {fordringstype} is not in the catalogue",
        )
    elif area is not None and kind.area != area:
        code, message = (
            "fordringstype.not_in_area",
            f"fordringstype {fordringstype} is not in business area {area}",
        )
    else:
        return
    problem = Problem(
        code=code, message=message, field="fordringstype", source_path="body/fordringstype"
    )
    raise InvalidRequest(message, problems=[problem])


def _reassess_scope(
    session: Session,
    *,
    claimant_id: str,
    states: tuple[str, ...],
    area: str | None,
    fordringstype: str | None,
    catalogue: Catalogue,
    today: dt.date,
    now: dt.datetime,
    actor: str,
) -> dict[str, int]:
    """Assess again the claimant's claims in `states` within an area or type (None: all)."""
    claims = readiness.in_scope(
        session, claimant_id=claimant_id, states=states, area=area, fordringstype=fordringstype
    )
    return readiness.reassess(
        session,
        claims,
        catalogue=catalogue,
        claimant_id=claimant_id,
        today=today,
        now=now,
        actor=actor,
    )


def overview(session: Session, *, claimant_id: str, catalogue: Catalogue) -> list[dict[str, Any]]:
    """Return every business area with its state, type exceptions and active pauses."""
    rows = list(session.scalars(select(Onboarding).where(Onboarding.claimant_id == claimant_id)))
    pauses = list(
        session.scalars(
            select(Pause).where(Pause.claimant_id == claimant_id, Pause.lifted_at.is_(None))
        )
    )
    out = []
    for code, area in sorted(catalogue.areas.items()):
        own = next((r for r in rows if r.area == code and r.fordringstype == ""), None)
        out.append(
            {
                "area": code,
                "name": area.name,
                "state": own.state if own else OnboardingState.NOT_ONBOARDED.value,
                "from_date": own.from_date.isoformat() if own and own.from_date else None,
                "changed_by": own.changed_by if own else None,
                "changed_at": own.changed_at.isoformat() if own else None,
                "types": [t.code for t in catalogue.types_in(code)],
                "type_exceptions": [
                    {
                        "fordringstype": r.fordringstype,
                        "state": r.state,
                        "from_date": r.from_date.isoformat() if r.from_date else None,
                    }
                    for r in rows
                    if r.area == code and r.fordringstype
                ],
                "pauses": [render_pause(p) for p in pauses if p.area in (None, code)],
            }
        )
    return out


def set_state(
    session: Session,
    *,
    claimant_id: str,
    area: str,
    fordringstype: str = "",
    state: OnboardingState,
    from_date: dt.date | None,
    note: str,
    actor: str,
    catalogue: Catalogue,
    today: dt.date,
    now: dt.datetime,
) -> dict[str, Any]:
    """Change an area's (or one of its types') on-boarding and re-assess its held claims.

    Raises:
        NotFound: unknown area.
        InvalidRequest: a type that is not in the area.
    """
    _area(catalogue, area)
    if fordringstype:
        _type_in_area(catalogue, fordringstype, area)
    note = _without_cpr(note)
    # Before anything is read: claims decided meanwhile are then in the re-assessment.
    hold_readiness(session.connection(), claimant_id, exclusive=True)
    row = session.scalars(
        select(Onboarding).where(
            Onboarding.claimant_id == claimant_id,
            Onboarding.area == area,
            Onboarding.fordringstype == fordringstype,
        )
    ).one_or_none()
    old = row.state if row else None
    if row is None:
        row = Onboarding(claimant_id=claimant_id, area=area, fordringstype=fordringstype)
        session.add(row)
    row.state, row.from_date, row.note = state.value, from_date, note
    row.changed_by, row.changed_at = actor, now
    change = OnboardingChange(
        claimant_id=claimant_id,
        area=area,
        fordringstype=fordringstype,
        old_state=old,
        new_state=state.value,
        from_date=from_date,
        actor=actor,
        at=now,
        note=note,
    )
    session.add(change)
    session.flush()
    counts = _reassess_scope(
        session,
        claimant_id=claimant_id,
        states=(readiness.HELD, readiness.QUEUED),
        area=area,
        fordringstype=fordringstype or None,
        catalogue=catalogue,
        today=today,
        now=now,
        actor=actor,
    )
    change.released = counts["released"]
    return {
        "area": area,
        "fordringstype": fordringstype or None,
        "state": state.value,
        "from_date": from_date.isoformat() if from_date else None,
        "changed_by": actor,
        "changed_at": now.isoformat(),
        "released": counts["released"],
        "held": counts[readiness.HELD],
        "queued": counts[readiness.QUEUED],
    }


def history(session: Session, *, claimant_id: str, area: str | None) -> list[dict[str, Any]]:
    """Return every on-boarding change, newest first."""
    query = select(OnboardingChange).where(OnboardingChange.claimant_id == claimant_id)
    if area:
        query = query.where(OnboardingChange.area == area)
    return [
        {
            "area": c.area,
            "fordringstype": c.fordringstype or None,
            "from": c.old_state,
            "to": c.new_state,
            "from_date": c.from_date.isoformat() if c.from_date else None,
            "actor": c.actor,
            "at": c.at.isoformat(),
            "note": mask_cpr_like(c.note),  # stored masked since; older notes too
            "released": c.released,
        }
        for c in session.scalars(query.order_by(OnboardingChange.id.desc()))
    ]


def dry_run(
    session: Session, *, claimant_id: str, area: str, catalogue: Catalogue, today: dt.date
) -> dict[str, Any]:
    """Report what switching the area on today would do to its waiting claims; change nothing.

    Raises:
        NotFound: unknown area.
    """
    _area(catalogue, area)
    context = readiness.load_context(session, claimant_id=claimant_id)
    switched = dict(context.onboarding)
    switched[(area, "")] = OnboardingVerdict(OnboardingState.ONBOARDED, today)
    for key in [k for k in switched if k[0] == area and k[1]]:
        del switched[key]
    context = readiness.Context(onboarding=switched, pauses=context.pauses)
    claims = readiness.in_scope(
        session, claimant_id=claimant_id, states=[readiness.HELD], area=area
    )
    outcome: Counter[str] = Counter()
    rejected_by: Counter[str] = Counter()
    hearing_by: Counter[str] = Counter()
    waiting_for: Counter[str] = Counter()
    amount = {"would_pass": 0, "would_be_rejected": 0, "would_go_to_hearing": 0}
    total = 0
    for row in claims:
        total += 1
        claim = row.claim
        result = readiness.verdict(claim, catalogue=catalogue, context=context, today=today)
        rejected = HoldReason.WOULD_BE_REJECTED in result.reasons
        other = result.reasons - {HoldReason.WOULD_BE_REJECTED}
        if rejected:
            bucket = "would_be_rejected"
            rejected_by.update(
                {r.rule for r in result.rejections if r.rule not in {"R_5_1", "R_5_2", "R_5_3"}}
            )
        elif other:
            bucket = "would_still_wait"
            waiting_for.update(reason.value for reason in other)
        elif result.hearing:
            bucket = "would_go_to_hearing"
            hearing_by.update({r.rule for r in result.hearing})
        else:
            bucket = "would_pass"
        outcome[bucket] += 1
        if bucket in amount:
            amount[bucket] += int((claim.amount * 100).to_integral_value())
    return {
        "area": area,
        "evaluated_on": today.isoformat(),
        "claims": total,
        "would_pass": outcome["would_pass"],
        "would_be_rejected": outcome["would_be_rejected"],
        "would_go_to_hearing": outcome["would_go_to_hearing"],
        "would_still_wait": outcome["would_still_wait"],
        "amount_dkk": {key: f"{value / 100:.2f}" for key, value in amount.items()},
        "rejected_by_rule": dict(sorted(rejected_by.items())),
        "hearing_by_rule": dict(sorted(hearing_by.items())),
        "still_waiting_for": dict(sorted(waiting_for.items())),
    }


def render_pause(pause: Pause) -> dict[str, Any]:
    """Render a pause for the API."""
    return {
        "id": str(pause.id),
        "area": pause.area,
        "fordringstype": pause.fordringstype,
        "holder": pause.holder,
        "reason": mask_cpr_like(pause.reason),  # stored masked since; older reasons too
        "created_by": pause.created_by,
        "created_at": pause.created_at.isoformat(),
        "lifted_by": pause.lifted_by,
        "lifted_at": pause.lifted_at.isoformat() if pause.lifted_at else None,
    }


def pause(
    session: Session,
    *,
    claimant_id: str,
    area: str | None,
    fordringstype: str | None,
    holder: str,
    reason: str,
    actor: str,
    catalogue: Catalogue,
    today: dt.date,
    now: dt.datetime,
) -> dict[str, Any]:
    """Place a pause (on everything, an area, or a type); queued claims in it go back to held.

    Only `holder` (the caller who places it) or an admin may lift it again.

    Raises:
        InvalidRequest: an unknown area or type, a type of another area, or no reason given;
            each problem placed at its member of the body (`body/area`).
    """
    if area is not None and area not in catalogue.areas:
        # In the body, not the path: a 422 at its member, as every other field of it.
        message = _unknown_area(catalogue)
        problem = Problem(
            code="area.unknown", message=message, field="area", source_path="body/area"
        )
        raise InvalidRequest(message, problems=[problem])
    if fordringstype is not None:
        _type_in_area(catalogue, fordringstype, area)
    if not reason.strip() or not holder.strip():
        problem = Problem(
            code="field.empty",
            message="a pause needs a reason",
            field="reason",
            source_path="body/reason",
        )
        raise InvalidRequest("a pause needs a holder and a reason", problems=[problem])
    reason = _without_cpr(reason)
    hold_readiness(session.connection(), claimant_id, exclusive=True)
    row = Pause(
        id=new_id(),
        claimant_id=claimant_id,
        area=area,
        fordringstype=fordringstype,
        holder=holder,
        reason=reason,
        created_by=actor,
        created_at=now,
    )
    session.add(row)
    session.flush()
    _reassess_scope(
        session,
        claimant_id=claimant_id,
        states=(readiness.QUEUED, readiness.HELD),
        area=area,
        fordringstype=fordringstype,
        catalogue=catalogue,
        today=today,
        now=now,
        actor=actor,
    )
    return render_pause(row)


def resume(
    session: Session,
    *,
    claimant_id: str,
    pause_id: uuid.UUID,
    actor: str,
    may_lift_any: bool = False,
    catalogue: Catalogue,
    today: dt.date,
    now: dt.datetime,
) -> dict[str, Any]:
    """Lift one pause as `actor`, its holder (or anyone's, if `may_lift_any`: an admin).

    Claims no longer paused by anyone are assessed again.

    Raises:
        NotFound: no active pause with that id.
        Forbidden: `actor` does not hold the pause and may not lift anyone's.
    """
    hold_readiness(session.connection(), claimant_id, exclusive=True)
    row = session.get(Pause, pause_id)
    if row is None or row.claimant_id != claimant_id or row.lifted_at is not None:
        raise NotFound(f"no active pause {pause_id}")
    if row.holder != actor and not may_lift_any:
        raise Forbidden(
            f"pause {pause_id} is held by {row.holder}; only they or an admin may lift it"
        )
    row.lifted_by, row.lifted_at = actor, now
    session.flush()
    counts = _reassess_scope(
        session,
        claimant_id=claimant_id,
        states=(readiness.HELD,),
        area=row.area,
        fordringstype=row.fordringstype,
        catalogue=catalogue,
        today=today,
        now=now,
        actor=actor,
    )
    return {**render_pause(row), "released": counts["released"]}


def pauses(session: Session, *, claimant_id: str, active_only: bool) -> list[dict[str, Any]]:
    """List pauses, newest first."""
    query = select(Pause).where(Pause.claimant_id == claimant_id)
    if active_only:
        query = query.where(Pause.lifted_at.is_(None))
    return [render_pause(p) for p in session.scalars(query.order_by(Pause.created_at.desc()))]
