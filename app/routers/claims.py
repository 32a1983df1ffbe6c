"""GET /v1/claims and /v1/claims/{id}: canonical claims, CPR numbers masked."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.deps import PrincipalDep, RuntimeDep, SessionDep
from app.errors import Forbidden
from app.services import claims, queue

router = APIRouter(prefix="/v1/claims", tags=["claims"])


def _own_source(principal: PrincipalDep, requested: str | None) -> str | None:
    if principal.sees_all_claims:
        return requested
    if requested is not None and requested != principal.source:
        raise Forbidden("a fagsystem reads only its own claims")
    return principal.source or "-"


@router.get("")
def list_claims(
    principal: PrincipalDep,
    session: SessionDep,
    source: str | None = None,
    business_area: str | None = None,
    fordringstype: str | None = None,
    state: str | None = None,
    received_from: dt.datetime | None = None,
    received_to: dt.datetime | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """List claims, newest first, filtered; follow `next_cursor` for the next page."""
    where = claims.ClaimFilter(
        source=_own_source(principal, source),
        business_area=business_area,
        fordringstype=fordringstype,
        state=state,
        received_from=received_from,
        received_to=received_to,
    )
    return claims.page(session, where=where, limit=limit, cursor=cursor)


@router.get("/{claim_id}", responses={404: {"description": "no such claim"}})
def get_claim(claim_id: uuid.UUID, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    """Return one claim with its state and problems."""
    return claims.get(session, claim_id=claim_id, source=_own_source(principal, None))


@router.get("/{claim_id}/readiness", responses={404: {"description": "no such claim"}})
def get_claim_readiness(
    claim_id: uuid.UUID, principal: PrincipalDep, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """Why a claim waits (every hold, with rules), or that it may go; hearing rules it trips."""
    return queue.claim_readiness(
        session,
        claim_id=claim_id,
        source=_own_source(principal, None),
        catalogue=runtime.catalogue,
        claimant_id=runtime.settings.claimant_id,
        today=runtime.clock.today(),
    )


@router.get("/{claim_id}/events", responses={404: {"description": "no such claim"}})
def get_claim_events(
    claim_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> list[dict[str, Any]]:
    """Return everything that happened to a claim, oldest first."""
    return claims.events(session, claim_id=claim_id, source=_own_source(principal, None))
