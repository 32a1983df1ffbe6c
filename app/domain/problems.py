"""Problems: one finding about one field of one message or claim, in the caller's vocabulary.

A problem names where it was found twice: `source_path` in the sender's own terms (a JSON
pointer or an XPath-like path into the message) and `field` in the canonical claim's terms. It
carries a stable machine code and, where the value is not personal data, the value itself.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from app.domain.identifiers import mask_cpr_like


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a message or a claim."""

    code: str
    message: str
    field: str | None = None
    source_path: str | None = None
    rule: str | None = None
    value: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the problem as a JSON-ready dict without empty keys, no CPR number in it.

        Where a problem is found, its value is left out if it is personal data. This is the
        last line behind that: every answer and every stored problem is made here, and any
        CPR-shaped number with a valid date, wherever a sender put it (a reference, a type
        code, an element's name, a count), is masked (`DDMMYY-****`).
        """
        return {
            key: mask_cpr_like(value) if isinstance(value, str) else value
            for key, value in asdict(self).items()
            if value is not None
        }

    def at(self, source_path: str | None) -> Problem:
        """Return a copy located at `source_path`."""
        return Problem(
            code=self.code,
            message=self.message,
            field=self.field,
            source_path=source_path,
            rule=self.rule,
            value=self.value,
        )
