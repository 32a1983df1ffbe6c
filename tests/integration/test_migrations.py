"""The migrations build the schema the tables describe, and come down again cleanly."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import Connection, insert, inspect, update

from app.db import migrate
from app.db.session import Database
from app.db.tables import Base, Claim, SourceMessage
from tests.conftest import create_postgres_database, drop_postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.db'}"
        return
    admin = request.getfixturevalue("postgres_server")
    url = create_postgres_database(admin)
    yield url
    drop_postgres_database(admin, url)


def test_upgrade_creates_every_table_then_downgrade_removes_them(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    db = Database(empty_url, pool_size=1)
    tables = set(inspect(db.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert migrate.is_current(db.engine, empty_url)

    migrate.downgrade(empty_url, "base")
    assert set(inspect(db.engine).get_table_names()) - {"alembic_version"} == set()

    migrate.upgrade(empty_url)
    assert migrate.is_current(db.engine, empty_url)
    db.dispose()


def test_the_tables_and_the_migrations_describe_the_same_schema(empty_url: str) -> None:
    from alembic import command

    migrate.upgrade(empty_url)

    command.check(migrate.config(empty_url))  # raises when a model change has no migration


def _response_type(connection: Connection) -> str:
    found: str = connection.exec_driver_sql(
        "SELECT data_type FROM information_schema.columns "
        "WHERE table_name = 'source_message' AND column_name = 'response'"
    ).scalar_one()
    return found


def test_a_message_and_its_answer_are_stored_as_text_and_lz4_where_postgresql_has_it(
    postgres_server: str,
) -> None:
    # A replayed answer is given back whole, never queried inside: JSON text, not JSONB; a
    # big message's raw bytes and answer are compressed with lz4, not pglz (cheaper to write).
    url = create_postgres_database(postgres_server)
    try:
        migrate.upgrade(url)
        db = Database(url, pool_size=1)
        with db.engine.connect() as connection:
            kind = _response_type(connection)
            has_lz4 = (
                "lz4"
                in connection.exec_driver_sql(
                    "SELECT enumvals::text FROM pg_settings "
                    "WHERE name = 'default_toast_compression'"
                ).scalar_one()
            )
            compression = dict(
                connection.exec_driver_sql(
                    "SELECT attname, attcompression FROM pg_attribute "
                    "WHERE attrelid = 'source_message'::regclass AND attname IN ('raw', 'response')"
                ).all()
            )
        db.dispose()
        assert kind == "json"
        expected = "l" if has_lz4 else ""
        assert compression == {"raw": expected, "response": expected}

        migrate.downgrade(url, "5b0e1d7c2a91")
        db = Database(url, pool_size=1)
        with db.engine.connect() as connection:
            kind = _response_type(connection)
        db.dispose()
        assert kind == "jsonb"
    finally:
        drop_postgres_database(postgres_server, url)


def test_claims_sharing_a_claimant_reference_stop_the_upgrade_that_makes_it_unique(
    empty_url: str,
) -> None:
    # Before it, a claimant reference was checked within a message only: two valid claims of
    # one claimant may share one. Which keeps it is for people to decide, not a migration.
    migrate.upgrade(empty_url, "3e8d6b1f4a27")
    db = Database(empty_url, pool_size=1)
    now = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)
    message = uuid.uuid4()
    claims = [uuid.uuid4() for _ in range(3)]
    try:
        with db.transaction() as session:
            session.execute(
                insert(SourceMessage),
                [
                    {
                        "id": message,
                        "source": "ky",
                        "message_id": "M-1",
                        "content_sha256": "0" * 64,
                        "media_type": "application/json",
                        "raw": b"{}",
                        "size_bytes": 2,
                        "principal": "test",
                        "received_at": now,
                        "claim_count": 3,
                        "accepted_count": 2,
                        "response": {},
                    }
                ],
            )
            session.execute(
                insert(Claim),
                [
                    {
                        "id": claim_id,
                        "source": "ky",
                        "source_reference": f"KY-{n}",
                        "message_pk": message,
                        "claim_index": n,
                        "claimant_id": "1234",
                        "claimant_reference": "SAG-1",
                        "state": state,
                        "data": {},
                        "problems": [],
                        "content_sha256": "0" * 64,
                        "revision": 1,
                        "received_at": now,
                        "updated_at": now,
                        "holds": [],
                    }
                    for n, (claim_id, state) in enumerate(
                        zip(claims, ["at_psrm", "held", "invalid"], strict=True)
                    )
                ],
            )

        with pytest.raises(RuntimeError) as stopped:
            migrate.upgrade(empty_url)

        assert "2 claims share a claimant reference" in str(stopped.value)
        assert str(claims[0]) in str(stopped.value)
        assert str(claims[1]) in str(stopped.value)
        assert str(claims[2]) not in str(stopped.value)  # a rejected claim holds none
        assert not migrate.is_current(db.engine, empty_url)
        with db.transaction() as session:
            session.execute(update(Claim).where(Claim.id == claims[1]).values(state="invalid"))
        migrate.upgrade(empty_url)
        assert migrate.is_current(db.engine, empty_url)
    finally:
        db.dispose()
