"""PostgreSQL plans each execution afresh, so a plan made while a table was small never sticks.

psycopg prepares a statement on the server after five executions; PostgreSQL may then keep one
generic plan for it as long as the connection lives. Intake's look-up of up to 500 claim
references, planned that way while `claim` was empty, scanned every claim of the source and
compared each with all 500 parameters: 450 ms once the table held 20,000 claims.
PostgreSQL only: SQLite has no plan cache of this kind.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from app.db import migrate
from app.db.session import Database
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


def _plan_after_growth(database: Database) -> str:
    """Run intake's look-up shape often on an empty table, grow it, and return its plan."""
    params = ", ".join(f"${n + 2}" for n in range(REFERENCES))
    types = ", ".join(["varchar"] * (REFERENCES + 1))
    values = ", ".join(["'ky'", *(f"'R{n}'" for n in range(REFERENCES))])
    message = uuid.uuid4()
    with database.engine.connect() as connection:
        connection.exec_driver_sql(
            f"PREPARE lookup({types}) AS SELECT id FROM claim "
            f"WHERE source = $1 AND source_reference IN ({params})"
        )
        for _ in range(8):  # past the five custom plans after which a generic one may stay
            connection.exec_driver_sql(f"EXECUTE lookup({values})").all()
        connection.exec_driver_sql(
            "INSERT INTO source_message (id, source, message_id, content_sha256, media_type, "
            "raw, size_bytes, principal, received_at, claim_count, accepted_count, response) "
            f"VALUES ('{message}', 'ky', 'M', '0', 'application/json', '', 0, 't', now(), "
            "0, 0, '{}')"
        )
        connection.exec_driver_sql(
            "INSERT INTO claim (id, source, source_reference, message_pk, claim_index, state, "
            "data, problems, content_sha256, revision, received_at, updated_at, holds) "
            f"SELECT gen_random_uuid(), 'ky', 'K' || n, '{message}', 0, 'held', '{{}}', '[]', "
            "'0', 1, now(), now(), '[]' FROM generate_series(1, 20000) AS n"
        )
        connection.commit()
        rows = connection.exec_driver_sql(f"EXPLAIN EXECUTE lookup({values})").all()
        connection.exec_driver_sql("DEALLOCATE lookup")
        connection.rollback()
    return "\n".join(row[0] for row in rows)


def test_a_repeated_look_up_is_planned_for_its_values_after_the_table_grew(
    database: Database,
) -> None:
    plan = _plan_after_growth(database)
    # A custom plan carries the values themselves; a generic one compares with $2 ... $501.
    assert "'R0'" in plan or "R0," in plan
    assert "$2" not in plan
