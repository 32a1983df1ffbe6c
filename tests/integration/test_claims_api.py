"""Reading claims over HTTP: the received date filter, CPR masking at any depth, unknown filters.

Runs on SQLite and PostgreSQL. Claims come in through KY intake, so what is read is what intake
really stored, rejected claims' raw fields included.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from app.clock import Clock
from tests.builders import auth, ky_claim

JSON = {"Content-Type": "application/json"}
CPR_IN_TEXT = re.compile(r"(?<!\d)\d{6}-?\d{4}(?!\d)")


def post(client: TestClient, message_id: str, *claims: dict[str, Any]) -> list[dict[str, Any]]:
    body = json.dumps({"messageId": message_id, "claims": list(claims)}).encode()
    response = client.post("/v1/intake/ky", content=body, headers={**auth("ky"), **JSON})
    assert response.status_code == 202, response.text
    results: list[dict[str, Any]] = response.json()["claims"]
    return results


def listed(client: TestClient, **params: str) -> Any:
    return client.get("/v1/claims", params={"limit": "500", **params}, headers=auth("ops"))


def references(client: TestClient, **params: str) -> list[str]:
    response = listed(client, **params)
    assert response.status_code == 200, response.text
    return sorted(item["source_reference"] for item in response.json()["items"])


def one_problem(response: Any) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    body = response.json()["error"]
    assert body["code"] == "request.invalid"
    [problem] = body["problems"]
    result: dict[str, Any] = problem
    return result


class TestReceivedDates:
    @pytest.fixture
    def received(self, client: TestClient, clock: Clock) -> None:
        """One claim just before, at the start of, at the end of and just after 4 December."""
        for reference, instant in [
            ("DEC-3-LAST", "2026-12-03T22:59:59+00:00"),  # 23:59:59 in Copenhagen (CET)
            ("DEC-4-FIRST", "2026-12-03T23:00:00+00:00"),  # 00:00:00 on 4 December
            ("DEC-4-LAST", "2026-12-04T22:59:59+00:00"),
            ("DEC-5-FIRST", "2026-12-04T23:00:00+00:00"),
        ]:
            clock.set(dt.datetime.fromisoformat(instant))
            post(client, f"M-{reference}", ky_claim(reference))

    @pytest.mark.usefixtures("received")
    def test_a_date_is_that_whole_day_in_copenhagen(self, client: TestClient) -> None:
        day = "2026-12-04"

        assert references(client, received_from=day, received_to=day) == [
            "DEC-4-FIRST",
            "DEC-4-LAST",
        ]
        assert references(client, received_from=day) == ["DEC-4-FIRST", "DEC-4-LAST", "DEC-5-FIRST"]
        assert references(client, received_to="2026-12-03") == ["DEC-3-LAST"]

    def test_a_date_in_summer_time_starts_at_midnight_cest(
        self, client: TestClient, clock: Clock
    ) -> None:
        clock.set(dt.datetime(2026, 6, 30, 21, 59, 59, tzinfo=dt.UTC))  # 23:59:59 CEST
        post(client, "M-JUN-30", ky_claim("JUN-30-LAST"))
        clock.set(dt.datetime(2026, 6, 30, 22, 0, tzinfo=dt.UTC))  # 1 July 00:00 CEST
        post(client, "M-JUL-1", ky_claim("JUL-1-FIRST"))

        assert references(client, received_from="2026-07-01") == ["JUL-1-FIRST"]
        assert references(client, received_to="2026-06-30") == ["JUN-30-LAST"]

    @pytest.mark.usefixtures("received")
    def test_a_date_time_with_an_offset_is_from_inclusive_to_exclusive(
        self, client: TestClient
    ) -> None:
        start, end = "2026-12-04T00:00:00+01:00", "2026-12-04T23:59:59+01:00"

        assert references(client, received_from=start, received_to=end) == ["DEC-4-FIRST"]
        assert references(client, received_from="2026-12-04T22:59:59Z") == [
            "DEC-4-LAST",
            "DEC-5-FIRST",
        ]

    @pytest.mark.parametrize("name", ["received_from", "received_to"])
    def test_a_date_time_without_an_offset_is_422(self, client: TestClient, name: str) -> None:
        problem = one_problem(listed(client, **{name: "2026-12-04T14:34:00"}))

        assert problem["source_path"] == f"query/{name}"
        assert problem["code"] == "request.timezone_aware"
        assert "offset" in problem["message"]
        assert "Z" in problem["message"]
        assert "+01:00" in problem["message"]

    # "1" and "20261204" were read as seconds since 1970 (an outside probe).
    @pytest.mark.parametrize(
        "value", ["yesterday", "2026-02-30", "2026-13-01T00:00:00Z", "1", "20261204", "1e9"]
    )
    def test_neither_a_date_nor_a_date_time_is_422(self, client: TestClient, value: str) -> None:
        problem = one_problem(listed(client, received_from=value))

        assert problem["source_path"] == "query/received_from"
        assert problem["code"] == "request.datetime_parsing"

    @pytest.mark.parametrize("value", ["9999-12-31", "0001-01-01", "0001-01-01T00:00:00+01:00"])
    def test_a_bound_beyond_the_calendar_is_422_not_500(
        self, client: TestClient, value: str
    ) -> None:
        name = "received_to" if value.startswith("9999") else "received_from"

        problem = one_problem(listed(client, **{name: value}))

        assert problem["source_path"] == f"query/{name}"
        # A date it is: not "must be a date" but where the bounds lie (an outside probe).
        assert problem["code"] == "request.datetime_range"
        assert "0001-01-02 to 9999-12-30" in problem["message"]

    @pytest.mark.parametrize(
        ("start", "end"),
        [("2026-12-10", "2026-12-01"), ("2026-12-04T12:00:00Z", "2026-12-04T12:00:00Z")],
    )
    def test_bounds_the_wrong_way_round_are_422_not_an_empty_page(
        self, client: TestClient, start: str, end: str
    ) -> None:
        problem = one_problem(listed(client, received_from=start, received_to=end))

        assert (problem["code"], problem["source_path"]) == (
            "request.range_reversed",
            "query/received_from",
        )

    def test_one_day_from_and_to_is_that_day(self, client: TestClient) -> None:
        assert listed(client, received_from="2026-12-04", received_to="2026-12-04").status_code == (
            200
        )

    def test_the_api_document_explains_the_date_bounds(self, client: TestClient) -> None:
        document = client.get("/openapi.json").json()
        parameters = {p["name"]: p for p in document["paths"]["/v1/claims"]["get"]["parameters"]}

        received_from = parameters["received_from"]["description"]
        received_to = parameters["received_to"]["description"]
        assert "Copenhagen" in received_from
        assert "inclusive" in received_from
        assert "Copenhagen" in received_to
        assert "whole" in received_to
        assert "exclusive" in received_to
        assert "offset" in received_from
        assert "offset" in received_to


class TestNoCprLeaves:
    def read_both(self, client: TestClient, claim_id: str) -> list[Any]:
        one = client.get(f"/v1/claims/{claim_id}", headers=auth("ops"))
        assert one.status_code == 200
        page = listed(client)
        assert "1503851004" not in one.text
        assert "150385-1004" not in one.text
        assert "1503851004" not in page.text
        assert "150385-1004" not in page.text
        [from_list] = [item for item in page.json()["items"] if item["id"] == claim_id]
        assert from_list == one.json()
        return [one.json()]

    def test_a_cpr_sent_as_a_number_is_masked(self, client: TestClient) -> None:
        citizen = {"cpr": 1503851004, "name": "Hans Hansen"}
        results = post(client, "M-1", ky_claim("OK-1"), ky_claim("NUM-1", citizen=citizen))

        [claim] = self.read_both(client, results[1]["claim_id"])

        assert claim["state"] == "invalid"
        debtor = claim["claim"]["liabilities"][0]
        assert debtor["debtor_id"] == "150385-****"

    def test_a_citizen_sent_as_an_array_is_masked(self, client: TestClient) -> None:
        results = post(client, "M-2", ky_claim("OK-2"), ky_claim("ARR-2", citizen=["1503851004"]))

        [claim] = self.read_both(client, results[1]["claim_id"])

        assert claim["claim"]["liabilities"] == [["150385-****"]]

    def test_numbers_nested_deeper_are_masked_too(self, client: TestClient) -> None:
        co_debtors = [{"cpr": [1503851004, {"x": "150385-1004"}]}]
        results = post(client, "M-3", ky_claim("OK-3"), ky_claim("DEEP-3", coDebtors=co_debtors))

        self.read_both(client, results[1]["claim_id"])

    @pytest.mark.parametrize(
        ("reference", "shown"),
        [("CT30-1503851004", "CT30-150385-****"), ("REF-150385-1004", "REF-150385-****")],
    )
    def test_a_cpr_in_the_reference_is_masked(
        self, client: TestClient, reference: str, shown: str
    ) -> None:
        results = post(client, "M-4", ky_claim("OK-4"), ky_claim(reference))

        [claim] = self.read_both(client, results[1]["claim_id"])

        assert claim["state"] == "invalid"
        assert claim["source_reference"] == shown
        assert claim["claim"]["source_reference"] == shown

    def test_ten_digits_that_hold_no_date_are_left_alone(self, client: TestClient) -> None:
        [result] = post(client, "M-5", ky_claim("REF-9999999999"))

        claim = client.get(f"/v1/claims/{result['claim_id']}", headers=auth("ops")).json()

        assert claim["source_reference"] == "REF-9999999999"

    def test_a_valid_claim_is_masked_as_before(self, client: TestClient) -> None:
        [result] = post(client, "M-6", ky_claim("OK-6"))

        claim = client.get(f"/v1/claims/{result['claim_id']}", headers=auth("ops")).json()

        [debtor] = claim["claim"]["liabilities"]
        assert debtor["debtor_kind"] == "CPR"
        assert debtor["debtor_id"] == "010150-****"
        # The claim's own id is left out: a random UUID may hold ten digits in a row.
        shown = json.dumps({key: value for key, value in claim.items() if key != "id"})
        assert not CPR_IN_TEXT.search(shown)

    def test_names_are_shown_for_rejected_claims_as_for_valid_ones(
        self, client: TestClient
    ) -> None:
        rejected = ky_claim("NUM-7", citizen={"cpr": 1503851004, "name": "Hans Hansen"})
        results = post(client, "M-7", ky_claim("OK-7"), rejected)

        names = []
        for result in results:
            claim = client.get(f"/v1/claims/{result['claim_id']}", headers=auth("ops")).json()
            names.append(claim["claim"]["liabilities"][0]["debtor_name"])

        assert names == ["Mette Jensen", "Hans Hansen"]


def test_a_claim_is_read_with_its_holds_and_psrm_errors(client: TestClient) -> None:
    # The README promised state, holds and problems; holds were only in /readiness.
    [result] = post(client, "M-HOLDS", ky_claim("HOLDS-1"))

    claim = client.get(f"/v1/claims/{result['claim_id']}", headers=auth("ops")).json()
    [in_list] = listed(client, source="ky").json()["items"]

    assert claim["state"] == "held"
    assert claim["holds"] == result["holds"] == in_list["holds"]
    assert "area_not_onboarded" in claim["holds"]
    assert claim["psrm_errors"] == []


class TestUnknownFilterValues:
    @pytest.mark.parametrize(
        ("name", "value", "listed_values"),
        [
            ("state", "bogus", ["invalid", "held", "queued", "at_psrm", "recalled"]),
            ("business_area", "nope", ["socialret", "daginstitution", "parkering"]),
            ("fordringstype", "NOPE", ["KTTIBAK", "KTNEBOF"]),
            ("source", "nope", ["ky", "ksd", "oir"]),
        ],
    )
    def test_an_unknown_value_is_422_listing_the_known_ones(
        self, client: TestClient, name: str, value: str, listed_values: list[str]
    ) -> None:
        problem = one_problem(listed(client, **{name: value}))

        assert problem["source_path"] == f"query/{name}"
        assert problem["code"] == "request.enum"
        assert name in problem["message"]
        # Repeated only when it reads as a code (`shown_value`): a lower-case word may be a name.
        assert (repr(value) in problem["message"]) == (value == "NOPE")
        for known in listed_values:
            assert known in problem["message"]

    def test_a_name_in_a_filter_is_not_repeated(self, client: TestClient) -> None:
        # Only the caller's own text, but a name all the same (an outside probe).
        problem = one_problem(listed(client, business_area="Mette Hansen"))

        assert problem["code"] == "request.enum"
        assert "Mette" not in problem["message"]

    def test_every_unknown_value_is_reported_at_once(self, client: TestClient) -> None:
        response = listed(
            client, state="bogus", business_area="nope", received_from="2026-12-04T14:34:00"
        )

        assert response.status_code == 422
        paths = [p["source_path"] for p in response.json()["error"]["problems"]]
        assert paths == ["query/business_area", "query/state", "query/received_from"]

    def test_a_bad_limit_and_cursor_are_reported_with_the_rest(self, client: TestClient) -> None:
        # The limit was checked before anything else and alone; a bad cursor had no problem.
        response = client.get(
            "/v1/claims",
            params={"limit": "0", "state": "nope", "cursor": "garbage"},
            headers=auth("ops"),
        )

        assert response.status_code == 422
        problems = response.json()["error"]["problems"]
        assert [(p["code"], p["source_path"]) for p in problems] == [
            ("request.enum", "query/state"),
            ("request.cursor", "query/cursor"),
            ("request.limit", "query/limit"),
        ]

    @pytest.mark.parametrize(
        "position",
        [
            ["2026-12-07T09:41:05", "00000000-0000-0000-0000-000000000001"],  # no offset
            ["2026-12-07", "00000000-0000-0000-0000-000000000001"],
            ["0001-01-01T00:00:00+01:00", "00000000-0000-0000-0000-000000000001"],
            ["9999-12-31T23:59:59-01:00", "00000000-0000-0000-0000-000000000001"],
            ["2026-12-07T09:41:05+00:00", {"x": 1}],
            [1, 2],
            {"a": 1},
        ],
    )
    def test_a_tampered_cursor_is_422_not_500(self, client: TestClient, position: Any) -> None:
        # Each of these was a 500 (an outside probe).
        cursor = base64.urlsafe_b64encode(orjson.dumps(position)).decode().rstrip("=")

        problem = one_problem(listed(client, cursor=cursor))

        assert (problem["code"], problem["source_path"]) == ("request.cursor", "query/cursor")

    def test_known_values_still_filter(self, client: TestClient) -> None:
        post(client, "M-8", ky_claim("OK-8"), ky_claim("CT30-1503851004"))

        assert references(client, state="held") == ["OK-8"]
        assert references(client, state="invalid") == ["CT30-150385-****"]
        # A rejected claim of a known type is in its type's area too (it had none, so a
        # filter on the area missed it: an outside probe).
        assert references(client, business_area="socialret") == ["CT30-150385-****", "OK-8"]
        assert references(client, business_area="parkering") == []
        assert references(client, fordringstype="KTTIBAK") == ["CT30-150385-****", "OK-8"]

    def test_the_api_document_names_the_accepted_states(self, client: TestClient) -> None:
        document = client.get("/openapi.json").json()
        parameters = {p["name"]: p for p in document["paths"]["/v1/claims"]["get"]["parameters"]}

        assert "at_psrm" in parameters["state"]["description"]
        assert "catalogue" in parameters["business_area"]["description"]
        assert "catalogue" in parameters["fordringstype"]["description"]
