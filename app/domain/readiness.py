"""Readiness: may a claim go to PSRM now, and if not, why does it wait?

A claim goes only when it holds every field its type requires, passes the type's reject rules
at today's date, its SRB has passed, the debtor was notified in writing, its business area is
on-boarded for the claimant, and nobody has paused it. Otherwise it carries one or more typed
holds, each with a reason a person can act on. Hearing rules do not hold a claim: they are
reported so staff know PSRM will park it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from app.domain.catalogue import FordringType
from app.domain.claim import CanonicalClaim, ClaimCategory
from app.domain.rules import RuleResult, evaluate, required_fields


class HoldReason(StrEnum):
    """Why a claim waits in kravbro instead of going to PSRM."""

    AWAITING_SRB = "awaiting_srb"
    AWAITING_NOTICE = "awaiting_notice"
    AWAITING_MAIN_CLAIM = "awaiting_main_claim"
    AREA_NOT_ONBOARDED = "area_not_onboarded"
    AREA_LEGACY = "area_legacy"
    WOULD_BE_REJECTED = "would_be_rejected"
    NEEDS_CORRECTION = "needs_correction"
    PAUSED = "paused"


class OnboardingState(StrEnum):
    """Where a business area (or one fordringstype) stands towards PSRM for a claimant."""

    NOT_ONBOARDED = "not_onboarded"
    ONBOARDED = "onboarded"
    LEGACY = "legacy"


@dataclass(frozen=True, slots=True)
class Onboarding:
    """The on-boarding in force for a claim's type: state and the date it applies from."""

    state: OnboardingState
    from_date: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Pause:
    """A persistent pause: who holds it and why. Each is lifted on its own."""

    id: str
    holder: str
    reason: str


@dataclass(frozen=True, slots=True)
class Hold:
    """One reason a claim waits, with what a person needs to know to act on it."""

    reason: HoldReason
    message: str
    rules: tuple[str, ...] = ()
    until: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Readiness:
    """The verdict on a claim today."""

    holds: tuple[Hold, ...]
    hearing: tuple[RuleResult, ...] = ()
    rejections: tuple[RuleResult, ...] = ()
    next_check_date: dt.date | None = None
    reasons: frozenset[HoldReason] = field(default_factory=frozenset)

    @property
    def ready(self) -> bool:
        """Tell whether the claim may be sent now."""
        return not self.holds


# Rules that are broken only because a date has not come yet: they lift by themselves.
_TIME_RULES = {"R_5_1": "due_date", "R_5_2": "srb_date", "R_5_3": "founding_date"}


def assess(
    claim: CanonicalClaim,
    kind: FordringType,
    *,
    today: dt.date,
    onboarding: Onboarding,
    pauses: Sequence[Pause] = (),
    main_claim_at_psrm: bool = True,
) -> Readiness:
    """Decide whether a claim may go to PSRM today, and every reason it must wait."""
    holds: list[Hold] = []
    waits: list[dt.date] = []
    results = evaluate(claim, kind, receipt_date=today)
    missing = set(required_fields(kind))
    rejects = [r for r in results if r.consequence == "reject"]
    hearing = tuple(r for r in results if r.consequence == "hearing")

    timed = [r for r in rejects if r.rule in _TIME_RULES]
    for rule in timed:
        date_value = getattr(claim, _TIME_RULES[rule.rule])
        if isinstance(date_value, dt.date):
            waits.append(date_value + dt.timedelta(days=1))
    if claim.srb_date is not None and claim.srb_date >= today:
        holds.append(
            Hold(
                HoldReason.AWAITING_SRB,
                f"the last timely payment date (SRB) {claim.srb_date} has not passed",
                tuple(sorted({r.rule for r in timed})),
                until=claim.srb_date + dt.timedelta(days=1),
            )
        )
    elif timed:
        latest = max(waits)
        holds.append(
            Hold(
                HoldReason.AWAITING_SRB,
                f"a date of the claim has not passed yet; it can go from {latest}",
                tuple(sorted({r.rule for r in timed})),
                until=latest,
            )
        )
    incomplete = [r for r in rejects if r.rule.startswith("R_7_") and r.field in missing]
    if incomplete:
        holds.append(
            Hold(
                HoldReason.NEEDS_CORRECTION,
                "fields PSRM requires for "
                f"{kind.code} are missing: {', '.join(sorted({r.field for r in incomplete}))}",
                tuple(sorted({r.rule for r in incomplete})),
            )
        )
    other = [r for r in rejects if r not in timed and r not in incomplete]
    if other:
        holds.append(
            Hold(
                HoldReason.WOULD_BE_REJECTED,
                "; ".join(r.message for r in other),
                tuple(sorted({r.rule for r in other})),
            )
        )
    if claim.notice_date is None:
        holds.append(
            Hold(
                HoldReason.AWAITING_NOTICE,
                "the debtor has not been notified in writing that the claim will be transferred",
            )
        )
    elif claim.notice_date > today:
        holds.append(
            Hold(
                HoldReason.AWAITING_NOTICE,
                f"the debtor is notified on {claim.notice_date}",
                until=claim.notice_date,
            )
        )
        waits.append(claim.notice_date)
    if claim.category is ClaimCategory.UF and not main_claim_at_psrm:
        holds.append(
            Hold(
                HoldReason.AWAITING_MAIN_CLAIM,
                f"its main claim {claim.main_claim_reference} is not yet accepted by PSRM",
            )
        )
    holds.extend(_onboarding_holds(kind, onboarding, today, waits))
    holds.extend(
        Hold(HoldReason.PAUSED, f"paused by {pause.holder}: {pause.reason}") for pause in pauses
    )
    return Readiness(
        holds=tuple(holds),
        hearing=hearing,
        rejections=tuple(rejects),
        next_check_date=min(waits) if waits else None,
        reasons=frozenset(hold.reason for hold in holds),
    )


def _onboarding_holds(
    kind: FordringType, onboarding: Onboarding, today: dt.date, waits: list[dt.date]
) -> list[Hold]:
    if onboarding.state is OnboardingState.LEGACY:
        return [
            Hold(
                HoldReason.AREA_LEGACY,
                f"business area {kind.area} is kept out of PSRM (legacy collection)",
            )
        ]
    if onboarding.state is OnboardingState.NOT_ONBOARDED:
        return [
            Hold(
                HoldReason.AREA_NOT_ONBOARDED,
                f"business area {kind.area} is not on-boarded to PSRM",
            )
        ]
    if onboarding.from_date is not None and onboarding.from_date > today:
        waits.append(onboarding.from_date)
        return [
            Hold(
                HoldReason.AREA_NOT_ONBOARDED,
                f"business area {kind.area} is on-boarded from {onboarding.from_date}",
                until=onboarding.from_date,
            )
        ]
    return []
