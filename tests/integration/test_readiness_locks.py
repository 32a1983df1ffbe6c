"""On PostgreSQL, changes of on-boarding or pauses and the claims decided on them keep order.

Found by an HTTP soak: claims stored while an on-boarding change was being committed were
decided on the on-boarding before it, yet missed by the change's re-assessment, which had
picked its claims when it began; they stayed held for good (or queued in a paused area).
Two changes at once each re-assessed the claims as they were before the other. The
claimant's readiness lock (`app.db.locks`) orders them. Each test holds a change open, shows
that the other side comes to wait for it (PostgreSQL's `pg_stat_activity`), then commits.
PostgreSQL only: on SQLite every write transaction holds the database alone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import select

from app.db import migrate
from app.db.session import Database
from app.db.tables import Claim
from app.domain.catalogue import Catalogue
from app.services.intake_writer import IntakeWriter
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.integration.test_intake_writer import (
    CLAIMANT,
    ky,
    onboard_socialret,
    pause_socialret,
    prepare,
)


@pytest.fixture
def database(postgres_server: str) -> Iterator[Database]:
    url = create_postgres_database(postgres_server)
    migrate.upgrade(url)
    db = Database(url, pool_size=3)
    yield db
    db.dispose()
    drop_postgres_database(postgres_server, url)


def wait_until_one_waits_for_the_lock(database: Database) -> None:
    """Return once a session of the database waits for an advisory lock (or fail)."""
    url = database.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    deadline = time.monotonic() + 30
    with psycopg.connect(url, autocommit=True) as connection:
        while time.monotonic() < deadline:
            row = connection.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
            ).fetchone()
            if row is not None and row[0] > 0:
                return
            time.sleep(0.005)  # polling PostgreSQL for a state, not waiting for time to pass
    pytest.fail("nothing came to wait for the change being made")


def held_for(database: Database, reason: str) -> int:
    with database.sessions() as session:
        return sum(reason in holds for holds in session.scalars(select(Claim.holds)))


@pytest.mark.parametrize("first", ["with look-ups", "without look-ups"])
def test_a_message_stored_while_on_boarding_changes_is_decided_on_the_change(
    database: Database, catalogue: Catalogue, first: str
) -> None:
    writer = IntakeWriter(database, catalogue=catalogue, claimant_id=CLAIMANT)
    try:
        if first == "without look-ups":
            # The writer then knows the context and stores the next message without look-ups.
            writer.submit(prepare(catalogue, *ky("L-EARLIER-ABC"))).result(timeout=60)
        with database.transaction() as session:
            onboard_socialret(session, catalogue)
            during = writer.submit(prepare(catalogue, *ky("L-DURING-ABC")))
            wait_until_one_waits_for_the_lock(database)
        outcome = during.result(timeout=60)
    finally:
        writer.close()

    assert outcome.status_code == 202
    assert [claim["holds"] for claim in outcome.body["claims"]] == [[]]
    assert [claim["state"] for claim in outcome.body["claims"]] == ["queued"]
    assert held_for(database, "area_not_onboarded") == 0


def test_two_changes_at_once_leave_the_claims_as_both_say(
    database: Database, catalogue: Catalogue
) -> None:
    writer = IntakeWriter(database, catalogue=catalogue, claimant_id=CLAIMANT)
    try:
        for n in range(3):
            writer.submit(prepare(catalogue, *ky(f"L-HELD-{n}-ABC", claims=2))).result(timeout=60)
    finally:
        writer.close()
    failures: list[BaseException] = []

    def pause_the_area() -> None:
        try:
            with database.transaction() as session:
                pause_socialret(session, catalogue)
        except BaseException as exc:  # reported by the test's thread
            failures.append(exc)

    pausing = threading.Thread(target=pause_the_area)
    with database.transaction() as session:
        onboard_socialret(session, catalogue)
        pausing.start()
        wait_until_one_waits_for_the_lock(database)
    pausing.join(timeout=60)

    assert not failures
    with database.sessions() as session:
        claims = session.execute(select(Claim.state, Claim.holds)).all()
    assert len(claims) == 6
    assert {(state, tuple(holds)) for state, holds in claims} == {("held", ("paused",))}
