"""Logging set-up: one format, and CPR-shaped numbers masked in every record, whatever logs it."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import unquote_plus

from app.domain.identifiers import redact_cpr_like
from app.domain.problems import shown_value

# PostgreSQL's error lines that quote the data a statement held: a unique violation's key
# (`DETAIL:  Key (source, source_reference)=(ky, ...) already exists.`), the JSON around a
# value it could not read (`CONTEXT:  JSON data, line 1: ..."debtor_name":"..."`). A name
# there is personal data no CPR mask finds (an outside probe found one in the log); what the
# error was stays in its first line and its class.
_DATABASE_DETAIL = re.compile(r"^(?:DETAIL|CONTEXT): .*(?:\n|$)", re.MULTILINE)


def _redacted(text: str) -> str:
    return redact_cpr_like(_DATABASE_DETAIL.sub("", text))


# Lower-case words an access log line may show of a request's path and query: the app's
# own (its routes' words, parameter names, sources, states, business areas), told once at
# start-up (`known_words`). Anything else a caller put there is shown as `…` unless it reads
# as a code or a number (`shown_value`): a name in a path or a filter is the caller's text,
# and an outside probe found `GET /v1/claims?state=Mette+Sorensen` logged as it came.
_KNOWN_WORDS: set[str] = set()
_ACCESS_LOGGER = "uvicorn.access"


def known_words(words: Iterable[str]) -> None:
    """Add words an access log line may show as they are (see `_KNOWN_WORDS`)."""
    _KNOWN_WORDS.update(words)


def _shown(text: str) -> str:
    text = unquote_plus(text)
    return text if text in _KNOWN_WORDS or shown_value(text) else "…"


def loggable_target(target: str) -> str:
    """Return a request's path and query as an access log line may show them."""
    path, question, query = target.partition("?")
    shown = "/".join(part and _shown(part) for part in path.split("/"))
    if question:
        pairs = (pair.partition("=") for pair in query.split("&"))
        shown += "?" + "&".join(f"{_shown(k)}{eq}{eq and _shown(v)}" for k, eq, v in pairs)
    return shown


class RedactCpr(logging.Filter):
    """Mask anything shaped like a CPR number before a record is written.

    And leave out what a database error quotes of the data (`_DATABASE_DETAIL`), and what
    an access log line would show of a caller's own words (`loggable_target`).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == _ACCESS_LOGGER and isinstance(record.args, tuple):
            # uvicorn's: client, method, path and query, HTTP version, status.
            args = list(record.args)
            if len(args) == 5 and isinstance(args[2], str):
                args[2] = loggable_target(args[2])
                record.args = tuple(args)
        message = record.getMessage()
        redacted = _redacted(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        # A traceback carries the exception's text: formatted here, masked, and kept, so the
        # formatter writes this text instead of formatting the exception again.
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = _redacted(record.exc_text)
        if record.stack_info:
            record.stack_info = _redacted(record.stack_info)
        return True


_FORMATTER = logging.Formatter()


def configure(level: str = "INFO") -> None:
    """Log to stderr with timestamps in UTC, CPR numbers masked."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s", "%Y-%m-%dT%H:%M:%S%z")
    )
    handler.addFilter(RedactCpr())
    # What the format does not show is not gathered for each record either (the logging
    # HOWTO's "Optimization"): intake logs a line per message, and at 16 concurrent clients
    # that line was a tenth of the server's CPU.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None  # no caller's file and line looked up: the format has none
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # One line per outbound request is noise; failures are logged by the worker itself.
    logging.getLogger("httpx").setLevel(logging.WARNING)
