"""On-boarding states, type exceptions, history, the dry run, pauses, requeues, the clock and
who may do what, over HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from app.clock import Clock
from app.db.session import Database
from app.db.tables import OnboardingChange, Pause
from app.main import create_app
from app.settings import ApiKey
from tests.builders import auth
from tests.builders import ky_claim as claim
from tests.conftest import TODAY, make_settings
from tests.golden import ROOT

JSON = {"Content-Type": "application/json"}
# Besides the demo keys: an auditor who may only read, and a second operations key.
AUDITOR = {"Authorization": "Bearer auditor-key"}
OTHER_OPS = {"Authorization": "Bearer other-ops-key"}
STAFF_KEYS = [
    ApiKey(principal="revisor", roles=["auditor"], key=SecretStr("auditor-key")),
    ApiKey(principal="other-ops", roles=["operations"], key=SecretStr("other-ops-key")),
]


@pytest.fixture
def staff(database: Database, clock: Clock) -> Iterator[TestClient]:
    """The API with an auditor-only and a second operations key, and the clock controllable."""
    settings = make_settings(database.url, api_keys=STAFF_KEYS, clock_control=True)
    app = create_app(settings, database=database, clock=clock)
    with TestClient(app) as test_client:
        yield test_client


def post(client: TestClient, message_id: str, *claims: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps({"messageId": message_id, "claims": list(claims)}).encode()
    response = client.post("/v1/intake/ky", content=body, headers={**auth("ky"), **JSON})
    assert response.status_code == 202, response.text
    answer: dict[str, Any] = response.json()
    return answer


def put(client: TestClient, area: str, **body: Any) -> Any:
    return client.put(f"/v1/ops/onboarding/{area}", json=body, headers=auth("ops"))


class TestOnboarding:
    def test_every_area_is_listed_not_onboarded_at_first(self, client: TestClient) -> None:
        areas = client.get("/v1/ops/onboarding", headers=auth("ops")).json()

        assert len(areas) == 14
        assert {a["state"] for a in areas} == {"not_onboarded"}
        socialret = next(a for a in areas if a["area"] == "socialret")
        assert "KTTIBAK" in socialret["types"]

    def test_legacy_areas_keep_their_claims_out_of_psrm(self, client: TestClient) -> None:
        put(client, "socialret", state="legacy", note="old stock in DMI")

        result = post(client, "M1", claim("R-1"))["claims"][0]

        assert result["state"] == "held"
        assert result["holds"] == ["area_legacy"]

    def test_onboarding_from_a_future_date_waits_for_it(self, client: TestClient) -> None:
        put(client, "socialret", state="onboarded", from_date="2026-04-01")

        result = post(client, "M2", claim("R-1"))["claims"][0]

        assert result["holds"] == ["area_not_onboarded"]
        why = client.get(f"/v1/claims/{result['claim_id']}/readiness", headers=auth("ops")).json()
        assert why["holds"][0]["until"] == "2026-04-01"

    def test_a_type_exception_overrides_its_area(self, client: TestClient) -> None:
        put(client, "socialret", state="onboarded")
        put(client, "socialret", state="not_onboarded", fordringstype="KTNEBOF")

        results = post(client, "M3", claim("R-1"), claim("R-2", benefit="boligindskud"))["claims"]

        assert [r["state"] for r in results] == ["queued", "held"]

    def test_a_type_from_another_area_is_refused(self, client: TestClient) -> None:
        response = put(client, "socialret", state="onboarded", fordringstype="KFDAINS")

        assert response.status_code == 422

    def test_an_unknown_area_is_404(self, client: TestClient) -> None:
        assert put(client, "månen", state="onboarded").status_code == 404

    def test_every_change_is_recorded_with_who_and_how_many_it_released(
        self, client: TestClient
    ) -> None:
        post(client, "M4", claim("R-1"), claim("R-2"))

        put(client, "socialret", state="onboarded", note="go-live")
        put(client, "socialret", state="not_onboarded", note="rollback")

        history = client.get(
            "/v1/ops/onboarding/history", params={"area": "socialret"}, headers=auth("ops")
        ).json()
        assert [(h["from"], h["to"], h["released"]) for h in history] == [
            ("onboarded", "not_onboarded", 0),
            (None, "onboarded", 2),
        ]
        assert history[1]["actor"] == "demo-ops"
        assert history[1]["note"] == "go-live"

    def test_switching_off_takes_queued_claims_back_to_held(self, client: TestClient) -> None:
        put(client, "socialret", state="onboarded")
        claim_id = post(client, "M5", claim("R-1"))["claims"][0]["claim_id"]

        put(client, "socialret", state="not_onboarded")

        assert client.get(f"/v1/claims/{claim_id}", headers=auth("ops")).json()["state"] == "held"

    def test_only_operations_may_change_onboarding(self, client: TestClient) -> None:
        response = client.put(
            "/v1/ops/onboarding/socialret", json={"state": "onboarded"}, headers=auth("ky")
        )

        assert response.status_code == 403


class TestDryRun:
    def test_it_counts_what_would_pass_be_rejected_go_to_hearing_or_still_wait(
        self, client: TestClient
    ) -> None:
        no_notice = claim("R-WAIT")
        del no_notice["noticeDate"]
        post(
            client,
            "M6",
            claim("R-OK"),
            claim("R-BIG", principal="150000.00", amount="150000.00"),
            claim("R-OLD", citizen={"cpr": "0101501000", "limitationDate": "2026-01-01"}),
            no_notice,
        )

        dry = client.post("/v1/ops/onboarding/socialret/dry-run", headers=auth("ops")).json()

        assert dry["claims"] == 4
        assert dry["would_pass"] == 1
        assert dry["would_go_to_hearing"] == 1
        assert dry["hearing_by_rule"] == {"R_4_2": 1}
        assert dry["would_be_rejected"] == 1
        assert "R_3_1" in dry["rejected_by_rule"]
        assert dry["would_still_wait"] == 1
        assert dry["still_waiting_for"] == {"awaiting_notice": 1}
        assert dry["amount_dkk"]["would_go_to_hearing"] == "150000.00"
        queue = client.get("/v1/ops/queue", headers=auth("ops")).json()
        assert queue["totals"] == {"held": 4}


class TestClock:
    def test_the_clock_cannot_be_set_without_clock_control(self, client: TestClient) -> None:
        response = client.post("/v1/ops/clock", json={"advance_days": 1}, headers=auth("admin"))

        assert response.status_code == 403

    def test_operations_cannot_set_the_clock(self, client: TestClient) -> None:
        response = client.post("/v1/ops/clock", json={"advance_days": 1}, headers=auth("ops"))

        assert response.status_code == 403


class TestMetrics:
    def test_queue_depth_by_area_and_state_is_exported(self, client: TestClient) -> None:
        post(client, "M7", claim("R-1"), claim("R-2"))

        text = client.get("/metrics").text

        assert 'kravbro_claims{area="socialret",state="held"} 2.0' in text
        assert 'kravbro_intake_claims_total{result="accepted",source="ky"}' in text


class TestCorrections:
    def test_a_held_claim_corrected_by_its_fagsystem_is_assessed_again(
        self, client: TestClient
    ) -> None:
        put(client, "socialret", state="onboarded")
        first = claim("R-1")
        del first["noticeDate"]
        held = post(client, "C1", first)["claims"][0]
        assert held["holds"] == ["awaiting_notice"]

        again = post(client, "C2", claim("R-1"))["claims"][0]

        assert again["claim_id"] == held["claim_id"]
        assert again["state"] == "queued"
        record = client.get(f"/v1/claims/{held['claim_id']}", headers=auth("ops")).json()
        assert record["revision"] == 2
        events = client.get(f"/v1/claims/{held['claim_id']}/events", headers=auth("ops")).json()
        assert [e["kind"] for e in events] == ["received", "corrected"]

    def test_a_queued_claim_cannot_be_changed_by_resending_it(self, client: TestClient) -> None:
        put(client, "socialret", state="onboarded")
        post(client, "C3", claim("R-1"))

        body = json.dumps({"messageId": "C4", "claims": [claim("R-1", amount="100.00")]})
        response = client.post(
            "/v1/intake/ky", content=body.encode(), headers={**auth("ky"), **JSON}
        )

        assert response.status_code == 409
        assert response.json()["error"]["problems"][0]["code"] == "claim.conflict"

    def test_a_refused_message_reports_no_claim_ids(self, client: TestClient) -> None:
        body = json.dumps({"messageId": "C5", "claims": [claim("R-1", amount="9999.00")]})

        response = client.post(
            "/v1/intake/ky", content=body.encode(), headers={**auth("ky"), **JSON}
        )

        assert response.status_code == 422
        result = response.json()["error"]["claims"][0]
        assert "claim_id" not in result
        assert result["result"] == "rejected"


def pause(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    return client.post("/v1/ops/pauses", json={"reason": "afstemning", **body}, headers=headers)


def resume(client: TestClient, pause_id: str, headers: dict[str, str], **body: Any) -> Any:
    return client.post(f"/v1/ops/pauses/{pause_id}/resume", json=body, headers=headers)


class TestPauses:
    def test_the_holder_is_the_key_that_placed_the_pause(self, staff: TestClient) -> None:
        placed = pause(staff, auth("ops"), area="socialret")

        assert placed.status_code == 201
        assert placed.json()["holder"] == "demo-ops"

    def test_a_pause_cannot_be_placed_in_another_name(self, staff: TestClient) -> None:
        response = pause(staff, auth("ops"), holder="demo-admin")

        assert response.status_code == 422
        assert response.json()["error"]["problems"][0]["source_path"] == "body/holder"
        assert staff.get("/v1/ops/pauses", headers=auth("ops")).json() == []

    def test_naming_the_holder_in_the_body_does_not_lift_their_pause(
        self, staff: TestClient
    ) -> None:
        placed = pause(staff, auth("admin"), area="socialret").json()

        impersonating = resume(staff, placed["id"], auth("ops"), holder="demo-admin")
        plain = resume(staff, placed["id"], auth("ops"))

        assert impersonating.status_code == 422
        assert impersonating.json()["error"]["problems"][0]["source_path"] == "body/holder"
        assert plain.status_code == 403
        active = staff.get("/v1/ops/pauses", headers=auth("ops")).json()
        assert [p["id"] for p in active] == [placed["id"]]

    def test_only_the_holder_or_an_admin_lifts_a_pause(self, staff: TestClient) -> None:
        placed = pause(staff, auth("ops")).json()

        refused = resume(staff, placed["id"], OTHER_OPS)
        lifted = resume(staff, placed["id"], auth("admin"))

        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "auth.forbidden"
        assert lifted.status_code == 200
        assert lifted.json()["lifted_by"] == "demo-admin"

    def test_the_holder_lifts_a_pause_without_sending_a_body(self, staff: TestClient) -> None:
        placed = pause(staff, auth("ops")).json()

        response = staff.post(f"/v1/ops/pauses/{placed['id']}/resume", headers=auth("ops"))

        assert response.status_code == 200, response.text
        assert response.json()["lifted_by"] == "demo-ops"

    def test_two_pauses_over_a_claim_hold_it_once(self, staff: TestClient) -> None:
        # `holds` named `paused` once per pause covering the claim (an outside probe).
        pause(staff, auth("ops"), area="socialret")
        pause(staff, auth("admin"))
        body = {"messageId": "M-PAUSED", "claims": [claim("R-PAUSED")]}

        response = staff.post(
            "/v1/intake/ky",
            content=json.dumps(body).encode(),
            headers={**auth("ky"), "Content-Type": "application/json"},
        )

        assert response.status_code == 202
        (result,) = response.json()["claims"]
        assert result["holds"].count("paused") == 1
        stored = staff.get(f"/v1/claims/{result['claim_id']}", headers=auth("ops")).json()
        assert stored["holds"].count("paused") == 1

    @pytest.mark.parametrize("area", ["nowhere", "", "0101901234"])
    def test_an_unknown_area_is_422_at_its_member_not_repeated(
        self, staff: TestClient, area: str
    ) -> None:
        # It was a 404 without a problem, as for an area in a path (an outside probe).
        response = pause(staff, auth("ops"), area=area)

        assert response.status_code == 422
        (problem,) = response.json()["error"]["problems"]
        assert (problem["code"], problem["source_path"]) == ("area.unknown", "body/area")
        assert "0101901234" not in response.text
        assert staff.get("/v1/ops/pauses", headers=auth("ops")).json() == []

    def test_a_pause_without_a_reason_names_its_member(self, staff: TestClient) -> None:
        response = pause(staff, auth("ops"), reason="  ")

        assert response.status_code == 422
        assert response.json()["error"]["problems"][0]["source_path"] == "body/reason"

    @pytest.mark.parametrize("body", [{}, {"transfer_ids": []}, {"all": False}])
    def test_a_requeue_naming_nothing_names_its_member(
        self, staff: TestClient, body: dict[str, Any]
    ) -> None:
        response = staff.post("/v1/ops/requeue", json=body, headers=auth("ops"))

        assert response.status_code == 422
        (problem,) = response.json()["error"]["problems"]
        assert problem["source_path"] == "body/transfer_ids"

    def test_a_type_outside_the_area_is_refused(self, staff: TestClient) -> None:
        response = pause(staff, auth("ops"), area="socialret", fordringstype="KFDAINS")

        assert response.status_code == 422
        assert response.json()["error"]["problems"][0]["field"] == "fordringstype"
        assert staff.get("/v1/ops/pauses", headers=auth("ops")).json() == []

    def test_a_cpr_number_in_the_reason_is_masked_before_it_is_stored(
        self, staff: TestClient, database: Database
    ) -> None:
        placed = pause(staff, auth("ops"), reason="CPR 010160-1234 ringede, og 0101601234").json()

        listed = staff.get("/v1/ops/pauses", headers=auth("ops")).json()
        areas = staff.get("/v1/ops/onboarding", headers=auth("ops")).json()
        with database.transaction() as session:
            stored = session.scalars(select(Pause.reason)).one()
        masked = "CPR 010160-**** ringede, og 010160-****"
        assert stored == masked
        assert placed["reason"] == listed[0]["reason"] == masked
        assert areas[0]["pauses"][0]["reason"] == masked


class TestPersonalData:
    def test_a_reason_masking_lengthens_still_fits_its_column(
        self, staff: TestClient, database: Database
    ) -> None:
        reason = ("0101601234 " * 46)[:500]  # each number grows by its dash when masked

        response = pause(staff, auth("ops"), reason=reason)

        assert response.status_code == 201, response.text
        with database.transaction() as session:
            stored = session.scalars(select(Pause.reason)).one()
        assert len(stored) == 500
        assert "0101601234" not in stored

    def test_a_cpr_number_in_an_onboarding_note_is_masked_before_it_is_stored(
        self, client: TestClient, database: Database
    ) -> None:
        assert put(client, "socialret", state="legacy", note="ring 0101601234").status_code == 200

        history = client.get("/v1/ops/onboarding/history", headers=auth("ops")).json()
        with database.transaction() as session:
            stored = session.scalars(select(OnboardingChange.note)).one()
        assert stored == history[0]["note"] == "ring 010160-****"

    def test_an_unknown_area_in_the_path_is_not_repeated(self, client: TestClient) -> None:
        answers = [
            put(client, "0101601234", state="onboarded"),
            client.post("/v1/ops/onboarding/0101601234/dry-run", headers=auth("ops")),
        ]
        # (An area in a pause's body is a 422 at `body/area`: see TestPauses.)

        for response in answers:
            assert response.status_code == 404
            assert "010160" not in response.text
            assert "socialret" in response.json()["error"]["message"]  # the known areas

    def test_an_unknown_type_is_masked_in_the_answer(self, client: TestClient) -> None:
        answers = [
            put(client, "socialret", state="onboarded", fordringstype="0101601234"),
            pause(client, auth("ops"), fordringstype="0101601234"),
        ]

        for response in answers:
            assert response.status_code == 422
            assert "0101601234" not in response.text


class TestRequeue:
    @pytest.mark.parametrize("transfer_id", [2**70, 2**63, 0, -1])
    def test_an_id_no_transfer_can_have_is_422_at_its_place(
        self, client: TestClient, transfer_id: int
    ) -> None:
        response = client.post(
            "/v1/ops/requeue", json={"transfer_ids": [1, transfer_id]}, headers=auth("ops")
        )

        assert response.status_code == 422
        assert response.json()["error"]["problems"][0]["source_path"] == "body/transfer_ids/1"


def set_clock(client: TestClient, **body: Any) -> Any:
    return client.post("/v1/ops/clock", json=body, headers=auth("admin"))


class TestClockControl:
    def test_a_time_without_a_utc_offset_is_422(self, staff: TestClient) -> None:
        response = set_clock(staff, now="2026-12-07T10:00:00")

        assert response.status_code == 422
        problem = response.json()["error"]["problems"][0]
        assert problem["source_path"] == "body/now"
        assert "timezone" in problem["message"]

    @pytest.mark.parametrize(
        "now",
        [
            "9999-12-31T23:59:59Z",
            "0001-01-01T00:00:00+01:00",
            "1899-12-31T12:00:00Z",
            "2199-12-31T23:30:00Z",  # already 2200 in Copenhagen
        ],
    )
    def test_a_time_beyond_the_dates_the_rules_hold_is_422(
        self, staff: TestClient, clock: Clock, now: str
    ) -> None:
        response = set_clock(staff, now=now)

        assert response.status_code == 422
        problem = response.json()["error"]["problems"][0]
        assert problem["source_path"] == "body/now"
        assert "1900-01-01" in problem["message"]
        assert "2199-12-31" in problem["message"]
        assert clock.now() == TODAY

    def test_advancing_by_more_days_than_the_range_holds_is_422(self, staff: TestClient) -> None:
        response = set_clock(staff, advance_days=100_000_000)

        assert response.status_code == 422
        assert response.json()["error"]["problems"][0]["source_path"] == "body/advance_days"

    def test_advancing_past_the_last_date_is_422_and_leaves_the_clock(
        self, staff: TestClient, clock: Clock
    ) -> None:
        response = set_clock(staff, now="2199-12-30T12:00:00Z", advance_days=5)

        assert response.status_code == 422
        problem = response.json()["error"]["problems"][0]
        assert problem["code"] == "clock.out_of_range"
        assert problem["field"] == "advance_days"
        assert clock.now() == TODAY

    def test_the_first_and_the_last_date_may_be_set(self, staff: TestClient) -> None:
        first = set_clock(staff, now="1900-01-01T12:00:00+01:00")
        last = set_clock(staff, now="2199-12-30T12:00:00Z", advance_days=1)

        assert first.json()["today"] == "1900-01-01"
        assert last.json()["today"] == "2199-12-31"


def readme_roles(endpoint: str) -> str:
    """Return who may call `endpoint` by the README's API table (the row naming it first)."""
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if len(cells) == 3 and cells[0].startswith(f"`{endpoint}"):
            return cells[1]
    raise AssertionError(f"README's API table has no row beginning with {endpoint}")


NO_ID = "00000000-0000-0000-0000-000000000000"
# (method, path, body, the endpoint as README's table begins its row)
READS = [
    ("GET", "/v1/ops/queue", None, "GET /v1/ops/queue"),
    ("GET", "/v1/ops/limitation-watch", None, "GET /v1/ops/limitation-watch"),
    ("GET", "/v1/ops/onboarding", None, "GET /v1/ops/onboarding"),
    ("GET", "/v1/ops/onboarding/history", None, "GET /v1/ops/onboarding"),
    ("POST", "/v1/ops/onboarding/socialret/dry-run", None, "POST /v1/ops/onboarding/{area}/dry"),
    ("GET", "/v1/ops/pauses", None, "GET /v1/ops/pauses"),
    ("GET", "/v1/ops/dead-letters", None, "GET /v1/ops/dead-letters"),
    ("GET", "/v1/ops/hearings", None, "GET /v1/ops/hearings"),
]
WRITES = [
    ("PUT", "/v1/ops/onboarding/socialret", {"state": "onboarded"}, "PUT /v1/ops/onboarding"),
    ("POST", "/v1/ops/pauses", {"reason": "x"}, "POST /v1/ops/pauses"),
    ("POST", f"/v1/ops/pauses/{NO_ID}/resume", {}, "POST /v1/ops/pauses"),
    ("POST", "/v1/ops/requeue", {"all": True}, "POST /v1/ops/requeue"),
    ("POST", f"/v1/ops/hearings/{NO_ID}", {"decision": "confirm"}, "POST /v1/ops/hearings"),
    ("POST", "/v1/ops/sweep", None, "POST /v1/ops/sweep"),
    ("POST", "/v1/ops/clock", {"reset": True}, "POST /v1/ops/clock"),
]


class TestRoles:
    @pytest.mark.parametrize(("method", "path", "body", "row"), READS, ids=[r[1] for r in READS])
    def test_an_auditor_reads_what_operations_read_as_the_readme_says(
        self, staff: TestClient, method: str, path: str, body: Any, row: str
    ) -> None:
        response = staff.request(method, path, json=body, headers=AUDITOR)

        assert response.status_code == 200, response.text
        assert "auditor" in readme_roles(row)

    @pytest.mark.parametrize(("method", "path", "body", "row"), WRITES, ids=[r[1] for r in WRITES])
    def test_an_auditor_changes_nothing_as_the_readme_says(
        self, staff: TestClient, method: str, path: str, body: Any, row: str
    ) -> None:
        response = staff.request(method, path, json=body, headers=AUDITOR)

        assert response.status_code == 403, response.text
        assert "auditor" not in readme_roles(row)
