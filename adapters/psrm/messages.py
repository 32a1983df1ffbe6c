"""What kravbro and PSRM say to each other, as plain values: actions, receipts, notifications.

`adapters.psrm.xml` turns these into PSRM's XML and back; the client sends them, the simulator
answers them. Codes PSRM defines (action codes, reason codes, statuses) are `StrEnum`s with
PSRM's own Danish values. Debtor identifiers never appear here except inside a claim: the
notifications PSRM sends carry the debtor (KundeStruktur), but kravbro matches on the
fordrings-ID and does not read it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from app.domain.claim import CanonicalClaim, ClaimCategory, FordringArt
from app.domain.problems import Problem


class ActionCode(StrEnum):
    """MFAktionKode: what an action in a delivery does."""

    OPRETFORDRING = "OPRETFORDRING"
    GENINDSENDFORDRING = "GENINDSENDFORDRING"
    NEDSKRIV = "NEDSKRIV"
    OPSKRIVNINGREGULERING = "OPSKRIVNINGREGULERING"
    OANI = "OPSKRIVNINGANNULLERETNEDSKRIVNINGINDBETALING"
    OONR = "OPSKRIVNINGOMGJORTNEDSKRIVNINGREGULERING"
    NAOR = "NEDSKRIVNINGANNULLERETOPSKRIVNINGREGULERING"
    NAOI = "NEDSKRIVNINGANNULLERETOPSKRIVNINGINDBETALING"
    TILBAGEKALD = "TILBAGEKALD"


class WriteDownReason(StrEnum):
    """Why a balance goes down: payment (INDB), correction (REGU) or a cancelled write-up."""

    INDB = "INDB"
    REGU = "REGU"
    NAOR = "NAOR"  # cancels a wrong OPSKRIVNINGREGULERING (or OONR)
    NAOI = "NAOI"  # cancels a wrong OANI


class WriteUpReason(StrEnum):
    """Why a balance goes up: correction (REGU) or a cancelled write-down."""

    REGU = "REGU"
    OANI = "OANI"  # cancels a wrong INDB write-down
    OONR = "OONR"  # reverses a wrong REGU write-down


class RecallReason(StrEnum):
    """HovedFordringTilbagekaldÅrsagKode: why the claimant recalls a claim."""

    BORD = "BORD"  # payment plan
    BORT = "BORT"  # lapse (bortfald)
    FEJL = "FEJL"  # sent in error
    HENS = "HENS"  # respite (henstand)
    KLAG = "KLAG"  # complaint with suspensive effect
    HAFT = "HAFT"  # debtors added or removed


class ActionStatus(StrEnum):
    """MFAktionStatusKode: where an action stands at PSRM."""

    MODTAGET = "MODTAGET"
    UDFOERT = "UDFØRT"
    AFVIST = "AFVIST"
    HOERING = "HØRING"


class CoverageKind(StrEnum):
    """DMIIndbetalingAktivitetType of a balance movement."""

    DAEKNING = "DÆKNING"
    KORREKTION = "KORREKTION"


class ReturnKind(StrEnum):
    """Tilbagesend: the claimant asked for the claim back; returnering: PSRM sends it back."""

    TILBAGESEND = "TILBAGESEND"
    RETURNERING = "RETURNERING"


# ---------------------------------------------------------------------------------------------
# actions in a delivery


@dataclass(frozen=True, slots=True)
class CreateClaim:
    """OPRETFORDRING: hand a claim over to PSRM.

    A related claim (interest, fee) names its main claim either by the main claim's action in
    the same delivery (`main_action_id`) or by an accepted main claim's fordrings-ID.
    """

    action_id: str
    claim: CanonicalClaim
    main_action_id: str | None = None
    main_fordrings_id: str | None = None

    @property
    def code(self) -> ActionCode:
        """The action's MFAktionKode."""
        return ActionCode.OPRETFORDRING


@dataclass(frozen=True, slots=True)
class Resubmit:
    """GENINDSENDFORDRING: send a recalled claim again; PSRM gives it a new fordrings-ID."""

    action_id: str
    fordrings_id: str
    claim: CanonicalClaim

    @property
    def code(self) -> ActionCode:
        """The action's MFAktionKode."""
        return ActionCode.GENINDSENDFORDRING


@dataclass(frozen=True, slots=True)
class WriteDown:
    """Lower a claim's balance (nedskrivning), or cancel a wrong write-up (NAOR, NAOI)."""

    action_id: str
    fordrings_id: str
    amount: Decimal
    reason: WriteDownReason
    effective_date: dt.date | None = None
    reference_action_id: str | None = None  # the write-up a NAOR/NAOI cancels
    claimant_id: str | None = None

    @property
    def code(self) -> ActionCode:
        """The action's MFAktionKode."""
        if self.reason is WriteDownReason.NAOR:
            return ActionCode.NAOR
        if self.reason is WriteDownReason.NAOI:
            return ActionCode.NAOI
        return ActionCode.NEDSKRIV


@dataclass(frozen=True, slots=True)
class WriteUp:
    """Raise a claim's balance (opskrivning), or cancel a wrong write-down (OANI, OONR)."""

    action_id: str
    fordrings_id: str
    amount: Decimal
    reason: WriteUpReason
    effective_date: dt.date | None = None
    reference_action_id: str | None = None  # the write-down an OANI/OONR cancels
    claimant_id: str | None = None

    @property
    def code(self) -> ActionCode:
        """The action's MFAktionKode."""
        if self.reason is WriteUpReason.OANI:
            return ActionCode.OANI
        if self.reason is WriteUpReason.OONR:
            return ActionCode.OONR
        return ActionCode.OPSKRIVNINGREGULERING


@dataclass(frozen=True, slots=True)
class Recall:
    """TILBAGEKALD: take a claim (and its related claims) back from collection."""

    action_id: str
    fordrings_id: str
    reason: RecallReason
    effective_date: dt.date | None = None
    claimant_id: str | None = None

    @property
    def code(self) -> ActionCode:
        """The action's MFAktionKode."""
        return ActionCode.TILBAGEKALD


Action = CreateClaim | Resubmit | WriteDown | WriteUp | Recall


@dataclass(frozen=True, slots=True)
class UnreadableAction:
    """An action in a received delivery that does not make a valid action or claim."""

    action_id: str
    code: str
    problems: tuple[Problem, ...]


@dataclass(frozen=True, slots=True)
class ParsedDelivery:
    """A delivery (leverance) as PSRM reads it."""

    delivery_id: str
    transaction_id: str
    sender_se: str
    sent_at: dt.datetime
    actions: tuple[Action | UnreadableAction, ...]


@dataclass(frozen=True, slots=True)
class DeliveryHeader:
    """A delivery's identity and its actions' ids and codes, read without the claims."""

    delivery_id: str
    transaction_id: str
    sender_se: str
    sent_at: dt.datetime
    action_ids: tuple[str, ...]
    action_codes: tuple[str, ...]


# ---------------------------------------------------------------------------------------------
# receipts


@dataclass(frozen=True, slots=True)
class ReceiptError:
    """Why an action was rejected: PSRM's error number and text, and the entry rule if any."""

    code: int
    text: str
    rule_id: str | None = None


@dataclass(frozen=True, slots=True)
class HearingReason:
    """An entry rule that sent a claim to hearing."""

    rule_id: str
    text: str


@dataclass(frozen=True, slots=True)
class Receipt:
    """The status of one action (MFAktionStruktur), in a submit answer or a fetched receipt."""

    delivery_id: str
    action_id: str
    action_code: str
    status: ActionStatus
    fordrings_id: str | None = None
    main_fordrings_id: str | None = None
    claimant_reference: str | None = None
    claimant_id: str | None = None
    received_at: dt.datetime | None = None
    status_changed_at: dt.datetime | None = None
    errors: tuple[ReceiptError, ...] = ()
    hearing: tuple[HearingReason, ...] = ()


@dataclass(frozen=True, slots=True)
class SubmitAck:
    """PSRM's synchronous answer to a delivery: received, with each action's first status."""

    delivery_id: str
    transaction_id: str
    answered_at: dt.datetime
    actions: tuple[Receipt, ...]


@dataclass(frozen=True, slots=True)
class ReceiptRequest:
    """A request for the receipts of one delivery, `max_items` from position `offset`."""

    transaction_id: str
    sender_se: str
    sent_at: dt.datetime
    delivery_id: str
    offset: int
    max_items: int


@dataclass(frozen=True, slots=True)
class NotificationRequest:
    """A request for notifications numbered `from_number` to `to_number`, both included."""

    transaction_id: str
    sender_se: str
    sent_at: dt.datetime
    from_number: int
    to_number: int


# ---------------------------------------------------------------------------------------------
# notifications


@dataclass(frozen=True, slots=True)
class CoverageLine:
    """One claim's movement (FordringerOmfattetAfUdligningenAfregningen): covered or corrected.

    `amount` is what moved (negative for a reversal); `remaining_amount` the balance after it.
    """

    fordrings_id: str
    claimant_reference: str | None
    fordringstype: str
    category: ClaimCategory
    art: FordringArt
    effective_date: dt.date
    activity: CoverageKind
    amount: Decimal
    remaining_amount: Decimal
    main_fordrings_id: str | None = None
    payment_id: str | None = None
    activity_text: str | None = None


@dataclass(frozen=True, slots=True)
class Settlement:
    """Afregning: money paid out to the claimant for a period; `amount` is the sum of lines."""

    number: int
    created_at: dt.datetime
    settlement_id: str
    amount: Decimal
    settlement_date: dt.date
    period_start_date: dt.date
    period_end_date: dt.date
    lines: tuple[CoverageLine, ...]


@dataclass(frozen=True, slots=True)
class BalanceMovement:
    """Udligning: a claim's balance moved (coverage, or a correction of it)."""

    number: int
    created_at: dt.datetime
    line: CoverageLine


@dataclass(frozen=True, slots=True)
class InterestNotice:
    """Renter: interest PSRM posted on a claim for a period."""

    number: int
    created_at: dt.datetime
    fordrings_id: str
    claimant_reference: str | None
    amount: Decimal
    period_start_date: dt.date
    period_end_date: dt.date
    rate_percent: Decimal | None = None


@dataclass(frozen=True, slots=True)
class WriteOff:
    """Afskrivning: PSRM wrote (part of) a claim off, with its reason."""

    number: int
    created_at: dt.datetime
    fordrings_id: str
    claimant_reference: str | None
    amount: Decimal
    reason: str
    effective_date: dt.date


@dataclass(frozen=True, slots=True)
class ReturnNotice:
    """Tilbagesend or returnering: the claim left collection, with what was left of it."""

    number: int
    created_at: dt.datetime
    fordrings_id: str
    claimant_reference: str | None
    kind: ReturnKind
    reason: str
    remaining_amount: Decimal
    effective_date: dt.date


Notification = Settlement | BalanceMovement | InterestNotice | WriteOff | ReturnNotice


@dataclass(frozen=True, slots=True)
class SoapFault:
    """A SOAP 1.1 fault: who is at fault (`Client`/`Server`), the message, and any detail."""

    code: str
    message: str
    detail: str | None = None
