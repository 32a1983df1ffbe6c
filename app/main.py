"""The FastAPI application factory."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry

from adapters.psrm import simulator
from adapters.psrm.portal import HearingPortal
from app import errors, logs, metrics, worker
from app.auth import KeyRing
from app.clock import Clock
from app.db.session import Database
from app.deps import Runtime
from app.domain import catalogue as catalogue_module
from app.domain.claim import SourceSystem
from app.routers import claims, health, intake, ops
from app.services import claims as claim_service
from app.services.intake_writer import IntakeWriter
from app.settings import Settings, get_settings

SIMULATOR_PATH = "/psrm-sim"

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
    db = database or Database(
        settings.database_url,
        pool_size=settings.database_pool_size,
        background_checkpoints=True,
        prepared_writes=settings.database_prepared_writes,
    )
    catalogue = catalogue_module.load(settings.contracts_dir / "psrm" / "catalogue.json")
    clock = clock or Clock()
    runtime = Runtime(
        settings=settings,
        db=db,
        catalogue=catalogue,
        keys=KeyRing(settings.keys()),
        clock=clock,
        transfer_config=worker.transfer_config(settings),
        psrm_portal=HearingPortal(settings.psrm_url if settings.psrm_is_simulator else None),
        intake_writer=IntakeWriter(db, catalogue=catalogue, claimant_id=settings.claimant_id),
    )
    embedded = settings.worker_embedded
    if embedded is None:
        embedded = db.is_sqlite

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        thread: threading.Thread | None = None
        if embedded and settings.psrm_url:
            transfer_worker = worker.TransferWorker(
                db=db,
                settings=settings,
                catalogue=catalogue,
                clock=clock,
                client=worker.psrm_client(settings, settings.psrm_url),
                name="embedded",
            )
            thread = threading.Thread(
                target=transfer_worker.run, args=(stop,), name="transfer-worker", daemon=True
            )
            thread.start()
        yield
        stop.set()
        runtime.intake_writer.close()
        if thread is not None:
            thread.join(timeout=30)
        if database is None:
            db.dispose()

    app = FastAPI(
        title="kravbro",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    registry = CollectorRegistry()
    registry.register(metrics.QueueCollector(db, clock.today, settings.limitation_horizon_days))

    @app.get("/metrics", tags=["health"], include_in_schema=True)
    def prometheus_metrics() -> Response:
        """Prometheus metrics: queue depth, dead letters, limitation watch, workers, intake."""
        return Response(metrics.exposition(registry), media_type=CONTENT_TYPE_LATEST)

    errors.register(app)
    # Intake's message route before all others: the one route fagsystemer call all day.
    app.router.routes[:0] = intake.served_first()
    app.include_router(health.router)
    app.include_router(intake.router)
    app.include_router(claims.router)
    app.include_router(ops.router)
    logs.known_words(_words(app, catalogue))
    if settings.psrm_simulator:
        app.mount(
            SIMULATOR_PATH,
            simulator.create_app(
                simulator.SimulatorConfig(
                    catalogue=catalogue,
                    clock=clock.now,
                    receipt_delay_seconds=settings.simulator_receipt_delay_seconds,
                )
            ),
        )
    return app


def _words(app: FastAPI, catalogue: catalogue_module.Catalogue) -> set[str]:
    """The app's own words, which an access log line may show (`logs.known_words`)."""
    words = {s.value for s in SourceSystem} | set(claim_service.STATES)
    words |= set(catalogue.areas)
    routes = list(app.routes)
    while routes:
        route = routes.pop()
        # Included routers (FastAPI's, holding their prefix) and mounts hold routes of their own.
        inner = getattr(route, "original_router", route)
        routes.extend(getattr(inner, "routes", ()))
        for path in (getattr(route, "path", ""), getattr(inner, "prefix", "")):
            words |= {part for part in path.split("/") if "{" not in part}
        dependant = getattr(route, "dependant", None)
        if dependant is not None:
            words |= {param.alias for param in dependant.query_params}
    return words
