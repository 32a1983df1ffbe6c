"""GET /v1/claims and /v1/claims/{id}: canonical claims, CPR numbers masked."""

from __future__ import annotations

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
    if "fagsystem" not in principal.roles or principal.source is None:
        raise Forbidden("this key's roles do not allow reading claims")
    if requested is not None and requested != principal.source:
        raise Forbidden("a fagsystem reads only its own claims")
    return principal.source


_RECEIVED_FROM = (
    "Claims received at or after this. A date (YYYY-MM-DD) is that calendar day in "
    "Europe/Copenhagen: from its start (00:00 Copenhagen time). A date-time must carry an "
    "offset, such as Z or +01:00, and is inclusive; one without an offset is a 422."
)
_RECEIVED_TO = (
    "Claims received before this. A date (YYYY-MM-DD) is that calendar day in "
    "Europe/Copenhagen, included whole: up to the next day's 00:00 Copenhagen time. A date-time "
    "must carry an offset, such as Z or +01:00, and is exclusive; one without an offset is a 422."
)


@router.get(
    "",
    responses={
        422: {
            "description": "an unknown business area, fordringstype or state, a bound that is "
            "not a date or a date-time with an offset, bounds the wrong way round, a limit "
            "outside 1-500, or a cursor this service did not give out: every one listed"
        }
    },
)
def list_claims(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    session: SessionDep,
    source: str | None = None,
    business_area: Annotated[
        str | None, Query(description="A business area in the loaded catalogue.")
    ] = None,
    fordringstype: Annotated[
        str | None, Query(description="A fordringstype code in the loaded catalogue.")
    ] = None,
    state: Annotated[
        str | None, Query(description=f"One of the claim states: {', '.join(claims.STATES)}.")
    ] = None,
    received_from: Annotated[str | None, Query(description=_RECEIVED_FROM)] = None,
    received_to: Annotated[str | None, Query(description=_RECEIVED_TO)] = None,
    cursor: Annotated[
        str | None, Query(description="`next_cursor` of the page before, as given.")
    ] = None,
    # Read as text and checked with the filter, so that one answer lists every problem.
    limit: Annotated[str | None, Query(description="Claims per page, 1-500 (default 100).")] = None,
) -> dict[str, Any]:
    """List claims, newest first, filtered; follow `next_cursor` for the next page."""
    where = claims.claim_filter(
        catalogue=runtime.catalogue,
        source=_own_source(principal, source),
        business_area=business_area,
        fordringstype=fordringstype,
        state=state,
        received_from=received_from,
        received_to=received_to,
        cursor=cursor,
        limit=limit,
    )
    return claims.page(session, where=where)


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
