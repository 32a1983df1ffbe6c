"""Prometheus metrics: queue gauges read from the database at scrape time, process counters.

Gauges about the queue come from the database, so every API process reports the same truth
however many workers there are. Counters and histograms of work done live in the process that
does it (an API process for intake; a worker for transfers: `kravbro worker --metrics-port`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from app.db.session import Database
from app.db.tables import Claim, Transfer, WorkerStatus
from app.services.queue import UNPROTECTED, bucket_of


class QueueCollector(Collector):
    """Reads queue depth, dead letters, limitation-watch buckets and workers at scrape time."""

    def __init__(self, db: Database, today: Callable[[], dt.date], horizon_days: int) -> None:
        self.db = db
        self.today = today
        self.horizon_days = horizon_days

    def collect(self) -> Iterator[Any]:
        claims = GaugeMetricFamily(
            "kravbro_claims", "Claims by business area and state", labels=["area", "state"]
        )
        transfers = GaugeMetricFamily(
            "kravbro_transfers", "Transfers (claim actions) by state", labels=["state"]
        )
        dead = GaugeMetricFamily(
            "kravbro_dead_letters", "Transfers waiting in the dead-letter state"
        )
        watch = GaugeMetricFamily(
            "kravbro_limitation_watch_claims",
            "Claims not yet at PSRM by days to their limitation or lapse date",
            labels=["bucket"],
        )
        circuit = GaugeMetricFamily(
            "kravbro_worker_circuit_open",
            "1 when a worker's PSRM circuit is open",
            labels=["worker"],
        )
        today = self.today()
        until = today + dt.timedelta(days=self.horizon_days)
        with self.db.sessions() as session:
            for area, state, count in session.execute(
                select(Claim.business_area, Claim.state, func.count()).group_by(
                    Claim.business_area, Claim.state
                )
            ):
                claims.add_metric([area or "unknown", state], count)
            states = dict(
                session.execute(select(Transfer.state, func.count()).group_by(Transfer.state)).all()
            )
            for state, count in states.items():
                transfers.add_metric([state], count)
            dead.add_metric([], states.get("dead", 0))
            buckets = {"overdue": 0, "0-30": 0, "31-60": 0, "61-90": 0}
            for limitation in session.scalars(
                select(Claim.limitation_date).where(
                    Claim.state.in_(UNPROTECTED),
                    Claim.limitation_date.is_not(None),
                    Claim.limitation_date <= until,
                )
            ):
                if limitation is None:
                    continue
                name = bucket_of((limitation - today).days)
                buckets[name] = buckets.get(name, 0) + 1
            for name, count in buckets.items():
                watch.add_metric([name], count)
            for worker in session.scalars(select(WorkerStatus)):
                circuit.add_metric([worker.name], 1 if worker.circuit == "open" else 0)
        yield from (claims, transfers, dead, watch, circuit)


def exposition(registry: CollectorRegistry) -> bytes:
    """Render this app's queue metrics and the process's own metrics."""
    return generate_latest(registry) + generate_latest(REGISTRY)
