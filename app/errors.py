"""kravbro's errors and the one place they become HTTP responses.

Exception tree::

    AppError                       → status on the class
    ├── NotAuthenticated           401 no or unknown API key
    ├── Forbidden                  403 the key's roles do not allow it
    ├── NotFound                   404
    ├── Conflict                   409 same id, different content; a hearing decided already
    │   └── PsrmRefused            409 PSRM answered and did not take a hearing decision
    ├── PayloadTooLarge            413
    ├── BodyIncomplete             400 the caller went before its body was sent
    ├── UnsupportedMediaType       415
    ├── InvalidRequest             400/422 with a list of problems
    └── BadGateway                 502 PSRM could not be reached or did not answer

Every error body has the same shape: ``{"error": {"code", "message", "problems": [...]}}``.
Adapter errors (malformed or contract-breaking messages) are mapped here too. Nothing else is
turned into a 4xx: a bug stays a 500, answered in the same shape with an incident id that is
logged beside the traceback (CPR numbers masked by the log filter), never disguised.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.base import AdapterError, MessageContractError, MessageParseError
from app.domain.identifiers import redact_cpr_like
from app.domain.problems import Problem
from app.encoding import dumps_bytes

log = logging.getLogger(__name__)


class AppError(Exception):
    """An expected failure with an HTTP status and a machine-readable code."""

    status_code = 400
    code = "error"

    def __init__(
        self, message: str, *, problems: Sequence[Problem] = (), extra: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.problems = list(problems)
        self.extra = extra or {}


class NotAuthenticated(AppError):
    status_code = 401
    code = "auth.missing_or_invalid_key"


class Forbidden(AppError):
    status_code = 403
    code = "auth.forbidden"


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class PsrmRefused(Conflict):
    """PSRM (or the simulator) answered and refused what kravbro passed on: nothing stored."""

    code = "psrm.refused"


class PayloadTooLarge(AppError):
    status_code = 413
    code = "message.too_large"


class BodyIncomplete(AppError):
    """The caller closed the connection before the whole body arrived: nothing was done.

    Not an incident (no traceback, no incident id): the answer goes nowhere, and a sender
    whose connection broke sends the message again.
    """

    status_code = 400
    code = "message.incomplete"


class UnsupportedMediaType(AppError):
    status_code = 415
    code = "message.unsupported_media_type"


class InvalidRequest(AppError):
    status_code = 422
    code = "request.invalid"


class BadGateway(AppError):
    """PSRM could not be reached, did not answer in time or failed (5xx): nothing stored."""

    status_code = 502
    code = "psrm.unavailable"


def error_body(
    code: str, message: str, problems: Sequence[Problem] = (), **extra: Any
) -> dict[str, Any]:
    """Build the one error body shape."""
    body: dict[str, Any] = {"code": code, "message": message}
    body["problems"] = [p.as_dict() for p in problems]
    body.update(extra)
    return {"error": body}


def _response(status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None) -> Any:
    return Response(
        content=dumps_bytes(body),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


class _Incidents:
    """Answer a fault of kravbro's own as a 500 in the one error shape, with an incident id.

    Pure ASGI, inside Starlette's outermost error middleware and outside the handlers of the
    expected errors: that middleware, handed an exception, answers and then raises it again,
    so that uvicorn logged every fault a second time and closed the caller's keep-alive
    connection without a word (its next request then failed on a reset connection). Here the
    fault is logged once, with its traceback and incident id, and answered; the connection
    stays usable. A fault after the answer has begun cannot be answered: it goes on up.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            if started:
                raise
            incident = uuid.uuid4().hex[:12]
            log.error(
                "internal error incident=%s %s %s",
                incident,
                scope.get("method", ""),
                scope.get("path", ""),
                exc_info=exc,
            )
            body = error_body(
                "internal_error",
                "an internal error occurred and the request was not carried out (nothing of "
                "it was stored); send it again, and if it fails again, report the incident id",
                incident=incident,
            )
            await _response(500, body)(scope, receive, send)


def register(app: FastAPI) -> None:
    """Render every expected error in one shape; replace FastAPI's input-echoing 422."""

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Any:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        body = error_body(exc.code, exc.message, exc.problems, **exc.extra)
        return _response(exc.status_code, body, headers)

    @app.exception_handler(AdapterError)
    async def _adapter_error(request: Request, exc: AdapterError) -> Any:
        status = 400 if isinstance(exc, MessageParseError) else 422
        if not isinstance(exc, MessageParseError | MessageContractError):
            status = 422
        return _response(status, error_body(exc.code, exc.message, exc.problems))

    @app.exception_handler(RequestValidationError)
    async def _request_validation(request: Request, exc: RequestValidationError) -> Any:
        # FastAPI's default echoes the input (CPR numbers included): report location and kind only.
        problems = [
            Problem(
                code=f"request.{error.get('type', 'invalid')}",
                message=redact_cpr_like(str(error.get("msg", "invalid"))),
                source_path="/".join(str(part) for part in error.get("loc", ())),
            )
            for error in exc.errors()
        ]
        return _response(422, error_body("request.invalid", "the request is invalid", problems))

    app.add_middleware(_Incidents)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Any:
        codes = {404: "not_found", 405: "method_not_allowed"}
        code = codes.get(exc.status_code, "http_error")
        return _response(exc.status_code, error_body(code, str(exc.detail)), exc.headers)
