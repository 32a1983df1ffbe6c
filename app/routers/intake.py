"""POST /v1/intake/{source}: a fagsystem hands over a message of claims."""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute, Route

from adapters import registry
from app import memory
from app.clock import business_date
from app.deps import BodyDep, PrincipalDep, Runtime, RuntimeDep, read_body
from app.domain.claim import SourceSystem
from app.encoding import dumps
from app.errors import Forbidden, NotFound, UnsupportedMediaType
from app.services import adjustments, intake

router = APIRouter(prefix="/v1/intake", tags=["intake"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "the same message again: the first answer, replayed"},
    202: {"description": "taken: one result per claim, accepted or rejected with problems"},
    400: {"description": "malformed JSON or XML, unreadable encoding, DOCTYPE/entities"},
    401: {"description": "no or unknown API key"},
    403: {"description": "the key may not post to this source"},
    409: {"description": "message id (or a claim reference) used before with other content"},
    413: {"description": "body above the size limit"},
    415: {"description": "media type not sent by this source"},
    422: {"description": "breaks the contract, or no claim could be taken; nothing stored"},
}


def _source(name: str) -> SourceSystem:
    try:
        return SourceSystem(name)
    except ValueError as exc:
        known = ", ".join(s.value for s in SourceSystem)
        # The path is not repeated: it is the caller's text, and could be anything (a CPR
        # number, said an outside probe).
        raise NotFound(f"no intake for this source; known sources: {known}") from exc


# Bodies up to this size are prepared on the event loop: parsing a small message costs less
# than the hop to a thread. Larger ones are prepared in the thread pool, so that a message of
# thousands of claims does not hold up the requests around it.
_INLINE_BYTES = 64 * 1024


# The message route reads its caller, body, runtime and even its path parameter itself
# rather than through FastAPI dependencies: measured with 16 and 64 concurrent single-claim
# clients, resolving them cost 15-20 % of the route's throughput (the path parameter alone,
# validated by FastAPI, took a single-claim message from 0.71-0.73 to 0.75-0.77 ms of CPU
# in process on PostgreSQL). Having none, it is served by Starlette itself (`served_first`).
# `_MESSAGE_DOC` puts in OpenAPI what they would have.
_MESSAGE_DOC: dict[str, Any] = {
    "parameters": [
        {
            "name": "source",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "enum": [s.value for s in SourceSystem]},
            "description": "the fagsystem's source: ky, ksd or oir",
        },
        {
            "name": "Authorization",
            "in": "header",
            "required": True,
            "schema": {"type": "string"},
            "description": "Bearer <API key>",
        },
    ],
    "requestBody": {
        "required": True,
        "description": "one message in the source's own format (see the source's contract)",
        "content": {
            media_type: {"schema": {"type": "object" if media_type.endswith("json") else "string"}}
            for adapter in registry().values()
            for media_type in adapter.media_types
        },
    },
}


def _refuse_other_charsets(parameters: str) -> None:
    """JSON is UTF-8 (RFC 8259): a body labelled otherwise would be read as what it is not."""
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() != "charset":
            continue
        charset = value.strip().strip('"').lower()
        if charset not in ("utf-8", "utf8"):
            raise UnsupportedMediaType(
                # The value is not shown: it is the sender's text, and could be anything.
                "JSON messages are UTF-8; a body labelled with another charset is not taken",
                extra={"accepted_media_types": ["application/json; charset=utf-8"]},
            )


def _earlier_answer(
    runtime: Runtime, system: SourceSystem, raw_sha256: str
) -> intake.Outcome | None:
    with runtime.db.sessions() as session:
        return intake.earlier_answer(session, source=system, raw_sha256=raw_sha256)


@router.post("/{source}", status_code=202, responses=_RESPONSES, openapi_extra=_MESSAGE_DOC)
async def post_message(request: Request) -> Response:
    """Store a message, map and validate its claims, and answer with a result per claim."""
    source: str = request.path_params["source"]
    runtime: Runtime = request.app.state.runtime
    principal = runtime.keys.authenticate(request.headers.get("authorization"))
    system = _source(source)
    if not principal.may_post_to(system.value):
        raise Forbidden(f"this key may not post to the {system.value} intake")
    media_type, _, parameters = (request.headers.get("content-type") or "").partition(";")
    media_type = media_type.strip().lower()
    if media_type.endswith("json"):
        _refuse_other_charsets(parameters)
    body = await read_body(request, runtime)
    raw_sha256 = None
    if len(body) > _INLINE_BYTES and media_type in registry()[system].media_types:
        # A big body sent again is answered before it is read again (`earlier_answer`).
        raw_sha256 = intake.digest(body)
        replayed = await run_in_threadpool(_earlier_answer, runtime, system, raw_sha256)
        if replayed is not None:
            return Response(
                content=replayed.json(),
                status_code=replayed.status_code,
                media_type="application/json",
                headers={"Idempotent-Replayed": "true"},
            )
    # One reading of the clock: the instant and the business date are of the same moment.
    now = runtime.clock.now()
    prepare = partial(
        intake.prepare,
        source=system,
        raw=body,
        media_type=media_type,
        principal=principal.name,
        catalogue=runtime.catalogue,
        claimant_id=runtime.settings.claimant_id,
        now=now,
        today=business_date(now),
        raw_sha256=raw_sha256,
    )
    prepared = prepare() if len(body) <= _INLINE_BYTES else await run_in_threadpool(prepare)
    # Stored with the messages of concurrent requests, in one transaction (group commit).
    outcome = await runtime.intake_writer.store(prepared)
    headers = {"Idempotent-Replayed": "true"} if outcome.replay else {}
    return Response(
        content=outcome.json(),
        status_code=outcome.status_code,
        media_type="application/json",
        headers=headers,
        background=BackgroundTask(_after_answer, prepared, outcome, len(body)),
    )


def served_first() -> list[BaseRoute]:
    """The message route as Starlette serves it, to be put ahead of every other route.

    The route takes nothing FastAPI would resolve, so FastAPI's handling around it (its
    request context, exit stacks and second exception wrapper) only cost time, and matching
    it after the routes included before it cost more: with one client, from the app's router
    to the route's first line took 75 µs of a single-claim message's 1.1 ms on the server,
    and 19 µs served this way. Errors go to the same handlers (Starlette's wrapper, then
    the app's). `post_message` stays registered on `router` for OpenAPI, where it is
    described; requests never reach it there, as this route matches them first.
    """
    return [Route(f"{router.prefix}/{{source}}", post_message, methods=["POST"])]


async def _after_answer(prepared: intake.Prepared, outcome: intake.Outcome, size: int) -> None:
    """Count and log a stored message once its answer has gone.

    The caller waits for none of it: at one client, the counting and the log line (about 50 µs
    of a single-claim message's 0.6-0.8 ms of CPU, in process) are done while the caller reads
    its answer and sends its next message. The log line is written
    on the event loop, not in the writer thread: writing it lets go of the GIL, and the one
    writer thread, which every request waits for, would then wait to get it back.
    """
    intake.account(prepared, outcome)
    if size >= memory.GIVE_BACK_FROM_BYTES:
        await run_in_threadpool(memory.give_back)  # in the thread pool (see `app.memory`)


@router.post("/{source}/adjustments", status_code=202, responses=_RESPONSES)
def post_adjustments(
    source: str, body: BodyDep, principal: PrincipalDep, runtime: RuntimeDep
) -> Response:
    """Write down, write up or recall claims this fagsystem sent; each waits for its claim."""
    system = _source(source)
    if not principal.may_post_to(system.value):
        raise Forbidden(f"this key may not post to the {system.value} intake")
    with runtime.db.transaction() as session:
        status, answer, replay = adjustments.receive(
            session, source=system, raw=body, principal=principal.name, now=runtime.clock.now()
        )
    headers = {"Idempotent-Replayed": "true"} if replay else {}
    return Response(
        content=dumps(answer), status_code=status, media_type="application/json", headers=headers
    )
