"""Masking stored claim data for the read API: CPR numbers of any type, at any depth."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.identifiers import mask_cpr_like
from app.services.claims import masked

VALID = {
    "source_reference": "A-1",
    "principal": "1500.00",
    "due_date": "2025-03-29",
    "liabilities": [
        {"debtor_kind": "CPR", "debtor_id": "0101501000", "debtor_name": "Mette Jensen"},
        {"debtor_kind": "CVR", "debtor_id": "13585628", "debtor_name": "Firma ApS"},
        {"debtor_kind": "AKR", "debtor_id": "15038510041", "debtor_name": None},
    ],
}


def test_a_valid_claim_is_masked_as_before() -> None:
    assert masked(VALID) == {
        **VALID,
        "liabilities": [
            {"debtor_kind": "CPR", "debtor_id": "010150-****", "debtor_name": "Mette Jensen"},
            VALID["liabilities"][1],
            VALID["liabilities"][2],
        ],
    }


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"liabilities": [{"debtor_kind": "CPR", "debtor_id": 1503851004}]},
         {"liabilities": [{"debtor_kind": "CPR", "debtor_id": "150385-****"}]}),
        # A CPR number sent as a JSON number loses its leading zero.
        ({"liabilities": [{"debtor_id": 101501000}]},
         {"liabilities": [{"debtor_id": "010150-****"}]}),
        ({"liabilities": [["1503851004"]]}, {"liabilities": [["150385-****"]]}),
        ({"liabilities": [[1503851004]]}, {"liabilities": [["150385-****"]]}),
        ({"notes": [{"text": "ring 150385-1004"}]}, {"notes": [{"text": "ring 150385-****"}]}),
        ({"source_reference": "CT30-1503851004"}, {"source_reference": "CT30-150385-****"}),
        ({"amount": 1503851004.5}, {"amount": "150385-****.5"}),
        ({"1503851004": "x"}, {"150385-****": "x"}),
        # A CVR-kind debtor with a CPR-shaped number is a CPR number all the same.
        ({"liabilities": [{"debtor_kind": "CVR", "debtor_id": "1503851004"}]},
         {"liabilities": [{"debtor_kind": "CVR", "debtor_id": "150385-****"}]}),
    ],
)  # fmt: skip
def test_a_cpr_number_is_masked_whatever_its_type_and_place(
    data: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert masked(data) == expected


def test_values_that_are_no_cpr_number_are_left_as_they_are() -> None:
    data = {
        "source_reference": "REF-9999999999",
        "claimant_reference": "12345678901",
        "in_estate": True,
        "count": 1234567890,
        "liabilities": "not a list",
        "interest": None,
    }

    assert masked(data) == data


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1503851004", "150385-****"),
        ("150385-1004 og 0101501000", "150385-**** og 010150-****"),
        ("REF-9999999999", "REF-9999999999"),  # 99 December 99 is no date
        ("12345678901", "12345678901"),  # eleven digits: an AKR number, not a CPR number
        ("", ""),
    ],
)
def test_mask_cpr_like_masks_only_numbers_holding_a_date(text: str, expected: str) -> None:
    assert mask_cpr_like(text) == expected
