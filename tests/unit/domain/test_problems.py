"""What a problem shows back of a sender's value: codes, numbers and dates, never free text."""

from __future__ import annotations

import pytest

from app.domain.problems import Problem, reference_text, shown_reference


@pytest.mark.parametrize(
    "value",
    ["KTTIBAK", "DKK", "12.345", "-1", "1e3", "2026-13-01", "2026-01-15T25:00:00", "K-17", "S-1"],
)
def test_codes_numbers_and_dates_are_shown_back(value: str) -> None:
    assert Problem(code="x", message="m", value=value).as_dict()["value"] == value


@pytest.mark.parametrize(
    "value",
    ["Mette Hansen", "Mette", "Ærø", "kontanthjælp", "true", "1 000,00", "x" * 101, ""],
)
def test_free_text_is_not_shown_back(value: str) -> None:
    # A name put where a code belongs (an outside probe's "Mette Hansen" in a currency, a date,
    # a fordringstype) is personal data; a word cannot be told from a name, so none is shown.
    found = Problem(code="x", message="m", field="currency", value=value).as_dict()

    assert "value" not in found
    assert found == {"code": "x", "message": "m", "field": "currency"}


def test_a_cpr_number_in_a_value_is_masked_as_before() -> None:
    assert Problem(code="x", message="m", value="0703854412").as_dict()["value"] == "070385-****"


@pytest.mark.parametrize(
    ("reference", "shown"),
    [
        ("KY-2026-000123", "KY-2026-000123"),
        ("Sag:Ærø/17_a.b", "Sag:Ærø/17_a.b"),
        ("0703854412", "070385-****"),
        # No valid date, no CPR number: shown as sent, so two references stay two.
        ("R-132099-1111", "R-132099-1111"),
        ("R-000000-0000", "R-000000-0000"),
        ("Mette Hansen", None),
        ("K 17", None),
        ("R" * 65, None),
        ("", None),
        (None, None),
    ],
)
def test_a_reference_is_shown_only_as_references_are_written(
    reference: str | None, shown: str | None
) -> None:
    assert shown_reference(reference) == shown


def test_a_reference_not_shown_has_a_stand_in_in_messages() -> None:
    assert reference_text("K-17") == "K-17"
    assert reference_text("Mette Hansen") == "(its reference not shown)"
