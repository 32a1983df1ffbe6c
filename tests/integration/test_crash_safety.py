"""Crash safety for real: `kravbro worker` processes on PostgreSQL against the PSRM simulator
running as its own process, one worker killed with SIGKILL in the middle of a delivery, and a
service window during which PSRM answers 503.

What must hold afterwards: every ready claim is at PSRM with its fordrings-ID, accepted exactly
once by the simulator (none lost, none created twice, none sent under a second delivery), and
nothing is a dead letter. Every wait is a poll with a deadline; nothing sleeps on timing.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from app.clock import Clock
from app.db import migrate
from app.db.session import Database
from app.db.tables import Claim, Delivery, Transfer, WorkerStatus
from app.main import create_app
from tests.builders import auth
from tests.conftest import create_postgres_database, drop_postgres_database, make_settings
from tests.crash_harness import (
    Process,
    Simulator,
    all_output,
    simulator,
    start_worker,
    wait_for,
    worker_env,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

JSON = {"Content-Type": "application/json"}
DEADLINE = 60.0  # seconds for the queue to drain; a healthy run needs a fraction of it
WORKER_SETTINGS: dict[str, object] = {
    # 20 claims (about 40 kB) fit in the sockets' buffers: a request is wholly with the
    # simulator while its latency holds the answer back, so a worker frozen then has sent it.
    "worker_batch_size": 20,
    "worker_lease_seconds": 3,  # an abandoned delivery is taken over after 3 s
    "worker_idle_seconds": 0.05,
    "worker_receipt_poll_seconds": 0.2,
    "worker_backoff_base_seconds": 0.2,
    "worker_backoff_max_seconds": 1,
    "worker_max_attempts": 50,
    "breaker_failures": 3,
    "breaker_reset_seconds": 0.5,
}


@pytest.fixture
def database(postgres_server: str) -> Iterator[Database]:
    """A fresh, migrated PostgreSQL database of its own (workers in other processes use it)."""
    url = create_postgres_database(postgres_server)
    db = Database(url, pool_size=2)
    try:
        migrate.upgrade(url)
        yield db
    finally:
        db.dispose()
        drop_postgres_database(postgres_server, url)


def ky_claim(index: int, today: dt.date) -> dict[str, Any]:
    """A KY claim that is ready today: its dates (SRB, notice) lie in the recent past.

    The workers run on the real clock, so the dates follow it rather than being fixed.
    """
    start = (today - dt.timedelta(days=120)).replace(day=1)
    end = start + dt.timedelta(days=27)
    decided = end + dt.timedelta(days=30)
    due = decided + dt.timedelta(days=30)
    return {
        "reference": f"CRASH-{index:05d}",
        "benefit": "kontanthjaelp",
        "citizen": {"cpr": "0101501000", "name": "Mette Jensen"},
        "period": {"from": start.isoformat(), "to": end.isoformat()},
        "principal": f"{1000 + index % 500}.00",
        "amount": f"{1000 + index % 500}.00",
        "decisionDate": decided.isoformat(),
        "dueDate": due.isoformat(),
        "srbDate": (due + dt.timedelta(days=14)).isoformat(),
        "noticeDate": (due + dt.timedelta(days=28)).isoformat(),
        "description": "Tilbagebetaling af kontanthjælp",
    }


def seed_ready_claims(database: Database, count: int) -> None:
    """Post `count` claims through the API (real clock) with their area on-boarded."""
    settings = make_settings(database.url, psrm_simulator=False, worker_embedded=False)
    today = Clock().today()
    with TestClient(create_app(settings, database=database)) as client:
        response = client.put(
            "/v1/ops/onboarding/socialret", json={"state": "onboarded"}, headers=auth("ops")
        )
        assert response.status_code == 200, response.text
        for start in range(0, count, 250):
            claims = [ky_claim(i, today) for i in range(start, min(start + 250, count))]
            body = json.dumps({"messageId": f"CRASH-{start}", "claims": claims}).encode()
            response = client.post("/v1/intake/ky", content=body, headers={**auth("ky"), **JSON})
            assert response.status_code == 202, response.text
            assert {c["state"] for c in response.json()["claims"]} == {"queued"}


def claim_states(database: Database) -> dict[str, int]:
    with database.sessions() as session:
        rows = session.execute(select(Claim.state, func.count()).group_by(Claim.state)).all()
    return dict(rows)


def wait_until_all_at_psrm(database: Database, count: int, processes: list[Process]) -> None:
    wait_for(
        lambda: claim_states(database) == {"at_psrm": count},
        seconds=DEADLINE,
        what=f"all {count} claims at PSRM",
        logs=lambda: f"claims: {claim_states(database)}\n{all_output(processes)}",
    )


def assert_exactly_once(database: Database, sim: Simulator, count: int) -> None:
    """Every claim at PSRM once, with the fordrings-ID the simulator gave it; nothing dead."""
    with database.sessions() as session:
        ours = {
            claim.data["claimant_reference"]: claim.fordrings_id
            for claim in session.scalars(select(Claim))
        }
        transfers = dict(
            session.execute(select(Transfer.state, func.count()).group_by(Transfer.state)).all()
        )
        deliveries = dict(
            session.execute(select(Delivery.state, func.count()).group_by(Delivery.state)).all()
        )
    state = sim.state(detail=True)
    theirs = {c["claimant_reference"]: c["fordrings_id"] for c in state["claim_list"]}

    assert len(ours) == count
    assert all(ours.values()), "a claim at PSRM without its fordrings-ID"
    assert ours == theirs  # none lost, none extra, and the same fordrings-IDs on both sides
    assert len(set(theirs.values())) == count
    assert state["claims_by_status"] == {"UDFØRT": count}
    assert state["keys_created_more_than_once"] == []
    assert state["keys_submitted_more_than_once"] == []  # no claim went in two deliveries
    assert state["actions"] == count
    assert transfers == {"accepted": count}  # no dead letter, nothing left in flight
    assert deliveries == {"complete": state["deliveries"]}  # each delivery arrived once


def stop_all(processes: list[Process]) -> list[int]:
    return [process.stop() for process in processes]


def with_application_name(url: str, name: str) -> str:
    """The database URL with a libpq application name, to find a process's connections."""
    return (
        make_url(url)
        .update_query_dict({"application_name": name})
        .render_as_string(hide_password=False)
    )


def busy_statements(database: Database, application_name: str) -> int:
    """How many statements of a process's connections PostgreSQL is running now."""
    with database.sessions() as session:
        busy = session.scalar(
            select(func.count())
            .select_from(text("pg_stat_activity"))
            .where(text("application_name = :name AND state = 'active'"))
            .params(name=application_name)
        )
    return busy or 0


def kill_in_mid_delivery(
    database: Database, sim: Simulator, victim: Process
) -> tuple[uuid.UUID, set[str]]:
    """SIGKILL `victim` after PSRM took a delivery from it but before it recorded the fact.

    Find a delivery the victim has leased and not yet recorded as sent, and wait until the
    simulator holds its whole request (the injected latency holds the answer back): from then
    on the victim is waiting for the answer. Freeze it (SIGSTOP) so it can record nothing
    more, let PostgreSQL finish any statement it had already sent, and wait until the
    simulator shows the delivery's claims: PSRM has the delivery, kravbro's database says it
    was never sent. Then kill. When the request went by unseen, or the victim recorded the
    delivery after all, thaw it and try its next delivery.
    """
    deadline = time.monotonic() + DEADLINE
    tried: list[uuid.UUID] = []
    while time.monotonic() < deadline:
        with database.sessions() as session:
            delivery = session.scalars(
                select(Delivery).where(
                    Delivery.worker == victim.name,
                    Delivery.state == "open",
                    Delivery.attempts == 0,
                    Delivery.id.not_in(tried),
                )
            ).first()
        if delivery is None:
            time.sleep(0.01)  # polling for the victim to take a delivery
            continue
        tried.append(delivery.id)
        # Well inside the 3 s lease, so no other worker takes the delivery over meanwhile.
        until = time.monotonic() + 1.5
        while time.monotonic() < until and delivery.delivery_id not in sim.held_submissions():
            time.sleep(0.01)  # polling the simulator for the request
        if delivery.delivery_id not in sim.held_submissions():
            continue
        victim.signal(signal.SIGSTOP)
        wait_for(
            lambda: busy_statements(database, victim.name) == 0,
            seconds=10,
            what="the frozen worker's last statement to finish",
        )
        with database.sessions() as session:
            references = {
                data["claimant_reference"]
                for data in session.scalars(
                    select(Claim.data)
                    .join(Transfer, Transfer.claim_id == Claim.id)
                    .where(Transfer.delivery_pk == delivery.id)
                )
            }
        until = time.monotonic() + 1.5
        while time.monotonic() < until and not references <= set(sim.references()):
            time.sleep(0.02)  # polling the simulator for the delivery's claims
        with database.sessions() as session:
            row = session.get_one(Delivery, delivery.id)
            unrecorded = (row.state, row.worker, row.sent_at) == ("open", victim.name, None)
        if unrecorded and references <= set(sim.references()):
            assert victim.kill() == -signal.SIGKILL
            with database.sessions() as session:
                row = session.get_one(Delivery, delivery.id)
                assert (row.state, row.sent_at) == ("open", None)  # and so it stays
            return delivery.id, references
        victim.signal(signal.SIGCONT)
    raise AssertionError(f"never caught {victim.name} in mid-delivery\n{victim.output()}")


def test_a_worker_killed_in_mid_delivery_loses_and_duplicates_nothing(
    database: Database, tmp_path: Path
) -> None:
    count = 1000
    seed_ready_claims(database, count)
    with simulator(tmp_path) as sim:
        sim.faults(latency_ms=300)  # deliveries stay in flight long enough to be caught
        env = worker_env(database.url, sim.url, **WORKER_SETTINGS)
        victim_env = {
            **env,
            "KRAVBRO_DATABASE_URL": with_application_name(database.url, "crash-w1"),
        }
        workers = [start_worker("crash-w1", victim_env, tmp_path)]
        workers += [start_worker(f"crash-w{i}", env, tmp_path) for i in (2, 3)]
        try:
            killed, references = kill_in_mid_delivery(database, sim, workers[0])
            workers[0] = start_worker("crash-w1-restarted", env, tmp_path)

            wait_until_all_at_psrm(database, count, workers)
            assert stop_all(workers) == [0, 0, 0], all_output(workers)
        finally:
            stop_all(workers)
        logs = all_output(workers)

        assert "Traceback" not in logs, logs
        assert_exactly_once(database, sim, count)
    with database.sessions() as session:
        again = session.get_one(Delivery, killed)
        outcome = session.execute(
            select(Claim.data["claimant_reference"].as_string(), Claim.state)
            .join(Transfer, Transfer.claim_id == Claim.id)
            .where(Transfer.delivery_pk == killed)
        ).all()
    # The abandoned delivery was sent again under its own id (PSRM said it had it already),
    # by another worker once the lease ran out, and its receipts were fetched.
    assert again.state == "complete"
    assert again.worker != "crash-w1"
    assert dict(outcome) == dict.fromkeys(references, "at_psrm")


def test_the_queue_runs_through_a_service_window(database: Database, tmp_path: Path) -> None:
    count = 600
    seed_ready_claims(database, count)
    with simulator(tmp_path) as sim:
        sim.faults(latency_ms=50)
        env = worker_env(database.url, sim.url, **WORKER_SETTINGS)
        workers = [start_worker(f"window-w{i}", env, tmp_path) for i in (1, 2, 3)]
        try:
            # Some deliveries go through; then PSRM closes for its service window.
            wait_for(
                lambda: claim_states(database).get("at_psrm", 0) > 0,
                seconds=DEADLINE,
                what="the first claims at PSRM",
                logs=lambda: all_output(workers),
            )
            sim.faults(unavailable=True)
            window_opened = dt.datetime.now(dt.UTC)
            through_before = sim.state()["actions"]

            def backing_off() -> bool:
                with database.sessions() as session:
                    retried = session.scalar(
                        select(func.count())
                        .select_from(Delivery)
                        .where(
                            Delivery.state == "retry",
                            Delivery.attempts >= 2,
                            Delivery.last_error.contains("unavailable"),
                        )
                    )
                    # Each worker reports retries and a circuit that is not closed.
                    reported = session.scalars(
                        select(WorkerStatus.name).where(
                            WorkerStatus.retries > 0,
                            WorkerStatus.circuit.in_(["open", "half_open"]),
                            WorkerStatus.seen_at > window_opened,
                        )
                    ).all()
                return bool(retried) and len(reported) == len(workers)

            wait_for(
                backing_off,
                seconds=DEADLINE,
                what="every worker to retry the service window with backoff",
                logs=lambda: all_output(workers),
            )
            assert sim.state()["actions"] == through_before  # nothing got in during the window
            with database.sessions() as session:
                assert not session.scalar(
                    select(func.count()).select_from(Transfer).where(Transfer.state == "dead")
                )
            sim.faults(unavailable=False)

            wait_until_all_at_psrm(database, count, workers)
            assert stop_all(workers) == [0, 0, 0], all_output(workers)
        finally:
            stop_all(workers)
        logs = all_output(workers)

        assert "Traceback" not in logs, logs
        assert_exactly_once(database, sim, count)
    with database.sessions() as session:
        retries = session.scalar(select(func.sum(WorkerStatus.retries)))
        attempts = session.scalar(select(func.sum(Delivery.attempts)))
        deliveries = session.scalar(select(func.count()).select_from(Delivery))
    assert retries
    assert attempts is not None
    assert deliveries is not None
    assert attempts > deliveries  # the window cost attempts, and they were retried
