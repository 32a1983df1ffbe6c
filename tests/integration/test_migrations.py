"""The migrations build the schema the tables describe, and come down again cleanly."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import Connection, delete, insert, inspect, select, update

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


def _message(source: str, message_id: str, media_type: str) -> dict[str, object]:
    return {
        "id": uuid.uuid4(),
        "source": source,
        "message_id": message_id,
        "content_sha256": "0" * 64,
        "media_type": media_type,
        "raw": b"{}",
        "size_bytes": 2,
        "principal": "test",
        "received_at": dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC),
        "claim_count": 1,
        "accepted_count": 1,
        "response": {},
    }


def test_adjustment_messages_move_into_the_id_space_they_share_with_claim_messages(
    empty_url: str,
) -> None:
    # Adjustment messages were stored as `adjustments/` + their id, claim messages as theirs.
    before = "5b0e7d2c91fa"
    migrate.upgrade(empty_url, before)
    db = Database(empty_url, pool_size=1)
    try:
        with db.transaction() as session:
            session.execute(
                insert(SourceMessage),
                [
                    _message("ky", "adjustments/A-1", "application/json"),
                    # An ØiR claim message whose MeddelelseID has the prefix: XML, stays.
                    _message("oir", "adjustments/A-2", "application/xml"),
                    # A claim message under an adjustment message's id: the id stays taken.
                    _message("ky", "A-3", "application/json"),
                    _message("ky", "adjustments/A-3", "application/json"),
                    # Another source's message does not hold the id.
                    _message("ksd", "A-1", "application/xml"),
                ],
            )

        migrate.upgrade(empty_url)

        def stored() -> list[tuple[str, str, str]]:
            with db.sessions() as session:
                rows = session.execute(
                    select(SourceMessage.source, SourceMessage.message_id, SourceMessage.kind)
                )
                return sorted((row.source, row.message_id, row.kind) for row in rows)

        assert stored() == [
            ("ksd", "A-1", "claims"),
            ("ky", "A-1", "adjustments"),
            ("ky", "A-3", "claims"),
            ("ky", "adjustments/A-3", "adjustments"),
            ("oir", "adjustments/A-2", "claims"),
        ]

        with db.transaction() as session:
            session.execute(
                insert(SourceMessage),
                [
                    {**_message("oir", "Z", "application/json"), "kind": "adjustments"},
                    _message("oir", "adjustments/Z", "application/xml"),
                ],
            )
        with pytest.raises(RuntimeError) as stopped:
            migrate.downgrade(empty_url, before)
        assert "1 adjustment messages would take the id of another" in str(stopped.value)
        assert migrate.is_current(db.engine, empty_url)

        with db.transaction() as session:
            session.execute(delete(SourceMessage).where(SourceMessage.source == "oir"))
        migrate.downgrade(empty_url, before)
        with db.sessions() as session:
            rows = session.execute(select(SourceMessage.source, SourceMessage.message_id))
            assert sorted((row.source, row.message_id) for row in rows) == [
                ("ksd", "A-1"),
                ("ky", "A-3"),
                ("ky", "adjustments/A-1"),
                ("ky", "adjustments/A-3"),
            ]
    finally:
        db.dispose()
