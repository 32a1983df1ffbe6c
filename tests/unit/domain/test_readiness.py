"""Readiness and the rule engine over many varied claims, against results recorded before.

`readiness_recorded.txt` holds, per generated case, a digest of everything `assess` decides:
every rule result (rule, consequence, field, message, values) in order, every hold (reason,
message, rules, until), the reasons and the next check date. The cases come from a seeded
generator that mixes all catalogue types with missing, court-founded, undated and clashing
dates, odd amounts, descriptions and on-boardings, so that an optimisation of the engine that
changes any result, or its order, fails here. Record again only for an intended change:
`python -m tests.unit.domain.test_readiness`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain import catalogue as catalogue_module
from app.domain.catalogue import FordringType
from app.domain.claim import CanonicalClaim, ClaimCategory, FordringArt, Liability
from app.domain.identifiers import IdentifierKind
from app.domain.readiness import (
    HoldReason,
    Onboarding,
    OnboardingState,
    Pause,
    Readiness,
    assess,
)
from app.domain.rules import RuleResult, evaluate

ROOT = Path(__file__).resolve().parents[3]
CATALOGUE = catalogue_module.load(ROOT / "contracts" / "psrm" / "catalogue.json")
RECORDED = Path(__file__).with_name("readiness_recorded.txt")
CASES = 4000

BASE = CanonicalClaim.model_validate(
    {
        "source": "ky",
        "source_reference": "KY-1",
        "claimant_reference": "REF-1",
        "claimant_id": "1234",
        "fordringstype": "KFDAINS",
        "business_area": "daginstitution",
        "principal": "1500.00",
        "amount": "1500.00",
        "due_date": "2025-09-01",
        "liabilities": [
            {"debtor_kind": "CPR", "debtor_id": "0101901234", "limitation_date": "2028-09-01"}
        ],
    }
)
# Dates where the calendar arithmetic has edges: leap days, month ends, year ends.
EDGES = [dt.date(2024, 2, 29), dt.date(2025, 1, 31), dt.date(2025, 12, 31), dt.date(2028, 2, 29)]
TODAYS = [dt.date(2026, 3, 2), dt.date(2025, 1, 10), dt.date(2028, 2, 29)]


def _day(rng: random.Random, around: dt.date, *, none: float = 0.15) -> dt.date | None:
    roll = rng.random()
    if roll < none:
        return None
    if roll < none + 0.08:
        return rng.choice(EDGES)
    return around + dt.timedelta(days=rng.randint(-2200, 600))


def _liability(rng: random.Random, index: int, today: dt.date) -> Liability:
    court = rng.random()
    judgment = _day(rng, today, none=0.0) if court < 0.15 else None
    settlement = _day(rng, today, none=0.0) if 0.1 < court < 0.25 else None
    limitation = None if rng.random() < 0.05 else today + dt.timedelta(rng.randint(-400, 4000))
    # model_construct: rules must report an undated or doubly founded liability, not crash.
    fields: dict[str, Any] = {
        "debtor_kind": IdentifierKind.CPR,
        "debtor_id": f"01019{index:05d}",
        "limitation_date": limitation,
        "judgment_date": judgment,
        "settlement_date": settlement,
    }
    return Liability.model_construct(**fields)


def _amount(rng: random.Random) -> Decimal:
    return rng.choice(
        [Decimal("0"), Decimal("-5.00"), Decimal("10000.00"), Decimal("10000.01")]
        + [Decimal(rng.randint(1, 2_000_000)) / 100] * 6
    )


def case(seed: int) -> tuple[CanonicalClaim, FordringType, dict[str, Any]]:
    """The claim, type and `assess` arguments of one generated case."""
    rng = random.Random(seed)
    kind = rng.choice(list(CATALOGUE.types.values()))
    today = rng.choice(TODAYS)
    start = _day(rng, today)
    update: dict[str, Any] = {
        "fordringstype": kind.code,
        "business_area": kind.area,
        "art": rng.choice([*FordringArt]),
        "category": kind.category if rng.random() < 0.9 else rng.choice([*ClaimCategory]),
        "currency": "DKK" if rng.random() < 0.95 else "EUR",
        "principal": _amount(rng),
        "amount": _amount(rng),
        "period_start_date": start,
        "period_end_date": (
            start + dt.timedelta(rng.choice([-3, 0, 27, 30, 365, 366, 400]))
            if start is not None and rng.random() < 0.9
            else _day(rng, today)
        ),
        "founding_date": start if start is not None and rng.random() < 0.5 else _day(rng, today),
        "due_date": _day(rng, today, none=0.1),
        "srb_date": _day(rng, today),
        "notice_date": _day(rng, today, none=0.3),
        "decision_date": _day(rng, today, none=0.5),
        "liabilities": [_liability(rng, i, today) for i in range(rng.choice([1, 1, 1, 2, 3]))],
        "description": rng.choice(
            [None, "", "  ", "Daginstitution september", "CPR 010190-1234", "x" * 120]
        ),
    }
    onboarding = rng.choice(
        [
            Onboarding(OnboardingState.NOT_ONBOARDED),
            Onboarding(OnboardingState.LEGACY),
            Onboarding(OnboardingState.ONBOARDED),
            Onboarding(OnboardingState.ONBOARDED, today - dt.timedelta(days=3)),
            Onboarding(OnboardingState.ONBOARDED, today + dt.timedelta(days=rng.randint(1, 90))),
        ]
    )
    arguments = {
        "today": today,
        "onboarding": onboarding,
        "pauses": [Pause(str(n), "ops", "checking") for n in range(rng.choice([0, 0, 0, 1, 2]))],
        "main_claim_at_psrm": rng.random() < 0.8,
    }
    return BASE.model_copy(update=update), kind, arguments


def _result(result: RuleResult) -> list[Any]:
    return [result.rule, result.consequence, result.field, result.message, dict(result.values)]


def digest(readiness: Readiness) -> str:
    """A short digest of everything the verdict says, order included."""
    text = json.dumps(
        [
            [[h.reason.value, h.message, list(h.rules), str(h.until)] for h in readiness.holds],
            [_result(r) for r in readiness.hearing],
            [_result(r) for r in readiness.rejections],
            str(readiness.next_check_date),
            sorted(reason.value for reason in readiness.reasons),
        ],
        ensure_ascii=False,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def verdicts() -> list[str]:
    """The digest of every generated case, in order."""
    found = []
    for seed in range(CASES):
        claim, kind, arguments = case(seed)
        found.append(digest(assess(claim, kind, **arguments)))
    return found


def test_assess_decides_as_recorded_for_many_varied_claims() -> None:
    recorded = RECORDED.read_text().split()
    found = verdicts()
    assert len(found) == len(recorded) == CASES
    differ = [
        seed for seed, (new, old) in enumerate(zip(found, recorded, strict=True)) if new != old
    ]
    if differ:
        claim, kind, arguments = case(differ[0])
        raise AssertionError(
            f"{len(differ)} cases differ, first seed {differ[0]}: "
            f"{assess(claim, kind, **arguments)!r}"
        )


def test_the_recorded_cases_break_every_rule_and_raise_every_hold() -> None:
    rules: set[str] = set()
    reasons: set[str] = set()
    for seed in range(CASES):
        claim, kind, arguments = case(seed)
        readiness = assess(claim, kind, **arguments)
        rules.update(r.rule for r in (*readiness.rejections, *readiness.hearing))
        reasons.update(readiness.reasons)
    assert rules >= {spec.id for kind in CATALOGUE.types.values() for spec in kind.rules}
    assert reasons == {"awaiting_srb", "awaiting_notice", "awaiting_main_claim"} | {
        "area_not_onboarded",
        "area_legacy",
        "would_be_rejected",
        "needs_correction",
        "paused",
    }


def test_a_related_claim_on_a_recalled_main_claim_is_held_for_good_saying_so() -> None:
    interest = BASE.model_copy(
        update={
            "fordringstype": "REOPKOM",
            "business_area": "renter",
            "category": ClaimCategory.UF,
            "main_claim_reference": "KY-0",
        }
    )
    on = {"today": dt.date(2026, 3, 2), "onboarding": Onboarding(OnboardingState.ONBOARDED)}

    waiting = assess(interest, CATALOGUE.types["REOPKOM"], main_claim_at_psrm=False, **on)
    closed = assess(
        interest,
        CATALOGUE.types["REOPKOM"],
        main_claim_at_psrm=False,
        main_claim_closed="recalled",
        **on,
    )
    main = assess(BASE, CATALOGUE.types["KFDAINS"], main_claim_closed="recalled", **on)

    assert HoldReason.AWAITING_MAIN_CLAIM in waiting.reasons
    assert HoldReason.MAIN_CLAIM_CLOSED not in waiting.reasons
    assert HoldReason.AWAITING_MAIN_CLAIM not in closed.reasons
    (hold,) = [h for h in closed.holds if h.reason is HoldReason.MAIN_CLAIM_CLOSED]
    assert hold.message == (
        "its main claim KY-0 was recalled, and PSRM takes no related claim on a recalled main "
        "claim: this claim cannot go as it is"
    )
    assert hold.until is None
    assert HoldReason.MAIN_CLAIM_CLOSED not in main.reasons


@settings(max_examples=300)
@given(seed=st.integers(min_value=CASES, max_value=10**9))
def test_a_types_results_are_its_rules_results_in_rule_order(seed: int) -> None:
    # The reference: each rule evaluated alone, one type per rule, results concatenated.
    claim, kind, arguments = case(seed)
    alone = [
        result
        for spec in kind.rules
        for result in evaluate(
            claim,
            FordringType(
                code=kind.code,
                name=kind.name,
                area=kind.area,
                category=kind.category,
                arts=kind.arts,
                regime=kind.regime,
                rules=(spec,),
            ),
            receipt_date=arguments["today"],
        )
    ]
    assert evaluate(claim, kind, receipt_date=arguments["today"]) == alone


if __name__ == "__main__":
    RECORDED.write_text("\n".join(verdicts()) + "\n")
