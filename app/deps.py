"""What routes get injected: the runtime, the caller, the request body, a database session."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session
from starlette.requests import ClientDisconnect

from adapters.psrm.portal import HearingPortal
from app.auth import KeyRing, Principal
from app.clock import Clock
from app.db.session import Database
from app.domain.catalogue import Catalogue
from app.domain.problems import Problem
from app.errors import BodyIncomplete, PayloadTooLarge
from app.services.intake_writer import IntakeWriter
from app.services.transfer import TransferConfig
from app.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Everything built once per process at start-up."""

    settings: Settings
    db: Database
    catalogue: Catalogue
    keys: KeyRing
    clock: Clock
    transfer_config: TransferConfig
    psrm_portal: HearingPortal
    intake_writer: IntakeWriter


async def get_runtime(request: Request) -> Runtime:
    """Return the process's runtime."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_principal(
    runtime: RuntimeDep, authorization: Annotated[str | None, Header()] = None
) -> Principal:
    """Authenticate the caller from its bearer key (cheap: no thread-pool hop)."""
    return runtime.keys.authenticate(authorization)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def read_body(request: Request, runtime: RuntimeDep) -> bytes:
    """Read the request body, refusing it as soon as it passes the size limit.

    Raises:
        PayloadTooLarge: the declared or actual size is above `max_body_bytes`.
        BodyIncomplete: the caller closed the connection before the body's end.
    """
    limit = runtime.settings.max_body_bytes
    declared = request.headers.get("content-length")
    too_large = PayloadTooLarge(
        f"the body is larger than the limit of {limit} bytes",
        problems=[
            Problem(
                code="message.too_large",
                message=f"at most {limit} bytes are taken; split the message",
                source_path=f"byte {limit}",
            )
        ],
    )
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
    except ClientDisconnect as exc:
        log.info(
            "%s %s: the caller went after %d bytes of its body",
            request.method,
            request.url.path,
            size,
        )
        raise BodyIncomplete(
            f"the connection closed after {size} bytes, before the end of the body; "
            "nothing was done"
        ) from exc
    return b"".join(chunks)


BodyDep = Annotated[bytes, Depends(read_body)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    """Yield a read-only session for one request (reads never commit anything)."""
    with runtime.db.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
