"""The driver-level bulk paths store and read exactly what SQLAlchemy does, on both backends.

Few rows go as an insert of the driver's own (on PostgreSQL pipelined with the other writes
of a transaction), many by COPY on PostgreSQL; `fetch_all` runs several look-ups in one round
trip there.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import (
    Column,
    Connection,
    MetaData,
    String,
    Table,
    bindparam,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.db import bulk, migrate
from app.db.bulk import BulkInsert
from app.db.session import Database
from app.db.tables import Claim, ClaimEvent, SourceMessage

NOW = dt.datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=dt.UTC)
COPENHAGEN = ZoneInfo("Europe/Copenhagen")
CLAIMS = BulkInsert(Claim.__table__)  # type: ignore[arg-type]
EVENTS = BulkInsert(ClaimEvent.__table__)  # type: ignore[arg-type]


def _message(database: Database) -> uuid.UUID:
    message_pk = uuid.uuid4()
    with database.transaction() as session:
        session.add(
            SourceMessage(
                id=message_pk,
                source="ky",
                message_id=f"M-{message_pk.hex[:8]}",
                content_sha256="0" * 64,
                media_type="application/json",
                raw=b"{}",
                size_bytes=2,
                principal="test",
                received_at=NOW,
                claim_count=2,
                accepted_count=2,
                response={"status": "accepted"},
            )
        )
    return message_pk


def _claim_row(message_pk: uuid.UUID, reference: str, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": uuid.uuid4(),
        "source": "ky",
        "source_reference": reference,
        "message_pk": message_pk,
        "claim_index": 0,
        "claimant_id": "1234",
        # Unique per claimant among claims not invalid, as PSRM takes it once.
        "claimant_reference": f"SAG-Æblegård/{reference}",
        "fordringstype": "KOMHUSL",
        "business_area": "housing",
        "category": "HF",
        "main_claim_id": None,
        "state": "held",
        "principal": Decimal("12345678.90"),
        "amount": Decimal("0.05"),
        "data": {"amount": "0.05", "text": "Ærø Å", "nested": [1, None, {"k": True}]},
        "problems": [],
        "content_sha256": "a" * 64,
        "revision": 1,
        # Any time zone in; UTC stored, as the ORM does.
        "received_at": NOW.astimezone(COPENHAGEN),
        "updated_at": NOW,
        "holds": ["area_not_onboarded"],
        "next_check_date": dt.date(2026, 12, 31),
        "limitation_date": None,
        "fordrings_id": None,
        "psrm_errors": None,
    }
    row.update(changes)
    return row


def _stored(database: Database, reference: str) -> dict[str, Any]:
    """The row as the driver returns it (no type processing), without its own id and reference
    (and without the reference its claimant reference ends in)."""
    with database.sessions() as session:
        result = session.execute(
            text("SELECT * FROM claim WHERE source_reference = :ref"), {"ref": reference}
        )
        stored = dict(result.mappings().one())
    stored["claimant_reference"] = stored["claimant_reference"].removesuffix(reference)
    return {k: v for k, v in stored.items() if k not in ("id", "source_reference")}


# Rows besides the one compared: none (a plain insert, pipelined), or enough for COPY.
FILLERS = pytest.mark.parametrize("fillers", [0, bulk.COPY_FROM], ids=["few", "copy"])


@FILLERS
def test_bulk_rows_are_stored_exactly_as_an_ordinary_insert_stores_them(
    database: Database, fillers: int
) -> None:
    message_pk = _message(database)
    with database.transaction() as session:
        session.execute(insert(Claim.__table__), [_claim_row(message_pk, "ORDINARY")])
    rows = [_claim_row(message_pk, f"FILLER-{n}") for n in range(fillers)]
    with database.transaction() as session:
        connection = session.connection()
        together = CLAIMS.pipelines(connection, 1 + fillers)
        with bulk.pipeline(connection) if together else contextlib.nullcontext():
            CLAIMS.execute(connection, [_claim_row(message_pk, "BULK"), *rows])

    assert _stored(database, "BULK") == _stored(database, "ORDINARY")
    with database.sessions() as session:
        claim = session.scalars(select(Claim).where(Claim.source_reference == "BULK")).one()
    assert claim.principal == Decimal("12345678.90")
    assert claim.amount == Decimal("0.05")
    assert claim.received_at == NOW
    assert claim.received_at.tzinfo is not None
    assert claim.data == {"amount": "0.05", "text": "Ærø Å", "nested": [1, None, {"k": True}]}
    assert claim.holds == ["area_not_onboarded"]
    assert claim.next_check_date == dt.date(2026, 12, 31)
    assert claim.psrm_errors is None


def test_many_rows_with_shared_values_each_keep_their_own(database: Database) -> None:
    message_pk = _message(database)
    rows = [
        _claim_row(message_pk, f"R-{n:04d}", claim_index=n, amount=Decimal(n) / 100, data={"n": n})
        for n in range(1, 1201)
    ]
    with database.transaction() as session:
        CLAIMS.execute(session.connection(), rows)
        EVENTS.execute(
            session.connection(),
            [
                {"claim_id": r["id"], "at": NOW, "kind": "received", "actor": "t", "detail": {}}
                for r in rows
            ],
        )
    with database.sessions() as session:
        stored = {c.source_reference: c for c in session.scalars(select(Claim))}
        events = session.scalar(select(func.count(ClaimEvent.id)))
    assert len(stored) == 1200
    assert events == 1200
    assert stored["R-0007"].amount == Decimal("0.07")
    assert stored["R-1200"].data == {"n": 1200}
    assert stored["R-1200"].claim_index == 1200
    assert {c.received_at for c in stored.values()} == {NOW}


def _write_claims_then_events(
    database: Database, rows: list[dict[str, Any]], events: list[dict[str, Any]]
) -> None:
    with database.transaction() as session:
        connection = session.connection()
        if CLAIMS.pipelines(connection, len(rows)):
            # On PostgreSQL the error is found when the pipeline's answers come, after the
            # events were sent too.
            with bulk.pipeline(connection):
                CLAIMS.execute(connection, rows)
                EVENTS.execute(connection, events)
        else:
            CLAIMS.execute(connection, rows)
            EVENTS.execute(connection, events)


@FILLERS
def test_a_constraint_broken_by_one_row_is_an_integrity_error_and_stores_none(
    database: Database, fillers: int
) -> None:
    message_pk = _message(database)
    rows = [_claim_row(message_pk, "R-0")]
    rows += [_claim_row(message_pk, f"R-{n}") for n in range(1, fillers)]
    rows.append(_claim_row(message_pk, "R-0"))
    events = [{"claim_id": rows[0]["id"], "at": NOW, "kind": "k", "actor": "t", "detail": {}}]
    with pytest.raises(IntegrityError):
        _write_claims_then_events(database, rows, events)
    with database.sessions() as session:
        assert session.scalar(select(func.count(Claim.id))) == 0
        assert session.scalar(select(func.count(ClaimEvent.id))) == 0


def test_several_look_ups_come_back_as_sqlalchemy_returns_them(database: Database) -> None:
    message_pk = _message(database)
    with database.transaction() as session:
        CLAIMS.execute(
            session.connection(), [_claim_row(message_pk, "A"), _claim_row(message_pk, "B")]
        )
    table = Claim.__table__
    by_source = select(table.c.source_reference, table.c.received_at, table.c.data).where(
        table.c.source == bindparam("source")
    )
    by_reference = select(table.c.id, table.c.holds).where(
        table.c.source_reference == bindparam("reference")
    )
    queries = [
        (by_source, {"source": "ky"}),
        (by_reference, {"reference": "B"}),
        (by_source, {"source": "ksd"}),
    ]
    with database.transaction() as session:
        found = bulk.fetch_all(session.connection(), queries)
        expected = [list(session.execute(query, params)) for query, params in queries]

    assert [[tuple(row) for row in rows] for rows in found] == [
        [tuple(row) for row in rows] for rows in expected
    ]
    assert sorted(row.source_reference for row in found[0]) == ["A", "B"]
    assert {row.received_at for row in found[0]} == {NOW}
    assert found[0][0].received_at.tzinfo is not None
    assert found[0][0].data == {"amount": "0.05", "text": "Ærø Å", "nested": [1, None, {"k": True}]}
    assert found[1][0].holds == ["area_not_onboarded"]
    assert isinstance(found[1][0].id, uuid.UUID)
    assert found[2] == []


def test_no_rows_is_nothing_to_do(database: Database) -> None:
    with database.transaction() as session:
        CLAIMS.execute(session.connection(), [])
        assert session.scalar(select(func.count(Claim.id))) == 0


def test_any_of_matches_a_list_of_any_length_as_one_parameter(database: Database) -> None:
    message_pk = _message(database)
    references = [f"R-{n}" for n in range(1500)] + ["Æblegård 'x' \"y\""]
    with database.transaction() as session:
        CLAIMS.execute(session.connection(), [_claim_row(message_pk, r) for r in references])
    table = Claim.__table__
    query = select(table.c.source_reference).where(
        table.c.source == bindparam("source"), bulk.any_of(table.c.source_reference, "keys")
    )
    wanted = [*references[::3], "NOT-STORED"]
    with database.transaction() as session:
        found, none, other_source = bulk.fetch_all(
            session.connection(),
            [
                (query, {"source": "ky", "keys": wanted}),
                (query, {"source": "ky", "keys": []}),
                (query, {"source": "ksd", "keys": wanted}),
            ],
        )
    assert sorted(row.source_reference for row in found) == sorted(references[::3])
    assert none == []
    assert other_source == []


def test_any_of_looks_values_up_in_the_index_on_sqlite(tmp_path: Path) -> None:
    # SQLite's plan only: PostgreSQL plans = ANY(array) by the table's size and the values.
    url = f"sqlite:///{tmp_path / 'plan.db'}"
    migrate.upgrade(url)
    database = Database(url, pool_size=1)
    table = Claim.__table__
    query = select(table.c.id).where(
        table.c.source == bindparam("source"), bulk.any_of(table.c.source_reference, "keys")
    )
    sql = query.compile(dialect=database.engine.dialect).string
    with database.engine.connect() as connection:
        plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", ("ky", '["A"]')).all()
    database.dispose()
    steps = " / ".join(row[-1] for row in plan)
    # Both columns of the unique index: each value looked up, not every claim of the source.
    assert "(source=? AND source_reference=?)" in steps
    assert "SCAN claim" not in steps


def test_a_failing_look_up_is_sqlalchemys_error_and_shows_no_values(database: Database) -> None:
    missing = Table("no_such_table", MetaData(), Column("debtor_id", String(10)))
    query = select(missing.c.debtor_id).where(missing.c.debtor_id == bindparam("cpr"))

    with pytest.raises(DBAPIError) as caught, database.transaction() as session:
        bulk.fetch_all(session.connection(), [(query, {"cpr": "0101901234"})])

    assert "no_such_table" in str(caught.value)
    assert "0101901234" not in str(caught.value)


def _event(claim_id: uuid.UUID) -> dict[str, Any]:
    return {"claim_id": claim_id, "at": NOW, "kind": "received", "actor": "t", "detail": {}}


def _in_one_round_trip(database: Database, *writes: Callable[[Connection], None]) -> None:
    with database.transaction() as session:
        connection = session.connection()
        with bulk.pipeline(connection):
            for write in writes:
                write(connection)


def _fail(_: Connection) -> None:
    raise RuntimeError("the caller fails before the block ends")


def test_an_insert_skipped_after_a_failing_one_runs_the_next_time(
    database: Database, database_url: str
) -> None:
    # A connection of its own, used for the first time here: on PostgreSQL an insert is
    # prepared the first time it runs, in the same round trip, and here that round trip
    # fails before it.
    own = Database(database_url, pool_size=1)
    message_pk = _message(database)
    try:
        with pytest.raises(IntegrityError):
            _in_one_round_trip(
                own,
                lambda c: EVENTS.execute(c, [_event(uuid.uuid4())]),  # no such claim
                lambda c: CLAIMS.execute(c, [_claim_row(message_pk, "SKIPPED")]),
            )
        with own.transaction() as session:
            CLAIMS.execute(session.connection(), [_claim_row(message_pk, "NEXT")])
    finally:
        own.dispose()

    with database.sessions() as session:
        stored = session.scalars(select(Claim.source_reference)).all()
    assert stored == ["NEXT"]


def test_a_pipeline_block_that_fails_midway_writes_nothing_and_the_connection_goes_on(
    database: Database, database_url: str
) -> None:
    own = Database(database_url, pool_size=1)
    message_pk = _message(database)
    try:
        with pytest.raises(RuntimeError, match="before the block ends"):
            _in_one_round_trip(
                own, lambda c: CLAIMS.execute(c, [_claim_row(message_pk, "HALF")]), _fail
            )
        with own.transaction() as session:
            CLAIMS.execute(session.connection(), [_claim_row(message_pk, "AFTER")])
    finally:
        own.dispose()

    with database.sessions() as session:
        stored = session.scalars(select(Claim.source_reference)).all()
    assert stored == ["AFTER"]


def test_a_look_up_inside_a_pipeline_block_sees_the_blocks_writes(database: Database) -> None:
    message_pk = _message(database)
    table = Claim.__table__
    query = select(table.c.source_reference).where(
        table.c.source == bindparam("source"), bulk.any_of(table.c.source_reference, "keys")
    )
    with database.transaction() as session:
        connection = session.connection()
        with bulk.pipeline(connection):
            CLAIMS.execute(connection, [_claim_row(message_pk, "WRITTEN")])
            (found,) = bulk.fetch_all(connection, [(query, {"source": "ky", "keys": ["WRITTEN"]})])

    assert [row.source_reference for row in found] == ["WRITTEN"]
