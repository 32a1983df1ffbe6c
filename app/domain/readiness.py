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
from functools import lru_cache

from app.domain.catalogue import FordringType
from app.domain.claim import CanonicalClaim, ClaimCategory
from app.domain.rules import RuleResult, evaluate, required_fields


class HoldReason(StrEnum):
    """Why a claim waits in kravbro instead of going to PSRM."""

    AWAITING_SRB = "awaiting_srb"
    AWAITING_NOTICE = "awaiting_notice"
    AWAITING_MAIN_CLAIM = "awaiting_main_claim"
    MAIN_CLAIM_CLOSED = "main_claim_closed"
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

# Looked up once: an enum member read through its class costs a descriptor call each time, and
# `assess` runs for every claim that arrives.
_NOT_ONBOARDED, _LEGACY = OnboardingState.NOT_ONBOARDED, OnboardingState.LEGACY
_UF = ClaimCategory.UF
_NOT_NOTIFIED = Hold(
    HoldReason.AWAITING_NOTICE,
    "the debtor has not been notified in writing that the claim will be transferred",
)
_ONE_DAY = dt.timedelta(days=1)


def assess(
    claim: CanonicalClaim,
    kind: FordringType,
    *,
    today: dt.date,
    onboarding: Onboarding,
    pauses: Sequence[Pause] = (),
    main_claim_at_psrm: bool = True,
    main_claim_closed: str | None = None,
) -> Readiness:
    """Decide whether a claim may go to PSRM today, and every reason it must wait.

    `main_claim_closed`: the state in which a related claim's main claim is closed for good
    (`recalled`); PSRM takes no related claim on it, so no date or decision lifts the hold.
    """
    holds: list[Hold] = []
    waits: list[dt.date] = []
    results = evaluate(claim, kind, receipt_date=today)
    # Most claims break no rule; sorting the results is only needed when there are some.
    rejects: list[RuleResult] = []
    hearing: list[RuleResult] = []
    timed: list[RuleResult] = []
    incomplete: list[RuleResult] = []
    other: list[RuleResult] = []
    missing: set[str] | None = None
    for result in results:
        if result.consequence == "reject":
            rejects.append(result)
            if result.rule in _TIME_RULES:
                timed.append(result)
                continue
            if result.rule.startswith("R_7_"):
                if missing is None:
                    missing = set(required_fields(kind))
                if result.field in missing:
                    incomplete.append(result)
                    continue
            other.append(result)
        elif result.consequence == "hearing":
            hearing.append(result)

    for rule in timed:
        date_value = getattr(claim, _TIME_RULES[rule.rule])
        if isinstance(date_value, dt.date):
            waits.append(date_value + _ONE_DAY)
    srb = claim.srb_date
    if srb is not None and srb >= today:
        holds.append(
            Hold(
                HoldReason.AWAITING_SRB,
                f"the last timely payment date (SRB) {srb} has not passed",
                tuple(sorted({r.rule for r in timed})),
                until=srb + _ONE_DAY,
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
    if incomplete:
        holds.append(
            Hold(
                HoldReason.NEEDS_CORRECTION,
                "fields PSRM requires for "
                f"{kind.code} are missing: {', '.join(sorted({r.field for r in incomplete}))}",
                tuple(sorted({r.rule for r in incomplete})),
            )
        )
    if other:
        holds.append(
            Hold(
                HoldReason.WOULD_BE_REJECTED,
                "; ".join(r.message for r in other),
                tuple(sorted({r.rule for r in other})),
            )
        )
    notice = claim.notice_date
    if notice is None:
        holds.append(_NOT_NOTIFIED)
    elif notice > today:
        holds.append(
            Hold(
                HoldReason.AWAITING_NOTICE,
                f"the debtor is notified on {notice}",
                until=notice,
            )
        )
        waits.append(notice)
    if main_claim_closed is not None and claim.category is _UF:
        holds.append(
            Hold(
                HoldReason.MAIN_CLAIM_CLOSED,
                f"its main claim {claim.main_claim_reference} was {main_claim_closed}, and PSRM "
                f"takes no related claim on a {main_claim_closed} main claim: this claim cannot "
                "go as it is",
            )
        )
    elif not main_claim_at_psrm and claim.category is _UF:
        holds.append(
            Hold(
                HoldReason.AWAITING_MAIN_CLAIM,
                f"its main claim {claim.main_claim_reference} is not yet accepted by PSRM",
            )
        )
    area_hold = _onboarding_hold(kind, onboarding, today)
    if area_hold is not None:
        holds.append(area_hold)
        if area_hold.until is not None:
            waits.append(area_hold.until)
    for pause in pauses:
        holds.append(Hold(HoldReason.PAUSED, f"paused by {pause.holder}: {pause.reason}"))
    return Readiness(
        holds=tuple(holds),
        hearing=tuple(hearing),
        rejections=tuple(rejects),
        next_check_date=min(waits) if waits else None,
        reasons=frozenset([hold.reason for hold in holds]),
    )


def _onboarding_hold(kind: FordringType, onboarding: Onboarding, today: dt.date) -> Hold | None:
    state = onboarding.state
    if state is _LEGACY or state is _NOT_ONBOARDED:
        return _area_hold(kind.area, state)
    if onboarding.from_date is not None and onboarding.from_date > today:
        return Hold(
            HoldReason.AREA_NOT_ONBOARDED,
            f"business area {kind.area} is on-boarded from {onboarding.from_date}",
            until=onboarding.from_date,
        )
    return None


@lru_cache(maxsize=256)
def _area_hold(area: str, state: OnboardingState) -> Hold:
    # Holds are immutable, so the few areas' standing holds are made once and shared.
    if state is _LEGACY:
        return Hold(
            HoldReason.AREA_LEGACY, f"business area {area} is kept out of PSRM (legacy collection)"
        )
    return Hold(HoldReason.AREA_NOT_ONBOARDED, f"business area {area} is not on-boarded to PSRM")
