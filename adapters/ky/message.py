"""Reading a KY message: JSON bytes to the envelope, refusing only what breaks the envelope.

The envelope (`messageId`, `sentAt`, `claimantId`, and `claims` or `claim`) is checked here; each
claim is kept as the raw JSON object it is, for `adapters.ky.mapping` to map and check one by
one, so a broken claim rejects that claim only.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from adapters.base import MessageContractError, MessageParseError, not_personal
from app.domain.identifiers import contains_cpr_like, redact_cpr_like
from app.domain.problems import Problem

MEDIA_TYPE = "application/json"
MAX_CLAIMS = 10_000
ENVELOPE_KEYS = frozenset({"messageId", "sentAt", "claimantId", "claims", "claim"})

_MESSAGE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,64}")
_CLAIMANT_ID = re.compile(r"\d{4}")
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")
_LONE_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


@dataclass(frozen=True, slots=True)
class KyMessage:
    """A KY message whose envelope keeps the contract; its claims are still raw JSON values."""

    message_id: str
    sent_at: dt.datetime | None
    claimant_id: str | None
    claims: tuple[Any, ...]
    single: bool = False

    def claim_path(self, index: int) -> str:
        """Return the JSON pointer of the claim at `index` (`/claims/3`, or `/claim`)."""
        return "/claim" if self.single else f"/claims/{index}"


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKeyError(key)
            seen.add(key)
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(item) for item in value)
    return False


def load_json(raw: bytes) -> Any:
    """Decode UTF-8 JSON bytes, numbers with a fraction or exponent as `Decimal`.

    Raises:
        MessageParseError: empty, not UTF-8, not well-formed JSON, a member name twice in one
            object, NaN/Infinity, or an escaped lone surrogate (text that is not Unicode).
    """
    try:
        text = raw.decode("utf-8-sig")  # a leading byte order mark is tolerated
    except UnicodeDecodeError as exc:
        raise MessageParseError(
            "the message is not UTF-8",
            [Problem(code="json.encoding", message=f"not UTF-8 at byte {exc.start}")],
        ) from exc
    if not text.strip():
        raise MessageParseError(
            "the message is empty", [Problem(code="json.empty", message="the body is empty")]
        )
    try:
        data = json.loads(
            text,
            parse_float=Decimal,
            parse_constant=_no_constant,
            object_pairs_hook=_unique_keys,
        )
    except json.JSONDecodeError as exc:
        raise MessageParseError(
            "the message is not well-formed JSON",
            [
                Problem(
                    code="json.malformed",
                    message=exc.msg,
                    source_path=f"line {exc.lineno}, column {exc.colno}",
                )
            ],
        ) from exc
    except _DuplicateKeyError as exc:
        name = redact_cpr_like(exc.key)[:64]
        raise MessageParseError(
            "the message has a member name twice in one object",
            [
                Problem(
                    code="json.duplicate_member",
                    message=f"the member {name!r} appears twice in one object",
                )
            ],
        ) from exc
    except (ValueError, RecursionError) as exc:  # NaN/Infinity, huge integers, deep nesting
        raise MessageParseError(
            "the message is not JSON kravbro can read",
            [Problem(code="json.malformed", message=redact_cpr_like(str(exc))[:200])],
        ) from exc
    if _LONE_SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(data):
        raise MessageParseError(
            "the message holds text that is not Unicode",
            [Problem(code="json.encoding", message="an escaped lone surrogate (\\uD800-\\uDFFF)")],
        )
    return data


def _pointer_key(key: str) -> str:
    return redact_cpr_like(key).replace("~", "~0").replace("/", "~1")


def _envelope_problems(data: dict[str, Any]) -> list[Problem]:
    problems = [
        Problem(code="field.unknown", message="unknown member", source_path=f"/{_pointer_key(k)}")
        for k in data
        if k not in ENVELOPE_KEYS
    ]
    message_id = data.get("messageId")
    if message_id is None:
        problems.append(
            Problem(code="field.missing", message="messageId is required", source_path="/messageId")
        )
    elif not isinstance(message_id, str) or not _MESSAGE_ID.fullmatch(message_id):
        problems.append(
            Problem(
                code="message_id.invalid",
                message="messageId must be 1-64 characters of A-Z, a-z, 0-9 and . _ : -",
                source_path="/messageId",
                value=not_personal(message_id) if isinstance(message_id, str) else None,
            )
        )
    elif contains_cpr_like(message_id):
        problems.append(
            Problem(
                code="message_id.personal_data",
                message="messageId must not contain a CPR number",
                source_path="/messageId",
            )
        )
    sent_at = data.get("sentAt")
    if sent_at is not None and _sent_at(sent_at) is None:
        problems.append(
            Problem(
                code="date_time.invalid",
                message="sentAt must be an RFC 3339 date-time with an offset",
                source_path="/sentAt",
                value=not_personal(sent_at) if isinstance(sent_at, str) else None,
            )
        )
    claimant_id = data.get("claimantId")
    if claimant_id is not None and not (
        isinstance(claimant_id, str) and _CLAIMANT_ID.fullmatch(claimant_id)
    ):
        problems.append(
            Problem(
                code="claimant_id.invalid",
                message="claimantId must be a fordringshaver-ID of 4 digits, as text",
                source_path="/claimantId",
                value=not_personal(claimant_id),
            )
        )
    problems.extend(_claims_problems(data))
    return problems


def _claims_problems(data: dict[str, Any]) -> list[Problem]:
    if "claims" in data and "claim" in data:
        return [
            Problem(
                code="message.claims_and_claim",
                message="send either claims (an array) or claim (one object), not both",
                source_path="/claim",
            )
        ]
    if "claim" in data:
        return []  # whatever it holds is that claim's problem, not the envelope's
    claims = data.get("claims")
    if "claims" not in data:
        return [
            Problem(
                code="field.missing",
                message="claims (an array) or claim (one object) is required",
                source_path="/claims",
            )
        ]
    if not isinstance(claims, list):
        return [
            Problem(
                code="field.wrong_type", message="claims must be an array", source_path="/claims"
            )
        ]
    if not claims:
        return [
            Problem(
                code="claims.empty",
                message="claims must hold at least one claim",
                source_path="/claims",
            )
        ]
    if len(claims) > MAX_CLAIMS:
        return [
            Problem(
                code="claims.too_many",
                message=f"at most {MAX_CLAIMS} claims in one message",
                source_path="/claims",
                value=str(len(claims)),
            )
        ]
    return []


def _sent_at(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not _DATE_TIME.fullmatch(value):
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None


def parse(raw: bytes) -> KyMessage:
    """Parse a KY message: check its envelope and keep its claims for mapping.

    Raises:
        MessageParseError: the bytes are not UTF-8 JSON (see `load_json`).
        MessageContractError: the JSON is not an object, or its envelope breaks the contract
            (messageId, sentAt, claimantId, claims/claim, an unknown member); every breach is
            listed, none with a personal value.
    """
    data = load_json(raw)
    if not isinstance(data, dict):
        raise MessageContractError(
            "a KY message must be a JSON object",
            [
                Problem(
                    code="message.not_object",
                    message="the message must be a JSON object",
                    source_path="",
                )
            ],
        )
    problems = _envelope_problems(data)
    if problems:
        raise MessageContractError("the message envelope breaks the KY contract", problems)
    single = "claims" not in data
    return KyMessage(
        message_id=data["messageId"],
        sent_at=_sent_at(data.get("sentAt")),
        claimant_id=data.get("claimantId"),
        claims=(data["claim"],) if single else tuple(data["claims"]),
        single=single,
    )


def message_id(message: KyMessage) -> str:
    """Return the message's own id, the key that makes a resend harmless."""
    return message.message_id
