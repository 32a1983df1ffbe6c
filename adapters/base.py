"""What every source adapter is: two pure functions and the errors they raise.

Exception tree::

    AdapterError                 the message as a whole cannot be taken
    ├── MessageParseError        not well-formed JSON/XML, wrong encoding, hostile XML   → 400
    └── MessageContractError     well-formed, but breaks the published contract        → 422

Problems inside one claim (a bad CPR number, an amount with three decimals) are not errors:
they make that claim rejected while the rest of the message is taken.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from app.domain.catalogue import Catalogue
from app.domain.claim import ClaimCandidate, SourceSystem
from app.domain.problems import Problem


class AdapterError(Exception):
    """A message that cannot be taken as a whole."""

    code = "message.invalid"

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.problems = list(problems)


class MessageParseError(AdapterError):
    """The bytes are not a well-formed message (syntax, encoding, forbidden XML constructs)."""

    code = "message.malformed"


class MessageContractError(AdapterError):
    """The message is well-formed but breaks the source's published contract (schema)."""

    code = "message.contract_violation"


class SourceMessage(Protocol):
    """A parsed message: at least its own id."""

    @property
    def message_id(self) -> str: ...


@dataclass(frozen=True, slots=True)
class MappingContext:
    """What a mapping may need besides the message: deployment defaults and the catalogue."""

    claimant_id: str
    catalogue: Catalogue


M = TypeVar("M")


@dataclass(frozen=True, slots=True)
class Adapter(Generic[M]):
    """A source adapter: `parse(raw) -> message` and `to_candidates(message, context)`."""

    source: SourceSystem
    media_types: tuple[str, ...]
    parse: Callable[[bytes], M]
    to_candidates: Callable[[M, MappingContext], list[ClaimCandidate]]
    message_id: Callable[[M], str]


def not_personal(value: Any) -> str | None:
    """Return `value` as text for a problem report, unless it could be personal data."""
    from app.domain.identifiers import contains_cpr_like

    if value is None:
        return None
    text = str(value)
    return None if len(text) > 100 or contains_cpr_like(text) else text
