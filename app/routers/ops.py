"""Operations: the queue, on-boarding, pauses, the limitation watch, the clock (demo)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from app.auth import Principal
from app.clock import COPENHAGEN, OutOfRange
from app.deps import PrincipalDep, RuntimeDep, SessionDep
from app.domain.claim import EARLIEST_DATE, LATEST_DATE
from app.domain.problems import Problem
from app.domain.readiness import OnboardingState
from app.errors import Forbidden, InvalidRequest
from app.services import onboarding, queue, readiness, transfer

router = APIRouter(prefix="/v1/ops", tags=["operations"])

# Transfer ids are 64-bit integers from 1: anything else names no transfer, and a larger
# number is more than the database driver can bind (it ended in a 500).
TransferId = Annotated[int, Field(ge=1, le=2**63 - 1)]

# The clock shows (in Copenhagen) only the dates a claim may hold: the years and days the rules
# add to today then stay within what a date can hold (year 9999 and year 1 ended in a 500).
CLOCK_RANGE = (
    dt.datetime.combine(EARLIEST_DATE, dt.time(), tzinfo=COPENHAGEN),
    dt.datetime.combine(LATEST_DATE + dt.timedelta(days=1), dt.time(), tzinfo=COPENHAGEN),
)
MAX_ADVANCE_DAYS = (LATEST_DATE - EARLIEST_DATE).days


def _staff(principal: Principal) -> None:
    principal.require("operations")


class OnboardingChange(BaseModel):
    """A change of an area's (or one type's) on-boarding."""

    model_config = ConfigDict(extra="forbid")

    state: OnboardingState
    from_date: dt.date | None = Field(
        default=None, description="on-boarded from this date (default: today)"
    )
    fordringstype: str | None = Field(default=None, description="only this type of the area")
    note: str = Field(default="", max_length=500)


class PauseRequest(BaseModel):
    """A pause: on everything, one area, or one fordringstype."""

    model_config = ConfigDict(extra="forbid")

    # No holder: the pause is held by the key that places it, never by a name the body gives.
    reason: str = Field(min_length=1, max_length=500)
    area: str | None = None
    fordringstype: str | None = None


class ResumeRequest(BaseModel):
    """Nothing to say: who lifts a pause is the key that calls (its holder, or an admin)."""

    # A `holder` here once let any operations key lift another's pause by naming its holder:
    # it is refused (extra="forbid") rather than ignored, so no caller believes it counts.
    model_config = ConfigDict(extra="forbid")


class RequeueRequest(BaseModel):
    """Which dead letters to put back in the queue: some by id, or all."""

    model_config = ConfigDict(extra="forbid")

    transfer_ids: list[TransferId] | None = Field(default=None, max_length=100_000)
    all: bool = False


class HearingDecision(BaseModel):
    """Staff's answer to a hearing: confirm the claim as it is, or withdraw it."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["confirm", "withdraw"]
    note: str = Field(default="", max_length=500)


class ClockRequest(BaseModel):
    """Set the service clock (only with KRAVBRO_CLOCK_CONTROL)."""

    model_config = ConfigDict(extra="forbid")

    now: AwareDatetime | None = Field(default=None, description="with its UTC offset")
    advance_days: int | None = Field(default=None, ge=-MAX_ADVANCE_DAYS, le=MAX_ADVANCE_DAYS)
    reset: bool = False


@router.get("/queue")
def get_queue(principal: PrincipalDep, runtime: RuntimeDep, session: SessionDep) -> dict[str, Any]:
    """Counts by area and state, oldest waiting, throughput, dead letters, hearings, circuit."""
    principal.require("operations", "auditor")
    return queue.overview(session, now=runtime.clock.now())


@router.get("/limitation-watch")
def get_limitation_watch(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    session: SessionDep,
    horizon_days: Annotated[int | None, Query(ge=0, le=3650)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> dict[str, Any]:
    """Claims not yet at PSRM whose limitation or lapse date is near: soonest first."""
    principal.require("operations", "auditor")
    return queue.limitation_watch(
        session,
        today=runtime.clock.today(),
        horizon_days=horizon_days
        if horizon_days is not None
        else runtime.settings.limitation_horizon_days,
        limit=limit,
    )


@router.get("/onboarding")
def get_onboarding(
    principal: PrincipalDep, runtime: RuntimeDep, session: SessionDep
) -> list[dict[str, Any]]:
    """Every business area with its on-boarding state, exceptions and active pauses."""
    principal.require("operations", "auditor")
    return onboarding.overview(
        session, claimant_id=runtime.settings.claimant_id, catalogue=runtime.catalogue
    )


@router.get("/onboarding/history")
def get_onboarding_history(
    principal: PrincipalDep, runtime: RuntimeDep, session: SessionDep, area: str | None = None
) -> list[dict[str, Any]]:
    """Every on-boarding change: who, when, from what to what, how many claims it released."""
    principal.require("operations", "auditor")
    return onboarding.history(session, claimant_id=runtime.settings.claimant_id, area=area)


@router.put("/onboarding/{area}")
def put_onboarding(
    area: str, change: OnboardingChange, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Switch an area (or one of its types) on, off, or to legacy; held claims are re-assessed."""
    _staff(principal)
    today = runtime.clock.today()
    from_date = change.from_date
    if change.state is OnboardingState.ONBOARDED and from_date is None:
        from_date = today
    with runtime.db.transaction() as session:
        return onboarding.set_state(
            session,
            claimant_id=runtime.settings.claimant_id,
            area=area,
            fordringstype=change.fordringstype or "",
            state=change.state,
            from_date=from_date,
            note=change.note,
            actor=principal.name,
            catalogue=runtime.catalogue,
            today=today,
            now=runtime.clock.now(),
        )


@router.post("/onboarding/{area}/dry-run")
def post_dry_run(
    area: str, principal: PrincipalDep, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """What switching the area on today would do: pass, reject (per rule), hearing, still wait."""
    principal.require("operations", "auditor")
    return onboarding.dry_run(
        session,
        claimant_id=runtime.settings.claimant_id,
        area=area,
        catalogue=runtime.catalogue,
        today=runtime.clock.today(),
    )


@router.get("/pauses")
def get_pauses(
    principal: PrincipalDep, runtime: RuntimeDep, session: SessionDep, active: bool = True
) -> list[dict[str, Any]]:
    """List pauses (active ones by default)."""
    principal.require("operations", "auditor")
    return onboarding.pauses(session, claimant_id=runtime.settings.claimant_id, active_only=active)


@router.post("/pauses", status_code=201)
def post_pause(
    request: PauseRequest, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Pause transfers of everything, an area or a type; the pause has a holder and a reason."""
    _staff(principal)
    with runtime.db.transaction() as session:
        return onboarding.pause(
            session,
            claimant_id=runtime.settings.claimant_id,
            area=request.area,
            fordringstype=request.fordringstype,
            holder=principal.name,
            reason=request.reason,
            actor=principal.name,
            catalogue=runtime.catalogue,
            today=runtime.clock.today(),
            now=runtime.clock.now(),
        )


@router.post("/pauses/{pause_id}/resume")
def post_resume(
    pause_id: uuid.UUID,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    # Optional: the request says nothing, so no body (or `{}`) will do; it is read only to
    # refuse fields that are not there.
    body: Annotated[ResumeRequest | None, Body()] = None,
) -> dict[str, Any]:
    """Lift one pause. Only its holder (or an admin) may; other pauses stay in force."""
    _staff(principal)
    with runtime.db.transaction() as session:
        return onboarding.resume(
            session,
            claimant_id=runtime.settings.claimant_id,
            pause_id=pause_id,
            actor=principal.name,
            may_lift_any="admin" in principal.roles,
            catalogue=runtime.catalogue,
            today=runtime.clock.today(),
            now=runtime.clock.now(),
        )


@router.post("/sweep")
def post_sweep(principal: PrincipalDep, runtime: RuntimeDep) -> dict[str, int]:
    """Re-assess now every held claim whose awaited date has come (also runs on a schedule)."""
    _staff(principal)
    with runtime.db.transaction() as session:
        return readiness.sweep(
            session,
            catalogue=runtime.catalogue,
            claimant_id=runtime.settings.claimant_id,
            today=runtime.clock.today(),
            now=runtime.clock.now(),
        )


@router.post("/clock")
def post_clock(
    request: ClockRequest, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, str]:
    """Set, advance or reset the service clock (demos and scenario tests only)."""
    principal.require("admin")
    if not runtime.settings.clock_control:
        raise Forbidden("the clock can only be set when KRAVBRO_CLOCK_CONTROL is on")
    start, end = CLOCK_RANGE
    if request.now is not None and not start <= request.now < end:
        raise _clock_out_of_range("now")
    try:
        now = runtime.clock.change(
            reset=request.reset,
            to=request.now,
            by=dt.timedelta(days=request.advance_days or 0),
            within=CLOCK_RANGE,
        )
    except OutOfRange as exc:
        raise _clock_out_of_range("advance_days") from exc
    return {"now": now.isoformat(), "today": now.astimezone(COPENHAGEN).date().isoformat()}


def _clock_out_of_range(field: str) -> InvalidRequest:
    message = (
        f"the clock must show a date from {EARLIEST_DATE} to {LATEST_DATE} in Copenhagen, "
        "the dates a claim may hold"
    )
    problem = Problem(
        code="clock.out_of_range", message=message, field=field, source_path=f"body/{field}"
    )
    return InvalidRequest("the clock was not changed", problems=[problem])


@router.get("/dead-letters")
def get_dead_letters(
    principal: PrincipalDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[dict[str, Any]]:
    """Transfers that failed too often, with their errors, oldest first."""
    principal.require("operations", "auditor")
    return transfer.dead_letters(session, limit=limit)


@router.post("/requeue")
def post_requeue(
    request: RequeueRequest, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, int]:
    """Put dead letters back in the queue, one, many or all; bulk requeues are staggered."""
    _staff(principal)
    if not request.all and not request.transfer_ids:
        problem = Problem(
            code="field.missing",
            message="name the dead letters to requeue in transfer_ids, or set all to true",
            field="transfer_ids",
            source_path="body/transfer_ids",
        )
        raise InvalidRequest("name transfer_ids, or set all to true", problems=[problem])
    with runtime.db.transaction() as session:
        count = transfer.requeue(
            session,
            transfer_ids=None if request.all else request.transfer_ids,
            now=runtime.clock.now(),
            config=runtime.transfer_config,
            actor=principal.name,
        )
    return {"requeued": count}


@router.get("/hearings")
def get_hearings(
    principal: PrincipalDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[dict[str, Any]]:
    """Claims PSRM has parked in hearing, waiting for the municipality to confirm or withdraw."""
    principal.require("operations", "auditor")
    return transfer.hearings(session, limit=limit)


@router.post("/hearings/{claim_id}")
def post_hearing_decision(
    claim_id: uuid.UUID, request: HearingDecision, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, str]:
    """Confirm or withdraw a claim in hearing, once; stored only if PSRM (the simulator) took it."""
    _staff(principal)
    with runtime.db.transaction() as session:
        action_id = transfer.decide_hearing(
            session,
            claim_id=claim_id,
            confirm=request.decision == "confirm",
            actor=principal.name,
            note=request.note,
            now=runtime.clock.now(),
            portal=runtime.psrm_portal,
        )
    return {"claim_id": str(claim_id), "action_id": action_id, "decision": request.decision}
