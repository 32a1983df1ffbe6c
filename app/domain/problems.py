"""Problems: one finding about one field of one message or claim, in the caller's vocabulary.

A problem names where it was found twice: `source_path` in the sender's own terms (a JSON
pointer or an XPath-like path into the message) and `field` in the canonical claim's terms. It
carries a stable machine code and, where the value is not personal data, the value itself.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from app.domain.identifiers import CONTROL_CHARACTERS, REFERENCE_CHARACTERS, mask_cpr_like

# A reference as every source's contract writes one.
_REFERENCE = re.compile(REFERENCE_CHARACTERS + "{1,64}")
# A value shown back reads as a code, a number, a date or an identifier: one word, with a
# digit in it or in capitals only (`KTTIBAK`, `DKK`, `12.345`, `2026-13-01`, `K-17`). Free
# text is not shown: a sender may have put a name where a code belongs, and a name is personal
# data (an outside probe got `"value": "Mette Hansen"` back from a currency, a date, a
# fordringstype and a dozen other fields).
# A word is of printable characters: a control character is no code, and a NUL cannot even
# be stored with the answer on PostgreSQL.
_WORD = rf"[^\s{CONTROL_CHARACTERS}]"
_SHOWN_VALUE = re.compile(rf"(?={_WORD}*[0-9]){_WORD}{{1,100}}|[A-Z0-9_.:/+\-]{{1,100}}")


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
        code, an element's name, a count), is masked (`DDMMYY-****`), and a value that is
        not a code, a number, a date or an identifier is left out (`shown_value`).
        """
        found = {
            key: mask_cpr_like(value) if isinstance(value, str) else value
            for key, value in asdict(self).items()
            if value is not None
        }
        if "value" in found and not shown_value(found["value"]):
            del found["value"]
        return found

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


def shown_value(value: str) -> bool:
    """Tell whether a value may be shown back: one word that reads as a code or a number.

    One word of printable characters with a digit in it, or in capitals, digits and
    `_ . : / + -` only. Anything else (words with spaces, lower-case words) could be a name
    a sender put in the wrong place, so it is not shown.
    """
    return _SHOWN_VALUE.fullmatch(value) is not None


def shown_reference(reference: str | None) -> str | None:
    """Return a sender's reference as an answer may show it, or None.

    Shown only as the contracts write a reference (letters, digits and `. _ : / -`, at most
    64), a CPR number (with a valid date) in it masked: a claim refused for its reference may
    hold anything there, a name too.
    """
    if reference is None or _REFERENCE.fullmatch(reference) is None:
        return None
    # Only a CPR number with a valid date: `R-132099-1111` and `R-132099-2222` are two
    # references, not one masked twice (an outside probe).
    return mask_cpr_like(reference)


def reference_text(reference: str | None) -> str:
    """Return a reference for a problem's message: itself if it may be shown, else a stand-in."""
    return shown_reference(reference) or "(its reference not shown)"
