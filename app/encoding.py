"""JSON encoding for responses and JSON columns: Decimals as strings, so no øre is lost."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import orjson


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps_bytes(value: Any) -> bytes:
    """Serialise to JSON bytes."""
    return orjson.dumps(value, default=_default)


def dumps(value: Any) -> str:
    """Serialise to JSON text."""
    return dumps_bytes(value).decode()
