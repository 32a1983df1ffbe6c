"""Admission: what kravbro derives for a claim, and what it says when it cannot derive it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from app.domain import catalogue as catalogue_module
from app.domain.admission import admit
from app.domain.claim import ClaimCandidate

ROOT = Path(__file__).resolve().parents[3]
CATALOGUE = catalogue_module.load(ROOT / "contracts" / "psrm" / "catalogue.json")

# A KTTIBAK claim (it lapses from the end of its period) without a limitation date of its own.
FIELDS: dict[str, Any] = {
    "source": "oir",
    "source_reference": "F-1",
    "claimant_reference": "OIR-F-1",
    "claimant_id": "1234",
    "fordringstype": "KTTIBAK",
    "principal": "1500.00",
    "amount": "1500.00",
    "period_start_date": "2025-08-01",
    "period_end_date": "2025-08-31",
    "due_date": "2025-09-01",
    "srb_date": "2025-09-15",
    "liabilities": [{"debtor_kind": "CPR", "debtor_id": "0101901234"}],
}
PATHS = {
    "liabilities.0": "/DebitorRegistrering/DebitorKonto[1]/CPRNummer",
    "due_date": "/DebitorRegistrering/DebitorKonto[1]/Fordring[1]/Forfaldsdato",
}


def candidate(**changes: Any) -> ClaimCandidate:
    fields = copy.deepcopy(FIELDS)
    for name, value in changes.items():
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value
    return ClaimCandidate(
        index=0,
        source_path="/DebitorRegistrering/DebitorKonto[1]/Fordring[1]",
        source_reference="F-1",
        fields=fields,
        field_paths=PATHS,
    )


def test_the_limitation_date_is_derived_from_the_types_starting_date() -> None:
    claim, problems = admit(candidate(), CATALOGUE)

    assert problems == []
    assert claim is not None
    regime = CATALOGUE.types["KTTIBAK"].regime
    assert claim.liabilities[0].limitation_date.year == 2025 + regime.years


def test_without_the_date_to_derive_from_the_problem_names_what_to_send() -> None:
    regime = CATALOGUE.types["KTTIBAK"].regime

    claim, problems = admit(candidate(**{regime.from_field: None}), CATALOGUE)

    assert claim is None
    assert [p.code for p in problems] == ["limitation_date.not_derivable"]
    problem = problems[0]
    assert problem.field == "liabilities.0.limitation_date"
    assert problem.source_path == PATHS["liabilities.0"]
    assert regime.from_field in problem.message
    assert "KTTIBAK" in problem.message


def test_an_unknown_type_is_the_one_problem_not_a_missing_limitation_date() -> None:
    _, problems = admit(candidate(fordringstype="KTXXXXX"), CATALOGUE)

    assert [p.code for p in problems] == ["fordringstype.unknown"]


def test_a_type_code_of_the_wrong_shape_is_the_one_problem() -> None:
    _, problems = admit(candidate(fordringstype="kttibak"), CATALOGUE)

    assert [p.code for p in problems] == ["field.bad_format"]
    assert problems[0].field == "fordringstype"


def test_no_type_at_all_is_reported_as_missing_and_nothing_else() -> None:
    _, problems = admit(candidate(fordringstype=None), CATALOGUE)

    assert [(p.code, p.field) for p in problems] == [("field.missing", "fordringstype")]


def test_an_unreadable_starting_date_is_reported_itself() -> None:
    regime = CATALOGUE.types["KTTIBAK"].regime

    _, problems = admit(candidate(**{regime.from_field: "2025-13-01"}), CATALOGUE)

    assert [(p.code, p.field) for p in problems] == [("date.invalid", regime.from_field)]


def test_a_claim_rejected_for_its_amount_also_lists_its_type_problems() -> None:
    # A related claim (UF) carrying a main-claim type, with an amount of three decimals.
    related = candidate(category="UF", main_claim_reference="F-0", amount="100.005")

    _, problems = admit(related, CATALOGUE)

    assert {p.code for p in problems} == {"amount.too_many_decimals", "category.mismatch"}


def test_type_problems_are_not_listed_twice() -> None:
    _, problems = admit(candidate(category="UF", main_claim_reference="F-0"), CATALOGUE)

    assert [p.code for p in problems] == ["category.mismatch"]


def test_an_amount_sent_as_true_or_false_is_told_so() -> None:
    _, problems = admit(candidate(principal=True), CATALOGUE)

    (problem,) = [p for p in problems if p.field == "principal"]
    assert problem.code == "amount.not_decimal"
    assert "true or false" in problem.message


def test_a_judgment_dated_in_year_9999_is_a_problem_not_an_overflow() -> None:
    # Ten years after it would be past what a date can hold; it used to raise (a 500).
    judged = {"debtor_kind": "CPR", "debtor_id": "0101901234", "judgment_date": "9999-12-31"}

    claim, problems = admit(candidate(liabilities=[judged]), CATALOGUE)

    assert claim is None
    assert [(p.code, p.field) for p in problems] == [
        ("date.out_of_range", "liabilities.0.judgment_date")
    ]
    assert "1900-01-01 and 2199-12-31" in problems[0].message


def test_dates_outside_1900_to_2199_are_out_of_range_wherever_they_are() -> None:
    claim, problems = admit(
        candidate(due_date="1899-12-31", srb_date="2200-01-01", period_end_date="2199-12-31"),
        CATALOGUE,
    )

    assert claim is None
    codes = {(p.code, p.field) for p in problems}
    assert ("date.out_of_range", "due_date") in codes
    assert ("date.out_of_range", "srb_date") in codes
    assert not any(p.field == "period_end_date" for p in problems)  # the last day allowed
