"""Claim references across a message and across messages: repeats, relations, corrections.

Found by posting messages written from the published contracts (not the examples): each case
here once answered 500, pointed a related claim at a claim that was never stored, or reported
a repeat differently from the claim it repeats. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import uuid
from concurrent.futures import Future
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from adapters.oir import samples
from app.clock import Clock
from app.db.session import Database
from app.db.tables import Base, Claim, SourceMessage
from app.domain.catalogue import Catalogue
from app.domain.claim import SourceSystem
from app.errors import InvalidRequest
from app.logs import RedactCpr
from app.main import create_app
from app.services.intake_writer import IntakeWriter
from tests.builders import auth, ky_claim
from tests.conftest import make_settings
from tests.integration.test_intake_writer import (
    count,
    outcome_or_error,
    prepare,
    store_one,
    stored_first_by_another_process,
    submit_all,
    watch_not_new,
)

XML = {"Content-Type": "application/xml"}
CPR = re.compile(r"(?<!\d)\d{10}(?!\d)|(?<!\d)\d{6}-\d{4}(?!\d)")


def post_oir(client: TestClient, body: bytes) -> Any:
    return client.post("/v1/intake/oir", content=body, headers={**auth("oir"), **XML})


def claim(client: TestClient, claim_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/claims/{claim_id}", headers=auth("ops"))
    assert response.status_code == 200
    found: dict[str, Any] = response.json()
    return found


def main_claim_id(database: Database, claim_id: str) -> str | None:
    """Return the stored main claim a related claim points at (the foreign key)."""
    with database.transaction(write=False) as session:
        row = session.get(Claim, uuid.UUID(claim_id))
        assert row is not None
        return str(row.main_claim_id) if row.main_claim_id else None


def stored(client: TestClient) -> list[dict[str, Any]]:
    response = client.get("/v1/claims", params={"limit": 500}, headers=auth("ops"))
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def same_reference_twice(body: bytes) -> bytes:
    """Give the message's second Fordring the FordringID of its first."""
    return body.replace(b"<FordringID>S-0000001<", b"<FordringID>S-0000000<")


def with_interest(body: bytes, main: str, reference: str) -> bytes:
    """Add a related Fordring (interest, REOPKOM) on the claim `main` to the last account."""
    interest = (
        f"<Fordring><FordringID>{reference}</FordringID><HovedFordringID>{main}</HovedFordringID>"
        "<Fordringstype>REOPKOM</Fordringstype><Hovedstol>25.00</Hovedstol>"
        "<Beloeb>25.00</Beloeb><Periode><FraDato>2025-01-25</FraDato>"
        "<TilDato>2025-02-28</TilDato></Periode><Forfaldsdato>2025-03-01</Forfaldsdato>"
        "<SRBDato>2025-03-15</SRBDato><VarslingsDato>2025-03-20</VarslingsDato>"
        "<Beskrivelse>Morarenter</Beskrivelse></Fordring>"
    ).encode()
    head, tail = body.rsplit(b"</DebitorKonto>", 1)
    return head + interest + b"</DebitorKonto>" + tail


class TestTheSameReferenceTwiceInOneMessage:
    @pytest.mark.parametrize("identical", [False, True], ids=["other content", "same content"])
    def test_the_second_is_rejected_and_the_rest_is_stored(
        self, client: TestClient, identical: bool
    ) -> None:
        body = same_reference_twice(samples.message(3, message_id="R-1"))
        if identical:
            # The same content under the same reference: still one claim sent twice.
            body = body.replace(b"1037.00", b"1000.00").replace(b"1035.50", b"999.50")

        response = post_oir(client, body)

        assert response.status_code == 202
        results = response.json()["claims"]
        assert [r["result"] for r in results] == ["accepted", "rejected", "accepted"]
        [problem] = results[1]["problems"]
        assert problem["code"] == "claim.duplicate_in_message"
        # At the reference's own element, as every problem (an outside probe found the claim's).
        assert problem["source_path"] == results[1]["source_path"] + "/FordringID"
        by_id = {c["id"]: c for c in stored(client)}
        assert set(by_id) == {r["claim_id"] for r in results}
        assert by_id[results[0]["claim_id"]]["source_reference"] == "S-0000000"
        # The refused repeat is kept for the record, under a reference of its own.
        assert by_id[results[1]["claim_id"]]["state"] == "invalid"

    def test_a_ky_reference_twice_is_told_once_in_the_contracts_own_words(
        self, client: TestClient
    ) -> None:
        # KY's contract finds the repeat itself (`reference.duplicate`, at the reference);
        # intake refuses the claim for it without telling the same fact again.
        body = ky_message("R-KY-TWICE", ky_claim("KY-R-1"), ky_claim("KY-R-1"), ky_claim("KY-R-2"))

        response = client.post(
            "/v1/intake/ky",
            content=body,
            headers={**auth("ky"), "Content-Type": "application/json"},
        )

        assert response.status_code == 202, response.text
        results = response.json()["claims"]
        assert [r["result"] for r in results] == ["accepted", "rejected", "accepted"]
        assert [(p["code"], p["source_path"]) for p in results[1]["problems"]] == [
            ("reference.duplicate", "/claims/1/reference")
        ]
        by_id = {c["id"]: c for c in stored(client)}
        assert by_id[results[0]["claim_id"]]["source_reference"] == "KY-R-1"
        assert by_id[results[1]["claim_id"]]["state"] == "invalid"
        assert by_id[results[1]["claim_id"]]["source_reference"] != "KY-R-1"

    def test_a_sub_claim_reusing_its_main_claims_id_is_rejected(self, client: TestClient) -> None:
        body = samples.message(1, message_id="R-2")
        sub = (
            b"<Delfordring><FordringID>S-0000000</FordringID><Fordringstype>REOPKOM"
            b"</Fordringstype><Hovedstol>25.00</Hovedstol><Beloeb>25.00</Beloeb>"
            b"<Forfaldsdato>2025-03-01</Forfaldsdato><SRBDato>2025-03-15</SRBDato>"
            b"</Delfordring></Fordring>"
        )
        body = body.replace(b"</Fordring>", sub, 1)

        response = post_oir(client, body)

        assert response.status_code == 202
        results = response.json()["claims"]
        assert [r["result"] for r in results] == ["accepted", "rejected"]
        assert results[1]["problems"][0]["code"] == "claim.duplicate_in_message"


def with_claimant_reference(body: bytes, reference: str, *claims: int) -> bytes:
    """Give the message's claims `claims` (S-0000000 is 0) the FordringshaverRef `reference`."""
    for n in claims:
        found = f"<FordringID>S-{n:07d}</FordringID>".encode()
        body = body.replace(
            found, found + f"<FordringshaverRef>{reference}</FordringshaverRef>".encode()
        )
    return body


class TestTheSameClaimantReferenceTwiceInOneMessage:
    def test_the_later_claim_is_rejected_and_the_others_are_taken(self, client: TestClient) -> None:
        body = with_claimant_reference(samples.message(3, message_id="C-1"), "FR-2026-1", 0, 2)

        response = post_oir(client, body)

        assert response.status_code == 202
        results = response.json()["claims"]
        assert [r["result"] for r in results] == ["accepted", "accepted", "rejected"]
        assert [
            (p["code"], p["field"], p["source_path"], p["value"]) for p in results[2]["problems"]
        ] == [
            (
                "claimant_reference.duplicate_in_message",
                "claimant_reference",
                "/DebitorRegistrering/DebitorKonto[1]/Fordring[3]/FordringshaverRef",
                "FR-2026-1",
            )
        ]
        by_id = {c["id"]: c for c in stored(client)}
        assert by_id[results[2]["claim_id"]]["state"] == "invalid"
        assert by_id[results[2]["claim_id"]]["source_reference"] == "S-0000002"

    def test_a_reference_sent_equal_to_anothers_derived_one_is_rejected(
        self, client: TestClient
    ) -> None:
        # Without a FordringshaverRef, the first claim's is OIR- + its FordringID.
        body = with_claimant_reference(samples.message(2, message_id="C-2"), "OIR-S-0000000", 1)

        response = post_oir(client, body)

        assert response.status_code == 202
        first, second = response.json()["claims"]
        assert first["result"] == "accepted"
        assert [p["code"] for p in second["problems"]] == [
            "claimant_reference.duplicate_in_message"
        ]

    def test_every_claim_after_the_first_is_rejected_even_when_all_share_it(
        self, client: TestClient
    ) -> None:
        body = with_claimant_reference(samples.message(3, message_id="C-3"), "FR-9", 0, 1, 2)

        response = post_oir(client, body)

        assert response.status_code == 202
        results = response.json()["claims"]
        assert [r["result"] for r in results] == ["accepted", "rejected", "rejected"]
        assert all("claim 0 of this message" in r["problems"][0]["message"] for r in results[1:])

    def test_a_ky_message_is_held_to_it_as_well(self, client: TestClient) -> None:
        claims = [
            ky_claim("KY-1", claimantReference="SAG-7"),
            ky_claim("KY-2", claimantReference="SAG-7"),
        ]
        body = json.dumps({"messageId": "C-4", "claims": claims}).encode()

        response = client.post(
            "/v1/intake/ky",
            content=body,
            headers={**auth("ky"), "Content-Type": "application/json"},
        )

        assert response.status_code == 202
        first, second = response.json()["claims"]
        assert first["result"] == "accepted"
        assert [(p["code"], p["field"]) for p in second["problems"]] == [
            ("claimant_reference.duplicate_in_message", "claimant_reference")
        ]


def renamed(body: bytes, prefix: str, *claims: int) -> bytes:
    """Give the message's claims `claims` FordringIDs of their own (`prefix` for `S`)."""
    for n in claims:
        body = body.replace(
            f"<FordringID>S-{n:07d}<".encode(), f"<FordringID>{prefix}-{n:07d}<".encode()
        )
    return body


def ky_message(message_id: str, *claims: dict[str, Any]) -> bytes:
    return json.dumps({"messageId": message_id, "claims": list(claims)}).encode()


def codes(result: dict[str, Any]) -> list[str]:
    return [p["code"] for p in result["problems"]]


class TestAClaimantReferenceHeldByAClaimStoredBefore:
    """PSRM takes a fordringshaverreference once per claimant, across messages too."""

    def test_a_later_messages_claim_is_rejected_and_the_others_are_taken(
        self, client: TestClient
    ) -> None:
        first = post_oir(
            client, with_claimant_reference(samples.message(1, message_id="H-1"), "FR-2026-1", 0)
        ).json()["claims"][0]
        body = with_claimant_reference(samples.message(3, message_id="H-2"), "FR-2026-1", 1)

        response = post_oir(client, renamed(body, "T", 0, 1, 2))

        assert response.status_code == 202, response.text
        results = response.json()["claims"]
        assert [r["result"] for r in results] == ["accepted", "rejected", "accepted"]
        assert [
            (p["code"], p["field"], p["source_path"], p["value"]) for p in results[1]["problems"]
        ] == [
            (
                "claimant_reference.taken",
                "claimant_reference",
                "/DebitorRegistrering/DebitorKonto[1]/Fordring[2]/FordringshaverRef",
                "FR-2026-1",
            )
        ]
        # It names the claim holding the reference (never a debtor).
        assert results[1]["problems"][0]["message"] == (
            f"the claimant reference is held by claim {first['claim_id']}, received before; "
            "a fordringshaverreference must be unique per claimant"
        )
        by_id = {c["id"]: c for c in stored(client)}
        assert by_id[results[1]["claim_id"]]["state"] == "invalid"
        assert by_id[results[1]["claim_id"]]["source_reference"] == "T-0000001"
        assert by_id[first["claim_id"]]["state"] == first["state"]
        assert by_id[first["claim_id"]]["revision"] == 1

    def test_the_same_claim_sent_again_is_a_duplicate_not_a_taken_reference(
        self, client: TestClient
    ) -> None:
        both = with_claimant_reference(samples.message(2, message_id="H-3"), "FR-A", 0)
        both = with_claimant_reference(both, "FR-B", 1)
        first = post_oir(client, both).json()["claims"]

        # Claim 0 again, as it was; claim 1 is a new claim under claim 1's claimant reference.
        response = post_oir(client, renamed(both.replace(b"H-3", b"H-4"), "T", 1))

        assert response.status_code == 202, response.text
        again, other = response.json()["claims"]
        assert (again["result"], again["duplicate"], again["claim_id"]) == (
            "accepted",
            True,
            first[0]["claim_id"],
        )
        assert codes(other) == ["claimant_reference.taken"]

    def test_a_correction_keeps_its_own_reference(self, client: TestClient) -> None:
        both = with_claimant_reference(samples.message(2, message_id="H-5"), "FR-A", 0)
        both = with_claimant_reference(both, "FR-B", 1)
        first = post_oir(client, both).json()["claims"]
        corrected = both.replace(b"H-5", b"H-6").replace(b"999.50", b"900.00")

        response = post_oir(client, renamed(corrected, "T", 1))

        assert response.status_code == 202, response.text
        correction, other = response.json()["claims"]
        assert correction["result"] == "accepted", correction["problems"]
        assert (correction["claim_id"], correction["corrected"], correction["revision"]) == (
            first[0]["claim_id"],
            True,
            2,
        )
        assert codes(other) == ["claimant_reference.taken"]

    def test_a_correction_to_a_reference_another_claim_holds_is_rejected(
        self, client: TestClient
    ) -> None:
        both = with_claimant_reference(samples.message(2, message_id="H-7"), "FR-A", 0)
        first = post_oir(client, with_claimant_reference(both, "FR-B", 1)).json()["claims"]
        # Claim 0 again, now under claim 1's claimant reference; and a new claim.
        body = renamed(with_claimant_reference(both.replace(b"H-7", b"H-8"), "FR-B", 0), "T", 1)
        body = body.replace(b"<FordringshaverRef>FR-A</FordringshaverRef>", b"")

        response = post_oir(client, body)

        assert response.status_code == 202, response.text
        correction, other = response.json()["claims"]
        assert codes(correction) == ["claimant_reference.taken"]
        assert (correction["claim_id"], correction["corrected"], correction["state"]) == (
            first[0]["claim_id"],
            True,
            "invalid",
        )
        assert other["result"] == "accepted"
        holder = claim(client, first[1]["claim_id"])
        assert (holder["state"], holder["claim"]["claimant_reference"]) == (
            first[1]["state"],
            "FR-B",
        )

    def test_an_invalid_claim_holds_no_reference_and_cannot_be_corrected_into_a_taken_one(
        self, client: TestClient
    ) -> None:
        both = with_claimant_reference(samples.message(2, message_id="H-9"), "FR-A", 0)
        both = with_claimant_reference(both, "FR-B", 1)
        invalid = both.replace(b"<Beloeb>999.50", b"<Beloeb>9999.50")
        first = post_oir(client, invalid).json()["claims"]
        assert [r["state"] for r in first] == ["invalid", "held"]

        # New claims under both claimant references: the invalid claim's is free.
        later = post_oir(client, renamed(both.replace(b"H-9", b"H-10"), "T", 0, 1))
        # The invalid claim corrected, under the reference another claim now holds.
        fix = with_claimant_reference(samples.message(2, message_id="H-11"), "FR-A", 0)
        fixed = post_oir(client, renamed(fix, "U", 1))

        assert later.status_code == 202, later.text
        free, taken = later.json()["claims"]
        assert free["result"] == "accepted", free["problems"]
        assert codes(taken) == ["claimant_reference.taken"]
        assert fixed.status_code == 202, fixed.text
        correction, other = fixed.json()["claims"]
        assert correction["claim_id"] == first[0]["claim_id"]
        assert codes(correction) == ["claimant_reference.taken"]
        assert free["claim_id"] in correction["problems"][0]["message"]
        assert other["result"] == "accepted", other["problems"]

    def test_interest_on_a_main_claim_rejected_for_it_is_rejected_with_it(
        self, client: TestClient
    ) -> None:
        post_oir(client, with_claimant_reference(samples.message(1, message_id="H-14"), "FR-C", 0))
        body = renamed(
            with_claimant_reference(samples.message(2, message_id="H-15"), "FR-C", 1), "T", 0, 1
        )

        response = post_oir(client, with_interest(body, "T-0000001", "T-0000001-R1"))

        assert response.status_code == 202, response.text
        assert [codes(r) for r in response.json()["claims"]] == [
            [],
            ["claimant_reference.taken"],
            ["related.main_claim_rejected"],
        ]

    @pytest.mark.parametrize("source", ["ky", "ksd"])
    def test_references_are_compared_across_sources(self, client: TestClient, source: str) -> None:
        # Each source makes a claim's claimant reference from its own reference when it
        # sends none: KY- + reference, KSD- + KravId (ØiR: OIR- + FordringID).
        from adapters.ksd import samples as ksd_samples

        if source == "ky":
            body, reference = ky_message("H-12", ky_claim("SAG-100")), "KY-SAG-100"
            headers = {**auth("ky"), "Content-Type": "application/json"}
        else:
            body, reference = ksd_samples.message(1, message_id="H-12"), "KSD-S0000000-H-12"
            headers = {**auth("ksd"), **XML}
        first = client.post(f"/v1/intake/{source}", content=body, headers=headers)
        assert first.status_code == 202, first.text
        assert (
            claim(client, first.json()["claims"][0]["claim_id"])["claim"]["claimant_reference"]
            == reference
        )

        response = post_oir(
            client, with_claimant_reference(samples.message(2, message_id="H-13"), reference, 1)
        )

        assert response.status_code == 202, response.text
        assert [codes(r) for r in response.json()["claims"]] == [[], ["claimant_reference.taken"]]


def ky_with(message_id: str, *claims: tuple[str, str]) -> tuple[SourceSystem, bytes]:
    """A KY message of claims (reference, claimant reference)."""
    built = [ky_claim(ref, claimantReference=claimant_ref) for ref, claimant_ref in claims]
    return SourceSystem.KY, ky_message(message_id, *built)


class TestAClaimantReferenceTakenInTheIntakeWriter:
    """Through the intake writer: without look-ups, in a race, within one batch."""

    def test_a_message_stored_without_look_ups_is_still_refused_it(
        self,
        database: Database,
        writer: IntakeWriter,
        catalogue: Catalogue,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # On PostgreSQL the writer, once it knows the readiness context, stores a message
        # taken to be new without looking anything up (`intake.store_new`): the database
        # itself must refuse the second holder, and the message go the ordinary way.
        from app.services import intake

        not_new = watch_not_new(monkeypatch)
        first = store_one(writer, catalogue, ky_with("H-20", ("KY-20", "SAG-20")))

        second = store_one(writer, catalogue, ky_with("H-21", ("KY-21", "SAG-20")))

        assert isinstance(first, intake.Outcome), first
        assert isinstance(second, InvalidRequest), second
        assert [p.code for p in second.problems] == ["claimant_reference.taken"]
        assert count(database, Claim.id) == 1
        postgresql = database.engine.dialect.name == "postgresql"
        assert not_new == (
            ["a message, claim or claimant reference was stored before"] if postgresql else []
        )

    def test_a_reference_another_process_takes_first_is_answered_not_a_500(
        self,
        database: Database,
        writer: IntakeWriter,
        catalogue: Catalogue,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        from app.services import intake

        # Stored by "another process" after the writer has looked up and decided, before it
        # writes: the write fails, and the message, stored again alone, finds the holder.
        other = ky_with("H-22", ("KY-22", "SAG-22"))
        interfered = stored_first_by_another_process(monkeypatch, database, catalogue, other)

        (outcome,) = (
            outcome_or_error(f)
            for f in submit_all(
                writer, catalogue, [ky_with("H-23", ("KY-23", "SAG-22"), ("KY-24", "SAG-24"))]
            )
        )

        assert interfered
        assert isinstance(outcome, intake.Outcome), outcome
        assert [codes(r) for r in outcome.body["claims"]] == [["claimant_reference.taken"], []]
        assert count(database, Claim.id) == 3

    def test_two_messages_of_one_batch_under_one_reference_are_decided_one_after_the_other(
        self,
        database: Database,
        writer: IntakeWriter,
        catalogue: Catalogue,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        from app.services import intake

        # Different sources, different claim references: only the claimant reference is
        # shared, so only it can keep them apart.
        messages = [
            ky_with("H-24", ("KY-25", "SAG-25")),
            (
                SourceSystem.OIR,
                with_claimant_reference(samples.message(2, message_id="H-25"), "SAG-25", 0),
            ),
        ]
        jobs: list[tuple[intake.Prepared, Future[intake.Outcome]]] = [
            (prepare(catalogue, *message), Future()) for message in messages
        ]
        caplog.set_level(logging.WARNING)

        writer._write(jobs)  # one batch, as the writer thread takes what has gathered

        first, second = (outcome_or_error(future) for _, future in jobs)
        assert isinstance(first, intake.Outcome), first
        assert isinstance(second, intake.Outcome), second
        assert [codes(r) for r in second.body["claims"]] == [["claimant_reference.taken"], []]
        # Not by a shared transaction failing and each message being stored again alone.
        assert not [r for r in caplog.records if "storing each alone" in r.getMessage()]
        assert count(database, Claim.id) == 3


class TestRelatedClaimsOnARepeatedMainClaim:
    def test_interest_sent_with_its_main_claim_again_points_at_the_stored_one(
        self, client: TestClient, database: Database
    ) -> None:
        first = post_oir(client, samples.message(1, message_id="R-3")).json()
        main_id = first["claims"][0]["claim_id"]
        again = with_interest(samples.message(1, message_id="R-4"), "S-0000000", "S-0000000-R1")

        response = post_oir(client, again)

        assert response.status_code == 202
        main, interest = response.json()["claims"]
        assert main["duplicate"] is True
        assert main["claim_id"] == main_id
        assert interest["result"] == "accepted"
        assert main_claim_id(database, interest["claim_id"]) == main_id

    def test_interest_on_a_main_claim_corrected_in_the_same_message(
        self, client: TestClient, database: Database
    ) -> None:
        first = post_oir(client, samples.message(1, message_id="R-5")).json()
        main_id = first["claims"][0]["claim_id"]
        corrected = samples.message(1, message_id="R-6").replace(b"999.50", b"900.00")

        response = post_oir(client, with_interest(corrected, "S-0000000", "S-0000000-R1"))

        assert response.status_code == 202
        main, interest = response.json()["claims"]
        assert main["claim_id"] == main_id
        assert main["revision"] == 2
        assert main_claim_id(database, interest["claim_id"]) == main_id


class TestARepeatReportsTheClaimItRepeats:
    def test_a_duplicate_carries_the_stored_claims_state_and_holds(
        self, client: TestClient
    ) -> None:
        first = post_oir(client, samples.message(1, message_id="R-7")).json()["claims"][0]
        assert first["state"] == "held"
        assert first["holds"]

        again = post_oir(client, samples.message(1, message_id="R-8")).json()["claims"][0]

        assert again["duplicate"] is True
        assert again["state"] == first["state"]
        assert again["holds"] == first["holds"]

    def test_a_rejected_claim_sent_again_alone_names_the_claim_it_repeats(
        self, client: TestClient
    ) -> None:
        # The message is refused (no claim could be taken), but its claim is a duplicate of a
        # stored one, whose id and state the answer gives, as for every duplicate (an outside
        # probe found them left out).
        bad = ky_claim("KY-DUP-BAD", amount="1600.00")
        first = client.post(
            "/v1/intake/ky",
            content=ky_message("R-DUP-1", bad, ky_claim("KY-DUP-GOOD")),
            headers={**auth("ky"), "Content-Type": "application/json"},
        )
        assert first.status_code == 202
        stored_bad = first.json()["claims"][0]
        assert (stored_bad["result"], stored_bad["state"]) == ("rejected", "invalid")

        again = client.post(
            "/v1/intake/ky",
            content=ky_message("R-DUP-2", bad),
            headers={**auth("ky"), "Content-Type": "application/json"},
        )

        assert again.status_code == 422
        [result] = again.json()["error"]["claims"]
        assert result["duplicate"] is True
        assert result["claim_id"] == stored_bad["claim_id"]
        assert (result["state"], result["revision"]) == ("invalid", 1)

    def test_a_correction_says_it_made_a_new_revision(self, client: TestClient) -> None:
        first = post_oir(client, samples.message(1, message_id="R-9")).json()["claims"][0]
        assert first["revision"] == 1
        assert first["corrected"] is False

        changed = samples.message(1, message_id="R-10").replace(b"999.50", b"900.00")
        result = post_oir(client, changed).json()["claims"][0]

        assert result["claim_id"] == first["claim_id"]
        assert result["corrected"] is True
        assert result["revision"] == 2
        assert claim(client, first["claim_id"])["claim"]["amount"] == "900.00"


class TestAnUnexpectedFailure:
    def test_is_a_json_500_and_its_log_holds_no_cpr_number(
        self,
        database: Database,
        clock: Clock,
        caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        from app.services import intake

        def broken(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError("debtor 0101600000 could not be written")

        monkeypatch.setattr(intake._Writes, "execute", broken)
        caplog.set_level(logging.ERROR)

        app = create_app(make_settings(database.url), database=database, clock=clock)
        with TestClient(app, raise_server_exceptions=False) as client:
            response = post_oir(client, samples.message(1, message_id="R-11"))
            monkeypatch.undo()
            assert stored(client) == []

        assert response.status_code == 500
        error = response.json()["error"]
        assert error["code"] == "internal_error"
        assert "0101600000" not in response.text
        # What the service's log handler writes: each record through its CPR filter.
        redact = RedactCpr()
        records = [r for r in caplog.records if r.levelno >= logging.ERROR and redact.filter(r)]
        logged = "\n".join(logging.Formatter().format(r) for r in records)
        assert error["incident"] in logged
        assert "RuntimeError" in logged
        assert not CPR.search(logged)

    def test_is_answered_by_the_app_and_goes_no_further(
        self, database: Database, clock: Clock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # An exception that leaves the app makes uvicorn log it a second time and close the
        # caller's keep-alive connection unannounced (an outside probe): the app answers the
        # 500 and keeps it. TestClient raises what leaves the app.
        from app.services import intake

        def broken(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError("broken on purpose")

        monkeypatch.setattr(intake._Writes, "execute", broken)
        app = create_app(make_settings(database.url), database=database, clock=clock)
        with TestClient(app, raise_server_exceptions=True) as client:
            first = post_oir(client, samples.message(1, message_id="R-13"))
            monkeypatch.undo()
            second = post_oir(client, samples.message(1, message_id="R-13"))

        assert (first.status_code, first.json()["error"]["code"]) == (500, "internal_error")
        assert second.status_code == 202

    def test_a_database_error_names_no_values(self, database: Database) -> None:
        row = {
            "id": uuid.uuid4(),
            "source": "oir",
            "message_id": "R-12",
            "content_sha256": "0" * 64,
            "media_type": "application/xml",
            "raw": b"<Navn>Borger 0</Navn><CPRNummer>0101600000</CPRNummer>",
            "size_bytes": 10,
            "principal": "demo-oir",
            "received_at": dt.datetime.now(dt.UTC),
            "claim_count": 1,
            "accepted_count": 1,
            "response": {"debtor_name": "Borger 0"},
        }
        table = Base.metadata.tables[SourceMessage.__tablename__]

        with pytest.raises(IntegrityError) as failure, database.transaction() as session:
            session.execute(insert(table), [row, {**row, "id": uuid.uuid4()}])

        assert "Borger" not in str(failure.value)
        assert "0101600000" not in str(failure.value)


class TestInterestOnAnInvalidMainClaim:
    def test_says_the_main_claim_is_invalid_not_unknown(self, client: TestClient) -> None:
        bad = samples.message(2, message_id="R-13").replace(b"<Beloeb>999.50", b"<Beloeb>9999.50")
        assert post_oir(client, bad).json()["claims"][0]["state"] == "invalid"
        interest = with_interest(samples.message(1, message_id="R-14"), "S-0000000", "S-X-R1")
        interest = interest.replace(b"<FordringID>S-0000000<", b"<FordringID>S-0000009<")

        response = post_oir(client, interest)

        problem = response.json()["claims"][1]["problems"][0]
        assert problem["code"] == "related.main_claim_rejected"
        assert "invalid" in problem["message"]


def test_a_date_in_year_9999_is_a_problem_of_its_claim_not_a_500(client: TestClient) -> None:
    # An SRB of 9999-12-31 once passed validation and then overflowed in readiness (the day
    # after it); a judgment in 9999 overflowed deriving its limitation date.
    body = samples.message(2, message_id="FAR-DATES").replace(
        b"<SRBDato>2025-02-24</SRBDato>", b"<SRBDato>9999-12-31</SRBDato>", 1
    )
    assert b"9999-12-31" in body

    response = post_oir(client, body)

    assert response.status_code == 202, response.text
    results = response.json()["claims"]
    assert [r["result"] for r in results] == ["accepted", "rejected"]
    assert [(p["code"], p["field"]) for p in results[1]["problems"]] == [
        ("date.out_of_range", "srb_date")
    ]


def test_references_too_long_to_store_are_refused_not_a_500(client: TestClient) -> None:
    # The contract allows at most 64 characters. Two longer ones sharing their first 64 were
    # once stored cut to 64, and collided (500); a long one sent again was looked up whole,
    # not found, and collided with its stored cut (500).
    body = samples.message(3, message_id="LONG-REFS")
    body = body.replace(b"<FordringID>S-0000001<", f"<FordringID>{'A' * 64}1<".encode())
    body = body.replace(b"<FordringID>S-0000002<", f"<FordringID>{'A' * 64}2<".encode())

    first = post_oir(client, body)
    again = post_oir(client, body.replace(b"LONG-REFS", b"LONG-REFS-AGAIN"))

    assert first.status_code == 202, first.text
    results = first.json()["claims"]
    assert [r["result"] for r in results] == ["accepted", "rejected", "rejected"]
    for result in results[1:]:
        # Told once, by ØiR's schema (its FordringID is at most 64 characters), not also by
        # intake's own length check (`field.too_long`), which refuses the claim all the same.
        assert [(p["code"], p.get("field")) for p in result["problems"]] == [
            ("xml.schema", "source_reference")
        ]
    assert again.status_code == 202, again.text
    assert [r["result"] for r in again.json()["claims"]] == ["accepted", "rejected", "rejected"]


@pytest.mark.parametrize(
    ("source", "old", "new"),
    [
        (
            "oir",
            b"<MeddelelseID>CPR-ID</MeddelelseID>",
            b"<MeddelelseID>OIR-010150-1000</MeddelelseID>",
        ),
        ("ksd", b"<BatchId>CPR-ID</BatchId>", b"<BatchId>KSD-0101501000</BatchId>"),
    ],
)
def test_a_message_id_holding_a_cpr_number_is_refused(
    client: TestClient, source: str, old: bytes, new: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    # The id is echoed in every answer, in conflicts and in the intake log: KY refused such
    # ids, KSD and ØiR took them.
    from adapters.ksd import samples as ksd_samples

    body = (ksd_samples if source == "ksd" else samples).message(1, message_id="CPR-ID")
    assert old in body
    caplog.set_level(logging.INFO)

    response = client.post(
        f"/v1/intake/{source}", content=body.replace(old, new), headers={**auth(source), **XML}
    )

    assert response.status_code == 422, response.text
    assert [p["code"] for p in response.json()["error"]["problems"]] == ["message_id.personal_data"]
    assert not CPR.search(response.text)
    assert not any(CPR.search(record.getMessage()) for record in caplog.records)
    assert stored(client) == []


def test_a_cpr_number_wherever_it_is_sent_is_masked_in_the_answer(client: TestClient) -> None:
    # A main claim's reference holding a CPR number came back unmasked in its interest claim's
    # related.main_claim_rejected; problems are masked where they are made into answers now.
    body = with_interest(samples.message(1, message_id="CPR-MAIN"), "0101501000", "S-R1")
    body = body.replace(b"<FordringID>S-0000000<", b"<FordringID>0101501000<")

    response = post_oir(client, body)

    assert response.status_code in (202, 422), response.text
    assert "0101501000" not in response.text
    assert "010150-****" in response.text


@pytest.mark.parametrize(
    "inside", ["<Dokumenter><Beloeb>1</Beloeb></Dokumenter>", "<Renter><Beloeb>1</Beloeb></Renter>"]
)
def test_a_known_element_out_of_place_in_a_ksd_list_is_a_problem_not_a_500(
    client: TestClient, inside: str
) -> None:
    body = (
        '<Batch xmlns="urn:kombit:ksd:debitor:krav:1"><Hoved><BatchId>B-1</BatchId>'
        "<Dannet>2026-03-01T06:30:00</Dannet><Kommunekode>751</Kommunekode>"
        "<AntalKrav>1</AntalKrav></Hoved><Krav><KravId>K-1</KravId><Skyldner><CVR>30000005</CVR>"
        "</Skyldner><Periode><Fra>2025-01-01</Fra><Til>2025-01-31</Til></Periode>"
        "<Hovedstol>100.00</Hovedstol><Beloeb>100.00</Beloeb><Stiftelsesdato>2025-02-01"
        "</Stiftelsesdato><Forfaldsdato>2025-03-01</Forfaldsdato><SidsteRettidigeBetalingsdato>"
        f"2025-03-15</SidsteRettidigeBetalingsdato>{inside}</Krav></Batch>"
    ).encode()

    response = client.post("/v1/intake/ksd", content=body, headers={**auth("ksd"), **XML})

    assert response.status_code == 422, response.text
    paths = [p.get("source_path", "") for p in response.json()["error"]["problems"]]
    assert any("/Beloeb" in path and ("Dokumenter" in path or "Renter" in path) for path in paths)
    assert stored(client) == []
