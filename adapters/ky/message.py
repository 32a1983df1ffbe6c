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
from decimal import Decimal, InvalidOperation
from typing import Any

from adapters.base import MessageContractError, MessageParseError, not_personal
from app.domain.identifiers import contains_cpr_like, redact_cpr_like
from app.domain.problems import Problem

MEDIA_TYPE = "application/json"
MAX_CLAIMS = 10_000
# Arrays and objects may nest this deep. A valid message nests 6 levels (message, claims, claim,
# interestClaims, interest claim, period); the limit stays far below where reading or storing
# the JSON would run out of stack (Python's recursion limit, orjson's 255 levels).
MAX_DEPTH = 32
STRING_EXPECTED = "must be a string"
NUMBER_EXPECTED = "must be a number or a string of digits"
ENVELOPE_KEYS = frozenset({"messageId", "sentAt", "claimantId", "claims", "claim"})

_MESSAGE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,64}")
_CLAIMANT_ID = re.compile(r"[0-9]{4}")
_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})"
)
_LONE_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
# Every byte but the quote, the brackets and the colon, to be deleted: what is left is the
# nesting and the members. Brackets become braces: in well-formed JSON an opening next to a
# closing one is always a pair, of whichever kind.
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}:')
_BRACES = bytes.maketrans(b"[]", b"{}")
_STRING = re.compile(rb'"[^"]*"')
_UTF8_BOM = b"\xef\xbb\xbf"
# A JSON string (escapes included), or what else a refusal looks for outside strings.
_STRING_OR_CONSTANT = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|(-?Infinity|NaN)', re.DOTALL)
_STRING_OR_NUMBER = re.compile(
    r'"[^"\\]*(?:\\.[^"\\]*)*"|(-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)', re.DOTALL
)
_STRING_OR_BRACKET = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|([\[{])|[\]}]', re.DOTALL)


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


class _Twice:
    """An object read with a member name twice: all its members, in order, for `_duplicate_at`."""

    __slots__ = ("pairs",)

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        self.pairs = pairs


class _ConstantError(ValueError):
    pass


def _no_constant(name: str) -> Any:
    raise _ConstantError(name)


class _NumberError(ValueError):
    pass


def _number(token: str) -> Decimal:
    """Read a JSON number exactly, however many digits; `_NumberError` if no Decimal can hold it.

    A Decimal's exponent ends at ±999,999,999,999,999,999: `1e99999999999999999999` is
    well-formed JSON that cannot be read as a number at all (nor as any amount).
    """
    try:
        return Decimal(token)
    except InvalidOperation as exc:
        raise _NumberError(token) from exc


def must_not_be_empty(member: str, *, required: bool) -> str:
    """Return what to tell a sender who sent `member` as an empty string."""
    if required:
        return f"{member} is required and must have a value"
    return "must not be empty; leave it out"


def _skeleton(raw: bytes) -> bytes:
    """Return the structure of well-formed JSON: a brace for every bracket, a colon per member.

    Works on the bytes at C speed: escaped backslashes and quotes are dropped, then all but
    quotes, brackets and colons, then the strings (with any brackets or colons in them).
    """
    if b"\\" in raw:
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    skeleton = raw.translate(_BRACES, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in skeleton:  # a string holding a bracket or a colon
        skeleton = _STRING.sub(b"", skeleton)
    return skeleton


def _deeper_than(skeleton: bytes, limit: int) -> bool:
    """Tell whether the arrays and objects of a `_skeleton` nest deeper than `limit`.

    Each pass removes the innermost pairs.
    """
    skeleton = skeleton.replace(b":", b"")
    for _ in range(limit):
        if not skeleton:
            return False
        skeleton = skeleton.replace(b"{}", b"")
    return bool(skeleton)


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _lone_surrogate_at(value: Any, pointer: str = "") -> str | None:
    """Return the JSON pointer of the first string holding a lone surrogate, or None.

    A member name holding one, or a member whose name may not be shown (`shown_member`), is
    pointed at by the object that holds the member.
    """
    if isinstance(value, str):
        return None if _is_unicode(value) else pointer or "/"
    if isinstance(value, dict):
        for key, item in value.items():
            shown = shown_member(key)  # None for a name holding a lone surrogate, too
            if shown is None:
                if not _is_unicode(key) or _lone_surrogate_at(item) is not None:
                    return pointer or "/"
                continue
            found = _lone_surrogate_at(item, f"{pointer}/{shown}")
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _lone_surrogate_at(item, f"{pointer}/{index}")
            if found is not None:
                return found
    return None


def _line_column(text: str, position: int) -> str:
    """Name a position in JSON text as `JSONDecodeError` does: `line 3, column 14`."""
    line = text.count("\n", 0, position) + 1
    column = position - text.rfind("\n", 0, position)
    return f"line {line}, column {column}"


def load_json(raw: bytes) -> Any:
    """Decode UTF-8 JSON bytes, every number as an exact `Decimal`, however many digits.

    Raises:
        MessageParseError: empty, not UTF-8, not well-formed JSON, a member name twice in one
            object, NaN/Infinity, nesting deeper than `MAX_DEPTH`, or an escaped lone
            surrogate (text that is not Unicode).
    """
    try:
        text = raw.decode("utf-8-sig")  # a leading byte order mark is tolerated
    except UnicodeDecodeError as exc:
        # Counted from the first byte of the body, byte-order mark included, from 0.
        at = exc.start + (len(_UTF8_BOM) if raw.startswith(_UTF8_BOM) else 0)
        raise MessageParseError(
            "the message is not UTF-8",
            [
                Problem(
                    code="json.encoding",
                    message=f"not UTF-8 at byte {at}",
                    source_path=f"byte {at}",
                )
            ],
        ) from exc
    if not text.strip():
        raise MessageParseError(
            "the message is empty",
            [Problem(code="json.empty", message="the body is empty", source_path="/")],
        )
    # Most messages are well-formed with every member name once in its object: read at C
    # speed, they have as many members as colons outside their strings. Any other message is
    # read again member by member, for the problem that reading reports first.
    data, members = _read_counting(text)
    skeleton = _skeleton(raw) if members >= 0 else None
    if skeleton is None or skeleton.count(b":") != members:
        data = _read_strictly(text)
        skeleton = _skeleton(raw)
    if _deeper_than(skeleton, MAX_DEPTH):
        raise _too_deep(text)
    if (
        ("\\ud" in text or "\\uD" in text)
        and _LONE_SURROGATE_ESCAPE.search(text)
        and (pointer := _lone_surrogate_at(data)) is not None
    ):
        raise MessageParseError(
            "the message holds text that is not Unicode",
            [
                Problem(
                    code="json.encoding",
                    message="an escaped lone surrogate (\\uD800-\\uDFFF)",
                    source_path=pointer,
                )
            ],
        )
    return data


def _read_counting(text: str) -> tuple[Any, int]:
    """Read JSON text and count the members of its objects; (None, -1) if it cannot be read."""
    members = 0

    def counted(obj: dict[str, Any]) -> dict[str, Any]:
        nonlocal members
        members += len(obj)
        return obj

    try:
        data = json.loads(
            text,
            parse_float=_number,
            parse_int=_number,
            parse_constant=_no_constant,
            object_hook=counted,
        )
    # JSONDecodeError, _ConstantError and _NumberError are ValueErrors.
    except (ValueError, RecursionError):
        return None, -1
    return data, members


def _read_strictly(text: str) -> Any:
    """Read JSON text, refusing a member name twice in one object.

    Raises:
        MessageParseError: not well-formed JSON, a member name twice, NaN/Infinity, or
            nesting so deep that reading runs out of stack.
    """
    try:
        return json.loads(
            text,
            parse_float=_number,
            parse_int=_number,  # an int would refuse more than 4300 digits; a Decimal reads all
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
        name = shown_member(exc.key)
        raise MessageParseError(
            "the message has a member name twice in one object",
            [
                Problem(
                    code="json.duplicate_member",
                    message=(
                        f"the member {name!r} appears twice in one object"
                        if name is not None
                        else "a member name appears twice in one object (not shown: it is not "
                        "shaped like a member name)"
                    ),
                    source_path=_duplicate_at(text),
                )
            ],
        ) from exc
    except _ConstantError as exc:
        raise MessageParseError(
            "the message is not well-formed JSON",
            [
                Problem(
                    code="json.malformed",
                    message=f"{exc} is not a JSON number",
                    source_path=_constant_at(text),
                )
            ],
        ) from exc
    except _NumberError as exc:
        raise MessageParseError(
            "the message holds a number that cannot be read",
            [
                Problem(
                    code="json.malformed",
                    message=(
                        "a number whose exponent is beyond ±999999999999999999 cannot be read"
                    ),
                    source_path=_number_at(text, str(exc)),
                )
            ],
        ) from exc
    except RecursionError as exc:  # far deeper than MAX_DEPTH
        raise _too_deep(text) from exc


def _too_deep(text: str) -> MessageParseError:
    return MessageParseError(
        "the message nests too deep",
        [
            Problem(
                code="json.too_deep",
                message=f"arrays and objects nest deeper than {MAX_DEPTH} levels",
                source_path=_too_deep_at(text),
            )
        ],
    )


# Where a refusal points. Each runs only once a message is refused, and reads it again.


def _constant_at(text: str) -> str:
    """Return the line and column of the first NaN, Infinity or -Infinity outside a string.

    Reading stops at the first one, so the text before it is well-formed JSON: outside its
    strings the name can only be that constant.
    """
    for match in _STRING_OR_CONSTANT.finditer(text):
        if match.group(1) is not None:
            return _line_column(text, match.start())
    return "/"


def _number_at(text: str, token: str) -> str:
    """Return the line and column of the first number spelt `token` outside a string."""
    for match in _STRING_OR_NUMBER.finditer(text):
        if match.group(1) == token:
            return _line_column(text, match.start())
    return "/"


def _too_deep_at(text: str) -> str:
    """Return the line and column of the bracket that opens one level more than `MAX_DEPTH`."""
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        if match.group(1) is not None:
            depth += 1
            if depth > MAX_DEPTH:
                return _line_column(text, match.start())
        elif match.group().startswith(("]", "}")):
            depth -= 1
    return "/"


def _duplicate_at(text: str) -> str:
    """Return the JSON pointer of the object `_read_strictly` found a member name twice in.

    The text is read again, each such object kept with all its members (`_Twice`) rather
    than refused; the first one closed is the one refused. A member whose name may not be
    shown (`shown_member`) ends the pointer at the object that holds it. `/` when the text
    breaks further on, so that it cannot be read to its end.
    """
    found: list[_Twice] = []

    def marked(pairs: list[tuple[str, Any]]) -> Any:
        if len({key for key, _ in pairs}) == len(pairs):
            return dict(pairs)
        twice = _Twice(pairs)
        found.append(twice)
        return twice

    try:
        data = json.loads(text, parse_int=str, parse_float=str, object_pairs_hook=marked)
    except (ValueError, RecursionError):
        return "/"
    if not found:
        return "/"
    target = found[0]
    # Depth first without recursion: the text may nest as deep as reading it allows.
    stack: list[tuple[Any, str, bool]] = [(data, "", False)]
    while stack:
        value, pointer, hidden = stack.pop()
        if value is target:
            return pointer or "/"
        if isinstance(value, dict | _Twice):
            members = value.pairs if isinstance(value, _Twice) else value.items()
            for key, item in members:
                shown = None if hidden else shown_member(key)
                if shown is None:
                    stack.append((item, pointer, True))
                else:
                    stack.append((item, f"{pointer}/{shown}", False))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                stack.append((item, pointer if hidden else f"{pointer}/{index}", hidden))
    return "/"


# What a member name of a JSON contract looks like. A name of any other shape is not echoed
# in a problem: an unknown member keyed by a debtor's name ("Jens Hansen": ...) would put
# personal data in the answer and the log. CPR-shaped digits are masked in any name.
_MEMBER_NAME = re.compile(r"[A-Za-z_$@][A-Za-z0-9_$@.\-]{0,63}")
HIDDEN_MEMBER = "unknown member; its name is not shown, as it is not shaped like a member name"


def shown_member(key: str) -> str | None:
    """Return a member name as a problem may show it (CPR-shaped digits masked), or None.

    None for a name not shaped like a contract's member name (spaces, punctuation, very
    long): it may be personal data, so the problem points at the object holding it instead.
    """
    if not _MEMBER_NAME.fullmatch(key):
        return None
    return redact_cpr_like(key).replace("~", "~0").replace("/", "~1")


def unknown_member(pointer: str, key: str) -> Problem:
    """Return the problem of an unknown member `key` of the object at `pointer`."""
    shown = shown_member(key)
    if shown is None:
        return Problem(code="field.unknown", message=HIDDEN_MEMBER, source_path=pointer or "/")
    return Problem(code="field.unknown", message="unknown member", source_path=f"{pointer}/{shown}")


def _text_problem(member: str, value: Any, *, required: bool) -> Problem | None:
    """Report an envelope member that is not a string with a value (missing, wrong, empty)."""
    pointer = f"/{member}"
    if value is None:
        if not required:
            return None
        return Problem(code="field.missing", message=f"{member} is required", source_path=pointer)
    if type(value) is not str:
        return Problem(code="field.wrong_type", message=STRING_EXPECTED, source_path=pointer)
    if not value:
        return Problem(
            code="field.empty",
            message=must_not_be_empty(member, required=required),
            source_path=pointer,
        )
    return None


def _envelope_problems(data: dict[str, Any]) -> list[Problem]:
    problems = [unknown_member("", k) for k in data if k not in ENVELOPE_KEYS]
    message_id: Any = data.get("messageId")
    if found := _text_problem("messageId", message_id, required=True):
        problems.append(found)
    elif not _MESSAGE_ID.fullmatch(message_id):
        problems.append(
            Problem(
                code="message_id.invalid",
                message="messageId must be 1-64 characters of A-Z, a-z, 0-9 and . _ : -",
                source_path="/messageId",
                value=not_personal(message_id),
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
    if found := _text_problem("sentAt", sent_at, required=False):
        problems.append(found)
    elif sent_at is not None and _sent_at(sent_at) is None:
        problems.append(
            Problem(
                code="date_time.invalid",
                message="sentAt must be an RFC 3339 date-time with an offset",
                source_path="/sentAt",
                value=not_personal(sent_at),
            )
        )
    claimant_id = data.get("claimantId")
    if found := _text_problem("claimantId", claimant_id, required=False):
        problems.append(found)
    elif claimant_id is not None and not _CLAIMANT_ID.fullmatch(claimant_id):
        problems.append(
            Problem(
                code="claimant_id.invalid",
                message="claimantId must be a fordringshaver-ID of 4 digits",
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
