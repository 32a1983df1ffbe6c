"""Demo data: a few messages from each fagsystem, as a new installation's first day.

Loaded on request (`kravbro serve --demo --demo-data`) through the same intake path as real
messages, so what the demo shows is what the service does. Socialret is on-boarded, so its
claims go to the (embedded) PSRM simulator; the other areas wait, visibly, with their holds.
"""

from __future__ import annotations

import logging

from adapters.ksd import samples as ksd_samples
from adapters.ky import samples as ky_samples
from adapters.oir import samples as oir_samples
from app.clock import Clock
from app.db.session import Database
from app.domain.catalogue import Catalogue
from app.domain.claim import SourceSystem
from app.domain.readiness import OnboardingState
from app.errors import AppError
from app.services import intake, onboarding
from app.settings import Settings

log = logging.getLogger(__name__)


def _messages() -> list[tuple[SourceSystem, str, bytes]]:
    return [
        (SourceSystem.KY, "application/json", ky_samples.message(25, message_id="DEMO-KY-1")),
        (SourceSystem.KSD, "application/xml", ksd_samples.message(15, message_id="DEMO-KSD-1")),
        (SourceSystem.OIR, "application/xml", oir_samples.message(20, message_id="DEMO-OIR-1")),
    ]


def load(db: Database, *, settings: Settings, catalogue: Catalogue, clock: Clock) -> None:
    """Post the demo messages (idempotent: loading twice changes nothing) and on-board Socialret."""
    for source, media_type, raw in _messages():
        with db.transaction() as session:
            try:
                outcome = intake.receive(
                    session,
                    source=source,
                    raw=raw,
                    media_type=media_type,
                    principal="demo-data",
                    catalogue=catalogue,
                    claimant_id=settings.claimant_id,
                    now=clock.now(),
                    today=clock.today(),
                )
            except AppError as exc:
                log.warning("demo message from %s not loaded: %s", source.value, exc.message)
                continue
        log.info(
            "demo data: %s message %s", source.value, "replayed" if outcome.replay else "taken"
        )
    with db.transaction() as session:
        onboarding.set_state(
            session,
            claimant_id=settings.claimant_id,
            area="socialret",
            state=OnboardingState.ONBOARDED,
            from_date=clock.today(),
            note="demo data",
            actor="demo-data",
            catalogue=catalogue,
            today=clock.today(),
            now=clock.now(),
        )
