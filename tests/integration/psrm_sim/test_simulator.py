"""The PSRM simulator through HTTP: rules at the receipt date, hearings, exactly-once, faults."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest

from adapters.psrm import xml
from adapters.psrm.messages import (
    ActionStatus,
    BalanceMovement,
    CoverageKind,
    CreateClaim,
    Recall,
    RecallReason,
    Resubmit,
    ReturnKind,
    ReturnNotice,
    Settlement,
    WriteDown,
    WriteDownReason,
    WriteUp,
    WriteUpReason,
)
from adapters.psrm.simulator.app import SimulatedDrop
from tests.integration.psrm_sim.harness import Psrm
from tests.unit.psrm.builders import NOW, SENDER_SE, claim, interest_claim

D = dt.date


def _accepted(psrm: Psrm, reference: str = "REF-1", **changes: object) -> str:
    """Create a claim and return its fordrings-ID."""
    ack = psrm.submit([CreateClaim(f"A-{reference}", claim(reference, **changes))])
    (receipt,) = psrm.receipts(ack.delivery_id)
    assert receipt.status is ActionStatus.UDFOERT, receipt
    assert receipt.fordrings_id is not None
    return receipt.fordrings_id


def _status(psrm: Psrm, delivery_id: str) -> list[tuple[str, ActionStatus, list[int]]]:
    return [(r.action_id, r.status, [e.code for e in r.errors]) for r in psrm.receipts(delivery_id)]


# ---------------------------------------------------------------------------------------------
# claims: UDFØRT, AFVIST, HØRING


def test_a_valid_claim_is_received_then_executed_with_a_fordrings_id(psrm: Psrm) -> None:
    ack = psrm.submit([CreateClaim("A-1", claim("REF-1")), CreateClaim("A-2", claim("REF-2"))])
    assert ack.delivery_id == "L-1"
    assert [(a.action_id, a.status) for a in ack.actions] == [
        ("A-1", ActionStatus.MODTAGET),
        ("A-2", ActionStatus.MODTAGET),
    ]
    first, second = psrm.receipts("L-1")
    assert (first.status, first.claimant_reference, first.claimant_id) == (
        ActionStatus.UDFOERT,
        "REF-1",
        "1229",
    )
    assert first.fordrings_id is not None
    assert second.fordrings_id == str(int(first.fordrings_id) + 1)
    assert first.received_at == NOW
    assert psrm.state()["claims_by_status"] == {"UDFØRT": 2}


def test_rules_are_applied_at_the_receipt_date_of_the_simulator_clock(psrm: Psrm) -> None:
    # The limitation date is 2027-02-01: fine in 2025, past on 2027-02-02 (R_3_1 rejects).
    assert _status(psrm, psrm.submit([CreateClaim("A-1", claim("EARLY"))]).delivery_id) == [
        ("A-1", ActionStatus.UDFOERT, [])
    ]
    response = psrm.http.post("/admin/clock", json={"now": "2027-02-02T08:00:00+00:00"})
    assert response.json() == {"now": "2027-02-02T08:00:00+00:00", "frozen": True}
    ack = psrm.submit([CreateClaim("A-2", claim("LATE"))])
    (receipt,) = psrm.receipts(ack.delivery_id)
    assert receipt.status is ActionStatus.AFVIST
    assert [(e.code, e.rule_id) for e in receipt.errors] == [(990, "R_3_1")]
    assert "2027-02-02" in receipt.errors[0].text


def test_the_receipt_date_is_the_danish_date(psrm: Psrm) -> None:
    # 23:30 UTC on 31 January is already 1 February in Denmark: an SRB of 1 February has
    # not passed there, so R_5_2 (SRB before the receipt date) rejects.
    psrm.at(dt.datetime(2025, 1, 31, 23, 30, tzinfo=dt.UTC))
    ack = psrm.submit([CreateClaim("A-1", claim(due_date=D(2025, 1, 15), srb_date=D(2025, 2, 1)))])
    (receipt,) = psrm.receipts(ack.delivery_id)
    assert [e.rule_id for e in receipt.errors] == ["R_5_2"]


def test_an_unknown_fordringstype_is_rejected_with_151(psrm: Psrm) -> None:
    ack = psrm.submit([CreateClaim("A-1", claim(fordringstype="KUKENDT"))])
    assert _status(psrm, ack.delivery_id) == [("A-1", ActionStatus.AFVIST, [151])]


def test_a_claim_in_another_currency_is_rejected_with_152(psrm: Psrm) -> None:
    raw = psrm.build([CreateClaim("A-1", claim())]).replace(
        b"<ValutaKode>DKK</ValutaKode>", b"<ValutaKode>EUR</ValutaKode>", 1
    )
    assert psrm.submit_raw(raw).status_code == 200
    assert _status(psrm, "L-1") == [("A-1", ActionStatus.AFVIST, [152])]


def test_hearing_parks_a_claim_until_confirmed(psrm: Psrm) -> None:
    big = claim("BIG", principal=Decimal("20000.00"), amount=Decimal("15000.00"))
    ack = psrm.submit([CreateClaim("A-1", big)])
    (receipt,) = psrm.receipts(ack.delivery_id)
    assert receipt.status is ActionStatus.HOERING
    assert receipt.fordrings_id is None
    assert [h.rule_id for h in receipt.hearing] == ["R_4_2"]
    assert psrm.state()["hearings"] == ["A-1"]

    psrm.clock.advance(3600)
    decided = psrm.http.post("/admin/hearing/A-1", json={"decision": "confirm"}).json()
    assert decided["status"] == "UDFØRT"
    (receipt,) = psrm.receipts(ack.delivery_id)
    assert receipt.status is ActionStatus.UDFOERT
    assert receipt.fordrings_id == decided["fordrings_id"]
    assert receipt.status_changed_at == NOW + dt.timedelta(hours=1)
    assert receipt.hearing == ()
    assert psrm.state()["hearings"] == []


def test_a_withdrawn_hearing_is_rejected_and_may_be_sent_again(psrm: Psrm) -> None:
    big = claim("BIG", principal=Decimal("20000.00"), amount=Decimal("15000.00"))
    psrm.submit([CreateClaim("A-1", big)])
    response = psrm.http.post("/admin/hearing/A-1", json={"decision": "withdraw"})
    assert response.json()["status"] == "AFVIST"
    assert _status(psrm, "L-1") == [("A-1", ActionStatus.AFVIST, [992])]
    assert psrm.http.post("/admin/hearing/A-1", json={"decision": "confirm"}).status_code == 404
    # Corrected and sent again under the same reference, it is a new claim.
    psrm.submit([CreateClaim("A-2", claim("BIG"))])
    assert _status(psrm, "L-2") == [("A-2", ActionStatus.UDFOERT, [])]


# ---------------------------------------------------------------------------------------------
# exactly once


def test_a_reused_delivery_id_is_a_persistence_exception(psrm: Psrm) -> None:
    raw = psrm.build([CreateClaim("A-1", claim())], delivery_id="L-SAME")
    assert psrm.submit_raw(raw).status_code == 200
    again = psrm.submit_raw(raw)
    assert again.status_code == 500
    fault = xml.parse_fault(again.content)
    assert fault is not None
    assert "PersistenceException" in fault.message
    state = psrm.state()
    assert (state["deliveries"], state["claims"], state["fordrings_ids_assigned"]) == (1, 1, 1)


def test_a_resent_claim_is_not_created_again_and_answers_the_original(psrm: Psrm) -> None:
    original = _accepted(psrm, "REF-1")
    # After a crash the claim goes again, in a new delivery with a new action id.
    ack = psrm.submit(
        [CreateClaim("A-again", claim("REF-1")), CreateClaim("A-new", claim("REF-2"))]
    )
    again, new = psrm.receipts(ack.delivery_id)
    assert (again.status, again.fordrings_id) == (ActionStatus.UDFOERT, original)
    assert new.fordrings_id == str(int(original) + 1)
    state = psrm.state()
    assert state["fordrings_ids_assigned"] == 2
    assert state["keys_created_more_than_once"] == []
    assert [
        (k["claimant_reference"], k["created"], k["submitted"])
        for k in state["keys_submitted_more_than_once"]
    ] == [("REF-1", 1, 2)]


def test_the_same_reference_twice_in_one_delivery_is_created_once(psrm: Psrm) -> None:
    ack = psrm.submit([CreateClaim("A-1", claim("REF-1")), CreateClaim("A-2", claim("REF-1"))])
    first, second = psrm.receipts(ack.delivery_id)
    assert first.fordrings_id == second.fordrings_id is not None
    assert psrm.state()["fordrings_ids_assigned"] == 1


def test_a_rejected_claim_sent_again_corrected_is_evaluated_again(psrm: Psrm) -> None:
    psrm.submit([CreateClaim("A-1", claim("REF-1", fordringstype="KUKENDT"))])
    psrm.submit([CreateClaim("A-2", claim("REF-1"))])
    assert _status(psrm, "L-2") == [("A-2", ActionStatus.UDFOERT, [])]
    assert _status(psrm, "L-1") == [("A-1", ActionStatus.AFVIST, [151])]  # history stays


# ---------------------------------------------------------------------------------------------
# receipts: delay and paging


def test_receipts_appear_after_the_delay_on_the_simulator_clock(
    make_psrm: Callable[..., Psrm],
) -> None:
    psrm = make_psrm(receipt_delay_seconds=300)
    psrm.submit([CreateClaim("A-1", claim())])
    assert psrm.receipts("L-1") == []
    psrm.clock.advance(299)
    assert psrm.receipts("L-1") == []
    psrm.clock.advance(1)
    assert [r.status for r in psrm.receipts("L-1")] == [ActionStatus.UDFOERT]


def test_receipts_are_paged(psrm: Psrm) -> None:
    psrm.submit([CreateClaim(f"A-{i}", claim(f"REF-{i}")) for i in range(5)])
    page = psrm.receipts("L-1", max_items=2, offset=2)
    assert [r.action_id for r in page] == ["A-2", "A-3"]
    assert psrm.receipts("L-1", max_items=10, offset=5) == []


def test_receipts_of_an_unknown_delivery_are_a_fault(psrm: Psrm) -> None:
    request = xml.build_receipt_request(
        transaction_id="T", sender_se=SENDER_SE, sent_at=NOW, delivery_id="L-404", max_items=1
    )
    response = psrm.http.post("/KvitteringHentService", content=request)
    assert response.status_code == 500
    fault = xml.parse_fault(response.content)
    assert fault is not None
    assert fault.message == "MFLeveranceID er ukendt"


# ---------------------------------------------------------------------------------------------
# related claims


def test_related_claims_in_the_same_delivery_follow_their_main_claim(psrm: Psrm) -> None:
    ack = psrm.submit(
        [
            CreateClaim("A-1", claim("MAIN")),
            CreateClaim("A-2", interest_claim("RENTE", "MAIN"), main_action_id="A-1"),
        ]
    )
    main, related = psrm.receipts(ack.delivery_id)
    assert related.status is ActionStatus.UDFOERT
    assert related.main_fordrings_id == main.fordrings_id


def test_related_claims_refer_to_an_existing_fordrings_id(psrm: Psrm) -> None:
    main = _accepted(psrm, "MAIN")
    ack = psrm.submit(
        [
            CreateClaim("A-2", interest_claim("R-ok", "MAIN"), main_fordrings_id=main),
            CreateClaim("A-3", interest_claim("R-404", "MAIN"), main_fordrings_id="999"),
            CreateClaim("A-4", interest_claim("R-none", "MAIN")),
            CreateClaim("A-5", interest_claim("R-ref", "MAIN"), main_action_id="A-nowhere"),
        ]
    )
    assert _status(psrm, ack.delivery_id) == [
        ("A-2", ActionStatus.UDFOERT, []),
        ("A-3", ActionStatus.AFVIST, [461]),
        ("A-4", ActionStatus.AFVIST, [461]),
        ("A-5", ActionStatus.AFVIST, [526]),
    ]


def test_a_related_type_the_main_type_does_not_allow_is_rejected(psrm: Psrm) -> None:
    main = _accepted(psrm, "MAIN", fordringstype="KTNESÆR", business_area="socialret")
    ack = psrm.submit([CreateClaim("A-2", interest_claim("R", "MAIN"), main_fordrings_id=main)])
    assert _status(psrm, ack.delivery_id) == [("A-2", ActionStatus.AFVIST, [459])]


def test_related_claims_of_a_rejected_main_claim_are_rejected(psrm: Psrm) -> None:
    ack = psrm.submit(
        [
            CreateClaim("A-1", claim("MAIN", fordringstype="KUKENDT")),
            CreateClaim("A-2", interest_claim("R", "MAIN"), main_action_id="A-1"),
        ]
    )
    assert _status(psrm, ack.delivery_id) == [
        ("A-1", ActionStatus.AFVIST, [151]),
        ("A-2", ActionStatus.AFVIST, [428]),
    ]


def test_related_claims_wait_in_hearing_with_their_main_claim(psrm: Psrm) -> None:
    big = claim("MAIN", principal=Decimal("20000.00"), amount=Decimal("15000.00"))
    ack = psrm.submit(
        [
            CreateClaim("A-1", big),
            CreateClaim("A-2", interest_claim("R", "MAIN"), main_action_id="A-1"),
        ]
    )
    assert [r.status for r in psrm.receipts(ack.delivery_id)] == [ActionStatus.HOERING] * 2
    psrm.http.post("/admin/hearing/A-1", json={"decision": "confirm"})
    main, related = psrm.receipts(ack.delivery_id)
    assert [main.status, related.status] == [ActionStatus.UDFOERT] * 2
    assert related.main_fordrings_id == main.fordrings_id


# ---------------------------------------------------------------------------------------------
# adjustments, recall, resubmission


def test_write_downs_and_write_ups_change_the_balance(psrm: Psrm) -> None:
    fid = _accepted(psrm)  # amount 1000.00
    ack = psrm.submit(
        [
            WriteDown("W-1", fid, Decimal("100.00"), WriteDownReason.INDB, D(2025, 3, 1)),
            WriteDown("W-2", fid, Decimal("50.00"), WriteDownReason.REGU),
            WriteUp("U-1", fid, Decimal("25.00"), WriteUpReason.REGU),
            WriteDown("W-3", fid, Decimal("875.01"), WriteDownReason.REGU),
            WriteDown("W-4", "999", Decimal("1.00"), WriteDownReason.REGU),
            WriteDown("W-5", fid, Decimal("1.00"), WriteDownReason.REGU, D(2025, 3, 1)),
            WriteDown("W-6", fid, Decimal("1.00"), WriteDownReason.INDB),
            WriteDown("W-7", fid, Decimal("1.00"), WriteDownReason.INDB, D(2025, 3, 4)),
            WriteDown("W-8", fid, Decimal("0.00"), WriteDownReason.REGU),
        ]
    )
    assert _status(psrm, ack.delivery_id) == [
        ("W-1", ActionStatus.UDFOERT, []),
        ("W-2", ActionStatus.UDFOERT, []),
        ("U-1", ActionStatus.UDFOERT, []),
        ("W-3", ActionStatus.AFVIST, [991]),  # 875.00 is left
        ("W-4", ActionStatus.AFVIST, [509]),
        ("W-5", ActionStatus.AFVIST, [519]),
        ("W-6", ActionStatus.AFVIST, [409]),
        ("W-7", ActionStatus.AFVIST, [548]),
        ("W-8", ActionStatus.AFVIST, [408]),
    ]
    psrm.scenario({"kind": "udligning", "fordrings_id": fid, "amount": "875.00"})
    (movement,) = psrm.notifications(1, 1)
    assert isinstance(movement, BalanceMovement)
    assert movement.line.remaining_amount == Decimal("0.00")


def test_cancellations_must_refer_to_what_they_cancel(psrm: Psrm) -> None:
    fid = _accepted(psrm)
    ack = psrm.submit(
        [
            WriteDown("W-1", fid, Decimal("100.00"), WriteDownReason.INDB, D(2025, 3, 1)),
            WriteUp("U-1", fid, Decimal("100.00"), WriteUpReason.OANI, reference_action_id="W-1"),
            WriteUp("U-2", fid, Decimal("100.00"), WriteUpReason.OANI, reference_action_id="W-1"),
            WriteUp("U-3", fid, Decimal("100.00"), WriteUpReason.OONR, reference_action_id="W-1"),
            WriteUp("U-4", fid, Decimal("1.00"), WriteUpReason.OANI, reference_action_id="W-404"),
        ]
    )
    assert _status(psrm, ack.delivery_id) == [
        ("W-1", ActionStatus.UDFOERT, []),
        ("U-1", ActionStatus.UDFOERT, []),
        ("U-2", ActionStatus.AFVIST, [503]),  # already cancelled
        ("U-3", ActionStatus.AFVIST, [503]),
        ("U-4", ActionStatus.AFVIST, [526]),
    ]


def test_a_recall_takes_the_related_claims_along_and_stops_adjustments(psrm: Psrm) -> None:
    main = _accepted(psrm, "MAIN")
    psrm.submit([CreateClaim("A-R", interest_claim("R", "MAIN"), main_fordrings_id=main)])
    related = psrm.receipts("L-2")[0].fordrings_id
    assert related is not None
    ack = psrm.submit(
        [
            Recall("T-0", main, RecallReason.BORT),  # BORT needs its date
            Recall("T-1", main, RecallReason.HENS),
            WriteDown("W-1", related, Decimal("1.00"), WriteDownReason.REGU),
            WriteUp("U-1", main, Decimal("1.00"), WriteUpReason.REGU),
            Recall("T-2", main, RecallReason.HENS),
        ]
    )
    assert _status(psrm, ack.delivery_id) == [
        ("T-0", ActionStatus.AFVIST, [409]),
        ("T-1", ActionStatus.UDFOERT, []),
        ("W-1", ActionStatus.AFVIST, [498]),
        ("U-1", ActionStatus.AFVIST, [496]),
        ("T-2", ActionStatus.AFVIST, [530]),
    ]
    returns = [n for n in psrm.notifications(1, 10) if isinstance(n, ReturnNotice)]
    assert sorted((n.fordrings_id, n.kind, n.reason) for n in returns) == sorted(
        [(main, ReturnKind.TILBAGESEND, "HENS"), (related, ReturnKind.TILBAGESEND, "HENS")]
    )


def test_a_recalled_claim_can_be_resubmitted_once_with_a_new_fordrings_id(psrm: Psrm) -> None:
    fid = _accepted(psrm)
    psrm.submit([Recall("T-1", fid, RecallReason.KLAG)])
    ack = psrm.submit([Resubmit("G-1", fid, claim())])
    (receipt,) = psrm.receipts(ack.delivery_id)
    assert receipt.status is ActionStatus.UDFOERT
    assert receipt.fordrings_id not in (None, fid)
    again = psrm.submit([Resubmit("G-2", fid, claim())])
    assert psrm.receipts(again.delivery_id)[0].fordrings_id == receipt.fordrings_id


def test_resubmission_rules(psrm: Psrm) -> None:
    active = _accepted(psrm, "ACTIVE")
    wrong = _accepted(psrm, "FEJL")
    changed = _accepted(psrm, "CHANGED")
    psrm.submit(
        [Recall("T-1", wrong, RecallReason.FEJL), Recall("T-2", changed, RecallReason.HENS)]
    )
    ack = psrm.submit(
        [
            Resubmit("G-1", active, claim("ACTIVE")),
            Resubmit("G-2", wrong, claim("FEJL")),
            Resubmit("G-3", changed, claim("CHANGED", due_date=D(2024, 2, 2))),
            Resubmit("G-4", "999", claim("X")),
        ]
    )
    assert [codes for _, _, codes in _status(psrm, ack.delivery_id)] == [[540], [539], [542], [509]]


# ---------------------------------------------------------------------------------------------
# notifications


def test_notifications_are_fetched_by_number_range(psrm: Psrm) -> None:
    one, two = _accepted(psrm, "R1"), _accepted(psrm, "R2")
    result = psrm.scenario(
        {
            "kind": "udligning",
            "fordrings_id": one,
            "amount": "100.00",
            "effective_date": "2025-03-03",
        },
        {"kind": "udligning", "fordrings_id": two, "amount": "250.50"},
        {"kind": "renter", "fordrings_id": two, "amount": "4.31", "rate_percent": "5.75"},
        {"kind": "afregning", "settlement_date": "2025-03-27"},
    )
    assert result == {"numbers": [1, 2, 3, 4], "count": 4}
    assert [n.number for n in psrm.notifications(2, 3)] == [2, 3]
    assert psrm.notifications(5, 100) == []
    settlement = psrm.notifications(4, 4)[0]
    assert isinstance(settlement, Settlement)
    assert settlement.amount == Decimal("350.50") == sum(line.amount for line in settlement.lines)
    assert [line.fordrings_id for line in settlement.lines] == [one, two]
    assert settlement.period_end_date == D(2025, 3, 27)


def test_write_offs_and_returns_report_what_is_left(psrm: Psrm) -> None:
    one, two = _accepted(psrm, "R1"), _accepted(psrm, "R2")
    psrm.scenario(
        {"kind": "afskrivning", "fordrings_id": one, "reason": "KONKURS"},
        {"kind": "returnering", "fordrings_id": two, "reason": "KLAG"},
    )
    write_off, returned = psrm.notifications(1, 2)
    assert (write_off.amount, write_off.reason) == (Decimal("1000.00"), "KONKURS")  # type: ignore[union-attr]
    assert isinstance(returned, ReturnNotice)
    assert (returned.kind, returned.remaining_amount) == (
        ReturnKind.RETURNERING,
        Decimal("1000.00"),
    )
    # Neither claim is active any more.
    psrm.scenario({"kind": "udligning", "fordrings_id": one, "amount": "1.00"}, expect=422)


def test_an_impossible_scenario_changes_nothing(psrm: Psrm) -> None:
    fid = _accepted(psrm)
    psrm.scenario(
        {"kind": "udligning", "fordrings_id": fid, "amount": "100.00"},
        {"kind": "udligning", "fordrings_id": fid, "amount": "5000.00"},
        expect=422,
    )
    psrm.scenario({"kind": "udligning", "fordrings_id": "404", "amount": "1.00"}, expect=422)
    assert psrm.state()["notifications"] == 0
    psrm.scenario(
        {"kind": "udligning", "fordrings_id": fid, "amount": "1000.00"}
    )  # all still there


def test_duplicate_and_missing_notifications_can_be_injected(psrm: Psrm) -> None:
    fid = _accepted(psrm)
    psrm.http.post(
        "/admin/faults", json={"duplicate_notifications_next": 1, "missing_notifications_next": 1}
    )
    numbers = psrm.scenario(
        {"kind": "udligning", "fordrings_id": fid, "amount": "10.00"},
        {"kind": "udligning", "fordrings_id": fid, "amount": "20.00"},
    )["numbers"]
    assert numbers == [1, 2, 3]
    fetched = psrm.notifications(1, 3)
    # Number 1 went missing; its duplicate (number 2) carries the same payment; 3 is the next.
    assert [n.number for n in fetched] == [2, 3]
    first, second = fetched
    assert isinstance(first, BalanceMovement)
    assert isinstance(second, BalanceMovement)
    assert first.line.amount == Decimal("10.00")
    assert second.line.payment_id != first.line.payment_id


def test_a_duplicate_keeps_the_business_ids(psrm: Psrm) -> None:
    fid = _accepted(psrm)
    psrm.http.post("/admin/faults", json={"duplicate_notifications_next": 1})
    psrm.scenario({"kind": "udligning", "fordrings_id": fid, "amount": "10.00"})
    first, second = psrm.notifications(1, 2)
    assert isinstance(first, BalanceMovement)
    assert isinstance(second, BalanceMovement)
    assert (first.number, second.number) == (1, 2)
    assert first.line == second.line


def test_settlements_can_be_made_negative(psrm: Psrm) -> None:
    fid = _accepted(psrm)
    psrm.http.post("/admin/faults", json={"negative_settlements_next": 1})
    psrm.scenario(
        {"kind": "udligning", "fordrings_id": fid, "amount": "100.00"},
        {"kind": "afregning"},
    )
    settlement = psrm.notifications(2, 2)[0]
    assert isinstance(settlement, Settlement)
    assert settlement.amount == Decimal("-100.00")


def test_a_recall_for_error_reverses_coverage_into_a_negative_settlement(psrm: Psrm) -> None:
    fid = _accepted(psrm)
    psrm.scenario(
        {"kind": "udligning", "fordrings_id": fid, "amount": "300.00"}, {"kind": "afregning"}
    )
    psrm.submit([Recall("T-1", fid, RecallReason.FEJL)])
    psrm.scenario({"kind": "afregning"})
    correction, returned, settlement = psrm.notifications(3, 5)
    assert isinstance(correction, BalanceMovement)
    assert correction.line.activity is CoverageKind.KORREKTION
    assert correction.line.amount == Decimal("-300.00")
    assert isinstance(returned, ReturnNotice)
    assert returned.remaining_amount == Decimal("1000.00")
    assert isinstance(settlement, Settlement)
    assert settlement.amount == Decimal("-300.00")


def test_random_scenarios_repeat_with_the_same_seed(make_psrm: Callable[..., Psrm]) -> None:
    results = []
    for _ in range(2):
        psrm = make_psrm()
        for index in range(5):
            _accepted(psrm, f"R{index}")
        body = {"random": {"seed": 42, "count": 20}}
        count = psrm.http.post("/admin/scenario", json=body).json()["count"]
        results.append((count, psrm.notifications(1, count)))
    assert results[0] == results[1]
    assert results[0][0] > 0


def test_a_reversed_range_is_a_validation_fault(psrm: Psrm) -> None:
    request = xml.build_notification_request(
        transaction_id="T", sender_se=SENDER_SE, sent_at=NOW, from_number=1, to_number=2
    ).replace(b"<UnderretNummerFra>1<", b"<UnderretNummerFra>9<")
    response = psrm.http.post("/UnderretSamlingHentService", content=request)
    assert response.status_code == 500
    fault = xml.parse_fault(response.content)
    assert fault is not None
    assert fault.message.startswith("Request validation messages:")


# ---------------------------------------------------------------------------------------------
# faults


def test_a_service_window_for_the_next_requests_then_recovery(psrm: Psrm) -> None:
    psrm.http.post("/admin/faults", json={"unavailable_next": 2})
    raw = psrm.build([CreateClaim("A-1", claim())])
    first, second, third = (psrm.submit_raw(raw) for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (503, 503, 200)
    fault = xml.parse_fault(first.content)
    assert fault is not None
    assert fault.message == "NyMF is down"
    assert psrm.state()["deliveries"] == 1


def test_a_service_window_stays_until_switched_off(psrm: Psrm) -> None:
    psrm.http.post("/admin/faults", json={"unavailable": True})
    raw = psrm.build([CreateClaim("A-1", claim())])
    assert {psrm.submit_raw(raw).status_code for _ in range(3)} == {503}
    psrm.http.post("/admin/faults", json={"unavailable": False})
    assert psrm.submit_raw(raw).status_code == 200


def test_a_dropped_answer_leaves_the_delivery_received(psrm: Psrm) -> None:
    psrm.http.post("/admin/faults", json={"drop_next": 1, "drop_after_processing": True})
    raw = psrm.build([CreateClaim("A-1", claim())])
    with pytest.raises(SimulatedDrop):
        psrm.submit_raw(raw)
    assert psrm.submit_raw(raw).status_code == 500  # PersistenceException: it did arrive
    assert _status(psrm, "L-1") == [("A-1", ActionStatus.UDFOERT, [])]


def test_a_connection_dropped_before_processing_loses_the_delivery(psrm: Psrm) -> None:
    psrm.http.post("/admin/faults", json={"drop_next": 1, "drop_after_processing": False})
    raw = psrm.build([CreateClaim("A-1", claim())])
    with pytest.raises(SimulatedDrop):
        psrm.submit_raw(raw)
    assert psrm.state()["deliveries"] == 0
    assert psrm.submit_raw(raw).status_code == 200


def test_latency_is_slept_through_the_injected_sleep(make_psrm: Callable[..., Psrm]) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    psrm = make_psrm(sleep=sleep)
    psrm.http.post("/admin/faults", json={"latency_ms": 1500})
    psrm.submit([CreateClaim("A-1", claim())])
    psrm.receipts("L-1")
    assert slept == [1.5, 1.5]


def test_a_request_held_by_latency_is_shown_as_held_until_answered(
    make_psrm: Callable[..., Psrm],
) -> None:
    seen: list[list[dict[str, str]]] = []
    psrm: Psrm

    async def sleep(seconds: float) -> None:
        # While PSRM holds the answer, its state lists the request it has received whole.
        seen.append(psrm.simulator.state()["held"])

    psrm = make_psrm(sleep=sleep)
    psrm.http.post("/admin/faults", json={"latency_ms": 300})
    psrm.submit([CreateClaim("A-1", claim())], delivery_id="L-HELD")
    psrm.receipts("L-HELD")

    assert seen == [
        [{"service": "FordringIndberet", "delivery_id": "L-HELD"}],
        [{"service": "KvitteringHent", "delivery_id": "L-HELD"}],
    ]
    assert psrm.state()["held"] == []


def test_faults_are_validated(psrm: Psrm) -> None:
    assert psrm.http.post("/admin/faults", json={"drop_next": -1}).status_code == 422
    assert psrm.http.post("/admin/faults", json={"explode": True}).status_code == 422


def test_garbage_is_a_validation_fault_not_a_crash(psrm: Psrm) -> None:
    response = psrm.submit_raw(b"<not-a-delivery/>")
    assert response.status_code == 500
    fault = xml.parse_fault(response.content)
    assert fault is not None
    assert fault.code == "Client"


# ---------------------------------------------------------------------------------------------
# admin and the discard mode


def test_the_clock_can_be_moved_and_released(psrm: Psrm) -> None:
    psrm.http.post("/admin/clock", json={"now": "2026-01-01T00:00:00Z"})
    moved = psrm.http.post("/admin/clock", json={"advance_seconds": 90}).json()
    assert moved == {"now": "2026-01-01T00:01:30+00:00", "frozen": True}
    released = psrm.http.post("/admin/clock", json={"release": True}).json()
    assert released == {"now": NOW.isoformat(), "frozen": False}
    assert psrm.http.post("/admin/clock", json={"now": "2026-01-01T00:00:00"}).status_code == 422


def test_reset_forgets_everything(psrm: Psrm) -> None:
    _accepted(psrm)
    psrm.http.post("/admin/reset")
    state = psrm.state()
    assert (state["deliveries"], state["claims"], state["notifications"]) == (0, 0, 0)


def test_discard_mode_answers_executed_at_once(make_psrm: Callable[..., Psrm]) -> None:
    psrm = make_psrm(discard=True, receipt_delay_seconds=600)
    ack = psrm.submit(
        [
            CreateClaim("A-1", claim("R1")),
            Recall("T-1", "7", RecallReason.FEJL),
            CreateClaim("A-2", claim("R2")),
        ]
    )
    assert [(a.action_id, a.status) for a in ack.actions] == [
        ("A-1", ActionStatus.UDFOERT),
        ("T-1", ActionStatus.UDFOERT),
        ("A-2", ActionStatus.UDFOERT),
    ]
    assert [a.fordrings_id for a in ack.actions] == ["1000001", None, "1000003"]
    assert [r.fordrings_id for r in psrm.receipts("L-1")] == ["1000001", None, "1000003"]
    state = psrm.state()
    assert (state["mode"], state["deliveries"], state["actions"], state["claims"]) == (
        "discard",
        1,
        3,
        0,
    )
    assert psrm.submit_raw(psrm.build([], delivery_id="L-1")).status_code == 500


def test_recalling_a_main_claim_withdraws_related_claims_still_in_hearing(psrm: Psrm) -> None:
    main = _accepted(psrm, "MAIN")
    big = interest_claim("R", "MAIN", principal=Decimal("20000.00"), amount=Decimal("20000.00"))
    psrm.submit([CreateClaim("A-R", big, main_fordrings_id=main)])
    assert [r.status for r in psrm.receipts("L-2")] == [ActionStatus.HOERING]
    psrm.submit([Recall("T-1", main, RecallReason.HENS)])
    assert _status(psrm, "L-2") == [("A-R", ActionStatus.AFVIST, [992])]
    assert psrm.state()["hearings"] == []
