"""Group commit: many messages stored together answer exactly as if each had come alone.

Runs on SQLite and PostgreSQL. The writer is driven directly (as the HTTP intake drives it)
with messages submitted back to back, so they gather into shared transactions.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import threading
from concurrent.futures import Future
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from adapters.ky import samples as ky_samples
from app.db import migrate
from app.db.locks import readiness_key
from app.db.session import Database, write_lock
from app.db.tables import Base, Claim, SourceMessage
from app.domain.catalogue import Catalogue
from app.domain.claim import SourceSystem
from app.domain.readiness import OnboardingState
from app.errors import Conflict, InvalidRequest
from app.services import adjustments, intake, onboarding
from app.services.intake_writer import IntakeWriter
from tests.conftest import create_postgres_database, drop_postgres_database

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
CLAIMANT = "1234"
NAMESPACE = "urn:oio:kombit:oir:debitorregistrering:1.0"


def prepare(catalogue: Catalogue, source: SourceSystem, raw: bytes) -> intake.Prepared:
    media_type = "application/json" if source is SourceSystem.KY else "application/xml"
    return intake.prepare(
        source=source,
        raw=raw,
        media_type=media_type,
        principal="test",
        catalogue=catalogue,
        claimant_id=CLAIMANT,
        now=NOW,
        today=NOW.date(),
    )


def submit_all(
    writer: IntakeWriter, catalogue: Catalogue, messages: list[tuple[SourceSystem, bytes]]
) -> list[Future[intake.Outcome]]:
    prepared = [prepare(catalogue, source, raw) for source, raw in messages]
    return [writer.submit(p) for p in prepared]


def outcome_or_error(future: Future[intake.Outcome]) -> intake.Outcome | Exception:
    try:
        return future.result(timeout=60)
    except Exception as exc:
        return exc


def count(database: Database, column: Any) -> int:
    with database.sessions() as session:
        return int(session.scalar(select(func.count(column))) or 0)


def stored_first_by_another_process(
    monkeypatch: pytest.MonkeyPatch,
    database: Database,
    catalogue: Catalogue,
    message: tuple[SourceSystem, bytes],
) -> list[bool]:
    """Make `message` stored by a separate connection and transaction ("another process"),
    committed after the writer's next batch has looked up and decided but before it writes.

    Returns a list that holds True once that has happened.
    """
    interfered: list[bool] = []

    def first(write: Any) -> Any:
        def store_it_first(*args: Any, **options: Any) -> Any:
            if not interfered:
                interfered.append(True)
                with database.sessions() as other, other.begin():
                    intake.receive(
                        other,
                        source=message[0],
                        raw=message[1],
                        media_type="application/json",
                        principal="another process",
                        catalogue=catalogue,
                        claimant_id=CLAIMANT,
                        now=NOW,
                        today=NOW.date(),
                    )
            return write(*args, **options)

        return store_it_first

    # The two ways intake writes a decided batch (`intake._store`, `intake._store_streaming`).
    monkeypatch.setattr(intake, "_store", first(intake._store))
    monkeypatch.setattr(intake, "_store_streaming", first(intake._store_streaming))
    return interfered


def watch_not_new(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record why each message `intake.store_new` tries is found not new (`NotNew`)."""
    not_new: list[str] = []
    store_new = intake.store_new

    def watched(*args: Any, **kwargs: Any) -> Any:
        try:
            return store_new(*args, **kwargs)
        except intake.NotNew as exc:
            not_new.append(str(exc))
            raise

    monkeypatch.setattr(intake, "store_new", watched)
    return not_new


def ky(message_id: str, claims: int = 1) -> tuple[SourceSystem, bytes]:
    return SourceSystem.KY, ky_samples.message(claims, message_id=message_id)


def oir(message_id: str, fordring: str) -> tuple[SourceSystem, bytes]:
    body = f"""<?xml version="1.0" encoding="UTF-8"?>
<DebitorRegistrering xmlns="{NAMESPACE}">
  <MeddelelseHoved><MeddelelseID>{message_id}</MeddelelseID>
    <AfsendtTidspunkt>2026-03-02T08:00:00+01:00</AfsendtTidspunkt>
    <AfsenderSystem>KY</AfsenderSystem><KommuneKode>101</KommuneKode></MeddelelseHoved>
  <DebitorKonto><KontoID>KY-D-0048122</KontoID><CPRNummer>0703854412</CPRNummer>
    <Navn>Mette Kristensen</Navn>{fordring}</DebitorKonto>
</DebitorRegistrering>"""
    return SourceSystem.OIR, body.encode()


MAIN = """<Fordring><FordringID>KY-2025-000481</FordringID><Fordringstype>KTTIBAK</Fordringstype>
  <Hovedstol>8450.00</Hovedstol><Beloeb>8450.00</Beloeb>
  <Periode><FraDato>2025-03-01</FraDato><TilDato>2025-03-31</TilDato></Periode>
  <Stiftelsesdato>2025-04-10</Stiftelsesdato><Forfaldsdato>2025-05-01</Forfaldsdato>
  <SRBDato>2025-05-15</SRBDato><VarslingsDato>2025-05-26</VarslingsDato>
  <Beskrivelse>Tilbagebetaling af kontanthjælp for marts 2025</Beskrivelse></Fordring>"""
INTEREST = """<Fordring><FordringID>KY-2025-000481-R1</FordringID>
  <HovedFordringID>KY-2025-000481</HovedFordringID><Fordringstype>REOPKOM</Fordringstype>
  <Hovedstol>98.50</Hovedstol><Beloeb>98.50</Beloeb>
  <Periode><FraDato>2025-05-16</FraDato><TilDato>2025-12-31</TilDato></Periode>
  <Forfaldsdato>2026-01-01</Forfaldsdato><SRBDato>2026-01-15</SRBDato>
  <VarslingsDato>2026-01-19</VarslingsDato>
  <Beskrivelse>Morarenter 16.05.2025-31.12.2025</Beskrivelse></Fordring>"""


def test_concurrent_messages_are_each_stored_once_with_their_own_answer(
    database: Database, writer: IntakeWriter, catalogue: Catalogue
) -> None:
    messages = [ky(f"W-{i:03d}-ABC", claims=1 + i % 3) for i in range(40)]

    results = [outcome_or_error(f) for f in submit_all(writer, catalogue, messages)]

    assert all(isinstance(r, intake.Outcome) and r.status_code == 202 for r in results)
    answers = [r for r in results if isinstance(r, intake.Outcome)]
    assert [a.body["message_id"] for a in answers] == [f"W-{i:03d}-ABC" for i in range(40)]
    assert [a.body["counts"]["accepted"] for a in answers] == [1 + i % 3 for i in range(40)]
    assert count(database, SourceMessage.id) == 40
    assert count(database, Claim.id) == sum(1 + i % 3 for i in range(40))


def test_the_same_message_twice_at_once_is_stored_once_and_replayed(
    database: Database, writer: IntakeWriter, catalogue: Catalogue
) -> None:
    message = ky("W-TWICE-ABC", claims=2)
    other = (SourceSystem.KY, ky_samples.message(1, message_id="W-TWICE-ABC"))

    first, again, changed = (
        outcome_or_error(f) for f in submit_all(writer, catalogue, [message, message, other])
    )

    assert isinstance(first, intake.Outcome)
    assert first.status_code == 202
    assert isinstance(again, intake.Outcome)
    assert again.replay
    assert again.status_code == 200
    assert again.body == first.body
    assert isinstance(changed, Conflict)
    assert count(database, SourceMessage.id) == 1
    assert count(database, Claim.id) == 2


def test_a_refused_message_does_not_affect_the_others_in_its_batch(
    database: Database, writer: IntakeWriter, catalogue: Catalogue
) -> None:
    bad = ky_samples.message(1, message_id="W-BAD-ABC").replace(b'"amount": "', b'"amount": "9')

    results = [
        outcome_or_error(f)
        for f in submit_all(
            writer, catalogue, [ky("W-A-ABC"), (SourceSystem.KY, bad), ky("W-B-ABC")]
        )
    ]

    assert isinstance(results[1], InvalidRequest)
    assert [p.code for p in results[1].problems] == ["amount.exceeds_principal"]
    assert isinstance(results[0], intake.Outcome)
    assert isinstance(results[2], intake.Outcome)
    with database.sessions() as session:
        stored = set(session.scalars(select(SourceMessage.message_id)))
    assert stored == {"W-A-ABC", "W-B-ABC"}


def test_a_related_claim_sent_right_after_its_main_claim_finds_it(
    database: Database, writer: IntakeWriter, catalogue: Catalogue
) -> None:
    main, related = (
        outcome_or_error(f)
        for f in submit_all(writer, catalogue, [oir("W-MAIN", MAIN), oir("W-INTEREST", INTEREST)])
    )

    assert isinstance(main, intake.Outcome)
    assert isinstance(related, intake.Outcome)
    assert related.body["counts"]["accepted"] == 1, related.body["claims"][0]["problems"]
    main_id = main.body["claims"][0]["claim_id"]
    with database.sessions() as session:
        interest = session.scalars(
            select(Claim).where(Claim.source_reference == "KY-2025-000481-R1")
        ).one()
    assert str(interest.main_claim_id) == main_id


def test_a_batch_that_loses_a_race_is_stored_message_by_message(
    database: Database,
    writer: IntakeWriter,
    catalogue: Catalogue,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another process stores one of the batch's messages between look-up and insert."""
    raced, bystander = ky("W-RACED-ABC", claims=2), ky("W-BYSTANDER-ABC")
    # The batch has looked up what is stored and decided; now, before it writes, the raced
    # message is stored by another process, committed first.
    interfered = stored_first_by_another_process(monkeypatch, database, catalogue, raced)

    first, second = (outcome_or_error(f) for f in submit_all(writer, catalogue, [raced, bystander]))

    assert interfered
    # The raced message is answered with the first answer (the other process's), as a replay.
    assert isinstance(first, intake.Outcome)
    assert first.replay
    assert first.body["counts"]["claims"] == 2
    assert isinstance(second, intake.Outcome)
    assert second.status_code == 202
    assert count(database, SourceMessage.id) == 2
    assert count(database, Claim.id) == 3
    with database.sessions() as session:
        rows = session.execute(select(SourceMessage.message_id, SourceMessage.principal))
        principals = {row.message_id: row.principal for row in rows}
    assert principals == {"W-RACED-ABC": "another process", "W-BYSTANDER-ABC": "test"}


def test_a_lost_database_connection_costs_no_message(
    postgres_server: str, catalogue: Catalogue
) -> None:
    """PostgreSQL: the writer's connection dies between messages; the next is stored anyway.

    The writer does not ping its connection before each transaction, so it first learns of the
    loss from a failing statement, and must then store the message on a new connection.
    """
    url = create_postgres_database(postgres_server)
    try:
        migrate.upgrade(url)
        database = Database(url, pool_size=2)
        writer = IntakeWriter(database, catalogue=catalogue, claimant_id=CLAIMANT)
        try:
            (before,) = (outcome_or_error(f) for f in submit_all(writer, catalogue, [ky("L-1")]))
            with database.writer_connection() as connection:
                driver = connection.connection.driver_connection
                backend = driver.info.backend_pid  # type: ignore[union-attr]
            with database.transaction() as session:
                session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})

            (after,) = (outcome_or_error(f) for f in submit_all(writer, catalogue, [ky("L-2")]))
        finally:
            writer.close()
            database.dispose()
        assert isinstance(before, intake.Outcome)
        assert isinstance(after, intake.Outcome), after
        assert after.status_code == 202
        stored = Database(url)
        try:
            assert count(stored, SourceMessage.id) == 2
        finally:
            stored.dispose()
    finally:
        drop_postgres_database(postgres_server, url)


def test_a_write_that_fails_half_way_leaves_nothing_of_its_message(
    database: Database,
    writer: IntakeWriter,
    catalogue: Catalogue,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another process stores the same claim under another message id before the batch writes.

    The batch's message row is inserted, then its claim collides with the other's. If the
    message row stayed (writes not one transaction), storing the message again would find it
    and answer with a replay of an answer that was never true.
    """
    source, raw = ky("W-FIRST-ABC")
    body = orjson.loads(raw)
    body["messageId"] = "W-OTHER-ABC"
    other = orjson.dumps(body)
    interfered = stored_first_by_another_process(monkeypatch, database, catalogue, (source, other))

    (outcome,) = (outcome_or_error(f) for f in submit_all(writer, catalogue, [(source, raw)]))

    assert interfered
    assert isinstance(outcome, intake.Outcome), outcome
    assert not outcome.replay
    assert outcome.status_code == 202
    (result,) = outcome.body["claims"]
    assert result["duplicate"] is True
    assert count(database, SourceMessage.id) == 2
    assert count(database, Claim.id) == 1


def varied_message(message_id: str, claims: int = 120) -> tuple[SourceSystem, bytes]:
    """A KY message with accepted, rejected and related (interest) claims."""
    body = orjson.loads(ky_samples.message(claims, message_id=message_id))
    for i, claim in enumerate(body["claims"]):
        if i % 10 == 3:  # amount above principal: rejected
            claim["amount"] = str(Decimal(claim["principal"]) + 1)
        if i % 10 == 5:
            claim["interestClaims"] = [
                {
                    "reference": f"{claim['reference']}-R1",
                    "period": {"from": "2025-07-01", "to": "2025-12-31"},
                    "principal": "12.50",
                    "amount": "12.50",
                    "dueDate": "2026-01-01",
                    "srbDate": "2026-01-15",
                }
            ]
    return SourceSystem.KY, orjson.dumps(body)


def stored_rows(database: Database) -> dict[str, list[dict[str, Any]]]:
    """Every row intake writes, without the ids and keys that differ from one run to another."""
    generated = {"id", "claim_id", "message_pk", "main_claim_id", "action_id"}
    found: dict[str, list[dict[str, Any]]] = {}
    with database.sessions() as session:
        for table in ("source_message", "claim", "claim_event", "transfer"):
            rows = session.execute(select(Base.metadata.tables[table])).mappings()
            found[table] = sorted(
                (
                    {
                        key: (
                            {k: v for k, v in value.items() if k != "claims"}
                            if key == "response"
                            else value
                        )
                        for key, value in row.items()
                        if key not in generated
                    }
                    for row in rows
                ),
                key=repr,
            )
    return found


def answers(outcome: intake.Outcome) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "claim_id"} for r in outcome.body["claims"]]


def test_big_messages_written_while_assessed_are_stored_as_written_after(
    database: Database,
    writer: IntakeWriter,
    catalogue: Catalogue,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PostgreSQL writes a big message's claims while it assesses them: the same rows result.

    Stored once each way (on SQLite both ways are the ordinary one), from an empty database,
    with one area on-boarded so that some claims are queued for PSRM with a transfer.
    """
    with database.transaction() as session:
        onboard_socialret(session, catalogue)
    messages = [varied_message("BIG-ONE-ABC"), ky("BIG-TWO-ABC", claims=70)]
    found = {}
    for streamed in (True, False):
        if not streamed:
            monkeypatch.setattr(intake, "_streams", lambda *args, **kwargs: False)
        results = [outcome_or_error(f) for f in submit_all(writer, catalogue, messages)]
        assert all(isinstance(r, intake.Outcome) for r in results), results
        found[streamed] = ([answers(r) for r in results], stored_rows(database))  # type: ignore[arg-type]
        with database.transaction() as session:
            for table in ("transfer", "claim_event", "claim", "source_message"):
                session.execute(text(f"DELETE FROM {table}"))

    (answered, rows), (answered_after, rows_after) = found[True], found[False]
    assert answered == answered_after
    assert rows == rows_after
    states = {r["state"] for r in answered[0]}
    assert {"queued", "invalid"} <= states, states
    assert any(
        r["source_reference"].endswith("-R1") and r["result"] == "accepted" for r in answered[0]
    )
    assert len(rows["transfer"]) > 0
    assert len(rows["claim"]) == 120 + 12 + 70


def test_a_big_message_that_fails_half_way_leaves_nothing_and_is_stored_again(
    database: Database,
    writer: IntakeWriter,
    catalogue: Catalogue,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another process stores one of a big message's claims under another message id first.

    On PostgreSQL the message's row and half its claims are written when that claim
    collides; none of it may remain, and the message, stored again, answers that claim as
    a duplicate of the other's.
    """
    source, raw = ky("BIG-FIRST-ABC", claims=150)
    body = orjson.loads(raw)
    body["messageId"] = "BIG-OTHER-ABC"
    body["claims"] = body["claims"][120:121]
    interfered = stored_first_by_another_process(
        monkeypatch, database, catalogue, (source, orjson.dumps(body))
    )

    (outcome,) = (outcome_or_error(f) for f in submit_all(writer, catalogue, [(source, raw)]))

    assert interfered
    assert isinstance(outcome, intake.Outcome), outcome
    assert outcome.status_code == 202
    duplicates = [r["index"] for r in outcome.body["claims"] if r["duplicate"]]
    assert duplicates == [120]
    assert count(database, SourceMessage.id) == 2
    assert count(database, Claim.id) == 150


async def store(writer: IntakeWriter, prepared: intake.Prepared) -> intake.Outcome | Exception:
    """Store a prepared message as the HTTP intake does; its outcome, or the error it raised."""
    try:
        return await writer.store(prepared)
    except Exception as exc:
        return exc


def store_one(
    writer: IntakeWriter, catalogue: Catalogue, message: tuple[SourceSystem, bytes]
) -> intake.Outcome | Exception:
    """Store a message as the HTTP intake does (`IntakeWriter.store`, on an event loop)."""
    prepared = prepare(catalogue, *message)

    async def run() -> intake.Outcome:
        return await writer.store(prepared)

    try:
        return asyncio.run(run())
    except Exception as exc:
        return exc


def test_messages_that_come_one_by_one_are_answered_as_in_a_batch(
    database: Database, writer: IntakeWriter, catalogue: Catalogue
) -> None:
    """On SQLite a lone small message is stored by its request itself; the answers are the same."""
    message = ky("S-ONE-ABC", claims=2)
    changed = (SourceSystem.KY, ky_samples.message(1, message_id="S-ONE-ABC"))
    bad = ky_samples.message(1, message_id="S-BAD-ABC").replace(b'"amount": "', b'"amount": "9')

    first, again, conflict, refused = (
        store_one(writer, catalogue, m) for m in (message, message, changed, (SourceSystem.KY, bad))
    )

    assert isinstance(first, intake.Outcome), first
    assert first.status_code == 202
    assert isinstance(again, intake.Outcome)
    assert again.replay
    assert again.body == first.body
    assert isinstance(conflict, Conflict)
    assert isinstance(refused, InvalidRequest)
    assert count(database, SourceMessage.id) == 1
    assert count(database, Claim.id) == 2


def test_messages_that_come_together_still_share_the_writer(
    database: Database, writer: IntakeWriter, catalogue: Catalogue
) -> None:
    messages = [prepare(catalogue, *ky(f"S-TOGETHER-{i:02d}-ABC")) for i in range(20)]

    async def run() -> list[intake.Outcome]:
        return await asyncio.gather(*(writer.store(p) for p in messages))

    answers = asyncio.run(run())

    assert [a.body["message_id"] for a in answers] == [f"S-TOGETHER-{i:02d}-ABC" for i in range(20)]
    assert all(a.status_code == 202 for a in answers)
    assert writer._thread is not None  # they went to the writer thread, to share its commits
    assert count(database, SourceMessage.id) == 20


def test_a_lone_message_that_loses_a_race_is_answered_as_a_replay(
    database: Database,
    writer: IntakeWriter,
    catalogue: Catalogue,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its own attempt fails; it is prepared again and the writer thread stores it."""
    raced = ky("S-RACED-ABC", claims=2)
    interfered = stored_first_by_another_process(monkeypatch, database, catalogue, raced)

    outcome = store_one(writer, catalogue, raced)

    assert interfered
    assert isinstance(outcome, intake.Outcome), outcome
    assert outcome.replay
    assert outcome.body["counts"]["claims"] == 2
    assert count(database, SourceMessage.id) == 1
    assert count(database, Claim.id) == 2


@pytest.mark.parametrize("holder", ["another process", "this process"])
def test_a_database_held_by_another_write_does_not_hold_up_the_event_loop(
    tmp_path: Path, catalogue: Catalogue, holder: str
) -> None:
    """SQLite: while another write holds the database, a message waits in the writer thread.

    Another process's transaction, or another write of this process (the transfer worker's,
    say), ends only once the event loop has run on (or, were the loop stuck waiting for the
    database, when a watchdog gives up waiting for it).
    """
    url = f"sqlite:///{tmp_path / 'held.db'}"
    migrate.upgrade(url)
    database = Database(url, pool_size=2)
    writer = IntakeWriter(database, catalogue=catalogue, claimant_id=CLAIMANT)
    other = sqlite3.connect(tmp_path / "held.db", isolation_level=None, check_same_thread=False)
    loop_ran = threading.Event()
    released = threading.Event()
    holding = threading.Event()

    def release() -> None:
        if holder == "this process":
            with write_lock(database.engine):
                holding.set()
                loop_ran.wait(timeout=20)
        else:
            other.execute("BEGIN IMMEDIATE")  # SQLite's write lock, as a writing process holds it
            holding.set()
            loop_ran.wait(timeout=20)
            other.execute("COMMIT")
        released.set()

    watchdog = threading.Thread(target=release)
    watchdog.start()
    holding.wait(timeout=20)
    prepared = prepare(catalogue, *ky("S-HELD-ABC"))

    async def run() -> tuple[bool, intake.Outcome]:
        task = asyncio.create_task(writer.store(prepared))
        # Until it has tried to store the message itself and handed it to the writer thread
        # (or, were it waiting for the database on the loop, until it is done).
        while writer._thread is None and not task.done():
            await asyncio.sleep(0)
        ran_while_held = not released.is_set()
        loop_ran.set()
        return ran_while_held, await asyncio.wait_for(task, timeout=60)

    try:
        ran_while_held, outcome = asyncio.run(run())
    finally:
        watchdog.join()
        other.close()
        writer.close()
        database.dispose()
    assert ran_while_held
    assert outcome.status_code == 202
    stored = Database(url)
    try:
        assert count(stored, SourceMessage.id) == 1
    finally:
        stored.dispose()


def holds_of(result: intake.Outcome | Exception) -> list[str]:
    assert isinstance(result, intake.Outcome), result
    return [hold for claim in result.body["claims"] for hold in claim["holds"]]


def onboard_socialret(session: Session, catalogue: Catalogue) -> None:
    """On-board KY's area (in the caller's transaction: to the writer, another's change)."""
    onboarding.set_state(
        session,
        claimant_id=CLAIMANT,
        area="socialret",
        state=OnboardingState.ONBOARDED,
        from_date=None,
        note="test",
        actor="test",
        catalogue=catalogue,
        today=NOW.date(),
        now=NOW,
    )


def pause_socialret(session: Session, catalogue: Catalogue) -> None:
    """Pause KY's area (in the caller's transaction)."""
    onboarding.pause(
        session,
        claimant_id=CLAIMANT,
        area="socialret",
        fordringstype=None,
        holder="test",
        reason="year-end closing",
        actor="test",
        catalogue=catalogue,
        today=NOW.date(),
        now=NOW,
    )


def test_on_boarding_changed_elsewhere_decides_the_very_next_message(
    database: Database, writer: IntakeWriter, catalogue: Catalogue
) -> None:
    # On PostgreSQL the writer stores a message believed new on the context its last
    # look-ups read; a change since then must still be seen by the next message.
    before = store_one(writer, catalogue, ky("W-BEFORE-ABC"))
    with database.transaction() as session:
        onboard_socialret(session, catalogue)
    after = store_one(writer, catalogue, ky("W-AFTER-ABC"))

    assert "area_not_onboarded" in holds_of(before)
    assert "area_not_onboarded" not in holds_of(after)


def test_a_pause_placed_elsewhere_holds_the_very_next_message(
    database: Database, writer: IntakeWriter, catalogue: Catalogue
) -> None:
    with database.transaction() as session:
        onboard_socialret(session, catalogue)
    before = store_one(writer, catalogue, ky("W-UNPAUSED-ABC"))
    with database.transaction() as session:
        pause_socialret(session, catalogue)
    after = store_one(writer, catalogue, ky("W-PAUSED-ABC"))

    assert "paused" not in holds_of(before)
    assert "paused" in holds_of(after)


def test_a_used_id_is_a_conflict_even_when_every_claim_of_the_new_content_is_invalid(
    database: Database, writer: IntakeWriter, catalogue: Catalogue
) -> None:
    # Refused whole on its own (every claim invalid), but its id was stored before: the
    # sender must learn of the conflict, not of the claims' problems.
    first = store_one(writer, catalogue, ky("W-USED-ABC"))
    invalid = ky_samples.message(1, message_id="W-USED-ABC").replace(
        b'"amount": "', b'"amount": "9'
    )

    again = store_one(writer, catalogue, (SourceSystem.KY, invalid))

    assert isinstance(first, intake.Outcome)
    assert isinstance(again, Conflict)
    assert count(database, SourceMessage.id) == 1


def test_a_claim_message_under_an_adjustment_messages_id_is_a_conflict(
    database: Database,
    writer: IntakeWriter,
    catalogue: Catalogue,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Claim and adjustment messages share one id space per source. On PostgreSQL the claim
    # message is first stored as new, without look-ups (`store_new`): the unique constraint
    # fails it, and the look-up then finds the adjustment message, which is not its replay.
    first = store_one(writer, catalogue, ky("W-CLAIMS-ABC"))
    assert isinstance(first, intake.Outcome)
    reference = first.body["claims"][0]["source_reference"]
    recall = {"reference": reference, "action": "recall", "reason": "FEJL"}
    raw = orjson.dumps({"messageId": "W-ADJ-ABC", "adjustments": [recall]})
    with database.transaction() as session:
        status, _, _ = adjustments.receive(
            session, source=SourceSystem.KY, raw=raw, principal="test", now=NOW
        )
    assert status == 202
    not_new = watch_not_new(monkeypatch)
    claims = prepare(catalogue, *ky("W-ADJ-ABC"))
    # Not a replay even were its bytes the adjustment message's (they cannot be: KY refuses
    # an `adjustments` member).
    same_bytes = prepare(catalogue, *ky("W-ADJ-ABC"))
    same_bytes.raw_sha256 = intake.digest(raw)

    results = [asyncio.run(store(writer, message)) for message in (claims, same_bytes)]

    for result in results:
        assert isinstance(result, Conflict), result
        (problem,) = result.problems
        assert (problem.code, problem.source_path) == ("message_id.conflict", "/messageId")
    assert count(database, SourceMessage.id) == 2
    assert len(not_new) == (0 if database.is_sqlite else 2)


def test_messages_one_after_another_are_answered_as_if_each_were_looked_up(
    database: Database, writer: IntakeWriter, catalogue: Catalogue
) -> None:
    # A replay, claims sent again under a new message id, a conflict and a related claim,
    # each after messages stored without look-ups: each answered as with them.
    new = ky("W-NEW-ABC", claims=2)
    raw = ky_samples.message(2, message_id="W-NEW-ABC")
    sent_again = (SourceSystem.KY, raw.replace(b'"W-NEW-ABC"', b'"W-OTHER-ABC"', 1))
    changed = (SourceSystem.KY, ky_samples.message(1, message_id="W-NEW-ABC"))
    messages = [ky("W-FIRST-ABC"), new, new, sent_again, changed]
    messages += [oir("W-MAIN", MAIN), oir("W-INTEREST", INTEREST)]

    _, stored, replay, duplicates, conflict, main, related = (
        store_one(writer, catalogue, message) for message in messages
    )

    assert isinstance(stored, intake.Outcome)
    assert stored.status_code == 202
    assert isinstance(replay, intake.Outcome)
    assert replay.replay
    assert replay.body == stored.body
    assert isinstance(duplicates, intake.Outcome)
    assert duplicates.body["counts"]["duplicates"] == 2
    assert [c["claim_id"] for c in duplicates.body["claims"]] == [
        c["claim_id"] for c in stored.body["claims"]
    ]
    assert isinstance(conflict, Conflict)
    assert isinstance(main, intake.Outcome)
    assert isinstance(related, intake.Outcome)
    assert related.body["counts"]["accepted"] == 1, related.body["claims"][0]["problems"]
    assert count(database, SourceMessage.id) == 5
    assert count(database, Claim.id) == 1 + 2 + 1 + 1


def test_big_messages_one_after_another_are_answered_as_if_each_were_looked_up(
    database: Database, writer: IntakeWriter, catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Big messages too are first stored as new, written while assessed (PostgreSQL).

    Each that is not new, or that a change of on-boarding made elsewhere concerns, is then
    answered as it would be with look-ups: a replay, its claims as duplicates, a conflict,
    a claim rejected for a claimant reference another holds, claims queued, not held.
    """
    not_new = watch_not_new(monkeypatch)
    source, raw = ky("B-NEW-ABC", claims=80)
    body = orjson.loads(raw)
    sent_again = {**body, "messageId": "B-AGAIN-ABC"}
    taken = orjson.loads(ky_samples.message(70, message_id="B-TAKEN-ABC"))
    taken["claims"][7]["claimantReference"] = f"KY-{body['claims'][3]['reference']}"

    first = store_one(writer, catalogue, ky("B-FIRST-ABC", claims=70))  # the context is read
    stored = store_one(writer, catalogue, (source, raw))
    replay = store_one(writer, catalogue, (source, raw))
    duplicates = store_one(writer, catalogue, (source, orjson.dumps(sent_again)))
    conflict = store_one(
        writer, catalogue, (source, orjson.dumps({**body, "claims": body["claims"][:79]}))
    )
    refused_one = store_one(writer, catalogue, (source, orjson.dumps(taken)))
    with database.transaction() as session:
        onboard_socialret(session, catalogue)
    after = store_one(writer, catalogue, ky("B-AFTER-ABC", claims=70))

    assert isinstance(first, intake.Outcome)
    assert "area_not_onboarded" in holds_of(first)
    assert isinstance(stored, intake.Outcome)
    assert stored.status_code == 202
    assert stored.body["counts"]["accepted"] == 80
    assert isinstance(replay, intake.Outcome)
    assert replay.replay
    assert replay.body == stored.body
    assert isinstance(duplicates, intake.Outcome)
    assert duplicates.body["counts"]["duplicates"] == 80
    assert [c["claim_id"] for c in duplicates.body["claims"]] == [
        c["claim_id"] for c in stored.body["claims"]
    ]
    assert isinstance(conflict, Conflict)
    assert isinstance(refused_one, intake.Outcome)
    assert [i for i, c in enumerate(refused_one.body["claims"]) if c["result"] != "accepted"] == [7]
    problems = refused_one.body["claims"][7]["problems"]
    assert [p["code"] for p in problems] == ["claimant_reference.taken"]
    assert isinstance(after, intake.Outcome)
    assert "area_not_onboarded" not in holds_of(after)
    assert {c["state"] for c in after.body["claims"]} == {"queued"}
    assert count(database, SourceMessage.id) == 5
    assert count(database, Claim.id) == 70 + 80 + 70 + 70
    if database.engine.dialect.name == "postgresql":
        # Each after the first tried without look-ups; these five were found not new.
        assert not_new == [
            "a message, claim or claimant reference was stored before",  # the replay
            "a message, claim or claimant reference was stored before",  # the duplicates
            "a message, claim or claimant reference was stored before",  # the conflict
            "a message, claim or claimant reference was stored before",  # the one taken
            "on-boarding or pauses changed since they were read",
        ]
    else:
        assert not_new == []


def test_a_change_of_on_boarding_is_seen_by_a_batch_of_many_streamed_messages(
    database: Database, writer: IntakeWriter, catalogue: Catalogue
) -> None:
    # Seventy 16-claim messages gathered into one batch are written while assessed, their
    # message rows by COPY (not in the guard's round trip): the guard is checked on its own
    # first, and a change of on-boarding made elsewhere still decides every claim.
    first = store_one(writer, catalogue, ky("M-FIRST-ABC", claims=70))  # the context is read
    before = [ky(f"M-B{i:03d}-ABC", claims=16) for i in range(70)]
    after = [ky(f"M-A{i:03d}-ABC", claims=16) for i in range(70)]

    held = [outcome_or_error(f) for f in submit_all(writer, catalogue, before)]
    with database.transaction() as session:
        onboard_socialret(session, catalogue)
    released = [outcome_or_error(f) for f in submit_all(writer, catalogue, after)]

    assert isinstance(first, intake.Outcome)
    assert all("area_not_onboarded" in holds_of(r) for r in held)
    assert all("area_not_onboarded" not in holds_of(r) for r in released)
    assert {c["state"] for r in released for c in r.body["claims"]} == {"queued"}  # type: ignore[union-attr]
    assert count(database, Claim.id) == 70 + 2 * 70 * 16


def test_a_lone_message_is_stored_by_its_request_once_the_context_is_known(
    database: Database, writer: IntakeWriter, catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On either backend, without the hand-off to the writer thread and back.

    On PostgreSQL only once the writer knows the readiness context (its first look-ups), and
    only a message taken to be new: a replay goes to the writer thread, which looks it up.
    """
    first = store_one(writer, catalogue, ky("S-LONE-1-ABC"))
    handed: list[str] = []
    submit = writer.submit
    monkeypatch.setattr(
        writer,
        "submit",
        lambda p: handed.append(p.message_id) or submit(p),  # type: ignore[func-returns-value]
    )

    second = store_one(writer, catalogue, ky("S-LONE-2-ABC"))
    again = store_one(writer, catalogue, ky("S-LONE-2-ABC"))

    assert isinstance(first, intake.Outcome)
    assert first.status_code == 202
    assert isinstance(second, intake.Outcome)
    assert second.status_code == 202
    assert isinstance(again, intake.Outcome)
    assert again.replay
    assert again.body == second.body
    postgresql = database.engine.dialect.name == "postgresql"
    # The replay: on PostgreSQL found not new by its one round trip, then looked up.
    assert handed == (["S-LONE-2-ABC"] if postgresql else [])
    assert count(database, SourceMessage.id) == 2


def test_a_change_of_on_boarding_being_committed_does_not_hold_up_the_event_loop(
    postgres_server: str, catalogue: Catalogue
) -> None:
    """PostgreSQL: a lone message meets the readiness lock held by a change; it waits in the
    writer thread, and the loop runs on (were it waiting on the loop, only a watchdog's
    timeout would end the change)."""
    url = create_postgres_database(postgres_server)
    try:
        migrate.upgrade(url)
        database = Database(url, pool_size=2)
        writer = IntakeWriter(database, catalogue=catalogue, claimant_id=CLAIMANT)
        loop_ran, released, holding = threading.Event(), threading.Event(), threading.Event()

        def change() -> None:
            with database.transaction() as session:
                session.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": readiness_key(CLAIMANT)}
                )
                holding.set()
                loop_ran.wait(timeout=20)
            released.set()

        try:
            assert isinstance(store_one(writer, catalogue, ky("S-KNOWN-ABC")), intake.Outcome)
            watchdog = threading.Thread(target=change)
            watchdog.start()
            holding.wait(timeout=20)
            prepared = prepare(catalogue, *ky("S-WAITS-ABC"))

            async def run() -> tuple[bool, intake.Outcome]:
                task = asyncio.create_task(writer.store(prepared))
                while writer._pending == 0 and not task.done():
                    await asyncio.sleep(0)
                ran_while_held = not released.is_set()
                loop_ran.set()
                return ran_while_held, await asyncio.wait_for(task, timeout=60)

            ran_while_held, outcome = asyncio.run(run())
            watchdog.join()
        finally:
            writer.close()
            database.dispose()
        assert ran_while_held
        assert outcome.status_code == 202
    finally:
        drop_postgres_database(postgres_server, url)
