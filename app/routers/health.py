"""Liveness and readiness for load balancers and orchestrators (no key needed).

Each answers GET with a small JSON body and HEAD (what many load balancers send) with the
same status and no body.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from app.db import migrate
from app.deps import Runtime, RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Tell that the process is up."""
    return {"status": "ok"}


@router.head("/healthz", include_in_schema=False)
def healthz_head() -> Response:
    """Tell that the process is up, without a body."""
    return Response(status_code=200)


def _checks(runtime: Runtime) -> tuple[bool, dict[str, str]]:
    checks: dict[str, str] = {}
    try:
        with runtime.db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
        current = migrate.is_current(runtime.db.engine, runtime.db.url)
        checks["migrations"] = "current" if current else "behind"
    except Exception:
        checks["database"] = "unreachable"
    ready = checks.get("database") == "ok" and checks.get("migrations") == "current"
    return ready, checks


@router.get("/readyz", responses={503: {"description": "database unreachable or not migrated"}})
def readyz(runtime: RuntimeDep) -> Any:
    """Tell whether the database is reachable and its schema current."""
    ready, checks = _checks(runtime)
    return JSONResponse(
        status_code=200 if ready else 503,
        content={"status": "ready" if ready else "not_ready", "checks": checks},
    )


@router.head("/readyz", include_in_schema=False)
def readyz_head(runtime: RuntimeDep) -> Response:
    """Tell whether the database is reachable and its schema current, without a body."""
    ready, _ = _checks(runtime)
    return Response(status_code=200 if ready else 503)
