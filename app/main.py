"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import errors
from app.auth import KeyRing
from app.clock import Clock
from app.db.session import Database
from app.deps import Runtime
from app.domain import catalogue as catalogue_module
from app.routers import claims, health, intake, ops
from app.settings import Settings, get_settings

DESCRIPTION = """
kravbro takes claims (fordringer) from the municipality's fagsystemer (KY, KSD and every system
speaking ØiR SF1590_B), normalises them into one canonical claim, checks them against PSRM's
entry rules and hands them on to Gældsstyrelsen's PSRM.

Every endpoint but `/healthz` and `/readyz` needs `Authorization: Bearer <API key>`.
Errors have one shape: `{"error": {"code", "message", "problems": [...]}}`.
"""


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """Build the application: database, catalogue, keys, routes and error handlers."""
    settings = settings or get_settings()
    db = database or Database(settings.database_url, pool_size=settings.database_pool_size)
    runtime = Runtime(
        settings=settings,
        db=db,
        catalogue=catalogue_module.load(settings.contracts_dir / "psrm" / "catalogue.json"),
        keys=KeyRing(settings.keys()),
        clock=clock or Clock(),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if database is None:
            db.dispose()

    app = FastAPI(
        title="kravbro",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    errors.register(app)
    app.include_router(health.router)
    app.include_router(intake.router)
    app.include_router(claims.router)
    app.include_router(ops.router)
    return app
