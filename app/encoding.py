"""JSON encoding for responses and JSON columns: Decimals as strings, so no øre is lost."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import orjson
from pydantic import BaseModel


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


def _model_default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.__dict__
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def model_json(model: BaseModel, *, sort_keys: bool = False) -> bytes:
    """Serialise a model to the JSON of `model.model_dump(mode="json")`, by orjson alone.

    Only for models of plain fields, as the canonical claim's are: no serializers, aliases,
    computed or excluded fields (a test holds the two to the same bytes for the claim). For a
    1,000-claim message this takes half the time of dumping the model and then its dict.
    """
    option = orjson.OPT_SORT_KEYS if sort_keys else 0
    return orjson.dumps(model.__dict__, default=_model_default, option=option)
