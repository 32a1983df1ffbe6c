"""The migrations build the schema the tables describe, and come down again cleanly."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, inspect

from app.db import migrate
from app.db.session import Database
from app.db.tables import Base
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
