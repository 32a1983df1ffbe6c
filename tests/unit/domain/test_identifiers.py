"""Debtor identifiers are checked as PSRM takes them, and every refusal says what is wrong."""

from __future__ import annotations

import pytest

from app.domain.identifiers import IdentifierKind, identifier_problem


def _mod11(first_seven: str) -> str:
    """Complete seven digits to a number that passes the CVR modulus-11 check, if one does."""
    weights = (2, 7, 6, 5, 4, 3, 2)
    for last in "0123456789":
        total = sum(int(d) * w for d, w in zip(first_seven, weights, strict=True)) + int(last)
        if total % 11 == 0:
            return first_seven + last
    raise ValueError(f"no check digit completes {first_seven}")


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (IdentifierKind.CPR, "0101901234"),
        (IdentifierKind.CPR, "2902004321"),  # 29 February 2000; modulus 11 is not required
        (IdentifierKind.CVR, "13585628"),
        (IdentifierKind.SE, "13585628"),
        (IdentifierKind.AKR, "12345678901"),
    ],
)
def test_valid_identifiers_pass(kind: IdentifierKind, value: str) -> None:
    assert identifier_problem(kind, value) is None


@pytest.mark.parametrize(
    ("kind", "value", "problem"),
    [
        (IdentifierKind.CPR, "3102901234", "the first six digits are not a valid date (DDMMYY)"),
        (IdentifierKind.CPR, "010190123", "a CPR number has 10 digits"),
        (IdentifierKind.CVR, "13585627", "fails the modulus-11 check"),
        (IdentifierKind.CVR, "1358562", "a CVR number has 8 digits"),
        (IdentifierKind.SE, "135856281", "an SE number has 8 digits"),
        (IdentifierKind.AKR, "1234567890", "an AKR number has 11 digits"),
        # Passes modulus 11, but no CVR or SE number begins with 0: it said "fails the
        # modulus-11 check", which was not true (an outside probe).
        (IdentifierKind.CVR, _mod11("0123001"), "a CVR number does not begin with 0"),
        (IdentifierKind.SE, _mod11("0123001"), "an SE number does not begin with 0"),
        # Python's `\d` and `int` take every script's digits; PSRM takes 0-9.
        (IdentifierKind.CPR, "٠١٠١٩٠١٢٣٤", "must contain the digits 0-9 only"),
        (IdentifierKind.CVR, "１３５８５６２８", "must contain the digits 0-9 only"),
        (IdentifierKind.AKR, "1234567890١", "must contain the digits 0-9 only"),
        (IdentifierKind.CPR, "010190-1234", "must contain the digits 0-9 only"),
    ],
)
def test_each_refusal_says_what_is_wrong(kind: IdentifierKind, value: str, problem: str) -> None:
    assert identifier_problem(kind, value) == problem
