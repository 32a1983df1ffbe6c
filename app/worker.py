"""The transfer worker: send deliveries, fetch receipts, sweep held claims, report its health.

Run it as `kravbro worker` on any number of machines against PostgreSQL; on SQLite one runs
inside the server. Workers coordinate only through the database.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading

from sqlalchemy import select

from adapters.psrm.breaker import CircuitBreaker
from adapters.psrm.client import PsrmClient, PsrmClientConfig
from app.clock import Clock
from app.db.session import Database
from app.db.tables import WorkerStatus
from app.domain.catalogue import Catalogue
from app.services import readiness, transfer
from app.settings import Settings

log = logging.getLogger(__name__)


def transfer_config(settings: Settings) -> transfer.TransferConfig:
    """Build the transfer configuration from settings."""
    return transfer.TransferConfig(
        batch_size=settings.worker_batch_size,
        max_attempts=settings.worker_max_attempts,
        backoff_base_seconds=settings.worker_backoff_base_seconds,
        backoff_max_seconds=settings.worker_backoff_max_seconds,
        lease_seconds=settings.worker_lease_seconds,
        receipt_poll_seconds=settings.worker_receipt_poll_seconds,
        requeue_stagger_seconds=settings.requeue_stagger_seconds,
    )


def psrm_client(settings: Settings, url: str) -> PsrmClient:
    """Build the one PSRM client of a process, with its circuit breaker."""
    breaker = CircuitBreaker(
        failure_threshold=settings.breaker_failures, reset_timeout=settings.breaker_reset_seconds
    )
    config = PsrmClientConfig(
        base_url=url,
        sender_se=settings.claimant_se,
        submit_read_timeout=settings.psrm_submit_timeout_seconds,
        receipt_read_timeout=settings.psrm_receipt_timeout_seconds,
    )
    return PsrmClient(config, breaker=breaker)


class TransferWorker:
    """One worker: a loop of send, fetch receipts, sweep, heartbeat."""

    def __init__(
        self,
        *,
        db: Database,
        settings: Settings,
        catalogue: Catalogue,
        clock: Clock,
        client: PsrmClient,
        name: str | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.catalogue = catalogue
        self.clock = clock
        self.client = client
        self.breaker = client.breaker or CircuitBreaker()
        self.name = name or f"{socket.gethostname()}-{os.getpid()}-{threading.get_ident() % 10000}"
        self.config = transfer_config(settings)
        self.counters = transfer.Counters()
        self._next_sweep: dt.datetime | None = None
        self._next_heartbeat: dt.datetime | None = None

    def step(self) -> bool:
        """Do one round of work; return whether there was any."""
        now = self.clock.now()
        sent = transfer.send_one(
            self.db,
            self.client,
            self.breaker,
            worker=self.name,
            now=now,
            config=self.config,
            sender_se=self.settings.claimant_se,
            claimant_id=self.settings.claimant_id,
            counters=self.counters,
        )
        polled = transfer.poll_receipts(
            self.db,
            self.client,
            self.breaker,
            worker=self.name,
            now=now,
            config=self.config,
            counters=self.counters,
        )
        if self._next_sweep is None or now >= self._next_sweep:
            self.sweep()
            self._next_sweep = now + dt.timedelta(seconds=self.settings.worker_sweep_seconds)
        if self._next_heartbeat is None or now >= self._next_heartbeat:
            self.heartbeat()
            self._next_heartbeat = now + dt.timedelta(seconds=5)
        return sent or polled > 0

    def sweep(self) -> dict[str, int]:
        """Re-assess held claims whose awaited date has come."""
        with self.db.transaction() as session:
            return readiness.sweep(
                session,
                catalogue=self.catalogue,
                claimant_id=self.settings.claimant_id,
                today=self.clock.today(),
                now=self.clock.now(),
            )

    def heartbeat(self) -> None:
        """Record that this worker is alive, its circuit state and its counts."""
        with self.db.transaction() as session:
            row = session.scalars(
                select(WorkerStatus).where(WorkerStatus.name == self.name)
            ).first()
            if row is None:
                row = WorkerStatus(name=self.name)
                session.add(row)
            row.seen_at = self.clock.now()
            row.circuit = self.breaker.state.value
            row.sent = self.counters.sent
            row.receipts = self.counters.receipts
            row.retries = self.counters.retries

    def run(self, stop: threading.Event) -> None:
        """Work until `stop` is set; rest briefly when there is nothing to do."""
        log.info("transfer worker %s started", self.name)
        while not stop.is_set():
            try:
                busy = self.step()
            except Exception:  # a worker must survive a bad round and go on
                log.exception("transfer worker %s: round failed", self.name)
                busy = False
            if not busy:
                stop.wait(self.settings.worker_idle_seconds)
        log.info("transfer worker %s stopped", self.name)
