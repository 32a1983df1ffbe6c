"""The log filter: no CPR number, and none of the data a database error quotes."""

from __future__ import annotations

import logging

from app import logs
from app.logs import RedactCpr


def _written(record: logging.LogRecord) -> str:
    assert RedactCpr().filter(record)
    return logging.Formatter().format(record)


def _record(message: str, exc_info: object = None) -> logging.LogRecord:
    return logging.LogRecord("t", logging.ERROR, __file__, 1, message, None, exc_info)  # type: ignore[arg-type]


def test_cpr_numbers_are_masked_in_messages() -> None:
    assert "010190-****" in _written(_record("claim for 0101901234"))
    assert "0101901234" not in _written(_record("claim for 0101901234"))


def test_a_database_errors_detail_and_context_are_left_out_of_a_traceback() -> None:
    # psycopg's text of PostgreSQL's error: its first line says what went wrong, the DETAIL
    # and CONTEXT lines quote the row (a name, here).
    error = ValueError(
        'duplicate key value violates unique constraint "claim_source_reference_key"\n'
        "DETAIL:  Key (source, source_reference)=(ky, Mette Hansen) already exists.\n"
        'CONTEXT:  JSON data, line 1: {"debtor_name":"Mette Hansen'
    )
    try:
        raise error
    except ValueError as caught:
        written = _written(_record("internal error", (type(caught), caught, caught.__traceback__)))

    assert "Mette" not in written
    assert "duplicate key value violates unique constraint" in written
    assert "ValueError" in written


def test_a_message_keeps_every_line_but_a_databases_quotes() -> None:
    written = _written(_record("first\nDETAIL:  Key (a)=(Mette Hansen)\nlast"))

    assert written == "first\nlast"


def test_an_access_line_shows_the_apps_words_and_codes_but_no_callers_words() -> None:
    # uvicorn's access record; the caller's own words in a path or a filter were logged as
    # they came (an outside probe: `GET /v1/claims?state=Mette+Sorensen`).
    logs.known_words(["v1", "claims", "ops", "onboarding", "state", "limit", "socialret"])
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/v1/claims?state=Mette+Sorensen&limit=5", "1.1", 422),
        None,
    )

    written = _written(record)

    assert "Mette" not in written
    assert "Sorensen" not in written
    assert '"GET /v1/claims?state=…&limit=5 HTTP/1.1" 422' in written


def test_a_path_keeps_ids_codes_and_known_words_only() -> None:
    logs.known_words(["v1", "ops", "onboarding", "claims", "socialret"])

    assert logs.loggable_target("/v1/ops/onboarding/Mette Kjær") == "/v1/ops/onboarding/…"
    assert logs.loggable_target("/v1/ops/onboarding/hansen") == "/v1/ops/onboarding/…"
    assert logs.loggable_target("/v1/ops/onboarding/socialret") == "/v1/ops/onboarding/socialret"
    claim = "/v1/claims/0191a2b3-c4d5-7e6f-8a9b-0c1d2e3f4a5b"
    assert logs.loggable_target(claim) == claim
