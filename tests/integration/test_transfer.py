"""From intake to PSRM: readiness, on-boarding, pauses, the queue, receipts, hearings,
adjustments, retries and dead letters, against the PSRM simulator over real HTTP.

The worker is driven step by step (`drain`), and time moves only when a test moves the clock,
which the service and the simulator share.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from adapters.oir import samples as oir_samples
from adapters.psrm import simulator
from adapters.psrm.portal import HearingPortal
from app.clock import Clock
from app.db.session import Database
from app.db.tables import SourceMessage
from app.domain import catalogue as catalogue_module
from app.domain.catalogue import Catalogue
from app.main import create_app
from app.services import adjustments
from app.worker import TransferWorker, psrm_client
from tests.builders import auth, ky_claim, ky_interest
from tests.conftest import make_settings
from tests.golden import CONTRACTS
from tests.live import free_port, serve

JSON = {"Content-Type": "application/json"}


class Scenario:
    """The API, a worker and the simulator, sharing one database and one clock."""

    def __init__(self, client: TestClient, worker: TransferWorker, psrm_url: str, clock: Clock):
        self.client, self.worker, self.psrm_url, self.clock = client, worker, psrm_url, clock

    def post(self, message_id: str, *claims: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps({"messageId": message_id, "claims": list(claims)}).encode()
        response = self.client.post("/v1/intake/ky", content=body, headers={**auth("ky"), **JSON})
        assert response.status_code == 202, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def onboard(self, area: str = "socialret", **extra: Any) -> dict[str, Any]:
        response = self.client.put(
            f"/v1/ops/onboarding/{area}",
            json={"state": "onboarded", **extra},
            headers=auth("ops"),
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def drain(self, rounds: int = 100) -> None:
        """Let the worker run until it has nothing more to do now."""
        for _ in range(rounds):
            if not self.worker.step():
                return
        raise AssertionError("the worker kept finding work")

    def claim(self, claim_id: str) -> dict[str, Any]:
        response = self.client.get(f"/v1/claims/{claim_id}", headers=auth("ops"))
        assert response.status_code == 200
        result: dict[str, Any] = response.json()
        return result

    def events(self, claim_id: str) -> list[str]:
        response = self.client.get(f"/v1/claims/{claim_id}/events", headers=auth("ops"))
        assert response.status_code == 200
        return [event["kind"] for event in response.json()]

    def decide(self, claim_id: str, decision: str) -> httpx.Response:
        response: httpx.Response = self.client.post(
            f"/v1/ops/hearings/{claim_id}", json={"decision": decision}, headers=auth("ops")
        )
        return response

    def psrm_state(self) -> dict[str, Any]:
        state: dict[str, Any] = httpx.get(f"{self.psrm_url}/admin/state").json()
        return state

    def faults(self, **faults: Any) -> None:
        httpx.post(f"{self.psrm_url}/admin/faults", json=faults).raise_for_status()

    def advance(self, **delta: float) -> None:
        self.clock.advance(dt.timedelta(**delta))


@contextmanager
def running(
    database: Database, clock: Clock, psrm_catalogue: Catalogue | None = None
) -> Iterator[Scenario]:
    sim = simulator.create_app(simulator.SimulatorConfig(clock=clock.now, catalogue=psrm_catalogue))
    with serve(sim) as url:
        settings = make_settings(
            database.url,
            psrm_url=url,
            psrm_simulator=False,
            worker_embedded=False,
            worker_max_attempts=3,
            worker_backoff_base_seconds=10,
            worker_backoff_max_seconds=60,
            breaker_failures=100,
        )
        app = create_app(settings, database=database, clock=clock)
        worker = TransferWorker(
            db=database,
            settings=settings,
            catalogue=app.state.runtime.catalogue,
            clock=clock,
            client=psrm_client(settings, url),
            name="test-worker",
        )
        with TestClient(app) as client:
            yield Scenario(client, worker, url, clock)
        worker.client.close()


@pytest.fixture
def scenario(database: Database, clock: Clock) -> Iterator[Scenario]:
    with running(database, clock) as made:
        yield made


@pytest.fixture
def psrm_without_ktnebof(database: Database, clock: Clock) -> Iterator[Scenario]:
    """PSRM's filter is PSRM's: here it does not know a type our catalogue has."""
    data = json.loads((CONTRACTS / "psrm" / "catalogue.json").read_text(encoding="utf-8"))
    data["types"] = [t for t in data["types"] if t["code"] != "KTNEBOF"]
    with running(database, clock, catalogue_module.from_dict(data)) as made:
        yield made


class TestHappyPath:
    def test_ready_claims_reach_psrm_exactly_once(self, scenario: Scenario) -> None:
        scenario.onboard()
        answer = scenario.post("M1", *(ky_claim(f"R-{i}") for i in range(5)))
        assert {c["state"] for c in answer["claims"]} == {"queued"}

        scenario.drain()

        for result in answer["claims"]:
            claim = scenario.claim(result["claim_id"])
            assert claim["state"] == "at_psrm"
        state = scenario.psrm_state()
        assert state["claims_by_status"] == {"UDFØRT": 5}
        assert state["keys_created_more_than_once"] == []
        events = scenario.client.get(
            f"/v1/claims/{answer['claims'][0]['claim_id']}/events", headers=auth("ops")
        ).json()
        assert [e["kind"] for e in events] == ["received", "sent", "at_psrm"]
        assert events[-1]["detail"]["fordrings_id"]

    def test_queue_overview_counts_by_area_and_state(self, scenario: Scenario) -> None:
        scenario.post("M2", ky_claim("R-1"), ky_claim("R-2"))

        queue = scenario.client.get("/v1/ops/queue", headers=auth("ops")).json()

        assert queue["by_area"]["socialret"] == {"held": 2}
        assert queue["oldest_waiting"]["socialret"]["age_seconds"] >= 0


class TestHolds:
    def test_a_claim_in_an_area_not_onboarded_waits_until_it_is(self, scenario: Scenario) -> None:
        claim_id = scenario.post("M3", ky_claim("R-1"))["claims"][0]["claim_id"]
        scenario.drain()
        assert scenario.claim(claim_id)["state"] == "held"
        why = scenario.client.get(f"/v1/claims/{claim_id}/readiness", headers=auth("ops")).json()
        assert [h["reason"] for h in why["holds"]] == ["area_not_onboarded"]

        dry = scenario.client.post(
            "/v1/ops/onboarding/socialret/dry-run", headers=auth("ops")
        ).json()
        assert dry["would_pass"] == 1
        assert scenario.claim(claim_id)["state"] == "held"

        released = scenario.onboard()
        scenario.drain()

        assert released["released"] == 1
        assert scenario.claim(claim_id)["state"] == "at_psrm"

    def test_a_claim_waits_for_its_srb_and_goes_when_the_date_passes(
        self, scenario: Scenario
    ) -> None:
        scenario.onboard()
        claim_id = scenario.post(
            "M4",
            ky_claim("R-1", dueDate="2026-03-01", srbDate="2026-03-10", noticeDate="2026-03-01"),
        )["claims"][0]["claim_id"]
        assert scenario.claim(claim_id)["state"] == "held"
        why = scenario.client.get(f"/v1/claims/{claim_id}/readiness", headers=auth("ops")).json()
        assert why["holds"][0]["reason"] == "awaiting_srb"
        assert why["holds"][0]["until"] == "2026-03-11"

        scenario.advance(days=9)
        scenario.client.post("/v1/ops/sweep", headers=auth("ops"))
        assert scenario.claim(claim_id)["state"] == "queued"
        scenario.drain()

        assert scenario.claim(claim_id)["state"] == "at_psrm"

    def test_a_claim_without_notice_waits(self, scenario: Scenario) -> None:
        scenario.onboard()
        claim = ky_claim("R-1")
        del claim["noticeDate"]

        result = scenario.post("M5", claim)["claims"][0]

        assert result["state"] == "held"
        assert result["holds"] == ["awaiting_notice"]

    def test_pauses_have_holders_and_one_resume_does_not_lift_another(
        self, scenario: Scenario
    ) -> None:
        scenario.onboard()
        claim_id = scenario.post("M6", ky_claim("R-1"))["claims"][0]["claim_id"]
        pause = {"area": "socialret", "reason": "afstemning"}
        first = scenario.client.post("/v1/ops/pauses", json=pause, headers=auth("ops")).json()
        second = scenario.client.post(
            "/v1/ops/pauses", json={**pause, "reason": "systemfejl"}, headers=auth("admin")
        ).json()
        assert (first["holder"], second["holder"]) == ("demo-ops", "demo-admin")
        assert scenario.claim(claim_id)["state"] == "held"

        refused = scenario.client.post(
            f"/v1/ops/pauses/{second['id']}/resume", json={}, headers=auth("ops")
        )
        scenario.client.post(f"/v1/ops/pauses/{first['id']}/resume", json={}, headers=auth("ops"))
        scenario.drain()
        still = scenario.claim(claim_id)["state"]
        scenario.client.post(
            f"/v1/ops/pauses/{second['id']}/resume", json={}, headers=auth("admin")
        )
        scenario.drain()

        assert refused.status_code == 403
        assert still == "held"
        assert scenario.claim(claim_id)["state"] == "at_psrm"

    def test_limitation_watch_lists_claims_about_to_be_lost(self, scenario: Scenario) -> None:
        near = ky_claim(
            "R-NEAR", citizen={"cpr": "0101501000", "name": "A", "limitationDate": "2026-04-01"}
        )
        scenario.post("M7", near, ky_claim("R-FAR"))

        watch = scenario.client.get(
            "/v1/ops/limitation-watch", params={"horizon_days": 90}, headers=auth("ops")
        ).json()

        assert [c["source_reference"] for c in watch["claims"]] == ["R-NEAR"]
        assert watch["claims"][0]["days_left"] == 30
        assert watch["buckets"]["0-30"] == 1
        metrics = scenario.client.get("/metrics").text
        assert 'kravbro_limitation_watch_claims{bucket="0-30"} 1.0' in metrics

    def test_a_horizon_past_90_days_counts_the_claims_beyond_them(self, scenario: Scenario) -> None:
        # A claim more than 90 days from its limitation date made a longer horizon a 500
        # (its bucket, >90, was not counted for).
        scenario.post("M7b", ky_claim("R-FAR"))

        watch = scenario.client.get(
            "/v1/ops/limitation-watch", params={"horizon_days": 3650}, headers=auth("ops")
        )

        assert watch.status_code == 200
        assert watch.json()["buckets"][">90"] == 1
        assert [c["source_reference"] for c in watch.json()["claims"]] == ["R-FAR"]


class TestPsrmAnswers:
    def test_a_claim_at_psrm_is_not_assessed_again_against_a_later_day(
        self, scenario: Scenario
    ) -> None:
        # With the clock past its limitation date, readiness called a claim at PSRM lapsed
        # (would_be_rejected), while being at PSRM is what protects it (an outside probe).
        scenario.onboard()
        claim_id = scenario.post("M-LATE", ky_claim("R-LATE"))["claims"][0]["claim_id"]
        scenario.drain()
        assert scenario.claim(claim_id)["state"] == "at_psrm"
        scenario.advance(days=365 * 6)

        why = scenario.client.get(f"/v1/claims/{claim_id}/readiness", headers=auth("ops")).json()

        assert (why["state"], why["holds"], why["rule_results"]) == ("at_psrm", [], [])
        assert "left kravbro" in why["note"]

    def test_a_hearing_is_listed_and_confirming_it_gets_the_claim_accepted(
        self, scenario: Scenario
    ) -> None:
        scenario.onboard()
        big = ky_claim("R-BIG", principal="150000.00", amount="150000.00")
        claim_id = scenario.post("M8", big)["claims"][0]["claim_id"]
        scenario.drain()
        assert scenario.claim(claim_id)["state"] == "hearing"
        listed = scenario.client.get("/v1/ops/hearings", headers=auth("ops")).json()
        assert listed[0]["claim_id"] == claim_id
        assert "R_4_2" in listed[0]["rules"]

        decision = scenario.client.post(
            f"/v1/ops/hearings/{claim_id}", json={"decision": "confirm"}, headers=auth("ops")
        )
        scenario.advance(minutes=2)
        scenario.drain()

        assert decision.status_code == 200
        assert scenario.claim(claim_id)["state"] == "at_psrm"

    def test_a_claim_psrm_rejects_is_rejected_with_its_codes(
        self, psrm_without_ktnebof: Scenario
    ) -> None:
        scenario = psrm_without_ktnebof
        scenario.onboard()
        loan = ky_claim("R-OLD", benefit="boligindskud")
        claim_id = scenario.post("M9", loan)["claims"][0]["claim_id"]

        scenario.drain()

        claim = scenario.claim(claim_id)
        assert claim["state"] == "rejected"
        # On the claim itself, for its fagsystem (they were only in its events: an outside
        # probe).
        own = scenario.client.get(f"/v1/claims/{claim_id}", headers=auth("ky")).json()
        assert [e["code"] for e in own["psrm_errors"]] == [151]
        events = scenario.client.get(f"/v1/claims/{claim_id}/events", headers=auth("ops")).json()
        assert events[-1]["kind"] == "rejected"
        assert events[-1]["detail"]["errors"][0]["code"] == 151
        # Not at PSRM: its limitation is not interrupted, so the watch keeps it in sight.
        watch = scenario.client.get(
            "/v1/ops/limitation-watch", params={"horizon_days": 3650}, headers=auth("ops")
        ).json()
        assert claim_id in [c["id"] for c in watch["claims"]]
        mine = scenario.client.get(
            "/v1/claims", params={"state": "rejected"}, headers=auth("ky")
        ).json()
        assert [c["id"] for c in mine["items"]] == [claim_id]


class TestHearingDecisions:
    """A hearing is decided once, and kravbro records only what PSRM took."""

    def in_hearing(self, scenario: Scenario, reference: str = "R-BIG") -> str:
        scenario.onboard()
        big = ky_claim(reference, principal="150000.00", amount="150000.00")
        claim_id: str = scenario.post(f"M-{reference}", big)["claims"][0]["claim_id"]
        scenario.drain()
        assert scenario.claim(claim_id)["state"] == "hearing"
        return claim_id

    @pytest.mark.parametrize("second", ["confirm", "withdraw"])
    def test_a_second_decision_on_a_decided_hearing_is_a_409_and_changes_nothing(
        self, scenario: Scenario, second: str
    ) -> None:
        claim_id = self.in_hearing(scenario)
        assert scenario.decide(claim_id, "confirm").status_code == 200

        again = scenario.decide(claim_id, second)

        assert again.status_code == 409, again.text
        error = again.json()["error"]
        assert error["code"] == "conflict"
        assert [p["code"] for p in error["problems"]] == ["hearing.already_decided"]
        assert error["decided"]["decision"] == "confirm"
        assert "already decided" in error["message"]
        assert scenario.client.get("/v1/ops/hearings", headers=auth("ops")).json() == []
        assert scenario.claim(claim_id)["state"] == "hearing"
        assert scenario.events(claim_id) == ["received", "sent", "hearing", "hearing_confirmed"]
        assert scenario.psrm_state()["claims_by_status"] == {"UDFØRT": 1}

        scenario.advance(minutes=2)
        scenario.drain()
        assert scenario.claim(claim_id)["state"] == "at_psrm"
        assert scenario.decide(claim_id, "withdraw").status_code == 409
        assert scenario.events(claim_id).count("hearing_confirmed") == 1

    def test_a_withdrawn_hearing_cannot_be_confirmed_afterwards(self, scenario: Scenario) -> None:
        claim_id = self.in_hearing(scenario)
        assert scenario.decide(claim_id, "withdraw").status_code == 200

        again = scenario.decide(claim_id, "confirm")

        assert again.status_code == 409, again.text
        assert again.json()["error"]["decided"]["decision"] == "withdraw"
        assert scenario.claim(claim_id)["state"] == "withdrawn"
        assert scenario.events(claim_id)[-1] == "hearing_withdrawn"
        assert scenario.events(claim_id).count("hearing_withdrawn") == 1
        assert scenario.psrm_state()["claims_by_status"] == {"AFVIST": 1}

    def test_concurrent_decisions_on_one_hearing_have_one_winner_and_one_event(
        self, scenario: Scenario
    ) -> None:
        claim_id = self.in_hearing(scenario)
        callers = 4
        start = threading.Barrier(callers)

        def decide() -> int:
            start.wait()
            return scenario.decide(claim_id, "confirm").status_code

        with ThreadPoolExecutor(callers) as pool:
            statuses = sorted(pool.map(lambda _: decide(), range(callers)))

        assert statuses == [200, 409, 409, 409]
        assert scenario.events(claim_id).count("hearing_confirmed") == 1
        assert scenario.psrm_state()["claims_by_status"] == {"UDFØRT": 1}

    def test_a_decision_psrm_refuses_stores_nothing_and_says_so(self, scenario: Scenario) -> None:
        claim_id = self.in_hearing(scenario)
        (listed,) = scenario.client.get("/v1/ops/hearings", headers=auth("ops")).json()
        # Someone confirmed it at PSRM itself (the portal), so PSRM has no hearing left to decide.
        decided = httpx.post(
            f"{scenario.psrm_url}/admin/hearing/{listed['action_id']}",
            json={"decision": "confirm"},
        )
        assert decided.status_code == 200

        refused = scenario.decide(claim_id, "withdraw")

        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert error["code"] == "psrm.refused"
        assert "nothing was stored" in error["message"]
        assert "no claim waits in hearing" in error["message"]
        assert "incident" not in error
        assert scenario.claim(claim_id)["state"] == "hearing"
        assert scenario.events(claim_id) == ["received", "sent", "hearing"]
        listed_after = scenario.client.get("/v1/ops/hearings", headers=auth("ops")).json()
        assert [h["claim_id"] for h in listed_after] == [claim_id]

        scenario.advance(minutes=2)
        scenario.drain()
        assert scenario.claim(claim_id)["state"] == "at_psrm"

    def test_a_decision_that_cannot_reach_psrm_stores_nothing_and_is_a_502(
        self, scenario: Scenario
    ) -> None:
        claim_id = self.in_hearing(scenario)
        runtime = scenario.client.app.state.runtime  # type: ignore[attr-defined]
        reachable = runtime.psrm_portal
        runtime.psrm_portal = HearingPortal(f"http://127.0.0.1:{free_port()}", timeout=2)

        failed = scenario.decide(claim_id, "withdraw")

        assert failed.status_code == 502, failed.text
        error = failed.json()["error"]
        assert error["code"] == "psrm.unavailable"
        assert "nothing was stored" in error["message"]
        assert scenario.claim(claim_id)["state"] == "hearing"
        assert scenario.events(claim_id) == ["received", "sent", "hearing"]
        assert scenario.psrm_state()["hearings"] != []

        runtime.psrm_portal = reachable
        assert scenario.decide(claim_id, "withdraw").status_code == 200
        assert scenario.claim(claim_id)["state"] == "withdrawn"


class TestFailures:
    def test_a_service_window_is_retried_with_backoff(self, scenario: Scenario) -> None:
        scenario.onboard()
        claim_id = scenario.post("M10", ky_claim("R-1"))["claims"][0]["claim_id"]
        scenario.faults(unavailable_next=2)

        scenario.drain()
        assert scenario.claim(claim_id)["state"] == "sending"
        scenario.advance(seconds=61)
        scenario.drain()
        scenario.advance(seconds=61)
        scenario.drain()

        assert scenario.claim(claim_id)["state"] == "at_psrm"
        assert scenario.psrm_state()["keys_created_more_than_once"] == []

    def test_a_delivery_that_keeps_failing_is_a_dead_letter_until_requeued(
        self, scenario: Scenario
    ) -> None:
        scenario.onboard()
        claim_id = scenario.post("M11", ky_claim("R-1"))["claims"][0]["claim_id"]
        scenario.faults(unavailable=True)
        for _ in range(3):
            scenario.drain()
            scenario.advance(seconds=61)
        assert scenario.claim(claim_id)["state"] == "dead_letter"
        dead = scenario.client.get("/v1/ops/dead-letters", headers=auth("ops")).json()
        assert dead[0]["claim_id"] == claim_id
        assert "NyMF is down" in dead[0]["error"]["message"] or dead[0]["error"]["message"]

        scenario.faults(unavailable=False)
        requeued = scenario.client.post(
            "/v1/ops/requeue", json={"all": True}, headers=auth("ops")
        ).json()
        scenario.drain()

        assert requeued == {"requeued": 1}
        assert scenario.claim(claim_id)["state"] == "at_psrm"

    def test_an_abandoned_delivery_is_resent_under_the_same_id(
        self, scenario: Scenario, database: Database
    ) -> None:
        from app.services import transfer

        scenario.onboard()
        scenario.post("M12", *(ky_claim(f"R-{i}") for i in range(3)))
        # A worker takes the batch and dies before sending it.
        with database.transaction() as session:
            taken = transfer.take(
                session,
                worker="dead-worker",
                now=scenario.clock.now(),
                config=scenario.worker.config,
            )
        assert taken is not None
        scenario.drain()
        assert scenario.psrm_state()["deliveries"] == 0

        scenario.advance(seconds=scenario.worker.config.lease_seconds + 1)
        scenario.drain()

        state = scenario.psrm_state()
        assert state["deliveries"] == 1
        assert state["claims_by_status"] == {"UDFØRT": 3}


class TestAdjustments:
    def adjust(self, scenario: Scenario, message_id: str, *items: dict[str, Any]) -> Any:
        body = json.dumps({"messageId": message_id, "adjustments": list(items)}).encode()
        return scenario.client.post(
            "/v1/intake/ky/adjustments", content=body, headers={**auth("ky"), **JSON}
        )

    def test_adjustments_wait_for_their_claim_and_go_in_order(self, scenario: Scenario) -> None:
        claim_id = scenario.post("M13", ky_claim("R-1"))["claims"][0]["claim_id"]
        answer = self.adjust(
            scenario,
            "A1",
            {
                "reference": "R-1",
                "action": "write_down",
                "reason": "INDB",
                "amount": "100.00",
                "effectiveDate": "2026-02-01",
            },
            {"reference": "R-1", "action": "write_down", "reason": "REGU", "amount": "50.00"},
        )
        assert answer.status_code == 202
        assert [a["state"] for a in answer.json()["adjustments"]] == ["waiting", "waiting"]

        scenario.onboard()
        for _ in range(4):
            scenario.drain()

        events = scenario.client.get(f"/v1/claims/{claim_id}/events", headers=auth("ops")).json()
        kinds = [e["kind"] for e in events]
        assert kinds.count("adjusted") == 2
        assert kinds.index("at_psrm") < kinds.index("adjusted")
        adjusted = [e for e in events if e["kind"] == "sent" and e["detail"]["action"] != "create"]
        assert [e["detail"]["action"] for e in adjusted] == ["write_down", "write_down"]

    @pytest.mark.parametrize(
        ("item", "code", "field"),
        [
            # Each was taken and then refused by PSRM (an outside probe).
            (
                {"action": "write_down", "reason": "REGU", "amount": "999999.00"},
                "adjustment.exceeds_balance",
                "amount",
            ),
            (
                {
                    "action": "write_down",
                    "reason": "INDB",
                    "amount": "10.00",
                    "effectiveDate": "2026-03-03",  # the day after the scenario's today
                },
                "adjustment.effective_date_future",
                "effectiveDate",
            ),
            (
                {"action": "write_down", "reason": "REGU", "amount": "١٠٠.٠٠"},
                "amount.invalid",
                "amount",
            ),
            (
                {
                    "action": "write_down",
                    "reason": "INDB",
                    "amount": "1.00",
                    "effectiveDate": "20260201",
                },
                "date.invalid",
                "effectiveDate",
            ),
            (
                {"action": "recall", "reason": "FEJL", "amount": "10.00"},
                "field.not_allowed",
                "amount",
            ),
        ],
        ids=["beyond-balance", "future-date", "other-digits", "basic-date-form", "recall-amount"],
    )
    def test_an_adjustment_psrm_could_not_take_is_refused_here(
        self, scenario: Scenario, item: dict[str, Any], code: str, field: str
    ) -> None:
        scenario.post("M-BAL", ky_claim("R-BAL"))

        response = self.adjust(scenario, "A-BAL", {"reference": "R-BAL", **item})

        assert response.status_code == 422
        [problem] = response.json()["error"]["problems"]
        assert (problem["code"], problem["source_path"]) == (code, f"/adjustments/0/{field}")

    def test_write_downs_count_against_the_balance_in_order(self, scenario: Scenario) -> None:
        claim = ky_claim("R-ORDER")
        scenario.post("M-ORDER", claim)
        half = Decimal(claim["amount"]) / 2

        def down(amount: Decimal) -> dict[str, Any]:
            return {
                "reference": "R-ORDER",
                "action": "write_down",
                "reason": "REGU",
                "amount": str(amount),
            }

        first = self.adjust(scenario, "A-O1", down(half), down(half), down(Decimal("0.01")))
        up = {"reference": "R-ORDER", "action": "write_up", "reason": "REGU", "amount": "0.01"}
        second = self.adjust(scenario, "A-O2", up, down(Decimal("0.01")))

        assert [a["result"] for a in first.json()["adjustments"]] == [
            "accepted",
            "accepted",
            "rejected",
        ]
        assert [a["result"] for a in second.json()["adjustments"]] == ["accepted", "accepted"]

    def test_an_adjustment_with_a_bad_reason_is_refused(self, scenario: Scenario) -> None:
        scenario.post("M14", ky_claim("R-1"))

        response = self.adjust(
            scenario, "A2", {"reference": "R-1", "action": "recall", "reason": "INDB"}
        )

        assert response.status_code == 422
        problem = response.json()["error"]["problems"][0]
        assert problem["code"] == "adjustment.reason_not_allowed"
        assert problem["source_path"] == "/adjustments/0/reason"

    @pytest.mark.parametrize(
        ("body", "code", "place"),
        [
            (b'{"messageId": "A3", "adjustments": [', "json.malformed", "line 1, column 37"),
            (b'{"messageId": "A3",\n "adjustments": [}]}', "json.malformed", "line 2, column 18"),
            (b'{"messageId": "\xff"}', "json.encoding", "byte 15"),
            (b'["A3"]', "message.not_object", "/"),
            (b"", "json.empty", "/"),
            (b'{"messageId": "A3", "messageId": "A4"}', "json.duplicate_member", "/"),
            (b'{"messageId": "\\ud800"}', "json.encoding", "/messageId"),
            # Each of these was a 500; then, as the last two were, placed at "/".
            (
                b'{"messageId": "A3", "x": 1.5e99999999999999999999}',
                "json.malformed",
                "line 1, column 26",
            ),
            (b'{"messageId": "A3", "x": NaN}', "json.malformed", "line 1, column 26"),
            (b"[" * 100_000 + b"]" * 100_000, "json.too_deep", "line 1, column 33"),
            # Placed at "/" (an outside probe), where the claim intakes say where.
            (
                b'{"messageId": "A3",\n "adjustments": [{"amount": -Infinity}]}',
                "json.malformed",
                "line 2, column 29",
            ),
        ],
        ids=[
            "cut-short",
            "bad-bracket",
            "not-utf8",
            "not-an-object",
            "empty",
            "member-twice",
            "lone-surrogate",
            "huge-exponent",
            "nan",
            "too-deep",
            "infinity",
        ],
    )
    def test_an_unreadable_adjustment_message_says_where(
        self, scenario: Scenario, body: bytes, code: str, place: str
    ) -> None:
        response = scenario.client.post(
            "/v1/intake/ky/adjustments", content=body, headers={**auth("ky"), **JSON}
        )

        assert response.status_code == 422
        (problem,) = response.json()["error"]["problems"]
        assert (problem["code"], problem["source_path"]) == (code, place)

    def stored_messages(self, database: Database) -> int:
        with database.sessions() as session:
            return int(session.scalar(select(func.count(SourceMessage.id))) or 0)

    def test_a_message_id_holding_a_cpr_number_is_refused_whole(
        self, scenario: Scenario, database: Database
    ) -> None:
        # It was taken and echoed in the answer, and in every conflict after (an outside probe).
        claim_id = scenario.post("M-CPR", ky_claim("R-CPR"))["claims"][0]["claim_id"]
        recall = {"reference": "R-CPR", "action": "recall", "reason": "FEJL"}

        response = self.adjust(scenario, "REPRO-ADJ-1503851234", recall)

        assert response.status_code == 422, response.text
        (problem,) = response.json()["error"]["problems"]
        assert (problem["code"], problem["source_path"]) == (
            "message_id.personal_data",
            "/messageId",
        )
        assert "1503851234" not in response.text
        assert self.stored_messages(database) == 1
        assert "adjustment_received" not in scenario.events(claim_id)

    @pytest.mark.parametrize("message_id", ["A-NUL\x00", "A-BEL\x07", "A-NEL\x85"])
    def test_a_message_id_holding_a_control_character_is_refused_whole(
        self, scenario: Scenario, database: Database, message_id: str
    ) -> None:
        # A NUL was a 500 on PostgreSQL, whose text cannot hold one, and taken on SQLite.
        scenario.post("M-CTL", ky_claim("R-CTL"))

        response = self.adjust(
            scenario, message_id, {"reference": "R-CTL", "action": "recall", "reason": "FEJL"}
        )

        assert response.status_code == 422, response.text
        (problem,) = response.json()["error"]["problems"]
        assert (problem["code"], problem["source_path"]) == ("message_id.invalid", "/messageId")
        assert self.stored_messages(database) == 1

    def test_a_reference_holding_a_control_character_rejects_its_adjustment_only(
        self, scenario: Scenario, database: Database
    ) -> None:
        # A NUL in a reference was a 500 on PostgreSQL; on SQLite, `claim.unknown` quoting it.
        scenario.post("M-NUL", ky_claim("R-NUL"))
        recall = {"reference": "R-NUL", "action": "recall", "reason": "FEJL"}

        response = self.adjust(
            scenario,
            "A-NUL",
            {**recall, "reference": "R-NUL\x00x"},
            # A value with a digit in it is shown back, but never with a control character.
            {**recall, "action": "recall\x001"},
            recall,
        )

        assert response.status_code == 202, response.text
        first, second, third = response.json()["adjustments"]
        (problem,) = first["problems"]
        assert (problem["code"], problem["source_path"]) == (
            "reference.invalid",
            "/adjustments/0/reference",
        )
        (problem,) = second["problems"]
        assert (problem["code"], "value" in problem) == ("field.not_allowed", False)
        assert third["result"] == "accepted"
        assert "\\u0000" not in response.text
        with database.sessions() as session:
            (stored,) = session.scalars(
                select(SourceMessage.response).where(SourceMessage.message_id.like("%A-NUL"))
            ).all()
        assert stored == response.json()

    def test_a_reference_is_quoted_only_in_the_form_the_contracts_write_one(
        self, scenario: Scenario
    ) -> None:
        # "no claim Mette Hansen from ky" (an outside probe): a name in the wrong field.
        response = self.adjust(
            scenario,
            "A-NAME",
            {"reference": "Mette Hansen", "action": "recall", "reason": "FEJL"},
            {"reference": "R-404", "action": "recall", "reason": "FEJL"},
        )

        assert response.status_code == 422, response.text
        name, known = response.json()["error"]["problems"]
        assert "Mette" not in response.text
        assert name["code"] == "claim.unknown"
        assert name["message"] == "no claim (its reference not shown) from ky"
        assert "value" not in name
        assert (known["message"], known["value"]) == ("no claim R-404 from ky", "R-404")

    def test_claim_and_adjustment_messages_share_one_message_id_space_per_source(
        self, scenario: Scenario, database: Database
    ) -> None:
        # Both were taken (an outside probe); the contract says the id is unique across both.
        scenario.post("SHARED-1", ky_claim("R-S"))
        recall = {"reference": "R-S", "action": "recall", "reason": "FEJL"}

        adjustment = self.adjust(scenario, "SHARED-1", recall)
        taken = self.adjust(scenario, "SHARED-2", recall)
        claims = scenario.client.post(
            "/v1/intake/ky",
            content=json.dumps({"messageId": "SHARED-2", "claims": [ky_claim("R-T")]}).encode(),
            headers={**auth("ky"), **JSON},
        )

        assert taken.status_code == 202, taken.text
        for refused in (adjustment, claims):
            assert refused.status_code == 409, refused.text
            error = refused.json()["error"]
            (problem,) = error["problems"]
            assert (problem["code"], problem["source_path"]) == (
                "message_id.conflict",
                "/messageId",
            )
            assert error["message_id"] in ("SHARED-1", "SHARED-2")
        assert self.stored_messages(database) == 2

    def test_the_same_adjustment_message_id_with_other_content_is_one_conflict(
        self, scenario: Scenario
    ) -> None:
        # The 409 had `"problems": []`, and quoted the id in its text.
        scenario.post("M-AGAIN", ky_claim("R-AGAIN"))
        down = {"reference": "R-AGAIN", "action": "write_down", "reason": "REGU", "amount": "1.00"}

        first = self.adjust(scenario, "Mette Hansen", down)
        again = self.adjust(scenario, "Mette Hansen", down)
        other = self.adjust(scenario, "Mette Hansen", {**down, "amount": "2.00"})

        assert first.status_code == 202, first.text
        assert (again.status_code, again.headers["Idempotent-Replayed"]) == (200, "true")
        assert again.json() == first.json()
        assert other.status_code == 409, other.text
        error = other.json()["error"]
        (problem,) = error["problems"]
        assert (problem["code"], problem["source_path"]) == ("message_id.conflict", "/messageId")
        assert "Mette" not in error["message"] + problem["message"]

    def test_an_oir_message_id_with_the_old_prefix_leaves_the_adjustment_id_free(
        self, scenario: Scenario
    ) -> None:
        # Adjustment message X was stored as `adjustments/X`, the id of this ØiR claim message.
        claims = scenario.client.post(
            "/v1/intake/oir",
            content=oir_samples.message(1, message_id="adjustments/A-OIR"),
            headers={**auth("oir"), "Content-Type": "application/xml"},
        )
        assert claims.status_code == 202, claims.text
        reference = claims.json()["claims"][0]["source_reference"]

        adjustment = scenario.client.post(
            "/v1/intake/oir/adjustments",
            content=json.dumps(
                {
                    "messageId": "A-OIR",
                    "adjustments": [{"reference": reference, "action": "recall", "reason": "FEJL"}],
                }
            ).encode(),
            headers={**auth("oir"), **JSON},
        )

        assert adjustment.status_code == 202, adjustment.text

    def test_a_message_stored_under_the_id_after_its_look_up_is_a_conflict_not_a_500(
        self, scenario: Scenario, database: Database, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # As the intake writer may store a claim message under the id meanwhile (PostgreSQL):
        # the unique constraint fails the adjustment message's insert.
        scenario.post("M-RACE", ky_claim("R-RACE"))
        balances = adjustments._balances

        def meanwhile(session: Session, claims: Any) -> Any:
            session.execute(
                insert(SourceMessage),
                [
                    {
                        "id": uuid.uuid4(),
                        "source": "ky",
                        "message_id": "A-RACE",
                        "content_sha256": "0" * 64,
                        "media_type": "application/json",
                        "raw": b"{}",
                        "size_bytes": 2,
                        "principal": "test",
                        "received_at": scenario.clock.now(),
                        "claim_count": 1,
                        "accepted_count": 1,
                        "response": {},
                    }
                ],
            )
            return balances(session, claims)

        monkeypatch.setattr(adjustments, "_balances", meanwhile)

        response = self.adjust(
            scenario, "A-RACE", {"reference": "R-RACE", "action": "recall", "reason": "FEJL"}
        )

        assert response.status_code == 409, response.text
        (problem,) = response.json()["error"]["problems"]
        assert (problem["code"], problem["source_path"]) == ("message_id.conflict", "/messageId")

    def test_a_big_adjustment_message_posted_as_claims_is_not_its_replay(
        self, scenario: Scenario
    ) -> None:
        # Intake finds a big claim message sent again by its bytes alone (`earlier_answer`).
        scenario.post("M-BIG", ky_claim("R-BIG"))
        down = {"reference": "R-BIG", "action": "write_down", "reason": "REGU", "amount": "0.01"}
        body = json.dumps({"messageId": "A-BIG", "adjustments": [down] * 1_000}).encode()
        assert len(body) > 64 * 1024
        taken = scenario.client.post(
            "/v1/intake/ky/adjustments", content=body, headers={**auth("ky"), **JSON}
        )
        assert taken.status_code == 202, taken.text

        as_claims = scenario.client.post(
            "/v1/intake/ky", content=body, headers={**auth("ky"), **JSON}
        )

        assert as_claims.status_code == 422, as_claims.text
        assert "Idempotent-Replayed" not in as_claims.headers

    def main_with_interest(
        self, scenario: Scenario, message_id: str, **interest: Any
    ) -> tuple[str, str]:
        """Post a main claim R-1 with its interest claim R-1-I; return their claim ids."""
        answer = scenario.post(
            message_id, ky_claim("R-1", interestClaims=[ky_interest(**interest)])
        )
        main, related = answer["claims"]
        assert (main["state"], related["state"]) == ("queued", "held"), answer
        assert "awaiting_main_claim" in related["holds"]
        return main["claim_id"], related["claim_id"]

    def readiness(self, scenario: Scenario, claim_id: str) -> dict[str, Any]:
        response = scenario.client.get(f"/v1/claims/{claim_id}/readiness", headers=auth("ops"))
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def closed_hold(self, scenario: Scenario, claim_id: str) -> dict[str, Any]:
        """Return the claim's readiness hold `main_claim_closed`, checking what it says."""
        why = self.readiness(scenario, claim_id)
        assert why["ready"] is False
        holds = {hold["reason"]: hold for hold in why["holds"]}
        assert "awaiting_main_claim" not in holds
        hold: dict[str, Any] = holds["main_claim_closed"]
        assert "R-1 was recalled" in hold["message"]
        assert "cannot go" in hold["message"]
        assert hold["until"] is None
        return hold

    def recall(self, scenario: Scenario, message_id: str, reference: str = "R-1") -> None:
        answer = self.adjust(
            scenario, message_id, {"reference": reference, "action": "recall", "reason": "FEJL"}
        )
        assert answer.status_code == 202, answer.text

    def test_recalling_a_main_claim_recalls_its_related_claims_with_it(
        self, scenario: Scenario
    ) -> None:
        scenario.onboard()
        scenario.onboard("renter")
        main_id, interest_id = self.main_with_interest(scenario, "M-REL")
        scenario.drain()
        assert scenario.claim(interest_id)["state"] == "at_psrm"

        self.recall(scenario, "A-REL")
        scenario.drain()

        assert scenario.claim(main_id)["state"] == "recalled"
        assert scenario.psrm_state()["claims_by_state"] == {"recalled": 2}
        assert scenario.claim(interest_id)["state"] == "recalled"
        events = scenario.client.get(f"/v1/claims/{interest_id}/events", headers=auth("ops")).json()
        assert events[-1]["kind"] == "recalled_with_main_claim"
        assert events[-1]["detail"]["main_claim_id"] == main_id
        write_down = self.adjust(
            scenario,
            "A-REL-2",
            {"reference": "R-1-I", "action": "write_down", "reason": "REGU", "amount": "10.00"},
        )
        assert write_down.status_code == 422, write_down.text
        (problem,) = write_down.json()["error"]["problems"]
        assert problem["code"] == "claim.closed"
        assert "recalled" in problem["message"]
        assert scenario.psrm_state()["claims_by_state"] == {"recalled": 2}

    def test_a_related_claim_whose_acceptance_is_read_after_its_main_claims_recall_is_recalled(
        self, scenario: Scenario, database: Database
    ) -> None:
        from app.db.tables import Delivery
        from app.services import transfer

        scenario.onboard()
        scenario.onboard("renter")
        main_id, interest_id = self.main_with_interest(scenario, "M-LATE")
        scenario.worker.step()  # the main claim is accepted and the sweep queues its interest
        assert scenario.claim(main_id)["state"] == "at_psrm"
        worker = scenario.worker
        assert transfer.send_one(
            worker.db,
            worker.client,
            worker.breaker,
            worker=worker.name,
            now=scenario.clock.now(),
            config=worker.config,
            sender_se=worker.settings.claimant_se,
            claimant_id=worker.settings.claimant_id,
            counters=worker.counters,
        )
        assert scenario.claim(interest_id)["state"] == "sent"
        # PSRM has taken the interest claim; its receipt is read only after the recall's.
        with database.transaction() as session:
            session.execute(
                update(Delivery)
                .where(Delivery.state == transfer.D_SENT)
                .values(next_attempt_at=scenario.clock.now() + dt.timedelta(hours=1))
            )
        self.recall(scenario, "A-LATE")
        scenario.drain()
        assert scenario.claim(main_id)["state"] == "recalled"
        assert scenario.claim(interest_id)["state"] == "sent"

        scenario.advance(hours=2)
        scenario.drain()

        assert scenario.psrm_state()["claims_by_state"] == {"recalled": 2}
        assert scenario.claim(interest_id)["state"] == "recalled"
        assert scenario.events(interest_id)[-2:] == ["at_psrm", "recalled_with_main_claim"]

    def test_a_related_claim_held_when_its_main_claim_is_recalled_says_it_cannot_go(
        self, scenario: Scenario
    ) -> None:
        scenario.onboard()
        scenario.onboard("renter")
        scenario.drain()  # the worker's first sweep; the next is a minute away on the clock
        main_id, interest_id = self.main_with_interest(scenario, "M-HELD")
        scenario.drain()
        assert scenario.claim(main_id)["state"] == "at_psrm"
        assert scenario.claim(interest_id)["state"] == "held"

        self.recall(scenario, "A-HELD")
        scenario.drain()
        assert scenario.claim(main_id)["state"] == "recalled"
        swept = scenario.client.post("/v1/ops/sweep", headers=auth("ops"))
        assert swept.status_code == 200, swept.text
        scenario.advance(minutes=2)
        scenario.drain()

        assert scenario.claim(interest_id)["state"] == "held"
        assert [h["reason"] for h in self.readiness(scenario, interest_id)["holds"]] == [
            "main_claim_closed"
        ]
        self.closed_hold(scenario, interest_id)
        events = scenario.client.get(f"/v1/claims/{interest_id}/events", headers=auth("ops")).json()
        assert (events[-1]["kind"], events[-1]["detail"]["holds"]) == (
            "held",
            ["main_claim_closed"],
        )
        assert scenario.psrm_state()["claims_by_state"] == {"recalled": 1}

    def test_a_related_claim_held_for_a_date_learns_at_once_that_its_main_claim_was_recalled(
        self, scenario: Scenario
    ) -> None:
        scenario.onboard()
        scenario.onboard("renter")
        main_id, interest_id = self.main_with_interest(scenario, "M-SRB", srbDate="2026-03-10")
        scenario.drain()
        assert scenario.claim(main_id)["state"] == "at_psrm"

        self.recall(scenario, "A-SRB")
        scenario.drain()
        scenario.client.post("/v1/ops/sweep", headers=auth("ops"))

        events = scenario.client.get(f"/v1/claims/{interest_id}/events", headers=auth("ops")).json()
        assert (events[-1]["kind"], events[-1]["detail"]["holds"]) == (
            "held",
            ["awaiting_srb", "main_claim_closed"],
        )
        self.closed_hold(scenario, interest_id)
        scenario.advance(days=9)
        scenario.client.post("/v1/ops/sweep", headers=auth("ops"))
        scenario.drain()
        assert scenario.claim(interest_id)["state"] == "held"
        assert scenario.psrm_state()["claims_by_state"] == {"recalled": 1}

    def test_interest_sent_after_its_main_claim_was_recalled_is_held_saying_why(
        self, scenario: Scenario
    ) -> None:
        scenario.onboard()
        scenario.onboard("renter")
        self.main_with_interest(scenario, "M-AFTER")
        scenario.drain()
        self.recall(scenario, "A-AFTER")
        scenario.drain()

        interests = [ky_interest(), ky_interest("R-1-J")]
        answer = scenario.post("M-AFTER-2", ky_claim("R-1", interestClaims=interests))

        main, old, new = answer["claims"]
        assert (main["state"], old["state"]) == ("recalled", "recalled")
        assert (new["state"], new["holds"]) == ("held", ["main_claim_closed"])
        self.closed_hold(scenario, new["claim_id"])
