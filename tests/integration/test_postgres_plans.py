"""PostgreSQL plans each execution afresh, so a plan made while a table was small never sticks.

psycopg prepares a statement on the server after five executions; PostgreSQL may then keep one
generic plan for it as long as the connection lives. Intake's look-up of up to 500 claim
references, planned that way while `claim` was empty, scanned every claim of the source and
compared each with all 500 parameters: 450 ms once the table held 20,000 claims. kravbro's
connections never prepare a query on the server, so there is no plan to keep. Only intake's
own inserts and its guard are prepared (`bulk._Wire`), whose plans do not depend on any
table's size, and not even those where the settings say so (a pooler that does not keep
prepared statements).
PostgreSQL only: SQLite has no plan cache of this kind.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Boolean, bindparam, create_engine, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool

from app.db import bulk, migrate
from app.db.session import Database
from app.db.tables import SourceMessage
from app.services import intake
from tests.conftest import create_postgres_database, drop_postgres_database

REFERENCES = 500


@pytest.fixture(scope="module")
def database(postgres_server: str) -> Iterator[Database]:
    url = create_postgres_database(postgres_server)
    migrate.upgrade(url)
    db = Database(url, pool_size=1)
    yield db
    db.dispose()
    drop_postgres_database(postgres_server, url)


def _lookup(connection: Any, count: int) -> None:
    """Run intake's look-up shape (a source and 500 references) `count` times."""
    statement = text("SELECT id FROM claim WHERE source = :source AND source_reference IN :refs")
    statement = statement.bindparams(bindparam("refs", expanding=True))
    refs = [f"R{n}" for n in range(REFERENCES)]
    for _ in range(count):
        connection.execute(statement, {"source": "ky", "refs": refs}).all()


def _kept_plans(connection: Any) -> int:
    return connection.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements").scalar_one()


def test_a_repeated_look_up_is_never_kept_as_a_prepared_plan(database: Database) -> None:
    # Past the five executions after which psycopg would prepare it and PostgreSQL could keep
    # one generic plan for the connection's life.
    with database.engine.connect() as connection:
        _lookup(connection, 8)
        assert _kept_plans(connection) == 0


def test_the_check_sees_a_kept_plan_where_psycopg_prepares(database: Database) -> None:
    # The control: the same look-up on an engine with psycopg's default does keep one.
    engine = create_engine(database.url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            _lookup(connection, 8)
            assert _kept_plans(connection) == 1
    finally:
        engine.dispose()


MESSAGES = bulk.BulkInsert(SourceMessage.__table__)  # type: ignore[arg-type]


def _message_row() -> dict[str, Any]:
    key = uuid.uuid4()
    return {
        "id": key,
        "source": "ky",
        "message_id": f"M-{key.hex}",
        "content_sha256": "0" * 64,
        "media_type": "application/json",
        "raw": b"{}",
        "size_bytes": 2,
        "principal": "test",
        "received_at": dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC),
        "claim_count": 1,
        "accepted_count": 1,
        "response": {"status": "accepted"},
    }


def _store_and_look_up(database: Database, times: int) -> list[str]:
    """As the intake writer does, `times` times; return what its connection has prepared."""
    for _ in range(times):
        with database.writer_connection() as connection:
            bulk.fetch_all(connection, [(intake._PREVIOUS, {"source": "ky", "keys": ["M-1"]})])
            with bulk.pipeline(connection, begin=True, commit=True):
                MESSAGES.execute(connection, [_message_row()])
    with database.writer_connection() as connection:
        statements = connection.exec_driver_sql("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in statements]


def test_intakes_inserts_are_prepared_once_and_its_look_ups_never(database: Database) -> None:
    prepared = _store_and_look_up(database, 8)

    assert len(prepared) == 1
    assert prepared[0].startswith("INSERT INTO source_message")


def test_with_prepared_writes_off_nothing_is_prepared(database: Database) -> None:
    unprepared = Database(database.url, pool_size=1, prepared_writes=False)
    try:
        assert _store_and_look_up(unprepared, 8) == []
    finally:
        unprepared.dispose()


HOLDS = text("SELECT CAST(:holds AS boolean) AS holds").columns(holds=Boolean)


def _guarded_write(database: Database, holds: bool) -> None:
    """One round trip as `intake.store_new` makes it: a guard, then an insert and COMMIT."""
    with (
        database.writer_connection() as connection,
        bulk.pipeline(connection, begin=True, commit=True),
    ):
        bulk.guard(connection, HOLDS, {"holds": holds}, meaning="test guard")
        MESSAGES.execute(connection, [_message_row()])


def _messages(database: Database) -> int:
    with database.sessions() as session:
        return session.execute(text("SELECT count(*) FROM source_message")).scalar_one()


def test_a_guard_is_prepared_and_fails_as_a_guard_from_its_first_round_trip(
    database: Database,
) -> None:
    # A connection of its own, so that the guard's first run prepares it in the same round
    # trip: its failure must still be told apart from any other (`GuardFailed`).
    own = Database(database.url, pool_size=1)
    before = _messages(database)
    try:
        with pytest.raises(bulk.GuardFailed):
            _guarded_write(own, holds=False)
        _guarded_write(own, holds=True)
        with pytest.raises(bulk.GuardFailed):
            _guarded_write(own, holds=False)
        with own.writer_connection() as connection:
            prepared = connection.exec_driver_sql("SELECT statement FROM pg_prepared_statements")
            statements = sorted(row[0] for row in prepared)
    finally:
        own.dispose()

    assert _messages(database) == before + 1  # only the write whose guard held
    assert len(statements) == 2
    assert statements[0].startswith("/* test guard */ SELECT 1 / (CASE WHEN")
    assert statements[1].startswith("INSERT INTO source_message")


def test_a_block_that_opens_and_commits_is_all_or_nothing_without_begin_and_commit(
    database: Database,
) -> None:
    # Such a block sends no BEGIN or COMMIT: its statements are one implicit transaction,
    # committed by the round trip's sync. A failing statement must undo the ones before it.
    before = _messages(database)
    row = _message_row()

    def write_three() -> None:
        with (
            database.writer_connection() as connection,
            bulk.pipeline(connection, begin=True, commit=True),
        ):
            MESSAGES.execute(connection, [_message_row()])
            MESSAGES.execute(connection, [row])
            MESSAGES.execute(connection, [{**row, "id": uuid.uuid4()}])  # same message id

    with pytest.raises(IntegrityError):
        write_three()
    assert _messages(database) == before

    with (
        database.writer_connection() as connection,
        bulk.pipeline(connection, begin=True, commit=True),
    ):  # the connection goes on
        MESSAGES.execute(connection, [_message_row()])
    assert _messages(database) == before + 1


def test_no_look_up_runs_inside_a_block_that_opens_and_commits(database: Database) -> None:
    # Its own round trip would commit the block's implicit transaction half-way.
    with (
        database.writer_connection() as connection,
        pytest.raises(RuntimeError, match="opens and commits"),
        bulk.pipeline(connection, begin=True, commit=True),
    ):
        bulk.fetch_all(connection, [(intake._PREVIOUS, {"source": "ky", "keys": ["M-1"]})])
