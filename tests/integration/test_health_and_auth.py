"""Health checks, authentication and roles, on both database backends."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from app.db.session import Database
from app.main import create_app
from app.settings import ApiKey
from tests.builders import auth
from tests.conftest import make_settings


class TestHealth:
    def test_healthz_needs_no_key(self, client: TestClient) -> None:
        response = client.get("/healthz")

        assert response.status_code == 200
        assert response.json() == {"status": "ok"}

    def test_readyz_reports_database_and_migrations(self, client: TestClient) -> None:
        response = client.get("/readyz")

        assert response.status_code == 200
        assert response.json()["checks"] == {"database": "ok", "migrations": "current"}

    @pytest.mark.parametrize("path", ["/healthz", "/readyz"])
    def test_a_load_balancers_head_request_is_answered_without_a_body(
        self, client: TestClient, path: str
    ) -> None:
        response = client.head(path)

        assert response.status_code == 200
        assert response.content == b""

    def test_a_head_request_is_503_while_the_database_is_not_migrated(self, tmp_path: Path) -> None:
        empty = Database(f"sqlite:///{tmp_path / 'empty.db'}")
        app = create_app(make_settings(empty.url, worker_embedded=False), database=empty)

        with TestClient(app) as unmigrated:
            head, get = unmigrated.head("/readyz"), unmigrated.get("/readyz")
        empty.dispose()

        assert (head.status_code, head.content) == (503, b"")
        assert get.status_code == 503
        assert get.json()["checks"]["migrations"] == "behind"


class TestAuthentication:
    def test_no_key_is_401_with_bearer_challenge(self, client: TestClient) -> None:
        response = client.get("/v1/claims")

        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["error"]["code"] == "auth.missing_or_invalid_key"

    def test_unknown_key_is_401(self, client: TestClient) -> None:
        response = client.get("/v1/claims", headers={"Authorization": "Bearer not-a-key"})

        assert response.status_code == 401

    def test_basic_auth_is_not_a_key(self, client: TestClient) -> None:
        response = client.get("/v1/claims", headers={"Authorization": "Basic ZGVtbzpkZW1v"})

        assert response.status_code == 401

    def test_fagsystem_may_not_post_to_another_source(self, client: TestClient) -> None:
        response = client.post(
            "/v1/intake/ksd", content=b"<x/>", headers={**auth("ky"), "Content-Type": "text/xml"}
        )

        assert response.status_code == 403
        assert response.json()["error"]["code"] == "auth.forbidden"

    def test_a_message_without_a_key_is_refused_before_its_body_is_read(
        self, client: TestClient
    ) -> None:
        too_large = b"{" + b" " * (11 * 1024 * 1024) + b"}"  # above the 10 MB limit

        response = client.post(
            "/v1/intake/ky", content=too_large, headers={"Content-Type": "application/json"}
        )

        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"

    def test_operations_may_not_post_claims(self, client: TestClient) -> None:
        response = client.post(
            "/v1/intake/ky",
            content=b"{}",
            headers={**auth("ops"), "Content-Type": "application/json"},
        )

        assert response.status_code == 403

    def test_fagsystem_may_not_list_another_source(self, client: TestClient) -> None:
        response = client.get("/v1/claims", params={"source": "ksd"}, headers=auth("ky"))

        assert response.status_code == 403

    def test_unknown_source_is_404(self, client: TestClient) -> None:
        response = client.post("/v1/intake/sap", content=b"{}", headers=auth("admin"))

        assert response.status_code == 404
        assert "ky, ksd, oir" in response.json()["error"]["message"]

    def test_unknown_claim_is_404(self, client: TestClient) -> None:
        response = client.get(f"/v1/claims/{uuid.uuid4()}", headers=auth("ops"))

        assert response.status_code == 404

    def test_bad_query_parameter_is_422_in_the_one_error_shape(self, client: TestClient) -> None:
        response = client.get("/v1/claims", params={"limit": "lots"}, headers=auth("ops"))

        assert response.status_code == 422
        problem = response.json()["error"]["problems"][0]
        assert problem["source_path"] == "query/limit"
        assert "lots" not in response.text


@pytest.mark.parametrize(
    "key",
    [
        ApiKey(principal="nobody", roles=[], key=SecretStr("no-roles-key")),
        ApiKey(principal="sourceless", roles=["fagsystem"], key=SecretStr("sourceless-key")),
    ],
    ids=["no-roles", "fagsystem-without-source"],
)
def test_a_key_whose_roles_read_no_claims_is_403(database: Database, key: ApiKey) -> None:
    # It was a 422 "source '-' is unknown" (an internal value) for the list, and a 404 for a
    # claim by id (an outside probe).
    app = create_app(make_settings(database.url, api_keys=[key]), database=database)
    headers = {"Authorization": f"Bearer {key.key.get_secret_value()}"}
    with TestClient(app) as client:
        listed = client.get("/v1/claims", headers=headers)
        one = client.get(f"/v1/claims/{uuid.uuid4()}", headers=headers)

    assert (listed.status_code, one.status_code) == (403, 403)
    assert "'-'" not in listed.text


class TestApiDocument:
    def test_the_intake_route_documents_its_key_and_every_format_it_takes(
        self, client: TestClient
    ) -> None:
        operation = client.get("/openapi.json").json()["paths"]["/v1/intake/{source}"]["post"]

        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
        assert "Authorization" in headers
        (path,) = [p for p in operation["parameters"] if p["in"] == "path"]
        assert (path["name"], path["required"]) == ("source", True)
        assert path["schema"]["enum"] == ["ky", "ksd", "oir"]
        assert set(operation["requestBody"]["content"]) == {
            "application/json",
            "application/xml",
            "text/xml",
            "application/soap+xml",
        }
        assert {"202", "401", "409", "413", "422"} <= set(operation["responses"])


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_the_intake_route_refuses_other_methods_in_the_one_error_shape(
    client: TestClient, method: str
) -> None:
    # The route is served ahead of FastAPI's routing (`intake.served_first`); a wrong method
    # still gets the app's own 405, with the method it takes.
    response = client.request(method, "/v1/intake/ky", headers=auth("ky"))

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize("path", ["/v1/intake/0101901234", "/v1/intake/010190-1234/adjustments"])
def test_an_unknown_source_is_404_without_repeating_it(client: TestClient, path: str) -> None:
    response = client.post(path, headers=auth("admin"), content=b"{}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert "0101" not in response.text
