"""Logging set-up: one format, and CPR-shaped numbers masked in every record, whatever logs it."""

from __future__ import annotations

import logging

from app.domain.identifiers import redact_cpr_like


class RedactCpr(logging.Filter):
    """Mask anything shaped like a CPR number before a record is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_cpr_like(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def configure(level: str = "INFO") -> None:
    """Log to stderr with timestamps in UTC, CPR numbers masked."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s", "%Y-%m-%dT%H:%M:%S%z")
    )
    handler.addFilter(RedactCpr())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # One line per outbound request is noise; failures are logged by the worker itself.
    logging.getLogger("httpx").setLevel(logging.WARNING)
