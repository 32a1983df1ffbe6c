"""Re-assessing stored claims: an area switched on (again), a pause placed and lifted, the sweep.

Runs on SQLite and PostgreSQL. The claims are stored by intake and moved by the services
themselves; only what the worker and PSRM would do (a main claim taken or recalled by PSRM, a
transfer withdrawn from hearing) is set in the rows as they would leave them. Each step is
checked for all that staff and the fagsystems can see of it: every claim's state, holds, date
to check again and time of change, the events written (in order, with their details), the
transfers queued (with their sequence numbers) and the counts answered.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import inspect, select, update
from sqlalchemy.orm import Session

from adapters.ksd import samples as ksd_samples
from adapters.ky import samples as ky_samples
from adapters.oir import samples as oir_samples
from app.db.session import Database
from app.db.tables import Claim, ClaimEvent, Transfer
from app.domain.catalogue import Catalogue
from app.domain.claim import CanonicalClaim, SourceSystem, plain_claim
from app.domain.readiness import OnboardingState
from app.errors import AppError
from app.services import intake, onboarding, readiness
from tests.builders import ky_claim, ky_interest
from tests.golden import CONTRACTS

CLAIMANT = "1234"
# The claims arrive a minute apart from 08:00 (so the order they are assessed in, oldest
# first, is theirs); the changes are made from 09:01 on, a minute apart.
ARRIVED = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
TODAY = ARRIVED.date()


def at(minute: int) -> dt.datetime:
    return dt.datetime(2026, 3, 2, 9, minute, tzinfo=dt.UTC)


# Each in a message of its own, in this order. A is ready once socialret is on-boarded; B
# waits for its SRB until 10 March; C for the debtor's notice until 20 March; H for both, SRB
# first; D, E and F are main claims, each with an interest claim (renter); G is ready too,
# but was sent once before and withdrawn from hearing.
CLAIMS = [
    ky_claim("A"),
    ky_claim("B", srbDate="2026-03-10"),
    ky_claim("C", noticeDate="2026-03-20"),
    ky_claim("D", interestClaims=[ky_interest("D-I")]),
    ky_claim("E", interestClaims=[ky_interest("E-I")]),
    ky_claim("F", interestClaims=[ky_interest("F-I")]),
    ky_claim("G"),
    ky_claim("H", srbDate="2026-03-10", noticeDate="2026-03-20"),
]
# When a claim waiting for them is looked at again: the day after its SRB (it must have
# passed), the day of its notice.
SRB, NOTICE = dt.date(2026, 3, 11), dt.date(2026, 3, 20)
AWAITING_SRB = {"holds": ["awaiting_srb"], "rules": ["R_5_2"]}
AWAITING_NOTICE = {"holds": ["awaiting_notice"], "rules": []}
AWAITING_BOTH = {"holds": ["awaiting_notice", "awaiting_srb"], "rules": ["R_5_2"]}


def receive(session: Session, catalogue: Catalogue, n: int, claim: dict[str, Any]) -> None:
    body = json.dumps({"messageId": f"M-{n}", "claims": [claim]}).encode()
    intake.receive(
        session,
        source=SourceSystem.KY,
        raw=body,
        media_type="application/json",
        principal="ky",
        catalogue=catalogue,
        claimant_id=CLAIMANT,
        now=ARRIVED + dt.timedelta(minutes=n),
        today=TODAY,
    )


def claim_id(session: Session, reference: str) -> uuid.UUID:
    found: uuid.UUID = session.scalars(
        select(Claim.id).where(Claim.source_reference == reference)
    ).one()
    return found


@pytest.fixture(params=["in one go", "two at a time"])
def stored(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    database: Database,
    catalogue: Catalogue,
) -> Database:
    """The claims above, stored (all held: no area is on-boarded yet).

    Re-assessed in one go, and two at a time: claims are read, assessed and let go in chunks
    (`readiness.apply`), so with more claims still to read while a chunk's main claims and
    transfer numbers are looked up, and a last chunk not full.
    """
    if request.param == "two at a time":
        monkeypatch.setattr(readiness, "_CHUNK", 2)
    with database.transaction() as session:
        for n, claim in enumerate(CLAIMS):
            receive(session, catalogue, n, claim)
        # G went to PSRM once, went to hearing and was withdrawn; then it came back corrected.
        session.add(
            Transfer(
                claim_id=claim_id(session, "G"),
                seq=0,
                kind="create",
                action_id="earlier-action-of-g",
                area="socialret",
                payload={},
                state="withdrawn",
                attempts=1,
                next_attempt_at=ARRIVED,
                created_at=ARRIVED,
                updated_at=ARRIVED,
            )
        )
    return database


def switch_on(catalogue: Catalogue, area: str, now: dt.datetime, *, actor: str = "ops") -> Any:
    def change(session: Session) -> dict[str, Any]:
        return onboarding.set_state(
            session,
            claimant_id=CLAIMANT,
            area=area,
            state=OnboardingState.ONBOARDED,
            from_date=None,
            note="go-live",
            actor=actor,
            catalogue=catalogue,
            today=now.date(),
            now=now,
        )

    return change


def in_transaction(database: Database, change: Callable[[Session], Any]) -> Any:
    with database.transaction() as session:
        return change(session)


def claims(database: Database) -> dict[str, tuple[str, list[str], dt.date | None, dt.datetime]]:
    """Every claim by reference: state, holds, date to check again, time of its last change."""
    with database.sessions() as session:
        rows = session.execute(
            select(
                Claim.source_reference,
                Claim.state,
                Claim.holds,
                Claim.next_check_date,
                Claim.updated_at,
            )
        )
        return {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}


def events(database: Database, when: dt.datetime) -> list[tuple[str, str, str, dict[str, Any]]]:
    """The events written at `when`, in order: claim reference, kind, actor, detail."""
    with database.sessions() as session:
        rows = session.execute(
            select(Claim.source_reference, ClaimEvent.kind, ClaimEvent.actor, ClaimEvent.detail)
            .join(Claim, Claim.id == ClaimEvent.claim_id)
            .where(ClaimEvent.at == when)
            .order_by(ClaimEvent.id)
        )
        return [(row[0], row[1], row[2], row[3]) for row in rows]


def transfers(database: Database) -> list[tuple[str, int, str, str, str, dt.datetime]]:
    """Every transfer, in order: claim reference, seq, kind, area, state, time made.

    And checks what every transfer queued here holds besides: no payload yet, no attempt,
    due at once, an action id of its own.
    """
    with database.sessions() as session:
        rows = session.execute(
            select(Claim.source_reference, Transfer)
            .join(Claim, Claim.id == Transfer.claim_id)
            .order_by(Transfer.id)
        ).all()
    queued = [t for _, t in rows if t.action_id != "earlier-action-of-g"]
    assert all(t.payload == {} and t.attempts == 0 for t in queued)
    assert all(t.next_attempt_at == t.created_at == t.updated_at for t in queued)
    assert all(len(t.action_id) == 32 for t in queued)
    assert len({t.action_id for _, t in rows}) == len(rows)
    return [(ref, t.seq, t.kind, t.area, t.state, t.created_at) for ref, t in rows]


def as_psrm_leaves_them(database: Database, **states: str) -> None:
    """Set main claims to a state only PSRM brings them to, their transfers accepted."""
    with database.transaction() as session:
        for reference, state in states.items():
            found = claim_id(session, reference)
            session.execute(update(Claim).where(Claim.id == found).values(state=state))
            session.execute(
                update(Transfer).where(Transfer.claim_id == found).values(state="accepted")
            )


class TestSwitchingAnAreaOn:
    def test_ready_claims_are_released_and_the_others_say_what_they_wait_for(
        self, stored: Database, catalogue: Catalogue
    ) -> None:
        before = claims(stored)

        answer = in_transaction(stored, switch_on(catalogue, "socialret", at(1)))

        assert (answer["released"], answer["held"], answer["queued"]) == (5, 3, 5)
        assert claims(stored) == {
            **before,
            "A": ("queued", [], None, at(1)),
            "B": ("held", ["awaiting_srb"], SRB, at(1)),
            "C": ("held", ["awaiting_notice"], NOTICE, at(1)),
            "D": ("queued", [], None, at(1)),
            "E": ("queued", [], None, at(1)),
            "F": ("queued", [], None, at(1)),
            "G": ("queued", [], None, at(1)),
            "H": ("held", ["awaiting_notice", "awaiting_srb"], SRB, at(1)),
        }
        assert events(stored, at(1)) == [
            ("A", "released", "ops", {}),
            ("B", "held", "ops", AWAITING_SRB),
            ("C", "held", "ops", AWAITING_NOTICE),
            ("D", "released", "ops", {}),
            ("E", "released", "ops", {}),
            ("F", "released", "ops", {}),
            ("G", "released", "ops", {}),
            (
                "H",
                "held",
                "ops",
                {"holds": ["awaiting_notice", "awaiting_srb"], "rules": ["R_5_2"]},
            ),
        ]
        # G's sequence goes on after its withdrawn transfer.
        assert transfers(stored) == [
            ("G", 0, "create", "socialret", "withdrawn", ARRIVED),
            ("A", 0, "create", "socialret", "queued", at(1)),
            ("D", 0, "create", "socialret", "queued", at(1)),
            ("E", 0, "create", "socialret", "queued", at(1)),
            ("F", 0, "create", "socialret", "queued", at(1)),
            ("G", 1, "create", "socialret", "queued", at(1)),
        ]

    def test_related_claims_go_with_their_main_claim_at_psrm_and_wait_or_give_up_otherwise(
        self, stored: Database, catalogue: Catalogue
    ) -> None:
        in_transaction(stored, switch_on(catalogue, "socialret", at(1)))
        as_psrm_leaves_them(stored, E="at_psrm", F="recalled")  # D is still queued
        before = claims(stored)

        answer = in_transaction(stored, switch_on(catalogue, "renter", at(2)))

        assert (answer["released"], answer["held"], answer["queued"]) == (1, 2, 1)
        assert claims(stored) == {
            **before,
            "D-I": ("held", ["awaiting_main_claim"], None, at(2)),
            "E-I": ("queued", [], None, at(2)),
            "F-I": ("held", ["main_claim_closed"], None, at(2)),
        }
        assert events(stored, at(2)) == [
            ("D-I", "held", "ops", {"holds": ["awaiting_main_claim"], "rules": []}),
            ("E-I", "released", "ops", {}),
            ("F-I", "held", "ops", {"holds": ["main_claim_closed"], "rules": []}),
        ]
        assert transfers(stored)[-1] == ("E-I", 0, "create", "renter", "queued", at(2))

    def test_switching_on_again_looks_at_every_claim_and_changes_only_its_time(
        self, stored: Database, catalogue: Catalogue
    ) -> None:
        in_transaction(stored, switch_on(catalogue, "socialret", at(1)))
        before, queued_before = claims(stored), transfers(stored)

        answer = in_transaction(stored, switch_on(catalogue, "socialret", at(3), actor="ops-2"))

        # Queued claims stay queued (no second transfer), held ones as they were: no events.
        assert (answer["released"], answer["held"], answer["queued"]) == (0, 3, 5)
        looked_at = "ABCDEFGH"
        assert claims(stored) == {
            ref: (*values[:3], at(3)) if ref in looked_at else values
            for ref, values in before.items()
        }
        assert events(stored, at(3)) == []
        assert transfers(stored) == queued_before


class TestPauses:
    def test_a_pause_takes_queued_claims_back_and_lifting_it_queues_them_again(
        self, stored: Database, catalogue: Catalogue
    ) -> None:
        in_transaction(stored, switch_on(catalogue, "socialret", at(1)))
        as_psrm_leaves_them(stored, E="at_psrm", F="recalled")
        before = claims(stored)

        def pause(session: Session) -> dict[str, Any]:
            return onboarding.pause(
                session,
                claimant_id=CLAIMANT,
                area="socialret",
                fordringstype=None,
                holder="ops",
                reason="year-end closing",
                actor="ops",
                catalogue=catalogue,
                today=TODAY,
                now=at(4),
            )

        placed = in_transaction(stored, pause)

        paused = {"holds": ["paused"], "rules": []}
        assert claims(stored) == {
            **before,
            "A": ("held", ["paused"], None, at(4)),
            "B": ("held", ["awaiting_srb", "paused"], SRB, at(4)),
            "C": ("held", ["awaiting_notice", "paused"], NOTICE, at(4)),
            "D": ("held", ["paused"], None, at(4)),
            "G": ("held", ["paused"], None, at(4)),
            "H": ("held", ["awaiting_notice", "awaiting_srb", "paused"], SRB, at(4)),
        }
        assert events(stored, at(4)) == [
            ("A", "held", "ops", paused),
            ("B", "held", "ops", {"holds": ["awaiting_srb", "paused"], "rules": ["R_5_2"]}),
            ("C", "held", "ops", {"holds": ["awaiting_notice", "paused"], "rules": []}),
            ("D", "held", "ops", paused),
            ("G", "held", "ops", paused),
            (
                "H",
                "held",
                "ops",
                {"holds": ["awaiting_notice", "awaiting_srb", "paused"], "rules": ["R_5_2"]},
            ),
        ]
        # The waiting transfers are withdrawn; E's and F's, accepted, and G's old one stay.
        assert transfers(stored) == [
            ("G", 0, "create", "socialret", "withdrawn", ARRIVED),
            ("E", 0, "create", "socialret", "accepted", at(1)),
            ("F", 0, "create", "socialret", "accepted", at(1)),
        ]

        def resume(session: Session) -> dict[str, Any]:
            return onboarding.resume(
                session,
                claimant_id=CLAIMANT,
                pause_id=uuid.UUID(placed["id"]),
                actor="ops",
                catalogue=catalogue,
                today=TODAY,
                now=at(5),
            )

        lifted = in_transaction(stored, resume)

        assert lifted["released"] == 3
        assert claims(stored) == {
            **before,
            "A": ("queued", [], None, at(5)),
            "B": ("held", ["awaiting_srb"], SRB, at(5)),
            "C": ("held", ["awaiting_notice"], NOTICE, at(5)),
            "D": ("queued", [], None, at(5)),
            "G": ("queued", [], None, at(5)),
            "H": ("held", ["awaiting_notice", "awaiting_srb"], SRB, at(5)),
        }
        assert events(stored, at(5)) == [
            ("A", "released", "ops", {}),
            ("B", "held", "ops", AWAITING_SRB),
            ("C", "held", "ops", AWAITING_NOTICE),
            ("D", "released", "ops", {}),
            ("G", "released", "ops", {}),
            (
                "H",
                "held",
                "ops",
                {"holds": ["awaiting_notice", "awaiting_srb"], "rules": ["R_5_2"]},
            ),
        ]
        # Each sequence goes on after the transfers the claim still has.
        assert transfers(stored)[3:] == [
            ("A", 0, "create", "socialret", "queued", at(5)),
            ("D", 0, "create", "socialret", "queued", at(5)),
            ("G", 1, "create", "socialret", "queued", at(5)),
        ]

    def test_claims_the_session_has_loaded_show_their_new_readiness(
        self, stored: Database, catalogue: Catalogue
    ) -> None:
        in_transaction(stored, switch_on(catalogue, "socialret", at(1)))

        with stored.transaction() as session:
            claim = session.get(Claim, claim_id(session, "A"))
            waiting = session.scalars(
                select(Transfer).where(Transfer.claim_id == claim_id(session, "A"))
            ).one()
            assert claim is not None
            assert claim.state == "queued"
            onboarding.pause(
                session,
                claimant_id=CLAIMANT,
                area=None,
                fordringstype=None,
                holder="ops",
                reason="everything stops",
                actor="ops",
                catalogue=catalogue,
                today=TODAY,
                now=at(4),
            )

            assert (claim.state, claim.holds, claim.next_check_date, claim.updated_at) == (
                "held",
                ["paused"],
                None,
                at(4),
            )
            assert claim not in session.dirty
            assert inspect(waiting).deleted
        # And so they stay once the session is closed.
        assert (claim.state, claim.holds) == ("held", ["paused"])
        assert (waiting.seq, waiting.state) == (0, "queued")


class TestTheSweep:
    def test_claims_whose_date_has_come_are_released_or_wait_for_the_next_date(
        self, stored: Database, catalogue: Catalogue
    ) -> None:
        in_transaction(stored, switch_on(catalogue, "socialret", at(1)))
        before, queued_before = claims(stored), transfers(stored)
        later = dt.datetime(2026, 3, 15, 9, 0, tzinfo=dt.UTC)

        def sweep(session: Session) -> dict[str, int]:
            return readiness.sweep(
                session, catalogue=catalogue, claimant_id=CLAIMANT, today=later.date(), now=later
            )

        swept = in_transaction(stored, sweep)

        # B and H were to be looked at on 11 March; C's date has not come, and it is not.
        assert swept == {"held": 1, "queued": 1, "released": 1}
        assert claims(stored) == {
            **before,
            "B": ("queued", [], None, later),
            "H": ("held", ["awaiting_notice"], NOTICE, later),
        }
        assert events(stored, later) == [
            ("B", "released", "sweep", {}),
            ("H", "held", "sweep", AWAITING_NOTICE),
        ]
        assert transfers(stored) == [
            *queued_before,
            ("B", 0, "create", "socialret", "queued", later),
        ]

        assert in_transaction(stored, sweep) == {"held": 0, "queued": 0, "released": 0}


def _stored_examples(database: Database, catalogue: Catalogue) -> list[dict[str, Any]]:
    """Store the published examples and sample messages of every source; return the claims'
    data as the database gives it back, of the claims that can be re-assessed."""
    messages: list[tuple[SourceSystem, bytes]] = [
        (SourceSystem.KY, ky_samples.message(20, message_id="S-KY")),
        (SourceSystem.KSD, ksd_samples.message(20, message_id="S-KSD")),
        (SourceSystem.OIR, oir_samples.message(20, message_id="S-OIR")),
    ]
    for source in SourceSystem:
        folder = CONTRACTS / source.value / "examples"
        messages += [
            (source, path.read_bytes())
            for path in sorted(folder.iterdir())
            if not path.name.endswith(".expected.json")
        ]
    with database.transaction() as session:
        for source, raw in messages:
            media_type = "application/json" if source is SourceSystem.KY else "application/xml"
            try:
                intake.receive(
                    session,
                    source=source,
                    raw=raw,
                    media_type=media_type,
                    principal="test",
                    catalogue=catalogue,
                    claimant_id=CLAIMANT,
                    now=ARRIVED,
                    today=TODAY,
                )
            except AppError:  # a message refused whole: nothing of it is stored
                continue
    with database.sessions() as session:
        return list(
            session.scalars(select(Claim.data).where(Claim.state.in_(readiness.ASSESSABLE)))
        )


def test_a_stored_claim_is_read_as_the_model_reads_it(
    database: Database, catalogue: Catalogue
) -> None:
    stored = _stored_examples(database, catalogue)

    assert len(stored) > 60
    for data in stored:
        claim, model = readiness.canonical(data), CanonicalClaim.model_validate(data)
        assert claim == model
        assert claim.model_dump(mode="json") == model.model_dump(mode="json")
        assert repr(claim) == repr(model)  # the same types and exact values, Decimals too
        assert claim.model_fields_set == model.model_fields_set
        for mine, theirs in zip(claim.liabilities, model.liabilities, strict=True):
            assert mine.model_fields_set == theirs.model_fields_set
    # Not by the model every time: the plain path builds the claims the sources send.
    assert sum(plain_claim(data) is not None for data in stored) > 60
