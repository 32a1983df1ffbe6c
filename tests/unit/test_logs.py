"""The log filter: no CPR number, and none of the data a database error quotes."""

from __future__ import annotations

import logging

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
