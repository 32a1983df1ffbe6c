"""The entry-rule engine: each rule passes, breaks and reports exact values at its boundary."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain import catalogue as catalogue_module
from app.domain.catalogue import Catalogue, Consequence, FordringType, Regime, RuleSpec
from app.domain.claim import CanonicalClaim, ClaimCategory, FordringArt
from app.domain.rules import (
    DEFAULTS,
    RULES,
    RuleResult,
    check_catalogue,
    evaluate,
    meaning,
    required_fields,
)

ROOT = Path(__file__).resolve().parents[3]
CATALOGUE = catalogue_module.load(ROOT / "contracts" / "psrm" / "catalogue.json")
RECEIPT = dt.date(2026, 3, 1)
CPR = "0101901234"
NAME = "Jens Hansen"

BASE: dict[str, Any] = {
    "source": "ky",
    "source_reference": "KY-1",
    "claimant_reference": "REF-1",
    "claimant_id": "1234",
    "fordringstype": "KFDAINS",
    "business_area": "daginstitution",
    "principal": "1500.00",
    "amount": "1500.00",
    "period_start_date": "2025-09-01",
    "period_end_date": "2025-09-30",
    "founding_date": "2025-09-01",
    "due_date": "2025-09-01",
    "srb_date": "2025-09-15",
    "liabilities": [
        {
            "debtor_kind": "CPR",
            "debtor_id": CPR,
            "debtor_name": NAME,
            "limitation_date": "2028-09-01",
        }
    ],
    "description": "Daginstitution september 2025",
}


def make(**overrides: Any) -> CanonicalClaim:
    """A valid KFDAINS claim, with overrides."""
    return CanonicalClaim.model_validate({**BASE, **overrides})


def liability(**overrides: Any) -> dict[str, Any]:
    """The base claim's one liability, with overrides."""
    return {**BASE["liabilities"][0], **overrides}


def unchecked(claim: CanonicalClaim, **update: Any) -> CanonicalClaim:
    """A copy without validation: for rules the canonical model already enforces."""
    return claim.model_copy(update=update)


def unchecked_liability(claim: CanonicalClaim, **update: Any) -> CanonicalClaim:
    """A copy whose first liability is changed without validation."""
    first = claim.liabilities[0].model_copy(update=update)
    return claim.model_copy(update={"liabilities": [first, *claim.liabilities[1:]]})


def single(rule: str, consequence: Consequence = "reject", **params: Any) -> FordringType:
    """A KFDAINS-like type with just one rule."""
    return FordringType(
        code="KFDAINS",
        name="test",
        area="daginstitution",
        category=ClaimCategory.HF,
        arts=(FordringArt.INDR,),
        regime=Regime(kind="limitation", years=3, from_field="due_date"),
        rules=(RuleSpec(id=rule, consequence=consequence, params=params),),
    )


def run(
    rule: str, claim: CanonicalClaim, *, receipt: dt.date = RECEIPT, **params: Any
) -> list[RuleResult]:
    """Evaluate one rule alone."""
    return evaluate(claim, single(rule, **params), receipt_date=receipt)


def only(results: list[RuleResult]) -> RuleResult:
    """The one result of a rule that broke once."""
    assert len(results) == 1, results
    return results[0]


# --- the published KFDAINS example ---------------------------------------------------------------


def test_a_good_kfdains_claim_passes_every_rule() -> None:
    assert evaluate(make(), CATALOGUE.types["KFDAINS"], receipt_date=RECEIPT) == []


def test_kfdains_over_the_cap_goes_to_hearing_with_the_values() -> None:
    result = only(
        evaluate(
            make(principal="12000", amount="12000"),
            CATALOGUE.types["KFDAINS"],
            receipt_date=RECEIPT,
        )
    )
    assert result == RuleResult(
        rule="R_4_2",
        consequence="hearing",
        field="principal",
        message="principal 12000.00 is above the cap 10000.00 for KFDAINS",
        values={"principal": "12000.00", "cap": "10000.00"},
    )


def test_required_fields_of_kfdains() -> None:
    assert required_fields(CATALOGUE.types["KFDAINS"]) == [
        "founding_date",
        "due_date",
        "srb_date",
        "period_start_date",
        "period_end_date",
        "description",
    ]


def test_a_uf_type_does_not_require_a_description() -> None:
    assert "description" not in required_fields(CATALOGUE.types["REOPKOM"])


# --- R_1: art, category, currency ----------------------------------------------------------------


def test_r_1_1_art_must_be_allowed() -> None:
    assert run("R_1_1", make()) == []
    result = only(run("R_1_1", make(art="MODR")))
    assert (result.field, result.values) == ("art", {"art": "MODR", "allowed": "INDR"})
    assert result.message == "art MODR is not allowed for KFDAINS (allowed: INDR)"


def test_r_1_2_category_must_be_the_types() -> None:
    assert run("R_1_2", make()) == []
    related = make(category="UF", main_claim_reference="KY-0")
    result = only(run("R_1_2", related))
    assert result.values == {"category": "UF", "expected": "HF"}
    assert result.message == "KFDAINS takes main claims (HF), not UF"


def test_k_152_currency_must_be_dkk() -> None:
    assert run("K_152", make()) == []
    result = only(run("K_152", unchecked(make(), currency="EUR")))
    assert (result.field, result.values) == ("currency", {"currency": "EUR"})


# --- R_2, R_3: limitation and lapse, per liability -----------------------------------------------


def test_r_2_1_limitation_date_required() -> None:
    assert run("R_2_1", make()) == []
    result = only(run("R_2_1", unchecked_liability(make(), limitation_date=None)))
    assert result.field == "liabilities.0.limitation_date"
    assert result.message == "limitation date is required"


@pytest.mark.parametrize(
    ("attribute", "rule"), [("judgment_date", "R_2_1a"), ("settlement_date", "R_2_1b")]
)
def test_r_2_1ab_ten_years_after_a_judgment_or_settlement(attribute: str, rule: str) -> None:
    on_time = make(
        liabilities=[liability(**{attribute: "2020-01-15", "limitation_date": "2030-01-15"})]
    )
    assert run(rule, on_time) == []
    short = make(
        liabilities=[liability(**{attribute: "2020-01-15", "limitation_date": "2030-01-14"})]
    )
    result = only(run(rule, short))
    assert result.field == "liabilities.0.limitation_date"
    assert result.values == {
        "limitation_date": "2030-01-14",
        attribute: "2020-01-15",
        "earliest": "2030-01-15",
    }
    assert run(rule, short, tolerance_days=1) == []
    assert run(rule, make()) == []  # no judgment, nothing to check


def test_r_2_2_lapse_date_within_years_of_receipt() -> None:
    at_most = make(liabilities=[liability(limitation_date="2031-03-01")])
    assert run("R_2_2", at_most, years=5) == []
    beyond = make(liabilities=[liability(limitation_date="2031-03-02")])
    result = only(run("R_2_2", beyond, years=5))
    assert result.values == {
        "limitation_date": "2031-03-02",
        "receipt_date": "2026-03-01",
        "latest": "2031-03-01",
    }


def test_r_2_2_speaks_of_a_lapse_date_for_lapse_types() -> None:
    kttibak = CATALOGUE.types["KTTIBAK"]
    claim = make(
        fordringstype="KTTIBAK",
        business_area="socialret",
        period_start_date="2024-01-01",
        period_end_date="2025-06-30",
        liabilities=[liability(limitation_date="2030-01-01")],
    )
    result = only(evaluate(claim, kttibak, receipt_date=RECEIPT))
    assert result.rule == "R_2_2"
    assert result.message.startswith("lapse date 2030-01-01 is more than 3 years after")


def test_r_2_3_limitation_at_most_years_after_due_date_goes_to_hearing() -> None:
    assert run("R_2_3", make(liabilities=[liability(limitation_date="2029-09-01")]), years=4) == []
    late = make(liabilities=[liability(limitation_date="2029-09-02")])
    result = only(evaluate(late, single("R_2_3", "hearing", years=4), receipt_date=RECEIPT))
    assert (result.consequence, result.field) == ("hearing", "liabilities.0.limitation_date")
    assert result.values == {
        "limitation_date": "2029-09-02",
        "due_date": "2025-09-01",
        "latest": "2029-09-01",
    }


def test_r_2_3_and_r_2_3a_leave_court_founded_liabilities_to_r_2_1ab() -> None:
    judged = make(liabilities=[liability(judgment_date="2025-10-01", limitation_date="2035-10-01")])
    assert run("R_2_3", judged, years=4) == []
    judged_early = make(
        liabilities=[liability(settlement_date="2025-10-01", limitation_date="2026-10-01")]
    )
    assert run("R_2_3a", judged_early) == []


def test_r_2_3a_limitation_at_least_years_after_due_date() -> None:
    assert run("R_2_3a", make(liabilities=[liability(limitation_date="2028-09-01")])) == []
    early = make(liabilities=[liability(limitation_date="2028-08-31")])
    result = only(run("R_2_3a", early))
    assert result.message == (
        "limitation date 2028-08-31 is less than 3 years after the due date 2025-09-01 "
        "(at least 2028-09-01)"
    )


def test_r_2_3a_counts_from_the_named_date() -> None:
    claim = make(liabilities=[liability(limitation_date="2028-09-29")])
    result = only(run("R_2_3a", claim, **{"from": "period_end_date"}))
    assert result.values["earliest"] == "2028-09-30"
    assert result.values["period_end_date"] == "2025-09-30"


def test_r_2_3a_on_29_february_falls_back_to_28_february() -> None:
    claim = make(
        due_date="2024-02-29",
        srb_date="2024-03-10",
        liabilities=[liability(limitation_date="2027-02-27")],
    )
    assert only(run("R_2_3a", claim)).values["earliest"] == "2027-02-28"


def test_r_3_1_limitation_on_or_after_receipt() -> None:
    assert run("R_3_1", make(liabilities=[liability(limitation_date="2026-03-01")])) == []
    barred = make(liabilities=[liability(limitation_date="2026-02-28")])
    result = only(run("R_3_1", barred))
    assert result.values == {"limitation_date": "2026-02-28", "receipt_date": "2026-03-01"}


def test_limitation_rules_report_each_liability_by_index() -> None:
    claim = make(
        liabilities=[
            liability(),
            {"debtor_kind": "CVR", "debtor_id": "13585628", "limitation_date": "2026-01-01"},
        ]
    )
    assert [r.field for r in run("R_3_1", claim)] == ["liabilities.1.limitation_date"]


# --- R_4: amounts --------------------------------------------------------------------------------


def test_r_4_1_principal_above_zero_or_a_zero_claim() -> None:
    assert run("R_4_1", make()) == []
    zero = make(principal="0", amount="0")
    assert run("R_4_1", zero, allow_zero=True) == []
    result = only(run("R_4_1", zero, allow_zero=False))
    assert result.values == {"principal": "0.00", "amount": "0.00"}


@pytest.mark.parametrize(
    ("cap", "principal", "breaks"),
    [
        ("250", "250.00", False),
        ("250", "250.01", True),
        ("10000", "10000.00", False),
        ("10000", "10000.01", True),
        ("100000.50", "100000.50", False),
    ],
)
def test_r_4_2_cap(cap: str, principal: str, breaks: bool) -> None:
    results = run("R_4_2", make(principal=principal, amount=principal), cap=cap)
    assert bool(results) is breaks


def test_r_4_2_default_cap_is_10000() -> None:
    assert DEFAULTS["R_4_2"] == {"cap": "10000"}
    assert only(run("R_4_2", make(principal="10000.01", amount="1"))).values["cap"] == "10000.00"


def test_r_4_4_amount_not_negative() -> None:
    assert run("R_4_4", make(amount="0")) == []
    result = only(run("R_4_4", unchecked(make(), amount=Decimal("-1.00"))))
    assert (result.field, result.values) == ("amount", {"amount": "-1.00"})


def test_r_4_7_principal_at_least_amount() -> None:
    assert run("R_4_7", make(principal="100", amount="100")) == []
    result = only(
        run("R_4_7", unchecked(make(), principal=Decimal("100.00"), amount=Decimal("100.01")))
    )
    assert result.values == {"amount": "100.01", "principal": "100.00"}
    assert result.message == "amount 100.01 is above the principal 100.00"


money = st.decimals(min_value=0, max_value=Decimal("99999999.99"), places=2)


@given(principal=money, amount=money)
def test_r_4_7_breaks_exactly_when_amount_exceeds_principal(
    principal: Decimal, amount: Decimal
) -> None:
    claim = unchecked(make(), principal=principal, amount=amount)
    results = run("R_4_7", claim)
    assert bool(results) is (amount > principal)
    if results:
        assert results[0].values == {"amount": str(amount), "principal": str(principal)}


# --- R_5: before the receipt date ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "field"), [("R_5_1", "due_date"), ("R_5_2", "srb_date"), ("R_5_3", "founding_date")]
)
def test_r_5_dates_strictly_before_receipt(rule: str, field: str) -> None:
    claim = make()
    assert run(rule, unchecked(claim, **{field: dt.date(2026, 2, 28)})) == []
    result = only(run(rule, unchecked(claim, **{field: RECEIPT})))
    assert result.field == field
    assert result.values == {field: "2026-03-01", "receipt_date": "2026-03-01"}
    assert run(rule, unchecked(claim, **{field: None})) == []  # R_7_x reports the missing date


dates = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2040, 12, 31))


@given(due=dates, receipt=dates)
def test_r_5_1_breaks_exactly_when_due_is_not_before_receipt(
    due: dt.date, receipt: dt.date
) -> None:
    results = run("R_5_1", unchecked(make(), due_date=due), receipt=receipt)
    assert bool(results) is (due >= receipt)


@given(limitation=dates, receipt=dates)
def test_r_3_1_breaks_exactly_when_limitation_is_before_receipt(
    limitation: dt.date, receipt: dt.date
) -> None:
    results = run("R_3_1", unchecked_liability(make(), limitation_date=limitation), receipt=receipt)
    assert bool(results) is (limitation < receipt)


# --- R_6: dates against each other ---------------------------------------------------------------


def test_r_6_1_srb_on_or_after_due() -> None:
    assert run("R_6_1", make(due_date="2025-09-15", srb_date="2025-09-15")) == []
    result = only(run("R_6_1", unchecked(make(), srb_date=dt.date(2025, 8, 31))))
    assert result.values == {"srb_date": "2025-08-31", "due_date": "2025-09-01"}


@given(due=dates, srb=dates)
def test_r_6_1_breaks_exactly_when_srb_is_before_due(due: dt.date, srb: dt.date) -> None:
    results = run("R_6_1", unchecked(make(), due_date=due, srb_date=srb))
    assert bool(results) is (srb < due)


def test_r_6_5_due_on_or_after_period_start() -> None:
    assert run("R_6_5", make()) == []
    result = only(run("R_6_5", make(due_date="2025-08-31")))
    assert result.values == {"due_date": "2025-08-31", "period_start_date": "2025-09-01"}


@given(due=dates, start=dates)
def test_r_6_5_breaks_exactly_when_due_is_before_period_start(due: dt.date, start: dt.date) -> None:
    results = run("R_6_5", unchecked(make(), due_date=due, period_start_date=start))
    assert bool(results) is (due < start)


def test_r_6_6_due_within_months_of_period_start() -> None:
    assert run("R_6_6", make(due_date="2025-11-01", srb_date="2025-11-15")) == []
    result = only(run("R_6_6", make(due_date="2025-11-02", srb_date="2025-11-15")))
    assert result.values["latest"] == "2025-11-01"


def test_r_6_6_clamps_to_the_end_of_a_shorter_month() -> None:
    claim = make(
        period_start_date="2025-12-31",
        period_end_date="2025-12-31",
        founding_date="2025-12-31",
        due_date="2026-03-01",
        srb_date="2026-03-01",
    )
    assert only(run("R_6_6", claim)).values["latest"] == "2026-02-28"


def test_r_6_15_founding_up_to_days_before_period_start() -> None:
    assert run("R_6_15", make(founding_date="2025-08-22"), days=10) == []
    result = only(run("R_6_15", make(founding_date="2025-08-21"), days=10))
    assert result.values == {
        "founding_date": "2025-08-21",
        "period_start_date": "2025-09-01",
        "earliest": "2025-08-22",
    }
    assert only(run("R_6_15", make(founding_date="2025-08-31")))  # default 0 days


def test_r_6_16_founding_equals_period_start() -> None:
    assert run("R_6_16", make()) == []
    result = only(run("R_6_16", make(founding_date="2025-09-02")))
    assert result.values == {"founding_date": "2025-09-02", "period_start_date": "2025-09-01"}


def test_r_6_19_period_at_most_months_long() -> None:
    assert run("R_6_19", make(), months=1) == []
    result = only(run("R_6_19", make(period_end_date="2025-10-01"), months=1))
    assert result.values["latest"] == "2025-09-30"
    assert result.message == (
        "period 2025-09-01 to 2025-10-01 is longer than 1 months (end at most 2025-09-30)"
    )


def test_r_6_20_period_at_least_days_long() -> None:
    assert run("R_6_20", make(), days=30) == []
    result = only(run("R_6_20", make(period_end_date="2025-09-29"), days=30))
    assert result.values["days"] == "29"


@pytest.mark.parametrize(
    "rule", ["R_6_1", "R_6_5", "R_6_6", "R_6_15", "R_6_16", "R_6_19", "R_6_20"]
)
def test_date_order_rules_ignore_missing_dates(rule: str) -> None:
    bare = make(
        period_start_date=None,
        period_end_date=None,
        founding_date=None,
        due_date=None,
        srb_date=None,
    )
    assert run(rule, bare) == []


# --- R_7: required and forbidden fields ----------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ("R_7_1", "founding_date"),
        ("R_7_2", "due_date"),
        ("R_7_3", "srb_date"),
        ("R_7_4", "period_start_date"),
        ("R_7_5", "period_end_date"),
        ("R_7_11", "description"),
    ],
)
def test_r_7_required_fields(rule: str, field: str) -> None:
    assert run(rule, make()) == []
    result = only(run(rule, make(**{field: None})))
    assert (result.field, result.values) == (field, {})
    assert result.message.endswith("is required for KFDAINS")


def test_r_7_11_a_blank_description_is_missing() -> None:
    assert only(run("R_7_11", make(description="   "))).field == "description"


def test_r_7_12_no_judgment_or_settlement() -> None:
    assert run("R_7_12", make()) == []
    result = only(run("R_7_12", make(liabilities=[liability(judgment_date="2025-10-01")])))
    assert (result.field, result.values) == (
        "liabilities.0.judgment_date",
        {"judgment_date": "2025-10-01"},
    )


def test_r_7_12a_not_both_judgment_and_settlement() -> None:
    assert run("R_7_12a", make(liabilities=[liability(judgment_date="2025-10-01")])) == []
    both = unchecked_liability(
        make(), judgment_date=dt.date(2025, 10, 1), settlement_date=dt.date(2025, 11, 1)
    )
    result = only(run("R_7_12a", both))
    assert result.values == {"judgment_date": "2025-10-01", "settlement_date": "2025-11-01"}


def test_k_desc_length() -> None:
    assert run("K_DESC_LENGTH", make(description="x" * 100)) == []
    result = only(run("K_DESC_LENGTH", make(description="Daginstitution"), max_length=10))
    assert result.values == {"length": "14", "max_length": "10"}


def test_k_desc_personal_never_echoes_the_cpr() -> None:
    assert run("K_DESC_PERSONAL", make()) == []
    result = only(run("K_DESC_PERSONAL", unchecked(make(), description=f"Barn {CPR}")))
    assert (result.values, CPR in result.message) == ({}, False)


# --- the engine as a whole -----------------------------------------------------------------------


def test_no_result_carries_personal_data() -> None:
    claim = unchecked(
        make(liabilities=[liability(judgment_date="2020-01-01", limitation_date="2020-06-01")]),
        description=f"{NAME} {CPR}",
        art=FordringArt.MODR,
    )
    kind = FordringType(
        code="KFDAINS",
        name="all rules",
        area="daginstitution",
        category=ClaimCategory.HF,
        arts=(FordringArt.INDR,),
        regime=Regime(kind="limitation", years=3, from_field="due_date"),
        rules=tuple(RuleSpec(id=rule, consequence="reject") for rule in RULES),
    )
    results = evaluate(claim, kind, receipt_date=RECEIPT)
    assert len(results) >= 5
    for result in results:
        text = result.message + " ".join(result.values.values())
        assert CPR not in text
        assert CPR[:6] not in text
        assert NAME not in text


def test_every_rule_has_a_meaning_and_defaults() -> None:
    assert set(DEFAULTS) == set(RULES)
    assert all(meaning(rule) for rule in RULES)


# --- check_catalogue -----------------------------------------------------------------------------


def catalogue_with(*specs: dict[str, Any]) -> Catalogue:
    """A one-type catalogue whose type has the given rules."""
    return catalogue_module.from_dict(
        {
            "areas": [{"code": "daginstitution", "name": "Daginstitution"}],
            "types": [
                {
                    "code": "KFDAINS",
                    "name": "test",
                    "area": "daginstitution",
                    "regime": {"kind": "limitation", "years": 3, "from": "due_date"},
                    "rules": list(specs),
                }
            ],
        }
    )


def test_check_catalogue_accepts_good_rules() -> None:
    check_catalogue(
        catalogue_with(
            {"id": "R_4_2", "consequence": "hearing", "params": {"cap": "2500.50"}},
            {"id": "R_2_3a", "consequence": "reject", "params": {"years": 3}},
            {"id": "R_2_3", "consequence": "hearing", "params": {"years": 3}},
        )
    )


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ({"id": "R_9_9", "consequence": "reject"}, "unknown rule id"),
        ({"id": "R_4_2", "consequence": "warn"}, "is not reject or hearing"),
        ({"id": "R_4_2", "consequence": "hearing", "params": {"limit": "1"}}, "unknown parameter"),
        ({"id": "R_4_2", "consequence": "hearing", "params": {"cap": 10000.0}}, "'cap' must be"),
        ({"id": "R_4_2", "consequence": "hearing", "params": {"cap": "10,000"}}, "'cap' must be"),
        ({"id": "R_4_2", "consequence": "hearing", "params": {"cap": "1.001"}}, "'cap' must be"),
        ({"id": "R_4_2", "consequence": "hearing", "params": {"cap": "-1"}}, "'cap' must be"),
        ({"id": "R_2_3", "consequence": "hearing", "params": {"years": True}}, "'years' must be"),
        ({"id": "R_2_3", "consequence": "hearing", "params": {"years": -1}}, "'years' must be"),
        ({"id": "R_2_3", "consequence": "hearing", "params": {"from": "limitation"}}, "'from'"),
        ({"id": "R_4_1", "consequence": "reject", "params": {"allow_zero": 1}}, "'allow_zero'"),
    ],
)
def test_check_catalogue_names_bad_rules(spec: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValueError, match="KFDAINS rule") as caught:
        check_catalogue(catalogue_with(spec))
    assert complaint in str(caught.value)


def test_check_catalogue_rejects_a_rule_listed_twice() -> None:
    twice = {"id": "R_4_4", "consequence": "reject"}
    with pytest.raises(ValueError, match="listed twice"):
        check_catalogue(catalogue_with(twice, twice))


def test_check_catalogue_rejects_an_impossible_limitation_window() -> None:
    with pytest.raises(ValueError, match="no date can pass"):
        check_catalogue(
            catalogue_with(
                {"id": "R_2_3a", "consequence": "reject", "params": {"years": 5}},
                {"id": "R_2_3", "consequence": "hearing", "params": {"years": 4}},
            )
        )


def test_check_catalogue_lists_every_problem() -> None:
    with pytest.raises(ValueError, match="catalogue rules are not valid") as caught:
        check_catalogue(
            catalogue_with(
                {"id": "R_9_9", "consequence": "reject"},
                {"id": "R_4_2", "consequence": "hearing", "params": {"cap": 1}},
            )
        )
    assert str(caught.value).count("\n") == 2
