"""Debtor identifiers: CPR, CVR, SE and AKR numbers, their checks and their masking.

CPR numbers issued since 2007 need not pass the modulus-11 check, so only the embedded date is
checked. CVR and SE numbers must pass modulus 11. AKR numbers (Gældsstyrelsen's numbers for
debtors without CPR or CVR) are 11 digits.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from functools import lru_cache

from stdnum.dk import cpr as stdnum_cpr
from stdnum.dk import cvr as stdnum_cvr
from stdnum.exceptions import ValidationError as StdnumError


class IdentifierKind(StrEnum):
    """How a debtor is identified towards PSRM."""

    CPR = "CPR"
    CVR = "CVR"
    SE = "SE"
    AKR = "AKR"


# The characters of a reference, in every contract (KY's set, the widest): a claimant
# reference is 1-36 of them, a source reference 1-64.
REFERENCE_CHARACTERS = r"[A-Za-z0-9ÆØÅæøå._:/\-]"
# The control characters, for a character class: C0, DEL and C1. No code, id or reference
# holds one, and PostgreSQL can store no NUL.
CONTROL_CHARACTERS = "\x00-\x1f\x7f-\x9f"
# The digits 0-9 only: Python's `\d` also takes every other script's digits (Arabic-Indic,
# full-width, ...), which `int` reads as numbers and PSRM would not.
_DIGITS = re.compile(r"[0-9]+")
_CPR_LIKE = re.compile(r"(?<!\d)(\d{6})-?(\d{4})(?!\d)")
_SIX_DIGITS = re.compile(r"\d{6}")
# CPR-shaped, without the look-arounds: what every match of `_CPR_LIKE` holds.
_CPR_SHAPED = re.compile(r"\d{6}-?\d{4}")


def normalise(value: str) -> str:
    """Strip spaces and the dash of a CPR number (`010190-1234` → `0101901234`)."""
    return value.replace(" ", "").replace("-", "")


def identifier_problem(kind: IdentifierKind, value: str) -> str | None:
    """Return why `value` is not a valid identifier of `kind`, or None when it is."""
    if not _DIGITS.fullmatch(value):
        return "must contain the digits 0-9 only"
    if kind is IdentifierKind.CPR:
        if len(value) != 10:
            return "a CPR number has 10 digits"
        if cpr_birth_date(value) is None:
            return "the first six digits are not a valid date (DDMMYY)"
        return None
    if kind in (IdentifierKind.CVR, IdentifierKind.SE):
        article = "an" if kind is IdentifierKind.SE else "a"
        if len(value) != 8:
            return f"{article} {kind.value} number has 8 digits"
        if value.startswith("0"):
            return f"{article} {kind.value} number does not begin with 0"
        return None if _passes_modulus_11(value) else "fails the modulus-11 check"
    if len(value) != 11:
        return "an AKR number has 11 digits"
    return None


# Cached: a message names the same companies again and again. Only company numbers, which are
# public: no CPR number is kept beyond the claim that holds it (`cpr_birth_date` caches the
# date part alone).
@lru_cache(maxsize=65536)
def _passes_modulus_11(value: str) -> bool:
    try:
        stdnum_cvr.validate(value)
    except StdnumError:
        return False
    return True


def cpr_birth_date(value: str) -> dt.date | None:
    """Return the birth date a CPR number encodes (with its century digit), or None."""
    # The date and century live in the first seven digits; many debtors share them.
    return _birth_date(value[:7] + "000")


@lru_cache(maxsize=65536)
def _birth_date(value: str) -> dt.date | None:
    try:
        birth: dt.date = stdnum_cpr.get_birth_date(value)
        return birth
    except (StdnumError, ValueError):
        return None


def mask(kind: IdentifierKind | str, value: str) -> str:
    """Mask a debtor identifier for display: CPR as `DDMMYY-****`; others are public."""
    if kind == IdentifierKind.CPR:
        return f"{value[:6]}-****" if len(value) >= 6 else "******-****"
    return value


def contains_cpr_like(text: str) -> bool:
    """Tell whether free text holds something shaped like a CPR number with a valid date."""
    # Most texts hold nothing CPR-shaped (references with a short run of digits neither): one
    # quick scan settles them.
    if _CPR_SHAPED.search(text) is None:
        return False
    return any(cpr_birth_date(first + rest) is not None for first, rest in _CPR_LIKE.findall(text))


def redact_cpr_like(text: str) -> str:
    """Replace every CPR-shaped number in `text` by its masked form."""
    return _CPR_LIKE.sub(lambda m: f"{m.group(1)}-****", text)


def mask_cpr_like(text: str) -> str:
    """Mask every CPR-shaped number in `text` whose first digits hold a valid date (`DDMMYY-****`).

    Unlike `redact_cpr_like`, ten digits that hold no date (a reference, an amount) are kept.
    """
    # Most texts are shorter than a CPR number or hold no run of six digits.
    if len(text) < 10 or _SIX_DIGITS.search(text) is None:
        return text

    def _masked(match: re.Match[str]) -> str:
        first, rest = match.groups()
        return f"{first}-****" if cpr_birth_date(first + rest) is not None else match.group(0)

    return _CPR_LIKE.sub(_masked, text)
