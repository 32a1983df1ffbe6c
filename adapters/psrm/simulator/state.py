"""The PSRM simulator's behaviour and state, without HTTP: deliveries in, receipts out.

Everything lives in memory behind one lock: it is a simulator, restarted at will, not a store.
A claim costs about 600 bytes (no debtor data or texts are kept; money is kept in øre), so a
million claims take about 0.6 GB; discard mode keeps nothing per claim. XML is parsed and built
outside the lock; only the bookkeeping holds it.

Behaviour, per action of a delivery:

- a reused delivery id is a `PersistenceException` fault, as NyMF answers;
- a new claim is checked against its type's entry rules at the receipt date (Danish date of
  the simulator's clock): reject rules make it AFVIST, hearing rules park it in HØRING until
  confirmed (UDFØRT) or withdrawn, otherwise it is UDFØRT with a new fordrings-ID;
- a claim whose (claimant id, claimant reference) is already UDFØRT or in hearing is not
  created again: the receipt shows the original result, so a resend after a crash is harmless;
- adjustments (write-down, write-up, their cancellations, recall, resubmission) apply to
  accepted claims only, with PSRM's error numbers for what is wrong (`codes.py`);
- receipts are visible `receipt_delay_seconds` after receipt, on the simulator's clock.

In discard mode a delivery is only counted: its actions are answered UDFØRT at once, without
reading the claims, for throughput measurements.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import sys
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from adapters._xml import CONTRACTS
from adapters.psrm import xml
from adapters.psrm.messages import (
    Action,
    ActionCode,
    ActionStatus,
    BalanceMovement,
    CoverageKind,
    CoverageLine,
    CreateClaim,
    HearingReason,
    InterestNotice,
    Notification,
    Recall,
    RecallReason,
    Receipt,
    ReceiptError,
    Resubmit,
    ReturnKind,
    ReturnNotice,
    Settlement,
    UnreadableAction,
    WriteDown,
    WriteDownReason,
    WriteOff,
    WriteUp,
    WriteUpReason,
)
from adapters.psrm.simulator import codes
from app.domain import catalogue as catalogue_module
from app.domain import rules
from app.domain.catalogue import Catalogue
from app.domain.claim import CanonicalClaim, ClaimCategory, FordringArt

CATALOGUE_PATH = CONTRACTS / "psrm" / "catalogue.json"
_CENT = Decimal("0.01")


def _ore(amount: Decimal) -> int:
    """Money in øre: a claim's balance is kept as an int (28 bytes, not a Decimal's 104)."""
    return int(amount.scaleb(2))


def _kr(ore: int) -> Decimal:
    return Decimal(ore).scaleb(-2)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """How a simulator behaves: its catalogue, receipt delay, mode, clock and sleep."""

    catalogue_path: Path = CATALOGUE_PATH
    catalogue: Catalogue | None = None  # wins over catalogue_path
    receipt_delay_seconds: float = 0.0
    discard: bool = False
    clock: Callable[[], dt.datetime] = _utc_now
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    first_fordrings_id: int = 1_000_001
    max_body_bytes: int = 64 * 1024 * 1024


class SimulatorFault(Exception):
    """A request the simulator answers with a SOAP fault."""

    def __init__(self, code: str, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class ScenarioError(ValueError):
    """A scenario event that cannot happen (unknown claim, amount above the balance, ...)."""


class SimulatorClock:
    """The simulator's time: the configured clock, or a time set (and moved) by an operator."""

    def __init__(self, base: Callable[[], dt.datetime]) -> None:
        self._base = base
        self._frozen: dt.datetime | None = None

    def now(self) -> dt.datetime:
        """Return the current simulated time (timezone-aware UTC)."""
        return (self._frozen or self._base()).astimezone(dt.UTC)

    def set(self, now: dt.datetime) -> None:
        """Freeze the clock at `now`.

        Raises:
            ValueError: `now` has no timezone.
        """
        if now.tzinfo is None:
            raise ValueError("the time must have a timezone")
        self._frozen = now.astimezone(dt.UTC)

    def advance(self, seconds: float) -> None:
        """Move a frozen clock on (freezing it at the current time first)."""
        self._frozen = self.now() + dt.timedelta(seconds=seconds)

    def release(self) -> None:
        """Return to the configured clock."""
        self._frozen = None

    @property
    def frozen(self) -> bool:
        """Whether an operator has set the time."""
        return self._frozen is not None


@dataclass(slots=True)
class Faults:
    """Faults to inject into the three SOAP services; counters count down per request."""

    latency_ms: int = 0
    unavailable: bool = False
    unavailable_next: int = 0
    drop_next: int = 0
    drop_after_processing: bool = True
    duplicate_notifications_next: int = 0
    missing_notifications_next: int = 0
    negative_settlements_next: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Return the faults as JSON-ready values."""
        return {name: getattr(self, name) for name in self.__slots__}


# ---------------------------------------------------------------------------------------------
# bookkeeping records (mutable, compact)


class _Claim:
    """One claim as PSRM holds it; kept small, since a million of them may be held."""

    __slots__ = (
        "art",
        "balance",
        "category",
        "claimant_id",
        "confirmed",
        "covered",
        "created",
        "errors",
        "fordrings_id",
        "fordringstype",
        "hearing",
        "hearing_action",
        "main",
        "recall_reason",
        "reference",
        "related",
        "stamdata",
        "state",
        "status",
        "status_changed_at",
        "submitted",
        "successor",
    )

    def __init__(self, claim: CanonicalClaim, now: dt.datetime) -> None:
        self.claimant_id = sys.intern(claim.claimant_id)
        self.reference = claim.claimant_reference
        self.fordringstype = sys.intern(claim.fordringstype)
        self.art = claim.art
        self.category = claim.category
        self.balance = _ore(claim.amount)
        self.stamdata = hash(
            (claim.founding_date, claim.due_date, claim.period_start_date, claim.period_end_date)
        )
        self.status = ActionStatus.MODTAGET
        self.status_changed_at = now
        self.fordrings_id: int | None = None
        self.main: _Claim | None = None
        self.related: list[_Claim] | None = None
        self.errors: tuple[ReceiptError, ...] = ()
        self.hearing: tuple[HearingReason, ...] = ()
        self.hearing_action: str | None = None
        self.confirmed = True
        self.state = "pending"  # pending, active, recalled, written_off, returned, withdrawn
        self.recall_reason: RecallReason | None = None
        self.covered = 0
        self.created = 0
        self.submitted = 1
        self.successor: _Claim | None = None


class _Outcome:
    """The result of an adjustment or an unreadable action."""

    __slots__ = ("amount", "cancelled", "code", "errors", "fordrings_id", "reason", "status")

    def __init__(
        self,
        code: str,
        status: ActionStatus,
        errors: tuple[ReceiptError, ...] = (),
        fordrings_id: str | None = None,
        amount: Decimal | None = None,
        reason: str | None = None,
    ) -> None:
        self.code = code
        self.status = status
        self.errors = errors
        self.fordrings_id = fordrings_id
        self.amount = amount
        self.reason = reason
        self.cancelled = False


class _Delivery:
    """A received delivery: its actions' ids and codes and, in full mode, their outcomes."""

    __slots__ = ("action_codes", "action_ids", "first_id", "outcomes", "received_at")

    def __init__(
        self,
        received_at: dt.datetime,
        action_ids: Sequence[str],
        action_codes: Sequence[str],
        outcomes: Sequence[_Claim | _Outcome] = (),
        first_id: int = 0,
    ) -> None:
        self.received_at = received_at
        self.action_ids = action_ids
        self.action_codes = action_codes
        self.outcomes = outcomes  # empty in discard mode
        self.first_id = first_id  # discard mode: the fordrings-ID of the first action


@dataclass(slots=True)
class _Coverage:
    claim: _Claim
    amount: int  # øre
    effective_date: dt.date
    activity: CoverageKind
    payment_id: str


@dataclass(slots=True)
class _Ledger:
    notifications: list[Notification | None] = field(default_factory=list)
    unsettled: list[_Coverage] = field(default_factory=list)
    last_period_end: dt.date | None = None
    payments: int = 0
    settlements: int = 0


# ---------------------------------------------------------------------------------------------
# the simulator


class Simulator:
    """PSRM's three services over bytes, with admin operations; thread-safe."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.catalogue = config.catalogue or catalogue_module.load(config.catalogue_path)
        self.clock = SimulatorClock(config.clock)
        self.faults = Faults()
        self.lock = threading.Lock()
        # Requests received whole whose answers the latency fault is holding back, as
        # (service, delivery id): what a worker has sent and not yet heard back about.
        self._held: Counter[tuple[str, str]] = Counter()
        self._reset_state()

    def _reset_state(self) -> None:
        self._deliveries: dict[str, _Delivery] = {}
        self._claims: dict[str, dict[str, _Claim]] = {}
        self._by_id: list[_Claim] = []  # fordrings-IDs are sequential: index = ID - first
        self._hearings: dict[str, _Claim] = {}
        self._adjustments: dict[str, _Outcome] = {}
        self._next_id = self.config.first_fordrings_id
        self._ledger = _Ledger()
        self._counts: Counter[str] = Counter()
        self._touched: list[tuple[_Claim, int, int, str]] | None = None

    def reset(self) -> None:
        """Forget every delivery, claim and notification (faults and clock stay)."""
        with self.lock:
            self._reset_state()

    @contextmanager
    def holding(self, service: str, delivery_id: str) -> Iterator[None]:
        """Show a request as held (in `state()["held"]`) while the block runs."""
        key = (service, delivery_id)
        with self.lock:
            self._held[key] += 1
        try:
            yield
        finally:
            with self.lock:
                self._held[key] -= 1
                if self._held[key] <= 0:
                    del self._held[key]

    # -- time ------------------------------------------------------------------------------

    def _receipt_date(self, now: dt.datetime) -> dt.date:
        return now.astimezone(xml.DANISH_TIME).date()

    # -- MFFordringIndberet ----------------------------------------------------------------

    def submit(self, raw: bytes) -> bytes:
        """Take a delivery and answer MFFordringIndberet_O.

        Raises:
            SimulatorFault: the delivery id was used before (PersistenceException).
            MessageParseError, MessageContractError: the request is not a readable delivery.
        """
        if self.config.discard:
            return self._submit_discard(raw)
        delivery = xml.parse_delivery(raw)
        with self.lock:
            self._check_new(delivery.delivery_id)
            now = self.clock.now()
            receipt_date = self._receipt_date(now)
            in_delivery: dict[str, _Claim] = {}
            ids = [action.action_id for action in delivery.actions]
            action_codes = [sys.intern(str(action.code)) for action in delivery.actions]
            outcomes = [
                self._apply(action, now, receipt_date, in_delivery) for action in delivery.actions
            ]
            self._deliveries[delivery.delivery_id] = _Delivery(now, ids, action_codes, outcomes)
            self._counts["deliveries"] += 1
            self._counts["actions"] += len(ids)
        acks = [
            Receipt(
                delivery_id=delivery.delivery_id,
                action_id=action_id,
                action_code=code,
                status=ActionStatus.MODTAGET,
                received_at=now,
                status_changed_at=now,
            )
            for action_id, code in zip(ids, action_codes, strict=True)
        ]
        return xml.build_submit_response(
            transaction_id=delivery.transaction_id,
            sender_se=delivery.sender_se,
            delivery_id=delivery.delivery_id,
            answered_at=now,
            actions=acks,
        )

    def _submit_discard(self, raw: bytes) -> bytes:
        header = xml.scan_delivery(raw)
        count = len(header.action_ids)
        with self.lock:
            self._check_new(header.delivery_id)
            now = self.clock.now()
            record = _Delivery(now, header.action_ids, header.action_codes, first_id=self._next_id)
            self._next_id += count
            self._deliveries[header.delivery_id] = record
            self._counts["deliveries"] += 1
            self._counts["actions"] += count
        return xml.build_submit_response(
            transaction_id=header.transaction_id,
            sender_se=header.sender_se,
            delivery_id=header.delivery_id,
            answered_at=now,
            actions=list(self._discard_receipts(header.delivery_id, record, 0, count)),
        )

    def _discard_receipts(
        self, delivery_id: str, delivery: _Delivery, start: int, stop: int
    ) -> Iterator[Receipt]:
        ids, codes_ = delivery.action_ids, delivery.action_codes
        for index in range(start, min(stop, len(ids))):
            creates = codes_[index] in (ActionCode.OPRETFORDRING, ActionCode.GENINDSENDFORDRING)
            yield Receipt(
                delivery_id=delivery_id,
                action_id=ids[index],
                action_code=str(codes_[index]),
                status=ActionStatus.UDFOERT,
                fordrings_id=str(delivery.first_id + index) if creates else None,
                received_at=delivery.received_at,
                status_changed_at=delivery.received_at,
            )

    def _check_new(self, delivery_id: str) -> None:
        if delivery_id in self._deliveries:
            raise SimulatorFault(
                "Server",
                "javax.persistence.PersistenceException: MFLeveranceID er allerede modtaget",
            )

    def _apply(
        self,
        action: Action | UnreadableAction,
        now: dt.datetime,
        receipt_date: dt.date,
        in_delivery: dict[str, _Claim],
    ) -> _Claim | _Outcome:
        if isinstance(action, CreateClaim):
            record = self._create(action, now, receipt_date, in_delivery)
            in_delivery[action.action_id] = record
            return record
        if isinstance(action, Resubmit):
            return self._resubmit(action, now, receipt_date)
        if isinstance(action, WriteDown | WriteUp):
            return self._adjust(action, receipt_date)
        if isinstance(action, Recall):
            return self._recall(action, now, receipt_date)
        assert isinstance(action, UnreadableAction)
        return self._unreadable(action)

    def _unreadable(self, action: UnreadableAction) -> _Outcome:
        fields = sorted({problem.field or problem.code for problem in action.problems})
        if "currency" in fields:
            error = codes.error(152)
        else:
            error = codes.error(550, ", ".join(fields)[:300])
        return _Outcome(action.code, ActionStatus.AFVIST, (error,))

    # -- claims ----------------------------------------------------------------------------

    def _create(
        self,
        action: CreateClaim,
        now: dt.datetime,
        receipt_date: dt.date,
        in_delivery: dict[str, _Claim],
    ) -> _Claim:
        claim = action.claim
        existing = self._claims.get(claim.claimant_id, {}).get(claim.claimant_reference)
        if existing is not None and existing.status in (ActionStatus.UDFOERT, ActionStatus.HOERING):
            existing.submitted += 1
            return existing
        record = _Claim(claim, now)
        if existing is not None:
            record.created, record.submitted = existing.created, existing.submitted + 1
        self._claims.setdefault(claim.claimant_id, {})[claim.claimant_reference] = record
        self._decide(record, claim, receipt_date, action, in_delivery, now)
        if record.status is ActionStatus.UDFOERT:
            record.created += 1
        return record

    def _main_of(
        self, action: CreateClaim, in_delivery: dict[str, _Claim]
    ) -> tuple[_Claim | None, ReceiptError | None]:
        if action.main_action_id is not None:
            main = in_delivery.get(action.main_action_id)
            return (main, None) if main is not None else (None, codes.error(526))
        main = self._find(action.main_fordrings_id)
        if main is None:
            return None, codes.error(461)
        return main, None

    def _decide(
        self,
        record: _Claim,
        claim: CanonicalClaim,
        receipt_date: dt.date,
        action: CreateClaim | Resubmit,
        in_delivery: dict[str, _Claim],
        now: dt.datetime,
    ) -> None:
        kind = self.catalogue.get(claim.fordringstype)
        if kind is None:
            self._reject(record, [codes.error(151)])
            return
        main: _Claim | None = None
        if isinstance(action, CreateClaim) and (
            claim.category is ClaimCategory.UF or action.main_action_id or action.main_fordrings_id
        ):
            main, problem = self._main_of(action, in_delivery)
            if problem is not None:
                self._reject(record, [problem])
                return
            assert main is not None
            if main.status is ActionStatus.AFVIST or main.state == "withdrawn":
                self._reject(record, [codes.error(428)])
                return
            if main.state in ("recalled", "returned", "written_off"):
                self._reject(record, [codes.error(530)])
                return
            main_kind = self.catalogue.get(main.fordringstype)
            if main_kind is not None and claim.fordringstype not in main_kind.related_types:
                self._reject(record, [codes.error(459)])
                return
            record.main = main
        results = rules.evaluate(claim, kind, receipt_date=receipt_date)
        rejected = [
            codes.error(codes.RULE_CODES.get(r.rule, codes.ENTRY_RULE), r.message, r.rule)
            for r in results
            if r.consequence == "reject"
        ]
        if rejected:
            self._reject(record, rejected)
            return
        hearing = tuple(
            HearingReason(rule_id=r.rule, text=r.message)
            for r in results
            if r.consequence == "hearing"
        )
        if main is not None:
            if main.related is None:
                main.related = []
            main.related.append(record)
        if hearing or (main is not None and main.status is ActionStatus.HOERING):
            record.status = ActionStatus.HOERING
            record.hearing = hearing
            record.confirmed = not hearing
            record.hearing_action = action.action_id
            self._hearings[action.action_id] = record
            return
        self._accept(record, now)

    def _reject(self, record: _Claim, errors: Sequence[ReceiptError]) -> None:
        record.status = ActionStatus.AFVIST
        record.errors = tuple(errors)
        record.state = "rejected"

    def _accept(self, record: _Claim, now: dt.datetime) -> None:
        record.status = ActionStatus.UDFOERT
        record.state = "active"
        record.status_changed_at = now
        record.fordrings_id = self.config.first_fordrings_id + len(self._by_id)
        self._by_id.append(record)
        self._next_id = record.fordrings_id + 1
        if record.hearing_action is not None:
            self._hearings.pop(record.hearing_action, None)

    def _find(self, fordrings_id: str | None) -> _Claim | None:
        if fordrings_id is None or not fordrings_id.isdigit():
            return None
        index = int(fordrings_id) - self.config.first_fordrings_id
        return self._by_id[index] if 0 <= index < len(self._by_id) else None

    # -- hearings --------------------------------------------------------------------------

    def decide_hearing(self, action_id: str, decision: str) -> dict[str, Any]:
        """Confirm or withdraw a claim parked in hearing, and what became of its related claims.

        Raises:
            KeyError: no claim waits in hearing under that action id.
            ValueError: the decision is neither `confirm` nor `withdraw`.
        """
        if decision not in ("confirm", "withdraw"):
            raise ValueError("the decision must be confirm or withdraw")
        with self.lock:
            record = self._hearings.get(action_id)
            if record is None:
                raise KeyError(action_id)
            now = self.clock.now()
            if decision == "confirm":
                record.confirmed = True
                self._release(record, now)
            else:
                self._withdraw(record, now)
            return {
                "action_id": action_id,
                "status": record.status.value,
                "fordrings_id": None if record.fordrings_id is None else str(record.fordrings_id),
            }

    def _release(self, record: _Claim, now: dt.datetime) -> None:
        waiting_for_main = (
            record.main is not None and record.main.status is not ActionStatus.UDFOERT
        )
        if not record.confirmed or waiting_for_main:
            return
        self._accept(record, now)
        for related in record.related or ():
            if related.status is ActionStatus.HOERING:
                self._release(related, now)

    def _withdraw(self, record: _Claim, now: dt.datetime) -> None:
        record.status = ActionStatus.AFVIST
        record.state = "withdrawn"
        record.errors = (codes.error(codes.WITHDRAWN),)
        record.status_changed_at = now
        if record.hearing_action is not None:
            self._hearings.pop(record.hearing_action, None)
        for related in record.related or ():
            if related.status is ActionStatus.HOERING:
                self._withdraw(related, now)

    # -- adjustments -----------------------------------------------------------------------

    def _adjust(self, action: WriteDown | WriteUp, receipt_date: dt.date) -> _Outcome:
        down = isinstance(action, WriteDown)
        outcome = _Outcome(
            action.code,
            ActionStatus.AFVIST,
            fordrings_id=action.fordrings_id,
            amount=action.amount,
            reason=action.reason.value,
        )
        self._adjustments[action.action_id] = outcome
        errors = self._adjustment_errors(action, receipt_date)
        if errors:
            outcome.errors = tuple(errors)
            return outcome
        claim = self._find(action.fordrings_id)
        assert claim is not None
        claim.balance += -_ore(action.amount) if down else _ore(action.amount)
        cancelled = self._adjustments.get(action.reference_action_id or "")
        if cancelled is not None and action.code in _CANCELLATIONS:
            cancelled.cancelled = True
        outcome.status = ActionStatus.UDFOERT
        return outcome

    def _adjustment_errors(
        self, action: WriteDown | WriteUp, receipt_date: dt.date
    ) -> list[ReceiptError]:
        down = isinstance(action, WriteDown)
        claim = self._find(action.fordrings_id)
        if claim is None:
            return [codes.error(509)]
        if claim.state != "active":
            return [codes.error(498 if down else 496)]
        if action.amount <= 0:
            return [codes.error(408 if down else 227)]
        if action.amount != action.amount.quantize(_CENT):
            return [codes.error(550, "beløb med mere end to decimaler")]
        if not down and claim.category is ClaimCategory.UF:
            return [codes.error(474)]
        errors: list[ReceiptError] = []
        regu = action.reason in (WriteDownReason.REGU, WriteUpReason.REGU)
        if regu and action.effective_date is not None:
            errors.append(codes.error(519))
        if action.reason is WriteDownReason.INDB and action.effective_date is None:
            errors.append(codes.error(409))
        if action.effective_date is not None and action.effective_date > receipt_date:
            errors.append(codes.error(548))
        if down and _ore(action.amount) > claim.balance:
            errors.append(codes.error(codes.ABOVE_BALANCE))
        errors.extend(self._cancellation_errors(action))
        return errors

    def _cancellation_errors(self, action: WriteDown | WriteUp) -> list[ReceiptError]:
        wanted = _CANCELLATIONS.get(action.code)
        if wanted is None:
            return []
        reference = self._adjustments.get(action.reference_action_id or "")
        if reference is None:
            return [codes.error(526)]
        if reference.status is not ActionStatus.UDFOERT:
            return [codes.error(493)]
        if reference.cancelled:
            return [codes.error(503)]
        if reference.fordrings_id != action.fordrings_id:
            return [codes.error(494)]
        matches = any(
            reference.code == code and (reason is None or reference.reason == reason)
            for code, reason in wanted
        )
        if not matches:
            cancels_write_down = action.code in (ActionCode.OANI, ActionCode.OONR)
            if cancels_write_down and reference.code != ActionCode.NEDSKRIV:
                return [codes.error(473)]
            return [codes.error(_WRONG_REFERENCE[action.code])]
        if reference.amount != action.amount:
            return [codes.error(504 if isinstance(action, WriteDown) else 469)]
        return []

    def _recall(self, action: Recall, now: dt.datetime, receipt_date: dt.date) -> _Outcome:
        outcome = _Outcome(
            action.code,
            ActionStatus.AFVIST,
            fordrings_id=action.fordrings_id,
            reason=action.reason.value,
        )
        claim = self._find(action.fordrings_id)
        errors: list[ReceiptError] = []
        if claim is None:
            errors.append(codes.error(509))
        elif claim.state != "active":
            errors.append(codes.error(530))
        if action.reason is RecallReason.BORT and action.effective_date is None:
            errors.append(codes.error(409))
        if action.reason is RecallReason.FEJL and action.effective_date is not None:
            errors.append(codes.error(546))
        if action.effective_date is not None and action.effective_date > receipt_date:
            errors.append(codes.error(548))
        if errors or claim is None:
            outcome.errors = tuple(errors)
            return outcome
        effective = action.effective_date or receipt_date
        for target in [claim, *(r for r in claim.related or () if r.state == "active")]:
            self._take_back(target, action.reason, effective, now)
        for waiting in claim.related or ():
            if waiting.status is ActionStatus.HOERING:
                self._withdraw(waiting, now)  # a related claim cannot outlive its main claim
        outcome.status = ActionStatus.UDFOERT
        return outcome

    def _take_back(
        self, claim: _Claim, reason: RecallReason, effective: dt.date, now: dt.datetime
    ) -> None:
        claim.recall_reason = reason
        if reason is RecallReason.FEJL and claim.covered:
            # A recall for error reverses every coverage: the money goes back (negative settlement).
            reversed_amount = claim.covered
            claim.covered = 0
            claim.balance += reversed_amount
            self._movement(claim, -reversed_amount, effective, CoverageKind.KORREKTION, now)
        self._return(claim, ReturnKind.TILBAGESEND, reason.value, effective, now)

    def _resubmit(self, action: Resubmit, now: dt.datetime, receipt_date: dt.date) -> _Claim:
        claim = action.claim
        record = _Claim(claim, now)
        original = self._find(action.fordrings_id)
        successor = None if original is None else original.successor
        if successor is not None and successor.status is not ActionStatus.AFVIST:
            successor.submitted += 1
            return successor
        error: ReceiptError | None = None
        if original is None:
            error = codes.error(509)
        elif original.state != "recalled":
            error = codes.error(540)
        elif original.recall_reason not in (
            RecallReason.HENS,
            RecallReason.KLAG,
            RecallReason.BORD,
            RecallReason.HAFT,
        ):
            error = codes.error(539)
        elif original.art is FordringArt.MODR:
            error = codes.error(544)
        elif original.stamdata != record.stamdata:
            error = codes.error(542)
        if error is not None:
            self._reject(record, [error])
            return record
        self._decide(record, claim, receipt_date, action, {}, now)
        if record.status is not ActionStatus.AFVIST:
            assert original is not None
            original.successor = record
            self._claims.setdefault(claim.claimant_id, {})[claim.claimant_reference] = record
        return record

    # -- MFKvitteringHent ------------------------------------------------------------------

    def receipts(self, raw: bytes) -> bytes:
        """Answer a receipt request (MFKvitteringHent_O); empty until the delay has passed.

        Raises:
            SimulatorFault: the delivery id is unknown.
            MessageParseError, MessageContractError: the request is not readable.
        """
        request = xml.parse_receipt_request(raw)
        with self.lock:
            delivery = self._deliveries.get(request.delivery_id)
            if delivery is None:
                raise SimulatorFault("Client", "MFLeveranceID er ukendt")
            now = self.clock.now()
            ready = now >= delivery.received_at + dt.timedelta(
                seconds=0 if self.config.discard else self.config.receipt_delay_seconds
            )
            start, stop = request.offset, request.offset + request.max_items
            receipts: list[Receipt] = []
            if ready and self.config.discard:
                receipts = list(self._discard_receipts(request.delivery_id, delivery, start, stop))
            elif ready:
                receipts = [
                    self._receipt(request.delivery_id, delivery, index)
                    for index in range(start, min(stop, len(delivery.outcomes)))
                ]
        return xml.build_receipt_response(
            transaction_id=request.transaction_id,
            answered_at=now,
            delivery_id=request.delivery_id,
            receipts=receipts,
        )

    def _receipt(self, delivery_id: str, delivery: _Delivery, index: int) -> Receipt:
        action_id, code = delivery.action_ids[index], delivery.action_codes[index]
        outcome = delivery.outcomes[index]
        if isinstance(outcome, _Outcome):
            return Receipt(
                delivery_id=delivery_id,
                action_id=action_id,
                action_code=code,
                status=outcome.status,
                fordrings_id=outcome.fordrings_id,
                received_at=delivery.received_at,
                status_changed_at=delivery.received_at,
                errors=outcome.errors,
            )
        main = outcome.main
        return Receipt(
            delivery_id=delivery_id,
            action_id=action_id,
            action_code=code,
            status=outcome.status,
            fordrings_id=None if outcome.fordrings_id is None else str(outcome.fordrings_id),
            main_fordrings_id=(
                None if main is None or main.fordrings_id is None else str(main.fordrings_id)
            ),
            claimant_reference=outcome.reference,
            claimant_id=outcome.claimant_id,
            received_at=delivery.received_at,
            status_changed_at=max(outcome.status_changed_at, delivery.received_at),
            errors=outcome.errors,
            hearing=outcome.hearing if outcome.status is ActionStatus.HOERING else (),
        )

    # -- MFUnderretSamlingHent -------------------------------------------------------------

    def notifications(self, raw: bytes) -> bytes:
        """Answer a notification request (MFUnderretSamlingHent_O) for a number range.

        Raises:
            SimulatorFault: the range is invalid ("Request validation messages: ...").
            MessageParseError, MessageContractError: the request is not readable.
        """
        request = xml.parse_notification_request(raw)
        if request.from_number < 1 or request.to_number < request.from_number:
            raise SimulatorFault(
                "Client",
                "Request validation messages: UnderretNummerTil must not be before "
                "UnderretNummerFra, and both must be 1 or more",
            )
        with self.lock:
            window = self._ledger.notifications[request.from_number - 1 : request.to_number]
            found = [notice for notice in window if notice is not None]
            now = self.clock.now()
        return xml.build_notification_response(
            transaction_id=request.transaction_id, answered_at=now, notifications=found
        )

    def _notify(self, notice: Notification) -> list[int]:
        """Number and store a notification, applying the duplicate and missing faults."""
        numbers: list[int] = []
        ledger = self._ledger
        copies = 1
        if self.faults.duplicate_notifications_next > 0:
            self.faults.duplicate_notifications_next -= 1
            copies = 2
        for _ in range(copies):
            number = len(ledger.notifications) + 1
            numbered = _renumber(notice, number)
            if self.faults.missing_notifications_next > 0:
                self.faults.missing_notifications_next -= 1
                ledger.notifications.append(None)
            else:
                ledger.notifications.append(numbered)
            numbers.append(number)
        return numbers

    def _movement(
        self,
        claim: _Claim,
        amount: int,
        effective: dt.date,
        activity: CoverageKind,
        now: dt.datetime,
    ) -> list[int]:
        ledger = self._ledger
        ledger.payments += 1
        payment_id = f"SIM-{ledger.payments:09d}"
        ledger.unsettled.append(_Coverage(claim, amount, effective, activity, payment_id))
        return self._notify(
            BalanceMovement(
                number=0, created_at=now, line=_line(claim, amount, effective, activity, payment_id)
            )
        )

    # -- scenarios -------------------------------------------------------------------------

    def scenario(self, events: Sequence[dict[str, Any]]) -> list[int]:
        """Produce notifications for the given events; returns the numbers assigned.

        Events are `{"kind": ..., ...}` with kind udligning, afregning, renter, afskrivning,
        tilbagesend or returnering (see the admin API). Events apply in order; none apply when
        one is impossible.

        Raises:
            ScenarioError: an event names an unknown or inactive claim, or an impossible amount.
        """
        with self.lock:
            ledger = self._ledger
            saved = (len(ledger.notifications), list(ledger.unsettled), ledger.last_period_end)
            counters = (ledger.payments, ledger.settlements)
            self._touched = []
            try:
                numbers: list[int] = []
                for event in events:
                    numbers.extend(self._event(event))
                return numbers
            except ScenarioError:
                del ledger.notifications[saved[0] :]
                ledger.unsettled, ledger.last_period_end = saved[1], saved[2]
                ledger.payments, ledger.settlements = counters
                for claim, balance, covered, state in reversed(self._touched):
                    claim.balance, claim.covered, claim.state = balance, covered, state
                raise
            finally:
                self._touched = None

    def random_scenario(self, *, seed: int, count: int, settle: bool = True) -> list[int]:
        """Produce `count` random movements on active claims (and then a settlement).

        The same seed on the same state gives the same notifications.
        """
        chooser = random.Random(seed)
        with self.lock:
            active = [claim for claim in self._by_id if claim.state == "active"]
            numbers: list[int] = []
            if not active:
                return numbers
            now = self.clock.now()
            today = self._receipt_date(now)
            for _ in range(count):
                claim = chooser.choice(active)
                roll = chooser.random()
                if claim.state != "active":
                    continue
                if roll < 0.7 and claim.balance > 0:
                    ore = max(1, claim.balance * chooser.randint(1, 100) // 100)
                    numbers += self._cover(claim, _kr(ore), today, now)
                elif roll < 0.85:
                    interest = max(1, claim.balance * 575 // 120_000)  # 5.75 % a year, a month
                    numbers += self._interest(claim, _kr(interest), today, now, None)
                elif roll < 0.95 and claim.balance > 0:
                    reason = chooser.choice(WRITE_OFF_REASONS)
                    numbers += self._write_off(claim, _kr(claim.balance), reason, today, now)
                else:
                    numbers += self._return(claim, ReturnKind.RETURNERING, "KLAG", today, now)
            if settle and self._ledger.unsettled:
                numbers += self._settle(today, now, negative=False)
            return numbers

    def _touch(self, claim: _Claim) -> None:
        # An explicit scenario is all or nothing: remember what it changes, to undo it.
        if self._touched is not None:
            self._touched.append((claim, claim.balance, claim.covered, claim.state))

    def _event(self, event: dict[str, Any]) -> list[int]:
        kind = event["kind"]
        now = self.clock.now()
        today = self._receipt_date(now)
        effective = event.get("effective_date") or today
        if kind == "afregning":
            return self._settle(
                event.get("settlement_date") or today, now, negative=bool(event.get("negative"))
            )
        claim = self._active(event["fordrings_id"])
        amount = event.get("amount")
        if kind == "udligning":
            activity = CoverageKind(event.get("activity", CoverageKind.DAEKNING.value))
            if amount is None or amount <= 0:
                raise ScenarioError("udligning needs a positive amount")
            if activity is CoverageKind.DAEKNING:
                if _ore(amount) > claim.balance:
                    raise ScenarioError("coverage above the claim's balance")
                return self._cover(claim, amount, effective, now)
            if _ore(amount) > claim.covered:
                raise ScenarioError("correction above what was covered")
            self._touch(claim)
            claim.covered -= _ore(amount)
            claim.balance += _ore(amount)
            return self._movement(claim, -_ore(amount), effective, CoverageKind.KORREKTION, now)
        if kind == "renter":
            if amount is None or amount <= 0:
                raise ScenarioError("renter needs a positive amount")
            return self._interest(claim, amount, effective, now, event.get("rate_percent"))
        if kind == "afskrivning":
            amount = _kr(claim.balance) if amount is None else amount
            if amount <= 0 or _ore(amount) > claim.balance:
                raise ScenarioError("write-off must be positive and at most the balance")
            return self._write_off(
                claim, amount, event.get("reason") or "FORÆLDELSE", effective, now
            )
        if kind in ("tilbagesend", "returnering"):
            return self._return(
                claim, ReturnKind(kind.upper()), event.get("reason") or "FEJL", effective, now
            )
        raise ScenarioError(f"unknown event kind {str(kind)[:30]}")

    def _active(self, fordrings_id: Any) -> _Claim:
        claim = self._find(str(fordrings_id))
        if claim is None:
            raise ScenarioError(f"fordrings-ID {str(fordrings_id)[:20]} is unknown")
        if claim.state != "active":
            raise ScenarioError(f"fordrings-ID {claim.fordrings_id} is {claim.state}")
        return claim

    def _cover(
        self, claim: _Claim, amount: Decimal, effective: dt.date, now: dt.datetime
    ) -> list[int]:
        self._touch(claim)
        claim.balance -= _ore(amount)
        claim.covered += _ore(amount)
        return self._movement(claim, _ore(amount), effective, CoverageKind.DAEKNING, now)

    def _interest(
        self,
        claim: _Claim,
        amount: Decimal,
        effective: dt.date,
        now: dt.datetime,
        rate: Decimal | None,
    ) -> list[int]:
        start = effective.replace(day=1)
        return self._notify(
            InterestNotice(
                number=0,
                created_at=now,
                fordrings_id=str(claim.fordrings_id),
                claimant_reference=claim.reference,
                amount=amount,
                period_start_date=start,
                period_end_date=effective,
                rate_percent=rate,
            )
        )

    def _write_off(
        self, claim: _Claim, amount: Decimal, reason: str, effective: dt.date, now: dt.datetime
    ) -> list[int]:
        self._touch(claim)
        claim.balance -= _ore(amount)
        if claim.balance == 0:
            claim.state = "written_off"
        return self._notify(
            WriteOff(
                number=0,
                created_at=now,
                fordrings_id=str(claim.fordrings_id),
                claimant_reference=claim.reference,
                amount=amount,
                reason=reason,
                effective_date=effective,
            )
        )

    def _return(
        self, claim: _Claim, kind: ReturnKind, reason: str, effective: dt.date, now: dt.datetime
    ) -> list[int]:
        self._touch(claim)
        claim.state = "returned" if kind is ReturnKind.RETURNERING else "recalled"
        return self._notify(
            ReturnNotice(
                number=0,
                created_at=now,
                fordrings_id=str(claim.fordrings_id),
                claimant_reference=claim.reference,
                kind=kind,
                reason=reason,
                remaining_amount=_kr(claim.balance),
                effective_date=effective,
            )
        )

    def _settle(self, settlement_date: dt.date, now: dt.datetime, *, negative: bool) -> list[int]:
        ledger = self._ledger
        if not ledger.unsettled:
            raise ScenarioError("nothing to settle: no coverage since the last settlement")
        if self.faults.negative_settlements_next > 0:
            self.faults.negative_settlements_next -= 1
            negative = True
        sign = -1 if negative else 1
        lines = tuple(
            _line(c.claim, sign * c.amount, c.effective_date, c.activity, c.payment_id)
            for c in ledger.unsettled
        )
        start = (
            ledger.last_period_end + dt.timedelta(days=1)
            if ledger.last_period_end
            else min(c.effective_date for c in ledger.unsettled)
        )
        ledger.settlements += 1
        ledger.unsettled = []
        ledger.last_period_end = settlement_date
        return self._notify(
            Settlement(
                number=0,
                created_at=now,
                settlement_id=f"SIM-AFR-{ledger.settlements:06d}",
                amount=sum((line.amount for line in lines), Decimal(0)),
                settlement_date=settlement_date,
                period_start_date=min(start, settlement_date),
                period_end_date=settlement_date,
                lines=lines,
            )
        )

    # -- admin views -----------------------------------------------------------------------

    def state(self, *, detail: bool = False, limit: int = 1000) -> dict[str, Any]:
        """Return counts by status, exactly-once evidence, hearings and fordrings-IDs."""
        with self.lock:
            by_status: Counter[str] = Counter()
            by_state: Counter[str] = Counter()
            keys = 0
            resent: list[dict[str, Any]] = []
            created_twice: list[dict[str, Any]] = []
            claims: list[dict[str, Any]] = []
            for claimant_id, references in self._claims.items():
                for reference, record in references.items():
                    keys += 1
                    by_status[record.status.value] += 1
                    by_state[record.state] += 1
                    entry = {
                        "claimant_id": claimant_id,
                        "claimant_reference": reference,
                        "created": record.created,
                        "submitted": record.submitted,
                        "status": record.status.value,
                        "fordrings_id": (
                            None if record.fordrings_id is None else str(record.fordrings_id)
                        ),
                    }
                    if record.created > 1 and len(created_twice) < limit:
                        created_twice.append(entry)
                    if record.submitted > 1 and len(resent) < limit:
                        resent.append(entry)
                    if detail and len(claims) < limit:
                        claims.append(entry)
            result: dict[str, Any] = {
                "now": self.clock.now().isoformat(),
                "clock_frozen": self.clock.frozen,
                "mode": "discard" if self.config.discard else "full",
                "deliveries": self._counts["deliveries"],
                "actions": self._counts["actions"],
                "claims": keys,
                "claims_by_status": dict(by_status),
                "claims_by_state": dict(by_state),
                "fordrings_ids_assigned": self._next_id - self.config.first_fordrings_id,
                "keys_submitted_more_than_once": resent,
                "keys_created_more_than_once": created_twice,
                "hearings": sorted(self._hearings),
                "notifications": len(self._ledger.notifications),
                "unsettled_movements": len(self._ledger.unsettled),
                "faults": self.faults.as_dict(),
                "held": [
                    {"service": service, "delivery_id": delivery_id}
                    for service, delivery_id in sorted(self._held)
                ],
            }
            if detail:
                result["claim_list"] = claims
            return result

    def update_faults(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Change some faults and return them all.

        Raises:
            ValueError: an unknown fault name or a negative counter.
        """
        with self.lock:
            for name, value in changes.items():
                if name not in Faults.__slots__:
                    raise ValueError(f"unknown fault {name[:40]}")
                if isinstance(value, int) and not isinstance(value, bool) and value < 0:
                    raise ValueError(f"{name} must not be negative")
                setattr(self.faults, name, value)
            return self.faults.as_dict()

    def take_fault(self) -> str | None:
        """Decide the fault for one SOAP request: `unavailable`, `drop_before`, `drop_after`."""
        with self.lock:
            faults = self.faults
            if faults.unavailable:
                return "unavailable"
            if faults.unavailable_next > 0:
                faults.unavailable_next -= 1
                return "unavailable"
            if faults.drop_next > 0:
                faults.drop_next -= 1
                return "drop_after" if faults.drop_after_processing else "drop_before"
            return None


# What each cancelling action may cancel: (action code, write-down reason or any).
_CANCELLATIONS: dict[str, tuple[tuple[str, str | None], ...]] = {
    ActionCode.OANI: ((ActionCode.NEDSKRIV, "INDB"),),
    ActionCode.OONR: ((ActionCode.NEDSKRIV, "REGU"),),
    ActionCode.NAOR: ((ActionCode.OPSKRIVNINGREGULERING, None), (ActionCode.OONR, None)),
    ActionCode.NAOI: ((ActionCode.OANI, None),),
}
_WRONG_REFERENCE = {
    ActionCode.OANI: 471,
    ActionCode.OONR: 477,
    ActionCode.NAOR: 502,
    ActionCode.NAOI: 506,
}

WRITE_OFF_REASONS = ("FORÆLDELSE", "KONKURS", "DØDSBO", "GÆLDSSANERING", "FORMÅLSLØS")


def _line(
    claim: _Claim, amount: int, effective: dt.date, activity: CoverageKind, payment_id: str
) -> CoverageLine:
    main = claim.main
    return CoverageLine(
        fordrings_id=str(claim.fordrings_id),
        main_fordrings_id=None
        if main is None or main.fordrings_id is None
        else str(main.fordrings_id),
        claimant_reference=claim.reference,
        fordringstype=claim.fordringstype,
        category=claim.category,
        art=claim.art,
        effective_date=effective,
        activity=activity,
        amount=_kr(amount),
        remaining_amount=_kr(claim.balance),
        payment_id=payment_id,
    )


def _renumber(notice: Notification, number: int) -> Notification:
    return replace(notice, number=number)
